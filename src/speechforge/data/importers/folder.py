"""Import a folder of audio files: one sub-folder per class, or fields parsed from file names by a regex.

Two layouts are understood::

    DIR/yes/alice/0001.wav   label = "yes" (the first-level folder; deeper folders still belong to it)
    DIR/no/0002.flac         label = "no"

    DIR/3_alice_07.wav       --pattern '(?P<label>\\d)_(?P<speaker>[a-z]+)_(?P<take>\\d+)\\.wav'
                             label = "3", speaker = "alice", take = "07"

The id of an utterance is its path relative to ``DIR`` without the extension (posix form), so it is unique
by construction; when two files differ only in their extension (``a.wav`` and ``a.flac``) both keep the
extension in their ids. Hidden files and folders are skipped; files with other extensions (``README.txt``)
are ignored; audio files that cannot be read are skipped with the reason.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from speechforge.audio.io import AUDIO_EXTENSIONS
from speechforge.console import parallel_map
from speechforge.data.importers.common import ImportResult, Skipped, probe_job
from speechforge.data.manifest import Utterance
from speechforge.errors import SpeechforgeError

# Fields the importer computes itself; a --pattern group may not set them.
RESERVED_GROUPS = ("id", "audio", "duration", "sample_rate", "offset")


def scan_audio_files(root: Path) -> tuple[list[PurePosixPath], list[PurePosixPath]]:
    """Files under ``root``, relative and sorted: (audio files by extension, any case; other files).
    Hidden files and folders are left out."""
    found: list[PurePosixPath] = []
    other: list[PurePosixPath] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        for name in filenames:
            if not name.startswith("."):
                (found if name.lower().endswith(AUDIO_EXTENSIONS) else other).append(rel_dir / name)
    return sorted(found, key=str), sorted(other, key=str)


def compile_pattern(pattern: str, root: Path) -> re.Pattern[str]:
    """Compile ``--pattern`` and check that it has a ``label`` group and no group the importer sets itself."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise SpeechforgeError(f"invalid --pattern {pattern!r}: {exc}", path=root) from exc
    if "label" not in regex.groupindex:
        raise SpeechforgeError(
            f"--pattern {pattern!r} has no 'label' group; name the part of the file name that is the class, "
            r"e.g. '(?P<label>\w+)_\d+\.wav'",
            path=root,
        )
    reserved = [g for g in regex.groupindex if g in RESERVED_GROUPS]
    if reserved:
        raise SpeechforgeError(
            f"--pattern group '{reserved[0]}' names a field the importer sets itself "
            f"({', '.join(RESERVED_GROUPS)}); rename the group",
            path=root,
        )
    return regex


def _ids(files: list[PurePosixPath]) -> list[str]:
    """Relative path without extension; with the extension for files whose stems collide."""
    stems = [str(f.with_suffix("")) for f in files]
    counts = Counter(stems)
    return [stem if counts[stem] == 1 else str(f) for stem, f in zip(stems, files, strict=True)]


def _fields_from_folder(rel: PurePosixPath) -> dict[str, Any] | str:
    """Label = first-level folder; a string is the reason to skip the file."""
    if len(rel.parts) < 2:
        return "not in a class folder (files directly in the folder have no label; put them in DIR/LABEL/)"
    return {"label": rel.parts[0]}


def _fields_from_pattern(regex: re.Pattern[str], rel: PurePosixPath) -> dict[str, Any] | str:
    """Named groups of the pattern matched against the base name, else the relative path."""
    match = regex.fullmatch(rel.name) or regex.fullmatch(str(rel))
    if match is None:
        return "file name does not match --pattern"
    fields = {name: value for name, value in match.groupdict().items() if value not in (None, "")}
    if "label" not in fields:
        return "--pattern matched but its 'label' group is empty"
    return fields


def import_folder(
    root: str | Path,
    *,
    pattern: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ImportResult:
    """Make utterances from the audio files under ``root`` (see the module docstring for the layouts).

    Raises :class:`SpeechforgeError` when ``root`` is not a folder, holds no audio file, ``pattern`` is
    invalid, lacks a ``label`` group or matches no file, when no file could be read, and when fewer than two
    classes were found (a classifier needs two). Files that do not fit are listed in ``ImportResult.skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise SpeechforgeError("folder not found", path=root)
    if not root.is_dir():
        raise SpeechforgeError("not a folder; expected a folder of audio files", path=root)
    regex = compile_pattern(pattern, root) if pattern is not None else None

    files, others = scan_audio_files(root)
    if not files:
        raise SpeechforgeError(f"no audio files found (looked for {', '.join(AUDIO_EXTENSIONS)})", path=root)

    # outcome[i] is filled either now (a skip) or after probing (an utterance or a skip), in file order.
    outcome: list[Utterance | Skipped | None] = [None] * len(files)
    jobs: list[tuple[str, dict[str, Any]]] = []
    job_index: list[int] = []
    for i, (rel, utt_id) in enumerate(zip(files, _ids(files), strict=True)):
        fields = _fields_from_pattern(regex, rel) if regex is not None else _fields_from_folder(rel)
        audio = root / rel
        if isinstance(fields, str):
            outcome[i] = Skipped(str(audio), fields)
            continue
        jobs.append((str(audio), {"id": utt_id, **fields}))
        job_index.append(i)

    if not jobs:
        if regex is not None:
            raise SpeechforgeError(
                f"--pattern {pattern!r} matches none of the {len(files)} audio files "
                f"(e.g. '{files[0].name}'); the pattern must match the whole file name",
                path=root,
            )
        raise SpeechforgeError(
            f"found {len(files)} audio files but none in a class sub-folder (e.g. '{files[0]}'); "
            "put each class in its own folder (DIR/LABEL/file.wav) or use --pattern",
            path=root,
        )

    probed = parallel_map(probe_job, jobs, workers=workers, description="reading headers", progress=progress)
    for i, res in zip(job_index, probed, strict=True):
        outcome[i] = res

    result = ImportResult(source=root)
    for done in outcome:
        if isinstance(done, Utterance):
            result.utterances.append(done)
        elif done is not None:
            result.skipped.append(done)

    if not result.utterances:
        first = result.skipped[0]
        raise SpeechforgeError(
            f"none of the {len(jobs)} audio files could be read (e.g. {first.item}: {first.reason})",
            path=root,
        )
    labels = Counter(u.label for u in result.utterances)
    if len(labels) < 2:
        ((only, count),) = labels.items()
        how = "check --pattern" if regex is not None else "put each class in its own sub-folder"
        raise SpeechforgeError(
            f"a classifier needs at least two classes; found only '{only}' ({count} files); {how}", path=root
        )
    # Not dropped silently: files that are not audio are listed too (hidden files are not).
    extensions = ", ".join(AUDIO_EXTENSIONS)
    result.skipped += [
        Skipped(str(root / rel), f"not an audio file (speechforge reads {extensions})") for rel in others
    ]
    return result
