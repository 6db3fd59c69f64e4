"""Focal loss (Lin et al., 2017): cross-entropy that down-weights well-classified examples.

    FL(p_t) = −α_t (1 − p_t)^γ log p_t

p_t is the probability the model gives the true class (softmax for n logits, sigmoid for one logit). The
modulating factor (1 − p_t)^γ is near 0 for an example the model already gets right with confidence, so the
many easy examples stop dominating the loss and training concentrates on the hard ones. γ = 0 and no α give
the plain cross-entropy. The batch loss is the mean over examples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.losses.bce import check_targets


class FocalLoss(nn.Module):
    """Focal loss for a binary (one logit) or multi-class (n logits) model.

    Args:
        gamma: focusing parameter γ ≥ 0; the larger, the more well-classified examples are down-weighted
            (Lin et al. use 2).
        alpha: class balance α_t. A float α (binary models only) weighs the positive class α and the
            negative class 1 − α, as in the paper (0.25 there). A sequence gives one weight per class
            (two for a binary model: negative, positive). ``None``: all 1. Unlike the weighted
            cross-entropy, the mean is over examples, not over Σα_t.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | Sequence[float] | None = None) -> None:
        super().__init__()
        if not float(gamma) >= 0:
            raise SpeechforgeError(f"gamma must be ≥ 0, got {gamma!r}")
        self.gamma = float(gamma)
        self.scalar_alpha: float | None = None
        table = None
        if isinstance(alpha, bool):
            raise SpeechforgeError(f"alpha must be a number, a list of numbers or None, got {alpha!r}")
        if isinstance(alpha, (int, float)):
            if not 0.0 <= float(alpha) <= 1.0:
                raise SpeechforgeError(f"a single alpha must be in [0, 1] (positive-class weight), got {alpha}")
            self.scalar_alpha = float(alpha)
        elif alpha is not None:
            table = torch.as_tensor(list(alpha), dtype=torch.float32)
            if table.numel() == 0 or bool((table < 0).any()) or not bool(table.isfinite().all()):
                raise SpeechforgeError(f"alpha must hold finite weights ≥ 0, got {table.tolist()}")
        self.alpha: Tensor | None
        self.register_buffer("alpha", table)

    def _alpha_table(self, n_classes: int, like: Tensor) -> Tensor | None:
        """α per class ``(n_classes,)``, or ``None`` when every α is 1."""
        if self.scalar_alpha is not None:
            if n_classes != 2:
                raise SpeechforgeError(
                    f"a single alpha is the positive-class weight of a binary model; give one alpha per "
                    f"class ({n_classes} values) for a multi-class model"
                )
            return torch.tensor([1.0 - self.scalar_alpha, self.scalar_alpha], dtype=like.dtype, device=like.device)
        if self.alpha is None:
            return None
        if self.alpha.numel() != n_classes:
            raise SpeechforgeError(f"{self.alpha.numel()} alpha values given for {n_classes} classes")
        return self.alpha.to(like.dtype)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``(batch, n_outputs)`` logits, ``(batch,)`` int64 targets → scalar."""
        binary = logits.dim() == 2 and logits.shape[1] == 1
        n_classes = 2 if binary else (logits.shape[-1] if logits.dim() == 2 else 0)
        check_targets(logits, targets, n_classes)
        if binary:
            # log p_t = log σ(z) for y = 1, log(1 − σ(z)) = log σ(−z) for y = 0, computed stably.
            y = targets.to(logits.dtype)  # (batch,)
            log_pt = -F.binary_cross_entropy_with_logits(logits[:, 0], y, reduction="none")  # (batch,)
        else:
            log_p = F.log_softmax(logits, dim=-1)  # (batch, n_classes)
            log_pt = log_p.gather(1, targets.unsqueeze(1)).squeeze(1)  # (batch,)
        loss = -log_pt  # (batch,)
        if self.gamma > 0:
            # 1 − p_t = −expm1(log p_t), accurate when p_t → 1; the floor keeps the gradient of x^γ finite.
            one_minus_pt = (-torch.expm1(log_pt)).clamp(min=torch.finfo(log_pt.dtype).tiny)  # (batch,)
            loss = one_minus_pt.pow(self.gamma) * loss
        table = self._alpha_table(n_classes, logits)
        if table is not None:
            loss = table[targets] * loss
        return loss.mean()

    def extra_repr(self) -> str:
        alpha = (
            self.scalar_alpha
            if self.scalar_alpha is not None
            else (None if self.alpha is None else self.alpha.tolist())
        )
        return f"gamma={self.gamma}, alpha={alpha}"
