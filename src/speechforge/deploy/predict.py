"""``speechforge predict``: classify or transcribe audio files of any format, rate, bit depth and channel
count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from speechforge.audio.io import read_audio
from speechforge.deploy.inference import WaveformClassifier
from speechforge.errors import SpeechforgeError
from speechforge.tasks.asr import ASRTask
from speechforge.training.run import RunDir, load_task


def predict(
    run: str | Path,
    files: Sequence[str | Path],
    *,
    top_k: int = 1,
    decoder: str = "greedy",
    lm: str | Path | None = None,
    beam_size: int = 16,
) -> list[dict[str, Any]]:
    """One result per file: ``{"file", "label", "probability", "top": [{"label", "probability"}]}`` for a
    classifier, ``{"file", "text"}`` for a speech recognizer (``decoder``, ``lm``, ``beam_size`` as in
    ``evaluate``), or ``{"file", "error"}`` for a file that cannot be read (the others are still processed)."""
    run_dir = RunDir(run)
    task = load_task(run_dir)
    if isinstance(task, ASRTask):
        return transcribe_files(run_dir, task, files, decoder=decoder, lm=lm, beam_size=beam_size)
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


def transcribe_files(
    run: RunDir, task: ASRTask, files: Sequence[str | Path], *, decoder: str, lm: str | Path | None, beam_size: int
) -> list[dict[str, Any]]:
    """``{"file", "text"}`` per file (or ``{"file", "error"}``)."""
    from speechforge.decoding.ctc import build_decoder
    from speechforge.deploy.inference import WaveformRecognizer
    from speechforge.evaluation.asr import warn_unspellable
    from speechforge.training.run import tuned_decoding

    weights = tuned_decoding(run, lm) if lm is not None else {}
    built = build_decoder(task.tokenizer, decoder, lm=lm, beam_size=beam_size, **weights)
    warn_unspellable(getattr(built, "skipped_words", []))
    model = WaveformRecognizer(task).eval()
    rate = run.recipe().features.sample_rate
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            waveform, _ = read_audio(file, sample_rate=rate)  # (time,)
            x = torch.from_numpy(waveform)[None]  # (1, time)
            with torch.no_grad():
                log_probs, out_lengths = model(x, torch.tensor([x.shape[1]]))  # (1, frames', vocab), (1,)
        except SpeechforgeError as exc:
            results.append({"file": str(file), "error": f"{file}: {exc.message}" if exc.path is None else str(exc)})
            continue
        text = task.normalize_text(built.decode(log_probs, out_lengths)[0])
        results.append({"file": str(file), "text": text})
    return results
