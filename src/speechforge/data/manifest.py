"""The manifest: one JSON object per line, one utterance per object, validated on read.

Fields (the contract other commands rely on):

``id``            unique utterance id (string)
``audio``         path to the audio file, relative to the manifest's folder or absolute
``duration``      seconds (> 0) of the utterance (of the segment when ``offset`` is set)
``sample_rate``   the file's own sample rate in Hz
``label``         class label (classification tasks)        - optional
``text``          transcript (speech recognition)          - optional
``speaker``       speaker id; enables speaker-disjoint splits - optional
``language``      language code                            - optional
``offset``        start of the segment in the file, seconds  - optional (default 0)

Any other field is kept as it is (``gender``, ``take``, ``snr``, ...). In memory ``audio`` is always an
absolute path; :func:`write_manifest` writes it relative to the new manifest's folder, so a corpus folder
can be moved as a whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from speechforge.errors import ManifestError

CORE_FIELDS = ("id", "audio", "duration", "sample_rate", "label", "text", "speaker", "language", "offset")


class Utterance(BaseModel):
    """One manifest record. Unknown fields are kept (``utt.model_extra``)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=False)

    id: str = Field(min_length=1)
    audio: str = Field(min_length=1)
    duration: float = Field(gt=0)
    sample_rate: int = Field(gt=0)
    label: str | None = None
    text: str | None = None
    speaker: str | None = None
    language: str | None = None
    offset: float = Field(default=0.0, ge=0)

    @property
    def is_segment(self) -> bool:
        """True when the record names a segment of its file (``offset`` given, even 0): only
        ``[offset, offset + duration)`` belongs to it. Otherwise the whole file is the utterance."""
        return "offset" in self.model_fields_set

    def get(self, name: str, default: Any = None) -> Any:
        """A core or extra field by name (``utt.get("take")``)."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return (self.model_extra or {}).get(name, default)

    def to_record(self, manifest_dir: Path | None = None) -> dict[str, Any]:
        """The JSON object written for this utterance, core fields first, ``None`` and zero offset left out."""
        record: dict[str, Any] = {}
        for name in CORE_FIELDS:
            value = getattr(self, name)
            if value is None or (name == "offset" and not self.is_segment):
                continue
            if name == "audio" and manifest_dir is not None:
                value = _relative_path(Path(value), manifest_dir)
            if name in ("duration", "offset"):
                value = round(float(value), 6)
            record[name] = value
        record.update(self.model_extra or {})
        return record


@dataclass
class ManifestProblem:
    """One line of a manifest that could not be used."""

    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass
class Manifest:
    """Utterances read from (or about to be written to) a JSONL file.

    ``lines[i]`` is the 1-based line number of ``utterances[i]`` in ``path`` (0 for records made in memory).
    ``problems`` lists the lines a lenient read (``strict=False``) skipped.
    """

    utterances: list[Utterance]
    path: Path | None = None
    lines: list[int] = field(default_factory=list)
    problems: list[ManifestProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.utterances)

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    def __getitem__(self, index: int) -> Utterance:
        return self.utterances[index]

    @property
    def name(self) -> str:
        """The split name: the file's stem (``train`` for ``train.jsonl``)."""
        return self.path.stem if self.path is not None else "manifest"

    @property
    def hours(self) -> float:
        return sum(u.duration for u in self.utterances) / 3600.0

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else 0

    def where(self, index: int) -> str:
        """``path:line`` of an utterance, for messages."""
        return f"{self.path}:{self.line_of(index)}" if self.path is not None else f"record {index + 1}"


def _relative_path(audio: Path, manifest_dir: Path) -> str:
    try:
        return Path(os.path.relpath(audio, manifest_dir)).as_posix()
    except ValueError:  # different drive on Windows
        return str(audio)


def _describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "record"
        if err["type"] == "missing":
            parts.append(f"missing field '{name}'")
        else:
            parts.append(f"field '{name}': {err['msg']} (got {err.get('input')!r})")
    return "; ".join(parts)


def parse_record(text: str, base_dir: Path) -> Utterance:
    """Parse one JSON line into an :class:`Utterance` with an absolute ``audio`` path.

    Raises ``ValueError`` with a message that does not yet name the file or line.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    try:
        utt = Utterance.model_validate(obj)
    except ValidationError as exc:
        raise ValueError(_describe_validation_error(exc)) from exc
    audio = Path(utt.audio).expanduser()
    # normpath (no file system access): "splits/../audio/a.wav" and "audio/a.wav" must be the same path
    utt.audio = os.path.normpath(audio if audio.is_absolute() else (base_dir / audio))
    return utt


def read_manifest(
    path: str | Path,
    *,
    strict: bool = True,
    required: Sequence[str] = (),
    purpose: str = "",
    allow_empty: bool = False,
) -> Manifest:
    """Read and validate a JSONL manifest.

    ``strict=True`` raises :class:`ManifestError` naming the first bad line (and how many others there are);
    ``strict=False`` skips bad lines and records them in ``Manifest.problems`` (``data check`` does this).
    ``required`` names optional fields that this use needs (e.g. ``("label",)`` for classification);
    ``purpose`` is said in the message when one is missing; ``allow_empty`` accepts an empty string as present
    (an empty transcript is the ASR trainer's counted skip, not a broken manifest). Duplicate ids are always a
    problem.
    """
    path = Path(path)
    if not path.exists():
        raise ManifestError("manifest not found", path=path)
    if path.is_dir():
        raise ManifestError("is a folder; expected a .jsonl manifest file", path=path)
    base_dir = path.resolve().parent
    manifest = Manifest(utterances=[], path=path)
    first_line_of: dict[str, int] = {}
    with path.open("r", encoding="utf-8-sig") as f:
        for line_no, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                utt = parse_record(text, base_dir)
                for name in required:
                    if utt.get(name) is None or (utt.get(name) == "" and not allow_empty):
                        need = f" (needed for {purpose})" if purpose else ""
                        raise ValueError(f"missing field '{name}'{need}")
                if utt.id in first_line_of:
                    raise ValueError(f"duplicate id '{utt.id}' (first seen on line {first_line_of[utt.id]})")
            except ValueError as exc:
                manifest.problems.append(ManifestProblem(line_no, str(exc)))
                continue
            first_line_of[utt.id] = line_no
            manifest.utterances.append(utt)
            manifest.lines.append(line_no)
    if strict and manifest.problems:
        first = manifest.problems[0]
        more = len(manifest.problems) - 1
        tail = f" (and {more} more bad line{'s' * (more > 1)}; `speechforge data check {path}` lists them)"
        raise ManifestError(first.message + (tail if more else ""), path=path, line=first.line)
    if strict and not manifest.utterances:
        raise ManifestError("manifest has no utterances", path=path)
    return manifest


def write_manifest(path: str | Path, utterances: Iterable[Utterance], *, absolute_paths: bool = False) -> Path:
    """Write utterances as JSON Lines; audio paths are made relative to ``path``'s folder unless
    ``absolute_paths``. Written atomically (a temporary file renamed into place), so an interrupted
    write never leaves a half manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest_dir = None if absolute_paths else path.resolve().parent
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for utt in utterances:
            f.write(json.dumps(utt.to_record(manifest_dir), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
