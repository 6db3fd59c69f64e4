"""A small 2-D convolutional network over the (time, frequency) image of an utterance.

Each block is Conv2d → BatchNorm2d → activation → 2×2 pooling → Dropout and halves both axes, so the shapes
depend only on the input's shape (no Python branching on data: traceable and ONNX-exportable with a dynamic
frame axis). Padding never leaks into valid frames:

* before every convolution, frames past an utterance's length are set to 0 — exactly the zero padding the
  convolution adds at the end of an utterance processed alone;
* pooling uses ``ceil_mode=True``, and the frame lengths become ``ceil(length / 2)``: the last, half-full
  window of an odd-length utterance sees only its own frame, alone or in a batch (padding is set to the
  lowest float before max pooling, and average pooling divides by the number of valid frames in the window).

After the blocks: mean over the remaining frequency bins, masked mean + max over the valid frames, Linear.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.models.logreg import check_features, check_positive
from speechforge.models.mlp import check_dropout, check_sizes, make_activation
from speechforge.models.pooling import MaskedPooling, valid_frames_mask


def zero_padding(x: Tensor, frame_lengths: Tensor) -> Tensor:
    """Set the padded frames of ``x`` ``(batch, channels, frames, freq)`` to 0 (whatever they held)."""
    mask = valid_frames_mask(frame_lengths, x.transpose(1, 2))  # (batch, frames)
    return x.masked_fill(~mask[:, None, :, None], 0.0)  # (batch, channels, frames, freq)


class ConvBlock(nn.Module):
    """Conv2d ('same' padding) → BatchNorm2d → activation → 2×2 pooling (ceil mode) → Dropout.

    Args:
        in_channels: channels of the input image (1 for the features themselves).
        out_channels: number of convolution filters.
        kernel_size: odd side of the square kernel.
        batch_norm: use BatchNorm2d (the convolution then has no bias).
        activation: one of :data:`speechforge.models.mlp.ACTIVATIONS`.
        pool: ``"max"`` or ``"avg"`` 2×2 pooling, or ``"none"`` to keep the resolution.
        dropout: probability of zeroing an activation during training.
        pool_time: halve the time axis too (``False``: pool the frequency axis only, as the CRNN does).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        batch_norm: bool = True,
        activation: str = "relu",
        pool: str = "max",
        dropout: float = 0.0,
        pool_time: bool = True,
    ) -> None:
        super().__init__()
        if pool not in ("max", "avg", "none"):
            raise SpeechforgeError(f"unknown pool {pool!r} (allowed: max, avg, none)")
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
        self.norm: nn.Module = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act = make_activation(activation)
        self.pool = pool
        self.time_stride = 2 if (pool_time and pool != "none") else 1
        self.kernel = (self.time_stride, 2 if pool != "none" else 1)
        self.dropout = nn.Dropout(dropout)

    def output_lengths(self, frame_lengths: Tensor) -> Tensor:
        """Valid frames after this block: ``ceil(length / time_stride)``."""
        return (frame_lengths + self.time_stride - 1) // self.time_stride

    def forward(self, x: Tensor, frame_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, in, frames, freq)`` → ``(batch, out, ceil(frames/s), ceil(freq/2))``, new lengths."""
        x = zero_padding(x, frame_lengths)  # (batch, in, frames, freq): conv sees zeros past each end
        x = self.act(self.norm(self.conv(x)))  # (batch, out, frames, freq)
        if self.pool == "max":
            valid = valid_frames_mask(frame_lengths, x.transpose(1, 2))  # (batch, frames)
            x = x.masked_fill(~valid[:, None, :, None], torch.finfo(x.dtype).min)  # padding never wins
            x = F.max_pool2d(x, self.kernel, ceil_mode=True)  # (batch, out, frames', freq')
        elif self.pool == "avg":
            mask = valid_frames_mask(frame_lengths, x.transpose(1, 2))[:, None, :, None].to(x.dtype)
            total = F.avg_pool2d(x * mask, self.kernel, ceil_mode=True)  # (batch, out, frames', freq')
            share = F.avg_pool2d(mask, (self.kernel[0], 1), ceil_mode=True)  # (batch, 1, frames', 1)
            x = total / share.clamp(min=1e-6)  # mean over the valid frames of each window
        frame_lengths = self.output_lengths(frame_lengths)
        x = self.dropout(zero_padding(x, frame_lengths))  # (batch, out, frames', freq')
        return x, frame_lengths


class CNN(nn.Module):
    """Conv blocks over (frames, features) → frequency mean → masked mean+max over time → Linear.

    Args:
        n_features: features per frame (the image's frequency axis).
        n_outputs: 1 for a binary (sigmoid/BCE) model, else the number of classes.
        channels: filters of each conv block; each block halves the time and frequency axes.
        kernel_size: odd side of the square convolution kernels.
        batch_norm: BatchNorm2d after every convolution.
        dropout: dropout probability after every block (training only).
        activation: one of :data:`speechforge.models.mlp.ACTIVATIONS`.
        pool: 2×2 downsampling of every block: ``"max"`` or ``"avg"``.
        time_pooling: global pooling over the valid frames: ``"meanmax"`` (mean and max, 2·channels[-1]
            inputs to the classifier) or ``"mean"``.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        channels: Sequence[int] = (32, 64, 128),
        kernel_size: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.1,
        activation: str = "relu",
        pool: str = "max",
        time_pooling: str = "meanmax",
    ) -> None:
        super().__init__()
        check_positive(n_features, "n_features")
        check_positive(n_outputs, "n_outputs")
        sizes = check_sizes(channels, "channels")
        if not sizes:
            raise SpeechforgeError("channels must list at least one conv block")
        check_positive(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise SpeechforgeError(f"kernel_size must be odd (keeps the frame count), got {kernel_size}")
        check_dropout(dropout)
        if pool not in ("max", "avg"):
            raise SpeechforgeError(f"unknown pool {pool!r} for cnn (allowed: max, avg)")
        if time_pooling not in ("mean", "meanmax"):
            raise SpeechforgeError(f"unknown time_pooling {time_pooling!r} (allowed: mean, meanmax)")
        self.n_features = n_features
        self.n_outputs = n_outputs
        blocks = []
        in_channels = 1
        for out_channels in sizes:
            blocks.append(ConvBlock(in_channels, out_channels, kernel_size, batch_norm, activation, pool, dropout))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.time_pool = MaskedPooling(time_pooling)
        self.output = nn.Linear(self.time_pool.output_dim(in_channels), n_outputs)

    def forward(self, features: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → logits ``(batch, n_outputs)``."""
        check_features(features, frame_lengths, self.n_features)
        x = features.unsqueeze(1)  # (batch, 1, frames, n_features)
        lengths = frame_lengths
        for block in self.blocks:
            x, lengths = block(x, lengths)  # (batch, channels, frames/2, freq/2)
        x = x.mean(dim=3).transpose(1, 2)  # (batch, frames', channels)
        x = self.time_pool(x, lengths)  # (batch, pooled)
        return self.output(x)  # (batch, n_outputs)
