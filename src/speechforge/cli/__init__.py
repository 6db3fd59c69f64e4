"""The ``speechforge`` command. Each command group lives in its own module and is imported lazily enough
that commands which do not train never import torch or Lightning."""

from __future__ import annotations

import os
import sys

import typer

from speechforge.cli import data as data_cli
from speechforge.cli import diagnose as diagnose_cli
from speechforge.cli import lm as lm_cli
from speechforge.cli import score as score_cli
from speechforge.cli import sweep as sweep_cli
from speechforge.cli import train as train_cli
from speechforge.console import err_console, print_error
from speechforge.errors import SpeechforgeError

app = typer.Typer(
    name="speechforge",
    help="From a folder of audio to a trained, diagnosed and deployable speech model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_cli.app, name="data")
app.command("train")(train_cli.train_command)
app.command("evaluate")(train_cli.evaluate_command)
app.command("predict")(train_cli.predict_command)
app.command("export")(train_cli.export_command)
app.command("diagnose")(diagnose_cli.diagnose_command)
app.command("sweep")(sweep_cli.sweep_command)
app.command("score")(score_cli.score_command)
app.add_typer(lm_cli.app, name="lm")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of errors."),
) -> None:
    if debug:
        os.environ["SPEECHFORGE_DEBUG"] = "1"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line (no traceback) and exit with status 2."""
    try:
        app(args=argv, standalone_mode=True)
    except SpeechforgeError as exc:
        if os.environ.get("SPEECHFORGE_DEBUG") or "--debug" in sys.argv:
            raise
        print_error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main"]
