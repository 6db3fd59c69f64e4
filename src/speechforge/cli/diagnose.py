"""``speechforge diagnose``: the lecture's bias / variance table for a run, the verdict and what to try next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from speechforge.cli.data import JSON_OPTION, print_json
from speechforge.console import err_console
from speechforge.diagnosis.gaps import TABLE_ROWS


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def diagnosis_table(report: dict[str, Any], run: Path) -> Table:
    """Rows: baseline, the four errors, the four gaps, then the conclusion (the lecture's last column)."""
    from speechforge.diagnosis.gaps import conclusion

    table = Table(title=f"diagnosis of {run}", title_justify="left")
    table.add_column("")
    table.add_column("error rate", justify="right")
    for label, section, key in TABLE_ROWS:
        value = report[section] if key is None else report[section][key]
        if key == "variance" and report["errors"]["train_dev"] is None:
            label = "variance (dev − train, no train-dev)"
        table.add_row(label, _fmt(value), end_section=key in ("test", "dev_overfit"))
    table.add_row("conclusion", conclusion(report["verdict"]))
    return table


def print_report(report: dict[str, Any], run: Path) -> None:
    err_console.print(diagnosis_table(report, run))
    err_console.print(f"verdict: {', '.join(report['verdict'])}")
    for note in report["notes"]:
        err_console.print(f"[yellow]note:[/] {note}", markup=True)
    for f in report["dynamics"]:
        at = f" (epoch {f['epoch']})" if f["epoch"] is not None else ""
        err_console.print(f"training dynamics: {f['kind']}{at}: {f['message']}")
    if "overfit_check" in report:
        check = report["overfit_check"]
        err_console.print(f"overfit check: {'passed' if check['passed'] else 'FAILED'}: {check['message']}")
    if "learning_curve" in report:
        curve = report["learning_curve"]
        table = Table(title="learning curve", title_justify="left")
        for column in ("fraction", "train utterances", "train error", "dev error"):
            table.add_column(column, justify="right")
        for p in curve["points"]:
            table.add_row(f"{p['fraction']:g}", str(p["train_size"]), _fmt(p["train_error"]), _fmt(p["dev_error"]))
        err_console.print(table)
        err_console.print(f"{curve['message']} (plot: {curve['plot']})")
    recs = report["recommendations"]
    if recs:
        table = Table(title="what to try next (most promising first)", title_justify="left")
        for column in ("#", "action", "override", "why"):
            table.add_column(column, overflow="fold")
        for i, r in enumerate(recs, start=1):
            table.add_row(str(i), r["action"], r["override"] or "-", r["reason"])
        err_console.print(table)
        err_console.print(f"apply one: speechforge train {run / 'recipe.yaml'} OVERRIDE --out runs/NEW")
    print_error_analysis(report)
    err_console.print(f"wrote {run / 'diagnosis.json'} and {run / 'report.html'} (open it in a browser)")


def print_error_analysis(report: dict[str, Any], rows: int = 5) -> None:
    """Confused pairs, the worst slices of each field, the worst utterances and the suspects."""
    analysis = report.get("error_analysis")
    if analysis:
        err_console.print(
            f"error analysis on {analysis['manifest']}: {analysis['errors']} errors in "
            f"{analysis['utterances']} utterances"
        )
        if analysis["confused_pairs"]:
            table = Table(title="most confused (true → predicted)", title_justify="left")
            for column in ("true", "predicted", "count", "share of errors"):
                table.add_column(column)
            for p in analysis["confused_pairs"][:rows]:
                table.add_row(p["true"], p["predicted"], str(p["count"]), f"{p['share_of_errors']:.0%}")
            err_console.print(table)
        for field, groups in analysis["slices"].items():
            bad = [g for g in groups if g["errors"]][:rows]
            if bad:
                shown = ", ".join(
                    f"{g['value']} {g['error_rate']:.0%} ({g['share_of_errors']:.0%} of errors)" for g in bad
                )
                err_console.print(f"worst {field}: {shown}")
        if analysis["worst"]:
            table = Table(title="worst-misclassified utterances", title_justify="left")
            for column in ("id", "label", "predicted", "p(label)", "audio"):
                table.add_column(column, overflow="fold")
            for w in analysis["worst"][:rows]:
                p = w.get("p_label")
                table.add_row(w["id"], w["label"], w["predicted"], "-" if p is None else f"{p:.3f}", w["audio"])
            err_console.print(table)
    if report.get("suspects"):
        table = Table(title="suspected label errors (lowest self-confidence first)", title_justify="left")
        for column in ("split", "id", "label", "predicted", "score"):
            table.add_column(column, overflow="fold")
        for s in report["suspects"][: rows * 2]:
            table.add_row(s["split"], s["id"], s["label"], s["predicted"], f"{s['score']:.3f}")
        err_console.print(table)


def diagnose_command(
    run: Path = typer.Argument(..., help="Run folder made by `speechforge train`."),
    baseline: float | None = typer.Option(
        None, "--baseline", help="Human-level / best-known error rate (default: the recipe's baseline_error, else 0)."
    ),
    as_json: bool = JSON_OPTION,
    learning_curve: bool = typer.Option(
        False, "--learning-curve", help="Retrain on growing subsets of train; plot train/dev error vs size."
    ),
    fractions: str = typer.Option("0.1,0.25,0.5,1.0", "--fractions", help="Training-set fractions for the curve."),
    overfit_check: bool = typer.Option(
        False, "--overfit-check", help="Train on one batch of 16 utterances: can the model reach ~0 train error?"
    ),
    bias_threshold: float = typer.Option(0.02, "--bias-threshold", min=0, help="Avoidable bias above this: high_bias."),
    variance_threshold: float = typer.Option(
        0.02, "--variance-threshold", min=0, help="Variance above this: high_variance."
    ),
    mismatch_threshold: float = typer.Option(
        0.02, "--mismatch-threshold", min=0, help="Data mismatch above this: data_mismatch."
    ),
    dev_overfit_threshold: float = typer.Option(
        0.02, "--dev-overfit-threshold", min=0, help="Test − dev above this: dev_overfit."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Manifest for the error analysis (default: the run's dev manifest)."
    ),
    slices: list[str] = typer.Option(
        [],
        "--slice",
        help="Also slice the errors by this manifest field (repeatable); speaker, duration, "
        "SNR and language are always sliced.",
    ),
    worst: int = typer.Option(10, "--worst", min=0, help="How many worst-misclassified utterances to list."),
    suspects: bool = typer.Option(
        False, "--suspects", help="Rank suspected label errors (k-fold confident learning; retrains the recipe)."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Folds for --suspects."),
    suspect_splits: str = typer.Option("train", "--suspect-splits", help="Splits to search, e.g. train,dev."),
    export_suspects: Path | None = typer.Option(
        None, "--export-suspects", help="Write the suspects as a manifest for review (implies --suspects)."
    ),
) -> None:
    """Diagnose bias, variance, data mismatch and dev overfitting of a run; recommend recipe overrides."""
    from speechforge.diagnosis import Thresholds, diagnose
    from speechforge.diagnosis.curves import parse_fractions

    thresholds = Thresholds(bias_threshold, variance_threshold, mismatch_threshold, dev_overfit_threshold)
    report = diagnose(
        run,
        baseline=baseline,
        thresholds=thresholds,
        learning_curve=parse_fractions(fractions) if learning_curve else None,
        overfit_check=overfit_check,
        errors_on=manifest if manifest is not None else True,
        slices=slices,
        worst=worst,
        suspects=suspects or export_suspects is not None,
        folds=folds,
        suspect_splits=[s.strip() for s in suspect_splits.split(",") if s.strip()],
    )
    if export_suspects is not None:
        from speechforge.diagnosis.suspects import export_suspects as write_suspects

        write_suspects(report["suspects"], export_suspects)
        err_console.print(f"wrote {len(report['suspects'])} suspects to {export_suspects} for review")
    if as_json:
        print_json(report)
    else:
        print_report(report, run)
