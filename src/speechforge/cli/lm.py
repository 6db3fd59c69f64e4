"""``speechforge lm``: n-gram language models for CTC decoding."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from speechforge.console import err_console
from speechforge.errors import SpeechforgeError

app = typer.Typer(help="Build and tune n-gram language models.", no_args_is_help=True)

BACKENDS = ("speechforge", "kenlm")
LMPLZ_HELP = (
    "--backend kenlm needs KenLM's lmplz on PATH, which PyPI does not provide: build it from "
    "https://github.com/kpu/kenlm (cmake, Boost) or use your distribution's package, "
    "or use --backend speechforge (the default)"
)


def _run_lmplz(text_files: list[Path], out: Path, order: int) -> None:
    """Build ``out`` with KenLM's ``lmplz`` (the text files are concatenated into one temporary file)."""
    lmplz = shutil.which("lmplz")
    if lmplz is None:
        raise SpeechforgeError(LMPLZ_HELP)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="speechforge-lm-") as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with open(corpus, "wb") as f:
            for path in text_files:
                data = path.read_bytes()
                f.write(data if data.endswith(b"\n") or not data else data + b"\n")
        # --discount_fallback: small corpora have count-of-counts of 0, like our own builder's fallback.
        cmd = [lmplz, "-o", str(order), "--text", str(corpus), "--arpa", str(out), "--discount_fallback"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise SpeechforgeError(f"lmplz failed (exit {proc.returncode}): {last}")


@app.command("build")
def build_command(
    text_files: list[Path] = typer.Argument(..., help="UTF-8 text files, one sentence per line.", show_default=False),
    order: int = typer.Option(3, "--order", "-o", help="Order of the n-gram model (1 or more)."),
    out: Path = typer.Option(..., "--out", help="The ARPA file to write.", show_default=False),
    backend: str = typer.Option("speechforge", "--backend", help="speechforge (built in) or kenlm (lmplz)."),
    as_json: bool = typer.Option(False, "--json", help="Print the n-gram counts as JSON on stdout."),
) -> None:
    """Build an ARPA n-gram model with interpolated modified Kneser–Ney smoothing and an <unk> entry."""
    from speechforge.decoding.lm import arpa_counts, build_arpa, read_sentences

    if order < 1:
        raise SpeechforgeError(f"--order must be at least 1, got {order}")
    if backend not in BACKENDS:
        raise SpeechforgeError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    for path in text_files:
        if not path.is_file():
            raise SpeechforgeError("text file not found", path=path)
    if backend == "kenlm":
        if shutil.which("lmplz") is None:
            raise SpeechforgeError(LMPLZ_HELP)
        read_sentences(text_files)  # the same checks (UTF-8, not empty) as the built-in builder
        _run_lmplz(text_files, out, order)
        counts = arpa_counts(out)
    else:
        counts = build_arpa(text_files, out, order).counts
    table = Table(title=f"{out} ({backend}, order {order})", title_justify="left")
    table.add_column("order", justify="right")
    table.add_column("n-grams", justify="right")
    for n, count in enumerate(counts, 1):
        table.add_row(str(n), str(count))
    err_console.print(table)
    if order == 1:
        err_console.print("note: KenLM and the decoders built on it cannot load unigram models: use --order 2 or more")
    if as_json:
        typer.echo(json.dumps({"out": str(out), "backend": backend, "order": order, "ngrams": counts}))


@app.command("tune")
def tune_command(
    run: Path = typer.Argument(..., help="ASR run folder made by `speechforge train`.", show_default=False),
    manifest: Path = typer.Option(..., "--manifest", help="Dev manifest with text.", show_default=False),
    lm: Path = typer.Option(..., "--lm", help="Word n-gram LM (ARPA), e.g. from `lm build`.", show_default=False),
    beam_size: int = typer.Option(16, "--beam-size", min=1, help="Beam size."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Grid-search the LM weight and word score on dev; the best is stored in RUN/decoding.json and used by
    `evaluate` / `predict` with the same --lm."""
    from speechforge.evaluation.asr import tune_decoding

    result = tune_decoding(run, manifest, lm, beam_size=beam_size)
    err_console.print(
        f"best on {manifest}: lm_weight {result['lm_weight']:g}, word_score {result['word_score']:g} → "
        f"WER {result['wer']:.2%} (greedy {result['greedy_wer']:.2%}); wrote {Path(run) / 'decoding.json'}"
    )
    if as_json:
        typer.echo(json.dumps(result))
