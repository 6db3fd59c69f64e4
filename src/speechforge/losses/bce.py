"""The lecture's binary cross-entropy, on one logit per utterance.

    J(w, b) = −1/m Σᵢ [ yᵢ log ŷᵢ + (1 − yᵢ) log(1 − ŷᵢ) ],   ŷ = σ(z)

computed from the logit z with :func:`torch.nn.functional.binary_cross_entropy_with_logits`, i.e. with
log σ(z) = −softplus(−z): no log(0) and no overflow however confident the model gets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError


def check_targets(logits: Tensor, targets: Tensor, n_classes: int) -> None:
    """Raise a :class:`SpeechforgeError` unless ``logits`` is ``(batch, n_outputs)`` and ``targets`` is
    ``(batch,)`` of integer class ids in ``[0, n_classes)`` (shared by every loss)."""
    if logits.dim() != 2:
        raise SpeechforgeError(f"expected logits of shape (batch, n_outputs), got {tuple(logits.shape)}")
    if targets.dim() != 1 or targets.shape[0] != logits.shape[0]:
        raise SpeechforgeError(
            f"expected targets of shape ({logits.shape[0]},) for logits {tuple(logits.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if targets.dtype.is_floating_point or targets.dtype == torch.bool:
        raise SpeechforgeError(f"targets must be integer class ids (int64), got {targets.dtype}")
    if targets.numel() > 0 and bool(((targets < 0) | (targets >= n_classes)).any()):
        bad = targets[(targets < 0) | (targets >= n_classes)][0].item()
        raise SpeechforgeError(f"target {bad} is not a class id in [0, {n_classes}) for these logits")


class BinaryCrossEntropy(nn.Module):
    """Binary cross-entropy on a single logit, mean over the batch.

    Args:
        pos_weight: weight of the positive (y = 1) term, e.g. n_negative / n_positive to balance a rare
            positive class; ``None`` weighs both terms 1 (the lecture's J).
    """

    def __init__(self, pos_weight: float | None = None) -> None:
        super().__init__()
        if pos_weight is not None and not float(pos_weight) > 0:
            raise SpeechforgeError(f"pos_weight must be > 0, got {pos_weight!r}")
        weight = None if pos_weight is None else torch.tensor([float(pos_weight)])
        self.pos_weight: Tensor | None
        self.register_buffer("pos_weight", weight)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``(batch, 1)`` logits, ``(batch,)`` int64 targets in {0, 1} → scalar."""
        if logits.dim() == 2 and logits.shape[1] != 1:
            raise SpeechforgeError(
                f"binary cross-entropy needs one logit per example, got {logits.shape[1]} columns; "
                "use the 'ce' loss for more than two classes (or a model with n_outputs=1)"
            )
        check_targets(logits, targets, 2)
        y = targets.to(logits.dtype)  # (batch,)
        pos_weight = None if self.pos_weight is None else self.pos_weight.to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits[:, 0], y, pos_weight=pos_weight)

    def extra_repr(self) -> str:
        return "" if self.pos_weight is None else f"pos_weight={self.pos_weight.item():g}"
