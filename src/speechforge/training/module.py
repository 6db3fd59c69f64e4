"""The LightningModule: runs a task's hooks for one epoch of training and one pass over dev.

It says *how* to run (optimizer, L2 penalty, schedule, NaN guard, per-epoch seeding, history); the task
says *what* to compute.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning.pytorch as pl
import torch

from speechforge.data.dataset import Batch
from speechforge.errors import SpeechforgeError
from speechforge.tasks.asr import ASRTask
from speechforge.tasks.base import Stage
from speechforge.tasks.classification import ClassificationTask
from speechforge.training.optim import EpochSchedule, build_optimizer, l2_penalty
from speechforge.training.recipe import Recipe


class Accumulator:
    """Running loss (weighted by examples), error (errors over units: utterances, or reference words for the
    WER) and padding over one pass."""

    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.n = 0
        self.errors = 0
        self.units = 0
        self.padding_sum = 0.0
        self.batches = 0

    def add(self, loss: float, n: int, errors: int, units: int, padding: float = 0.0) -> None:
        self.loss_sum += loss * n
        self.n += n
        self.errors += errors
        self.units += units
        self.padding_sum += padding
        self.batches += 1

    @property
    def loss(self) -> float:
        return self.loss_sum / self.n if self.n else float("nan")

    @property
    def error(self) -> float:
        return self.errors / self.units if self.units else float("nan")

    @property
    def padding(self) -> float:
        """Mean fraction of padded samples per batch."""
        return self.padding_sum / self.batches if self.batches else float("nan")


class TaskModule(pl.LightningModule):
    """Wraps a task (:class:`ClassificationTask`, :class:`ASRTask`) for Lightning.

    Args:
        task: what to compute.
        recipe: optimizer, schedule, regularization and seed settings.
        m: number of training examples (the lecture's m, for the explicit L2 term λ/(2m)·Σ‖w‖²).
    """

    def __init__(self, task: ClassificationTask | ASRTask, recipe: Recipe, m: int) -> None:
        super().__init__()
        self.task = task
        self.recipe = recipe
        self.m = m
        self.history: list[dict[str, float]] = []
        self.train_acc = Accumulator()
        self.dev_acc = Accumulator()
        self.schedule: EpochSchedule | None = None
        self.epoch_started = 0.0

    # ----------------------------------------------------------------------------------------- optimizer
    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups = self.task.parameter_groups(self.recipe.optimizer.lr)
        optimizer = build_optimizer(self.task, self.recipe.optimizer, groups)
        self.schedule = EpochSchedule(optimizer, self.recipe.schedule, self.recipe.training.max_epochs)
        if getattr(self, "_pending_schedule_state", None) is not None:
            self.schedule.load_state_dict(self._pending_schedule_state)
        return optimizer

    # ------------------------------------------------------------------------------------------ training
    def on_train_epoch_start(self) -> None:
        # Dropout and SpecAugment draw from torch's global generator: seed it from (seed, epoch) so that an
        # epoch replayed after a resume is identical to the uninterrupted one.
        torch.manual_seed(self.recipe.training.seed * 100_003 + self.current_epoch)
        # Lightning sets the sampler's epoch from its progress counters, which are one behind after resuming
        # from a checkpoint written at the end of an epoch's validation; the epoch number itself is exact.
        loader = self.trainer.train_dataloader
        for sampler in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
            set_epoch = getattr(sampler, "set_epoch", None)
            if set_epoch is not None:
                set_epoch(self.current_epoch)
        self.task.on_train_epoch_start(self.current_epoch)
        self.train_acc = Accumulator()
        self.epoch_started = time.perf_counter()

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        outputs = self.task.compute_forward(batch, Stage.TRAIN)  # logits, or (log_probs, lengths)
        loss = self.task.compute_objectives(outputs, batch, Stage.TRAIN)  # type: ignore[arg-type]
        if self.recipe.regularization.l2 > 0:
            loss = loss + l2_penalty(self.task.model, self.recipe.regularization.l2, self.m)
        if not torch.isfinite(loss):
            lr = self.recipe.optimizer.lr
            raise SpeechforgeError(
                f"the training loss became {loss.item()} at epoch {self.current_epoch + 1}, step {batch_idx + 1}: "
                f"training diverged. Lower the learning rate (e.g. optimizer.lr={lr / 10:g}), or set "
                "training.gradient_clip=1.0"
            )
        errors, units = self.task.count_errors(outputs, batch)  # type: ignore[arg-type]
        self.train_acc.add(float(loss.detach()), len(batch), errors, units, batch.padding)
        return loss

    # ------------------------------------------------------------------------------------------ dev pass
    def on_validation_epoch_start(self) -> None:
        self.dev_acc = Accumulator()

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        outputs = self.task.compute_forward(batch, Stage.DEV)
        loss = self.task.compute_objectives(outputs, batch, Stage.DEV)  # type: ignore[arg-type]
        errors, units = self.task.count_errors(outputs, batch)  # type: ignore[arg-type]
        self.dev_acc.add(float(loss), len(batch), errors, units)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        lr = self.schedule.lr if self.schedule else self.recipe.optimizer.lr
        row = {
            "epoch": self.current_epoch + 1,
            "train_loss": self.train_acc.loss,
            "train_error": self.train_acc.error,
            "dev_loss": self.dev_acc.loss,
            "dev_error": self.dev_acc.error,
            "lr": lr,
            "seconds": time.perf_counter() - self.epoch_started,
            "padding": self.train_acc.padding,
        }
        if isinstance(self.task, ASRTask):
            row["dev_wer"] = row["dev_error"]
        self.history.append(row)
        # Logged for EarlyStopping / ModelCheckpoint, which monitor dev_error or dev_loss.
        self.log("dev_error", row["dev_error"], prog_bar=True)
        self.log("dev_loss", row["dev_loss"], prog_bar=True)
        self.log("train_error", row["train_error"], prog_bar=True)
        if "dev_wer" in row:
            self.log("dev_wer", row["dev_wer"])
        monitor = self.recipe.regularization.early_stopping.monitor
        if self.schedule is not None:
            self.schedule.step(row[monitor] if not math.isnan(row[monitor]) else None)

    # ----------------------------------------------------------------------------------- checkpoint state
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["speechforge"] = {
            "history": self.history,
            "schedule": self.schedule.state_dict() if self.schedule else None,
            "labels": getattr(self.task, "labels", None),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("speechforge", {})
        self.history = list(state.get("history", []))
        self._pending_schedule_state = state.get("schedule")
