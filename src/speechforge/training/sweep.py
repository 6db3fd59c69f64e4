"""``speechforge sweep``: search the recipe's hyper-parameters instead of guessing them.

Optuna drives the search: a TPE sampler seeded from ``training.seed`` proposes values for the keys of
SPACE.yaml, every trial is an ordinary ``speechforge train`` run, and a median pruner stops trials whose dev
curve is worse than the median of earlier trials at the same epoch. The objective is the best dev value of the
recipe's early-stopping monitor (``dev_error`` or ``dev_loss``), minimized.

    sweeps/NAME/
      study.db           the Optuna study (SQLite): a killed sweep continues with --resume
      sweep.yaml         recipe, overrides and space the sweep started with (checked on --resume)
      trials/<number>/   each trial's run folder (recipe.yaml, history.csv, checkpoints, ...)
      trials.csv         number, state, one column per parameter, the dev value, epochs
      best.yaml          the full resolved recipe with the best parameters: `speechforge train` it
      plots/             trials.png (dev value per trial, best so far), importance.png
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml
from lightning.pytorch.callbacks import Callback
from optuna.trial import FrozenTrial, TrialState

from speechforge.console import err_console
from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import Recipe, load_recipe
from speechforge.training.search_space import SearchSpace, format_value, load_space
from speechforge.training.trainer import read_split, train

STUDY_NAME = "speechforge-sweep"
STATE_NAMES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
}


class PruningCallback(Callback):
    """Reports each epoch's monitored dev value to an Optuna trial; raises ``TrialPruned`` when it should stop."""

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        self.reported = 0  # epochs reported so far

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or math.isnan(float(value)):
            return
        epoch = int(trainer.current_epoch) + 1
        self.trial.report(float(value), epoch)
        self.reported += 1
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.monitor} {float(value):.4g} at epoch {epoch} is worse than the median")


@dataclass
class SweepResult:
    out: Path
    monitor: str
    space: SearchSpace
    rows: list[dict[str, Any]]  # one per trial: number, state, params, value, epochs, error
    best: FrozenTrial | None
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_propagation()
    logging.getLogger("optuna").setLevel(logging.WARNING)


def trial_recipe(
    recipe_path: str | Path, overrides: Sequence[str], space: SearchSpace, values: dict[str, Any]
) -> Recipe:
    """The recipe of a trial: the sweep's recipe and overrides, then the sampled values (validated)."""
    recipe = load_recipe(recipe_path, [*overrides, *space.overrides(values)])
    recipe.training.resume = False
    return recipe


def check_space(recipe_path: str | Path, overrides: Sequence[str], space: SearchSpace) -> Recipe:
    """Before any trial: the recipe loads, every bound / choice of the space is a valid value of its key, and
    the train and dev manifests can be read. Returns the base recipe."""
    base = load_recipe(recipe_path, overrides)
    for param in space.params:
        for value in param.extremes():
            try:
                load_recipe(recipe_path, [*overrides, param.override(value)])
            except SpeechforgeError as exc:
                shown = value if param.kind == "choice" else format_value(value)
                raise SpeechforgeError(
                    f"{param.key}: {shown} is not valid for the recipe: {exc.message}", path=space.path
                ) from None
    for split in ("train", "dev"):
        read_split(base, split)
    return base


def _sweep_settings(recipe_path: str | Path, overrides: Sequence[str], space: SearchSpace) -> dict[str, Any]:
    return {"recipe": str(Path(recipe_path).resolve()), "overrides": list(overrides), "space": space.raw}


def open_study(out: Path, settings: dict[str, Any], seed: int, resume: bool) -> optuna.Study:
    """Create the sweep folder and its SQLite study, or reopen it (``resume``). Never overwrites a sweep."""
    db, settings_path = out / "study.db", out / "sweep.yaml"
    if resume:
        if not db.is_file():
            raise SpeechforgeError("no study.db to resume: start the sweep without --resume", path=out)
        if settings_path.is_file():
            before = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
            changed = [k for k in ("recipe", "overrides", "space") if before.get(k) != settings[k]]
            if changed:
                raise SpeechforgeError(
                    f"--resume with a different {', '.join(changed)} than the sweep started with "
                    f"(see {settings_path}); start a new sweep with another --out",
                    path=out,
                )
    else:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise SpeechforgeError(
                "the folder already holds a sweep; pass --resume to continue it, or choose another --out", path=out
            )
        out.mkdir(parents=True, exist_ok=True)
        settings_path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    storage = optuna.storages.RDBStorage(f"sqlite:///{db.resolve()}")
    study = optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        load_if_exists=resume,
    )
    if resume:
        requeue_interrupted(study, storage)
    # Seeded from training.seed; offset by the trials already there so that a resumed sweep does not
    # propose the same values again.
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def requeue_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
    """Trials left running by a killed sweep are marked failed (``interrupted``) and enqueued again."""
    requeued = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, user_attrs={"rerun_of": t.number})
        requeued.append(t.number)
    if requeued:
        err_console.print(f"re-running interrupted trial(s) {', '.join(map(str, requeued))}")
    return requeued


def finished(study: optuna.Study) -> int:
    """Trials that count towards --trials: complete, pruned, or failed for a reason other than an interruption."""
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted"))
    )


def run_trial(
    study: optuna.Study,
    recipe_path: str | Path,
    overrides: Sequence[str],
    space: SearchSpace,
    out: Path,
    monitor: str,
) -> FrozenTrial:
    """Ask for one trial, train it, tell the study how it went."""
    trial = study.ask()
    values = space.suggest(trial)
    run_dir = out / "trials" / str(trial.number)
    trial.set_user_attr("run", str(run_dir))
    pruning = PruningCallback(trial, monitor)
    try:
        recipe = trial_recipe(recipe_path, overrides, space, values)
        result = train(recipe, run_dir, overwrite=True, progress=False, callbacks=[pruning])
    except optuna.TrialPruned:
        trial.set_user_attr("epochs", pruning.reported)
        study.tell(trial, state=TrialState.PRUNED)
    except SpeechforgeError as exc:  # e.g. a sampled combination the recipe rejects, or a diverged run
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=TrialState.FAIL)
    except BaseException:
        # Killed or Ctrl+C: stays "running" in study.db; --resume marks it failed and runs it again.
        trial.set_user_attr("interrupted", True)
        raise
    else:
        curve = [row[monitor] for row in result.history if not math.isnan(row[monitor])]
        trial.set_user_attr("epochs", len(result.history))
        if curve:
            study.tell(trial, min(curve))
        else:
            trial.set_user_attr("error", f"{monitor} was never finite")
            study.tell(trial, state=TrialState.FAIL)
    return next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)


def _short(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def trial_value(t: FrozenTrial) -> float | None:
    """The objective of a complete trial, the best reported dev value of a pruned one."""
    if t.state == TrialState.COMPLETE:
        return t.value
    if t.state == TrialState.PRUNED and t.intermediate_values:
        return min(t.intermediate_values.values())
    return None


def trial_rows(study: optuna.Study, space: SearchSpace) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.WAITING:
            continue
        state = STATE_NAMES.get(t.state, t.state.name.lower())
        if t.user_attrs.get("interrupted"):
            state = "interrupted"
        params = {p.key: t.params.get(p.key) for p in space.params}
        epochs = t.user_attrs.get("epochs", len(t.intermediate_values) or None)
        rows.append(
            {
                "number": t.number,
                "state": state,
                "params": params,
                "value": trial_value(t),
                "epochs": epochs,
                "error": t.user_attrs.get("error", ""),
            }
        )
    return rows


def write_trials_csv(path: Path, rows: Sequence[dict[str, Any]], space: SearchSpace, monitor: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["number", "state", *space.keys, monitor, "epochs", "error"])
        for r in rows:
            params = [
                "" if r["params"][k] is None else (v if isinstance(v := r["params"][k], str) else format_value(v))
                for k in space.keys
            ]
            value = "" if r["value"] is None else f"{r['value']:.6g}"
            epochs = "" if r["epochs"] is None else r["epochs"]
            writer.writerow([r["number"], r["state"], *params, value, epochs, r["error"]])


def plot_trials(rows: Sequence[dict[str, Any]], path: Path, monitor: str) -> None:
    """Dev value per trial (complete and pruned) with the best-so-far line over complete trials."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for state, marker in (("complete", "o"), ("pruned", "x")):
        pts = [(r["number"], r["value"]) for r in rows if r["state"] == state and r["value"] is not None]
        if pts:
            ax.scatter(*zip(*pts, strict=True), marker=marker, label=state)
    best: list[tuple[int, float]] = []
    for r in rows:
        if r["state"] == "complete" and r["value"] is not None:
            best.append((r["number"], min(r["value"], best[-1][1]) if best else r["value"]))
    if best:
        ax.step(*zip(*best, strict=True), where="post", color="grey", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"best {monitor}")
    ax.set_title(f"{monitor} per trial")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_importance(study: optuna.Study, path: Path) -> str | None:
    """Bar chart of Optuna's parameter importances; returns a note instead when it cannot be computed."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varying = [k for k in {k for t in complete for k in t.params} if len({repr(t.params.get(k)) for t in complete}) > 1]
    if len(complete) < 2 or not varying:
        return "importance.png skipped: it needs at least 2 completed trials in which a parameter varies"
    try:
        importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as exc:
        return f"importance.png skipped: {exc}"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 1.5 + 0.4 * len(names)), dpi=100)
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel("importance (fANOVA, normalized)")
    ax.set_title(f"parameter importance ({len(complete)} completed trials)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None


def write_outputs(
    study: optuna.Study,
    recipe_path: str | Path,
    overrides: Sequence[str],
    space: SearchSpace,
    out: Path,
    monitor: str,
) -> SweepResult:
    rows = trial_rows(study, space)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = min(complete, key=lambda t: t.value if t.value is not None else math.inf) if complete else None
    result = SweepResult(out, monitor, space, rows, best)
    write_trials_csv(out / "trials.csv", rows, space, monitor)
    result.written.append(out / "trials.csv")
    if best is not None:
        recipe = trial_recipe(recipe_path, overrides, space, best.params)
        header = f"# best trial {best.number} of the sweep {out}: {monitor} {best.value:.6g}\n"
        (out / "best.yaml").write_text(header + recipe.to_yaml(), encoding="utf-8")
        result.written.append(out / "best.yaml")
    else:
        result.notes.append("best.yaml not written: no trial completed")
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    plot_trials(rows, plots / "trials.png", monitor)
    result.written.append(plots / "trials.png")
    note = plot_importance(study, plots / "importance.png")
    if note:
        result.notes.append(note)
    else:
        result.written.append(plots / "importance.png")
    return result


def sweep(
    recipe_path: str | Path,
    overrides: Sequence[str],
    space_path: str | Path,
    trials: int,
    out: str | Path,
    *,
    resume: bool = False,
) -> SweepResult:
    """Run (or continue, ``resume``) a sweep of ``trials`` trials in total into the folder ``out``."""
    if trials < 1:
        raise SpeechforgeError(f"--trials must be at least 1 (got {trials})")
    _quiet_optuna()
    out = Path(out)
    space = load_space(space_path)
    base = check_space(recipe_path, overrides, space)
    monitor = base.regularization.early_stopping.monitor
    study = open_study(out, _sweep_settings(recipe_path, overrides, space), base.training.seed, resume)
    done = finished(study)
    if done >= trials:
        err_console.print(f"the sweep already has {done} finished trial(s) (--trials {trials})")
    for i in range(done, trials):
        t = run_trial(study, recipe_path, overrides, space, out, monitor)
        value = trial_value(t)
        shown = " ".join(space.overrides({k: _short(v) for k, v in t.params.items()}))
        outcome = f"{monitor} {value:.4g}" if value is not None else t.user_attrs.get("error", "no value")
        epochs = t.user_attrs.get("epochs")
        best = study.best_value if any(s.state == TrialState.COMPLETE for s in study.trials) else None
        err_console.print(
            f"trial {i + 1}/{trials} (#{t.number}) {STATE_NAMES.get(t.state, t.state.name)}: {shown} → {outcome}"
            + (f" after {epochs} epoch(s)" if epochs else "")
            + (f"; best so far {best:.4g}" if best is not None else ""),
            markup=False,
        )
    return write_outputs(study, recipe_path, overrides, space, out, monitor)
