"""Import a LibriSpeech corpus in its OpenSLR layout.

``ROOT`` is any folder above the transcripts (``LibriSpeech/``, ``LibriSpeech/dev-clean/``, or one speaker's
folder): every ``SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt`` under it is read. Each of its lines is
``UTTERANCE-ID TRANSCRIPT`` (``1272-128104-0000 MISTER QUILTER IS ...``) and the audio is
``UTTERANCE-ID.flac`` beside it. The utterance gets ``text`` (as written, upper case), ``speaker`` (the id's
first part), ``chapter`` (its second part), ``language`` ``en``, and ``gender`` when a ``SPEAKERS.TXT``
(``ID | SEX | SUBSET | MINUTES | NAME``) is found in ``ROOT`` or a folder above it.

A line without a transcript, a duplicate id and a missing or unreadable audio file are skipped and listed as
``FILE:LINE`` with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from speechforge.data.importers.common import ImportResult, Skipped, probe_into
from speechforge.errors import SpeechforgeError

AUDIO_EXTENSIONS = (".flac", ".wav")  # OpenSLR ships flac; a converted copy may be wav


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpeechforgeError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from exc


def read_speakers_txt(root: Path) -> dict[str, str]:
    """``{speaker: gender}`` from the first ``SPEAKERS.TXT`` in ``root`` or a folder above it (``F`` → ``f``)."""
    for folder in (root, *root.absolute().parents):
        path = folder / "SPEAKERS.TXT"
        if path.is_file():
            genders: dict[str, str] = {}
            for line in _read_text(path).splitlines():
                parts = [p.strip() for p in line.split("|")]
                if line.startswith(";") or len(parts) < 2 or parts[1].upper() not in ("F", "M"):
                    continue
                genders[parts[0]] = parts[1].lower()
            return genders
    return {}


def _find_audio(folder: Path, utt: str) -> Path | None:
    return next((folder / f"{utt}{ext}" for ext in AUDIO_EXTENSIONS if (folder / f"{utt}{ext}").is_file()), None)


def import_librispeech(root: str | Path, *, workers: int | None = None, progress: bool = True) -> ImportResult:
    """Make utterances (with ``text``, ``speaker``) from the LibriSpeech tree under ``root``.

    Raises :class:`SpeechforgeError` when ``root`` is not a folder or holds no ``*.trans.txt``; everything
    else that cannot be used is listed in ``ImportResult.skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise SpeechforgeError("folder not found", path=root)
    if not root.is_dir():
        raise SpeechforgeError("not a folder; expected a LibriSpeech tree (SPEAKER/CHAPTER/*.trans.txt)", path=root)
    transcripts = sorted(p for p in root.rglob("*.trans.txt") if p.is_file())
    if not transcripts:
        raise SpeechforgeError(
            "no *.trans.txt found; expected the OpenSLR layout SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt", path=root
        )
    genders = read_speakers_txt(root)
    result = ImportResult(source=root)
    seen: dict[str, str] = {}
    jobs: list[tuple[str, dict[str, Any]]] = []
    where: list[str] = []
    for trans in transcripts:
        for number, line in enumerate(_read_text(trans).splitlines(), start=1):
            if not line.strip():
                continue
            item = f"{trans}:{number}"
            parts = line.strip().split(maxsplit=1)
            if len(parts) < 2 or not parts[1].strip():
                result.skipped.append(Skipped(item, "expected 'UTTERANCE-ID TRANSCRIPT'"))
                continue
            utt, text = parts[0], " ".join(parts[1].split())
            if utt in seen:
                result.skipped.append(Skipped(item, f"duplicate utterance id '{utt}' (first on {seen[utt]})"))
                continue
            seen[utt] = item
            audio = _find_audio(trans.parent, utt)
            if audio is None:
                result.skipped.append(Skipped(item, f"audio not found: {trans.parent / (utt + '.flac')}"))
                continue
            id_parts = utt.split("-")
            fields: dict[str, Any] = {"id": utt, "text": text, "speaker": id_parts[0], "language": "en"}
            if len(id_parts) >= 3:
                fields["chapter"] = id_parts[1]
            if id_parts[0] in genders:
                fields["gender"] = genders[id_parts[0]]
            jobs.append((str(audio), fields))
            where.append(item)
    probe_into(result, jobs, where, workers=workers, progress=progress)
    return result
