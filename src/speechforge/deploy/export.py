"""``speechforge export``: one self-contained model file, waveform → class probabilities (classifier) or
per-frame CTC log-probabilities (speech recognizer).

DIR/model.onnx  (or model.pt for TorchScript)   inputs: waveform (batch, time) float32 at the run's
                                                 sample rate, lengths (batch,) int64; outputs:
                                                 probabilities (batch, n_classes), or
                                                 log_probs (batch, frames, vocab) and out_lengths (batch,)
DIR/model.json                                   sample_rate, labels or tokens (+ blank id), input and
                                                 output names
DIR/tokenizer.json / tokenizer.model             asr: the run's tokenizer, to decode the log-probabilities
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from speechforge.deploy.inference import WaveformClassifier, WaveformRecognizer
from speechforge.errors import SpeechforgeError
from speechforge.tasks.asr import ASRTask
from speechforge.text.tokenizer import tokenizer_file
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
    asr = isinstance(task, ASRTask)
    model = (WaveformRecognizer(task) if isinstance(task, ASRTask) else WaveformClassifier(task)).eval()
    outputs = ["log_probs", "out_lengths"] if asr else ["probabilities"]
    dynamic: dict[str, dict[int, str]] = {"waveform": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
    if asr:
        dynamic.update({"log_probs": {0: "batch", 1: "frames"}, "out_lengths": {0: "batch"}})
    else:
        dynamic["probabilities"] = {0: "batch"}
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
                output_names=outputs,
                dynamic_axes=dynamic,
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
        "inputs": {"waveform": "(batch, time) float32", "lengths": "(batch,) int64 samples"},
    }
    if isinstance(task, ASRTask):
        saved = tokenizer_file(run_dir.path)
        assert saved is not None  # load_task found it
        shutil.copy(saved, out / saved.name)
        meta["tokenizer"] = saved.name
        meta["tokens"] = task.tokenizer.tokens
        meta["blank_id"] = task.tokenizer.blank_id
        meta["outputs"] = {
            "log_probs": "(batch, frames, vocab) float32 log-softmax over tokens",
            "out_lengths": "(batch,) int64 valid frames",
        }
    else:
        meta["labels"] = task.labels
        meta["outputs"] = {"probabilities": "(batch, n_classes) float32"}
    (out / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path
