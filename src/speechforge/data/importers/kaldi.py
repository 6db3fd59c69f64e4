"""Import a Kaldi data directory.

Files read (one entry per line, ``ID VALUE``, as Kaldi writes them):

``wav.scp``     ``RECORDING-ID PATH`` (required). Piped commands (``... |``) are skipped: convert them to
                files first. Relative paths are resolved against the data dir, its parent, its grandparent
                (the recipe root of ``data/train``), then the current folder: the first that exists.
``segments``    ``UTTERANCE-ID RECORDING-ID START END`` (optional): each line is a segment of a recording
                (``offset = START``, ``duration = END - START``; ``END = -1`` means the end of the file).
                Without it every recording is one utterance whose id is the recording id.
``utt2spk``     ``UTTERANCE-ID SPEAKER``   → ``speaker``  (optional)
``text``        ``UTTERANCE-ID TRANSCRIPT`` → ``text``    (optional)
``utt2label``   ``UTTERANCE-ID LABEL``     → ``label``    (optional)
``utt2lang``    ``UTTERANCE-ID LANGUAGE``  → ``language`` (optional)
``spk2gender``  ``SPEAKER GENDER``         → ``gender``   (optional)

A malformed line is skipped and listed as ``FILE:LINE`` with the reason; so is an utterance named in
``utt2spk``/``text``/... that has no audio in ``wav.scp``/``segments``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechforge.data.importers.common import ImportResult, Skipped, probe_into
from speechforge.errors import SpeechforgeError

PIPED = "piped wav.scp entries are not supported; convert to files first"
# Per-utterance files: file name -> (manifest field, whether the value is a single token).
UTT_FILES = {
    "utt2spk": ("speaker", True),
    "text": ("text", False),
    "utt2label": ("label", True),
    "utt2lang": ("language", True),
}


def _lines(path: Path) -> Iterator[tuple[str, str]]:
    """``(FILE:LINE, stripped text)`` for each non-blank line of ``path``."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpeechforgeError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from exc
    for number, text in enumerate(content.splitlines(), start=1):
        if text.strip():
            yield f"{path}:{number}", text.strip()


def resolve_audio(target: str, root: Path) -> Path:
    """An absolute ``target`` as is; a relative one against ``root``, its parent and grandparent, then the
    current folder, whichever exists first (else against ``root``, for the "file not found" message)."""
    path = Path(target).expanduser()
    if path.is_absolute():
        return path
    here = root.absolute()
    candidates = (here / path, here.parent / path, here.parent.parent / path, Path.cwd() / path)
    return next((c for c in candidates if c.exists()), candidates[0])


def _read_map(path: Path, single_token: bool, skipped: list[Skipped]) -> dict[str, tuple[str, str]]:
    """``ID VALUE`` lines → ``{id: (value, FILE:LINE)}``; malformed and duplicate lines go to ``skipped``."""
    mapping: dict[str, tuple[str, str]] = {}
    if not path.is_file():
        return mapping
    for item, text in _lines(path):
        parts = text.split(maxsplit=1)
        key, value = parts[0], (parts[1].strip() if len(parts) > 1 else "")
        if single_token and (not value or len(value.split()) != 1):
            skipped.append(Skipped(item, f"expected 'ID VALUE' (two fields), got {len(text.split())}"))
        elif key in mapping:
            skipped.append(Skipped(item, f"duplicate id '{key}' (first on {mapping[key][1]})"))
        else:
            mapping[key] = (value, item)
    return mapping


def _read_wav_scp(path: Path, root: Path, skipped: list[Skipped]) -> tuple[dict[str, tuple[Path, str]], dict[str, str]]:
    """``{recording: (audio, FILE:LINE)}`` and ``{recording: FILE:LINE}`` of the entries that were skipped."""
    recordings: dict[str, tuple[Path, str]] = {}
    dropped: dict[str, str] = {}
    for item, text in _lines(path):
        parts = text.split(maxsplit=1)
        if len(parts) < 2:
            skipped.append(Skipped(item, "expected 'RECORDING-ID PATH'"))
            continue
        rec, target = parts[0], parts[1].strip()
        if target.endswith("|"):
            skipped.append(Skipped(item, PIPED))
            dropped[rec] = item
        elif rec in recordings or rec in dropped:
            first = recordings[rec][1] if rec in recordings else dropped[rec]
            skipped.append(Skipped(item, f"duplicate recording id '{rec}' (first on {first})"))
        else:
            recordings[rec] = (resolve_audio(target, root), item)
    return recordings, dropped


def _read_segments(
    path: Path,
    recordings: dict[str, tuple[Path, str]],
    dropped: dict[str, str],
    skipped: list[Skipped],
) -> tuple[list[tuple[str, Path, dict[str, Any], str]], set[str]]:
    """Segments → ``[(utterance id, audio, {offset, duration}, FILE:LINE)]`` and every id they name."""
    utts: list[tuple[str, Path, dict[str, Any], str]] = []
    seen: dict[str, str] = {}
    for item, text in _lines(path):
        parts = text.split()
        if len(parts) != 4:
            reason = f"expected 'UTTERANCE-ID RECORDING-ID START END', got {len(parts)} fields"
            skipped.append(Skipped(item, reason))
            continue
        utt, rec = parts[0], parts[1]
        try:
            start, end = float(parts[2]), float(parts[3])
        except ValueError:
            reason = f"START and END must be numbers of seconds, got {parts[2]!r} {parts[3]!r}"
            skipped.append(Skipped(item, reason))
            continue
        if utt in seen:
            skipped.append(Skipped(item, f"duplicate utterance id '{utt}' (first on {seen[utt]})"))
            continue
        seen[utt] = item
        if start < 0 or (end != -1 and end <= start):
            reason = f"invalid segment: START {start:g} must be >= 0 and before END {end:g}"
            skipped.append(Skipped(item, reason))
        elif rec in dropped:
            skipped.append(Skipped(item, f"its recording '{rec}' was skipped (see {dropped[rec]})"))
        elif rec not in recordings:
            skipped.append(Skipped(item, f"recording '{rec}' is not in wav.scp"))
        else:
            fields: dict[str, Any] = {"offset": start} if start else {}
            if end != -1:
                fields["duration"] = end - start
            utts.append((utt, recordings[rec][0], fields, item))
    return utts, set(seen)


def import_kaldi(root: str | Path, *, workers: int | None = None, progress: bool = True) -> ImportResult:
    """Make utterances from the Kaldi data directory ``root`` (see the module docstring).

    Raises :class:`SpeechforgeError` when ``root`` is not a folder, has no ``wav.scp`` or ``wav.scp`` has no
    entry. Everything else that cannot be used is listed in ``ImportResult.skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise SpeechforgeError("folder not found", path=root)
    if not root.is_dir():
        raise SpeechforgeError("not a folder; expected a Kaldi data dir (wav.scp, utt2spk, text, ...)", path=root)
    wav_scp = root / "wav.scp"
    if not wav_scp.is_file():
        raise SpeechforgeError(
            "no wav.scp (a Kaldi data dir has wav.scp and optionally segments, utt2spk, text, utt2label)",
            path=root,
        )
    result = ImportResult(source=root)
    skipped = result.skipped
    recordings, dropped = _read_wav_scp(wav_scp, root, skipped)
    if not recordings and not dropped and not skipped:
        raise SpeechforgeError("wav.scp has no entries", path=wav_scp)

    segments = root / "segments"
    if segments.is_file():
        utts, known = _read_segments(segments, recordings, dropped, skipped)
        audio_source = "segments"
    else:
        utts = [(rec, audio, {}, item) for rec, (audio, item) in recordings.items()]
        known = set(recordings) | set(dropped)
        audio_source = "wav.scp"

    values: dict[str, dict[str, tuple[str, str]]] = {}
    for name, (field_name, single_token) in UTT_FILES.items():
        values[field_name] = _read_map(root / name, single_token, skipped)
    genders = _read_map(root / "spk2gender", True, skipped)

    orphans: set[str] = set()
    for name, (field_name, _) in UTT_FILES.items():
        for utt, (_, item) in values[field_name].items():
            if utt not in known and utt not in orphans:
                orphans.add(utt)
                skipped.append(Skipped(item, f"utterance '{utt}' is in {name} but not in {audio_source}"))

    jobs: list[tuple[str, dict[str, Any]]] = []
    where: list[str] = []
    for utt, audio, segment, item in utts:
        fields: dict[str, Any] = {"id": utt, **segment}
        for field_name, mapping in values.items():
            if utt in mapping and mapping[utt][0]:
                fields[field_name] = mapping[utt][0]
        if "speaker" in fields and fields["speaker"] in genders:
            fields["gender"] = genders[fields["speaker"]][0]
        jobs.append((str(audio), fields))
        where.append(item)

    probe_into(result, jobs, where, workers=workers, progress=progress)
    return result
