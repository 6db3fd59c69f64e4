"""``speechforge data``: synth, import (folder | csv | kaldi | librispeech | commonvoice), split, check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from speechforge.console import err_console

app = typer.Typer(help="Gather, split and audit corpora.", no_args_is_help=True)
import_app = typer.Typer(help="Make a manifest from an existing corpus layout.", no_args_is_help=True)
app.add_typer(import_app, name="import")

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object to stdout and nothing else there.")
WORKERS_OPTION = typer.Option(None, "--workers", help="Worker processes (default: all cores).")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def print_skipped(skipped: list[Any], limit: int = 20) -> None:
    """Say how many items were skipped and list them (the first ``limit``; ``--json`` has all)."""
    if not skipped:
        return
    table = Table(title=f"skipped {len(skipped)} item(s)", title_justify="left", title_style="yellow")
    table.add_column("item", overflow="fold")
    table.add_column("reason", overflow="fold")
    for s in skipped[:limit]:
        table.add_row(s.item, s.reason)
    err_console.print(table)
    if len(skipped) > limit:
        err_console.print(f"... and {len(skipped) - limit} more (use --json for the full list)")


# ---------------------------------------------------------------------------------------------- synth
@app.command("synth")
def synth_command(
    corpus: str = typer.Argument(..., help="digits | commands | languages | asr"),
    out: Path = typer.Option(..., "--out", help="Output folder: wav files and manifest.jsonl."),
    speakers: int | None = typer.Option(None, "--speakers", min=1, help="Number of synthetic speakers."),
    per_speaker: int | None = typer.Option(
        None, "--per-speaker", min=1, help="Utterances per speaker (spread evenly over the labels)."
    ),
    seed: int = typer.Option(0, "--seed", help="Same seed, same bytes."),
    engine: str = typer.Option("espeak", "--engine", help="espeak (built in) | festival (Debian's voices)."),
    languages: str | None = typer.Option(
        None, "--languages", help="Comma-separated language codes for the languages corpus (default: all)."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="asr corpus only: digits (connected digit strings, default) | sentences."
    ),
    language: str | None = typer.Option(
        None, "--language", help="asr corpus only: language of the digit strings (default en; sentences: en)."
    ),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Synthesize a built-in corpus offline (eSpeak NG): 16 kHz mono wav files plus manifest.jsonl."""
    from speechforge.cli.tables import corpus_table
    from speechforge.data.summary import summarize
    from speechforge.data.synth import synth

    langs = [x.strip() for x in languages.split(",") if x.strip()] if languages else None
    result = synth(
        corpus,
        out,
        speakers=speakers,
        per_speaker=per_speaker,
        seed=seed,
        engine=engine,
        languages=langs,
        kind=kind,
        language=language,
        workers=workers,
    )
    summary = summarize(result.manifest)
    if as_json:
        print_json({"manifest": str(result.manifest_path), **summary.to_dict(), "seconds": result.seconds})
        return
    err_console.print(corpus_table({corpus: summary}, title=f"synthesized {corpus} corpus"))
    rate = summary.utterances / result.seconds if result.seconds else 0.0
    err_console.print(f"wrote {result.manifest_path} ({rate:.0f} utterances/s)")


# --------------------------------------------------------------------------------------------- import
def _finish_import(result: Any, out: Path, as_json: bool) -> None:
    from speechforge.cli.tables import corpus_table
    from speechforge.data.summary import summarize

    path = result.write(out)
    if as_json:
        print_json({"manifest": str(path), **result.to_dict()})
        return
    err_console.print(corpus_table({out.stem: summarize(result.manifest)}, title=f"imported {result.source}"))
    print_skipped(result.skipped)
    err_console.print(f"wrote {path} ({len(result.utterances)} utterances, {len(result.skipped)} skipped)")


@import_app.command("folder")
def import_folder_command(
    root: Path = typer.Argument(..., help="Folder of audio files (one sub-folder per class, or see --pattern)."),
    out: Path = typer.Option(..., "--out", help="Manifest to write (.jsonl)."),
    pattern: str | None = typer.Option(
        None,
        "--pattern",
        help="Regular expression matched against each file name; its named groups (label, speaker, any "
        r"other) become fields, e.g. '(?P<label>\d)_(?P<speaker>[a-z]+)_(?P<take>\d+)\.wav'.",
    ),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a folder: label from the sub-folder name, or from the file name with --pattern."""
    from speechforge.data.importers import import_folder

    _finish_import(import_folder(root, pattern=pattern, workers=workers), out, as_json)


@import_app.command("csv")
def import_csv_command(
    file: Path = typer.Argument(..., help="CSV or TSV file with a header row."),
    out: Path = typer.Option(..., "--out", help="Manifest to write (.jsonl)."),
    audio_col: str = typer.Option(..., "--audio-col", help="Column with the audio path (relative to the file)."),
    label_col: str | None = typer.Option(None, "--label-col", help="Column with the class label."),
    text_col: str | None = typer.Option(None, "--text-col", help="Column with the transcript."),
    speaker_col: str | None = typer.Option(None, "--speaker-col", help="Column with the speaker id."),
    id_col: str | None = typer.Option(None, "--id-col", help="Column with the utterance id (default: path)."),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a CSV/TSV table; other columns are kept as manifest fields."""
    from speechforge.data.importers import import_csv

    result = import_csv(
        file,
        audio_col=audio_col,
        label_col=label_col,
        text_col=text_col,
        speaker_col=speaker_col,
        id_col=id_col,
        workers=workers,
    )
    _finish_import(result, out, as_json)


@import_app.command("kaldi")
def import_kaldi_command(
    root: Path = typer.Argument(..., help="Kaldi data dir: wav.scp, utt2spk, text or utt2label, segments."),
    out: Path = typer.Option(..., "--out", help="Manifest to write (.jsonl)."),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a Kaldi data directory."""
    from speechforge.data.importers import import_kaldi

    _finish_import(import_kaldi(root, workers=workers), out, as_json)


@import_app.command("librispeech")
def import_librispeech_command(
    root: Path = typer.Argument(..., help="LibriSpeech folder (SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt below)."),
    out: Path = typer.Option(..., "--out", help="Manifest to write (.jsonl)."),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import LibriSpeech (OpenSLR layout): transcripts from *.trans.txt, speaker from the utterance id."""
    from speechforge.data.importers import import_librispeech

    _finish_import(import_librispeech(root, workers=workers), out, as_json)


@import_app.command("commonvoice")
def import_commonvoice_command(
    root: Path = typer.Argument(..., help="Common Voice language folder (validated.tsv, train.tsv, ..., clips/)."),
    out: Path = typer.Option(..., "--out", help="Manifest to write (.jsonl)."),
    split: str = typer.Option("validated", "--split", help="Table to read: validated | train | dev | test."),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import Common Voice: sentence as text, client_id as speaker, locale as language, clips/*.mp3."""
    from speechforge.data.importers import import_commonvoice

    _finish_import(import_commonvoice(root, split=split, workers=workers), out, as_json)


# ---------------------------------------------------------------------------------------------- split
@app.command("split")
def split_command(
    manifest: Path = typer.Argument(..., help="Manifest to split (.jsonl)."),
    out: Path = typer.Option(..., "--out", help="Folder for train/dev/test(/train_dev).jsonl."),
    ratios: str = typer.Option(
        "auto",
        "--ratios",
        help="'auto' (80,10,10 for small corpora, toward 98,1,1 near a million) or e.g. 80,10,10.",
    ),
    by: str | None = typer.Option(
        None, "--by", help="speaker (no speaker in two splits; default when speakers are known) | random."
    ),
    stratify: str | None = typer.Option(
        "label", "--stratify", help="Field whose distribution every split keeps ('none' to turn off)."
    ),
    train_dev: float = typer.Option(
        0.05,
        "--train-dev",
        min=0.0,
        max=0.5,
        help="Fraction of train held out as train_dev.jsonl (tells variance from data mismatch); 0 = none.",
    ),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Split a manifest into train / dev / test (+ train_dev), speaker-disjoint when speakers are known."""
    from speechforge.cli.tables import corpus_table
    from speechforge.data.split import split

    strat = None if stratify in (None, "", "none") else stratify
    result = split(manifest, out, ratios=ratios, by=by, stratify=strat, train_dev=train_dev, seed=seed)
    if as_json:
        print_json(result.to_dict())
        return
    err_console.print(corpus_table(result.summaries(), title=result.title()))
    for note in result.notes:
        err_console.print(f"note: {note}")
    err_console.print(f"wrote {', '.join(str(p) for p in result.paths.values())}")


# ---------------------------------------------------------------------------------------------- check
@app.command("check")
def check_command(
    paths: list[Path] = typer.Argument(..., help="Split folders and/or manifest files."),
    allow_speaker_overlap: bool | None = typer.Option(
        None,
        "--allow-speaker-overlap/--no-allow-speaker-overlap",
        help="Report shared speakers as a warning, not leakage (default: allowed only for splits "
        "made with --by random).",
    ),
    silence_dbfs: float = typer.Option(-60.0, "--silence-dbfs", help="Peak level below which a file is silent."),
    workers: int | None = WORKERS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Audit splits: leakage (speakers, identical audio), unreadable/empty/silent files, duplicate ids,
    label imbalance, duration outliers, and whether dev and test share one distribution.
    Exit status 1 on leakage or unreadable data."""
    from speechforge.cli.check_view import print_check_report
    from speechforge.data.check import check

    report = check(paths, allow_speaker_overlap=allow_speaker_overlap, silence_dbfs=silence_dbfs, workers=workers)
    if as_json:
        print_json(report.to_dict())
    else:
        print_check_report(report)
    if report.failed:
        raise typer.Exit(1)
