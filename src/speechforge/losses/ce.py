"""Softmax cross-entropy: log-softmax followed by the negative log-likelihood loss (NLLL).

For n classes the model outputs n logits z; p = softmax(z) and the loss of one example is −log p_y, the
lecture's binary cross-entropy generalised to n classes. The lecture notes that NLLL "takes class weights":
with weights w the batch loss is Σᵢ w_{yᵢ}(−log p_{yᵢ}) / Σᵢ w_{yᵢ} (PyTorch's weighted mean), which makes the
errors on a rare class count as much as those on a frequent one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.losses.bce import check_targets


def inverse_frequency_weights(counts: Sequence[int], class_names: Sequence[str] | None = None) -> Tensor:
    """Class weights w_c = N / (C · n_c), the ``auto`` option: normalised so that Σ_c w_c·n_c = N.

    A balanced training set therefore gets all weights 1, and the weighted loss keeps the scale of the
    unweighted one.

    Args:
        counts: training examples n_c of each class, in class-id order.
        class_names: optional names of the classes, used in error messages.

    Raises:
        SpeechforgeError: when a class has no training example (its weight would be infinite).
    """
    values = [int(c) for c in counts]
    if not values:
        raise SpeechforgeError("class counts are empty: there are no classes to weigh")
    for index, count in enumerate(values):
        if count <= 0:
            name = class_names[index] if class_names is not None else str(index)
            raise SpeechforgeError(
                f"class {name!r} has {count} training examples, so inverse-frequency weights are undefined; "
                "add examples of it to the training set or drop the class"
            )
    n = torch.tensor(values, dtype=torch.float32)
    return n.sum() / (len(values) * n)


class CrossEntropy(nn.Module):
    """Softmax cross-entropy with optional class weights and label smoothing (mean over the batch).

    Args:
        class_weights: one weight per class (e.g. from :func:`inverse_frequency_weights`), or ``None`` for 1.
        label_smoothing: ε in [0, 1): the target distribution becomes (1 − ε)·one-hot + ε/C, which stops
            the model from driving its logits to infinity on the training set (Szegedy et al.).
            Matches :func:`torch.nn.functional.cross_entropy` exactly, class weights included.
    """

    def __init__(self, class_weights: Tensor | Sequence[float] | None = None, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise SpeechforgeError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        weights = None
        if class_weights is not None:
            weights = torch.as_tensor(class_weights, dtype=torch.float32).flatten()
            if weights.numel() == 0 or bool((weights < 0).any()) or not bool(weights.isfinite().all()):
                raise SpeechforgeError(f"class_weights must be finite and ≥ 0, got {weights.tolist()}")
        self.class_weights: Tensor | None
        self.register_buffer("class_weights", weights)
        self.label_smoothing = float(label_smoothing)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``(batch, n_classes)`` logits, ``(batch,)`` int64 targets → scalar."""
        check_targets(logits, targets, logits.shape[-1] if logits.dim() == 2 else 0)
        n_classes = logits.shape[1]
        weight = self.class_weights
        if weight is not None and weight.numel() != n_classes:
            raise SpeechforgeError(f"{weight.numel()} class weights given for {n_classes} classes")
        if weight is not None:
            weight = weight.to(logits.dtype)
        log_p = F.log_softmax(logits, dim=-1)  # (batch, n_classes)
        nll = F.nll_loss(log_p, targets, weight=weight)  # Σ w_y (−log p_y) / Σ w_y
        if self.label_smoothing == 0.0:
            return nll
        # The uniform part of the smoothed target: Σᵢ Σ_c w_c (−log p_ic) / C, over the same Σᵢ w_{yᵢ}.
        per_class = -log_p if weight is None else -log_p * weight  # (batch, n_classes)
        norm = torch.tensor(float(targets.numel()), dtype=logits.dtype, device=logits.device)
        if weight is not None:
            norm = weight[targets].sum()
        uniform = per_class.sum() / (n_classes * norm)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def extra_repr(self) -> str:
        weighted = self.class_weights is not None
        return f"class_weights={'yes' if weighted else 'none'}, label_smoothing={self.label_smoothing}"
