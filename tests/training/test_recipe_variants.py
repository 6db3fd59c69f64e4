"""Every optimizer, loss, model family, schedule, normalization and augmentation the lecture names trains
for real on synthesized speech (a few epochs each), and the lecture's yes/no logistic regression works."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, CliResult, digits_overrides
from speechforge.training.recipe import load_recipe
from speechforge.training.trainer import train

VARIANTS = {
    "logreg-mfcc-focal-nesterov-step": [
        "model.name=logreg",
        "features.kind=mfcc",
        "loss.name=focal",
        "optimizer.name=sgd",
        "optimizer.lr=0.05",
        "optimizer.momentum=0.9",
        "optimizer.nesterov=true",
        "schedule.name=step",
        "schedule.step_size=2",
    ],
    "mlp-weighted-ce-rmsprop-plateau-l2": [
        "model.name=mlp",
        "model.hidden=[64]",
        "loss.class_weights=auto",
        "loss.label_smoothing=0.1",
        "optimizer.name=rmsprop",
        "schedule.name=plateau",
        "regularization.l2=0.01",
        "features.normalization=utterance",
    ],
    "crnn-adamw-warmup-noise-clip": [
        "model.name=crnn",
        "model.channels=[8]",
        "model.rnn_hidden=16",
        "model.init=xavier_uniform",
        "optimizer.name=adamw",
        "optimizer.weight_decay=0.01",
        "schedule.warmup_epochs=1",
        "augment.noise.prob=1.0",
        "augment.noise.snr=[10,20]",
        "training.gradient_clip=1.0",
    ],
    "cnn-batch-gradient-descent": [
        "model.channels=[8,16]",
        "optimizer.batch_size=full",
        "optimizer.name=sgd",
        "optimizer.lr=0.1",
        "features.normalization=none",
    ],
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_recipe_variant_trains(name: str, digits_splits: Path, tmp_path: Path) -> None:
    overrides = [*digits_overrides(digits_splits, epochs=4), "regularization.early_stopping.enabled=false"]
    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", [*overrides, *VARIANTS[name]])
    result = train(recipe, tmp_path / name, progress=False)
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert min(losses[1:]) < losses[0], f"{name}: the training loss did not fall: {losses}"


def test_noise_folder_and_synthesized_speech_are_mixed_in(digits_splits: Path, tmp_path: Path) -> None:
    noise_dir = tmp_path / "noise"
    noise_dir.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        sf.write(noise_dir / f"n{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 8000)
    extra = [
        "augment.noise.prob=1.0",
        f"augment.noise.folder={noise_dir}",
        f"augment.synthesized.manifest={digits_splits / 'train_dev.jsonl'}",
        "augment.synthesized.fraction=0.5",
        "model.channels=[8]",
    ]
    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", [*digits_overrides(digits_splits, epochs=1), *extra])
    result = train(recipe, tmp_path / "run", progress=False)
    train_m = sum(1 for _ in (digits_splits / "train.jsonl").open())
    train_dev_m = sum(1 for _ in (digits_splits / "train_dev.jsonl").open())
    assert result.metrics["train"]["utterances"] == train_m + round(train_dev_m * 0.5)


def test_the_lectures_yes_no_logistic_regression(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    from speechforge import data

    data.synth("commands", tmp_path / "commands", speakers=6, per_speaker=48, seed=1, progress=False)
    data.split(tmp_path / "commands" / "manifest.jsonl", tmp_path / "splits", ratios="66,17,17", train_dev=0)
    splits = tmp_path / "splits"
    r = run_cli(
        "train",
        ROOT / "recipes" / "yesno_logreg.yaml",
        f"data.train={splits / 'train.jsonl'}",
        f"data.dev={splits / 'dev.jsonl'}",
        f"data.test={splits / 'test.jsonl'}",
        "--out",
        tmp_path / "run",
    )
    assert r.exit_code == 0, r.stderr
    assert "(batch gradient descent)" in r.stderr and "→ 1 iterations per epoch" in r.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["labels"] == ["no", "yes"]
    assert metrics["train"]["accuracy"] >= 0.9
    r = run_cli("evaluate", tmp_path / "run", "--manifest", splits / "test.jsonl", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["roc_auc"] > 0.8


def test_a_manifest_line_that_is_not_json_stops_training_naming_the_line(
    digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    broken = tmp_path / "train.jsonl"
    lines = (digits_splits / "train.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]
    broken.write_text("\n".join(lines) + "\n")
    r = run_cli(
        "train",
        ROOT / "recipes" / "digits_cnn.yaml",
        *digits_overrides(digits_splits, epochs=1),
        f"data.train={broken}",
        "--out",
        tmp_path / "run",
    )
    assert r.exit_code == 2
    assert f"{broken}:3: not valid JSON" in r.stderr and "Traceback" not in r.stderr
