"""Rich tables shared by several commands."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group
from rich.table import Table

from speechforge.data.summary import CorpusSummary

# Beyond this many labels the per-label table shows the extremes only (smallest and largest classes).
MAX_LABEL_ROWS = 40


def corpus_table(summaries: Mapping[str, CorpusSummary], title: str = "") -> Group:
    """Two tables: one row per split (utterances, hours, speakers), then the count of each label per split
    (labels as rows, so that a 35-word vocabulary still fits an 80-column terminal)."""
    table = Table(title=title or None, title_justify="left")
    table.add_column("split")
    for name in ("utterances", "hours", "speakers"):
        table.add_column(name, justify="right")
    for name, s in summaries.items():
        table.add_row(name, str(s.utterances), f"{s.hours:.3f}", str(s.speakers) if s.speakers else "-")
    labels = sorted(set().union(*(s.labels for s in summaries.values()))) if summaries else []
    if not labels:
        return Group(table)
    counts = Table(title="utterances per label", title_justify="left")
    counts.add_column("label")
    for name in summaries:
        counts.add_column(name, justify="right")
    shown = labels
    if len(labels) > MAX_LABEL_ROWS:
        total = {label: sum(s.labels.get(label, 0) for s in summaries.values()) for label in labels}
        ranked = sorted(labels, key=lambda label: total[label])
        half = MAX_LABEL_ROWS // 2
        shown = ranked[:half] + ranked[-half:]
    for i, label in enumerate(shown):
        if len(shown) < len(labels) and i == MAX_LABEL_ROWS // 2:
            counts.add_row(f"... {len(labels) - len(shown)} more", *[""] * len(summaries))
        counts.add_row(label, *[str(s.labels.get(label, 0)) for s in summaries.values()])
    return Group(table, counts)
