"""Tuning the LM weight × word score of beam search on a small constructed dev set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_ctc_decoding import CORPUS, ambiguous, batch, peaked

from speechforge.decoding.lm import build_arpa
from speechforge.decoding.tune import best_point, tune_lm
from speechforge.errors import SpeechforgeError
from speechforge.text.tokenizer import CharTokenizer

# "bat" is a word of the LM (so the lexicon decoder can output it) but rare after "the".
LM_CORPUS = [*CORPUS, "a bat ran"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[CharTokenizer, Path]:
    tok = CharTokenizer.fit(LM_CORPUS)
    corpus = tmp_path_factory.mktemp("tune") / "corpus.txt"
    corpus.write_text("\n".join(LM_CORPUS) + "\n")
    build_arpa([corpus], corpus.with_name("lm.arpa"), order=3)
    return tok, corpus.with_name("lm.arpa")


def test_tune_lm_finds_a_weight_that_fixes_greedy_errors(setup: tuple[CharTokenizer, Path]) -> None:
    tok, lm = setup
    refs = ["the cat sat", "the cat ran", "a dog sat", "the dog sat"]
    rows = [
        ambiguous(tok, "the cat sat", "c", "b")[0],  # acoustics say "bat" by a hair
        ambiguous(tok, "the cat ran", "c", "b")[0],
        peaked(tok.encode("a dog sat"), tok.vocab_size),
        peaked(tok.encode("the dog sat"), tok.vocab_size),
    ]
    lp, lengths = batch(rows)
    weights, scores = (0.0, 0.5, 1.0), (-1.0, 0.0, 1.0)
    result = tune_lm(
        torch.from_numpy(lp), lengths, refs, tok, lm, beam_size=8, lm_weights=weights, word_scores=scores,
        progress=False,
    )  # fmt: skip
    assert result["greedy_wer"] == pytest.approx(2 / 12)
    assert result["lm_weight"] > 0 and result["wer"] < result["greedy_wer"] and result["wer"] == 0.0
    assert len(result["grid"]) == len(weights) * len(scores)
    assert [(p["lm_weight"], p["word_score"]) for p in result["grid"]] == [(w, s) for w in weights for s in scores]
    assert all(p["wer"] == pytest.approx(2 / 12) for p in result["grid"] if p["lm_weight"] == 0.0)
    assert (result["lm_weight"], result["word_score"]) == (0.5, 0.0)  # the gentlest setting with the best WER
    assert result["lm"] == str(lm) and result["beam_size"] == 8


def test_best_point_ties_go_to_the_gentlest_setting() -> None:
    grid = [
        {"lm_weight": 1.0, "word_score": 0.0, "wer": 0.1},
        {"lm_weight": 0.5, "word_score": -1.0, "wer": 0.1},
        {"lm_weight": 0.5, "word_score": 1.0, "wer": 0.1},
        {"lm_weight": 2.0, "word_score": 0.0, "wer": 0.2},
    ]
    assert best_point(grid) == {"lm_weight": 0.5, "word_score": -1.0, "wer": 0.1}
    assert best_point(list(reversed(grid))) == {"lm_weight": 0.5, "word_score": -1.0, "wer": 0.1}


def test_tune_lm_errors(setup: tuple[CharTokenizer, Path]) -> None:
    tok, lm = setup
    lp = peaked(tok.encode("the cat sat"), tok.vocab_size)[None]
    with pytest.raises(SpeechforgeError, match="grid is empty"):
        tune_lm(lp, None, ["the cat sat"], tok, lm, lm_weights=(), progress=False)
    with pytest.raises(SpeechforgeError, match="2 reference"):
        tune_lm(lp, None, ["the cat sat", "a dog sat"], tok, lm, progress=False)
    with pytest.raises(SpeechforgeError, match="not found"):
        tune_lm(lp, None, ["the cat sat"], tok, Path("/nonexistent/lm.arpa"), progress=False)
