"""Convolutional front end followed by a GRU over time: the sequence model.

Design, chosen so that padding provably never changes the output and the model still traces/exports with a
dynamic frame axis:

* The conv blocks downsample the frequency axis only (frames keep their 10 ms resolution), with the same
  padding masking as :mod:`speechforge.models.cnn`.
* ``pack_padded_sequence`` is not used: it makes the graph depend on the lengths, which breaks tracing and
  ONNX export. The GRUs run on the padded batch instead. A forward (left-to-right) GRU is unaffected by right
  padding: the output at a valid frame only depends on earlier frames. A plain bidirectional GRU is not —
  its backward direction would start in the padding. So the backward direction is a second, unidirectional
  GRU run on each utterance *reversed within its own length* (frame t ↦ length−1−t; padding stays in
  place), whose outputs are reversed back the same way. Both directions then see exactly the frames of the
  utterance alone, and the masked pooling that follows ignores the outputs at padded frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.models.cnn import ConvBlock, zero_padding
from speechforge.models.logreg import check_features, check_positive
from speechforge.models.mlp import check_dropout, check_sizes
from speechforge.models.pooling import MaskedPooling, valid_frames_mask


def reverse_padded(x: Tensor, frame_lengths: Tensor) -> Tensor:
    """Reverse each row of ``x`` ``(batch, frames, dim)`` within its valid frames; padding stays in place.

    Applying it twice gives ``x`` back.
    """
    mask = valid_frames_mask(frame_lengths, x)  # (batch, frames)
    positions = mask.new_ones(mask.shape, dtype=torch.long).cumsum(dim=1) - 1  # (batch, frames)
    lengths = mask.sum(dim=1, keepdim=True)  # (batch, 1): lengths clipped to the frame count
    source = torch.where(mask, lengths - 1 - positions, positions)  # (batch, frames)
    return x.gather(1, source.unsqueeze(-1).expand_as(x))  # (batch, frames, dim)


class MaskedGRU(nn.Module):
    """A (bi)directional multi-layer GRU whose outputs at valid frames do not depend on the padding.

    Args:
        input_size: features per frame.
        hidden_size: units of each direction.
        num_layers: stacked layers; each layer reads both directions of the previous one.
        bidirectional: add the length-aware backward direction (output ``2·hidden_size``).
        dropout: dropout between stacked layers (training only), as in :class:`torch.nn.GRU`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        directions = 2 if bidirectional else 1
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * directions
            self.forward_layers.append(nn.GRU(size, hidden_size, batch_first=True))
            if bidirectional:
                self.backward_layers.append(nn.GRU(size, hidden_size, batch_first=True))
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden_size * directions

    def forward(self, x: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, input_size)`` → ``(batch, frames, output_size)``."""
        for layer, forward_gru in enumerate(self.forward_layers):
            if layer > 0:
                x = self.dropout(x)
            out, _ = forward_gru(x)  # (batch, frames, hidden)
            if len(self.backward_layers) > 0:
                backward_gru = self.backward_layers[layer]
                rev, _ = backward_gru(reverse_padded(x, frame_lengths))  # (batch, frames, hidden)
                out = torch.cat([out, reverse_padded(rev, frame_lengths)], dim=-1)  # (batch, frames, 2·hidden)
            x = out
        return x


class CRNN(nn.Module):
    """Conv blocks (frequency pooling) → Linear projection → masked (bi)GRU → masked mean over time → Linear.

    Args:
        n_features: features per frame.
        n_outputs: 1 for a binary (sigmoid/BCE) model, else the number of classes.
        channels: filters of each conv block; each block halves the frequency axis (time is kept).
        rnn_hidden: GRU units per direction; the conv output of each frame is also projected to this size.
        rnn_layers: stacked GRU layers.
        bidirectional: add a backward GRU direction (exact under padding, see the module docstring).
        dropout: dropout after every conv block, before the GRU and between GRU layers (training only).
        batch_norm: BatchNorm2d after every convolution.
        kernel_size: odd side of the square convolution kernels.
        activation: non-linearity of the conv blocks, one of :data:`speechforge.models.mlp.ACTIVATIONS`.
        time_pooling: ``"mean"`` or ``"meanmax"`` pooling of the GRU outputs over valid frames.
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        channels: Sequence[int] = (32, 64),
        rnn_hidden: int = 128,
        rnn_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.1,
        batch_norm: bool = True,
        kernel_size: int = 3,
        activation: str = "relu",
        time_pooling: str = "mean",
    ) -> None:
        super().__init__()
        check_positive(n_features, "n_features")
        check_positive(n_outputs, "n_outputs")
        sizes = check_sizes(channels, "channels")
        check_positive(rnn_hidden, "rnn_hidden")
        check_positive(rnn_layers, "rnn_layers")
        check_positive(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise SpeechforgeError(f"kernel_size must be odd (keeps the frame count), got {kernel_size}")
        check_dropout(dropout)
        if time_pooling not in ("mean", "meanmax"):
            raise SpeechforgeError(f"unknown time_pooling {time_pooling!r} (allowed: mean, meanmax)")
        self.n_features = n_features
        self.n_outputs = n_outputs
        blocks = []
        in_channels, freq = 1, n_features
        for out_channels in sizes:
            blocks.append(
                ConvBlock(
                    in_channels,
                    out_channels,
                    kernel_size,
                    batch_norm,
                    activation,
                    "max",
                    dropout,
                    pool_time=False,
                )
            )
            in_channels, freq = out_channels, (freq + 1) // 2
        self.blocks = nn.ModuleList(blocks)
        self.projection = nn.Linear(in_channels * freq, rnn_hidden)
        self.dropout = nn.Dropout(dropout)
        self.rnn = MaskedGRU(rnn_hidden, rnn_hidden, rnn_layers, bidirectional, dropout)
        self.time_pool = MaskedPooling(time_pooling)
        self.output = nn.Linear(self.time_pool.output_dim(self.rnn.output_size), n_outputs)

    def forward(self, features: Tensor, frame_lengths: Tensor) -> Tensor:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → logits ``(batch, n_outputs)``."""
        check_features(features, frame_lengths, self.n_features)
        x = features.unsqueeze(1)  # (batch, 1, frames, n_features)
        for block in self.blocks:
            x, _ = block(x, frame_lengths)  # (batch, channels, frames, freq/2): frames unchanged
        x = zero_padding(x, frame_lengths)  # (batch, channels, frames, freq')
        x = x.permute(0, 2, 1, 3).flatten(2)  # (batch, frames, channels · freq')
        x = self.dropout(self.projection(x))  # (batch, frames, rnn_hidden)
        x = self.rnn(x, frame_lengths)  # (batch, frames, rnn_hidden · directions)
        x = self.time_pool(x, frame_lengths)  # (batch, pooled)
        return self.output(x)  # (batch, n_outputs)
