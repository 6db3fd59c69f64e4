"""``speechforge diagnose`` end to end on runs trained for real on synthesized digits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, CliResult, digits_overrides
from speechforge.training.recipe import load_recipe
from speechforge.training.trainer import train

KEYS = {"baseline", "errors", "gaps", "verdict", "recommendations", "notes", "dynamics", "error_analysis"}


@pytest.fixture(scope="module")
def underfit_run(digits_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-channel CNN trained 2 epochs at lr 1e-5: it cannot fit the ten digits (high bias)."""
    out = tmp_path_factory.mktemp("diag") / "underfit"
    overrides = [
        *digits_overrides(digits_splits, epochs=2),
        "model.channels=[4]",
        "optimizer.lr=1e-5",
        "schedule.name=none",
        "augment.speed.factors=[1.0]",
    ]
    train(load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides), out, progress=False)
    return out


def test_json_is_one_object_with_the_contract_keys(underfit_run: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("diagnose", underfit_run, "--baseline", "0.01", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()  # stdout holds the JSON object and nothing else
    assert set(report) == KEYS
    assert set(report["errors"]) == {"train", "train_dev", "dev", "test"}
    assert set(report["gaps"]) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfit"}
    assert report["baseline"] == 0.01
    assert "high_bias" in report["verdict"]
    assert report["errors"]["train"] > 0.5
    assert report["gaps"]["avoidable_bias"] == pytest.approx(report["errors"]["train"] - 0.01, abs=1e-6)
    assert any(r["override"] == "model.channels=[8]" for r in report["recommendations"])
    for rec in report["recommendations"]:  # every override is accepted by the run's recipe
        if rec["override"] is not None:
            load_recipe(underfit_run / "recipe.yaml", [rec["override"]])
    assert json.loads((underfit_run / "diagnosis.json").read_text()) == report


def test_table_and_recommendations_on_stderr(underfit_run: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("diagnose", underfit_run, "--bias-threshold", "0.99", "--variance-threshold", "0.99")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    for row in ("baseline error", "train-dev error", "avoidable bias", "data mismatch", "conclusion"):
        assert row in result.stderr
    assert "verdict:" in result.stderr


def test_overfit_check_flags_a_model_that_cannot_fit_one_batch(
    underfit_run: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("diagnose", underfit_run, "--overfit-check", "--json")
    assert result.exit_code == 0, result.stderr
    check = result.json()["overfit_check"]
    assert check["utterances"] == 16 and check["passed"] is False  # lr 1e-5 cannot fit even 16 utterances
    assert "cannot_overfit_one_batch" in [f["kind"] for f in result.json()["dynamics"]]
    assert (underfit_run / "diagnosis" / "overfit" / "metrics.json").is_file()


def test_learning_curve_plots_and_reuses_runs(underfit_run: Path, run_cli: Callable[..., CliResult]) -> None:
    args = ("diagnose", underfit_run, "--learning-curve", "--fractions", "0.5,1.0", "--json")
    first = run_cli(*args)
    assert first.exit_code == 0, first.stderr
    curve = first.json()["learning_curve"]
    assert [p["fraction"] for p in curve["points"]] == [0.5, 1.0]
    assert curve["points"][0]["train_size"] < curve["points"][1]["train_size"]
    assert (underfit_run / "plots" / "learning_curve.png").stat().st_size > 0
    stamps = [(underfit_run / "learning_curve" / f / "metrics.json").stat().st_mtime_ns for f in ("frac_0.5", "frac_1")]
    second = run_cli(*args)
    assert second.exit_code == 0, second.stderr
    assert "learning curve: training" not in second.stderr  # nothing retrained
    again = [(underfit_run / "learning_curve" / f / "metrics.json").stat().st_mtime_ns for f in ("frac_0.5", "frac_1")]
    assert again == stamps
    assert second.json()["learning_curve"]["points"] == curve["points"]


def test_missing_run_is_a_one_line_error(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("diagnose", tmp_path / "no-such-run")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "run folder not found" in lines[0] and "no-such-run" in lines[0]


def test_error_analysis_slices_and_exported_suspects(
    underfit_run: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "suspects.jsonl"
    result = run_cli(
        "diagnose", underfit_run, "--slice", "voice", "--worst", "3", "--folds", "2", "--export-suspects", out, "--json"
    )
    assert result.exit_code == 0, result.stderr
    report = result.json()
    analysis = report["error_analysis"]
    assert analysis["manifest"].endswith("dev.jsonl")
    for field in ("speaker", "duration_bucket", "voice"):
        groups = analysis["slices"][field]
        assert sum(g["errors"] for g in groups) == analysis["errors"]
        assert sum(g["utterances"] for g in groups) == analysis["utterances"]
    assert len(analysis["worst"]) == min(3, analysis["errors"])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(report["suspects"]) > 0  # an underfit model disagrees with many labels
    assert {"predicted_label", "suspect_score", "label", "audio"} <= set(lines[0])


def test_overfit_batch_keeps_the_runs_label_subset(digits_splits: Path, tmp_path: Path) -> None:
    """A run trained on data.labels (a subset task) is probed on that subset, not on every label of train."""
    from speechforge.data.manifest import read_manifest
    from speechforge.diagnosis.dynamics import overfit_one_batch

    overrides = [*digits_overrides(digits_splits, epochs=1), "model.channels=[4]", 'data.labels=["1","2"]']
    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides)
    train(recipe, tmp_path / "run", progress=False)
    overfit_one_batch(tmp_path / "run", recipe, utterances=8, epochs=1, progress=False)
    batch = read_manifest(tmp_path / "run" / "diagnosis" / "overfit_batch.jsonl")
    assert {u.label for u in batch} == {"1", "2"}
