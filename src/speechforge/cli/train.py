"""``speechforge train``, ``evaluate``, ``predict`` and ``export``: the model's life after the data."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from speechforge.cli.data import JSON_OPTION, print_json
from speechforge.console import err_console, print_error


def train_command(
    recipe: Path = typer.Argument(..., help="Recipe YAML (recipes/*.yaml)."),
    overrides: list[str] = typer.Argument(None, help="dotted.key=value overrides, e.g. optimizer.lr=0.01"),
    out: Path = typer.Option(..., "--out", help="Run folder to create, e.g. runs/digits."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last.ckpt."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run already in --out."),
) -> None:
    """Train a model from a recipe; writes checkpoints, history.csv, plots and metrics.json into --out."""
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train

    items = list(overrides or []) + (["training.resume=true"] if resume else [])
    result = train(load_recipe(recipe, items), out, overwrite=overwrite)
    table = Table(
        title=f"run {result.run_dir} (best dev epoch {result.metrics.get('best_epoch')})",
        title_justify="left",
    )
    for column in ("split", "utterances", "accuracy", "error rate", "macro F1"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split in ("train", "train_dev", "dev", "test"):
        m = result.metrics.get(split)
        if m:
            table.add_row(
                split,
                str(m["utterances"]),
                f"{m['accuracy']:.4f}",
                f"{m['error_rate']:.4f}",
                f"{m['macro_f1']:.4f}",
            )
    err_console.print(table)
    err_console.print(f"wrote {result.run_dir}/metrics.json, history.csv, best.ckpt, last.ckpt, plots/")


def evaluate_command(
    run: Path = typer.Argument(..., help="Run folder made by `speechforge train`."),
    manifest: Path = typer.Option(..., "--manifest", help="Manifest to evaluate on, e.g. splits/test.jsonl."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score the run's best model on a manifest: accuracy, error rate, per-class P/R/F1, confusion matrix."""
    from speechforge.evaluation.classification import evaluate

    metrics = evaluate(run, manifest)
    if as_json:
        print_json(metrics)
        return
    table = Table(
        title=f"{manifest}: accuracy {metrics['accuracy']:.4f}, error rate {metrics['error_rate']:.4f}, "
        f"macro F1 {metrics['macro_f1']:.4f}",
        title_justify="left",
    )
    for column in ("label", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, m in metrics["per_class"].items():
        table.add_row(label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    err_console.print(table)
    if metrics.get("roc_auc") is not None:
        err_console.print(f"ROC AUC {metrics['roc_auc']:.4f}")
    err_console.print(f"wrote {Path(run) / 'eval' / Path(manifest).stem}/metrics.json and confusion.png")


def predict_command(
    run: Path = typer.Argument(..., help="Run folder."),
    files: list[Path] = typer.Argument(..., help="Audio files (wav, flac, ogg, mp3; any rate, mono or stereo)."),
    top_k: int = typer.Option(1, "--top-k", min=1, help="How many best labels to show per file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Classify audio files with the run's best model."""
    from speechforge.deploy.predict import predict

    results = predict(run, files, top_k=top_k)
    failed = [r for r in results if "error" in r]
    if as_json:
        print_json(results)
    else:
        for r in results:
            if "error" in r:
                print_error(r["error"])
                continue
            ranked = ", ".join(f"{t['label']} {t['probability']:.3f}" for t in r["top"])
            print(f"{r['file']}\t{r['label']}\t{ranked}")
    if failed:
        err_console.print(f"{len(failed)} of {len(results)} file(s) could not be read")
        raise typer.Exit(1)


def export_command(
    run: Path = typer.Argument(..., help="Run folder."),
    format: str = typer.Option("onnx", "--format", help="onnx | torchscript"),
    out: Path = typer.Option(..., "--out", help="Folder for model.onnx / model.pt and model.json."),
) -> None:
    """Export the run as one self-contained model: waveform → class probabilities."""
    from speechforge.deploy.export import export

    path = export(run, out, format=format)
    err_console.print(f"wrote {path} and {path.parent / 'model.json'}")
