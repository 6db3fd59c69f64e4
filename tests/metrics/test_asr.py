"""WER / CER with substitution, deletion and insertion counts, checked by hand and against jiwer."""

from __future__ import annotations

import random

import jiwer
import pytest

from speechforge.errors import SpeechforgeError
from speechforge.metrics.asr import edit_counts, wer_details


def test_hand_computed_substitution_and_insertion() -> None:
    d = wer_details(["the cat sat"], ["the bat sat down"])
    assert (d["substitutions"], d["deletions"], d["insertions"]) == (1, 0, 1)
    assert d["ref_words"] == 3 and d["utterances"] == 1
    assert d["wer"] == pytest.approx(2 / 3)
    assert d["per_utterance"] == [{"errors": 2, "ref_words": 3, "substitutions": 1, "deletions": 0, "insertions": 1}]
    assert d["top_substitutions"] == [{"ref": "cat", "hyp": "bat", "count": 1}]


def test_deletions_and_corpus_wer_over_total_reference_words() -> None:
    d = wer_details(["a b c d", "e f"], ["a d", "e f"])
    assert (d["substitutions"], d["deletions"], d["insertions"]) == (0, 2, 0)
    assert d["wer"] == pytest.approx(2 / 6)  # not the mean of per-utterance rates (0.25)
    assert [u["errors"] for u in d["per_utterance"]] == [2, 0]


def test_cer_counts_characters_including_spaces() -> None:
    d = wer_details(["abc de"], ["abd de"])
    assert d["ref_chars"] == 6
    assert (d["char_substitutions"], d["char_deletions"], d["char_insertions"]) == (1, 0, 0)
    assert d["cer"] == pytest.approx(1 / 6)
    # extra whitespace is not a character error
    assert wer_details(["abc  de "], [" abc de"])["cer"] == 0.0


def test_empty_reference_counts_insertions() -> None:
    d = wer_details(["", "hello world"], ["uh um", "hello world"])
    assert d["insertions"] == 2 and d["ref_words"] == 2 and d["empty_references"] == 1
    assert d["wer"] == pytest.approx(1.0)
    assert d["per_utterance"][0] == {"errors": 2, "ref_words": 0, "substitutions": 0, "deletions": 0, "insertions": 2}


def test_all_references_empty_is_an_error() -> None:
    with pytest.raises(SpeechforgeError, match="all 2 reference"):
        wer_details(["", "  "], ["a", ""])


def test_length_mismatch_and_nothing_to_score() -> None:
    with pytest.raises(SpeechforgeError, match="2 reference"):
        wer_details(["a", "b"], ["a"])
    with pytest.raises(SpeechforgeError, match="no utterances"):
        wer_details([], [])


def test_top_substitutions_most_frequent_first() -> None:
    refs = ["a cat sat", "the cat ran", "one dog", "the dog"]
    hyps = ["a bat sat", "the bat ran", "one fog", "the hog"]
    d = wer_details(refs, hyps, top_k=2)
    assert d["top_substitutions"][0] == {"ref": "cat", "hyp": "bat", "count": 2}
    assert d["top_substitutions"][1] == {"ref": "dog", "hyp": "fog", "count": 1}  # ties by ref, then hyp
    assert len(d["top_substitutions"]) == 2


def test_edit_counts_on_token_lists() -> None:
    assert edit_counts(["x", "y"], []) == (0, 2, 0, [])
    assert edit_counts([], ["x"]) == (0, 0, 1, [])
    assert edit_counts(["x"], ["y"]) == (1, 0, 0, [(0, 0)])


def _random_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    vocab = ["a", "b", "c", "d", "e", "ab", "ba", "cd"]
    refs, hyps = [], []
    for _ in range(n):
        ref = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        hyp = list(ref)
        for _ in range(rng.randint(0, 5)):
            r = rng.random()
            if r < 0.35 and hyp:
                hyp[rng.randrange(len(hyp))] = rng.choice(vocab)
            elif r < 0.7 and hyp:
                del hyp[rng.randrange(len(hyp))]
            else:
                hyp.insert(rng.randint(0, len(hyp)), rng.choice(vocab))
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    return refs, hyps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_to_jiwer_on_random_pairs(seed: int) -> None:
    refs, hyps = _random_pairs(500, seed)
    ours = wer_details(refs, hyps)
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    assert ours["wer"] == pytest.approx(words.wer, abs=1e-12)
    assert (ours["substitutions"], ours["deletions"], ours["insertions"]) == (
        words.substitutions,
        words.deletions,
        words.insertions,
    )
    assert ours["cer"] == pytest.approx(chars.cer, abs=1e-12)
    assert (ours["char_substitutions"], ours["char_deletions"], ours["char_insertions"]) == (
        chars.substitutions,
        chars.deletions,
        chars.insertions,
    )
    for ref, hyp, utt in zip(refs[:50], hyps[:50], ours["per_utterance"], strict=False):
        one = jiwer.process_words(ref, hyp)
        assert (utt["substitutions"], utt["deletions"], utt["insertions"]) == (
            one.substitutions,
            one.deletions,
            one.insertions,
        )
