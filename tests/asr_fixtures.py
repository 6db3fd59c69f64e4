"""Shared speech-recognition fixtures for tests/training/test_asr_train.py and tests/deploy/test_asr_deploy.py.

A small digit-string corpus synthesized with eSpeak NG (6 speakers × 12 utterances, split by speaker into
train / train_dev / dev / test) and a tiny Conformer-CTC trained on it once through the real CLI
(``speechforge train RECIPE overrides --out RUN``). Both are made at most once per test process (pytest-xdist
worker) and reused by every test that asks for them: the test modules wrap :func:`shared_run` in a fixture.

Tests that write into a run (``evaluate`` writes ``eval/``, ``lm tune`` writes ``decoding.json``) work on a
:func:`copy_run` so that the shared run stays as training left it.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import CliResult

RECIPE_TEXT = "task: asr\n"
# A Conformer small enough to train a useful digit recognizer in ~2 s on one CPU thread.
TINY_CONFORMER = (
    "model.name=conformer_ctc",
    "model.d_model=32",
    "model.n_layers=1",
    "model.n_heads=2",
    "model.conv_kernel=7",
    "optimizer.lr=0.003",
    "regularization.early_stopping.monitor=dev_loss",
)
# Length-bucketed batches of at most 8 s of padded audio: 8 batches per epoch for the 36 train utterances.
BUCKETS = "data.max_batch_seconds=8"
# Enough epochs for the greedy transcripts to be mostly non-empty (train CER ~10 %), so that decoding,
# beam search, the LM and the exported model are compared on real text rather than on empty strings.
SHARED_EPOCHS = 20
SPLITS = ("train", "dev", "test", "train_dev")

_cache: dict[str, Any] = {}


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` intra-op threads, then restore.

    These models are tiny: their cost is per-operation overhead, not arithmetic. Under ``pytest -n 2`` on two
    cores, two OpenMP threads per worker oversubscribe the CPU, and spinning threads made a 1200×32 @ 32×32
    matmul take 15 ms instead of 0.04 ms (measured): one thread per worker is both faster and steadier."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cli(*args: str | Path) -> CliResult:
    """``speechforge ARGS`` in process, for fixtures that cannot use ``capsys`` (module or session scope)."""
    from speechforge.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


def invoke(capture: pytest.CaptureFixture[str], *args: str | Path) -> CliResult:
    """``speechforge ARGS`` in process under a capture fixture: ``capfd`` also sees what C libraries (KenLM,
    onnxruntime) write to the file descriptors, so "nothing else on stdout" is checked at the fd level."""
    from speechforge.cli import main

    capture.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capture.readouterr()
    return CliResult(code, out, err)


def write_recipe(folder: Path) -> Path:
    """The whole recipe of these tests: ``task: asr`` (everything else is a default or an override)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "asr.yaml"
    path.write_text(RECIPE_TEXT, encoding="utf-8")
    return path


def split_overrides(splits: Path, names: tuple[str, ...] = SPLITS, **replaced: Path) -> list[str]:
    """``data.<split>=PATH`` for ``names``; ``replaced`` points a split at another manifest."""
    return [f"data.{name}={replaced.get(name, splits / f'{name}.jsonl')}" for name in names]


def synthesize_splits(root: Path) -> Path:
    """6 speakers × 12 digit strings ("three eight five"), split by speaker: 36 / 12 / 12 / 12 utterances."""
    from speechforge import data

    data.synth("asr", root / "corpus", speakers=6, per_speaker=12, seed=0, workers=1, progress=False)
    data.split(root / "corpus" / "manifest.jsonl", root / "splits", by="speaker", seed=0)
    return root / "splits"


@dataclass(frozen=True)
class ASRCorpus:
    splits: Path  # train.jsonl, train_dev.jsonl, dev.jsonl, test.jsonl
    recipe: Path  # asr.yaml


@dataclass(frozen=True)
class TrainedASR:
    run: Path  # the run folder
    splits: Path  # train.jsonl, train_dev.jsonl, dev.jsonl, test.jsonl
    recipe: Path  # asr.yaml
    log: str  # what `speechforge train` wrote on stderr


def shared_splits(factory: pytest.TempPathFactory) -> Path:
    if "splits" not in _cache:
        _cache["splits"] = synthesize_splits(factory.mktemp("asr_corpus"))
    return _cache["splits"]


def shared_corpus(factory: pytest.TempPathFactory) -> ASRCorpus:
    """The shared splits and a ``task: asr`` recipe, without training anything."""
    if "corpus" not in _cache:
        _cache["corpus"] = ASRCorpus(shared_splits(factory), write_recipe(factory.mktemp("asr_recipe")))
    return _cache["corpus"]


def shared_run(factory: pytest.TempPathFactory) -> TrainedASR:
    """The tiny Conformer trained for :data:`SHARED_EPOCHS` epochs on :func:`shared_splits` through the CLI."""
    if "run" not in _cache:
        splits = shared_splits(factory)
        root = factory.mktemp("asr_run")
        recipe = write_recipe(root)
        with torch_threads(1):
            result = cli(
                "train",
                recipe,
                *split_overrides(splits),
                *TINY_CONFORMER,
                BUCKETS,
                f"training.max_epochs={SHARED_EPOCHS}",
                "--out",
                root / "run",
            )
        assert result.exit_code == 0, result.stderr
        _cache["run"] = TrainedASR(root / "run", splits, recipe, result.stderr)
    return _cache["run"]


def copy_run(run: Path, dest: Path) -> Path:
    """A private copy of a run folder (recipe.yaml holds absolute manifest paths, so it works anywhere)."""
    shutil.copytree(run, dest)
    return dest


__all__ = [
    "BUCKETS",
    "SHARED_EPOCHS",
    "TINY_CONFORMER",
    "ASRCorpus",
    "TrainedASR",
    "cli",
    "copy_run",
    "invoke",
    "shared_corpus",
    "shared_run",
    "shared_splits",
    "split_overrides",
    "synthesize_splits",
    "torch_threads",
    "write_recipe",
]
