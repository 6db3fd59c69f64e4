"""``speechforge export``: one self-contained model file, waveform → class probabilities.

DIR/model.onnx  (or model.pt for TorchScript)   inputs: waveform (batch, time) float32 at the run's
                                                 sample rate, lengths (batch,) int64; output:
                                                 probabilities (batch, n_classes)
DIR/model.json                                   sample_rate, labels, input and output names
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from speechforge.deploy.inference import WaveformClassifier
from speechforge.errors import SpeechforgeError
from speechforge.training.run import RunDir, load_task

FORMATS = ("onnx", "torchscript")


def _example(rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    waveform = torch.randn(2, rate) * 0.1  # (batch, time): one second
    return waveform, torch.tensor([rate, rate * 3 // 4])


def export(run: str | Path, out: str | Path, *, format: str = "onnx") -> Path:
    """Write the run's best model to ``out`` in ``format``; returns the model file."""
    if format not in FORMATS:
        raise SpeechforgeError(f"--format {format!r}: choose one of {', '.join(FORMATS)}")
    run_dir = RunDir(run)
    task = load_task(run_dir)
    rate = run_dir.recipe().features.sample_rate
    model = WaveformClassifier(task).eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    example = _example(rate)
    if format == "onnx":
        path = out / "model.onnx"
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated but fast and exact
            torch.onnx.export(
                model,
                example,
                str(path),
                input_names=["waveform", "lengths"],
                output_names=["probabilities"],
                dynamic_axes={
                    "waveform": {0: "batch", 1: "time"},
                    "lengths": {0: "batch"},
                    "probabilities": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
    else:
        path = out / "model.pt"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, example)
        traced.save(str(path))
    meta: dict[str, Any] = {
        "format": format,
        "model": path.name,
        "sample_rate": rate,
        "labels": task.labels,
        "inputs": {"waveform": "(batch, time) float32", "lengths": "(batch,) int64 samples"},
        "outputs": {"probabilities": "(batch, n_classes) float32"},
    }
    (out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path
