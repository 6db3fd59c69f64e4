"""A fully connected network on pooled features, and the layer helpers the model families share.

Each hidden layer follows the lecture's batch-normalization slide: ``z = W a`` → BN (``ẑ = γ·z_norm + β``) →
``a = g(ẑ)`` → dropout. With batch norm the linear layer has no bias: BN subtracts the batch mean, which
cancels any bias, and β takes its role (the slide writes ``z = W a`` without ``b`` for this reason).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.models.logreg import check_features, check_positive
from speechforge.models.pooling import MaskedPooling

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky_relu")


def make_activation(name: str) -> nn.Module:
    """The activation function g by name (one of :data:`ACTIVATIONS`; leaky_relu has slope 0.01)."""
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "gelu":
        return nn.GELU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    raise SpeechforgeError(f"unknown activation {name!r} (allowed: {', '.join(ACTIVATIONS)})")


def check_dropout(p: float) -> None:
    """Raise a :class:`SpeechforgeError` unless ``0 ≤ p < 1``."""
    if not 0.0 <= float(p) < 1.0:
        raise SpeechforgeError(f"dropout must be in [0, 1), got {p!r}")


def check_sizes(values: Sequence[int], name: str) -> tuple[int, ...]:
    """Validate a list of layer sizes (each ≥ 1) and return it as a tuple."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise SpeechforgeError(f"{name} must be a list of whole numbers, got {values!r}")
    for value in values:
        check_positive(value, f"each entry of {name}")
    return tuple(int(v) for v in values)


class MLP(nn.Module):
    """Pooled features → [Linear → BatchNorm1d → activation → Dropout] × len(hidden) → Linear.

    Args:
        n_features: features per frame.
        n_outputs: 1 for a binary (sigmoid/BCE) model, else the number of classes.
        hidden: units of each hidden layer (the lecture's "number of hidden layers / units" hyper-parameters);
            an empty tuple gives logistic regression.
        activation: the non-linearity g, one of :data:`ACTIVATIONS`.
        batch_norm: normalize each hidden layer's pre-activation over the mini-batch (train mode) or with
            running statistics (eval mode). Training with batch norm needs batches of ≥ 2 utterances.
        dropout: probability of zeroing each hidden unit during training (inverted dropout; off in eval).
        pooling: statistics pooled over frames before the first layer: ``"meanstd"`` or ``"mean"``.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        pooling: str = "meanstd",
    ) -> None:
        super().__init__()
        check_positive(n_features, "n_features")
        check_positive(n_outputs, "n_outputs")
        sizes = check_sizes(hidden, "hidden")
        check_dropout(dropout)
        if pooling not in ("mean", "meanstd"):
            raise SpeechforgeError(f"unknown pooling {pooling!r} for mlp (allowed: mean, meanstd)")
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.pool = MaskedPooling(pooling)
        layers: list[nn.Module] = []
        width = self.pool.output_dim(n_features)
        for units in sizes:
            layers.append(nn.Linear(width, units, bias=not batch_norm))  # z = W a (+ b without BN)
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))  # ẑ = γ·z_norm + β
            layers.append(make_activation(activation))  # a = g(ẑ)
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, n_outputs)

    def forward(self, features: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → logits ``(batch, n_outputs)``."""
        check_features(features, frame_lengths, self.n_features)
        x = self.pool(features, frame_lengths)  # (batch, pooled)
        x = self.hidden(x)  # (batch, hidden[-1])
        return self.output(x)  # (batch, n_outputs)
