"""``speechforge sweep``: real tiny sweeps on the digits splits (Optuna TPE, SQLite study, resume, pruning)."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch
import yaml

from conftest import ROOT, digits_overrides

RECIPE = ROOT / "recipes" / "digits_cnn.yaml"
SPACE = {
    "optimizer.lr": {"log_uniform": [1.0e-3, 3.0e-2]},
    "regularization.dropout": {"uniform": [0, 0.5]},
}


def fast_overrides(splits: Path, epochs: int = 2) -> list[str]:
    """Tiny and quick: one conv block, no speed perturbation (its resampling dominates a 2-epoch run)."""
    items = [o for o in digits_overrides(splits, epochs) if not o.startswith(("data.test=", "data.train_dev="))]
    return [*items, "model.channels=[8]", "augment.speed.factors=[1.0]", "optimizer.batch_size=64"]


def write_space(path: Path, space: object) -> Path:
    path.write_text(yaml.safe_dump(space), encoding="utf-8")
    return path


def read_trials(out: Path) -> list[dict[str, str]]:
    with (out / "trials.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_sweep_writes_table_best_recipe_and_plots(run_cli, digits_splits: Path, tmp_path: Path) -> None:
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train

    space = write_space(tmp_path / "space.yaml", SPACE)
    out = tmp_path / "sweeps" / "a"
    args = ["sweep", RECIPE, *fast_overrides(digits_splits), "--space", space, "--trials", "3", "--out", out]
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "trial 3/3" in result.stderr and "best: trial" in result.stderr

    rows = read_trials(out)
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["number", "state", "optimizer.lr", "regularization.dropout", "dev_loss", "epochs", "error"]
    assert all(r["state"] == "complete" and r["epochs"] == "2" for r in rows)
    assert all(1e-3 <= float(r["optimizer.lr"]) <= 3e-2 for r in rows)
    assert len({r["optimizer.lr"] for r in rows}) == 3  # sampled, not repeated

    # Every epoch's dev value reached the trial (the pruning callback is wired into training).
    study = optuna.load_study(study_name="speechforge-sweep", storage=f"sqlite:///{out / 'study.db'}")
    assert all(len(t.intermediate_values) == 2 for t in study.trials)
    best = min(study.trials, key=lambda t: t.value)
    assert float(min(r["dev_loss"] for r in rows)) == pytest.approx(best.value, rel=1e-5)

    recipe = load_recipe(out / "best.yaml")
    assert recipe.optimizer.lr == pytest.approx(best.params["optimizer.lr"])
    assert recipe.regularization.dropout == pytest.approx(best.params["regularization.dropout"])
    assert recipe.model.channels == [8]  # type: ignore[union-attr]
    for name in ("trials.png", "importance.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    for n in range(3):
        assert (out / "trials" / str(n) / "history.csv").is_file()

    run = train(load_recipe(out / "best.yaml", ["training.max_epochs=1"]), tmp_path / "best_run", progress=False)
    assert len(run.history) == 1

    again = run_cli(*args)  # never overwrites a sweep silently
    assert again.exit_code == 2 and "--resume" in again.stderr


def test_resume_continues_to_the_total_without_redoing_trials(run_cli, digits_splits: Path, tmp_path: Path) -> None:
    space = write_space(tmp_path / "space.yaml", SPACE)
    out = tmp_path / "sweeps" / "b"
    base = ["sweep", RECIPE, *fast_overrides(digits_splits), "--space", space, "--out", out]
    assert run_cli(*base, "--trials", "2").exit_code == 0
    first = read_trials(out)
    mtimes = {n: (out / "trials" / n / "history.csv").stat().st_mtime_ns for n in ("0", "1")}

    # A trial that was running when the sweep was killed: left "running" in study.db.
    study = optuna.load_study(study_name="speechforge-sweep", storage=f"sqlite:///{out / 'study.db'}")
    killed = study.ask()
    killed.suggest_float("optimizer.lr", 1e-3, 3e-2, log=True)
    killed.suggest_float("regularization.dropout", 0, 0.5)

    result = run_cli(*base, "--trials", "4", "--resume")
    assert result.exit_code == 0, result.stderr
    assert "re-running interrupted trial(s) 2" in result.stderr
    rows = read_trials(out)
    assert [r["state"] for r in rows] == ["complete", "complete", "interrupted", "complete", "complete"]
    assert rows[:2] == first[:2]  # finished trials kept as they were, not trained again
    assert {n: (out / "trials" / n / "history.csv").stat().st_mtime_ns for n in ("0", "1")} == mtimes
    assert rows[3]["optimizer.lr"] == rows[2]["optimizer.lr"]  # the interrupted trial ran again
    assert sum(r["state"] == "complete" for r in rows) == 4

    assert run_cli(*base, "--trials", "4", "--resume").exit_code == 0  # nothing left to do
    assert len(read_trials(out)) == 5
    other = write_space(tmp_path / "other.yaml", {"optimizer.lr": {"uniform": [0.001, 0.01]}})
    changed = run_cli(
        "sweep", RECIPE, *fast_overrides(digits_splits), "--space", other, "--out", out, "--trials", "5", "--resume"
    )
    assert changed.exit_code == 2 and "different space" in changed.stderr


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ({"optimizer.lr": {"log_uniform": [0, 0.1]}}, "optimizer.lr: log_uniform: low must be > 0"),
        ({"optimizer.lr": {"uniform": [0.1, 0.01]}}, "optimizer.lr: uniform: low must be below high"),
        ({"optimizer.lr": {"normal": [0, 1]}}, "optimizer.lr: unknown form 'normal'"),
        ({"optimizer.lr": [1e-3, 1e-2]}, "optimizer.lr: expected one of {log_uniform"),
        ({"optimizer.batch_size": {"int": [8.5, 64]}}, "optimizer.batch_size: int:"),
        ({"model.channels": {"choice": []}}, "model.channels: choice:"),
        ({"optimizer.lrate": {"uniform": [0.001, 0.01]}}, "optimizer.lrate: 0.001 is not valid for the recipe"),
        ({"regularization.dropout": {"uniform": [0, 1.0]}}, "regularization.dropout: 1.0 is not valid"),
        ({"optimizer.name": {"choice": ["adam", "lbfgs"]}}, "optimizer.name: lbfgs is not valid"),
        ([1, 2], "a search space is a mapping"),
    ],
)
def test_bad_space_is_one_line_error(run_cli, tmp_path: Path, space: object, expected: str) -> None:
    path = write_space(tmp_path / "space.yaml", space)
    out = tmp_path / "sweeps" / "bad"
    result = run_cli("sweep", RECIPE, "--space", path, "--trials", "2", "--out", out)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], result.stderr
    assert expected in lines[0]
    if "is not valid" not in expected and "mapping" not in expected:
        assert "allowed forms" in lines[0] or "expected one of" in lines[0]
    assert not out.exists()  # nothing created before the space is valid


def test_pruning_callback_reports_each_epoch_and_prunes_a_bad_curve() -> None:
    from speechforge.training.sweep import PruningCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2))
    for _ in range(2):  # two good finished trials: dev loss 1.0, 0.5, 0.25
        good = study.ask()
        for epoch, value in enumerate((1.0, 0.5, 0.25), start=1):
            good.report(value, epoch)
        study.tell(good, 0.25)

    bad = study.ask()
    callback = PruningCallback(bad, "dev_loss")
    trainer = SimpleNamespace(sanity_checking=False, current_epoch=0, callback_metrics={"dev_loss": torch.tensor(3.0)})
    callback.on_validation_end(trainer, None)  # epoch 1 is warm-up: reported, never pruned
    trainer.current_epoch = 1
    with pytest.raises(optuna.TrialPruned):
        callback.on_validation_end(trainer, None)
    assert callback.reported == 2
    study.tell(bad, state=optuna.trial.TrialState.PRUNED)
    assert study.trials[-1].intermediate_values == {1: 3.0, 2: 3.0}

    fine = study.ask()
    trainer = SimpleNamespace(sanity_checking=False, current_epoch=1, callback_metrics={"dev_loss": torch.tensor(0.4)})
    PruningCallback(fine, "dev_loss").on_validation_end(trainer, None)  # better than the median: goes on
    sanity = SimpleNamespace(sanity_checking=True, current_epoch=0, callback_metrics={"dev_loss": torch.tensor(9.0)})
    PruningCallback(fine, "dev_loss").on_validation_end(sanity, None)
    assert study.trials[-1].intermediate_values == {2: pytest.approx(0.4)}
