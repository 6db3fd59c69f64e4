"""WER / CER speed: speechforge's ``wer_details`` against ``jiwer`` alone, measured in the same run.

    python benchmarks/wer.py [--pairs 100000] [--repeats 3] [--seed 0]

``--pairs`` synthetic utterance pairs: references are random word sequences (3–20 words from a 2,000-word
vocabulary), hypotheses the same with 0–4 random substitutions, deletions and insertions. Timed (best of
``--repeats``, after the data is built):

* ``speechforge wer_details``: word AND character alignments, S/D/I counts, per-utterance counts and the
  substitution pairs, in one call;
* ``jiwer process_words`` and ``jiwer process_characters`` (the same quantities from jiwer: word and
  character S/D/I), and the two together.

The script checks that both give the same WER, CER and S/D/I counts and prints a markdown table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import random
import time
from collections.abc import Callable

import jiwer

from speechforge.metrics.asr import wer_details


def make_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(2000)]
    refs, hyps = [], []
    for _ in range(n):
        ref = rng.choices(vocab, k=rng.randint(3, 20))
        hyp = list(ref)
        for _ in range(rng.randint(0, 4)):
            r = rng.random()
            if r < 0.4 and hyp:
                hyp[rng.randrange(len(hyp))] = rng.choice(vocab)
            elif r < 0.7 and hyp:
                del hyp[rng.randrange(len(hyp))]
            else:
                hyp.insert(rng.randint(0, len(hyp)), rng.choice(vocab))
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    return refs, hyps


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    refs, hyps = make_pairs(args.pairs, args.seed)
    t_ours, ours_obj = best_of(lambda: wer_details(refs, hyps), args.repeats)
    t_words, words_obj = best_of(lambda: jiwer.process_words(refs, hyps), args.repeats)
    t_chars, chars_obj = best_of(lambda: jiwer.process_characters(refs, hyps), args.repeats)
    ours = ours_obj if isinstance(ours_obj, dict) else {}
    words = words_obj if isinstance(words_obj, jiwer.WordOutput) else None
    chars = chars_obj if isinstance(chars_obj, jiwer.CharacterOutput) else None
    assert words is not None and chars is not None

    same_words = (ours["substitutions"], ours["deletions"], ours["insertions"]) == (
        words.substitutions,
        words.deletions,
        words.insertions,
    )
    same_chars = (ours["char_substitutions"], ours["char_deletions"], ours["char_insertions"]) == (
        chars.substitutions,
        chars.deletions,
        chars.insertions,
    )
    same = same_words and same_chars and abs(ours["wer"] - words.wer) < 1e-12 and abs(ours["cer"] - chars.cer) < 1e-12

    n = args.pairs
    print(
        f"{n:,} utterance pairs, {ours['ref_words']:,} reference words; best of {args.repeats}; "
        f"Python {platform.python_version()}, jiwer {importlib.metadata.version('jiwer')}"
    )
    print()
    print("| implementation | computes | seconds | pairs / s | WER | CER |")
    print("|---|---|---:|---:|---:|---:|")
    rows = [
        (
            "speechforge `wer_details`",
            "WER + CER, S/D/I, per utterance, top substitutions",
            t_ours,
            ours["wer"],
            ours["cer"],
        ),
        ("jiwer `process_words`", "WER, S/D/I, alignments", t_words, words.wer, None),
        ("jiwer `process_characters`", "CER, S/D/I, alignments", t_chars, None, chars.cer),
        ("jiwer words + characters", "WER + CER", t_words + t_chars, words.wer, chars.cer),
    ]
    for name, what, seconds, wer, cer in rows:
        wer_s = f"{100 * wer:.4f}%" if wer is not None else "-"
        cer_s = f"{100 * cer:.4f}%" if cer is not None else "-"
        print(f"| {name} | {what} | {seconds:.3f} | {n / seconds:,.0f} | {wer_s} | {cer_s} |")
    print()
    print(f"same WER, CER and S/D/I counts as jiwer: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
