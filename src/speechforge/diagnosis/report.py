"""``RUN/report.html``: the diagnosis of a run in one self-contained HTML file, readable offline.

Everything is inline: the CSS, every PNG under ``RUN/plots/`` (loss, error, confusion matrices, learning
curve) as a base64 ``data:`` URI, and the audio of the first few listed utterances (worst errors, suspected
label errors) as ``data:audio/...`` URIs when short enough (:data:`MAX_EMBEDDED` files of at most
:data:`MAX_EMBED_SECONDS` seconds); any other audio is linked relative to the report's folder. No script, font or
style sheet is loaded from anywhere. Every string read from the run is escaped with :func:`html.escape`.

:func:`write_report` takes the ``diagnosis`` dict exactly as :func:`speechforge.diagnosis.diagnose` returns it
(or ``RUN/diagnosis.json`` holds it), plus optionally the ``errors`` dict of
:func:`speechforge.diagnosis.errors.analyze_errors` and the ``suspects`` list of
:func:`speechforge.diagnosis.suspects.find_suspects`. Parts that are missing are left out.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from speechforge.diagnosis.gaps import TABLE_ROWS
from speechforge.errors import SpeechforgeError

MAX_EMBEDDED = 10  # audio files embedded per report; the rest are linked
MAX_EMBED_SECONDS = 5.0
MAX_EMBED_BYTES = 2_000_000
AUDIO_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
PLOT_ORDER = ("loss", "error", "confusion", "learning_curve")


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:72em;
padding:0 1em;color:#1d2433;background:#fff;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:2px solid #dde3ee;
padding-bottom:.2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #cfd6e4;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#eef2f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.sep td{border-top:2px solid #7c8aa5}tr.conclusion td{font-weight:600;background:#f7f9fc}
code{background:#f1f3f7;padding:.1em .3em;border-radius:3px;font-size:.92em}
#verdict{display:inline-block;font-size:1.2em;font-weight:700;padding:.25em .7em;border-radius:4px;
background:#fdecea;color:#8a1c12}#verdict.good{background:#e7f6ea;color:#1b6b2a}
.muted{color:#5b6475}.figs{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;border:1px solid #dde3ee;padding:.5em;background:#fafbfd}figure img{max-width:34em;height:auto;
display:block}figcaption{font-size:.9em;color:#5b6475}audio{height:2em;max-width:18em}
ul.notes li{margin:.2em 0}
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _pct(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{100 * value:.1f}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """``rows`` are already-escaped HTML cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _plots(run: Path) -> list[Path]:
    """Every PNG under ``RUN/plots/``: loss, error, confusion_*, learning_curve, then the rest by name."""
    folder = run / "plots"
    if not folder.is_dir():
        return []

    def key(p: Path) -> tuple[int, str]:
        rank = next((i for i, prefix in enumerate(PLOT_ORDER) if p.stem.startswith(prefix)), len(PLOT_ORDER))
        return rank, p.as_posix()

    return sorted((p for p in folder.rglob("*.png") if p.is_file()), key=key)


def _figure(path: Path, run: Path) -> str:
    name = path.relative_to(run).as_posix()
    return (
        f'<figure><img src="{_data_uri(path, "image/png")}" alt="{escape(name)}">'
        f"<figcaption>{escape(name)}</figcaption></figure>"
    )


class _Audio:
    """Embeds the first :data:`MAX_EMBEDDED` short audio files, links the others relative to the report."""

    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        self.embedded = 0

    def _embeddable(self, path: Path) -> bool:
        if self.embedded >= MAX_EMBEDDED or path.suffix.lower() not in AUDIO_MIME:
            return False
        if path.stat().st_size > MAX_EMBED_BYTES:
            return False
        try:
            import soundfile as sf

            return bool(sf.info(str(path)).duration <= MAX_EMBED_SECONDS)
        except Exception:
            return False

    def player(self, audio: Any) -> str:
        if not audio:
            return '<span class="muted">-</span>'
        path = Path(str(audio))
        if not path.is_file():
            return f'<span class="muted">missing: {escape(str(audio))}</span>'
        if self._embeddable(path):
            self.embedded += 1
            src = _data_uri(path, AUDIO_MIME[path.suffix.lower()])
            return f'<audio controls preload="none" src="{src}"></audio>'
        try:
            href = Path(os.path.relpath(path.resolve(), self.report_dir.resolve())).as_posix()
        except ValueError:  # another drive (Windows)
            href = path.resolve().as_uri()
        link = escape(href, quote=True)
        return f'<audio controls preload="none" src="{link}"></audio> <a href="{link}">{escape(path.name)}</a>'


def _summary(run: Path) -> str:
    """Run folder, recipe model / optimizer line, labels and best epoch (what of it the run has)."""
    items = [f"<li>run: <code>{escape(str(run))}</code></li>"]
    recipe_path = run / "recipe.yaml"
    if recipe_path.is_file():
        try:
            import yaml

            recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8")) or {}
        except Exception:
            recipe = {}
        model = recipe.get("model") if isinstance(recipe, dict) else None
        opt = recipe.get("optimizer") if isinstance(recipe, dict) else None
        if isinstance(model, dict):
            width = model.get("channels") or model.get("hidden")
            text = str(model.get("name", "?")) + (f" {width}" if width else "")
            items.append(f"<li>model: <code>{escape(text)}</code></li>")
        if isinstance(opt, dict):
            text = f"{opt.get('name', '?')}, lr {opt.get('lr', '?')}, batch {opt.get('batch_size', '?')}"
            items.append(f"<li>optimizer: <code>{escape(text)}</code></li>")
    metrics: dict[str, Any] = {}
    try:
        loaded = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        metrics = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass
    labels = metrics.get("labels")
    if isinstance(labels, list) and labels:
        items.append(f"<li>labels ({len(labels)}): {escape(', '.join(str(x) for x in labels))}</li>")
    if metrics.get("best_epoch") is not None:
        epochs = f" of {metrics['epochs']}" if metrics.get("epochs") is not None else ""
        early = " (stopped early)" if metrics.get("stopped_early") else ""
        items.append(f"<li>best epoch: {escape(str(metrics['best_epoch']))}{escape(epochs)}{early}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _verdict_section(d: dict[str, Any]) -> str:
    from speechforge.diagnosis.gaps import CONCLUSION

    verdict = [str(v) for v in d.get("verdict") or []]
    rows = []
    for label, section, key in TABLE_ROWS:
        part = d.get(section)
        value = part if key is None else (part or {}).get(key) if isinstance(part, dict) else None
        if key == "variance" and (d.get("errors") or {}).get("train_dev") is None:
            label = "variance (dev − train, no train-dev)"
        cls = ' class="sep"' if key in ("avoidable_bias",) else ""
        rows.append(f'<tr{cls}><td>{escape(label)}</td><td class="num">{_fmt(value)}</td></tr>')
    conclusion = "; ".join(CONCLUSION.get(v, v) for v in verdict)
    rows.append(f'<tr class="conclusion"><td>conclusion</td><td>{escape(conclusion)}</td></tr>')
    cls = "good" if verdict == ["good"] else "bad"
    return (
        f'<h2>Verdict</h2><p><span id="verdict" class="{cls}">{escape(", ".join(verdict))}</span></p>'
        "<table><thead><tr><th></th><th>error rate</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _diagnosis_sections(d: dict[str, Any], run: Path) -> list[str]:
    out = [_verdict_section(d)]
    recs = d.get("recommendations") or []
    if recs:
        rows = [
            (
                str(i),
                escape(str(r.get("action", ""))),
                f"<code>{escape(str(r['override']))}</code>" if r.get("override") else "-",
                escape(str(r.get("reason", ""))),
            )
            for i, r in enumerate(recs, start=1)
        ]
        out.append(
            "<h2>What to try next (most promising first)</h2>" + _table(("#", "action", "override", "why"), rows)
        )
        out.append(
            f"<p class=muted>apply one: <code>speechforge train {escape(str(run / 'recipe.yaml'))} OVERRIDE "
            "--out runs/NEW</code></p>"
        )
    dynamics = d.get("dynamics") or []
    check = d.get("overfit_check")
    if dynamics or check:
        items = [
            f"<li><b>{escape(str(f.get('kind', '')))}</b>"
            + (f" (epoch {escape(str(f['epoch']))})" if f.get("epoch") is not None else "")
            + f": {escape(str(f.get('message', '')))}</li>"
            for f in dynamics
        ]
        if isinstance(check, dict):
            state = "passed" if check.get("passed") else "FAILED"
            items.append(f"<li><b>overfit check: {state}</b>: {escape(str(check.get('message', '')))}</li>")
        out.append("<h2>Training dynamics</h2><ul class=notes>" + "".join(items) + "</ul>")
    notes = d.get("notes") or []
    if notes:
        out.append("<h2>Notes</h2><ul class=notes>" + "".join(f"<li>{escape(str(n))}</li>" for n in notes) + "</ul>")
    return out


def _plot_sections(d: dict[str, Any], run: Path) -> list[str]:
    plots = _plots(run)
    curve_pngs = [p for p in plots if p.stem.startswith("learning_curve")]
    others = [p for p in plots if p not in curve_pngs]
    out = []
    if others:
        out.append(
            '<h2>Curves and confusion matrices</h2><div class="figs">' + "".join(_figure(p, run) for p in others)
        )
        out[-1] += "</div>"
    curve = d.get("learning_curve")
    if isinstance(curve, dict) or curve_pngs:
        html = "<h2>Learning curve</h2>"
        if isinstance(curve, dict):
            rows = [
                (
                    f"{p.get('fraction', 0):g}",
                    _fmt(p.get("train_size")),
                    _fmt(p.get("train_error")),
                    _fmt(p.get("dev_error")),
                )
                for p in curve.get("points") or []
            ]
            html += _table(("fraction", "train utterances", "train error", "dev error"), rows, numeric=(0, 1, 2, 3))
            html += f"<p>{escape(str(curve.get('message', '')))}</p>"
        html += '<div class="figs">' + "".join(_figure(p, run) for p in curve_pngs) + "</div>"
        out.append(html)
    return out


def _errors_section(errors: dict[str, Any], audio: _Audio) -> str:
    html = "<h2>Error analysis</h2>"
    rows: list[tuple[str, ...]]
    header: tuple[str, ...]
    if errors.get("utterances") is not None:
        where = f" on <code>{escape(str(errors['manifest']))}</code>" if errors.get("manifest") else ""
        html += (
            f"<p>misclassified: {_fmt(errors.get('errors'))} of {_fmt(errors.get('utterances'))} utterances"
            f" (error rate {_pct(errors.get('error_rate'))}){where}.</p>"
        )
    pairs = errors.get("confused_pairs") or []
    if pairs:
        rows = [
            (
                escape(str(p.get("true"))),
                escape(str(p.get("predicted"))),
                _fmt(p.get("count")),
                _pct(p.get("share_of_errors")),
            )
            for p in pairs
        ]
        html += "<h3>Most confused pairs</h3>" + _table(("true", "predicted", "count", "share of errors"), rows, (2, 3))
    for field, slices in (errors.get("slices") or {}).items():
        rows = [
            (
                escape(str(s.get("value"))),
                _fmt(s.get("utterances")),
                _fmt(s.get("errors")),
                _pct(s.get("error_rate")),
                _pct(s.get("share_of_errors")),
            )
            for s in slices
        ]
        header = (str(field), "utterances", "errors", "error rate", "share of errors")
        html += f"<h3>Errors by {escape(str(field))}</h3>" + _table(header, rows, (1, 2, 3, 4))
    worst = errors.get("worst") or []
    if worst:
        rows = [
            (
                escape(str(w.get("id"))),
                escape(str(w.get("label"))),
                escape(str(w.get("predicted"))),
                _fmt(w.get("p_label"), 3),
                _fmt(w.get("p_predicted"), 3),
                audio.player(w.get("audio")),
            )
            for w in worst
        ]
        header = ("id", "label", "predicted", "p(label)", "p(predicted)", "listen")
        html += "<h3>Worst errors (listen to these first)</h3>" + _table(header, rows, (3, 4))
    return html


def _suspects_section(suspects: list[dict[str, Any]], audio: _Audio) -> str:
    if not suspects:
        return "<h2>Suspected label errors</h2><p>none found.</p>"
    rows = [
        (
            escape(str(s.get("id"))),
            escape(str(s.get("split", ""))),
            escape(str(s.get("label"))),
            escape(str(s.get("predicted"))),
            _fmt(s.get("score"), 3),
            audio.player(s.get("audio")),
        )
        for s in suspects
    ]
    header = ("id", "split", "label", "predicted", "p(label)", "listen")
    return "<h2>Suspected label errors</h2>" + _table(header, rows, (4,))


def write_report(
    run: str | Path,
    diagnosis: dict[str, Any],
    *,
    errors: dict[str, Any] | None = None,
    suspects: list[dict[str, Any]] | None = None,
    out: Path | None = None,
) -> Path:
    """Write the self-contained HTML report of ``run`` (default ``RUN/report.html``) and return its path.

    ``errors`` / ``suspects`` default to the diagnosis' own ``error_analysis`` / ``suspects`` entries when it has
    them (``speechforge diagnose`` adds them); pass them explicitly to override.
    """
    run = Path(run)
    if not run.is_dir():
        raise SpeechforgeError("run folder not found (train one with `speechforge train`)", path=run)
    if errors is None and isinstance(diagnosis.get("error_analysis"), dict):
        errors = diagnosis["error_analysis"]
    if suspects is None and isinstance(diagnosis.get("suspects"), list):
        suspects = diagnosis["suspects"]
    out = Path(out) if out is not None else run / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    audio = _Audio(out.parent)
    parts = [f"<h1>Diagnosis of {escape(run.name or str(run))}</h1>", _summary(run)]
    parts += _diagnosis_sections(diagnosis, run)
    parts += _plot_sections(diagnosis, run)
    if errors is not None:
        parts.append(_errors_section(errors, audio))
    if suspects is not None:
        parts.append(_suspects_section(suspects, audio))
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>speechforge diagnosis: {escape(run.name or str(run))}</title><style>{CSS}</style></head>"
        "<body>\n" + "\n".join(parts) + "\n<p class=muted>written by speechforge</p></body></html>\n"
    )
    out.write_text(html, encoding="utf-8")
    return out


def report_from_run(run: str | Path) -> Path:
    """Write ``RUN/report.html`` from ``RUN/diagnosis.json``."""
    path = Path(run) / "diagnosis.json"
    if not path.is_file():
        raise SpeechforgeError(f"missing: run `speechforge diagnose {run}` first", path=path)
    try:
        diagnosis = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpeechforgeError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    if not isinstance(diagnosis, dict):
        raise SpeechforgeError("expected a JSON object (the output of `speechforge diagnose`)", path=path)
    return write_report(run, diagnosis)


__all__ = ["report_from_run", "write_report"]
