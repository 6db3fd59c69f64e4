"""The Python API, one function per CLI command (``speechforge train`` is :func:`train`, ...).

Imported lazily by ``speechforge/__init__.py`` so that ``import speechforge`` stays cheap (no torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def train(
    recipe: str | Path | None,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Any:
    """``speechforge train RECIPE [overrides] --out OUT``; returns a ``TrainResult`` (run_dir, metrics, history)."""
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train as run_training

    items = [*overrides, *(["training.resume=true"] if resume else [])]
    return run_training(load_recipe(recipe, items), out, overwrite=overwrite, progress=progress)


def evaluate(
    run: str | Path,
    manifest: str | Path,
    *,
    decoder: str = "greedy",
    lm: str | Path | None = None,
    beam_size: int = 16,
) -> dict[str, Any]:
    """``speechforge evaluate RUN --manifest M``: the metrics dictionary (also written to RUN/eval/).

    ``decoder``, ``lm``, ``beam_size``: speech-recognition runs only (``speechforge.evaluation.asr``)."""
    from speechforge.training.run import RunDir

    if RunDir(run).is_asr:
        from speechforge.evaluation.asr import evaluate_asr

        return evaluate_asr(run, manifest, decoder=decoder, lm=lm, beam_size=beam_size)
    from speechforge.evaluation.classification import evaluate as run_evaluation

    return run_evaluation(run, manifest)


def predict(
    run: str | Path,
    files: Sequence[str | Path],
    top_k: int = 1,
    *,
    decoder: str = "greedy",
    lm: str | Path | None = None,
    beam_size: int = 16,
) -> list[dict[str, Any]]:
    """``speechforge predict RUN FILE...``: one result per file (class scores, or a transcript for ASR runs)."""
    from speechforge.deploy.predict import predict as run_prediction

    return run_prediction(run, files, top_k=top_k, decoder=decoder, lm=lm, beam_size=beam_size)


def export(run: str | Path, out: str | Path, format: str = "onnx") -> Path:
    """``speechforge export RUN --format F --out DIR``: the path of the exported model file."""
    from speechforge.deploy.export import export as run_export

    return run_export(run, out, format=format)
