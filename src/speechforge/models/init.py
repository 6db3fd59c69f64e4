"""Named weight-initialisation schemes.

``init_weights(model, scheme)`` re-initialises every Linear, Conv and GRU/LSTM layer of a model in place:

``default``          PyTorch's own initialisation (each layer's ``reset_parameters``, biases included).
``xavier_uniform``   Glorot & Bengio: U(−a, a), a = √(6 / (fan_in + fan_out)); suits tanh/sigmoid.
``xavier_normal``    N(0, 2 / (fan_in + fan_out)).
``kaiming_uniform``  He et al. for ReLU: U(−b, b), b = √(6 / fan_in).
``kaiming_normal``   N(0, 2 / fan_in).
``orthogonal``       orthogonal matrices (Saxe et al.); for recurrent weights each gate's block gets its own
                     orthogonal matrix, which keeps the recurrence from exploding or vanishing at the start.
``zeros``            all weights 0, the lecture's logistic-regression start. Only for models with a single
                     weight layer: in a network with hidden units, zeros make every unit of a layer compute
                     the same value and receive the same gradient, so they stay identical forever.

Except for ``default``, biases are set to 0; batch-norm layers always get γ = 1, β = 0 and fresh running
statistics. For RNNs, ``xavier_*``/``kaiming_*`` apply to each gate's block of the input and recurrent
matrices.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError

INIT_SCHEMES = (
    "default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "zeros",
)

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm)


def _weight_init(scheme: str) -> Callable[[Tensor], object]:
    if scheme == "xavier_uniform":
        return nn.init.xavier_uniform_
    if scheme == "xavier_normal":
        return nn.init.xavier_normal_
    if scheme == "kaiming_uniform":
        return lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu")
    if scheme == "kaiming_normal":
        return lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")
    if scheme == "orthogonal":
        return nn.init.orthogonal_
    return nn.init.zeros_


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (*_WEIGHTED, nn.RNNBase))]


def init_weights(model: nn.Module, scheme: str = "default") -> nn.Module:
    """Re-initialise ``model`` in place with a named scheme and return it.

    Args:
        model: any module; its Linear, Conv1d/2d/3d, RNN/GRU/LSTM and batch-norm layers are re-initialised.
        scheme: one of :data:`INIT_SCHEMES` (see the module docstring).

    Raises:
        SpeechforgeError: for an unknown scheme, or ``zeros`` on a model with more than one weight layer.
    """
    if scheme not in INIT_SCHEMES:
        raise SpeechforgeError(f"unknown init scheme {scheme!r} (allowed: {', '.join(INIT_SCHEMES)})")
    layers = _weight_layers(model)
    if scheme == "zeros" and len(layers) > 1:
        raise SpeechforgeError(
            f"init 'zeros' only suits a single-layer model such as logreg; this model has {len(layers)} "
            "weight layers, and zero weights would make every hidden unit compute the same output and get "
            "the same gradient (the symmetry is never broken). Use xavier_uniform or kaiming_uniform."
        )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _NORMS):
                module.reset_parameters()  # γ = 1, β = 0, running mean 0 / variance 1
            elif scheme == "default":
                reset = getattr(module, "reset_parameters", None)
                if isinstance(module, (*_WEIGHTED, nn.RNNBase)) and callable(reset):
                    reset()
            elif isinstance(module, _WEIGHTED):
                _weight_init(scheme)(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.RNNBase):
                _init_rnn(module, _weight_init(scheme))
    return model


def _init_rnn(rnn: nn.RNNBase, init: Callable[[Tensor], object]) -> None:
    """Initialise each gate block of the input/recurrent matrices separately; biases to 0."""
    gates = {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)
    for name, param in rnn.named_parameters():
        if name.startswith("weight"):
            for block in param.chunk(gates, dim=0):  # (hidden, in) per gate
                init(block)
        else:
            nn.init.zeros_(param)
