"""Import a CSV/TSV table with a header row: one row per utterance.

The delimiter (comma, tab or semicolon) is sniffed from the header. ``audio_col`` names the column with the
audio path (relative to the table's folder, or absolute); ``label_col``, ``text_col``, ``speaker_col`` and
``id_col`` map other columns onto the manifest fields. Every other column is kept as an extra field under
its header name (empty cells are left out); a column named after a field the importer computes itself
(``id``, ``audio``, ``duration``, ``sample_rate``, ``offset``) is kept as ``csv_<name>``.
"""

from __future__ import annotations

import csv
from pathlib import Path, PurePath
from typing import Any

from speechforge.console import parallel_map
from speechforge.data.importers.common import ImportResult, Skipped, probe_job
from speechforge.data.importers.folder import RESERVED_GROUPS
from speechforge.errors import SpeechforgeError

DELIMITERS = (",", "\t", ";")


def sniff_delimiter(header: str) -> str:
    """The delimiter among comma, tab and semicolon that occurs most often in the header line."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _row_id(audio_cell: str, table_dir: Path) -> str:
    """Default id: the audio path without its extension, relative to the table's folder when possible."""
    path = Path(audio_cell)
    if path.is_absolute() and path.is_relative_to(table_dir):
        path = path.relative_to(table_dir)
    return PurePath(path).with_suffix("").as_posix()


def import_csv(
    file: str | Path,
    *,
    audio_col: str,
    label_col: str | None = None,
    text_col: str | None = None,
    speaker_col: str | None = None,
    id_col: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ImportResult:
    """Make utterances from the rows of ``file`` (see the module docstring).

    Raises :class:`SpeechforgeError` when the file is missing or empty or a named column is not in the
    header. Rows with an empty audio (or id) cell, a wrong number of cells, unreadable audio or a duplicate
    id are listed in ``ImportResult.skipped`` as ``FILE:LINE``.
    """
    file = Path(file)
    if not file.exists():
        raise SpeechforgeError("file not found", path=file)
    if file.is_dir():
        raise SpeechforgeError("is a folder; expected a CSV or TSV file", path=file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpeechforgeError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=file) from exc
    if not text.strip():
        raise SpeechforgeError("empty file; expected a header row and one row per utterance", path=file)

    lines = text.splitlines(keepends=True)
    header_at = next(i for i, line in enumerate(lines) if line.strip())
    reader = csv.reader(lines[header_at:], delimiter=sniff_delimiter(lines[header_at]))
    header = [name.strip() for name in next(reader)]
    mapped = {"audio": audio_col, "label": label_col, "text": text_col, "speaker": speaker_col, "id": id_col}
    for option, column in mapped.items():
        if column is not None and column not in header:
            raise SpeechforgeError(
                f"no column '{column}' (--{option}-col); the header has: {', '.join(header)}", path=file
            )
    index = {name: header.index(col) for name, col in mapped.items() if col is not None}
    mapped_cols = {index[name] for name in index}
    extras = [
        (i, f"csv_{name}" if name in RESERVED_GROUPS else name)
        for i, name in enumerate(header)
        if i not in mapped_cols and name
    ]

    table_dir = file.resolve().parent
    result = ImportResult(source=file)
    jobs: list[tuple[str, dict[str, Any]]] = []
    where: list[str] = []
    previous_end = header_at + reader.line_num  # the header's last line
    for row in reader:
        line = previous_end + 1
        previous_end = reader.line_num + header_at
        item = f"{file}:{line}"
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(header):
            result.skipped.append(Skipped(item, f"row has {len(row)} cells but the header has {len(header)}"))
            continue
        audio_cell = row[index["audio"]].strip()
        if not audio_cell:
            result.skipped.append(Skipped(item, f"empty audio cell (column '{audio_col}')"))
            continue
        fields: dict[str, Any] = {}
        for i, extra in extras:
            if row[i].strip():
                fields[extra] = row[i].strip()
        for name in ("label", "text", "speaker"):
            if name in index and row[index[name]].strip():
                fields[name] = row[index[name]].strip()
        utt_id = row[index["id"]].strip() if "id" in index else _row_id(audio_cell, table_dir)
        if not utt_id:
            result.skipped.append(Skipped(item, f"empty id cell (column '{id_col}')"))
            continue
        fields["id"] = utt_id
        audio = Path(audio_cell).expanduser()
        jobs.append((str(audio if audio.is_absolute() else table_dir / audio), fields))
        where.append(item)

    if not jobs and not result.skipped:
        raise SpeechforgeError("the header row is not followed by any row", path=file)
    probed = parallel_map(probe_job, jobs, workers=workers, description="reading headers", progress=progress)
    first_line: dict[str, str] = {}
    for item, res in zip(where, probed, strict=True):
        if isinstance(res, Skipped):
            result.skipped.append(Skipped(item, f"{res.reason} ({res.item})"))
        elif res.id in first_line:
            result.skipped.append(Skipped(item, f"duplicate id '{res.id}' (first on {first_line[res.id]})"))
        else:
            first_line[res.id] = item
            result.utterances.append(res)
    result.skipped.sort(key=lambda s: _line_of(s.item))
    return result


def _line_of(item: str) -> int:
    """The line number of a ``FILE:LINE`` item (for keeping the skip list in file order)."""
    return int(item.rsplit(":", 1)[1])
