"""The lecture's bias / variance table, extended with train-dev and test: errors, gaps and the verdict.

All numbers are error rates of the run's best model on the same measure (``error_rate`` of each section of
``metrics.json``: a clean pass over train without dropout or augmentation, then train_dev, dev and test)::

    avoidable_bias = train     − baseline    the model does not fit the training data well enough
    variance       = train_dev − train       it does not generalize to unseen data from the train distribution
    data_mismatch  = dev       − train_dev   dev/test audio differs from the training audio
    dev_overfit    = test      − dev         the dev set was tuned on too much (or is too small)

Without a train_dev split, ``variance`` is ``dev − train`` (variance and mismatch mixed) and ``data_mismatch``
is None. A gap whose inputs are missing is None.

Verdict: each gap strictly above its threshold names a problem (``high_bias``, ``high_variance``,
``data_mismatch``, ``dev_overfit``); ``good`` when none does. Default thresholds, all 0.02 (two points of
error rate), settable with ``--bias-threshold``, ``--variance-threshold``, ``--mismatch-threshold`` and
``--dev-overfit-threshold``.

The baseline (human-level or best-known error) comes from ``--baseline``, else the recipe's
``baseline_error``, else 0 (with a note: then avoidable bias is the whole train error).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speechforge.errors import SpeechforgeError

SPLITS = ("train", "train_dev", "dev", "test")
# The lecture's table, extended: (row label, report section, key) — shown by the CLI and by report.html.
TABLE_ROWS = (
    ("baseline error", "baseline", None),
    ("train error", "errors", "train"),
    ("train-dev error", "errors", "train_dev"),
    ("dev error", "errors", "dev"),
    ("test error", "errors", "test"),
    ("avoidable bias (train − baseline)", "gaps", "avoidable_bias"),
    ("variance (train-dev − train)", "gaps", "variance"),
    ("data mismatch (dev − train-dev)", "gaps", "data_mismatch"),
    ("dev overfit (test − dev)", "gaps", "dev_overfit"),
)
GAPS = ("avoidable_bias", "variance", "data_mismatch", "dev_overfit")
# gap name → verdict name it raises when above its threshold
VERDICT_OF = {
    "avoidable_bias": "high_bias",
    "variance": "high_variance",
    "data_mismatch": "data_mismatch",
    "dev_overfit": "dev_overfit",
}


@dataclass(frozen=True)
class Thresholds:
    """A gap strictly above its threshold (in error-rate units, 0.02 = 2 points) is a problem."""

    bias: float = 0.02
    variance: float = 0.02
    mismatch: float = 0.02
    dev_overfit: float = 0.02

    def of(self, gap: str) -> float:
        return {
            "avoidable_bias": self.bias,
            "variance": self.variance,
            "data_mismatch": self.mismatch,
            "dev_overfit": self.dev_overfit,
        }[gap]


def read_metrics(path: Path) -> dict[str, Any]:
    """``metrics.json`` of a run, as a mapping."""
    if not path.is_file():
        raise SpeechforgeError(
            "missing: the run has not finished training (`speechforge train` writes it at the end)", path=path
        )
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpeechforgeError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    if not isinstance(metrics, dict):
        raise SpeechforgeError("expected a JSON object with train / dev sections", path=path)
    return metrics


def read_errors(metrics: dict[str, Any], path: Path | str = "metrics.json") -> dict[str, float | None]:
    """``{train, train_dev, dev, test}`` error rates (None for a split the run does not have)."""
    errors: dict[str, float | None] = {}
    for split in SPLITS:
        section = metrics.get(split)
        if section is None:
            errors[split] = None
            continue
        value = section.get("error_rate") if isinstance(section, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise SpeechforgeError(f"{split}.error_rate is missing or not a number (got {value!r})", path=path)
        errors[split] = float(value)
    for needed in ("train", "dev"):
        if errors[needed] is None:
            raise SpeechforgeError(f"the '{needed}' section is missing: cannot diagnose without it", path=path)
    return errors


def resolve_baseline(cli_baseline: float | None, recipe_baseline: float | None) -> tuple[float, str | None]:
    """(baseline, note): ``--baseline`` wins over the recipe's ``baseline_error``; 0 when neither is set."""
    for value, origin in ((cli_baseline, "--baseline"), (recipe_baseline, "baseline_error")):
        if value is not None:
            if not 0 <= value <= 1:
                raise SpeechforgeError(f"{origin} must be an error rate between 0 and 1 (got {value})")
            return float(value), None
    return 0.0, (
        "no baseline given (--baseline or the recipe's baseline_error): using 0, so avoidable bias is the "
        "whole train error; pass the human-level or best-known error for a fairer verdict"
    )


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 6)


def compute_gaps(baseline: float, errors: dict[str, float | None]) -> tuple[dict[str, float | None], list[str]]:
    """(gaps, notes). See the module docstring for the formulas and the missing-train_dev rule."""
    notes: list[str] = []
    train, train_dev, dev, test = (errors.get(s) for s in SPLITS)
    gaps: dict[str, float | None] = {"avoidable_bias": _sub(train, baseline)}
    if train_dev is None:
        gaps["variance"] = _sub(dev, train)
        gaps["data_mismatch"] = None
        notes.append(
            "the run has no train_dev split: variance is dev − train (variance and data mismatch mixed); "
            "split with `speechforge data split --train-dev 0.05` and set data.train_dev to tell them apart"
        )
    else:
        gaps["variance"] = _sub(train_dev, train)
        gaps["data_mismatch"] = _sub(dev, train_dev)
    gaps["dev_overfit"] = _sub(test, dev)
    if test is None:
        notes.append("the run has no test split: dev_overfit (test − dev) cannot be measured")
    return gaps, notes


def compute_verdict(gaps: dict[str, float | None], thresholds: Thresholds) -> list[str]:
    """Every problem whose gap is above its threshold, in the table's order; ``["good"]`` when none."""
    verdict = [VERDICT_OF[g] for g in GAPS if (v := gaps.get(g)) is not None and v > thresholds.of(g)]
    return verdict or ["good"]


CONCLUSION = {
    "high_bias": "underfitting (high bias)",
    "high_variance": "overfitting (high variance)",
    "data_mismatch": "train/dev data mismatch",
    "dev_overfit": "overfit to dev (dev set too small or over-tuned)",
    "good": "good model",
}


def conclusion(verdict: list[str]) -> str:
    """The table's last row, in the lecture's words (``underfitting``, ``overfitting`` ...)."""
    return "; ".join(CONCLUSION[v] for v in verdict)
