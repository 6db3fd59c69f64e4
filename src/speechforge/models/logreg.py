"""The lecture's logistic regression, on statistics pooled over an utterance's frames.

The lecture writes ŷ = σ(wᵀx + b) for one example x. An utterance is a sequence of frames, so x is first
made one vector: the mean (and standard deviation) of every feature over the valid frames. The model then is
exactly one linear layer, ``z = wᵀx + b``; ``forward`` returns the logit z. The sigmoid (two classes, one
output) or the softmax (n classes, n outputs: multinomial logistic regression) is applied by the loss and
by the predictor, never inside the model, so that the loss can use the numerically stable log-sigmoid or
log-softmax.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.models.pooling import MaskedPooling


def check_positive(value: int, name: str) -> None:
    """Raise a :class:`SpeechforgeError` unless ``value`` is an int ≥ 1 (shared by every model family)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpeechforgeError(f"{name} must be a whole number ≥ 1, got {value!r}")


def check_features(features: Tensor, frame_lengths: Tensor, n_features: int) -> None:
    """Shape checks of a model's inputs, for eager calls (skipped while tracing or exporting, where the
    shapes are symbolic and the checks would only produce tracer warnings)."""
    if torch.jit.is_tracing():
        return
    if features.dim() != 3 or features.shape[-1] != n_features:
        raise SpeechforgeError(f"expected features of shape (batch, frames, {n_features}), got {tuple(features.shape)}")
    if frame_lengths.dim() != 1 or frame_lengths.shape[0] != features.shape[0]:
        raise SpeechforgeError(
            f"expected frame_lengths of shape ({features.shape[0]},), got {tuple(frame_lengths.shape)}"
        )


class LogisticRegression(nn.Module):
    """Pooled features → one linear layer (the logits ``wᵀx + b``).

    Args:
        n_features: features per frame (e.g. 40 log-mel bands).
        n_outputs: 1 for a binary model (sigmoid + binary cross-entropy), else the number of classes
            (softmax + cross-entropy).
        pooling: ``"meanstd"`` (mean and standard deviation of each feature: 2·n_features inputs) or
            ``"mean"`` (n_features inputs). See :class:`~speechforge.models.pooling.MaskedPooling`.
    """

    def __init__(self, n_features: int, n_outputs: int, pooling: str = "meanstd") -> None:
        super().__init__()
        check_positive(n_features, "n_features")
        check_positive(n_outputs, "n_outputs")
        if pooling not in ("mean", "meanstd"):
            raise SpeechforgeError(f"unknown pooling {pooling!r} for logreg (allowed: mean, meanstd)")
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.pool = MaskedPooling(pooling)
        self.linear = nn.Linear(self.pool.output_dim(n_features), n_outputs)

    def forward(self, features: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → logits ``(batch, n_outputs)``."""
        check_features(features, frame_lengths, self.n_features)
        x = self.pool(features, frame_lengths)  # (batch, pooled)
        return self.linear(x)  # (batch, n_outputs)
