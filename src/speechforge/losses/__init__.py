"""Classification losses: each an ``nn.Module`` configured at construction, called as
``loss(logits (batch, n_outputs), targets (batch,) int64) -> scalar``.

``bce``    :class:`BinaryCrossEntropy`  the lecture's J on one logit (two classes, n_outputs = 1)
``ce``     :class:`CrossEntropy`        softmax + NLLL, with class weights and label smoothing
``focal``  :class:`FocalLoss`           −α_t (1 − p_t)^γ log p_t, binary or multi-class
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from speechforge.errors import SpeechforgeError
from speechforge.losses.bce import BinaryCrossEntropy
from speechforge.losses.ce import CrossEntropy, inverse_frequency_weights
from speechforge.losses.focal import FocalLoss

LOSS_NAMES = ("bce", "ce", "focal")

_LOSSES: dict[str, type[nn.Module]] = {"bce": BinaryCrossEntropy, "ce": CrossEntropy, "focal": FocalLoss}


def build_loss(name: str, n_outputs: int, **kwargs: Any) -> nn.Module:
    """Build a loss by name for a model with ``n_outputs`` logits.

    Args:
        name: one of :data:`LOSS_NAMES`.
        n_outputs: the model's outputs: 1 for ``bce`` (and binary ``focal``), ≥ 2 for ``ce``.
        **kwargs: the loss's own options (see each class); unknown ones are errors.
    """
    if name not in _LOSSES:
        raise SpeechforgeError(f"unknown loss {name!r} (allowed: {', '.join(LOSS_NAMES)})")
    cls = _LOSSES[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise SpeechforgeError(
            f"unknown option(s) {', '.join(unknown)} for loss {name!r} (allowed: {', '.join(allowed) or 'none'})"
        )
    if name == "bce" and n_outputs != 1:
        raise SpeechforgeError(f"loss 'bce' needs a model with one output, this one has {n_outputs}; use 'ce'")
    if name == "ce" and n_outputs < 2:
        raise SpeechforgeError("loss 'ce' needs at least two outputs (one per class); use 'bce' for one logit")
    per_class = {"ce": "class_weights", "focal": "alpha"}.get(name)
    values = kwargs.get(per_class) if per_class else None
    if values is not None and not isinstance(values, (int, float)):
        expected = 2 if n_outputs == 1 else n_outputs
        if len(values) != expected:
            raise SpeechforgeError(f"{per_class} has {len(values)} values, the model has {expected} classes")
    return cls(**kwargs)


__all__ = [
    "LOSS_NAMES",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "FocalLoss",
    "build_loss",
    "inverse_frequency_weights",
]
