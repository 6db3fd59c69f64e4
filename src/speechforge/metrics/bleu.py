"""Corpus BLEU for speech-translation outputs, computed by sacreBLEU (standard 13a tokenization, one reference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from speechforge.errors import SpeechforgeError


def bleu(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, Any]:
    """sacreBLEU's ``corpus_bleu`` of ``hyps`` against one reference each.

    Returns ``score`` (BLEU, 0–100), ``signature`` (sacreBLEU's, to quote next to the score), ``precisions`` (1- to
    4-gram, percent), ``bp`` (brevity penalty), ``sys_len``, ``ref_len`` (tokens) and ``utterances``.
    Raises :class:`SpeechforgeError` when the lengths differ or there is nothing to score.
    """
    from sacrebleu.metrics import BLEU

    if len(refs) != len(hyps):
        raise SpeechforgeError(f"{len(refs)} reference(s) but {len(hyps)} hypothesis(es): give one per reference")
    if not refs:
        raise SpeechforgeError("no utterances to score")
    metric = BLEU()
    result = metric.corpus_score(list(hyps), [list(refs)])
    return {
        "score": float(result.score),
        "signature": str(metric.get_signature()),
        "precisions": [float(p) for p in result.precisions],
        "bp": float(result.bp),
        "sys_len": int(result.sys_len),
        "ref_len": int(result.ref_len),
        "utterances": len(refs),
    }


__all__ = ["bleu"]
