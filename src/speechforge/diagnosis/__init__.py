"""``speechforge diagnose``: the lecture's bias / variance / data-mismatch diagnosis of a finished run.

    gaps.py       errors, gaps and the verdict (thresholds documented there)
    recommend.py  the lecture's remedies as recipe overrides, ranked for the run
    dynamics.py   training-dynamics checks on history.csv, and the one-batch overfit check
    curves.py     the learning curve (retraining on nested subsets of train)

:func:`diagnose` assembles the report: ``{baseline, errors, gaps, verdict, recommendations, notes, dynamics}``
plus ``learning_curve`` and ``overfit_check`` when asked; it is also written to ``RUN/diagnosis.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from speechforge.diagnosis.gaps import (
    Thresholds,
    compute_gaps,
    compute_verdict,
    read_errors,
    read_metrics,
    resolve_baseline,
)
from speechforge.errors import SpeechforgeError


def diagnose(
    run: str | Path,
    *,
    baseline: float | None = None,
    thresholds: Thresholds | None = None,
    learning_curve: Sequence[float] | None = None,
    overfit_check: bool = False,
    errors_on: str | Path | bool | None = True,
    slices: Sequence[str] = (),
    worst: int = 10,
    suspects: bool = False,
    folds: int = 5,
    suspect_splits: Sequence[str] = ("train",),
    progress: bool = True,
    write: bool = True,
) -> dict[str, Any]:
    """Diagnose the run folder ``run``.

    Args:
        learning_curve: training-set fractions to retrain on (None: skip).
        overfit_check: train on one small batch and say whether the model can reach ~0 error.
        errors_on: error analysis (confused pairs, slices, worst items) on this manifest; True = the run's dev
            manifest, False/None = skip.
        slices: manifest fields to slice the errors by, besides speaker, duration, SNR and language.
        worst: how many worst-misclassified utterances to list.
        suspects: rank suspected label errors by confident learning on out-of-fold predictions (retrains the
            recipe ``folds`` times; slow) for ``suspect_splits``.
    """
    from speechforge.diagnosis.dynamics import check_dynamics, load_history, overfit_one_batch
    from speechforge.diagnosis.recommend import recommend
    from speechforge.training.run import RunDir

    rundir = RunDir(run)
    if not rundir.path.is_dir():
        raise SpeechforgeError("run folder not found (train one with `speechforge train`)", path=rundir.path)
    metrics = read_metrics(rundir.metrics_path)
    recipe = rundir.recipe()
    errors = read_errors(metrics, rundir.metrics_path)
    base, note = resolve_baseline(baseline, recipe.baseline_error)
    notes = [note] if note else []
    gaps, gap_notes = compute_gaps(base, errors)
    notes += gap_notes
    verdict = compute_verdict(gaps, thresholds or Thresholds())
    history = load_history(rundir.history_path)
    if not history:
        notes.append(f"{rundir.history_path} is missing or empty: training-dynamics checks skipped")
    dynamics = check_dynamics(history, recipe, metrics)

    report: dict[str, Any] = {"baseline": base, "errors": errors, "gaps": gaps, "verdict": verdict}
    helps = None
    if learning_curve:
        from speechforge.diagnosis.curves import learning_curve as run_curve

        report["learning_curve"] = run_curve(rundir.path, recipe, learning_curve, progress=progress)
        helps = report["learning_curve"]["more_data_helps"]
    if overfit_check:
        report["overfit_check"] = overfit_one_batch(rundir.path, recipe, progress=progress)
        if not report["overfit_check"]["passed"]:
            dynamics.append(
                {"kind": "cannot_overfit_one_batch", "message": report["overfit_check"]["message"], "epoch": None}
            )
    report["recommendations"] = recommend(
        recipe,
        verdict=verdict,
        baseline=base,
        errors=errors,
        gaps=gaps,
        history=history,
        dynamics=dynamics,
        metrics=metrics,
        more_data_helps=helps,
    )
    report["notes"] = notes
    report["dynamics"] = dynamics
    if errors_on:
        from speechforge.diagnosis.errors import analyze_asr_errors, analyze_errors

        manifest = recipe.data.dev if errors_on is True else Path(errors_on)
        if manifest is None:
            notes.append("error analysis skipped: the run's recipe has no data.dev; pass --manifest")
        else:
            analyze = analyze_asr_errors if recipe.task == "asr" else analyze_errors
            report["error_analysis"] = analyze(rundir.path, manifest, slices=slices, worst=worst, progress=progress)
    if suspects:
        from speechforge.diagnosis.suspects import find_suspects

        report["suspects"] = find_suspects(rundir.path, folds=folds, splits=suspect_splits, progress=progress)
    if write:
        (rundir.path / "diagnosis.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        from speechforge.diagnosis.report import write_report

        write_report(rundir.path, report)  # RUN/report.html: the same diagnosis, with plots and audio
    return report


__all__ = ["Thresholds", "diagnose"]
