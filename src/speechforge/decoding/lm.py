"""An ARPA n-gram builder with interpolated modified Kneser–Ney smoothing, in pure Python.

KenLM's ``lmplz`` cannot be installed from PyPI (it needs Boost and a C++ build), and no PyPI package writes
modified Kneser–Ney ARPA files that pass our tests, so speechforge has its own builder; it follows ``lmplz``:

* each line of text is a sentence of whitespace-separated tokens, padded as ``<s> w1 … wn </s>``. ``<s>`` is
  only a context: it has no probability of its own (``-99`` in the ARPA file) and is never predicted;
* adjusted counts (Kneser–Ney): n-grams of the highest order and n-grams that start with ``<s>`` keep their
  raw counts; every other lower-order n-gram counts the distinct words seen to its left;
* three discounts per order (Chen & Goodman): ``Y = t1 / (t1 + 2 t2)``, ``Dk = k - (k + 1) Y t(k+1) / tk``
  for k = 1, 2, 3+, where ``tk`` is the number of n-grams of that order whose adjusted count is k. A
  discount that cannot be estimated (a count-of-count is 0) or falls outside ``(0, k)`` takes ``lmplz
  --discount_fallback``'s value: 0.5, 1.0, 1.5;
* interpolation: ``p(w|h) = (a(hw) - D(a(hw))) / Σ a(h·) + γ(h) p(w|h')`` with
  ``γ(h) = (D1 N1(h·) + D2 N2(h·) + D3 N3+(h·)) / Σ a(h·)``; unigrams interpolate with the uniform
  distribution over the vocabulary (``</s>`` and ``<unk>`` included, ``<s>`` not), which is where ``<unk>``
  gets its small probability;
* the ARPA file stores log10 of the interpolated ``p(w|h)`` and log10 ``γ(h)`` as the backoff of ``h``, so the
  usual backoff recursion gives back exactly the interpolated distribution, which sums to 1 for each context.

Counting is done in memory with dicts of tuples: fine for transcripts of a few million words.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from speechforge.errors import SpeechforgeError

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
# lmplz --discount_fallback: the discounts used when they cannot be estimated from the counts.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
# log10 probability of <s>, as written by lmplz and SRILM.
LOG_ZERO = -99.0

Ngram = tuple[str, ...]


@dataclass
class NgramLM:
    """An n-gram model: for each order (index 0 = unigrams) the log10 probability and backoff of each n-gram."""

    order: int
    logprobs: list[dict[Ngram, float]]
    backoffs: list[dict[Ngram, float]]
    discounts: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def counts(self) -> list[int]:
        """The number of n-grams of each order (``<s>`` and ``<unk>`` included among the unigrams)."""
        return [len(p) for p in self.logprobs]

    @property
    def vocab(self) -> list[str]:
        return sorted(w for (w,) in self.logprobs[0])


def read_sentences(paths: Sequence[str | Path]) -> list[list[str]]:
    """The sentences of UTF-8 text files (one per line, whitespace tokens; blank lines are skipped)."""
    if not paths:
        raise SpeechforgeError("no text file given: pass one or more files with one sentence per line")
    sentences: list[list[str]] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise SpeechforgeError("text file not found", path=path)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SpeechforgeError("not valid UTF-8 text (convert it with iconv)", path=path, line=line) from None
        for number, line_text in enumerate(text.splitlines(), 1):
            words = line_text.split()
            for word in words:
                if word in (BOS, EOS):
                    raise SpeechforgeError(
                        f"the text contains {word}, which the builder adds itself: remove it", path=path, line=number
                    )
            if words:
                sentences.append(words)
    if not sentences:
        names = ", ".join(str(p) for p in paths)
        raise SpeechforgeError(f"empty corpus: no words in {names}")
    return sentences


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> list[Counter[Ngram]]:
    """Raw counts of the n-grams of orders 1..``order`` that end on a predicted token (not on ``<s>``)."""
    counts: list[Counter[Ngram]] = [Counter() for _ in range(order)]
    for words in sentences:
        tokens = (BOS, *words, EOS)
        for end in range(1, len(tokens)):
            for n in range(1, min(order, end + 1) + 1):
                counts[n - 1][tokens[end - n + 1 : end + 1]] += 1
    return counts


def adjusted_counts(raw: Sequence[Counter[Ngram]]) -> list[dict[Ngram, int]]:
    """Kneser–Ney counts: raw for the highest order and for n-grams starting with ``<s>``, else the number of
    distinct words seen before the n-gram."""
    order = len(raw)
    adjusted: list[dict[Ngram, int]] = [dict(c) for c in raw]
    for n in range(order - 1):  # index n holds (n+1)-grams; their left extensions are in raw[n + 1]
        left = Counter(g[1:] for g in raw[n + 1])
        adjusted[n] = {g: (c if g[0] == BOS else left[g]) for g, c in raw[n].items()}
    return adjusted


def estimate_discounts(adjusted: dict[Ngram, int]) -> tuple[float, float, float]:
    """Chen & Goodman's D1, D2, D3+ from the count-of-counts of one order (fallbacks where undefined)."""
    t = Counter(c for c in adjusted.values() if c <= 4)
    t1, t2 = t[1], t[2]
    if t1 == 0 and t2 == 0:
        return FALLBACK_DISCOUNTS
    y = t1 / (t1 + 2 * t2)
    discounts = []
    for k in (1, 2, 3):
        d = k - (k + 1) * y * t[k + 1] / t[k] if t[k] > 0 else math.nan
        discounts.append(d if 0.0 < d < k else FALLBACK_DISCOUNTS[k - 1])
    return discounts[0], discounts[1], discounts[2]


def build_lm(sentences: Sequence[Sequence[str]], order: int = 3) -> NgramLM:
    """An interpolated modified Kneser–Ney model of ``order`` (≥ 1) from tokenized sentences."""
    if order < 1:
        raise SpeechforgeError(f"--order must be at least 1, got {order}")
    if not any(sentences):
        raise SpeechforgeError("empty corpus: no words to build a language model from")
    raw = count_ngrams(sentences, order)
    adjusted = adjusted_counts(raw)
    vocab = {w for (w,) in raw[0]} | {UNK, EOS}  # every word that can be predicted
    probs: list[dict[Ngram, float]] = []
    gammas: list[dict[Ngram, float]] = []
    all_discounts = []
    for n in range(order):
        discounts = estimate_discounts(adjusted[n])
        all_discounts.append(discounts)
        totals: dict[Ngram, int] = defaultdict(int)
        mass: dict[Ngram, float] = defaultdict(float)  # D1 N1(h·) + D2 N2(h·) + D3 N3+(h·)
        for g, a in adjusted[n].items():
            totals[g[:-1]] += a
            mass[g[:-1]] += discounts[min(a, 3) - 1]
        gamma = {h: mass[h] / totals[h] for h in totals}
        level: dict[Ngram, float] = {}
        if n == 0:
            uniform = gamma[()] / len(vocab)
            for w in vocab:
                a = adjusted[0].get((w,), 0)
                level[(w,)] = (a - discounts[min(a, 3) - 1]) / totals[()] + uniform if a else uniform
        else:
            lower = probs[n - 1]
            for g, a in adjusted[n].items():
                level[g] = (a - discounts[min(a, 3) - 1]) / totals[g[:-1]] + gamma[g[:-1]] * lower[g[1:]]
        probs.append(level)
        gammas.append(gamma)
    logprobs = [{g: math.log10(p) for g, p in level.items()} for level in probs]
    logprobs[0][(BOS,)] = LOG_ZERO
    backoffs: list[dict[Ngram, float]] = [{} for _ in range(order)]
    for n in range(1, order):
        for context, weight in gammas[n].items():
            backoffs[n - 1][context] = math.log10(weight)
    return NgramLM(order, logprobs, backoffs, all_discounts)


def _fmt(x: float) -> str:
    return f"{x:.7f}".rstrip("0").rstrip(".") if x != LOG_ZERO else "-99"


def write_arpa(lm: NgramLM, path: str | Path) -> Path:
    """Write ``lm`` as an ARPA file (log10 values, n-grams sorted within each order)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["", "\\data\\"]
    lines += [f"ngram {n + 1}={count}" for n, count in enumerate(lm.counts)]
    for n in range(lm.order):
        lines += ["", f"\\{n + 1}-grams:"]
        backoffs = lm.backoffs[n]
        for g in sorted(lm.logprobs[n]):
            entry = f"{_fmt(lm.logprobs[n][g])}\t{' '.join(g)}"
            if g in backoffs:
                entry += f"\t{_fmt(backoffs[g])}"
            lines.append(entry)
    lines += ["", "\\end\\", ""]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def arpa_counts(path: str | Path) -> list[int]:
    """The n-gram counts of each order from the ``\\data\\`` header of an ARPA file."""
    counts: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("ngram ") and "=" in line:
                counts.append(int(line.split("=", 1)[1]))
            elif line.startswith("\\1-grams:"):
                break
    if not counts:
        raise SpeechforgeError("not an ARPA file: no \\data\\ header with ngram counts", path=path)
    return counts


def arpa_vocabulary(path: str | Path) -> list[str]:
    """The words of an ARPA file's ``\\1-grams:`` section in file order, without ``<s>``, ``</s>`` and ``<unk>``."""
    path = Path(path)
    if not path.is_file():
        raise SpeechforgeError("language model file not found", path=path)
    with open(path, "rb") as f:
        if f.read(8) == b"mmap lm ":
            raise SpeechforgeError("a KenLM binary has no readable word list: give the ARPA file", path=path)
    words: list[str] = []
    in_unigrams = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not in_unigrams:
                in_unigrams = line == "\\1-grams:"
                continue
            if not line or line.startswith("\\"):
                return words
            fields = line.split()
            if len(fields) < 2:
                raise SpeechforgeError(f"not an ARPA unigram line: {line!r}", path=path, line=number)
            if fields[1] not in (BOS, EOS, UNK):
                words.append(fields[1])
    if not in_unigrams:
        raise SpeechforgeError("not an ARPA file: no \\1-grams: section", path=path)
    return words


def build_arpa(text_files: Sequence[str | Path], out: str | Path, order: int = 3) -> NgramLM:
    """Read ``text_files``, build an interpolated modified Kneser–Ney model and write it to ``out`` (ARPA)."""
    if order < 1:
        raise SpeechforgeError(f"--order must be at least 1, got {order}")
    lm = build_lm(read_sentences(text_files), order)
    write_arpa(lm, out)
    return lm


__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "NgramLM",
    "adjusted_counts",
    "arpa_counts",
    "arpa_vocabulary",
    "build_arpa",
    "build_lm",
    "count_ngrams",
    "estimate_discounts",
    "read_sentences",
    "write_arpa",
]
