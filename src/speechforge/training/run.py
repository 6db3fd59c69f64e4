"""The run directory: the unit users pass around. Everything needed to evaluate, diagnose, predict or
export a model lives in it.

    runs/NAME/
      recipe.yaml        the resolved recipe (defaults filled in, overrides applied)
      labels.json        the label set (index = class id)
      best.ckpt          weights of the best dev epoch (restored at the end of training)
      last.ckpt          the latest epoch, for --resume
      history.csv        epoch, train_loss, train_error, dev_loss, dev_error, lr, seconds
      metrics.json       final train / dev (/ train_dev / test) metrics of the best model
      plots/             loss.png, error.png, confusion_<split>.png
      eval/<stem>/       `speechforge evaluate` results per manifest
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from speechforge.data.dataset import LabelSet
from speechforge.errors import SpeechforgeError
from speechforge.tasks.classification import ClassificationTask
from speechforge.training.recipe import Recipe, load_recipe


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    recipe_path = property(lambda self: self.path / "recipe.yaml")
    labels_path = property(lambda self: self.path / "labels.json")
    best_ckpt = property(lambda self: self.path / "best.ckpt")
    last_ckpt = property(lambda self: self.path / "last.ckpt")
    history_path = property(lambda self: self.path / "history.csv")
    metrics_path = property(lambda self: self.path / "metrics.json")
    plots = property(lambda self: self.path / "plots")

    def eval_dir(self, manifest: Path) -> Path:
        return self.path / "eval" / manifest.stem

    def require(self) -> None:
        """Raise a clear error unless this is a finished (or at least checkpointed) run."""
        if not self.path.is_dir():
            raise SpeechforgeError("run folder not found (train one with `speechforge train`)", path=self.path)
        for needed in (self.recipe_path, self.labels_path):
            if not needed.exists():
                raise SpeechforgeError(f"not a speechforge run: {needed.name} is missing", path=self.path)
        if not (self.best_ckpt.exists() or self.last_ckpt.exists()):
            raise SpeechforgeError("the run has no checkpoint yet (best.ckpt / last.ckpt)", path=self.path)

    def recipe(self) -> Recipe:
        return load_recipe(self.recipe_path)

    def labels(self) -> LabelSet:
        return LabelSet.load(self.labels_path)


def task_state(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The task's weights inside a Lightning checkpoint (keys ``task.*``)."""
    return {k.removeprefix("task."): v for k, v in checkpoint["state_dict"].items() if k.startswith("task.")}


def load_task(run: str | Path | RunDir, checkpoint: str = "best") -> ClassificationTask:
    """Rebuild the run's task (features, normalizer, model) and load the weights of ``best`` or ``last``."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    run.require()
    path = run.best_ckpt if checkpoint == "best" and run.best_ckpt.exists() else run.last_ckpt
    labels = run.labels()
    task = ClassificationTask(run.recipe(), labels.labels, counts=[1] * len(labels))
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SpeechforgeError(f"cannot read checkpoint: {exc}", path=path) from exc
    task.load_state_dict(task_state(state), strict=False)
    return task.eval()
