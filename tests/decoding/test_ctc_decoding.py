"""CTC decoding on hand-built log-probabilities: greedy, beam search without and with an n-gram LM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from speechforge.data.asr_corpora import sentence
from speechforge.decoding.ctc import (
    BeamSearchDecoder,
    GreedyDecoder,
    build_decoder,
    build_lexicon,
    collapse,
    greedy_decode,
    lm_lexicon,
)
from speechforge.decoding.lm import arpa_vocabulary, build_arpa
from speechforge.errors import SpeechforgeError
from speechforge.text.tokenizer import CharTokenizer, Tokenizer, build_tokenizer

CORPUS = ["the cat sat", "the dog sat", "a cat ran", "the cat ran", "a dog sat", "the cat sat on the mat"]


def peaked(ids: list[int], vocab: int, peak: float = 0.9, repeat: int = 2) -> np.ndarray:
    """Log-probabilities (time, vocab) whose argmax path is ``ids`` with each token repeated, blanks between
    equal neighbours and at both ends."""
    path = [0]
    for i, token in enumerate(ids):
        if i and ids[i - 1] == token:
            path.append(0)
        path += [token] * repeat
    path.append(0)
    lp = np.full((len(path), vocab), np.log((1 - peak) / (vocab - 1)), dtype=np.float32)
    lp[np.arange(len(path)), path] = np.log(peak)
    return lp


def batch(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad to one (batch, time, vocab) array (padding frames favour a letter, to catch ignored lengths)."""
    time = max(r.shape[0] for r in rows)
    out = np.full((len(rows), time, rows[0].shape[1]), -10.0, dtype=np.float32)
    out[:, :, 2] = 0.0
    for b, r in enumerate(rows):
        out[b, : r.shape[0]] = r
    return out, np.array([r.shape[0] for r in rows])


@pytest.fixture(scope="module")
def grammar() -> list[str]:
    rng = np.random.default_rng(0)
    return [sentence(rng) for _ in range(200)]


@pytest.fixture(scope="module")
def char_tok() -> CharTokenizer:
    return CharTokenizer.fit([*CORPUS, "the bat sat"])


def test_collapse() -> None:
    assert collapse([0, 3, 3, 0, 3, 4, 4, 0, -1]) == [3, 3, 4]


def test_greedy_recovers_text_with_repeats_and_lengths(grammar: list[str]) -> None:
    tok = CharTokenizer.fit(grammar)
    texts = grammar[:8]
    lp, lengths = batch([peaked(tok.encode(t), tok.vocab_size) for t in texts])
    assert greedy_decode(lp, lengths, tok) == texts
    assert greedy_decode(torch.from_numpy(lp), torch.from_numpy(lengths), tok) == texts


def test_greedy_doubled_letters_need_a_blank(char_tok: CharTokenizer) -> None:
    t_id = char_tok.encode("t")[0]
    vocab = char_tok.vocab_size
    lp = np.full((1, 4, vocab), -10.0, dtype=np.float32)
    for t, i in enumerate([t_id, t_id, 0, t_id]):
        lp[0, t, i] = 0.0
    assert greedy_decode(lp, None, char_tok) == ["tt"]
    assert greedy_decode(lp, [2], char_tok) == ["t"]


def test_bad_shapes(char_tok: CharTokenizer) -> None:
    with pytest.raises(SpeechforgeError, match="classes but the tokenizer"):
        greedy_decode(np.zeros((1, 3, 5)), None, char_tok)
    with pytest.raises(SpeechforgeError, match="shape"):
        greedy_decode(np.zeros((3, 5)), None, char_tok)
    with pytest.raises(SpeechforgeError, match="lengths"):
        greedy_decode(np.zeros((1, 3, char_tok.vocab_size)), [4], char_tok)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_beam_without_lm_equals_greedy(kind: str, grammar: list[str], tmp_path: Path) -> None:
    tok: Tokenizer = build_tokenizer(kind, grammar, tmp_path, vocab_size=100)
    texts = grammar[:6]
    lp, lengths = batch([peaked(tok.encode(t), tok.vocab_size) for t in texts])
    greedy = greedy_decode(lp, lengths, tok)
    assert greedy == texts
    assert BeamSearchDecoder(tok, beam_size=8).decode(lp, lengths) == greedy
    if kind == "char":  # lexicon decoding needs the "|" word boundary: see the ctc module's docstring
        lexicon = build_lexicon(grammar, tok)
        assert BeamSearchDecoder(tok, beam_size=8, lexicon=lexicon).decode(torch.from_numpy(lp), lengths) == greedy


def ambiguous(tok: CharTokenizer, text: str, truth: str, rival: str) -> np.ndarray:
    """``text``'s peaked log-probs where the frames of letter ``truth`` tie with ``rival`` (rival a hair ahead)."""
    lp = peaked(tok.encode(text), tok.vocab_size)
    a, b = tok.encode(truth)[0], tok.encode(rival)[0]
    frames = lp.argmax(axis=1) == a
    lp[frames, a] = np.log(0.45)
    lp[frames, b] = np.log(0.45) + 1e-3
    return lp[None]


def test_lm_fixes_an_ambiguous_frame(char_tok: CharTokenizer, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    arpa = build_arpa([corpus], tmp_path / "lm.arpa", order=3)
    assert "bat" not in arpa.vocab
    lexicon = build_lexicon([*CORPUS, "the bat sat"], char_tok)
    assert lexicon["cat"] == [["c", "a", "t", "|"]]
    lp = ambiguous(char_tok, "the cat sat", "c", "b")

    assert greedy_decode(lp, None, char_tok) == ["the bat sat"]  # acoustics alone pick the rival
    assert BeamSearchDecoder(char_tok, lexicon=lexicon).decode(lp) == ["the bat sat"]
    with_lm = BeamSearchDecoder(char_tok, lexicon=lexicon, lm_path=tmp_path / "lm.arpa", lm_weight=1.0)
    assert with_lm.decode(lp) == ["the cat sat"]
    # a clear acoustic signal still wins over the LM at a moderate weight
    clear = peaked(char_tok.encode("the bat sat"), char_tok.vocab_size)[None]
    weak_lm = BeamSearchDecoder(char_tok, lexicon=lexicon, lm_path=tmp_path / "lm.arpa", lm_weight=0.2)
    assert weak_lm.decode(clear) == ["the bat sat"]


def test_lexicon_restricts_output(char_tok: CharTokenizer) -> None:
    lexicon = build_lexicon(["the", "cat", "sat"], char_tok)
    lp = peaked(char_tok.encode("the cat sat"), char_tok.vocab_size)[None]
    assert BeamSearchDecoder(char_tok, lexicon=lexicon).decode(lp) == ["the cat sat"]
    with pytest.raises(SpeechforgeError, match="tokens the tokenizer does not have"):
        BeamSearchDecoder(char_tok, lexicon={"zz": [["z", "z", "|"]]})
    with pytest.raises(SpeechforgeError, match="not found"):
        BeamSearchDecoder(char_tok, lm_path="/nonexistent/lm.arpa")


# An LM over words where "bat" is known but rare: "the cat sat" is far more likely than "the bat sat".
# "zebra" has a letter the tokenizer lacks.
LM_CORPUS = [*CORPUS, "a bat ran", "the zebra ran"]


@pytest.fixture(scope="module")
def word_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("lm") / "corpus.txt"
    corpus.write_text("\n".join(LM_CORPUS) + "\n")
    build_arpa([corpus], corpus.with_name("lm.arpa"), order=3)
    return corpus.with_name("lm.arpa")


def test_arpa_vocabulary(word_lm: Path, tmp_path: Path) -> None:
    words = arpa_vocabulary(word_lm)
    assert words == sorted({w for line in LM_CORPUS for w in line.split()})  # write_arpa sorts the unigrams
    with pytest.raises(SpeechforgeError, match=r"missing\.arpa: language model file not found"):
        arpa_vocabulary(tmp_path / "missing.arpa")
    text = tmp_path / "text.arpa"
    text.write_text("\\data\\\nngram 1=3\n")
    with pytest.raises(SpeechforgeError, match=r"text\.arpa: not an ARPA file: no \\1-grams: section"):
        arpa_vocabulary(text)
    broken = tmp_path / "broken.arpa"
    broken.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\tthe\n-0.5\n\n\\end\\\n")
    with pytest.raises(SpeechforgeError, match=r"broken\.arpa:6: not an ARPA unigram line"):
        arpa_vocabulary(broken)
    binary = tmp_path / "lm.bin"
    binary.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0\0")
    with pytest.raises(SpeechforgeError, match="KenLM binary"):
        arpa_vocabulary(binary)


def test_lm_lexicon_skips_words_the_tokenizer_cannot_spell(word_lm: Path, char_tok: CharTokenizer) -> None:
    lexicon, skipped = lm_lexicon(word_lm, char_tok)
    assert skipped == ["zebra"]
    assert lexicon["cat"] == [["c", "a", "t", "|"]] and set(lexicon) == set(arpa_vocabulary(word_lm)) - {"zebra"}


def test_build_decoder_choices_and_errors(word_lm: Path, char_tok: CharTokenizer) -> None:
    lp = peaked(char_tok.encode("the cat sat"), char_tok.vocab_size)[None]
    greedy = build_decoder(char_tok)
    assert isinstance(greedy, GreedyDecoder) and greedy.decode(lp) == ["the cat sat"]
    free = build_decoder(char_tok, "beam", beam_size=4)
    assert isinstance(free, BeamSearchDecoder) and free.lexicon is None and free.decode(lp) == ["the cat sat"]
    with_lm = build_decoder(char_tok, "beam", lm=word_lm)
    assert isinstance(with_lm, BeamSearchDecoder) and with_lm.lexicon is not None
    assert with_lm.skipped_words == ["zebra"] and with_lm.decode(lp) == ["the cat sat"]
    with pytest.raises(SpeechforgeError, match="unknown decoder 'viterbi'; choose one of: greedy, beam"):
        build_decoder(char_tok, "viterbi")
    with pytest.raises(SpeechforgeError, match="an LM needs --decoder beam"):
        build_decoder(char_tok, "greedy", lm=word_lm)
    with pytest.raises(SpeechforgeError, match="not found"):
        build_decoder(char_tok, "beam", lm="/nonexistent/lm.arpa")
    n_words = len(arpa_vocabulary(word_lm))
    with pytest.raises(SpeechforgeError, match=f"cannot spell any of the language model's {n_words} words"):
        build_decoder(CharTokenizer(["<blank>", "|", "x"]), "beam", lm=word_lm)


def test_build_decoder_lm_fixes_an_ambiguous_word(word_lm: Path, char_tok: CharTokenizer) -> None:
    lp = ambiguous(char_tok, "the cat sat", "c", "b")
    assert build_decoder(char_tok).decode(lp) == ["the bat sat"]
    # "bat" is in the LM's lexicon: without LM weight the acoustics pick it, with weight the LM fixes it
    assert build_decoder(char_tok, "beam", lm=word_lm, lm_weight=0.0).decode(lp) == ["the bat sat"]
    assert build_decoder(char_tok, "beam", lm=word_lm, lm_weight=1.0).decode(lp) == ["the cat sat"]


def test_sentencepiece_word_lm_is_refused(grammar: list[str], tmp_path: Path) -> None:
    """Why: flashlight's lexicon decoder cannot read a SentencePiece word whose last piece lasts 2+ frames."""
    tok: Tokenizer = build_tokenizer("bpe", grammar, tmp_path, vocab_size=100)
    lexicon = build_lexicon(grammar, tok)
    texts = grammar[:10]
    decoder = BeamSearchDecoder(tok, beam_size=8, lexicon=lexicon)
    one_frame, lengths = batch([peaked(tok.encode(t), tok.vocab_size, repeat=1) for t in texts])
    assert decoder.decode(one_frame, lengths) == texts
    two_frames, lengths = batch([peaked(tok.encode(t), tok.vocab_size, repeat=2) for t in texts])
    assert greedy_decode(two_frames, lengths, tok) == texts
    assert decoder.decode(two_frames, lengths) != texts  # words split wrongly

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(grammar) + "\n")
    arpa = tmp_path / "lm.arpa"
    build_arpa([corpus], arpa, order=2)
    with pytest.raises(SpeechforgeError, match=r"needs `text\.tokenizer: char`"):
        build_decoder(tok, "beam", lm=arpa)
    assert build_decoder(tok, "beam").decode(two_frames, lengths) == texts  # lexicon-free is fine
