"""Step 1 of training: the run's data — manifests, targets, datasets and batches.

Train defines the targets: the label set (classification: an unseen dev/test label is an error naming its
line) or the tokenizer (asr: fitted on train's normalized transcripts and saved in the run). Utterances that
cannot be used (unreadable audio, an empty transcript, characters the tokenizer lacks, audio too short for
its transcript after the model's subsampling) are skipped, counted and listed in ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from speechforge.audio.augment import NoiseBank, add_noise, speed_perturb
from speechforge.console import err_console
from speechforge.data.dataset import (
    BucketBatchSampler,
    EpochShuffleSampler,
    LabelSet,
    Target,
    UtteranceDataset,
    WaveformTransform,
    collate,
    read_labelled_manifest,
)
from speechforge.data.manifest import Manifest, read_manifest
from speechforge.errors import SpeechforgeError
from speechforge.tasks.asr import TranscriptEncoder
from speechforge.training.recipe import Recipe

SPLITS = ("train", "dev", "train_dev", "test")


@dataclass
class TrainingData:
    labels: LabelSet | None  # classification: the label set (index = class id)
    transcripts: TranscriptEncoder | None  # asr: normalization + tokenizer
    datasets: dict[str, UtteranceDataset]  # train (augmented), dev, and train_dev / test when given
    clean_train: UtteranceDataset  # train without augmentation, for normalizer statistics and final error
    skipped: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def read_task_manifest(recipe: Recipe, path: Path) -> Manifest:
    """A manifest with the field the task needs: the transcript (asr; empty ones are the trainer's counted
    skips) or the label (classification, keeping the run's ``data.labels`` subset)."""
    if recipe.task == "asr":
        return read_manifest(path, required=(recipe.data.text_field,), purpose="speech recognition", allow_empty=True)
    return read_labelled_manifest(path, recipe.data.label_field, recipe.data.labels)


def read_split(recipe: Recipe, name: str) -> Manifest | None:
    """The manifest of split ``name`` (None for an unset optional split), with the field the task needs."""
    path = getattr(recipe.data, name)
    if path is None:
        if name in ("train", "dev"):
            raise SpeechforgeError(f"data.{name} is not set: pass data.{name}=PATH/{name}.jsonl")
        return None
    return read_task_manifest(recipe, path)


def add_synthesized(recipe: Recipe, train: Manifest) -> Manifest:
    """The lecture's "use speech synthesis": append (a seeded fraction of) a synthesized manifest to train."""
    cfg = recipe.augment.synthesized
    if cfg.manifest is None:
        return train
    extra = read_task_manifest(recipe, cfg.manifest)
    n = max(1, round(len(extra) * min(1.0, cfg.fraction)))
    chosen = sorted(np.random.default_rng(recipe.training.seed).permutation(len(extra))[:n].tolist())
    err_console.print(f"mixing {n} synthesized utterances from {cfg.manifest} into train")
    return Manifest(
        utterances=[*train.utterances, *(extra[i] for i in chosen)],
        path=train.path,
        lines=[*train.lines, *(extra.line_of(i) for i in chosen)],
    )


def build_waveform_augment(recipe: Recipe) -> WaveformTransform | None:
    """Speed perturbation then additive noise, on the training waveforms only."""
    speed, noise = recipe.augment.speed, recipe.augment.noise
    rate = recipe.features.sample_rate
    use_speed = any(f != 1.0 for f in speed.factors)
    bank = NoiseBank(noise.folder, sample_rate=rate) if noise.prob > 0 and noise.folder else None
    if not use_speed and noise.prob == 0:
        return None

    def augment(waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if use_speed:
            waveform = speed_perturb(waveform, rng, factors=tuple(speed.factors), sample_rate=rate)
        if noise.prob > 0 and rng.random() < noise.prob:
            waveform = add_noise(waveform, rng, snr_db=noise.snr, noise=bank.sample(rng) if bank else None)
        return waveform

    return augment


def read_manifests(recipe: Recipe) -> dict[str, Manifest | None]:
    """Every split's manifest (None for unset optional ones); train includes the synthesized speech."""
    manifests = {name: read_split(recipe, name) for name in SPLITS}
    manifests["train"] = add_synthesized(recipe, manifests["train"])  # type: ignore[arg-type]
    return manifests


def prepare_data(
    recipe: Recipe,
    manifests: dict[str, Manifest | None],
    progress: bool,
    transcripts: TranscriptEncoder | None = None,
    rejection: Any = None,
) -> TrainingData:
    """Encode every split's targets and decode its audio.

    Classification: the label set is made from train here. ASR: ``transcripts`` (fitted on train) encodes
    the transcripts, and ``rejection(targets, problems, sample_rate)`` (``ASRTask.rejection``) builds the
    datasets' hook that skips what cannot be a CTC example."""
    labels: LabelSet | None = None
    if transcripts is None:
        labels = LabelSet.from_manifest(manifests["train"], recipe.data.label_field)  # type: ignore[arg-type]
    rate, seed = recipe.features.sample_rate, recipe.training.seed
    workers = None if recipe.training.workers == 0 else recipe.training.workers
    datasets, skipped = {}, {}
    for name, manifest in manifests.items():
        if manifest is None:
            continue
        targets: list[Target]
        reject = None
        if transcripts is not None:
            tokens, problems = transcripts.encode(manifest)
            targets = list(tokens)
            reject = rejection(tokens, problems, rate) if rejection else None
            if reject is not None and name == "train":
                # Speed perturbation shortens an utterance by up to its largest factor: it must still fit.
                fastest = max(recipe.augment.speed.factors)
                base = reject
                reject = lambda i, size, base=base, f=fastest: base(i, int(size / max(f, 1.0)))  # noqa: E731
        else:
            targets = list(labels.encode(manifest, recipe.data.label_field))  # type: ignore[union-attr]
        augment = build_waveform_augment(recipe) if name == "train" else None
        ds = UtteranceDataset(
            manifest,
            sample_rate=rate,
            targets=targets,
            augment=augment,
            reject=reject,
            seed=seed,
            workers=workers,
            progress=progress,
        )
        datasets[name] = ds
        skipped[name] = [s.to_dict() for s in ds.skipped]
        if ds.skipped:
            err_console.print(
                f"[yellow]skipped {len(ds.skipped)} of {len(manifest)} utterance(s) of {name}:[/] "
                + "; ".join(f"{s.item}: {s.reason}" for s in ds.skipped[:3])
            )
    return TrainingData(labels, transcripts, datasets, datasets["train"].without_augmentation(), skipped)


def train_loader(recipe: Recipe, dataset: UtteranceDataset, batch_size: int, drop_last: bool) -> DataLoader[Any]:
    """Shuffled batches keyed on (seed, epoch); length-bucketed when ``data.max_batch_seconds`` is set."""
    workers, seed = recipe.training.workers, recipe.training.seed
    common: dict[str, Any] = {
        "collate_fn": collate,
        "num_workers": workers,
        "persistent_workers": workers > 0,
        # Its own generator: creating the iterator must not draw from the global RNG that dropout uses, or a
        # resumed run (whose first iterator is created at a different moment) would drift from the original.
        "generator": torch.Generator().manual_seed(seed),
    }
    if recipe.data.max_batch_seconds is not None:
        max_samples = round(recipe.data.max_batch_seconds * recipe.features.sample_rate)
        buckets = BucketBatchSampler(dataset.sizes, max_samples, batch_size, seed)
        err_console.print(
            f"m = {len(dataset)} training examples in length-bucketed batches of ≤ {recipe.data.max_batch_seconds:g} s "
            f"and ≤ {batch_size} utterances → {len(buckets)} iterations per epoch (mini-batch gradient descent), "
            f"padding {buckets.padding_ratio:.1%} of the audio"
        )
        return DataLoader(dataset, batch_sampler=buckets, **common)
    sampler = EpochShuffleSampler(len(dataset), seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last, **common)


__all__ = ["SPLITS", "TrainingData", "add_synthesized", "prepare_data", "read_manifests", "read_split", "train_loader"]
