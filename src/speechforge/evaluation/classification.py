"""Run a classification task over a dataset (no augmentation, eval mode) and score it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from speechforge.data.dataset import UtteranceDataset, collate
from speechforge.metrics.classification import classification_metrics
from speechforge.tasks.base import Stage
from speechforge.tasks.classification import ClassificationTask


@dataclass
class Predictions:
    """Per-utterance outputs of one pass, aligned with ``indices`` (positions in the manifest)."""

    indices: np.ndarray  # (n,)
    targets: np.ndarray  # (n,)  -1 when unknown
    predictions: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, n_classes)
    loss: float  # mean loss (nan when targets are unknown)


@torch.no_grad()
def infer(
    task: ClassificationTask,
    dataset: UtteranceDataset,
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> Predictions:
    """Class probabilities for every utterance of ``dataset``, in eval mode."""
    was_training = task.training
    task.eval().to(device)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    indices, targets, preds, probs = [], [], [], []
    loss_sum, n = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        logits = task.compute_forward(batch, Stage.TEST)  # (batch, n_outputs)
        if bool((batch.targets >= 0).all()):
            loss_sum += float(task.compute_objectives(logits, batch, Stage.TEST)) * len(batch)
            n += len(batch)
        indices.append(batch.indices.cpu().numpy())
        targets.append(batch.targets.cpu().numpy())
        preds.append(task.predict(logits).cpu().numpy())
        probs.append(task.probabilities(logits).float().cpu().numpy())
    task.train(was_training)
    return Predictions(
        indices=np.concatenate(indices),
        targets=np.concatenate(targets),
        predictions=np.concatenate(preds),
        probabilities=np.concatenate(probs),
        loss=loss_sum / n if n else float("nan"),
    )


def score(task: ClassificationTask, predictions: Predictions) -> dict[str, Any]:
    """The evaluation metrics (``accuracy``, ``error_rate``, ``macro_f1``, ``per_class``, ...) plus ``loss``."""
    metrics = classification_metrics(
        predictions.targets, predictions.predictions, predictions.probabilities, task.labels
    )
    metrics["loss"] = predictions.loss
    return metrics


def evaluate(run: str | Path, manifest: str | Path, *, batch_size: int = 64, progress: bool = True) -> dict[str, Any]:
    """``speechforge evaluate``: score the run's best model on ``manifest``.

    Writes ``RUN/eval/<manifest stem>/metrics.json`` (the returned metrics), ``confusion.png`` and
    ``predictions.jsonl`` (id, label, predicted, probability of each class).
    """
    from speechforge.data.dataset import LabelSet, read_labelled_manifest
    from speechforge.evaluation.plots import plot_confusion_matrix
    from speechforge.training.run import RunDir, load_classifier

    run_dir = RunDir(run)
    task = load_classifier(run_dir)
    recipe = run_dir.recipe()
    # A run trained on a label subset (data.labels) is evaluated on the same subset.
    data = read_labelled_manifest(manifest, recipe.data.label_field, recipe.data.labels, purpose="evaluation")
    targets = LabelSet(task.labels).encode(data, recipe.data.label_field)
    dataset = UtteranceDataset(data, sample_rate=recipe.features.sample_rate, targets=targets, progress=progress)
    predictions = infer(task, dataset, batch_size=batch_size)
    metrics = score(task, predictions)
    metrics["manifest"] = str(manifest)
    metrics["skipped"] = {"count": len(dataset.skipped), "items": [s.to_dict() for s in dataset.skipped]}
    out = run_dir.eval_dir(Path(manifest))
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    plot_confusion_matrix(
        metrics["confusion_matrix"]["matrix"], task.labels, out / "confusion.png", Path(manifest).stem
    )
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as f:
        for i, target, pred, probs in zip(
            predictions.indices,
            predictions.targets,
            predictions.predictions,
            predictions.probabilities,
            strict=True,
        ):
            record = {
                "id": data[int(i)].id,
                "label": task.labels[int(target)],
                "predicted": task.labels[int(pred)],
                "probabilities": {lab: round(float(p), 6) for lab, p in zip(task.labels, probs, strict=True)},
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return metrics
