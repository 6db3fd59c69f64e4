"""Engine overhead: `speechforge train` vs the lecture's plain PyTorch loop, same model, data and batches.

    python benchmarks/train_overhead.py [--epochs 6] [--speakers 12] [--threads 1]

Both sides train recipes/digits_cnn.yaml's model (no augmentation, no early stopping) on the same
synthesized digits corpus with the same decoded audio, batch size and optimizer. The plain loop is the one on
the lecture's "What is epoch?" slide: forward, loss, backward, step, then a no-grad pass over dev. Reported:
seconds per epoch (train + dev pass, first epoch excluded as warm-up) and the overhead per step. Target: < 5%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SPEECHFORGE_NO_PROGRESS", "1")

import torch
from torch.utils.data import DataLoader

from speechforge import data
from speechforge.data.dataset import LabelSet, UtteranceDataset, collate
from speechforge.data.manifest import read_manifest
from speechforge.tasks.base import Stage
from speechforge.tasks.classification import ClassificationTask
from speechforge.training.optim import build_optimizer
from speechforge.training.recipe import Recipe, load_recipe
from speechforge.training.trainer import fit_normalizer, train

ROOT = Path(__file__).resolve().parents[1]


def plain_loop(recipe: Recipe, splits: Path, epochs: int) -> list[float]:
    """The lecture's loop, on the same task object (features + normalizer + model + loss)."""
    torch.manual_seed(recipe.training.seed)
    train_m, dev_m = read_manifest(splits / "train.jsonl"), read_manifest(splits / "dev.jsonl")
    labels = LabelSet.from_manifest(train_m)
    rate = recipe.features.sample_rate
    train_ds = UtteranceDataset(train_m, sample_rate=rate, targets=labels.encode(train_m), progress=False)
    dev_ds = UtteranceDataset(dev_m, sample_rate=rate, targets=labels.encode(dev_m), progress=False)
    task = ClassificationTask(recipe, labels.labels, [1] * len(labels))
    fit_normalizer(task, train_ds)
    optimizer = build_optimizer(task, recipe.optimizer)
    batch_size = int(recipe.optimizer.batch_size)
    train_loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True, collate_fn=collate)
    dev_loader = DataLoader(dev_ds, batch_size=max(batch_size, 64), collate_fn=collate)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        task.train()
        for batch in train_loader:
            logits = task.compute_forward(batch, Stage.TRAIN)
            loss = task.compute_objectives(logits, batch, Stage.TRAIN)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        task.eval()
        with torch.no_grad():
            for batch in dev_loader:
                task.compute_objectives(task.compute_forward(batch, Stage.DEV), batch, Stage.DEV)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--speakers", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data.synth("digits", root / "corpus", speakers=args.speakers, per_speaker=40, seed=0, progress=False)
        data.split(root / "corpus" / "manifest.jsonl", root / "splits", train_dev=0, seed=0)
        splits = root / "splits"
        overrides = [
            f"data.train={splits / 'train.jsonl'}",
            f"data.dev={splits / 'dev.jsonl'}",
            "data.test=null",
            "data.train_dev=null",
            f"training.max_epochs={args.epochs}",
            "regularization.early_stopping.enabled=false",
            "augment.speed.factors=[1.0]",
            "augment.specaugment.freq_masks=0",
            "augment.specaugment.time_masks=0",
            "schedule.name=none",
        ]
        recipe = load_recipe(ROOT / "recipes" / "digits_cnn.yaml", overrides)
        m = len(read_manifest(splits / "train.jsonl"))
        steps = -(-m // int(recipe.optimizer.batch_size))
        plain = plain_loop(recipe, splits, args.epochs)
        result = train(recipe, root / "run", progress=False)
        ours = [row["seconds"] for row in result.history]

    plain_s, ours_s = statistics.median(plain[1:]), statistics.median(ours[1:])
    overhead = ours_s / plain_s - 1.0
    print(f"\nm={m} examples, {steps} steps/epoch, {args.epochs} epochs, torch threads={args.threads}")
    print("| loop | median s/epoch (train + dev) | ms/step | overhead |")
    print("|---|---:|---:|---:|")
    print(f"| plain PyTorch (lecture) | {plain_s:.3f} | {1000 * plain_s / steps:.1f} | - |")
    print(f"| speechforge train (Lightning) | {ours_s:.3f} | {1000 * ours_s / steps:.1f} | {100 * overhead:+.1f}% |")
    print(f"target: overhead < 5% -> {'met' if overhead < 0.05 else 'NOT met'}")


if __name__ == "__main__":
    main()
