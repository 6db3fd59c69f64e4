"""Audit splits before training on them: leakage, unreadable audio, bad lines, imbalance, outliers, mismatch.

Errors (``CheckReport.failed``, exit status 1): a speaker in two splits (unless the split was random on
purpose), identical audio in two splits, duplicate ids, manifest lines that cannot be read, and audio that is
missing, undecodable or empty. Warnings: silent files, stale durations / sample rates, identical audio
within a split, label imbalance, labels unseen in train, duration outliers, and dev vs test differing.

Every file is decoded once, in worker processes: the samples are hashed (blake2b of the mono signal as
int16, so copies of one recording match whatever their name or format) and peak, duration, rate measured.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from speechforge.audio.io import peak_dbfs, read_audio
from speechforge.console import parallel_map
from speechforge.data.distribution import compare_splits, robust_z
from speechforge.data.manifest import Manifest, Utterance, read_manifest
from speechforge.data.split import SPLIT_INFO, SPLIT_NAMES
from speechforge.data.summary import CorpusSummary, summarize
from speechforge.errors import AudioError, ManifestError, SpeechforgeError

IMBALANCE_WARN = 3.0  # max/min label count in train above which the imbalance is worth a warning
OUTLIER_Z = 3.5  # robust z-score of log duration beyond which an utterance is an outlier
MIN_DURATION = 0.05  # seconds: shorter utterances carry no usable speech
STALE_TOLERANCE = (0.01, 0.020)  # relative and absolute (s) duration mismatch tolerated before "stale"
_DUPLICATE_LINE = re.compile(r"^duplicate id '(?P<id>.*)' \(first seen on line (?P<first>\d+)\)$")


class AudioProbe(NamedTuple):
    """What decoding one file tells: content hash, peak level, true duration and rate."""

    hash: str
    peak_dbfs: float
    duration: float
    sample_rate: int


def probe_audio(task: tuple[str, float, float | None]) -> AudioProbe | str:
    """Decode ``(path, offset, duration)`` (the whole file when ``duration`` is None); a reason on failure.

    Module-level and returning a small tuple or a string, so that it runs in worker processes.
    """
    path, offset, duration = task
    try:
        wav, rate = read_audio(path, offset=offset, duration=duration)
    except AudioError as exc:
        return exc.message
    except Exception as exc:  # a check reports every failure, whatever raised it
        return f"{type(exc).__name__}: {exc}"
    quantised = np.clip(np.rint(wav * 32768.0), -32768, 32767).astype("<i2")
    digest = hashlib.blake2b(quantised.tobytes(), digest_size=16).hexdigest()
    return AudioProbe(digest, peak_dbfs(wav), wav.shape[0] / rate, rate)


@dataclass
class Problem:
    """One finding: ``severity`` is ``error`` (fails the check) or ``warning``."""

    severity: str
    kind: str
    split: str | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        head = {name: getattr(self, name) for name in ("severity", "kind", "split", "message")}
        return {**head, **self.details}


@dataclass
class CheckReport:
    """Everything :func:`check` found; ``to_dict()`` is the ``--json`` contract."""

    manifests: dict[str, Manifest]
    split_info: dict[str, Any] | None = None
    speaker_overlap_allowed: bool = False
    speaker_leakage: list[dict[str, Any]] = field(default_factory=list)
    audio_leakage: list[dict[str, Any]] = field(default_factory=list)
    duplicate_audio: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    silent: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    duplicate_ids: list[dict[str, Any]] = field(default_factory=list)
    label_imbalance: dict[str, float] = field(default_factory=dict)
    unseen_labels: list[dict[str, Any]] = field(default_factory=list)
    duration_outliers: list[dict[str, Any]] = field(default_factory=list)
    distribution: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def error(self, kind: str, split: str | None, message: str, **details: Any) -> None:
        self.problems.append(Problem("error", kind, split, message, details))

    def warn(self, kind: str, split: str | None, message: str, **details: Any) -> None:
        self.problems.append(Problem("warning", kind, split, message, details))

    def summaries(self) -> dict[str, CorpusSummary]:
        return {name: summarize(m) for name, m in self.manifests.items()}

    def verdict(self) -> str:
        """``OK`` or ``FAILED: leakage of 2 speakers, 1 identical file across splits, 3 unreadable files``."""
        count = Counter(p.kind for p in self.problems if p.severity == "error")
        leaked = [] if self.speaker_overlap_allowed else self.speaker_leakage
        speakers = {s for entry in leaked for s in entry["speakers"]}
        parts = [
            (len(speakers), "leakage of {} speaker{}"),
            (count["audio_leakage"], "{} identical file{} across splits"),
            (count["unreadable"], "{} unreadable file{}"),
            (count["duplicate_id"], "{} duplicate id{}"),
            (count["bad_line"], "{} unreadable manifest line{}"),
        ]
        failures = [text.format(n, "s" * (n != 1)) for n, text in parts if n]
        if failures:
            return "FAILED: " + ", ".join(failures)
        warnings = sum(p.severity == "warning" for p in self.problems)
        return "OK" + (f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else "")

    def to_dict(self) -> dict[str, Any]:
        summaries = self.summaries()
        manifests = {}
        for name, m in self.manifests.items():
            rates = dict(sorted(Counter(str(u.sample_rate) for u in m).items()))
            extra = {"sample_rates": rates, "bad_lines": len(m.problems)}
            manifests[name] = {"path": str(m.path), **summaries[name].to_dict(), **extra}
        return {
            "ok": not self.failed,
            "verdict": self.verdict(),
            "manifests": manifests,
            "split_by": (self.split_info or {}).get("by"),
            "speaker_overlap_allowed": self.speaker_overlap_allowed,
            "leakage": {"speakers": self.speaker_leakage, "audio": self.audio_leakage},
            "duplicate_audio": self.duplicate_audio,
            "unreadable": self.unreadable,
            "silent": self.silent,
            "stale": self.stale,
            "duplicate_ids": self.duplicate_ids,
            "label_imbalance": self.label_imbalance,
            "unseen_labels": self.unseen_labels,
            "duration_outliers": self.duration_outliers,
            "distribution": self.distribution,
            "problems": [p.to_dict() for p in self.problems],
            "skipped": {"count": len(self.skipped), "items": self.skipped},
        }


def check(
    paths: Sequence[str | Path] | str | Path,
    *,
    allow_speaker_overlap: bool | None = None,
    silence_dbfs: float = -60.0,
    workers: int | None = None,
    progress: bool = True,
) -> CheckReport:
    """Audit split folders and/or manifests (see the module docstring for what is checked).

    A folder stands for its ``train``, ``train_dev``, ``dev`` and ``test`` manifests (or, without those,
    every ``*.jsonl`` in it); the split name is the file stem. ``allow_speaker_overlap=None`` allows shared
    speakers only when the folder's ``split.json`` says the split was random. Raises
    :class:`SpeechforgeError` for a path that does not exist; everything else becomes a finding.
    """
    files, split_info = find_manifests([paths] if isinstance(paths, str | Path) else list(paths))
    manifests = {name: read_manifest(path, strict=False) for name, path in files.items()}
    if allow_speaker_overlap is None:
        allow_speaker_overlap = (split_info or {}).get("by") == "random"
    report = CheckReport(manifests, split_info, speaker_overlap_allowed=allow_speaker_overlap)
    audit_lines_and_ids(report)
    audit_speakers(report)
    audit_audio(report, silence_dbfs=silence_dbfs, workers=workers, progress=progress)
    audit_labels(report)
    audit_durations(report)
    audit_dev_vs_test(report)
    report.problems.sort(key=lambda p: p.severity != "error")  # stable: errors first, each kind in order
    return report


def find_manifests(paths: list[str | Path]) -> tuple[dict[str, Path], dict[str, Any] | None]:
    """Split name → manifest path for every argument, and the ``split.json`` found beside them (if any)."""
    if not paths:
        raise SpeechforgeError("nothing to check: give split folders or manifest files")
    files: dict[str, Path] = {}
    split_info: dict[str, Any] | None = None
    for arg in map(Path, paths):
        if not arg.exists():
            raise ManifestError("not found (expected a split folder or a .jsonl manifest)", path=arg)
        if arg.is_dir():
            found = [arg / f"{n}.jsonl" for n in SPLIT_NAMES if (arg / f"{n}.jsonl").is_file()]
            found = found or sorted(arg.glob("*.jsonl"))
            if not found:
                raise SpeechforgeError("no .jsonl manifests in this folder", path=arg)
        else:
            found = [arg]
        info_path = (arg if arg.is_dir() else arg.parent) / SPLIT_INFO
        if split_info is None and info_path.is_file():
            try:
                split_info = json.loads(info_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                split_info = None
        for path in found:
            name = path.stem
            if name in files:
                name = f"{path.parent.name}/{path.stem}"
            while name in files:
                name += "'"
            files[name] = path
    return files, split_info if isinstance(split_info, dict) else None


def _item(name: str, m: Manifest, i: int) -> dict[str, Any]:
    u = m[i]
    return {"split": name, "id": u.id, "audio": u.audio, "line": m.line_of(i)}


# ------------------------------------------------------------------------------- lines and ids
def audit_lines_and_ids(report: CheckReport) -> None:
    """Manifest lines that could not be read, and ids used more than once (within or across manifests)."""
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, m in report.manifests.items():
        for i, u in enumerate(m):
            seen[u.id].append({"split": name, "line": m.line_of(i)})
        for problem in m.problems:
            report.skipped.append({"split": name, "path": str(m.path), **problem.to_dict()})
            dup = _DUPLICATE_LINE.match(problem.message)
            if dup:  # read_manifest skips the second use of an id; it is a duplicate id, reported below
                seen[dup["id"]].append({"split": name, "line": problem.line})
            else:
                report.error("bad_line", name, f"{m.path}:{problem.line}: {problem.message}", line=problem.line)
    for utt_id, where in seen.items():
        if len(where) > 1:
            report.duplicate_ids.append({"id": utt_id, "items": where})
            places = ", ".join(f"{report.manifests[w['split']].path}:{w['line']}" for w in where)
            message = f"id '{utt_id}' used {len(where)} times: {places}"
            report.error("duplicate_id", where[0]["split"], message, id=utt_id)


# ------------------------------------------------------------------------------------ speakers
def audit_speakers(report: CheckReport) -> None:
    """Speakers shared by two splits: leakage, or a warning when overlap is allowed."""
    speakers = {name: {u.speaker for u in m if u.speaker} for name, m in report.manifests.items()}
    names = list(speakers)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = sorted(speakers[a] & speakers[b])
            if not shared:
                continue
            report.speaker_leakage.append({"splits": [a, b], "speakers": shared})
            listed = ", ".join(shared[:12]) + (f" (+{len(shared) - 12} more)" if len(shared) > 12 else "")
            message = f"{a} and {b} share {len(shared)} speaker(s): {listed}"
            if report.speaker_overlap_allowed:
                report.warn("speaker_overlap", b, message + " (allowed)", splits=[a, b], speakers=shared)
            else:
                report.error("speaker_leakage", b, message, splits=[a, b], speakers=shared)


# --------------------------------------------------------------------------------------- audio
def _task(u: Utterance) -> tuple[str, float, float | None]:
    """What to decode for an utterance: the whole file, or its segment when ``offset`` is set."""
    return u.audio, u.offset, (u.duration if u.is_segment else None)


def audit_audio(report: CheckReport, *, silence_dbfs: float, workers: int | None, progress: bool) -> None:
    """Decode every file once: unreadable, silent, stale metadata, identical audio across / within splits."""
    keys: dict[tuple[str, float, float | None], int] = {}
    for m in report.manifests.values():
        for u in m:
            keys.setdefault(_task(u), len(keys))
    probes = parallel_map(probe_audio, list(keys), workers=workers, description="decoding", progress=progress)
    by_hash: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, m in report.manifests.items():
        for i, u in enumerate(m):
            probe = probes[keys[_task(u)]]
            item = _item(name, m, i)
            where = f"{m.path}:{item['line']}: {u.audio}"
            if isinstance(probe, str):
                report.unreadable.append({**item, "reason": probe})
                report.error("unreadable", name, f"{where}: {probe}", id=u.id, line=item["line"])
                continue
            by_hash[probe.hash].append(item)
            if probe.peak_dbfs < silence_dbfs:
                peak = None if probe.peak_dbfs == float("-inf") else round(probe.peak_dbfs, 2)
                report.silent.append({**item, "peak_dbfs": peak})
                level = "digital silence" if peak is None else f"peak {peak:.1f} dBFS"
                message = f"{where}: silent ({level}, below {silence_dbfs:g} dBFS)"
                report.warn("silent", name, message, id=u.id, line=item["line"])
            _check_stale(report, name, where, item, u, probe)
    order = list(report.manifests)
    for digest, items in by_hash.items():
        if len(items) < 2:
            continue
        splits = sorted({it["split"] for it in items}, key=order.index)
        listed = "; ".join(f"{it['split']} '{it['id']}' ({it['audio']}, line {it['line']})" for it in items[:6])
        entry = {"hash": digest, "items": items}
        if len(splits) > 1:
            report.audio_leakage.append(entry)
            message = f"identical audio in {' and '.join(splits)}: {listed}"
            report.error("audio_leakage", splits[-1], message, hash=digest)
        else:
            report.duplicate_audio.append(entry)
            report.warn("duplicate_audio", splits[0], f"identical audio within {splits[0]}: {listed}", hash=digest)


def _check_stale(
    report: CheckReport, name: str, where: str, item: dict[str, Any], u: Utterance, probe: AudioProbe
) -> None:
    """Manifest duration / sample rate that disagree with the file: the manifest is out of date."""
    duration, rate = u.duration, u.sample_rate
    rel, absolute = STALE_TOLERANCE
    issues = []
    if abs(duration - probe.duration) > max(rel * probe.duration, absolute):
        issues.append(f"duration {duration:.3f}s in the manifest, {probe.duration:.3f}s in the file")
    if rate != probe.sample_rate:
        issues.append(f"sample_rate {rate} in the manifest, {probe.sample_rate} in the file")
    if issues:
        actual = {"actual_duration": round(probe.duration, 6), "actual_sample_rate": probe.sample_rate}
        report.stale.append({**item, "duration": duration, "sample_rate": rate, **actual})
        message = f"{where}: stale manifest: {'; '.join(issues)}"
        report.warn("stale_manifest", name, message, id=item["id"], line=item["line"])


# -------------------------------------------------------------------------------------- labels
def audit_labels(report: CheckReport) -> None:
    """Imbalance (max/min label count) per split, and labels of other splits that train never shows."""
    counts = {name: Counter(u.label for u in m if u.label is not None) for name, m in report.manifests.items()}
    for name, c in counts.items():
        if not c:
            continue
        (big, n_big), (small, n_small) = c.most_common()[0], c.most_common()[-1]
        ratio = n_big / n_small
        report.label_imbalance[name] = round(ratio, 3)
        if name == "train" and ratio > IMBALANCE_WARN:
            message = (
                f"train is imbalanced {ratio:.1f}:1 ('{big}' {n_big} vs '{small}' {n_small}): "
                "weight the loss or resample"
            )
            report.warn("label_imbalance", name, message, ratio=round(ratio, 3))
    if "train" not in counts:
        return
    for name, c in counts.items():
        unseen = sorted(set(c) - set(counts["train"]))
        if name != "train" and unseen:
            report.unseen_labels.append({"split": name, "labels": unseen})
            message = f"{name} has label(s) never seen in train: {', '.join(unseen)}"
            report.warn("unseen_label", name, message, labels=unseen)


# ----------------------------------------------------------------------------------- durations
def audit_durations(report: CheckReport) -> None:
    """Outliers by the robust z-score of log duration over all splits (median/MAD), and too-short ones."""
    items = [(name, m, i) for name, m in report.manifests.items() for i in range(len(m))]
    if not items:
        return
    logs = np.log(np.array([m[i].duration for _, m, i in items]))
    median = float(np.exp(np.median(logs)))
    for (name, m, i), z in zip(items, robust_z(logs), strict=True):
        duration = m[i].duration
        reasons = [f"robust z {z:+.1f}"] if abs(z) > OUTLIER_Z else []
        reasons += [f"shorter than {MIN_DURATION} s"] if duration < MIN_DURATION else []
        if not reasons:
            continue
        reason = ", ".join(reasons)
        entry = {"duration": duration, "z": round(float(z), 2), "reason": reason}
        report.duration_outliers.append({**_item(name, m, i), **entry})
        message = f"{m.where(i)}: '{m[i].id}' lasts {duration:.3f}s ({reason}; median {median:.2f}s)"
        report.warn("duration_outlier", name, message, id=m[i].id)


# -------------------------------------------------------------------------------- dev vs test
def audit_dev_vs_test(report: CheckReport) -> None:
    """dev and test must come from one distribution: two-sample tests, a warning for each difference."""
    if "dev" not in report.manifests or "test" not in report.manifests:
        return
    report.distribution = compare_splits(report.manifests["dev"], report.manifests["test"])
    for prop, res in report.distribution.items():
        if not res["same_distribution"]:
            message = (
                f"dev and test differ in {prop} ({res['test']} statistic {res['statistic']:.3g}, "
                f"p = {res['p_value']:.2g}; {res['detail']}): dev scores will not predict test scores"
            )
            report.warn("distribution_mismatch", "test", message, property=prop)
