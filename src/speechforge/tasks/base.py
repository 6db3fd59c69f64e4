"""The stages of a run, and the hooks every task implements (after SpeechBrain's ``Brain``)."""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol

import torch


class Stage(Enum):
    """Which pass is running: training updates weights and augments; the others only measure."""

    TRAIN = "train"
    DEV = "dev"
    TEST = "test"


class Task(Protocol):
    """The hooks the trainer, the evaluation and the exporter call (``ClassificationTask``, ``ASRTask``)."""

    def compute_forward(self, batch: Any, stage: Stage) -> Any:
        """The model's outputs for a batch (logits, or log-probabilities with their lengths)."""

    def compute_objectives(self, outputs: Any, batch: Any, stage: Stage) -> torch.Tensor:
        """The mean loss of the batch."""

    def count_errors(self, outputs: Any, batch: Any) -> tuple[int, int]:
        """(errors, units): misclassified utterances of utterances, or word errors of reference words."""

    def on_train_epoch_start(self, epoch: int) -> None:
        """Per-epoch changes of what is trained (e.g. unfreezing an encoder)."""

    def parameter_groups(self, lr: float) -> list[dict[str, Any]] | None:
        """Optimizer parameter groups with their own learning rates, or None for one rate."""
