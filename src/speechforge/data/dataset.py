"""Torch datasets over a manifest: decoded waveforms at the model's rate, encoded labels, padded batches.

Audio is decoded and resampled once (in worker processes) and kept in memory when the corpus is small
enough (``cache_hours``); larger corpora are read on demand. Unreadable files are skipped, counted and
listed (``dataset.skipped``), never silently dropped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from speechforge.audio.io import read_audio
from speechforge.console import parallel_map
from speechforge.data.importers.common import Skipped
from speechforge.data.manifest import Manifest, read_manifest
from speechforge.errors import SpeechforgeError

# Waveform augmentation: (waveform (time,), rng) -> waveform (time',)
WaveformTransform = Callable[[np.ndarray, np.random.Generator], np.ndarray]
# A training target: a class id (classification) or a sequence of token ids (CTC speech recognition).
Target = int | list[int]
# Why an utterance cannot be used (manifest position, its length in samples) -> a reason, or None to keep it.
Rejection = Callable[[int, int], str | None]


class LabelSet:
    """The label vocabulary of a run: sorted labels of the training set, index = class id."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.index = {label: i for i, label in enumerate(self.labels)}

    @classmethod
    def from_manifest(cls, manifest: Manifest, field: str = "label") -> LabelSet:
        missing = [i for i, u in enumerate(manifest) if u.get(field) in (None, "")]
        if missing:
            raise SpeechforgeError(
                f"missing field '{field}' (needed for classification)",
                path=manifest.path,
                line=manifest.line_of(missing[0]),
            )
        labels = sorted({str(u.get(field)) for u in manifest})
        if len(labels) < 2:
            raise SpeechforgeError(
                f"the training set has only one class ({labels[0]!r}); a classifier needs at least two",
                path=manifest.path,
            )
        return cls(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def encode(self, manifest: Manifest, field: str = "label") -> list[int]:
        """Class ids of every utterance; a label never seen in train is an error naming its line."""
        ids = []
        for i, utt in enumerate(manifest):
            label = utt.get(field)
            if label is None or str(label) not in self.index:
                known = ", ".join(self.labels[:20]) + (" ..." if len(self.labels) > 20 else "")
                what = f"label {label!r} was never seen in training" if label is not None else f"no '{field}'"
                raise SpeechforgeError(f"{what} (known labels: {known})", path=manifest.path, line=manifest.line_of(i))
            ids.append(self.index[str(label)])
        return ids

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"labels": self.labels}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LabelSet:
        return cls(json.loads(path.read_text(encoding="utf-8"))["labels"])


def read_labelled_manifest(
    path: str | Path, field: str = "label", labels: Sequence[str] | None = None, purpose: str = "classification"
) -> Manifest:
    """Read a manifest as a classification run uses it: every utterance must have ``field``, and only the
    run's label subset (``data.labels``) is kept when there is one."""
    manifest = read_manifest(path, required=(field,), purpose=purpose)
    return keep_labels(manifest, labels, field) if labels else manifest


def keep_labels(manifest: Manifest, labels: Sequence[str], field: str = "label") -> Manifest:
    """The utterances whose label is one of ``labels`` (a subset task, e.g. yes/no of the commands corpus)."""
    wanted = set(labels)
    keep = [i for i, u in enumerate(manifest) if str(u.get(field)) in wanted]
    if not keep:
        raise SpeechforgeError(
            f"data.labels {sorted(wanted)}: no utterance has one of these labels", path=manifest.path
        )
    return Manifest([manifest[i] for i in keep], manifest.path, [manifest.line_of(i) for i in keep])


def _load_one(job: tuple[str, float, float | None, int]) -> np.ndarray | str:
    """Worker: decode one utterance (a segment when ``duration`` is set) at ``rate``; an error message
    instead of raising."""
    audio, offset, duration, rate = job
    try:
        waveform, _ = read_audio(audio, offset=offset, duration=duration, sample_rate=rate)
    except SpeechforgeError as exc:
        return exc.message
    return waveform


@dataclass
class Example:
    waveform: torch.Tensor  # (time,)
    target: Target  # class id (-1 when unknown, e.g. at prediction) or token ids
    index: int  # position in the manifest


class UtteranceDataset(Dataset[Example]):
    """Waveforms of a manifest at ``sample_rate``, with class ids and optional training-time augmentation.

    Args:
        manifest: the utterances.
        sample_rate: the model's rate; every file is resampled to it.
        targets: class id (``LabelSet.encode``) or token ids (``TranscriptEncoder.encode``) per utterance,
            or None.
        reject: says why an utterance cannot be used (e.g. too short for the model's subsampling): it is then
            skipped and listed in ``skipped`` like an unreadable file.
        augment: waveform transform applied in ``__getitem__`` (training only), seeded per (epoch, item).
        seed: base seed of the augmentation.
        cache_hours: keep decoded audio in memory when the corpus is at most this long.
        workers: processes used to decode the cache.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        sample_rate: int,
        targets: Sequence[Target] | None = None,
        augment: WaveformTransform | None = None,
        reject: Rejection | None = None,
        seed: int = 0,
        cache_hours: float = 2.0,
        workers: int | None = None,
        progress: bool = True,
    ) -> None:
        self.manifest = manifest
        self.sample_rate = sample_rate
        self.augment = augment
        self.seed = seed
        self.skipped: list[Skipped] = []
        jobs = [(u.audio, u.offset, u.duration if u.is_segment else None, sample_rate) for u in manifest]
        self.cache: list[np.ndarray] | None = None
        # Lengths in samples: exact once decoded, else from the manifest's durations.
        sizes = [round(u.duration * sample_rate) for u in manifest]
        problems: dict[int, str] = {}
        if manifest.hours <= cache_hours:
            loaded = parallel_map(_load_one, jobs, workers=workers, description="loading audio", progress=progress)
            problems = {i: x for i, x in enumerate(loaded) if isinstance(x, str)}
            sizes = [0 if isinstance(x, str) else len(x) for x in loaded]
        if reject is not None:
            for i, size in enumerate(sizes):
                reason = None if i in problems else reject(i, size)
                if reason is not None:
                    problems[i] = reason
        for i in sorted(problems):
            self.skipped.append(Skipped(f"{manifest.where(i)} ({manifest[i].audio})", problems[i]))
        keep = [i for i in range(len(manifest)) if i not in problems]
        if manifest.hours <= cache_hours:
            self.cache = [loaded[i] for i in keep]  # type: ignore[misc]
        self.indices = keep  # positions in the manifest of the usable utterances
        self.jobs = [jobs[i] for i in keep]
        self.sizes = [sizes[i] for i in keep]  # samples per usable utterance (for length bucketing)
        all_targets: list[Target] = list(targets) if targets is not None else [-1] * len(manifest)
        self.targets = [all_targets[i] for i in keep]
        if not self.indices:
            raise SpeechforgeError("no readable audio in this manifest", path=manifest.path)

    def __len__(self) -> int:
        return len(self.indices)

    def without_augmentation(self) -> UtteranceDataset:
        """The same utterances (sharing the decoded cache) with augmentation off."""
        clone = copy.copy(self)
        clone.augment = None
        return clone

    def waveform(self, i: int) -> np.ndarray:
        if self.cache is not None:
            return self.cache[i]
        loaded = _load_one(self.jobs[i])
        if isinstance(loaded, str):
            raise SpeechforgeError(loaded, path=self.manifest.where(self.indices[i]))
        return loaded

    def __getitem__(self, key: int | tuple[int, int]) -> Example:
        # EpochShuffleSampler yields (item, epoch): the epoch travels with the index into worker processes.
        i, epoch = key if isinstance(key, tuple) else (key, 0)
        waveform = self.waveform(i)  # (time,)
        if self.augment is not None:
            rng = np.random.default_rng((self.seed, epoch, i))
            waveform = self.augment(waveform, rng)
        return Example(
            torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)),
            self.targets[i],
            self.indices[i],
        )


@dataclass
class Batch:
    waveforms: torch.Tensor  # (batch, time) zero-padded
    lengths: torch.Tensor  # (batch,) samples
    targets: torch.Tensor  # (batch,) class ids, or (batch, max_tokens) token ids padded with 0
    indices: torch.Tensor  # (batch,) manifest positions
    target_lengths: torch.Tensor | None = None  # (batch,) tokens per utterance (token targets only)

    def to(self, device: torch.device | str) -> Batch:
        target_lengths = None if self.target_lengths is None else self.target_lengths.to(device)
        return Batch(
            self.waveforms.to(device), self.lengths.to(device), self.targets.to(device), self.indices, target_lengths
        )

    def __len__(self) -> int:
        return int(self.waveforms.shape[0])

    @property
    def padding(self) -> float:
        """Fraction of the batch's samples that are padding."""
        return 1.0 - float(self.lengths.sum()) / max(1, self.waveforms.numel())


def collate(examples: Sequence[Example]) -> Batch:
    lengths = torch.tensor([e.waveform.shape[0] for e in examples], dtype=torch.int64)
    waveforms = torch.zeros(len(examples), int(lengths.max()))  # (batch, time)
    for row, e in enumerate(examples):
        waveforms[row, : e.waveform.shape[0]] = e.waveform
    indices = torch.tensor([e.index for e in examples], dtype=torch.int64)
    if not isinstance(examples[0].target, list):
        return Batch(waveforms, lengths, torch.tensor([e.target for e in examples], dtype=torch.int64), indices)
    token_lists = [e.target for e in examples if isinstance(e.target, list)]
    target_lengths = torch.tensor([len(t) for t in token_lists], dtype=torch.int64)
    targets = torch.zeros(len(examples), max(1, int(target_lengths.max())), dtype=torch.int64)  # (batch, tokens)
    for row, tokens in enumerate(token_lists):
        targets[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.int64)
    return Batch(waveforms, lengths, targets, indices, target_lengths)


class EpochShuffleSampler(Sampler[tuple[int, int]]):
    """A shuffling sampler whose order depends only on (seed, epoch), so a resumed run replays the same
    batches (and the same augmentation: it yields ``(item, epoch)``) as an uninterrupted one. Lightning calls
    ``set_epoch`` at the start of every epoch."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter((i, self.epoch) for i in torch.randperm(self.n, generator=generator).tolist())


class BucketBatchSampler(Sampler[list[tuple[int, int]]]):
    """Length-bucketed batches (ESPnet's ``numel`` batch bins, lhotse's and SpeechBrain's dynamic batching):
    utterances sorted by length are packed greedily into batches holding at most ``max_samples`` samples of
    padded audio (longest utterance × batch size) and at most ``max_batch`` utterances.

    The batches are made once, so every epoch has the same number of them (Lightning counts the batches of
    an epoch once, to know when to run dev); their order is shuffled per epoch from (seed, epoch), so a
    resumed run replays the same epochs. Items are ``(index, epoch)`` as with :class:`EpochShuffleSampler`.
    """

    def __init__(self, sizes: Sequence[int], max_samples: int, max_batch: int, seed: int = 0) -> None:
        if max_samples < max(sizes):
            raise SpeechforgeError(
                f"data.max_batch_seconds is shorter than the longest training utterance "
                f"({max(sizes)} samples > {max_samples}): raise it"
            )
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.seed, self.epoch = seed, 0
        self.batches: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for i in np.argsort(self.sizes, kind="stable").tolist():
            grown = max(longest, int(self.sizes[i]))
            if current and (grown * (len(current) + 1) > max_samples or len(current) == max_batch):
                self.batches.append(current)
                current, grown = [], int(self.sizes[i])
            current.append(i)
            longest = grown
        self.batches.append(current)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def padding_ratio(self) -> float:
        """Fraction of the batches' samples that are padding."""
        padded = sum(int(self.sizes[b].max()) * len(b) for b in self.batches)
        return 1.0 - float(self.sizes.sum()) / padded

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        # A generator: the epoch is read when iteration starts, not when the iterator is created (Lightning
        # creates it before on_train_epoch_start sets the epoch of a resumed run).
        epoch = self.epoch
        for b in np.random.default_rng((self.seed, epoch)).permutation(len(self.batches)).tolist():
            yield [(i, epoch) for i in self.batches[b]]
