"""Import a Mozilla Common Voice release folder (one language: ``cv-corpus-.../en/``).

``ROOT/<split>.tsv`` (``validated``, ``train``, ``dev``, ``test``, ...) is a tab-separated table with a
header: ``client_id  path  sentence  up_votes  down_votes  age  gender  accents  locale  ...`` (older
releases say ``accent``). The audio is ``ROOT/clips/<path>`` (mp3, read by libsndfile ≥ 1.1).

Each row becomes an utterance: ``id`` = the clip's file name without extension, ``speaker`` = ``client_id``,
``text`` = ``sentence``, ``language`` = ``locale``; every other non-empty column is kept as a field of the
same name (``up_votes``/``down_votes`` as integers). A row with too few columns, no path or no sentence,
a duplicate clip and a missing or unreadable clip are skipped and listed as ``FILE:LINE``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from speechforge.data.importers.common import ImportResult, Skipped, probe_into
from speechforge.errors import SpeechforgeError

SPLITS = ("validated", "train", "dev", "test", "other", "invalidated")
RENAMED = {"client_id": "speaker", "sentence": "text", "locale": "language"}
INTEGER_COLUMNS = ("up_votes", "down_votes")


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and ``(line number, cells)`` of each non-blank row of the TSV ``path``."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpeechforgeError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from exc
    lines = content.splitlines()
    if not lines or not lines[0].strip():
        raise SpeechforgeError("empty table: expected a header row (client_id, path, sentence, ...)", path=path)
    # Common Voice writes sentences with bare quotes: no CSV quoting.
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader)]
    rows = [(number, cells) for number, cells in enumerate(reader, start=2) if any(c.strip() for c in cells)]
    return header, rows


def import_commonvoice(
    root: str | Path, *, split: str = "validated", workers: int | None = None, progress: bool = True
) -> ImportResult:
    """Make utterances (``text``, ``speaker``, ``language``) from ``root/<split>.tsv`` and ``root/clips/``.

    Raises :class:`SpeechforgeError` when ``root`` is not a folder, the table is missing or lacks the
    ``path`` or ``sentence`` column; everything else that cannot be used is listed in ``ImportResult.skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise SpeechforgeError("folder not found", path=root)
    if not root.is_dir():
        raise SpeechforgeError(
            "not a folder; expected a Common Voice language folder (validated.tsv, clips/)", path=root
        )
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", split):
        raise SpeechforgeError(f"invalid --split '{split}'; choose one of: {', '.join(SPLITS)}")
    table = root / f"{split}.tsv"
    if not table.is_file():
        found = sorted(p.stem for p in root.glob("*.tsv"))
        hint = f"this folder has: {', '.join(found)}" if found else "this folder has no .tsv file"
        raise SpeechforgeError(f"no {split}.tsv ({hint})", path=root)
    header, rows = _rows(table)
    missing = [c for c in ("path", "sentence") if c not in header]
    if missing:
        raise SpeechforgeError(f"no column {', '.join(missing)} in the header ({', '.join(header)})", path=table)
    result = ImportResult(source=root)
    seen: dict[str, str] = {}
    jobs: list[tuple[str, dict[str, Any]]] = []
    where: list[str] = []
    for number, cells in rows:
        item = f"{table}:{number}"
        if len(cells) < len(header):
            reason = f"expected {len(header)} tab-separated columns, got {len(cells)}"
            result.skipped.append(Skipped(item, reason))
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        clip, sentence = row["path"], " ".join(row["sentence"].split())
        if not clip or not sentence:
            result.skipped.append(Skipped(item, "empty path" if not clip else "empty sentence"))
            continue
        if clip in seen:
            result.skipped.append(Skipped(item, f"duplicate clip '{clip}' (first on {seen[clip]})"))
            continue
        seen[clip] = item
        audio = root / "clips" / clip
        if not audio.is_file():
            result.skipped.append(Skipped(item, f"audio not found: {audio}"))
            continue
        fields: dict[str, Any] = {"id": Path(clip).stem}
        for name, value in row.items():
            if name == "path" or not value:
                continue
            if name in INTEGER_COLUMNS and value.isdigit():
                fields[name] = int(value)
            else:
                fields[RENAMED.get(name, name)] = value
        fields["text"] = sentence
        jobs.append((str(audio), fields))
        where.append(item)
    probe_into(result, jobs, where, workers=workers, progress=progress)
    return result
