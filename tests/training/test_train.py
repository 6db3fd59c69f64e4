"""Training for real on synthesized speech: the run folder, determinism, resume after kill -9, NaN losses."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, CliResult, digits_overrides
from speechforge.data.manifest import read_manifest, write_manifest


def test_run_folder_has_everything(trained_run: Path) -> None:
    for name in (
        "recipe.yaml",
        "labels.json",
        "best.ckpt",
        "last.ckpt",
        "history.csv",
        "metrics.json",
        "plots/loss.png",
        "plots/error.png",
    ):
        assert (trained_run / name).is_file(), name
    with (trained_run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "train_loss", "train_error", "dev_loss", "dev_error", "lr", "seconds", "padding"]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])  # it learned
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert {"train", "dev", "train_dev", "test"} <= set(metrics)
    assert metrics["dev"]["accuracy"] > 0.5  # ten classes: chance is 0.1


def _train_cli(
    run_cli: Callable[..., CliResult], splits: Path, out: Path, *extra: str, model: str = "model.channels=[8,16]"
) -> CliResult:
    return run_cli(
        "train",
        ROOT / "recipes" / "digits_cnn.yaml",
        *digits_overrides(splits, epochs=2),
        model,
        *extra,
        "--out",
        out,
    )


def test_same_seed_same_metrics(digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    a = _train_cli(run_cli, digits_splits, tmp_path / "a")
    b = _train_cli(run_cli, digits_splits, tmp_path / "b")
    assert a.exit_code == 0 and b.exit_code == 0, a.stderr + b.stderr
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ma["dev"]["loss"] == mb["dev"]["loss"] and ma["train"]["accuracy"] == mb["train"]["accuracy"]
    assert "iterations per epoch" in a.stderr


def test_existing_run_is_not_overwritten(
    digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "keep.txt").write_text("precious")
    r = _train_cli(run_cli, digits_splits, tmp_path / "r")
    assert r.exit_code == 2 and "--resume" in r.stderr and (tmp_path / "r" / "keep.txt").exists()


def test_nan_loss_stops_with_advice(digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    r = _train_cli(
        run_cli,
        digits_splits,
        tmp_path / "nan",
        "model.batch_norm=false",
        "optimizer.name=sgd",
        "optimizer.lr=1e30",
        model="model.name=mlp",
    )
    assert r.exit_code == 2
    assert "lower the learning rate" in r.stderr.lower() and "Traceback" not in r.stderr


def test_unseen_test_label_is_an_error_naming_the_line(
    digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    test = read_manifest(digits_splits / "test.jsonl")
    odd = test[0].model_copy(update={"label": "eleven", "id": "odd"})
    write_manifest(tmp_path / "test.jsonl", [*test, odd])
    r = _train_cli(run_cli, digits_splits, tmp_path / "run", f"data.test={tmp_path / 'test.jsonl'}")
    assert r.exit_code == 2
    assert f"test.jsonl:{len(test) + 1}" in r.stderr and "'eleven' was never seen in training" in r.stderr


def test_kill_during_training_then_resume_matches_uninterrupted(digits_splits: Path, tmp_path: Path) -> None:
    epochs = 4
    args = [
        sys.executable,
        "-m",
        "speechforge",
        "train",
        str(ROOT / "recipes" / "digits_cnn.yaml"),
        *digits_overrides(digits_splits, epochs=epochs),
        "model.channels=[8,16]",
        "regularization.early_stopping.enabled=false",
    ]
    env = {**os.environ, "SPEECHFORGE_NO_PROGRESS": "1"}
    full = subprocess.run([*args, "--out", str(tmp_path / "full")], capture_output=True, text=True, env=env)
    assert full.returncode == 0, full.stderr

    killed_dir = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--out", str(killed_dir)], stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while not (killed_dir / "last.ckpt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (killed_dir / "metrics.json").exists()

    resumed = subprocess.run([*args, "--out", str(killed_dir), "--resume"], capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "full" / "metrics.json").read_text())
    b = json.loads((killed_dir / "metrics.json").read_text())
    assert b["epochs"] == epochs
    for split in ("train", "dev", "test"):
        assert b[split]["loss"] == pytest.approx(a[split]["loss"], abs=1e-6), split
        assert b[split]["accuracy"] == a[split]["accuracy"], split


def test_min_updates_raises_max_epochs_for_a_small_training_set(digits_splits: Path, tmp_path: Path) -> None:
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train, with_enough_epochs

    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", ["training.max_epochs=3", "training.min_updates=20"])
    assert with_enough_epochs(recipe, 10).training.max_epochs == 3  # 30 updates already
    assert with_enough_epochs(recipe, 3).training.max_epochs == 7  # ⌈20 / 3⌉

    overrides = [
        *digits_overrides(digits_splits, epochs=2),
        "training.min_updates=9",
        "optimizer.batch_size=full",  # one update per epoch
        "model.channels=[4]",
        "regularization.early_stopping.patience=1",
    ]
    result = train(load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides), tmp_path / "run", progress=False)
    # 9 epochs of one update each: max_epochs 2 was raised, and early stopping (patience 1) waited for them.
    assert result.metrics["epochs"] == 9 and not result.metrics["stopped_early"]
