"""Speech-recognition metrics: word and character error rates with substitution / deletion / insertion counts.

Alignment choice: the Levenshtein edit operations come from ``rapidfuzz.distance.Levenshtein.editops`` called
directly on the token lists (words) or on the strings (characters). ``jiwer.process_words`` (jiwer 4) calls
the same rapidfuzz routine (``opcodes``, derived from the same edit script), so the S/D/I counts are
identical by construction (tests and ``benchmarks/wer.py`` check it on random pairs); skipping jiwer's
transform pipeline and its alignment objects makes ours several times faster on 100k pairs and gives us the
substitution pairs and per-utterance counts in the same pass.

Text is compared as given: words are split on whitespace, characters are those of the whitespace-collapsed
text (spaces between words count as characters, as in jiwer's ``cer``). Normalize first with
:class:`speechforge.text.TextNormalizer`, the same way for references and hypotheses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein

from speechforge.errors import SpeechforgeError


def edit_counts(ref: Sequence[str], hyp: Sequence[str]) -> tuple[int, int, int, list[tuple[int, int]]]:
    """Minimum-edit alignment of two token sequences (or two strings).

    Returns ``(substitutions, deletions, insertions, substituted)`` where ``substituted`` holds the
    ``(ref_index, hyp_index)`` of each substitution. An empty ``ref`` gives ``len(hyp)`` insertions.
    """
    subs = dels = ins = 0
    substituted: list[tuple[int, int]] = []
    for tag, i, j in Levenshtein.editops(ref, hyp).as_list():
        if tag == "replace":
            subs += 1
            substituted.append((int(i), int(j)))
        elif tag == "delete":
            dels += 1
        else:  # "insert"
            ins += 1
    return subs, dels, ins, substituted


def _char_counts(ref: str, hyp: str) -> tuple[int, int, int]:
    subs = dels = ins = 0
    for tag, _, _ in Levenshtein.editops(ref, hyp).as_list():
        if tag == "replace":
            subs += 1
        elif tag == "delete":
            dels += 1
        else:
            ins += 1
    return subs, dels, ins


def wer_details(refs: Sequence[str], hyps: Sequence[str], *, top_k: int = 10) -> dict[str, Any]:
    """Corpus WER and CER of ``hyps`` against ``refs`` (the JSON contract of ``speechforge score``).

    Args:
        refs: reference transcripts, one per utterance.
        hyps: hypotheses, same order and length as ``refs``.
        top_k: how many of the most frequent substitution pairs to return.

    Returns ``wer`` ((S + D + I) / reference words, over the whole corpus), ``cer`` (the same over
    characters), ``substitutions``, ``deletions``, ``insertions`` (word level), ``ref_words``, ``ref_chars``,
    ``utterances``, ``empty_references`` (utterances whose reference has no words: every hypothesis word is
    an insertion), ``char_substitutions``, ``char_deletions``, ``char_insertions``, ``per_utterance`` (one
    ``{errors, ref_words, substitutions, deletions, insertions}`` per utterance, in order) and
    ``top_substitutions`` (``{ref, hyp, count}``, most frequent first; ties by ref then hyp word).

    Raises :class:`SpeechforgeError` when the lengths differ, when there are no utterances, or when every
    reference is empty (the WER would divide by zero).
    """
    if len(refs) != len(hyps):
        raise SpeechforgeError(f"{len(refs)} reference(s) but {len(hyps)} hypothesis(es): give one per reference")
    if not refs:
        raise SpeechforgeError("no utterances to score")
    total_s = total_d = total_i = ref_words = 0
    char_s = char_d = char_i = ref_chars = 0
    empty_refs = 0
    pairs: Counter[tuple[str, str]] = Counter()
    per_utterance: list[dict[str, int]] = []
    for ref_text, hyp_text in zip(refs, hyps, strict=True):
        ref, hyp = ref_text.split(), hyp_text.split()
        s, d, i, substituted = edit_counts(ref, hyp)
        for ri, hi in substituted:
            pairs[(ref[ri], hyp[hi])] += 1
        total_s, total_d, total_i, ref_words = total_s + s, total_d + d, total_i + i, ref_words + len(ref)
        empty_refs += not ref
        per_utterance.append(
            {"errors": s + d + i, "ref_words": len(ref), "substitutions": s, "deletions": d, "insertions": i}
        )
        ref_c, hyp_c = " ".join(ref), " ".join(hyp)
        cs, cd, ci = _char_counts(ref_c, hyp_c)
        char_s, char_d, char_i, ref_chars = char_s + cs, char_d + cd, char_i + ci, ref_chars + len(ref_c)
    if ref_words == 0:
        raise SpeechforgeError(
            f"all {len(refs)} reference(s) are empty: WER is undefined (check the reference file and normalization)"
        )
    top = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[: max(0, top_k)]
    return {
        "wer": (total_s + total_d + total_i) / ref_words,
        "cer": (char_s + char_d + char_i) / ref_chars,
        "substitutions": total_s,
        "deletions": total_d,
        "insertions": total_i,
        "ref_words": ref_words,
        "ref_chars": ref_chars,
        "utterances": len(refs),
        "empty_references": empty_refs,
        "char_substitutions": char_s,
        "char_deletions": char_d,
        "char_insertions": char_i,
        "per_utterance": per_utterance,
        "top_substitutions": [{"ref": r, "hyp": h, "count": n} for (r, h), n in top],
    }


__all__ = ["edit_counts", "wer_details"]
