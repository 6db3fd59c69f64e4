"""``speechforge train``, ``evaluate``, ``predict`` and ``export``: the model's life after the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    if "tokenizer" in result.metrics:
        err_console.print(
            asr_table(f"run {result.run_dir} (best dev epoch {result.metrics.get('best_epoch')})", result.metrics)
        )
        err_console.print(f"wrote {result.run_dir}/metrics.json, history.csv, tokenizer, best.ckpt, last.ckpt, plots/")
        return
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


def asr_table(title: str, metrics: dict[str, Any]) -> Table:
    """WER / CER / S / D / I per split of an ASR run's metrics."""
    table = Table(title=title, title_justify="left")
    for column in ("split", "utterances", "WER", "CER", "sub", "del", "ins", "ref words"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split in ("train", "train_dev", "dev", "test"):
        m = metrics.get(split)
        if m:
            table.add_row(
                split,
                str(m["utterances"]),
                f"{m['wer']:.2%}",
                f"{m['cer']:.2%}",
                *(str(m[k]) for k in ("substitutions", "deletions", "insertions", "ref_words")),
            )
    return table


DECODER_OPTION = typer.Option("greedy", "--decoder", help="ASR runs: greedy | beam.")
LM_OPTION = typer.Option(None, "--lm", help="ASR runs: word n-gram LM (ARPA) for beam search.")
BEAM_OPTION = typer.Option(16, "--beam-size", min=1, help="ASR runs: beam size.")


def evaluate_command(
    run: Path = typer.Argument(..., help="Run folder made by `speechforge train`."),
    manifest: Path = typer.Option(..., "--manifest", help="Manifest to evaluate on, e.g. splits/test.jsonl."),
    decoder: str = DECODER_OPTION,
    lm: Path | None = LM_OPTION,
    beam_size: int = BEAM_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Score the run's best model on a manifest: accuracy, error rate, per-class P/R/F1 and confusion matrix
    for a classifier; WER, CER, S/D/I, RTF and the most frequent substitutions for a speech recognizer."""
    from speechforge.training.run import RunDir

    if RunDir(run).is_asr:
        evaluate_asr_command(run, manifest, decoder, lm, beam_size, as_json)
        return
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


def evaluate_asr_command(
    run: Path, manifest: Path, decoder: str, lm: Path | None, beam_size: int, as_json: bool
) -> None:
    from speechforge.evaluation.asr import evaluate_asr

    metrics = evaluate_asr(run, manifest, decoder=decoder, lm=lm, beam_size=beam_size)
    if as_json:
        print_json(metrics)
        return
    d = metrics["decoding"]
    how = f"beam search, beam {d['beam_size']}" if d["beam_size"] else d["decoder"]
    if d["lm"]:
        how += f", LM {d['lm']} (weight {d.get('lm_weight', 0.5):g}, word score {d.get('word_score', 0.0):g})"
    err_console.print(
        f"{manifest} ({how}): WER {metrics['wer']:.2%} ({metrics['substitutions']} sub, {metrics['deletions']} del, "
        f"{metrics['insertions']} ins of {metrics['ref_words']} words), CER {metrics['cer']:.2%}, "
        f"{metrics['utterances']} utterances, RTF {metrics['rtf']:.4f}"
    )
    pairs = metrics["top_substitutions"][:10]
    if pairs:
        table = Table(title="most frequent substitutions", title_justify="left")
        for column in ("reference", "hypothesis", "count"):
            table.add_column(column, justify="right" if column == "count" else "left")
        for p in pairs:
            table.add_row(p["ref"], p["hyp"], str(p["count"]))
        err_console.print(table)
    if metrics["skipped"]["count"]:
        err_console.print(f"[yellow]skipped {metrics['skipped']['count']} unreadable utterance(s)[/]")
    err_console.print(f"wrote {Path(run) / 'eval' / Path(manifest).stem}/metrics.json and hyps.jsonl")


def predict_command(
    run: Path = typer.Argument(..., help="Run folder."),
    files: list[Path] = typer.Argument(..., help="Audio files (wav, flac, ogg, mp3; any rate, mono or stereo)."),
    top_k: int = typer.Option(1, "--top-k", min=1, help="How many best labels to show per file."),
    decoder: str = DECODER_OPTION,
    lm: Path | None = LM_OPTION,
    beam_size: int = BEAM_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Classify (or, with a speech-recognition run, transcribe) audio files with the run's best model."""
    from speechforge.deploy.predict import predict

    results = predict(run, files, top_k=top_k, decoder=decoder, lm=lm, beam_size=beam_size)
    failed = [r for r in results if "error" in r]
    if as_json:
        print_json(results)
    else:
        for r in results:
            if "error" in r:
                print_error(r["error"])
                continue
            if "text" in r:
                print(f"{r['file']}\t{r['text']}")
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
    """Export the run as one self-contained model: waveform → class probabilities (or CTC log-probabilities)."""
    from speechforge.deploy.export import export

    path = export(run, out, format=format)
    err_console.print(f"wrote {path} and {path.parent / 'model.json'}")
