"""Error analysis: which errors the model makes, on which kinds of utterances, and which are worth fixing.

The lecture's "Carrying out error analysis": look at the misclassified dev examples, count them by
category, and work on the category that holds the largest share of the errors (fixing a category can at best
remove its share). :func:`analyze_errors` evaluates the run's best model on a manifest (through
:func:`speechforge.evaluation.classification.evaluate`, which also writes ``RUN/eval/<stem>/``) and returns

``utterances``, ``errors``, ``error_rate``   totals over the evaluated (readable) utterances
``confused_pairs``  ``[{true, predicted, count, share_of_errors}]``, most frequent first
``slices``          ``{field: [{value, utterances, errors, error_rate, share_of_errors}]}``, worst slice first:
                    ``speaker`` and ``language`` when the manifest has them, ``duration_bucket`` always,
                    ``snr_bucket`` when it has an ``snr`` field, and every field named in ``slices``
``worst``           the misclassified utterances with the lowest probability of their true label:
                    ``[{id, audio, label, predicted, p_label, p_predicted}]`` - listen to these first

For a speech-recognition run (:func:`analyze_asr_errors`) the same keys hold word errors: ``errors`` are
S + D + I, ``error_rate`` is the WER (per slice too), ``confused_pairs`` are the most frequent word
substitutions (true = reference word), and ``worst`` lists the utterances with the highest WER (label =
reference, predicted = hypothesis).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from speechforge.data.manifest import Manifest, Utterance, read_manifest
from speechforge.errors import SpeechforgeError

DURATION_EDGES = ((0.5, "<0.5 s"), (1.0, "0.5–1 s"), (2.0, "1–2 s"))  # upper bound (exclusive), name
DURATION_LAST = "≥2 s"
SNR_EDGES = ((0.0, "<0 dB"), (10.0, "0–10 dB"), (20.0, "10–20 dB"))
SNR_LAST = "≥20 dB"
MISSING = "(missing)"
DERIVED = ("duration_bucket", "snr_bucket")


def duration_bucket(seconds: float) -> str:
    """``<0.5 s``, ``0.5–1 s``, ``1–2 s`` or ``≥2 s``."""
    for upper, name in DURATION_EDGES:
        if seconds < upper:
            return name
    return DURATION_LAST


def snr_bucket(value: Any) -> str:
    """``<0 dB``, ``0–10 dB``, ``10–20 dB``, ``≥20 dB``, or ``(missing)`` when absent or not a number."""
    try:
        snr = float(value)
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(snr):
        return MISSING
    if math.isinf(snr) and snr > 0:  # clean audio is sometimes written as an infinite SNR
        return SNR_LAST
    for upper, name in SNR_EDGES:
        if snr < upper:
            return name
    return SNR_LAST


def manifest_fields(manifest: Manifest) -> list[str]:
    """Every field some record of ``manifest`` sets (core fields first), plus the derived buckets."""
    seen: dict[str, None] = {}
    for utt in manifest:
        for name in utt.to_record():
            seen.setdefault(name, None)
    return [*seen, *DERIVED]


def has_field(manifest: Manifest, name: str) -> bool:
    return any(utt.get(name) not in (None, "") for utt in manifest)


def slice_value(utt: Utterance, name: str) -> str:
    if name == "duration_bucket":
        return duration_bucket(utt.duration)
    if name == "snr_bucket":
        return snr_bucket(utt.get("snr"))
    value = utt.get(name)
    if value is None or value == "":
        return MISSING
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def slice_fields(manifest: Manifest, requested: Sequence[str]) -> list[str]:
    """The fields to slice by: the automatic ones present in ``manifest``, then the requested ones (checked)."""
    known = manifest_fields(manifest)
    unknown = [name for name in requested if name not in known]
    if unknown:
        listed = ", ".join(known)
        raise SpeechforgeError(
            f"unknown slice field{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}; "
            f"this manifest's fields are: {listed}",
            path=manifest.path,
        )
    fields = [name for name in ("speaker", "language") if has_field(manifest, name)]
    fields.append("duration_bucket")
    if has_field(manifest, "snr"):
        fields.append("snr_bucket")
    for name in requested:
        if name not in fields:
            fields.append(name)
    return fields


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """The records of an ``evaluate`` predictions.jsonl (id, label, predicted, probabilities)."""
    if not path.is_file():
        raise SpeechforgeError("predictions.jsonl was not written by the evaluation", path=path)
    with path.open("r", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize_slices(
    fields: Sequence[str],
    utterances: Sequence[Utterance],
    wrong: Sequence[int],
    total_errors: int,
    units: Sequence[int] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per field, one row per value, worst error rate first (then most errors, then by value).

    ``wrong``: errors per utterance (0/1 for a classifier, word errors for ASR); ``units``: what the error rate
    divides by per utterance (1 each by default; reference words for the WER)."""
    units = units if units is not None else [1] * len(utterances)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in fields:
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for utt, n_wrong, n_units in zip(utterances, wrong, units, strict=True):
            value = slice_value(utt, name)
            counts[value] += 1
            sizes[value] += n_units
            errors[value] += int(n_wrong)
        rows: list[dict[str, Any]] = [
            {
                "value": value,
                "utterances": n,
                "errors": errors[value],
                "error_rate": errors[value] / sizes[value] if sizes[value] else 0.0,
                "share_of_errors": errors[value] / total_errors if total_errors else 0.0,
            }
            for value, n in counts.items()
        ]
        rows.sort(key=lambda r: (-r["error_rate"], -r["errors"], str(r["value"])))
        out[name] = rows
    return out


def analyze_errors(
    run: str | Path,
    manifest: str | Path,
    *,
    slices: Sequence[str] = (),
    worst: int = 10,
    pairs: int = 10,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate the run's best model on ``manifest`` and break its errors down (see the module docstring).

    ``slices``: extra manifest fields to slice by (an unknown one is an error listing the manifest's fields);
    ``worst``: how many misclassified utterances to list; ``pairs``: how many confused pairs to list.
    """
    from speechforge.evaluation.classification import evaluate
    from speechforge.training.run import RunDir

    if worst < 0 or pairs < 0:
        raise SpeechforgeError(f"worst and pairs must be ≥ 0 (got worst={worst}, pairs={pairs})")
    run_dir = RunDir(run)
    run_dir.require()
    label_field = run_dir.recipe().data.label_field
    data = read_manifest(manifest, required=(label_field,), purpose="error analysis")
    fields = slice_fields(data, slices)  # before the (slower) evaluation: a typo fails at once

    metrics = evaluate(run_dir.path, manifest, progress=progress)
    records = read_predictions(run_dir.eval_dir(Path(manifest)) / "predictions.jsonl")
    by_id = {utt.id: utt for utt in data}
    utterances = [by_id[r["id"]] for r in records]
    wrong = [r["label"] != r["predicted"] for r in records]
    n_errors = sum(wrong)

    confusions = Counter((r["label"], r["predicted"]) for r, w in zip(records, wrong, strict=True) if w)
    confused_pairs = [
        {"true": t, "predicted": p, "count": c, "share_of_errors": c / n_errors}
        for (t, p), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:pairs]
    ]

    def p_of(record: dict[str, Any], label: str) -> float:
        return float(record["probabilities"].get(label, 0.0))

    misclassified = [
        {
            "id": r["id"],
            "audio": by_id[r["id"]].audio,
            "label": r["label"],
            "predicted": r["predicted"],
            "p_label": p_of(r, r["label"]),
            "p_predicted": p_of(r, r["predicted"]),
        }
        for r, w in zip(records, wrong, strict=True)
        if w
    ]
    misclassified.sort(key=lambda e: (e["p_label"], -e["p_predicted"], e["id"]))

    return {
        "manifest": str(manifest),
        "utterances": len(records),
        "errors": n_errors,
        "error_rate": n_errors / len(records) if records else 0.0,
        "skipped": metrics.get("skipped", {}).get("count", 0),
        "confused_pairs": confused_pairs,
        "slices": summarize_slices(fields, utterances, wrong, n_errors),
        "worst": misclassified[:worst],
        "predictions": str(run_dir.eval_dir(Path(manifest)) / "predictions.jsonl"),
    }


def analyze_asr_errors(
    run: str | Path,
    manifest: str | Path,
    *,
    slices: Sequence[str] = (),
    worst: int = 10,
    pairs: int = 10,
    progress: bool = True,
) -> dict[str, Any]:
    """:func:`analyze_errors` for a speech-recognition run (greedy decoding; word errors, see the docstring)."""
    from speechforge.evaluation.asr import evaluate_asr
    from speechforge.training.run import RunDir

    run_dir = RunDir(run)
    data = read_manifest(manifest, required=(run_dir.recipe().data.text_field,), purpose="error analysis")
    fields = slice_fields(data, slices)
    metrics = evaluate_asr(run_dir.path, manifest, progress=progress)
    records = read_predictions(run_dir.eval_dir(Path(manifest)) / "hyps.jsonl")
    by_id = {utt.id: utt for utt in data}
    n_errors = int(metrics["substitutions"] + metrics["deletions"] + metrics["insertions"])
    confused_pairs = [
        {"true": p["ref"], "predicted": p["hyp"], "count": p["count"], "share_of_errors": p["count"] / n_errors}
        for p in metrics["top_substitutions"][:pairs]
    ]
    wrong = [r for r in records if r["errors"]]
    wrong.sort(key=lambda r: (-r["errors"] / max(1, r["ref_words"]), -r["errors"], r["id"]))
    listed = [
        {"id": r["id"], "audio": by_id[r["id"]].audio, "label": r["ref"], "predicted": r["hyp"], "p_label": None}
        for r in wrong[:worst]
    ]
    return {
        "manifest": str(manifest),
        "utterances": len(records),
        "errors": n_errors,
        "error_rate": metrics["wer"],
        "skipped": metrics["skipped"]["count"],
        "confused_pairs": confused_pairs,
        "slices": summarize_slices(
            fields,
            [by_id[r["id"]] for r in records],
            [r["errors"] for r in records],
            n_errors,
            [r["ref_words"] for r in records],
        ),
        "worst": listed,
        "predictions": str(run_dir.eval_dir(Path(manifest)) / "hyps.jsonl"),
    }


__all__ = ["analyze_asr_errors", "analyze_errors", "duration_bucket", "snr_bucket"]
