"""How ``speechforge data check`` shows its report: a summary table, the findings by kind, the dev-vs-test
tests, and a verdict line. Everything goes to stderr (stdout is kept for ``--json``)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from speechforge.cli.tables import corpus_table
from speechforge.console import err_console
from speechforge.data.check import CheckReport, Problem

# Shown before each group of findings; kinds missing here are shown by their name.
KIND_TITLES = {
    "speaker_leakage": "speakers shared across splits (leakage)",
    "audio_leakage": "identical audio across splits (leakage)",
    "duplicate_id": "duplicate ids",
    "bad_line": "manifest lines that could not be read",
    "unreadable": "missing, unreadable or empty audio",
    "speaker_overlap": "speakers shared across splits (allowed: random split)",
    "duplicate_audio": "identical audio within a split",
    "silent": "silent files",
    "stale_manifest": "stale manifest entries (duration / sample rate differ from the file)",
    "label_imbalance": "label imbalance",
    "unseen_label": "labels never seen in train",
    "duration_outlier": "duration outliers",
    "distribution_mismatch": "dev and test differ",
}
SHOWN_PER_KIND = 5


def print_check_report(report: CheckReport, *, limit: int = SHOWN_PER_KIND) -> None:
    """Render ``report`` on stderr; ``limit`` findings are listed per kind (``--json`` has them all)."""
    folders = {str(m.path.parent) for m in report.manifests.values() if m.path is not None}
    where = folders.pop() if len(folders) == 1 else ", ".join(str(m.path) for m in report.manifests.values())
    err_console.print(corpus_table(report.summaries(), title=f"data check: {where}"))
    for problems in _by_kind(report.problems):
        print_findings(problems, limit)
    if report.distribution:
        err_console.print(distribution_table(report))
    style = "bold red" if report.failed else "bold green"
    err_console.print(Text(report.verdict(), style=style), soft_wrap=True)


def _by_kind(problems: list[Problem]) -> list[list[Problem]]:
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.kind, []).append(p)
    return list(groups.values())


def print_findings(problems: list[Problem], limit: int) -> None:
    """One group: a coloured heading (red for errors, yellow for warnings) and the first ``limit`` items."""
    first = problems[0]
    colour = "red" if first.severity == "error" else "yellow"
    title = KIND_TITLES.get(first.kind, first.kind.replace("_", " "))
    heading = Text(f"{first.severity}: {title} ({len(problems)})", style=f"bold {colour}")
    err_console.print(heading, soft_wrap=True)
    for p in problems[:limit]:
        # soft_wrap: ids, speakers and paths stay on one line, whole, for copying and grepping
        err_console.print(Text(f"  - {p.message}"), soft_wrap=True)
    if len(problems) > limit:
        err_console.print(Text(f"  ... and {len(problems) - limit} more (--json lists them all)"), soft_wrap=True)


def distribution_table(report: CheckReport) -> Table:
    """One row per property tested between dev and test."""
    table = Table(title="dev vs test: same distribution? (p ≥ 0.01)", title_justify="left")
    table.add_column("property")
    table.add_column("test", no_wrap=True)
    table.add_column("statistic", justify="right")
    table.add_column("p-value", justify="right")
    table.add_column("same")
    table.add_column("detail", overflow="fold")
    for prop, res in report.distribution.items():
        same = Text("yes", style="green") if res["same_distribution"] else Text("NO", style="bold yellow")
        table.add_row(prop, res["test"], f"{res['statistic']:.3g}", f"{res['p_value']:.3g}", same, res["detail"])
    return table
