"""BLEU is sacreBLEU's corpus BLEU."""

from __future__ import annotations

import pytest
import sacrebleu

from speechforge.errors import SpeechforgeError
from speechforge.metrics.bleu import bleu

REFS = ["the cat is on the mat", "there is a cat on the mat", "it is raining today in the city"]
HYPS = ["the cat sat on the mat", "a cat is on the mat", "today it rains in the city"]


def test_equal_to_sacrebleu_directly() -> None:
    ours = bleu(REFS, HYPS)
    direct = sacrebleu.corpus_bleu(HYPS, [REFS])
    assert ours["score"] == pytest.approx(direct.score)
    assert ours["precisions"] == pytest.approx(direct.precisions)
    assert ours["bp"] == pytest.approx(direct.bp)
    assert ours["utterances"] == 3
    assert ours["signature"].startswith("nrefs:1|case:mixed|")
    assert 0 < ours["score"] < 100


def test_identical_text_scores_100() -> None:
    assert bleu(REFS, REFS)["score"] == pytest.approx(100.0)


def test_errors() -> None:
    with pytest.raises(SpeechforgeError, match="3 reference"):
        bleu(REFS, HYPS[:2])
    with pytest.raises(SpeechforgeError, match="no utterances"):
        bleu([], [])
