"""CTC acoustic models: frames of features → per-frame log-probabilities over a token vocabulary.

Every CTC model is a plain :class:`torch.nn.Module` with the contract::

    log_probs, out_lengths = model(features, frame_lengths)
    # features: (batch, frames, n_features) float, right-padded
    # frame_lengths: (batch,) int64, valid frames of each utterance
    # log_probs: (batch, frames', vocab_size), log-softmaxed over the vocabulary (index 0 = the CTC blank
    #            by convention of :class:`speechforge.losses.ctc.CTCLoss`)
    # out_lengths: (batch,) int64, valid output frames of each utterance (frames' ≈ frames / subsampling)

Frames of ``log_probs`` past ``out_lengths`` are computed from padding and must be ignored (the CTC loss and
the decoders do). In eval mode an utterance gets the same log-probabilities on its valid frames alone or
padded in a batch.

``ConvSubsampling``  two Conv2d(3×3) + ReLU over (time, frequency) → Linear to ``d_model``
``ConformerCTC``     subsampling → sinusoidal positions → Conformer blocks → Linear → log_softmax
``LSTMCTC``          subsampling → (bi)LSTM over the packed sequence → Linear → log_softmax
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from speechforge.errors import SpeechforgeError
from speechforge.models.logreg import check_features, check_positive
from speechforge.models.mlp import check_dropout
from speechforge.models.pooling import valid_frames_mask

SUBSAMPLING_FACTORS = (2, 4)


def _conv_length(length: int, kernel: int, stride: int) -> int:
    return (length - kernel) // stride + 1


class ConvSubsampling(nn.Module):
    """Two 3×3 Conv2d + ReLU over the (time, frequency) image, then a Linear to ``d_model`` per frame.

    Both convolutions have no padding, so an output frame only reads valid input frames of its own
    utterance: the valid outputs do not depend on the padding of the batch. Each convolution with kernel
    k = 3 and stride s maps a length L to ``(L - 3) // s + 1``:

    * ``factor=4``: strides (2, 2): ``L1 = (L - 3) // 2 + 1 = (L - 1) // 2``, ``out = (L1 - 1) // 2``
    * ``factor=2``: strides (2, 1): ``L1 = (L - 1) // 2``, ``out = L1 - 2``

    The same arithmetic shrinks the frequency axis (``n_features`` must leave at least one bin).
    :attr:`min_frames` (7 for both factors) is the shortest utterance giving one output frame; shorter
    ones raise a :class:`SpeechforgeError`.

    Args:
        n_features: features per input frame (the frequency axis of the image).
        d_model: output features per frame.
        factor: time subsampling, 4 (two stride-2 convolutions) or 2 (stride 2 then stride 1).
        channels: filters of both convolutions; ``None`` uses ``d_model``.
    """

    def __init__(self, n_features: int, d_model: int, factor: int = 4, channels: int | None = None) -> None:
        super().__init__()
        check_positive(n_features, "n_features")
        check_positive(d_model, "d_model")
        if factor not in SUBSAMPLING_FACTORS:
            raise SpeechforgeError(f"subsampling factor must be one of {SUBSAMPLING_FACTORS}, got {factor!r}")
        channels = d_model if channels is None else channels
        check_positive(channels, "channels")
        self.n_features = n_features
        self.d_model = d_model
        self.factor = factor
        self.strides = (2, 2) if factor == 4 else (2, 1)
        freq = n_features
        for stride in self.strides:
            freq = _conv_length(freq, 3, stride)
        if freq < 1:
            raise SpeechforgeError(f"n_features={n_features} is too few for the 3×3 subsampling convolutions")
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=self.strides[0]),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=self.strides[1]),
            nn.ReLU(),
        )
        self.out = nn.Linear(channels * freq, d_model)

    @property
    def min_frames(self) -> int:
        """The shortest input (in frames) that gives at least one output frame."""
        need = 1
        for stride in reversed(self.strides):
            need = (need - 1) * stride + 3
        return need

    def output_lengths(self, frame_lengths: Tensor) -> Tensor:
        """Valid output frames for ``(batch,)`` int64 input lengths (tensor arithmetic, traceable)."""
        lengths = frame_lengths
        for stride in self.strides:
            lengths = torch.div(lengths - 3, stride, rounding_mode="floor") + 1
        return lengths

    def check_lengths(self, features: Tensor, frame_lengths: Tensor) -> None:
        """Raise a :class:`SpeechforgeError` naming the utterance and :attr:`min_frames` when one is too short."""
        if torch.jit.is_tracing():
            return
        short = (frame_lengths < self.min_frames).nonzero().flatten().tolist()
        if short or features.shape[1] < self.min_frames:
            index = short[0] if short else 0
            raise SpeechforgeError(
                f"utterance {index} has {int(frame_lengths[index])} frames, fewer than the {self.min_frames} "
                f"that the ×{self.factor} convolutional subsampling needs for one output frame"
            )

    def forward(self, features: Tensor, frame_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, frames, n_features)``, ``(batch,)`` → ``(batch, frames', d_model)``, ``(batch,)`` int64.

        Padded output frames are set to 0."""
        self.check_lengths(features, frame_lengths)
        x = self.conv(features.unsqueeze(1))  # (batch, channels, frames', freq')
        x = x.transpose(1, 2).flatten(2)  # (batch, frames', channels * freq')
        x = self.out(x)  # (batch, frames', d_model)
        lengths = self.output_lengths(frame_lengths.to(torch.int64))
        mask = valid_frames_mask(lengths, x)  # (batch, frames')
        return x.masked_fill(~mask.unsqueeze(-1), 0.0), lengths


def sinusoidal_positions(x: Tensor) -> Tensor:
    """Vaswani et al.'s absolute encodings for ``x`` ``(batch, frames, d)``: ``(1, frames, d)``.

    PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(·). The positions come from x's shape through a
    cumsum, so a traced / exported graph keeps a dynamic frame axis."""
    d = x.shape[-1]
    positions = torch.ones_like(x[0, :, :1]).cumsum(dim=0) - 1.0  # (frames, 1)
    div = torch.exp(torch.arange(0, d, 2, dtype=x.dtype, device=x.device) * (-math.log(10000.0) / d))  # (⌈d/2⌉,)
    angles = positions * div  # (frames, ⌈d/2⌉)
    pe = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).flatten(1)  # (frames, 2⌈d/2⌉)
    return pe[:, :d].unsqueeze(0)  # (1, frames, d)


class FeedForward(nn.Module):
    """LayerNorm → Linear(d, mult·d) → SiLU (Swish) → Dropout → Linear(mult·d, d) → Dropout."""

    def __init__(self, d_model: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, mult * d_model),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(mult * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SelfAttention(nn.Module):
    """Pre-norm multi-head self-attention; padded keys get no weight (key-padding mask).

    Written with plain matmuls (not :class:`torch.nn.MultiheadAttention`, whose eval fast path does not
    export), so it traces and exports to ONNX with dynamic batch and time axes."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % n_heads:
            raise SpeechforgeError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.scale = 1.0 / math.sqrt(d_model // n_heads)
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``(batch, frames, d)``, ``(batch, frames)`` bool valid → ``(batch, frames, d)``."""
        batch, frames, d = x.shape
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)  # each (batch, frames, d)
        heads = [t.reshape(batch, frames, self.n_heads, -1).transpose(1, 2) for t in (q, k, v)]
        q, k, v = heads  # (batch, heads, frames, d/heads)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # (batch, heads, frames, frames)
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        weights = self.attn_dropout(torch.softmax(scores, dim=-1))
        out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, frames, d)  # (batch, frames, d)
        return self.dropout(self.proj(out))


class ConvModule(nn.Module):
    """LayerNorm → pointwise Conv1d(d, 2d) → GLU → zero padding → depthwise Conv1d(k) → LayerNorm → SiLU →
    pointwise Conv1d(d, d) → Dropout.

    Gulati et al. use BatchNorm after the depthwise convolution; LayerNorm over the channels of each frame
    is used here instead: its statistics never include padded frames or other utterances of the batch (in
    training BatchNorm's batch statistics would), it behaves the same in train and eval, and it suits the
    small batches of CPU training. The padded frames are set to 0 before the depthwise convolution, which
    is exactly the zero padding it adds at the end of an utterance processed alone."""

    def __init__(self, d_model: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.depth_norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``(batch, frames, d)``, ``(batch, frames)`` bool valid → ``(batch, frames, d)``."""
        y = self.pointwise_in(self.norm(x).transpose(1, 2))  # (batch, 2d, frames)
        y = F.glu(y, dim=1)  # (batch, d, frames)
        y = y.masked_fill(~mask[:, None, :], 0.0)
        y = self.depthwise(y).transpose(1, 2)  # (batch, frames, d)
        y = F.silu(self.depth_norm(y)).transpose(1, 2)  # (batch, d, frames)
        return self.dropout(self.pointwise_out(y).transpose(1, 2))  # (batch, frames, d)


class ConformerBlock(nn.Module):
    """x + ½FFN → + MHSA → + Conv → + ½FFN → LayerNorm (Gulati et al., 2020)."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int, conv_kernel: int, dropout: float) -> None:
        super().__init__()
        self.ff1 = FeedForward(d_model, ff_mult, dropout)
        self.attn = SelfAttention(d_model, n_heads, dropout)
        self.conv = ConvModule(d_model, conv_kernel, dropout)
        self.ff2 = FeedForward(d_model, ff_mult, dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn(x, mask)
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class ConformerCTC(nn.Module):
    """A small Conformer encoder with a CTC output layer.

    :class:`ConvSubsampling` → ×√d_model + sinusoidal absolute positions (not Gulati et al.'s relative
    positions: simpler, exportable, enough for small models) → Dropout → ``n_layers``
    :class:`ConformerBlock` → Linear(d_model, vocab_size) → log_softmax.

    Args:
        n_features: features per input frame.
        vocab_size: output tokens including the CTC blank.
        d_model: width of the encoder.
        n_layers: Conformer blocks.
        n_heads: attention heads (must divide ``d_model``).
        ff_mult: hidden width of the feed-forward modules, in multiples of ``d_model``.
        conv_kernel: odd kernel of the depthwise convolution.
        dropout: dropout probability everywhere (training only).
        subsampling: time subsampling of the front end, 4 or 2.
        subsampling_channels: filters of the subsampling convolutions; ``None`` uses ``d_model``.
    """

    def __init__(
        self,
        n_features: int,
        vocab_size: int,
        d_model: int = 144,
        n_layers: int = 4,
        n_heads: int = 4,
        ff_mult: int = 4,
        conv_kernel: int = 15,
        dropout: float = 0.1,
        subsampling: int = 4,
        subsampling_channels: int | None = None,
    ) -> None:
        super().__init__()
        for value, name in ((vocab_size, "vocab_size"), (n_layers, "n_layers"), (n_heads, "n_heads")):
            check_positive(value, name)
        check_positive(ff_mult, "ff_mult")
        check_positive(conv_kernel, "conv_kernel")
        if conv_kernel % 2 == 0:
            raise SpeechforgeError(f"conv_kernel must be odd (keeps the frame count), got {conv_kernel}")
        check_dropout(dropout)
        self.n_features = n_features
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.subsampling = ConvSubsampling(n_features, d_model, subsampling, subsampling_channels)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            ConformerBlock(d_model, n_heads, ff_mult, conv_kernel, dropout) for _ in range(n_layers)
        )
        self.output = nn.Linear(d_model, vocab_size)

    @property
    def min_frames(self) -> int:
        return self.subsampling.min_frames

    def forward(self, features: Tensor, frame_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → log_probs ``(batch, frames', vocab)``,
        out_lengths ``(batch,)`` int64."""
        check_features(features, frame_lengths, self.n_features)
        x, lengths = self.subsampling(features, frame_lengths)  # (batch, frames', d)
        mask = valid_frames_mask(lengths, x)  # (batch, frames')
        x = self.dropout(x * math.sqrt(self.d_model) + sinusoidal_positions(x))
        for block in self.blocks:
            x = block(x, mask)  # (batch, frames', d)
        return F.log_softmax(self.output(x), dim=-1), lengths


class LSTMCTC(nn.Module):
    """:class:`ConvSubsampling` → (bi)LSTM over the packed valid frames → Linear → log_softmax.

    The LSTM runs on :func:`~torch.nn.utils.rnn.pack_padded_sequence` (``enforce_sorted=False``), so the
    backward direction starts at each utterance's own last frame and padding never enters the states.

    Args:
        n_features: features per input frame.
        vocab_size: output tokens including the CTC blank.
        hidden: LSTM units per direction (also the width of the subsampling output).
        layers: stacked LSTM layers.
        bidirectional: run a backward LSTM too (the output layer sees 2·hidden features).
        dropout: dropout after the subsampling, between LSTM layers and before the output layer.
        subsampling: time subsampling of the front end, 2 or 4.
        subsampling_channels: filters of the subsampling convolutions (default 32).
    """

    def __init__(
        self,
        n_features: int,
        vocab_size: int,
        hidden: int = 256,
        layers: int = 3,
        bidirectional: bool = True,
        dropout: float = 0.1,
        subsampling: int = 4,
        subsampling_channels: int = 32,
    ) -> None:
        super().__init__()
        check_positive(vocab_size, "vocab_size")
        check_positive(hidden, "hidden")
        check_positive(layers, "layers")
        check_dropout(dropout)
        self.n_features = n_features
        self.vocab_size = vocab_size
        self.subsampling = ConvSubsampling(n_features, hidden, subsampling, subsampling_channels)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            hidden,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.output = nn.Linear(hidden * (2 if bidirectional else 1), vocab_size)

    @property
    def min_frames(self) -> int:
        return self.subsampling.min_frames

    def forward(self, features: Tensor, frame_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, frames, n_features)``, ``(batch,)`` int64 → log_probs ``(batch, frames', vocab)``,
        out_lengths ``(batch,)`` int64."""
        check_features(features, frame_lengths, self.n_features)
        x, lengths = self.subsampling(features, frame_lengths)  # (batch, frames', hidden)
        packed = pack_padded_sequence(self.dropout(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        y, _ = self.lstm(packed)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])  # (batch, frames', H)
        return F.log_softmax(self.output(self.dropout(y)), dim=-1), lengths


__all__ = ["LSTMCTC", "ConformerCTC", "ConvSubsampling", "sinusoidal_positions"]
