"""``speechforge sweep``: hyper-parameter search over a recipe (Optuna TPE, median pruning, resumable)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from speechforge.console import err_console
from speechforge.errors import SpeechforgeError


def sweep_command(
    recipe: Path = typer.Argument(..., help="Recipe YAML (recipes/*.yaml)."),
    overrides: list[str] = typer.Argument(None, help="dotted.key=value overrides applied to every trial."),
    space: Path = typer.Option(
        ...,
        "--space",
        help="SPACE.yaml: dotted recipe keys → {log_uniform|uniform|int|int_log: [low, high]} "
        "or {choice: [a, b, ...]}.",
    ),
    trials: int = typer.Option(..., "--trials", min=1, help="Number of trials in total (a resumed sweep included)."),
    out: Path = typer.Option(..., "--out", help="Sweep folder to create, e.g. sweeps/digits."),
    resume: bool = typer.Option(False, "--resume", help="Continue the sweep in --out (its study.db)."),
) -> None:
    """Search hyper-parameters: every trial trains the recipe with sampled values; writes trials.csv,
    best.yaml (train it with `speechforge train`) and plots into --out."""
    from speechforge.training.search_space import format_value
    from speechforge.training.sweep import sweep

    result = sweep(recipe, list(overrides or []), space, trials, out, resume=resume)
    best_number = result.best.number if result.best is not None else None
    table = Table(title=f"sweep {result.out}: {len(result.rows)} trial(s)", title_justify="left")
    for column in ("trial", "state", *result.space.keys, result.monitor, "epochs"):
        table.add_column(column, justify="left" if column in ("state", *result.space.keys) else "right")
    for r in result.rows:
        params = [
            "" if (v := r["params"][k]) is None else (v if isinstance(v, str) else format_value(_short(v)))
            for k in result.space.keys
        ]
        number = f"{r['number']}{' *' if r['number'] == best_number else ''}"
        value = "" if r["value"] is None else f"{r['value']:.4f}"
        table.add_row(number, r["state"], *params, value, "" if r["epochs"] is None else str(r["epochs"]))
    err_console.print(table)
    for note in result.notes:
        err_console.print(f"note: {note}")
    if result.best is None:
        errors = [r["error"] for r in result.rows if r["error"]]
        raise SpeechforgeError(
            "no trial completed" + (f"; first error: {errors[0]}" if errors else ""), path=result.out / "trials.csv"
        )
    err_console.print(
        f"best: trial {best_number} ({result.monitor} {result.best.value:.4f}); "
        f"train it with: speechforge train {result.out / 'best.yaml'} --out runs/NAME"
    )
    err_console.print("wrote " + ", ".join(str(p) for p in result.written))


def _short(value: object) -> object:
    """Floats with 4 significant digits in the table (trials.csv keeps them whole)."""
    return float(f"{value:.4g}") if isinstance(value, float) else value
