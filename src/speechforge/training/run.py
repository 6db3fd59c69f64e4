"""The run directory: the unit users pass around. Everything needed to evaluate, diagnose, predict or
export a model lives in it.

    runs/NAME/
      recipe.yaml        the resolved recipe (defaults filled in, overrides applied)
      labels.json        the label set (index = class id)               classification
      tokenizer.json     the CTC tokenizer (tokenizer.model for bpe)     asr
      decoding.json      LM weight and word score tuned on dev           asr, `speechforge lm tune`
      wav2vec2.json      the model's Wav2Vec2Config (reload offline)     asr, model.name: wav2vec2_ctc
      best.ckpt          weights of the best dev epoch (restored at the end of training)
      last.ckpt          the latest epoch, for --resume
      history.csv        epoch, train_loss, train_error, dev_loss, dev_error, lr, seconds, padding
                         (for asr the errors are word error rates)
      metrics.json       final train / dev (/ train_dev / test) metrics of the best model
      plots/             loss.png, error.png, confusion_<split>.png
      eval/<stem>/       `speechforge evaluate` results per manifest
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from speechforge.data.dataset import LabelSet
from speechforge.errors import SpeechforgeError
from speechforge.tasks.asr import ASRTask, TranscriptEncoder
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
    decoding_path = property(lambda self: self.path / "decoding.json")
    wav2vec2_path = property(lambda self: self.path / "wav2vec2.json")  # the architecture, for offline reloads

    @property
    def is_asr(self) -> bool:
        """A speech-recognition run: it has a CTC tokenizer (classification runs have labels.json)."""
        from speechforge.text.tokenizer import tokenizer_file

        return tokenizer_file(self.path) is not None

    def eval_dir(self, manifest: Path) -> Path:
        return self.path / "eval" / manifest.stem

    def require(self) -> None:
        """Raise a clear error unless this is a finished (or at least checkpointed) run."""
        if not self.path.is_dir():
            raise SpeechforgeError("run folder not found (train one with `speechforge train`)", path=self.path)
        if not self.recipe_path.exists():
            raise SpeechforgeError("not a speechforge run: recipe.yaml is missing", path=self.path)
        if not (self.labels_path.exists() or self.is_asr):
            raise SpeechforgeError(
                "not a speechforge run: labels.json (or tokenizer.json for asr) is missing", path=self.path
            )
        if not (self.best_ckpt.exists() or self.last_ckpt.exists()):
            raise SpeechforgeError("the run has no checkpoint yet (best.ckpt / last.ckpt)", path=self.path)

    def recipe(self) -> Recipe:
        return load_recipe(self.recipe_path)

    def labels(self) -> LabelSet:
        return LabelSet.load(self.labels_path)


def task_state(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The task's weights inside a Lightning checkpoint (keys ``task.*``)."""
    return {k.removeprefix("task."): v for k, v in checkpoint["state_dict"].items() if k.startswith("task.")}


def load_task(run: str | Path | RunDir, checkpoint: str = "best") -> ClassificationTask | ASRTask:
    """Rebuild the run's task (features, normalizer, model) and load the weights of ``best`` or ``last``."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    run.require()
    path = run.best_ckpt if checkpoint == "best" and run.best_ckpt.exists() else run.last_ckpt
    recipe = run.recipe()
    task: ClassificationTask | ASRTask
    if recipe.task == "asr":
        architecture = json.loads(run.wav2vec2_path.read_text()) if run.wav2vec2_path.exists() else None
        task = ASRTask(recipe, TranscriptEncoder.load(recipe, run.path).tokenizer, architecture)
    else:
        labels = run.labels()
        task = ClassificationTask(recipe, labels.labels, counts=[1] * len(labels))
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SpeechforgeError(f"cannot read checkpoint: {exc}", path=path) from exc
    task.load_state_dict(task_state(state), strict=False)
    return task.eval()


def tuned_decoding(run: RunDir, lm: str | Path) -> dict[str, float]:
    """``{lm_weight, word_score}`` tuned on dev for ``lm`` (``speechforge lm tune``), or {} if not tuned."""
    if not run.decoding_path.exists():
        return {}
    tuned = json.loads(run.decoding_path.read_text(encoding="utf-8"))
    if Path(tuned.get("lm", "")).resolve() != Path(lm).resolve():
        return {}
    return {"lm_weight": float(tuned["lm_weight"]), "word_score": float(tuned["word_score"])}


def load_classifier(run: str | Path | RunDir, purpose: str = "this command") -> ClassificationTask:
    """:func:`load_task` for a classification run; an ASR run is a clear error."""
    task = load_task(run)
    if not isinstance(task, ClassificationTask):
        raise SpeechforgeError(f"{purpose} is for classification runs; this run has task: asr", path=Path(str(run)))
    return task


def load_recognizer(run: str | Path | RunDir) -> ASRTask:
    """:func:`load_task` for a speech-recognition run; a classification run is a clear error."""
    task = load_task(run)
    if not isinstance(task, ASRTask):
        raise SpeechforgeError(
            "not a speech-recognition run (its recipe has task: classification)", path=Path(str(run))
        )
    return task
