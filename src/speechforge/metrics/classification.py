"""Classification metrics: confusion matrix, accuracy, precision / recall / F1, ROC AUC (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score


def classification_metrics(
    targets: Sequence[int] | np.ndarray,
    predictions: Sequence[int] | np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
) -> dict[str, Any]:
    """Metrics of one evaluation (the JSON contract of ``speechforge evaluate``).

    Args:
        targets: true class ids, (n,).
        predictions: predicted class ids, (n,).
        probabilities: class probabilities, (n, n_classes).
        labels: class names, index = class id.

    Returns ``accuracy``, ``error_rate``, ``macro_f1``, ``per_class`` (label → precision, recall, f1,
    support), ``confusion_matrix`` (``labels``, ``matrix``: rows = true, columns = predicted) and, for two
    classes, ``roc_auc`` (None when only one class is present in ``targets``).
    """
    y_true = np.asarray(targets, dtype=np.int64)
    y_pred = np.asarray(predictions, dtype=np.int64)
    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, average=None, zero_division=0
    )
    present = support > 0  # macro average over the classes that occur in this set
    accuracy = float((y_true == y_pred).mean()) if y_true.size else 0.0
    metrics: dict[str, Any] = {
        "utterances": int(y_true.size),
        "accuracy": accuracy,
        "error_rate": 1.0 - accuracy,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": list(labels),
            "matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        },
    }
    if len(labels) == 2:
        both = len(set(y_true.tolist())) == 2
        metrics["roc_auc"] = float(roc_auc_score(y_true, probabilities[:, 1])) if both else None
    return metrics
