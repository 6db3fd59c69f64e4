"""Tokenizers: round trips on the synthetic ASR grammar, unknown characters, save / load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from speechforge.data.asr_corpora import sentence
from speechforge.errors import SpeechforgeError
from speechforge.text.tokenizer import (
    BLANK,
    CharTokenizer,
    SentencePieceTokenizer,
    build_tokenizer,
    load_tokenizer,
)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rng = np.random.default_rng(0)
    return [sentence(rng) for _ in range(400)]


@pytest.fixture(scope="module")
def held_out() -> list[str]:
    rng = np.random.default_rng(1)
    return [sentence(rng) for _ in range(50)]


def test_char_vocabulary_layout(texts: list[str]) -> None:
    tok = CharTokenizer.fit(texts)
    assert tok.tokens[:2] == [BLANK, "|"] and tok.blank_id == 0 and tok.silence_id == 1
    assert tok.tokens[2:] == sorted(tok.tokens[2:])
    assert "'" in tok.tokens  # o'clock
    assert tok.vocab_size == len(tok.tokens)


def test_char_round_trip(texts: list[str], held_out: list[str]) -> None:
    tok = CharTokenizer.fit(texts)
    for text in held_out:
        ids = tok.encode(text)
        assert tok.blank_id not in ids
        assert tok.decode(ids) == text
    assert tok.encode("a  b ") == tok.encode("a b")
    assert tok.decode([0, *tok.encode("on"), 0]) == "on"


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_sentencepiece_round_trip(kind: str, texts: list[str], held_out: list[str], tmp_path: Path) -> None:
    tok = build_tokenizer(kind, texts, tmp_path, vocab_size=120)
    assert isinstance(tok, SentencePieceTokenizer)
    assert (tmp_path / "tokenizer.model").is_file()
    assert tok.tokens[0] == BLANK and tok.blank_id == 0
    assert tok.vocab_size <= 120
    for text in held_out:
        ids = tok.encode(text)
        assert 0 not in ids
        assert tok.decode(ids) == text
    assert tok.spell("the")[0].startswith("\u2581")


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_unknown_character_is_named(kind: str, texts: list[str], tmp_path: Path) -> None:
    tok = build_tokenizer(kind, texts, tmp_path, vocab_size=120)
    with pytest.raises(SpeechforgeError, match="outside the tokenizer") as info:
        tok.encode("maria went to zürich")
    assert "'ü'" in str(info.value)
    assert "'z'" not in str(info.value)


def test_char_rejects_separator_and_bad_ids(texts: list[str]) -> None:
    tok = CharTokenizer.fit(texts)
    with pytest.raises(SpeechforgeError, match=r"'\|'"):
        tok.encode("a|b")
    with pytest.raises(SpeechforgeError, match="word separator"):
        CharTokenizer.fit(["a|b"])
    with pytest.raises(SpeechforgeError, match="outside the vocabulary"):
        tok.decode([tok.vocab_size])
    with pytest.raises(SpeechforgeError, match="no non-empty"):
        CharTokenizer.fit(["", "  "])


@pytest.mark.parametrize("kind", ["char", "bpe", "unigram"])
def test_save_load_identity(kind: str, texts: list[str], held_out: list[str], tmp_path: Path) -> None:
    tok = build_tokenizer(kind, texts, tmp_path / "run", vocab_size=100)
    again = load_tokenizer(tmp_path / "run")
    assert type(again) is type(tok)
    assert again.tokens == tok.tokens
    for text in held_out[:10]:
        assert again.encode(text) == tok.encode(text)
    copy = tok.save(tmp_path / "copy" / ("tok.json" if kind == "char" else "tok.model"))
    assert load_tokenizer(copy).tokens == tok.tokens


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(SpeechforgeError, match="unknown tokenizer"):
        build_tokenizer("word", ["a"], tmp_path)
    with pytest.raises(SpeechforgeError, match="not found"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SpeechforgeError, match="not a tokenizer"):
        load_tokenizer(tmp_path / "bad.json")
    with pytest.raises(SpeechforgeError, match=r"no tokenizer\.json"):
        load_tokenizer(tmp_path)
