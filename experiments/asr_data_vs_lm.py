"""Labeled data × language model, in miniature: the lecture's wav2vec 2.0 table (greedy vs + LM WER per amount
of labeled data) on the built-in synthetic *sentences* corpus.

    python experiments/asr_data_vs_lm.py [--speakers 40] [--per-speaker 40] [--max-epochs N] [--seed 0] [--quick]

1. the LM: text only, many sentences drawn from the grammar with another seed than the audio (lots of text,
   little labeled audio), normalized like the transcripts, as a word 3-gram ARPA file;
2. one corpus (eSpeak NG), split by speaker: the dev and test speakers are the same for every size, and the
   three training sets are nested subsets of the train speakers (1/4, 1/2, all);
3. for each size: train ``recipes/sentences_ctc.yaml``, tune the LM weight and word score on dev, and measure
   dev and test WER with greedy decoding and with beam search + LM;
4. write ``results.md`` (size × decoder → dev / test WER) and ``results.json`` into ``--out``.

The defaults (40 speakers × 40 sentences: 32 train speakers, i.e. ~13 / 26 / 52 minutes of labeled audio; the
recipe's 40 epochs) take about 12 minutes on 2 free CPU cores; ``--quick`` is a smoke run of under a minute.
On cores shared with other jobs, prefix ``OMP_NUM_THREADS=1``: oversubscribed torch threads run 10× slower.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from speechforge.data.asr_corpora import sentence
from speechforge.data.manifest import read_manifest, write_manifest
from speechforge.data.split import split
from speechforge.data.synth import synth
from speechforge.decoding.lm import build_arpa
from speechforge.evaluation.asr import evaluate_asr, tune_decoding
from speechforge.tasks.asr import text_normalizer
from speechforge.training.recipe import load_recipe
from speechforge.training.trainer import train

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "sentences_ctc.yaml"
FRACTIONS = (0.25, 0.5, 1.0)  # of the train speakers, for the three sizes
LM_ORDER = 3
LM_SEED_OFFSET = 1000  # the LM's text is drawn with seed + this: other sentences than the audio's


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; ``--quick`` shrinks everything to a smoke run of a minute or two."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "experiments" / "out" / "asr_data_vs_lm")
    p.add_argument("--speakers", type=int, default=40, help="synthetic speakers (10%% dev, 10%% test, rest train)")
    p.add_argument("--per-speaker", type=int, default=40, help="sentences per speaker")
    p.add_argument("--max-epochs", type=int, default=None, help="override the recipe's training.max_epochs")
    p.add_argument("--lm-sentences", type=int, default=20000, help="text-only sentences for the LM")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny corpus, 2 epochs: checks that the script works")
    args = p.parse_args(argv)
    if args.quick:
        args.speakers, args.per_speaker, args.lm_sentences = 8, 6, 2000
        args.max_epochs = args.max_epochs or 2
    return args


def stage(message: str) -> None:
    """One progress line per stage."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_lm(out: Path, n: int, seed: int) -> Path:
    """Write ``n`` grammar sentences (normalized like the recipe's transcripts) and a word n-gram LM on them."""
    normalize = text_normalizer(load_recipe(RECIPE))
    rng = np.random.default_rng(seed + LM_SEED_OFFSET)
    text = out / "lm_text.txt"
    text.write_text("".join(normalize(sentence(rng)) + "\n" for _ in range(n)), encoding="utf-8")
    arpa = out / f"lm_{LM_ORDER}gram.arpa"
    counts = build_arpa([text], arpa, order=LM_ORDER).counts
    stage(f"LM: {n} text-only sentences → {arpa.name}, n-grams per order {counts}")
    return arpa


def make_corpus(out: Path, speakers: int, per_speaker: int, seed: int) -> dict[str, Path]:
    """Synthesize the corpus and split it by speaker: ~10% of the speakers for dev, as many for test."""
    corpus = out / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    result = synth("asr", corpus, speakers=speakers, per_speaker=per_speaker, seed=seed, kind="sentences")
    held = max(1, round(0.1 * speakers))
    if speakers - 2 * held < 1:
        raise SystemExit(f"--speakers {speakers} leaves no train speaker: use at least 3")
    ratios = f"{speakers - 2 * held},{held},{held}"  # in speakers: every speaker has as many utterances
    done = split(result.manifest, out / "splits", ratios=ratios, by="speaker", stratify=None, train_dev=0.0, seed=0)
    minutes = {k: sum(u.duration for u in m) / 60 for k, m in done.splits.items()}
    stage(f"corpus: {len(result.manifest)} utterances; " + ", ".join(f"{k} {v:.1f} min" for k, v in minutes.items()))
    return done.paths


def nested_sizes(train_path: Path, out: Path, seed: int) -> list[dict]:
    """The training manifests of the three sizes: the first 1/4, 1/2 and all of the train speakers (seeded
    order), so that each size holds the smaller ones."""
    train_set = read_manifest(train_path)
    speakers = sorted({str(u.speaker) for u in train_set})
    order = [speakers[i] for i in np.random.default_rng(seed).permutation(len(speakers))]
    sizes = []
    for fraction in FRACTIONS:
        chosen = set(order[: max(1, round(fraction * len(order)))])
        utts = [u for u in train_set if u.speaker in chosen]
        path = write_manifest(out / "splits" / f"train_{len(chosen)}spk.jsonl", utts)
        minutes = sum(u.duration for u in utts) / 60
        sizes.append({"speakers": len(chosen), "utterances": len(utts), "minutes": minutes, "manifest": str(path)})
        stage(f"size: {len(chosen)} speakers, {len(utts)} utterances, {minutes:.1f} min ({minutes / 60:.3f} h)")
    return sizes


def train_size(size: dict, splits: dict[str, Path], run: Path, args: argparse.Namespace) -> dict:
    """Train the recipe on one size's manifest (dev for early stopping and model selection)."""
    overrides = [f"data.train={size['manifest']}", f"data.dev={splits['dev']}", f"training.seed={args.seed}"]
    if args.max_epochs is not None:
        overrides.append(f"training.max_epochs={args.max_epochs}")
    stage(f"training on {size['utterances']} utterances → {run}")
    start = time.perf_counter()
    result = train(load_recipe(RECIPE, overrides), run, overwrite=True)
    seconds = time.perf_counter() - start
    stage(f"trained: {result.metrics['epochs']} epochs, best {result.metrics['best_epoch']}, {seconds:.0f} s")
    return {"epochs": result.metrics["epochs"], "best_epoch": result.metrics["best_epoch"], "train_seconds": seconds}


def decode_size(run: Path, splits: dict[str, Path], lm: Path) -> list[dict]:
    """Greedy and beam + LM WER on dev and test; the LM weight and word score are tuned on dev first."""
    stage("tuning LM weight × word score on dev")
    tuned = tune_decoding(run, splits["dev"], lm)
    stage(f"tuned: lm_weight {tuned['lm_weight']:g}, word_score {tuned['word_score']:g}")
    rows = []
    for name, options in (("greedy", {}), (f"beam + {LM_ORDER}-gram LM", {"decoder": "beam", "lm": lm})):
        wer = {}
        for split_name in ("dev", "test"):
            stage(f"evaluating {name} on {split_name}")
            wer[split_name] = evaluate_asr(run, splits[split_name], **options)["wer"]
        weights = {"lm_weight": tuned["lm_weight"], "word_score": tuned["word_score"]} if options else {}
        rows.append({"decoder": name, "dev_wer": wer["dev"], "test_wer": wer["test"], **weights})
    return rows


def write_results(out: Path, results: list[dict], command: str, meta: dict) -> Path:
    """``results.md`` (the table, with the command that made it) and ``results.json``."""
    lines = [
        "# Labeled data × LM (synthetic sentences, CTC Conformer)",
        "",
        f"Produced by `{command}`",
        "",
        f"LM: word {LM_ORDER}-gram on {meta['lm_sentences']} text-only sentences; dev/test: "
        f"{meta['dev_utterances']}/{meta['test_utterances']} utterances of unseen speakers. "
        "LM weight and word score tuned on dev.",
        "",
        "| labeled data (utterances / minutes) | decoder | dev WER | test WER |",
        "|---|---|---:|---:|",
    ]
    for r in results:
        data = f"{r['utterances']} / {r['minutes']:.1f} min ({r['speakers']} speakers)"
        decoder = r["decoder"]
        if "lm_weight" in r:
            decoder += f" (weight {r['lm_weight']:g}, word score {r['word_score']:g})"
        lines.append(f"| {data} | {decoder} | {r['dev_wer']:.1%} | {r['test_wer']:.1%} |")
    markdown = "\n".join(lines) + "\n"
    (out / "results.md").write_text(markdown, encoding="utf-8")
    (out / "results.json").write_text(json.dumps({**meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    print(markdown, flush=True)
    return out / "results.md"


def main(argv: list[str] | None = None) -> None:
    """Run the whole experiment: LM, corpus, then train and decode each size."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    command = shlex.join(["python", "experiments/asr_data_vs_lm.py", *argv])
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lm = build_lm(args.out, args.lm_sentences, args.seed)
    splits = make_corpus(args.out, args.speakers, args.per_speaker, args.seed)
    results = []
    for size in nested_sizes(splits["train"], args.out, args.seed):
        run = args.out / "runs" / f"train_{size['speakers']}spk"
        timing = train_size(size, splits, run, args)
        for row in decode_size(run, splits, lm):
            results.append({**{k: v for k, v in size.items() if k != "manifest"}, **timing, **row})
    meta = {
        "command": command,
        "recipe": str(RECIPE.relative_to(ROOT)),
        "speakers": args.speakers,
        "per_speaker": args.per_speaker,
        "max_epochs": args.max_epochs,
        "lm_sentences": args.lm_sentences,
        "lm_order": LM_ORDER,
        "dev_utterances": len(read_manifest(splits["dev"])),
        "test_utterances": len(read_manifest(splits["test"])),
        "seconds": time.perf_counter() - start,
    }
    path = write_results(args.out, results, command, meta)
    stage(f"wrote {path} and results.json in {meta['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
