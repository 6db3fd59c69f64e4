"""``speechforge score``: WER, CER or BLEU of a hypothesis file against a reference file.

Both files hold one utterance per line, or ``id<TAB>text`` on every (non-blank) line, in which case lines are
matched by id: an id missing from the hypotheses counts as an empty hypothesis (all deletions) and is
reported; an id only in the hypotheses is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from speechforge.cli.data import JSON_OPTION, print_json
from speechforge.console import err_console
from speechforge.errors import SpeechforgeError

METRICS = ("wer", "cer", "bleu")
MISSING_SHOWN = 20


@dataclass
class Transcripts:
    """The utterances of one file: ``ids`` is None for plain files; ``lines`` are 1-based line numbers."""

    path: Path
    texts: list[str]
    lines: list[int]
    ids: list[str] | None = None


@dataclass
class Pairs:
    """References and hypotheses matched up, in reference order."""

    ids: list[str]
    refs: list[str]
    hyps: list[str]
    missing: list[str] = field(default_factory=list)


def read_transcripts(path: Path) -> Transcripts:
    """Read a transcript file: ``id<TAB>text`` when every non-blank line has a tab, else one text per line.

    In a plain file a blank line is an utterance with empty text; in an id file blank lines are skipped.
    """
    try:
        content = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpeechforgeError("no such file", path=path) from None
    except UnicodeDecodeError as exc:
        bad = content_line_of(Path(path).read_bytes(), exc.start)
        raise SpeechforgeError("not valid UTF-8 text; save the file as UTF-8", path=path, line=bad) from None
    except OSError as exc:
        raise SpeechforgeError(f"cannot read: {exc.strerror}", path=path) from None
    raw = content.removeprefix("\ufeff").splitlines()
    numbered = [(n, line) for n, line in enumerate(raw, start=1)]
    nonblank = [(n, line) for n, line in numbered if line.strip()]
    if not nonblank:
        raise SpeechforgeError("no utterances (the file is empty)", path=path)
    if not all("\t" in line for _, line in nonblank):
        return Transcripts(Path(path), [line for _, line in numbered], [n for n, _ in numbered])
    ids: list[str] = []
    texts: list[str] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for n, line in nonblank:
        utt_id, text = line.split("\t", 1)
        utt_id = utt_id.strip()
        if not utt_id:
            raise SpeechforgeError("empty utterance id before the tab", path=path, line=n)
        if utt_id in seen:
            raise SpeechforgeError(f"duplicate id {utt_id!r} (first on line {seen[utt_id]})", path=path, line=n)
        seen[utt_id] = n
        ids.append(utt_id)
        texts.append(text)
        lines.append(n)
    return Transcripts(Path(path), texts, lines, ids)


def content_line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


def pair_transcripts(ref: Transcripts, hyp: Transcripts) -> Pairs:
    """Match hypotheses to references, by id when both files have ids, else line by line."""
    if (ref.ids is None) != (hyp.ids is None):
        with_ids, without = (ref, hyp) if ref.ids is not None else (hyp, ref)
        raise SpeechforgeError(
            f"{with_ids.path} has id<TAB>text lines but {without.path} does not: use the same format in both"
        )
    if ref.ids is None or hyp.ids is None:
        if len(ref.texts) != len(hyp.texts):
            raise SpeechforgeError(
                f"{ref.path} has {len(ref.texts)} line(s) but {hyp.path} has {len(hyp.texts)}: give one hypothesis "
                "per reference line (or use id<TAB>text lines in both files)"
            )
        return Pairs([str(n) for n in ref.lines], list(ref.texts), list(hyp.texts))
    ref_ids = set(ref.ids)
    for utt_id, n in zip(hyp.ids, hyp.lines, strict=True):
        if utt_id not in ref_ids:
            raise SpeechforgeError(f"id {utt_id!r} is not in the references {ref.path}", path=hyp.path, line=n)
    by_id = dict(zip(hyp.ids, hyp.texts, strict=True))
    missing = [utt_id for utt_id in ref.ids if utt_id not in by_id]
    return Pairs(list(ref.ids), list(ref.texts), [by_id.get(utt_id, "") for utt_id in ref.ids], missing)


def score_files(
    metric: str, ref_path: Path, hyp_path: Path, normalize: bool | None = None, top_k: int = 10
) -> dict[str, Any]:
    """Score ``hyp_path`` against ``ref_path`` (the JSON printed by ``speechforge score --json``).

    ``normalize`` None means the metric's default: on for WER/CER (lowercase, strip punctuation, NFC), off
    for BLEU (sacreBLEU tokenizes itself and published BLEU is on cased, punctuated text).
    """
    from speechforge.text import TextNormalizer

    if metric not in METRICS:
        raise SpeechforgeError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    pairs = pair_transcripts(read_transcripts(ref_path), read_transcripts(hyp_path))
    if normalize is None:
        normalize = metric != "bleu"
    normalizer = TextNormalizer() if normalize else None
    refs, hyps = pairs.refs, pairs.hyps
    if normalizer is not None:
        refs, hyps = [normalizer(t) for t in refs], [normalizer(t) for t in hyps]
    result: dict[str, Any] = {"metric": metric, "ref": str(ref_path), "hyp": str(hyp_path)}
    if metric == "bleu":
        from speechforge.metrics.bleu import bleu

        result |= bleu(refs, hyps)
    else:
        from speechforge.metrics.asr import wer_details

        try:
            details = wer_details(refs, hyps, top_k=top_k)
        except SpeechforgeError as exc:
            raise SpeechforgeError(exc.message, path=ref_path) from None
        for utt_id, utt in zip(pairs.ids, details["per_utterance"], strict=True):
            utt["id"] = utt_id
        result |= details
    result["normalization"] = normalizer.to_dict() if normalizer is not None else None
    result["missing_ids"] = pairs.missing
    return result


def _print_tables(result: dict[str, Any]) -> None:
    title = f"{result['hyp']} against {result['ref']}"
    table = Table(title=title, title_justify="left")
    if result["metric"] == "bleu":
        for column in ("BLEU", "1-gram", "2-gram", "3-gram", "4-gram", "BP", "utterances"):
            table.add_column(column, justify="right")
        table.add_row(
            f"{result['score']:.2f}",
            *[f"{p:.1f}" for p in result["precisions"]],
            f"{result['bp']:.3f}",
            str(result["utterances"]),
        )
        err_console.print(table)
        err_console.print(f"sacreBLEU signature: {result['signature']}")
    else:
        columns = ["WER", "CER"] if result["metric"] == "wer" else ["CER", "WER"]
        for column in (*columns, "substitutions", "deletions", "insertions", "ref words", "utterances"):
            table.add_column(column, justify="right")
        rates = [f"{100 * result[c.lower()]:.2f}%" for c in columns]
        counts = ("substitutions", "deletions", "insertions", "ref_words", "utterances")
        table.add_row(*rates, *[str(result[k]) for k in counts])
        err_console.print(table)
        if result["top_substitutions"]:
            subs = Table(title="most frequent substitutions", title_justify="left")
            subs.add_column("reference")
            subs.add_column("hypothesis")
            subs.add_column("count", justify="right")
            for s in result["top_substitutions"]:
                subs.add_row(s["ref"], s["hyp"], str(s["count"]))
            err_console.print(subs)
        if result["empty_references"]:
            err_console.print(f"{result['empty_references']} empty reference(s): their words count as insertions")
    missing = result["missing_ids"]
    if missing:
        shown = ", ".join(missing[:MISSING_SHOWN]) + (
            f" ... and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
        )
        err_console.print(
            f"[yellow]{len(missing)} id(s) missing from {result['hyp']}, scored as empty hypotheses:[/] {shown}",
            markup=True,
        )
    norm = result["normalization"]
    err_console.print("normalization: " + (", ".join(f"{k}={v}" for k, v in norm.items()) if norm else "none"))


def score_command(
    metric: str = typer.Option("wer", "--metric", help="wer | cer | bleu (BLEU by sacreBLEU, for translation)."),
    ref: Path = typer.Option(..., "--ref", help="References: one utterance per line, or id<TAB>text lines."),
    hyp: Path = typer.Option(..., "--hyp", help="Hypotheses, same format; with ids, matched by id."),
    normalize: bool | None = typer.Option(
        None,
        "--normalize/--no-normalize",
        help="Lowercase, strip punctuation and NFC both sides before scoring (default: on for wer/cer, off for bleu).",
        show_default=False,
    ),
    top_k: int = typer.Option(10, "--top", min=0, help="How many frequent substitution pairs to show."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score hypotheses against references: WER, CER (with substitutions, deletions, insertions) or BLEU."""
    result = score_files(metric.lower(), ref, hyp, normalize=normalize, top_k=top_k)
    if as_json:
        print_json(result)
        return
    _print_tables(result)
