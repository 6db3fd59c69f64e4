"""Masks and statistics over the valid frames of a right-padded batch.

Every model receives ``features`` of shape ``(batch, frames, n_features)`` where utterance ``b`` is valid
on its first ``frame_lengths[b]`` frames and padding follows. Anything computed here ignores the padding
completely, so an utterance gets the same statistics alone or in a batch with longer ones (whatever values
the padding holds).

All functions are built from tensor operations only (no Python branching on data), so models using them can
be traced with :func:`torch.jit.trace` and exported with :func:`torch.onnx.export` with a dynamic frame axis.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError

POOLING_MODES = ("mean", "meanstd", "meanmax")


def valid_frames_mask(frame_lengths: Tensor, x: Tensor) -> Tensor:
    """A boolean mask of the valid frames of ``x``.

    Args:
        frame_lengths: ``(batch,)`` int64, number of valid frames of each utterance.
        x: any tensor of shape ``(batch, frames, ...)``; only its shape is read.

    Returns:
        ``(batch, frames)`` bool, ``True`` on the first ``frame_lengths[b]`` frames of row ``b``.
    """
    # Frame positions derived from x's own shape (cumsum of ones), so a trace stays dynamic in `frames`.
    first = x[(slice(None), slice(None)) + (0,) * (x.dim() - 2)]  # (batch, frames)
    positions = torch.ones_like(first, dtype=torch.long).cumsum(dim=1) - 1  # (batch, frames)
    return positions < frame_lengths.to(positions.device).unsqueeze(1)  # (batch, frames)


def _count(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """Valid frames per row as ``(batch, 1)``, at least 1 so that empty rows give zeros instead of NaN."""
    return mask.sum(dim=1, keepdim=True).clamp(min=1).to(dtype)  # (batch, 1)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over the valid frames: ``(batch, frames, dim)``, ``(batch, frames)`` bool → ``(batch, dim)``."""
    valid = mask.unsqueeze(-1)  # (batch, frames, 1)
    total = torch.where(valid, x, torch.zeros_like(x)).sum(dim=1)  # (batch, dim)
    return total / _count(mask, x.dtype)  # (batch, dim)


def masked_mean_std(x: Tensor, mask: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation over the valid frames (population variance, as in the lecture's σ²).

    Args:
        x: ``(batch, frames, dim)``.
        mask: ``(batch, frames)`` bool from :func:`valid_frames_mask`.
        eps: floor on the variance before the square root, so that the gradient stays finite for constant
            inputs (and for utterances of one frame, whose variance is 0).

    Returns:
        ``(mean, std)``, each ``(batch, dim)``.
    """
    mean = masked_mean(x, mask)  # (batch, dim)
    valid = mask.unsqueeze(-1)  # (batch, frames, 1)
    centred = torch.where(valid, x - mean.unsqueeze(1), torch.zeros_like(x))  # (batch, frames, dim)
    var = centred.pow(2).sum(dim=1) / _count(mask, x.dtype)  # (batch, dim)
    return mean, var.clamp(min=eps).sqrt()


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Maximum over the valid frames: ``(batch, frames, dim)`` → ``(batch, dim)`` (zeros for empty rows)."""
    valid = mask.unsqueeze(-1)  # (batch, frames, 1)
    lowest = torch.finfo(x.dtype).min
    peak = x.masked_fill(~valid, lowest).amax(dim=1)  # (batch, dim)
    has_frames = mask.any(dim=1, keepdim=True)  # (batch, 1)
    return torch.where(has_frames, peak, torch.zeros_like(peak))  # (batch, dim)


class MaskedPooling(nn.Module):
    """Pools a padded sequence of vectors into one vector per utterance, over its valid frames only.

    Args:
        mode: which statistics are concatenated —
            ``"mean"``: the mean (output ``dim``);
            ``"meanstd"``: mean and standard deviation (output ``2·dim``; x-vector statistics pooling);
            ``"meanmax"``: mean and maximum (output ``2·dim``; keeps a short, loud event visible).
        eps: variance floor of ``"meanstd"`` (see :func:`masked_mean_std`).
    """

    def __init__(self, mode: str = "meanstd", eps: float = 1e-5) -> None:
        super().__init__()
        if mode not in POOLING_MODES:
            raise SpeechforgeError(f"unknown pooling {mode!r} (allowed: {', '.join(POOLING_MODES)})")
        self.mode = mode
        self.eps = eps

    def output_dim(self, input_dim: int) -> int:
        """Size of the pooled vector for inputs of ``input_dim`` features."""
        return input_dim if self.mode == "mean" else 2 * input_dim

    def forward(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, dim)`` and ``(batch,)`` int64 → ``(batch, output_dim(dim))``."""
        mask = valid_frames_mask(frame_lengths, x)  # (batch, frames)
        if self.mode == "mean":
            return masked_mean(x, mask)  # (batch, dim)
        if self.mode == "meanstd":
            mean, std = masked_mean_std(x, mask, self.eps)
            return torch.cat([mean, std], dim=-1)  # (batch, 2 * dim)
        return torch.cat([masked_mean(x, mask), masked_max(x, mask)], dim=-1)  # (batch, 2 * dim)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
