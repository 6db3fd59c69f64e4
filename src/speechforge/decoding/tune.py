"""Tuning the LM weight and word score of CTC beam search on a dev set (a grid search).

The acoustic model is run once: :func:`tune_lm` takes its ``log_probs`` on the dev set and, for every point of
the grid ``lm_weights × word_scores``, decodes them with :func:`~speechforge.decoding.ctc.build_decoder`
(``kind="beam"`` with the word-level LM) and scores the transcripts with
:func:`~speechforge.metrics.asr.wer_details`. The best point is the one with the lowest WER; ties go to the
smaller ``|lm_weight|``, then the smaller ``|word_score|`` (the gentlest setting that reaches that WER).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from speechforge.console import track
from speechforge.decoding.ctc import build_decoder, greedy_decode
from speechforge.errors import SpeechforgeError
from speechforge.metrics.asr import wer_details
from speechforge.text.tokenizer import Tokenizer

LM_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
WORD_SCORES = (-1.0, 0.0, 1.0, 2.0)


def best_point(grid: Sequence[dict[str, float]]) -> dict[str, float]:
    """The grid point with the lowest WER; ties go to smaller ``|lm_weight|``, then smaller ``|word_score|``."""
    return min(
        grid, key=lambda p: (p["wer"], abs(p["lm_weight"]), abs(p["word_score"]), p["lm_weight"], p["word_score"])
    )


def tune_lm(
    log_probs: Any,
    lengths: Any,
    refs: Sequence[str],
    tokenizer: Tokenizer,
    lm: str | Path,
    *,
    beam_size: int = 16,
    lm_weights: Sequence[float] = LM_WEIGHTS,
    word_scores: Sequence[float] = WORD_SCORES,
    progress: bool = True,
) -> dict[str, Any]:
    """Grid search of the LM weight × word score of beam search with the word-level ARPA LM ``lm`` on dev.

    Args:
        log_probs: the acoustic model's log-softmax outputs on the dev set, one padded batch of shape
            ``(batch, time, vocab)`` (torch tensor or numpy array), as the decoders take them.
        lengths: the valid frames of each item (``None``: every frame).
        refs: the normalized reference transcripts, one per item, in order.
        tokenizer: the model's tokenizer (``text.tokenizer: char`` for a word-level LM).
        lm: the ARPA file (words), e.g. from ``speechforge lm build``.
        beam_size: the beam of every decoder tried.
        lm_weights, word_scores: the grid.
        progress: show a progress bar (on an interactive terminal).

    Returns ``{"lm", "lm_weight", "word_score", "wer", "greedy_wer", "beam_size", "grid"}``: the best point,
    the WER of greedy decoding for comparison, and every point tried as ``{"lm_weight", "word_score", "wer"}``
    in grid order (weights outer, word scores inner).
    """
    if not lm_weights or not word_scores:
        raise SpeechforgeError("the tuning grid is empty: give at least one LM weight and one word score")
    refs = list(refs)
    greedy_hyps = greedy_decode(log_probs, lengths, tokenizer)
    if len(refs) != len(greedy_hyps):
        raise SpeechforgeError(f"{len(refs)} reference(s) for {len(greedy_hyps)} utterance(s) of log-probs")
    greedy_wer = wer_details(refs, greedy_hyps)["wer"]

    points = [(float(w), float(s)) for w in lm_weights for s in word_scores]
    grid: list[dict[str, float]] = []
    for weight, score in track(points, "tuning LM weight × word score", total=len(points), enabled=progress):
        decoder = build_decoder(tokenizer, "beam", lm=lm, beam_size=beam_size, lm_weight=weight, word_score=score)
        hyps = decoder.decode(log_probs, lengths)
        grid.append({"lm_weight": weight, "word_score": score, "wer": wer_details(refs, hyps)["wer"]})

    best = best_point(grid)
    return {
        "lm": str(lm),
        "lm_weight": best["lm_weight"],
        "word_score": best["word_score"],
        "wer": best["wer"],
        "greedy_wer": greedy_wer,
        "beam_size": beam_size,
        "grid": grid,
    }


__all__ = ["LM_WEIGHTS", "WORD_SCORES", "best_point", "tune_lm"]
