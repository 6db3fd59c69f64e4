"""The classifier model families.

Every model is a plain :class:`torch.nn.Module` with the same contract::

    logits = model(features, frame_lengths)
    # features: (batch, frames, n_features) float, right-padded
    # frame_lengths: (batch,) int64, valid frames of each utterance
    # logits: (batch, n_outputs); n_outputs = 1 for a binary sigmoid/BCE model, else the number of classes

Padding never changes an utterance's logits in eval mode, and every model can be traced
(:func:`torch.jit.trace`) and exported (:func:`torch.onnx.export`) with a dynamic frame axis.

``logreg``  :class:`LogisticRegression`  pooled statistics → one linear layer (the lecture's model)
``mlp``     :class:`MLP`                 pooled statistics → Linear/BN/activation/Dropout layers
``cnn``     :class:`CNN`                 2-D conv blocks over (time, frequency), global pooling
``crnn``    :class:`CRNN`                conv front end, GRU over time, pooling
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from speechforge.errors import SpeechforgeError
from speechforge.models.cnn import CNN
from speechforge.models.crnn import CRNN
from speechforge.models.init import INIT_SCHEMES, init_weights
from speechforge.models.logreg import LogisticRegression
from speechforge.models.mlp import ACTIVATIONS, MLP
from speechforge.models.pooling import MaskedPooling

MODEL_NAMES = ("logreg", "mlp", "cnn", "crnn")

_FAMILIES: dict[str, type[nn.Module]] = {"logreg": LogisticRegression, "mlp": MLP, "cnn": CNN, "crnn": CRNN}


def model_options(name: str) -> tuple[str, ...]:
    """The keyword arguments :func:`build_model` accepts for a model family (besides the two sizes)."""
    if name not in _FAMILIES:
        raise SpeechforgeError(f"unknown model {name!r} (allowed: {', '.join(MODEL_NAMES)})")
    parameters = inspect.signature(_FAMILIES[name].__init__).parameters
    return tuple(p for p in parameters if p not in ("self", "n_features", "n_outputs"))


def build_model(name: str, n_features: int, n_outputs: int, **kwargs: Any) -> nn.Module:
    """Build a model family by name.

    Args:
        name: one of :data:`MODEL_NAMES`.
        n_features: features per frame.
        n_outputs: 1 for a binary sigmoid/BCE model, else the number of classes.
        **kwargs: the family's own hyper-parameters (see each class); unknown ones are errors.
    """
    allowed = model_options(name)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise SpeechforgeError(
            f"unknown option(s) {', '.join(unknown)} for model {name!r} (allowed: {', '.join(allowed)})"
        )
    return _FAMILIES[name](n_features, n_outputs, **kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; batch-norm running statistics are buffers and not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "ACTIVATIONS",
    "CNN",
    "CRNN",
    "INIT_SCHEMES",
    "MLP",
    "MODEL_NAMES",
    "LogisticRegression",
    "MaskedPooling",
    "build_model",
    "count_parameters",
    "init_weights",
    "model_options",
]
