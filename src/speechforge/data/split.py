"""Split a manifest into train / dev / test (and train_dev): speaker-disjoint when speakers are known.

Why each piece exists (the lecture's rules):

- **dev and test come from one distribution**: both are drawn the same way from the same pool, with the
  label proportions kept (``stratify``), so that a dev score predicts the test score.
- **speaker-disjoint** (``by="speaker"``): a model evaluated on speakers it trained on measures memory of
  voices, not generalisation. Every speaker lands in exactly one split.
- **train_dev**: a slice of train that is *not* trained on. ``train error`` vs ``train_dev error`` is
  variance; ``train_dev error`` vs ``dev error`` is data mismatch. With speaker-disjoint splits train_dev
  holds out *whole train speakers*: dev speakers are unseen, so a train_dev made of seen speakers would mix
  "unseen speakers" into the dev − train_dev gap; with unseen speakers in both, that gap measures the
  distribution mismatch only.
- **ratios follow the corpus size** (``ratios="auto"``): dev and test need enough utterances to tell
  models apart, not a fixed share. ``dev = test = 0.1 · (n / 10⁴)^(−1/2)`` clipped to [0.01, 0.1]:
  80/10/10 up to 10,000 utterances, 93.7/3.2/3.2 at 100,000 and 98/1/1 at 1,000,000 (a straight line in
  log-log between those points).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.data.manifest import Manifest, Utterance, read_manifest, write_manifest
from speechforge.data.summary import CorpusSummary, summarize
from speechforge.errors import SpeechforgeError

SPLIT_NAMES = ("train", "train_dev", "dev", "test")
SPLIT_INFO = "split.json"  # written next to the splits; `data check` reads ``by`` from it
MISSING = "(none)"  # stratification class of utterances without the field


@dataclass
class SplitResult:
    """The splits made by :func:`split` and where they were written."""

    splits: dict[str, Manifest]  # train, train_dev (if any), dev, test - in that order
    paths: dict[str, Path]
    by: str  # "speaker" | "random"
    ratios: dict[str, float]  # train/dev/test fractions used (they sum to 1); train_dev is a share of train
    notes: list[str] = field(default_factory=list)
    seed: int = 0
    stratify: str | None = "label"
    source: str = ""
    train_dev: float = 0.0

    def summaries(self) -> dict[str, CorpusSummary]:
        return {name: summarize(m) for name, m in self.splits.items()}

    def title(self) -> str:
        """``speaker-disjoint split 80/10/10 of M.jsonl (seed 0)``."""
        kind = "speaker-disjoint" if self.by == "speaker" else "random"
        parts = "/".join(_percent(self.ratios[k]) for k in ("train", "dev", "test"))
        held = f" (train_dev {_percent(self.train_dev)}% of train)" if "train_dev" in self.splits else ""
        return f"{kind} split {parts}{held} of {Path(self.source).name} (seed {self.seed})"

    def to_dict(self) -> dict[str, Any]:
        summaries = self.summaries()
        return {
            "by": self.by,
            "ratios": {k: round(v, 6) for k, v in self.ratios.items()},
            "train_dev": self.train_dev,
            "seed": self.seed,
            "stratify": self.stratify,
            "source": self.source,
            "splits": {name: {**summaries[name].to_dict(), "path": str(self.paths[name])} for name in self.splits},
            "notes": list(self.notes),
        }


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}".rstrip("0").rstrip(".")


def auto_ratios(n: int) -> tuple[float, float, float]:
    """``(train, dev, test)`` for ``n`` utterances: dev = test = 0.1·(n/10⁴)^(−1/2) in [0.01, 0.1]."""
    held = min(0.1, max(0.01, 0.1 * (max(n, 1) / 1e4) ** -0.5))
    return 1.0 - 2.0 * held, held, held


def parse_ratios(spec: str, n: int) -> tuple[float, float, float]:
    """``"auto"`` or three non-negative numbers ``"train,dev,test"`` (train > 0), normalised to sum 1."""
    if spec.strip().lower() == "auto":
        return auto_ratios(n)
    parts = [p.strip() for p in spec.replace("/", ",").split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(not math.isfinite(v) or v < 0 for v in values) or values[0] <= 0:
        raise SpeechforgeError(
            f"--ratios {spec!r}: expected 'auto' or three non-negative numbers train,dev,test with "
            "train > 0, e.g. 80,10,10"
        )
    total = sum(values)
    train, dev, test = (v / total for v in values)
    return train, dev, test


def split(
    manifest: str | Path | Manifest,
    out: str | Path,
    *,
    ratios: str = "auto",
    by: str | None = None,
    stratify: str | None = "label",
    train_dev: float = 0.05,
    seed: int = 0,
) -> SplitResult:
    """Split ``manifest`` into ``out/{train,train_dev,dev,test}.jsonl`` plus ``out/split.json``.

    ``by``: ``"speaker"`` (default when every utterance has a speaker) keeps each speaker in one split,
    train_dev included (it holds out whole train speakers, see the module docstring); ``"random"``
    draws utterances with scikit-learn's ``train_test_split``. ``stratify`` names the field whose
    proportions every split keeps (``None`` to turn off; the default ``"label"`` is dropped with a note when
    no utterance has a label). ``train_dev`` is the share of train held out. The same seed gives the same
    files. Utterances keep their manifest order inside each split.
    """
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    if not manifest.utterances:
        raise SpeechforgeError("manifest has no utterances", path=manifest.path)
    if not 0.0 <= train_dev < 1.0:
        raise SpeechforgeError(f"--train-dev {train_dev}: expected a fraction of train in [0, 1)")
    out = Path(out)
    source = str(manifest.path) if manifest.path is not None else "manifest"
    utts = manifest.utterances
    train, dev, test = parse_ratios(ratios, len(utts))
    fractions = {"train": train * (1 - train_dev), "train_dev": train * train_dev, "dev": dev, "test": test}
    names = [name for name in SPLIT_NAMES if fractions[name] > 0]
    notes: list[str] = []
    by = _choose_by(manifest, by, notes)
    classes = _strata(utts, stratify, notes)
    if classes is None:
        stratify = None

    if by == "speaker":
        assignment = _speaker_split(utts, classes, fractions, names, train_dev, seed)
    else:
        assignment = _random_split(utts, classes, fractions, names, seed, notes)
    splits = {
        name: Manifest(utterances=[utts[i] for i in assignment[name]], lines=[0] * len(assignment[name]))
        for name in names
    }
    _note_ratio_drift(splits, fractions, len(utts), notes)
    _note_unseen_labels(splits, notes)

    paths = _write(out, splits, manifest.path, notes)
    for name, m in splits.items():
        m.path, m.lines = paths[name], list(range(1, len(m) + 1))
    result = SplitResult(
        splits=splits,
        paths=paths,
        by=by,
        ratios={"train": train, "dev": dev, "test": test},
        notes=notes,
        seed=seed,
        stratify=stratify,
        source=source,
        train_dev=train_dev if "train_dev" in splits else 0.0,
    )
    (out / SPLIT_INFO).write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return result


def _choose_by(manifest: Manifest, by: str | None, notes: list[str]) -> str:
    """``speaker`` or ``random``; ``speaker`` needs every utterance to have a speaker."""
    lacking = [i for i, u in enumerate(manifest) if not u.speaker]
    if by is None:
        if not lacking:
            return "speaker"
        known = len(manifest) - len(lacking)
        if known:
            notes.append(
                f"{len(lacking)} of {len(manifest)} utterances have no speaker: split at random, so a "
                "speaker may appear in several splits (add speakers to split by speaker)"
            )
        return "random"
    if by not in ("speaker", "random"):
        raise SpeechforgeError(f"--by {by!r}: expected 'speaker' or 'random'")
    if by == "speaker" and lacking:
        raise SpeechforgeError(
            f"--by speaker: utterance '{manifest[lacking[0]].id}' has no 'speaker' field "
            f"({len(lacking)} of {len(manifest)} lack one); add speakers or use --by random",
            path=manifest.path,
            line=manifest.line_of(lacking[0]) if manifest.path is not None else None,
        )
    return by


def _strata(utts: list[Utterance], stratify: str | None, notes: list[str]) -> list[str] | None:
    """The stratification class of each utterance, or ``None`` when not stratifying."""
    if not stratify:
        return None
    values = [u.get(stratify) for u in utts]
    if all(v in (None, "") for v in values):
        if stratify == "label":  # the default: corpora without labels (ASR) split unstratified
            notes.append("no utterance has a label: split without stratification")
            return None
        raise SpeechforgeError(f"--stratify {stratify!r}: no utterance has this field (use --stratify none)")
    return [MISSING if v in (None, "") else str(v) for v in values]


# ------------------------------------------------------------------------------------- by speaker
def _speaker_split(
    utts: list[Utterance],
    classes: list[str] | None,
    fractions: dict[str, float],
    names: list[str],
    train_dev: float,
    seed: int,
) -> dict[str, list[int]]:
    """Assign whole speakers to splits by a seeded greedy; returns utterance indices per split.

    Written by hand rather than with scikit-learn: ``GroupShuffleSplit`` draws a share of *speakers* (not
    utterances) and ignores label balance, and ``StratifiedGroupKFold`` only makes equal folds, while we need
    unequal targets (80/10/10), counted in utterances, with labels balanced.

    Speakers go largest first (ties in a seeded random order). Each goes to the split that most reduces
    the squared error between what the splits hold and their targets, in utterances and, when stratifying,
    per class: for a speaker with class counts ``v`` that is the split maximising
    ``|v|·(T − C) + v·(t − c)`` (target minus current: the split's deficit). When as many speakers are left
    as splits are empty, the rest go to the empty splits, so every split gets at least one speaker.
    """
    by_speaker: dict[str, list[int]] = {}
    for i, u in enumerate(utts):
        by_speaker.setdefault(str(u.speaker), []).append(i)
    if len(by_speaker) < len(names):
        base = len([n for n in names if n != "train_dev"])
        hint = " or --train-dev 0" if train_dev > 0 and len(by_speaker) >= base else ""
        raise SpeechforgeError(
            f"need at least {base} speakers for {'/'.join(n for n in names if n != 'train_dev')} "
            f"({base + 1} with --train-dev), found {len(by_speaker)}; use --by random{hint}"
        )
    rng = np.random.default_rng(seed)
    speakers = sorted(by_speaker)
    tiebreak = dict(zip(speakers, rng.permutation(len(speakers)).tolist(), strict=True))
    order = sorted(speakers, key=lambda s: (-len(by_speaker[s]), tiebreak[s]))

    n = len(utts)
    labels = [""] * n if classes is None else classes
    totals = Counter(labels)
    target = {k: fractions[k] * n for k in names}
    target_c = {k: {lab: fractions[k] * cnt for lab, cnt in totals.items()} for k in names}
    have = dict.fromkeys(names, 0)
    have_c: dict[str, Counter[str]] = {k: Counter() for k in names}
    out: dict[str, list[int]] = {k: [] for k in names}
    for position, speaker in enumerate(order):
        idx = by_speaker[speaker]
        counts = Counter(labels[i] for i in idx)
        empty = [k for k in names if have[k] == 0]
        candidates = empty if len(order) - position <= len(empty) else names

        def score(k: str, idx: list[int] = idx, counts: Counter[str] = counts) -> tuple[float, float, int]:
            deficit = len(idx) * (target[k] - have[k])
            if classes is not None:
                deficit += sum(v * (target_c[k][lab] - have_c[k][lab]) for lab, v in counts.items())
            # ties: the emptier split (relative to its target), then the order train, train_dev, dev, test
            return deficit, -have[k] / target[k], -names.index(k)

        best = max(candidates, key=score)
        out[best].extend(idx)
        have[best] += len(idx)
        have_c[best].update(counts)
    return {k: sorted(v) for k, v in out.items()}


# ----------------------------------------------------------------------------------------- random
def _random_split(
    utts: list[Utterance],
    classes: list[str] | None,
    fractions: dict[str, float],
    names: list[str],
    seed: int,
    notes: list[str],
) -> dict[str, list[int]]:
    """Draw test, then dev, then train_dev with ``train_test_split`` (stratified when it can be)."""
    from sklearn.model_selection import train_test_split

    n = len(utts)
    if n < len(names):
        raise SpeechforgeError(f"need at least {len(names)} utterances for {'/'.join(names)}, found {n}")
    labels = np.array(classes if classes is not None else [""] * n)
    rest = np.arange(n)
    out: dict[str, list[int]] = {}
    for name in ("test", "dev", "train_dev"):
        if name not in names:
            continue
        size = min(max(1, round(fractions[name] * n)), len(rest) - 1)
        strata = labels[rest] if classes is not None else None
        if strata is not None and not _can_stratify(strata, size):
            notes.append(
                f"{name}: a class has fewer than 2 utterances (or more classes than {name} can hold): "
                "drawn without stratification"
            )
            strata = None
        rest, drawn = train_test_split(rest, test_size=size, random_state=seed, shuffle=True, stratify=strata)
        out[name] = sorted(int(i) for i in drawn)
    out["train"] = sorted(int(i) for i in rest)
    return {name: out[name] for name in names}


def _can_stratify(strata: np.ndarray, size: int) -> bool:
    """What ``train_test_split(stratify=...)`` needs: every class twice, each side can hold every class."""
    counts = Counter(strata.tolist())
    return min(counts.values()) >= 2 and len(counts) <= size and len(counts) <= len(strata) - size


# ----------------------------------------------------------------------------------- notes, writing
def _note_ratio_drift(splits: dict[str, Manifest], fractions: dict[str, float], n: int, notes: list[str]) -> None:
    """Whole speakers cannot always meet the targets; say so when a split is 5 points off."""
    got = {k: len(m) / n for k, m in splits.items()}
    if any(abs(got[k] - fractions[k]) > 0.05 for k in splits):
        have = "/".join(_percent(got[k]) for k in splits)
        want = "/".join(_percent(fractions[k]) for k in splits)
        notes.append(
            f"{'/'.join(splits)} hold {have}% of the utterances (target {want}%): whole speakers (or, for "
            "a small corpus, whole utterances) cannot meet the ratios more closely"
        )


def _note_unseen_labels(splits: dict[str, Manifest], notes: list[str]) -> None:
    seen = {u.label for u in splits.get("train", Manifest([])) if u.label is not None}
    for name, m in splits.items():
        if name == "train":
            continue
        unseen = sorted({u.label for u in m if u.label is not None} - seen)
        if unseen:
            notes.append(f"{name} has label(s) absent from train: {', '.join(unseen)}")


def _write(out: Path, splits: dict[str, Manifest], source: Path | None, notes: list[str]) -> dict[str, Path]:
    """Write the split manifests; remove split files of an earlier run that this run does not make."""
    paths = {name: out / f"{name}.jsonl" for name in splits}
    if source is not None and source.resolve() in {p.resolve() for p in paths.values()}:
        raise SpeechforgeError(f"--out {out}: would overwrite the manifest being split; use another folder")
    for name, path in paths.items():
        write_manifest(path, splits[name].utterances)
    for name in SPLIT_NAMES:
        stale = out / f"{name}.jsonl"
        if name not in splits and stale.exists():
            stale.unlink()
            notes.append(f"removed {stale} left by an earlier split")
    return paths
