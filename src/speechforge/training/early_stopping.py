"""Early stopping: stop when the monitored dev metric has not improved for ``patience`` epochs; the trainer
then restores the best dev epoch (``best.ckpt``).

Lightning's :class:`~lightning.pytorch.callbacks.EarlyStopping` does the bookkeeping. One rule is added: an
error rate of 100% means nothing has been learned yet, so patience only starts counting once the monitored
error first drops below 1. A CTC model outputs only blanks (WER 100%) for its first epochs while its loss
already falls; without this rule a recipe monitoring ``dev_wer`` would stop before learning anything.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import EarlyStopping as LightningEarlyStopping

ERROR_MONITORS = ("dev_error", "dev_wer")


class EarlyStopping(LightningEarlyStopping):
    """``EarlyStopping(monitor, patience, min_delta)`` in ``min`` mode, waiting for learning to start."""

    def __init__(self, monitor: str, patience: int, min_delta: float = 0.0) -> None:
        super().__init__(monitor=monitor, mode="min", patience=patience, min_delta=min_delta)

    def _run_early_stopping_check(self, trainer: Any) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if self.monitor in ERROR_MONITORS and value is not None and float(value) >= 1.0:
            self.wait_count = 0  # still at 100% error: nothing learned yet
            return
        super()._run_early_stopping_check(trainer)
