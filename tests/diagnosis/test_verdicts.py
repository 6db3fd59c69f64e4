"""The verdicts the issue names, produced by real training on synthesized speech (not hand-written numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import ROOT, digits_overrides
from speechforge.audio.augment import add_noise
from speechforge.audio.io import read_audio
from speechforge.data.manifest import read_manifest, write_manifest
from speechforge.diagnosis import diagnose
from speechforge.training.recipe import load_recipe
from speechforge.training.trainer import train

NO_AUGMENTATION = [
    "augment.speed.factors=[1.0]",
    "augment.specaugment.freq_masks=0",
    "augment.specaugment.time_masks=0",
]


def test_a_large_unregularized_model_on_little_data_has_high_variance(digits_splits: Path, tmp_path: Path) -> None:
    """An MLP of 2 × 512 units, no dropout, no batch norm, no augmentation, no early stopping, on a few speakers:
    it memorizes train (error ~0) and fails on the held-out train speakers (train_dev)."""
    overrides = [
        *digits_overrides(digits_splits, epochs=60),
        *NO_AUGMENTATION,
        "regularization.dropout=0",
        "regularization.early_stopping.enabled=false",
        "schedule.name=none",
        "model.batch_norm=false",
        "model.hidden=[512,512]",
        "model.name=mlp",
    ]
    train(load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides), tmp_path / "run", progress=False)
    report = diagnose(tmp_path / "run", errors_on=False, progress=False)
    errors = report["errors"]
    assert errors["train_dev"] > errors["train"] + 0.1, errors
    assert "high_variance" in report["verdict"], report
    overrides_given = {r["override"] for r in report["recommendations"] if r["override"]}
    assert "regularization.dropout=0.3" in overrides_given


def _noisy_copy(manifest: Path, out: Path, snr_db: float) -> Path:
    """The same utterances with white noise at ``snr_db``: a dev set from another acoustic condition."""
    rng = np.random.default_rng(0)
    utts = []
    for utt in read_manifest(manifest):
        waveform, rate = read_audio(utt.audio)
        noisy = np.clip(add_noise(waveform, rng, snr_db=(snr_db, snr_db)), -1, 1)
        path = out / "wav" / f"{utt.id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, noisy, rate, subtype="PCM_16")
        utts.append(utt.model_copy(update={"audio": str(path), "snr": snr_db}))
    return write_manifest(out / "dev_noisy.jsonl", utts)


def test_clean_train_and_noisy_dev_is_a_data_mismatch(digits_splits: Path, tmp_path: Path) -> None:
    """Train (and train_dev) are clean, dev is the dev speakers at 5 dB SNR: train-dev error stays low while
    dev error is high — the lecture's data mismatch, and the remedies include noise augmentation."""
    noisy_dev = _noisy_copy(digits_splits / "dev.jsonl", tmp_path / "noisy", snr_db=5.0)
    overrides = [
        *digits_overrides(digits_splits, epochs=20),
        f"data.dev={noisy_dev}",
        "data.test=null",
        "regularization.early_stopping.monitor=dev_error",
    ]
    train(load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides), tmp_path / "run", progress=False)
    report = diagnose(tmp_path / "run", progress=False)
    errors = report["errors"]
    assert errors["dev"] > errors["train_dev"] + 0.2, errors
    assert "data_mismatch" in report["verdict"], report
    assert any(r["override"] == "augment.noise.prob=0.5" for r in report["recommendations"])
    assert report["error_analysis"]["slices"]["snr_bucket"][0]["value"] == "0–10 dB"
