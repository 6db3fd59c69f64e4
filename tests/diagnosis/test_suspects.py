"""Suspected label errors: confident learning on out-of-fold predictions of a real (tiny) training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, digits_overrides
from speechforge.data.dataset import LabelSet
from speechforge.data.manifest import read_manifest, write_manifest
from speechforge.diagnosis.suspects import (
    confident_learning_issues,
    export_suspects,
    find_suspects,
    threshold_issues,
)
from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import load_recipe

FLIP = 0.05


def test_threshold_rule_on_known_probabilities() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7]])
    assert threshold_issues(labels, probs).tolist() == [2]
    assert confident_learning_issues(labels, probs).tolist() == [2]  # cleanlab (when installed) agrees


@pytest.fixture(scope="module")
def noisy_run(digits_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A run folder (recipe + labels, not trained) whose train split has 5% of its labels flipped."""
    root = tmp_path_factory.mktemp("noisy")
    train = read_manifest(digits_splits / "train.jsonl")
    labels = sorted({str(u.label) for u in train})
    rng = np.random.default_rng(1)
    flipped = rng.choice(len(train), size=max(2, round(FLIP * len(train))), replace=False)
    for i in flipped:
        utt = train[int(i)]
        utt.label = str(rng.choice([lab for lab in labels if lab != utt.label]))
    noisy = write_manifest(root / "train.jsonl", train.utterances, absolute_paths=True)
    # logistic regression on pooled fbank: at this scale it separates the digits far sooner than the CNN
    # (measured recall@2k: CNN [8,16] 8 epochs 1/8; CNN [16,32] 20 epochs 5/8; logreg 20 epochs 7/8, 40 epochs 8/8)
    overrides = [
        *digits_overrides(digits_splits, epochs=20),
        f"data.train={noisy}",
        "model.name=logreg",
        "augment.speed.factors=[1.0]",
    ]
    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides)
    run = root / "run"
    run.mkdir()
    (run / "recipe.yaml").write_text(recipe.to_yaml(), encoding="utf-8")
    LabelSet.from_manifest(read_manifest(noisy)).save(run / "labels.json")
    return run, {train[int(i)].id for i in flipped}


def test_flipped_labels_are_found(noisy_run: tuple[Path, set[str]]) -> None:
    run, flipped = noisy_run
    suspects = find_suspects(run, folds=3, progress=False)
    assert suspects == sorted(suspects, key=lambda s: s["score"])
    assert {s["split"] for s in suspects} == {"train"}
    top = {s["id"] for s in suspects[: 2 * len(flipped)]}
    recall = len(top & flipped) / len(flipped)
    print(f"suspect recall@2k: {recall:.2f} ({len(top & flipped)}/{len(flipped)}), {len(suspects)} suspects")
    assert recall >= 0.7  # the issue's acceptance bound; 7/8 measured (seeded, deterministic on CPU)
    for s in suspects:
        assert s["label"] != s["predicted"] or s["score"] < 0.5
        assert 0.0 <= s["score"] <= 1.0
    for k in range(3):
        assert (run / "diagnosis" / "folds" / str(k) / "metrics.json").is_file()

    # finished folds are reused: the same suspects, no retraining
    stamp = (run / "diagnosis" / "folds" / "0" / "metrics.json").stat().st_mtime_ns
    again = find_suspects(run, folds=3, progress=False)
    assert [s["id"] for s in again] == [s["id"] for s in suspects]
    assert (run / "diagnosis" / "folds" / "0" / "metrics.json").stat().st_mtime_ns == stamp

    out = export_suspects(suspects, run / "suspects.jsonl")
    review = read_manifest(out)
    assert [u.id for u in review] == [s["id"] for s in suspects]
    first = review[0]
    assert first.get("predicted_label") == suspects[0]["predicted"]
    assert first.get("suspect_score") == pytest.approx(suspects[0]["score"], abs=1e-6)
    assert Path(first.audio).is_file()  # the audio paths still resolve from the new folder
    line = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert {"id", "audio", "duration", "label", "predicted_label", "suspect_score"} <= set(line)


def test_bad_arguments_are_clear_errors(noisy_run: tuple[Path, set[str]], tmp_path: Path) -> None:
    run, _ = noisy_run
    with pytest.raises(SpeechforgeError, match="unknown split"):
        find_suspects(run, splits=("validation",), progress=False)
    with pytest.raises(SpeechforgeError, match="folds must be at least 2"):
        find_suspects(run, folds=1, progress=False)
    with pytest.raises(SpeechforgeError, match="run folder not found"):
        find_suspects(tmp_path / "nope", progress=False)
    with pytest.raises(SpeechforgeError, match="fewer than folds"):
        find_suspects(run, folds=1000, progress=False)
