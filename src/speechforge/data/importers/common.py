"""What every importer shares: probing an audio file into an :class:`Utterance`, and the skip list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from speechforge.audio.io import audio_info
from speechforge.data.manifest import Manifest, Utterance, write_manifest
from speechforge.errors import SpeechforgeError


@dataclass
class Skipped:
    """An input item an importer could not use, and why. Never dropped silently: counted and listed."""

    item: str  # a file path, or "file:line" for a row of a table
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"item": self.item, "reason": self.reason}


@dataclass
class ImportResult:
    """The utterances an importer made, the items it skipped, and where it read them from."""

    source: Path
    utterances: list[Utterance] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def write(self, out: str | Path) -> Path:
        """Write the manifest to ``out`` (audio paths relative to its folder)."""
        if not self.utterances:
            first = f" (e.g. {self.skipped[0].item}: {self.skipped[0].reason})" if self.skipped else ""
            raise SpeechforgeError(f"nothing to write: every item was skipped{first}", path=self.source)
        return write_manifest(out, self.utterances)

    @property
    def manifest(self) -> Manifest:
        return Manifest(utterances=self.utterances)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "utterances": len(self.utterances),
            "hours": round(sum(u.duration for u in self.utterances) / 3600.0, 6),
            "skipped": {"count": len(self.skipped), "items": [s.to_dict() for s in self.skipped]},
        }


def probe_utterance(audio: Path, fields: dict[str, Any]) -> Utterance | Skipped:
    """Read ``audio``'s header and build an utterance with ``fields`` (id, label, speaker, ...).

    Returns a :class:`Skipped` instead of raising, so one bad file never stops an import.
    When ``fields`` has ``offset``/``duration`` (a segment), they are checked against the file's length.
    """
    try:
        info = audio_info(audio)
    except SpeechforgeError as exc:
        return Skipped(str(audio), exc.message)
    if info.frames == 0:
        return Skipped(str(audio), "zero-length audio (no samples)")
    record = dict(fields)
    offset = float(record.get("offset") or 0.0)
    if "duration" in record:
        end = offset + float(record["duration"])
        if end > info.duration + 0.01:
            return Skipped(str(audio), f"segment ends at {end:.3f}s but the file is {info.duration:.3f}s long")
    else:
        record["duration"] = info.duration - offset
    record.update(audio=str(audio.resolve()), sample_rate=info.sample_rate)
    try:
        return Utterance.model_validate(record)
    except Exception as exc:  # pydantic ValidationError: a field value the manifest schema refuses
        return Skipped(str(audio), f"invalid record: {exc}".splitlines()[0])


def probe_job(job: tuple[str, dict[str, Any]]) -> Utterance | Skipped:
    """Worker for :func:`speechforge.console.parallel_map`: ``(audio path, fields)`` → utterance or skip."""
    audio, fields = job
    return probe_utterance(Path(audio), fields)


def probe_into(
    result: ImportResult,
    jobs: list[tuple[str, dict[str, Any]]],
    where: list[str],
    *,
    workers: int | None,
    progress: bool,
) -> None:
    """Read every job's audio header in worker processes: utterances go to ``result.utterances``, failures to
    ``result.skipped`` under ``where[i]`` (the ``FILE:LINE`` the job came from), with the audio path."""
    from speechforge.console import parallel_map

    probed = parallel_map(probe_job, jobs, workers=workers, description="reading headers", progress=progress)
    for item, res in zip(where, probed, strict=True):
        if isinstance(res, Skipped):
            result.skipped.append(Skipped(item, f"{res.reason} ({res.item})"))
        else:
            result.utterances.append(res)
