"""Where speechforge talks to the user: tables and progress on stderr, results (``--json``) on stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

T = TypeVar("T")
R = TypeVar("R")

# Human-readable output goes to stderr so that stdout carries only machine-readable results. When stderr is not
# a terminal (a log file, CI, a pipe), lines are not wrapped at 80 columns: paths stay whole and greppable.
# Messages are never wrapped (soft_wrap); tables fit the terminal.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
if not err_console.is_terminal and "COLUMNS" not in os.environ:
    err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=240)


def print_error(message: str) -> None:
    """``error: MESSAGE`` on one line of stderr (never wrapped, never read as markup)."""
    err_console.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def progress_enabled() -> bool:
    """Progress bars are shown on an interactive terminal unless ``SPEECHFORGE_NO_PROGRESS`` is set."""
    return err_console.is_terminal and not os.environ.get("SPEECHFORGE_NO_PROGRESS")


def track(items: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar on stderr (silent when not interactive)."""
    if not (enabled and progress_enabled()):
        yield from items
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


def default_workers() -> int:
    """Worker processes for file-bound work: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    description: str = "",
    progress: bool = True,
    chunksize: int | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` in worker processes, in order, with a progress bar.

    ``fn`` must be a module-level function (it is pickled). Small inputs and ``workers=1`` run in this
    process: starting workers costs more than a few hundred header reads.
    """
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or len(items) < 64:
        return [fn(x) for x in track(items, description, len(items), progress)]
    chunksize = chunksize or max(1, min(64, len(items) // (workers * 8)))
    # "fork" shares the parent's imports (no re-import of numpy/soundfile per worker) on Linux.
    import multiprocessing

    method = "fork" if sys.platform.startswith("linux") else None
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        results = pool.map(fn, items, chunksize=chunksize)
        return list(track(results, description, len(items), progress))
