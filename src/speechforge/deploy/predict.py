"""``speechforge predict``: classify audio files of any format, rate, bit depth and channel count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from speechforge.audio.io import read_audio
from speechforge.deploy.inference import WaveformClassifier
from speechforge.errors import SpeechforgeError
from speechforge.training.run import RunDir, load_task


def predict(run: str | Path, files: Sequence[str | Path], *, top_k: int = 1) -> list[dict[str, Any]]:
    """One result per file: ``{"file", "label", "probability", "top": [{"label", "probability"}]}``, or
    ``{"file", "error"}`` for a file that cannot be read (the others are still classified)."""
    run_dir = RunDir(run)
    task = load_task(run_dir)
    model = WaveformClassifier(task).eval()
    rate = run_dir.recipe().features.sample_rate
    k = max(1, min(top_k, len(task.labels)))
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            waveform, _ = read_audio(file, sample_rate=rate)  # (time,)
        except SpeechforgeError as exc:
            results.append({"file": str(file), "error": str(exc)})
            continue
        with torch.no_grad():
            x = torch.from_numpy(waveform)[None]  # (1, time)
            probs = model(x, torch.tensor([x.shape[1]]))[0]  # (n_classes,)
        values, ids = probs.topk(k)
        top = [{"label": task.labels[int(i)], "probability": float(v)} for v, i in zip(values, ids, strict=True)]
        results.append({"file": str(file), "label": top[0]["label"], "probability": top[0]["probability"], "top": top})
    return results
