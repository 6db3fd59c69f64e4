"""Shared test helpers: real audio written with soundfile, and the real CLI entry point."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("SPEECHFORGE_NO_PROGRESS", "1")

ROOT = Path(__file__).resolve().parents[1]


def tone(
    seconds: float = 0.5,
    rate: int = 16000,
    freq: float = 440.0,
    amplitude: float = 0.5,
    seed: int | None = None,
) -> np.ndarray:
    """A sine tone (plus a little noise when ``seed`` is given) of shape ``(time,)``."""
    t = np.arange(round(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if seed is not None:
        x = x + 0.01 * np.random.default_rng(seed).standard_normal(x.shape)
    return x.astype(np.float32)


def write_audio(
    path: Path,
    seconds: float = 0.5,
    rate: int = 16000,
    freq: float = 440.0,
    subtype: str | None = None,
    channels: int = 1,
    seed: int | None = None,
) -> Path:
    """Write a real audio file; the format follows the extension (wav/flac/ogg/mp3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = tone(seconds, rate, freq, seed=seed)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    sf.write(str(path), data, rate, subtype=subtype)
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``speechforge ARGS`` through the real console entry point, in process."""
    from speechforge.cli import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def digits_splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthesized digits corpus, split speaker-disjoint: the folder with train/dev/test/train_dev."""
    from speechforge import data

    root = tmp_path_factory.mktemp("digits")
    data.synth("digits", root / "corpus", speakers=10, per_speaker=30, seed=0, progress=False)
    data.split(
        root / "corpus" / "manifest.jsonl",
        root / "splits",
        by="speaker",
        ratios="60,20,20",
        train_dev=0.1,
        seed=0,
    )
    return root / "splits"


def digits_overrides(splits: Path, epochs: int = 6) -> list[str]:
    """Recipe overrides that point recipes/digits_cnn.yaml at ``splits`` and keep the run short."""
    return [
        f"data.train={splits / 'train.jsonl'}",
        f"data.dev={splits / 'dev.jsonl'}",
        f"data.test={splits / 'test.jsonl'}",
        f"data.train_dev={splits / 'train_dev.jsonl'}",
        f"training.max_epochs={epochs}",
    ]


@pytest.fixture(scope="session")
def trained_run(digits_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """recipes/digits_cnn.yaml trained for a few epochs on ``digits_splits``."""
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train

    out = tmp_path_factory.mktemp("runs") / "digits"
    recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", digits_overrides(digits_splits, epochs=12))
    train(recipe, out, progress=False)
    return out
