"""Diagnosis arithmetic on hand-written run folders (no training): gaps, verdicts, dynamics, recommendations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from speechforge.diagnosis import Thresholds, diagnose
from speechforge.diagnosis.curves import judge, nested_subsets, parse_fractions
from speechforge.diagnosis.dynamics import check_dynamics
from speechforge.errors import SpeechforgeError
from speechforge.training.history import write_history
from speechforge.training.recipe import load_recipe

HEALTHY = [  # epoch, train_loss, dev_loss: both falling
    (1, 2.0, 2.1),
    (2, 1.5, 1.6),
    (3, 1.2, 1.3),
    (4, 1.0, 1.15),
]


def make_run(
    folder: Path,
    errors: dict[str, float],
    overrides: tuple[str, ...] = (),
    history: list[tuple[int, float, float]] | None = None,
) -> Path:
    """A run folder with recipe.yaml, metrics.json ({split: {error_rate}}) and history.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    recipe = load_recipe(None, list(overrides))
    (folder / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
    metrics: dict[str, Any] = {s: {"error_rate": e, "utterances": 100} for s, e in errors.items()}
    metrics["stopped_early"] = False
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    rows = [
        {"epoch": e, "train_loss": t, "train_error": 0.5, "dev_loss": d, "dev_error": 0.5, "lr": 1e-3, "seconds": 1.0}
        for e, t, d in (history if history is not None else HEALTHY)
    ]
    write_history(folder / "history.csv", rows)
    return folder


def check_overrides(run: Path, report: dict[str, Any]) -> None:
    """Every non-null override must be accepted by the run's recipe."""
    for rec in report["recommendations"]:
        assert set(rec) == {"action", "override", "reason"}
        assert rec["reason"]
        if rec["override"] is not None:
            load_recipe(run / "recipe.yaml", [rec["override"]])


def test_high_bias_gaps_and_reason(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", {"train": 0.25, "train_dev": 0.26, "dev": 0.27, "test": 0.27})
    report = diagnose(run, baseline=0.01)
    assert report["baseline"] == 0.01
    assert report["gaps"] == pytest.approx(
        {"avoidable_bias": 0.24, "variance": 0.01, "data_mismatch": 0.01, "dev_overfit": 0.0}
    )
    assert report["verdict"] == ["high_bias"]
    reasons = " ".join(r["reason"] for r in report["recommendations"])
    assert "train error 0.25 is 0.24 above the baseline 0.01" in reasons
    overrides = [r["override"] for r in report["recommendations"]]
    assert "model.channels=[64,128,256]" in overrides  # the default CNN [32, 64, 128], doubled
    assert "training.max_epochs=60" in overrides
    assert json.loads((run / "diagnosis.json").read_text()) == report
    check_overrides(run, report)


@pytest.mark.parametrize(
    ("errors", "verdict"),
    [
        ({"train": 0.01, "train_dev": 0.11, "dev": 0.12, "test": 0.12}, ["high_variance"]),
        ({"train": 0.01, "train_dev": 0.02, "dev": 0.15, "test": 0.15}, ["data_mismatch"]),
        ({"train": 0.01, "train_dev": 0.01, "dev": 0.02, "test": 0.10}, ["dev_overfit"]),
        ({"train": 0.01, "train_dev": 0.02, "dev": 0.02, "test": 0.03}, ["good"]),
        (
            {"train": 0.20, "train_dev": 0.40, "dev": 0.60, "test": 0.60},
            ["high_bias", "high_variance", "data_mismatch"],
        ),
    ],
)
def test_verdicts(tmp_path: Path, errors: dict[str, float], verdict: list[str]) -> None:
    run = make_run(tmp_path / "r", errors)
    report = diagnose(run, baseline=0.0)
    assert report["verdict"] == verdict
    assert (report["recommendations"] == []) == (verdict == ["good"])
    check_overrides(run, report)


def test_biggest_gap_is_addressed_first(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", {"train": 0.05, "train_dev": 0.40, "dev": 0.40})
    report = diagnose(run, baseline=0.0)
    assert report["verdict"] == ["high_bias", "high_variance"]
    assert report["recommendations"][0]["reason"].startswith("train-dev error 0.4 is 0.35 above")


def test_without_train_dev_or_test(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", {"train": 0.02, "dev": 0.12})
    report = diagnose(run, baseline=0.0)
    assert report["errors"] == {"train": 0.02, "train_dev": None, "dev": 0.12, "test": None}
    assert report["gaps"]["variance"] == pytest.approx(0.10)
    assert report["gaps"]["data_mismatch"] is None and report["gaps"]["dev_overfit"] is None
    assert report["verdict"] == ["high_variance"]
    assert any("no train_dev" in n for n in report["notes"])


def test_baseline_sources_and_thresholds(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", {"train": 0.05, "dev": 0.06}, overrides=("baseline_error=0.04",))
    assert diagnose(run)["baseline"] == 0.04
    assert diagnose(run)["verdict"] == ["good"]
    assert diagnose(run, baseline=0.0)["verdict"] == ["high_bias"]
    assert diagnose(run, baseline=0.0, thresholds=Thresholds(bias=0.1))["verdict"] == ["good"]
    plain = make_run(tmp_path / "p", {"train": 0.05, "dev": 0.06})
    report = diagnose(plain)
    assert report["baseline"] == 0.0 and any("no baseline" in n for n in report["notes"])


@pytest.mark.parametrize(
    "overrides",
    [
        ("model.name=cnn",),
        ("model.name=mlp", "optimizer.name=sgd", "regularization.l2=0.01", "optimizer.weight_decay=0.001"),
        ("model.name=logreg", "regularization.early_stopping.enabled=false"),
        ("model.name=crnn", "model.dropout=0.5", "augment.noise.prob=0.2", "augment.speed.factors=[0.9,1.0,1.1]"),
    ],
)
def test_every_override_is_accepted(tmp_path: Path, overrides: tuple[str, ...]) -> None:
    run = make_run(
        tmp_path / "r",
        {"train": 0.3, "train_dev": 0.5, "dev": 0.7, "test": 0.8},
        overrides=overrides,
        history=[(1, 2.0, 2.0), (2, 1.99, 1.9), (3, 1.98, 2.5), (4, 1.97, 3.0)],
    )
    report = diagnose(run, baseline=0.0)
    assert report["verdict"] == ["high_bias", "high_variance", "data_mismatch", "dev_overfit"]
    check_overrides(run, report)
    overrides_out = [r["override"] for r in report["recommendations"] if r["override"]]
    assert len(overrides_out) == len(set(overrides_out))  # each override once


def test_dynamics_findings() -> None:
    def rows(points: list[tuple[int, float, float]]) -> list[dict[str, float]]:
        return [{"epoch": e, "train_loss": t, "dev_loss": d} for e, t, d in points]

    recipe = load_recipe(None, ["training.max_epochs=30"])
    assert check_dynamics(rows(HEALTHY), recipe, {"stopped_early": False}) == []
    flat = check_dynamics(rows([(1, 2.3, 2.3), (2, 2.29, 2.3), (3, 2.28, 2.3)]), recipe)
    assert [f["kind"] for f in flat] == ["loss_not_falling"] and "LR too low or too high" in flat[0]["message"]
    points = [(1, 2.0, 2.0), (2, 1.0, 1.2), (3, 0.5, 1.5), (4, 0.2, 2.0)]
    rising = check_dynamics(rows(points), recipe, {"stopped_early": False})
    assert [(f["kind"], f["epoch"]) for f in rising] == [("dev_loss_rising", 2)]
    nan = check_dynamics(rows([(1, 2.0, 2.0), (2, math.nan, math.nan)]), recipe)
    assert nan[0]["kind"] == "diverged" and nan[0]["epoch"] == 2
    boom = check_dynamics(rows([(1, 1.0, 1.0), (2, 5.0, 5.0), (3, 9.0, 9.0)]), recipe)
    assert "exploding_loss" in [f["kind"] for f in boom]
    early = check_dynamics(rows(HEALTHY), recipe, {"stopped_early": True})
    assert [(f["kind"], f["epoch"]) for f in early] == [("stopped_too_early", 4)]


def test_learning_curve_helpers() -> None:
    assert parse_fractions("1,0.5,0.5") == [0.5, 1.0]
    with pytest.raises(SpeechforgeError, match="--fractions"):
        parse_fractions("0,2")
    helps, message = judge(
        [
            {"train_size": 100, "train_error": 0.0, "dev_error": 0.3},
            {"train_size": 200, "train_error": 0.0, "dev_error": 0.2},
        ]
    )
    assert helps is True and "likely to help" in message
    flat, _ = judge(
        [
            {"train_size": 100, "train_error": 0.1, "dev_error": 0.11},
            {"train_size": 200, "train_error": 0.1, "dev_error": 0.11},
        ]
    )
    assert flat is False

    from speechforge.data.manifest import Manifest, Utterance

    utts = [
        Utterance(id=f"u{i}", audio=f"{i}.wav", duration=1.0, sample_rate=16000, label="ab"[i % 2]) for i in range(40)
    ]
    small, half, full = nested_subsets(Manifest(utts), [0.1, 0.5, 1.0], "label", seed=0)
    assert set(small) <= set(half) <= set(full) and len(full) == 40
    assert sorted(utts[i].label for i in half).count("a") == 10  # stratified: each class keeps its share


def test_missing_or_broken_run(tmp_path: Path) -> None:
    with pytest.raises(SpeechforgeError, match="run folder not found"):
        diagnose(tmp_path / "nope")
    run = make_run(tmp_path / "r", {"train": 0.1, "dev": 0.1})
    (run / "metrics.json").write_text(json.dumps({"train": {"error_rate": "x"}, "dev": {"error_rate": 0.1}}))
    with pytest.raises(SpeechforgeError, match=r"metrics.json: train.error_rate"):
        diagnose(run)
