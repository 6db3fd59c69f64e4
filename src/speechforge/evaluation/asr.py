"""Transcribe a dataset with a CTC task (eval mode) and score it: WER, CER, S/D/I, RTF, error pairs.

``speechforge evaluate RUN --manifest M`` on an ASR run writes

    eval/<stem>/metrics.json   wer, cer, substitutions, deletions, insertions, ref_words, utterances, rtf,
                               top_substitutions, decoder settings, skipped
    eval/<stem>/hyps.jsonl     one {id, ref, hyp, errors, ref_words, substitutions, deletions, insertions}
                               per utterance

References and hypotheses go through the run's text normalization (``text:`` of its recipe) before scoring.
``rtf`` is the real-time factor: seconds spent computing (model forward + decoding) per second of audio.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from speechforge.data.dataset import Batch, UtteranceDataset, collate
from speechforge.data.manifest import Manifest, read_manifest
from speechforge.metrics.asr import wer_details
from speechforge.tasks.asr import ASRTask
from speechforge.tasks.base import Stage


@dataclass
class Transcripts:
    """Per-utterance outputs of one pass, in dataset order."""

    indices: list[int]  # positions in the manifest
    hyps: list[str]
    loss: float  # mean CTC loss (nan when the dataset has no token targets)
    audio_seconds: float
    compute_seconds: float  # model forward + decoding

    @property
    def rtf(self) -> float:
        return self.compute_seconds / self.audio_seconds if self.audio_seconds else float("nan")


def length_sorted_batches(dataset: UtteranceDataset, batch_size: int) -> list[list[int]]:
    """Batches of utterances of similar length (little padding), for inference."""
    order = np.argsort(np.asarray(dataset.sizes), kind="stable").tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def log_probs_batches(
    task: ASRTask, dataset: UtteranceDataset, *, batch_size: int = 32, device: torch.device | str = "cpu"
) -> Iterator[tuple[Batch, torch.Tensor, torch.Tensor, float]]:
    """``(batch, log_probs (batch, frames', vocab), out_lengths (batch,), forward seconds)`` over the dataset."""
    was_training = task.training
    task.eval().to(device)
    loader = DataLoader(dataset, batch_sampler=length_sorted_batches(dataset, batch_size), collate_fn=collate)
    try:
        for batch in loader:
            batch = batch.to(device)
            start = time.perf_counter()
            log_probs, out_lengths = task.compute_forward(batch, Stage.TEST)
            yield batch, log_probs.float(), out_lengths, time.perf_counter() - start
    finally:
        task.train(was_training)


def transcribe(
    task: ASRTask,
    dataset: UtteranceDataset,
    *,
    decoder: Any = None,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
) -> Transcripts:
    """Decode every utterance of ``dataset`` (``decoder.decode(log_probs, lengths)``; greedy when None)."""
    indices: list[int] = []
    hyps: list[str] = []
    loss_sum, n, seconds = 0.0, 0, 0.0
    for batch, log_probs, out_lengths, forward_seconds in log_probs_batches(
        task, dataset, batch_size=batch_size, device=device
    ):
        start = time.perf_counter()
        if decoder is None:
            texts = task.decode((log_probs, out_lengths))
        else:
            texts = decoder.decode(log_probs.cpu(), out_lengths.cpu())
        seconds += forward_seconds + time.perf_counter() - start
        hyps.extend(task.normalize_text(t) for t in texts)
        indices.extend(int(i) for i in batch.indices)
        if batch.target_lengths is not None:
            loss_sum += float(task.compute_objectives((log_probs, out_lengths), batch, Stage.TEST)) * len(batch)
            n += len(batch)
    audio = sum(dataset.sizes) / dataset.sample_rate
    return Transcripts(indices, hyps, loss_sum / n if n else float("nan"), audio, seconds)


def warn_unspellable(skipped: Sequence[str]) -> None:
    """Say which LM words the decoder can never output (the run's tokenizer cannot spell them)."""
    from speechforge.console import err_console

    if skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        err_console.print(
            f"[yellow]{len(skipped)} LM word(s) cannot be spelled with the run's tokenizer and will never be "
            f"output: {shown}[/] (normalize the LM text like the transcripts, e.g. without punctuation)"
        )


def asr_metrics(details: dict[str, Any], transcripts: Transcripts | None = None) -> dict[str, Any]:
    """The metrics.json object from ``wer_details``: the details without the per-utterance list,
    ``error_rate`` (= WER, what ``diagnose`` compares across splits), ``loss`` and ``rtf``."""
    metrics: dict[str, Any] = {"error_rate": details["wer"], **details}
    metrics.pop("per_utterance", None)
    if transcripts is not None:
        metrics["loss"] = None if math.isnan(transcripts.loss) else transcripts.loss  # no targets: no loss
        metrics["rtf"] = transcripts.rtf
        metrics["audio_seconds"] = transcripts.audio_seconds
    return metrics


def references(task: ASRTask, manifest: Manifest, indices: Sequence[int], field: str) -> list[str]:
    """The normalized transcripts of ``manifest`` at ``indices``."""
    return [task.normalize_text(str(manifest[i].get(field) or "")) for i in indices]


def evaluate_asr(
    run: str | Path,
    manifest: str | Path,
    *,
    decoder: str = "greedy",
    lm: str | Path | None = None,
    beam_size: int = 16,
    batch_size: int = 32,
    progress: bool = True,
) -> dict[str, Any]:
    """``speechforge evaluate`` for an ASR run; see the module docstring for what it writes.

    With ``--lm``, the LM weight and word score come from the run's ``decoding.json`` (``speechforge lm
    tune``) when it was tuned for the same LM file, else the defaults (0.5, 0)."""
    from speechforge.decoding.ctc import build_decoder
    from speechforge.training.run import RunDir, load_recognizer, tuned_decoding

    run_dir = RunDir(run)
    task = load_recognizer(run_dir)
    recipe = run_dir.recipe()
    field = recipe.data.text_field
    data = read_manifest(manifest, required=(field,), purpose="ASR evaluation", allow_empty=True)
    rate = recipe.features.sample_rate
    dataset = UtteranceDataset(data, sample_rate=rate, reject=task.too_short, progress=progress)
    settings: dict[str, Any] = {"decoder": decoder, "beam_size": beam_size if decoder == "beam" else None}
    weights = tuned_decoding(run_dir, lm) if lm is not None else {}
    settings.update({"lm": str(lm) if lm else None, **weights})
    built = build_decoder(task.tokenizer, decoder, lm=lm, beam_size=beam_size, **weights)
    warn_unspellable(getattr(built, "skipped_words", []))
    if lm is not None:
        settings["lm_words_not_spellable"] = len(getattr(built, "skipped_words", []))
    transcripts = transcribe(task, dataset, decoder=built, batch_size=batch_size)
    refs = references(task, data, transcripts.indices, field)
    details = wer_details(refs, transcripts.hyps)
    metrics = asr_metrics(details, transcripts)
    metrics.update({"manifest": str(manifest), "decoding": settings})
    metrics["skipped"] = {"count": len(dataset.skipped), "items": [s.to_dict() for s in dataset.skipped]}
    out = run_dir.eval_dir(Path(manifest))
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with (out / "hyps.jsonl").open("w", encoding="utf-8") as f:
        rows = zip(transcripts.indices, refs, transcripts.hyps, details["per_utterance"], strict=True)
        for i, ref, hyp, counts in rows:
            record = {"id": data[i].id, "ref": ref, "hyp": hyp, **counts}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return metrics


def tune_decoding(
    run: str | Path,
    manifest: str | Path,
    lm: str | Path,
    *,
    beam_size: int = 16,
    batch_size: int = 32,
    progress: bool = True,
) -> dict[str, Any]:
    """``speechforge lm tune``: grid-search the LM weight and word score of beam search on ``manifest`` (dev)
    and store the best in the run's ``decoding.json`` (``evaluate``/``predict`` with the same ``--lm`` use it).

    The model runs once; every grid point re-decodes its log-probabilities."""
    from speechforge.decoding.tune import tune_lm
    from speechforge.training.run import RunDir, load_recognizer

    run_dir = RunDir(run)
    task = load_recognizer(run_dir)
    recipe = run_dir.recipe()
    field = recipe.data.text_field
    data = read_manifest(manifest, required=(field,), purpose="LM tuning", allow_empty=True)
    dataset = UtteranceDataset(data, sample_rate=recipe.features.sample_rate, reject=task.too_short, progress=progress)
    outputs: list[torch.Tensor] = []
    lengths: list[int] = []
    indices: list[int] = []
    for batch, log_probs, out_lengths, _ in log_probs_batches(task, dataset, batch_size=batch_size):
        outputs.extend(log_probs[b, : int(n)] for b, n in enumerate(out_lengths))  # (frames, vocab) each
        lengths.extend(int(n) for n in out_lengths)
        indices.extend(int(i) for i in batch.indices)
    from speechforge.decoding.ctc import lm_lexicon

    warn_unspellable(lm_lexicon(lm, task.tokenizer)[1])
    padded = torch.nn.utils.rnn.pad_sequence(outputs, batch_first=True)  # (utterances, frames, vocab)
    refs = references(task, data, indices, field)
    result = tune_lm(padded, torch.tensor(lengths), refs, task.tokenizer, lm, beam_size=beam_size, progress=progress)
    result.update({"lm": str(Path(lm).resolve()), "manifest": str(manifest), "utterances": len(refs)})
    run_dir.decoding_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
