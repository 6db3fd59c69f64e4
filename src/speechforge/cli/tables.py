"""Rich tables shared by several commands."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

from speechforge.data.summary import CorpusSummary

# Beyond this many labels the per-label columns are folded into one "labels" column (min–max count).
MAX_LABEL_COLUMNS = 12


def corpus_table(summaries: Mapping[str, CorpusSummary], title: str = "") -> Table:
    """One row per split: utterances, hours, speakers and the count of each label."""
    labels = sorted(set().union(*(s.labels for s in summaries.values()))) if summaries else []
    table = Table(title=title or None, title_justify="left")
    table.add_column("split")
    for name in ("utterances", "hours", "speakers"):
        table.add_column(name, justify="right")
    wide = len(labels) <= MAX_LABEL_COLUMNS
    if wide:
        for label in labels:
            table.add_column(label, justify="right")
    elif labels:
        table.add_column(f"labels ({len(labels)})", justify="right")
    for name, s in summaries.items():
        row = [name, str(s.utterances), f"{s.hours:.3f}", str(s.speakers) if s.speakers else "-"]
        if wide:
            row += [str(s.labels.get(label, 0)) for label in labels]
        elif labels:
            counts = [s.labels.get(label, 0) for label in labels]
            row.append(f"{min(counts)}–{max(counts)} per label")
        table.add_row(*row)
    return table
