"""``speechforge lm build``: the interpolated modified Kneser–Ney ARPA builder, checked against KenLM."""

from __future__ import annotations

import math
import os
import stat
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from speechforge.decoding.lm import (
    BOS,
    EOS,
    UNK,
    build_arpa,
    build_lm,
    estimate_discounts,
    read_sentences,
    write_arpa,
)
from speechforge.errors import SpeechforgeError

CORPUS = """\
one two three
turn on the light
turn off the light
go left
go right
stop
yes
no
up down left right
one one two
three four five
six seven eight nine zero
turn the light on
turn the light off
go up
go down
stop stop
five four three two one
yes go
no stop
"""

# KenLM prints these when it reads an ARPA file (not a binary one): information, not complaints about the file.
KENLM_INFO = ("Loading the LM will be faster if you build a binary file.", "Reading ", "----5---10", "****")


def read_arpa(path: Path) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float], int]:
    """A minimal ARPA reader: log10 probabilities, log10 backoffs and the order."""
    probs: dict[tuple[str, ...], float] = {}
    backoffs: dict[tuple[str, ...], float] = {}
    order = 0
    section = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            section = int(line[1:].split("-")[0])
            order = max(order, section)
        elif line.startswith("\\") or not line.strip() or line.startswith("ngram ") or section == 0:
            continue
        else:
            fields = line.split("\t")
            gram = tuple(fields[1].split())
            assert len(gram) == section, line
            probs[gram] = float(fields[0])
            if len(fields) > 2:
                backoffs[gram] = float(fields[2])
    return probs, backoffs, order


def arpa_logp(probs: dict, backoffs: dict, word: str, context: tuple[str, ...]) -> float:
    """log10 P(word | context) by the ARPA backoff recursion (unknown words are <unk>)."""
    if (word,) not in probs:
        word = UNK
    if (*context, word) in probs:
        return probs[(*context, word)]
    if not context:
        raise AssertionError(f"{word} has no unigram")
    return backoffs.get(context, 0.0) + arpa_logp(probs, backoffs, word, context[1:])


def sentence_logp(probs: dict, backoffs: dict, order: int, sentence: str) -> tuple[float, int]:
    tokens = [BOS, *sentence.split(), EOS]
    total = 0.0
    for i in range(1, len(tokens)):
        total += arpa_logp(probs, backoffs, tokens[i], tuple(tokens[max(0, i - order + 1) : i]))
    return total, len(tokens) - 1


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_each_context_sums_to_one(corpus: Path, tmp_path: Path, order: int) -> None:
    out = build_arpa([corpus], tmp_path / f"lm{order}.arpa", order)
    probs, backoffs, read_order = read_arpa(tmp_path / f"lm{order}.arpa")
    assert read_order == order and out.counts == [len([g for g in probs if len(g) == n]) for n in range(1, order + 1)]
    assert probs[(BOS,)] == -99 and (UNK,) in probs and (EOS,) in probs
    assert -99 < probs[(UNK,)] < probs[("one",)]  # <unk>: a small mass, less than any seen word
    vocab = [w for (w,) in (g for g in probs if len(g) == 1) if w != BOS]
    contexts = [()] + [g for g in probs if len(g) < order and g[-1] != EOS]
    assert len(contexts) > 1 or order == 1
    for h in contexts:
        total = sum(10 ** arpa_logp(probs, backoffs, w, h) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-4), h


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_kenlm_loads_without_warnings_and_agrees(
    corpus: Path, tmp_path: Path, order: int, capfd: pytest.CaptureFixture[str]
) -> None:
    kenlm = pytest.importorskip("kenlm", reason="pip install kenlm (builds from source, ~45 s) to run this check")
    path = tmp_path / "lm.arpa"
    build_arpa([corpus], path, order)
    capfd.readouterr()
    if order == 1:  # KenLM's query code (not our file) needs at least a bigram model; lmplz -o 1 has the same fate
        with pytest.raises(OSError, match="at least a bigram"):
            kenlm.Model(str(path))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = kenlm.Model(str(path))  # default Config: arpa_complain = ALL
    out, err = capfd.readouterr()
    complaints = [line for line in (out + err).splitlines() if line.strip() and not line.startswith(KENLM_INFO)]
    assert complaints == []
    assert model.order == order
    probs, backoffs, _ = read_arpa(path)
    vocab = [g[0] for g in probs if len(g) == 1 and g[0] != BOS]
    contexts = [()] + [g for g in probs if len(g) < order and g[-1] != EOS]
    for h in contexts:
        state, nxt = kenlm.State(), kenlm.State()
        if h and h[0] == BOS:
            model.BeginSentenceWrite(state)
            h = h[1:]
        else:
            model.NullContextWrite(state)
        for w in h:
            model.BaseScore(state, w, nxt)
            state, nxt = nxt, state
        total = sum(10 ** model.BaseScore(state, w, nxt) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-4), h
    for sentence in ["turn on the light", "go left stop", "seven unknownword light"]:
        ours, _ = sentence_logp(probs, backoffs, order, sentence)
        assert model.score(sentence, bos=True, eos=True) == pytest.approx(ours, abs=1e-4)


def test_perplexity_matches_hand_computed_kneser_ney(tmp_path: Path) -> None:
    train = tmp_path / "toy.txt"
    train.write_text("a b\nb\n", encoding="utf-8")  # <s> a b </s>, <s> b </s>
    path = tmp_path / "toy.arpa"
    lm = build_arpa([train], path, order=2)

    # Bigrams (highest order: adjusted = raw counts): <s> a:1, <s> b:1, a b:1, b </s>:2.
    # Count-of-counts t1=3, t2=1, t3=0 → Y = 3/(3+2) = 0.6, D1 = 1 - 2·0.6·1/3 = 0.6,
    # D2 = 2 - 3·0.6·0/1 = 2 (not < 2: fallback 1.0), D3+ (t3 = 0): fallback 1.5.
    # Unigrams (continuation counts, distinct left words): a:1 {<s>}, b:2 {<s>, a}, </s>:1 {b}; total 4.
    # Count-of-counts t1=2, t2=1, t3=0 → Y = 2/(2+2) = 0.5, D1 = 1 - 2·0.5·1/2 = 0.5, D2 = 2 → fallback 1.0.
    assert lm.discounts[1][:2] == pytest.approx((0.6, 1.0)) and lm.discounts[0][:2] == pytest.approx((0.5, 1.0))
    # γ() = (0.5·2 + 1.0·1)/4 = 0.5, uniform over V = {a, b, </s>, <unk>}: 0.5/4 = 0.125.
    p_a = (1 - 0.5) / 4 + 0.125  # 0.25
    p_b = (2 - 1.0) / 4 + 0.125  # 0.375
    p_eos = (1 - 0.5) / 4 + 0.125  # 0.25
    p_unk = 0.125
    assert p_a + p_b + p_eos + p_unk == pytest.approx(1.0)
    # Bigram contexts: γ(<s>) = 0.6·2/2 = 0.6, γ(a) = 0.6·1/1 = 0.6, γ(b) = 1.0·1/2 = 0.5.
    p_a_bos = (1 - 0.6) / 2 + 0.6 * p_a  # 0.35
    p_b_bos = (1 - 0.6) / 2 + 0.6 * p_b  # 0.425
    p_b_a = (1 - 0.6) / 1 + 0.6 * p_b  # 0.625
    p_eos_b = (2 - 1.0) / 2 + 0.5 * p_eos  # 0.625
    p_a_b = 0.5 * p_a  # unseen after b: backoff, 0.125
    p_eos_a = 0.6 * p_eos  # 0.15
    p_unk_a = 0.6 * p_unk  # 0.075
    p_eos_unk = p_eos  # <unk> is not a context: backoff weight 1
    # Test sentences "a b", "b a", "a c" (c is out of vocabulary): 9 predicted tokens with </s>.
    logp = sum(math.log10(p) for p in [p_a_bos, p_b_a, p_eos_b, p_b_bos, p_a_b, p_eos_a, p_a_bos, p_unk_a, p_eos_unk])
    expected_ppl = 10 ** (-logp / 9)
    assert expected_ppl == pytest.approx(3.7303, abs=1e-4)

    probs, backoffs, order = read_arpa(path)
    test = ["a b", "b a", "a c"]
    ours = sum(sentence_logp(probs, backoffs, order, s)[0] for s in test)
    assert 10 ** (-ours / 9) == pytest.approx(expected_ppl, rel=1e-5)
    try:
        import kenlm
    except ImportError:
        return
    model = kenlm.Model(str(path))
    theirs = sum(model.score(s, bos=True, eos=True) for s in test)
    assert 10 ** (-theirs / 9) == pytest.approx(expected_ppl, rel=1e-5)


def test_discounts_from_count_of_counts() -> None:
    counts = {(str(i),): c for i, c in enumerate([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9])}
    # Y = 10/(10+10) = 0.5; D1 = 1 - 2·0.5·5/10; D2 = 2 - 3·0.5·3/5; D3+ = 3 - 4·0.5·2/3.
    assert estimate_discounts(counts) == pytest.approx((0.5, 1.1, 3 - 4 / 3))
    assert estimate_discounts({("a",): 7}) == (0.5, 1.0, 1.5)


def test_unk_in_text_and_write_roundtrip(tmp_path: Path) -> None:
    lm = build_lm([["x", UNK, "y"], ["x"]], order=3)
    probs, _, _ = read_arpa(write_arpa(lm, tmp_path / "lm.arpa"))
    assert probs[(UNK,)] == pytest.approx(lm.logprobs[0][(UNK,)], abs=1e-6) and (BOS, "x", UNK) in probs


def test_read_sentences_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe broken\n")
    with pytest.raises(SpeechforgeError, match=r"bad\.txt:2: not valid UTF-8"):
        read_sentences([bad])
    tagged = tmp_path / "tagged.txt"
    tagged.write_text("hello\n<s> hi </s>\n", encoding="utf-8")
    with pytest.raises(SpeechforgeError, match=r"tagged\.txt:2: .*<s>"):
        read_sentences([tagged])
    with pytest.raises(SpeechforgeError, match="at least 1"):
        build_lm([["a"]], order=0)


def test_cli_build(run_cli: Callable, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("turn on the light\ngo left\n", encoding="utf-8")
    b.write_text("turn off the light\nstop\n", encoding="utf-8")
    out = tmp_path / "lm" / "lm.arpa"
    result = run_cli("lm", "build", a, b, "--order", "3", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert out.is_file() and out.read_text(encoding="utf-8").startswith("\n\\data\\\nngram 1=11\n")
    assert "n-grams" in result.stderr and result.stdout == ""
    result = run_cli("lm", "build", a, "--order", "2", "--out", out, "--json")
    assert result.exit_code == 0 and result.json()["ngrams"][0] == 9


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_cli_errors(run_cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.txt"
    good.write_text("hello world\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    out = tmp_path / "lm.arpa"
    result = run_cli("lm", "build", tmp_path / "missing.txt", "--out", out)
    assert result.exit_code == 2 and "missing.txt: text file not found" in _one_error_line(result.stderr)
    result = run_cli("lm", "build", empty, "--out", out)
    assert result.exit_code == 2 and "empty corpus" in _one_error_line(result.stderr)
    result = run_cli("lm", "build", good, "--order", "0", "--out", out)
    assert result.exit_code == 2 and "--order must be at least 1" in _one_error_line(result.stderr)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    result = run_cli("lm", "build", good, "--backend", "kenlm", "--out", out)
    assert result.exit_code == 2 and "lmplz" in _one_error_line(result.stderr) and "kpu/kenlm" in result.stderr
    assert not out.exists()


def test_cli_kenlm_backend_runs_lmplz(run_cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``lmplz`` on PATH: checks the arguments speechforge passes and writes an ARPA file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "lmplz"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from speechforge.decoding.lm import build_arpa\n"
        "args = sys.argv[1:]\n"
        "assert '--discount_fallback' in args\n"
        "value = lambda flag: args[args.index(flag) + 1]\n"
        "build_arpa([value('--text')], value('--arpa'), int(value('-o')))\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one two", encoding="utf-8")  # no final newline: the files must still be separate sentences
    b.write_text("three\n", encoding="utf-8")
    out = tmp_path / "k.arpa"
    result = run_cli("lm", "build", a, b, "--order", "2", "--backend", "kenlm", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["ngrams"] == [6, 5]  # <s> </s> <unk> one two three; <s> one, one two, two </s>, ...
