"""MFCCs: log-mel energies decorrelated by an orthonormal DCT-II, optionally with Δ and ΔΔ appended.

Exportable like :class:`~speechforge.features.fbank.LogMelFilterbank` (TorchScript and ONNX, dynamic time).
"""

import math
from typing import Any

import torch
from torch import nn

from speechforge.errors import SpeechforgeError
from speechforge.features.fbank import LogMelFilterbank

# Half-width N of the delta regression window: d[t] = sum_{n=1..N} n (c[t+n] - c[t-n]) / (2 sum n^2),
# the value HTK and Kaldi use (``add-deltas --delta-window=2``).
DELTA_WINDOW = 2


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """Orthonormal DCT-II as a ``(n_mfcc, n_mels)`` float32 matrix: the first ``n_mfcc`` rows of the
    ``(n_mels, n_mels)`` matrix ``D`` with ``D @ D.T = I`` (``scipy.fft.dct(norm="ortho")``)."""
    n = torch.arange(n_mels, dtype=torch.float64)[None, :]  # (1, n_mels)
    k = torch.arange(n_mfcc, dtype=torch.float64)[:, None]  # (n_mfcc, 1)
    basis = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)  # (n_mfcc, n_mels)
    basis[0] *= 1.0 / math.sqrt(2.0)
    return basis.to(torch.float32)


def deltas(features: torch.Tensor, frame_lengths: torch.Tensor, window: int = DELTA_WINDOW) -> torch.Tensor:
    """Regression deltas along time of ``(batch, frames, dim)`` features, same shape.

    Frames outside ``[0, frame_lengths)`` are replaced by the nearest valid frame (edge replication per
    utterance), so the deltas of an utterance do not depend on the padding of its batch.
    """
    frames = features.size(1)
    t = torch.arange(frames, device=features.device)[None, :]  # (1, frames)
    last = torch.clamp(frame_lengths.to(t.dtype) - 1, min=0)[:, None]  # (batch, 1)
    dim = features.size(2)
    out = torch.zeros_like(features)  # (batch, frames, dim)
    for n in range(1, window + 1):
        ahead = torch.minimum(t + n, last)  # (batch, frames)
        behind = torch.clamp(torch.minimum(t - n, last), min=0)  # (batch, frames)
        ahead_idx = ahead[:, :, None].expand(-1, -1, dim)  # (batch, frames, dim)
        behind_idx = behind[:, :, None].expand(-1, -1, dim)  # (batch, frames, dim)
        out = out + n * (torch.gather(features, 1, ahead_idx) - torch.gather(features, 1, behind_idx))
    scale = window * (window + 1) * (2 * window + 1) / 3.0  # 2 * sum_{n=1..N} n^2
    return out / scale


class MFCC(nn.Module):
    """``(batch, time)`` waveforms -> ``(batch, frames, n_mfcc)`` MFCCs, or ``3 * n_mfcc`` with ``deltas``.

    Args:
        n_mfcc: cepstral coefficients kept (the first, c0, is the scaled log energy); at most ``n_mels``.
        deltas: append Δ and ΔΔ (regression over ±:data:`DELTA_WINDOW` frames) to the coefficients.
        **fbank_kwargs: the :class:`LogMelFilterbank` options (``sample_rate``, ``n_mels`` = 80, ...).
    """

    dct: torch.Tensor  # (n_mfcc, n_mels)

    def __init__(self, n_mfcc: int = 13, deltas: bool = False, **fbank_kwargs: Any) -> None:
        super().__init__()
        self.fbank = LogMelFilterbank(**fbank_kwargs)
        if not 0 < n_mfcc <= self.fbank.n_mels:
            raise SpeechforgeError(f"n_mfcc must be in [1, n_mels={self.fbank.n_mels}], got {n_mfcc}")
        self.n_mfcc = n_mfcc
        self.deltas = deltas
        # Derived from the configuration alone, so not saved in the state_dict.
        self.register_buffer("dct", dct_matrix(n_mfcc, self.fbank.n_mels), persistent=False)

    @property
    def feature_dim(self) -> int:
        return self.n_mfcc * (3 if self.deltas else 1)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``waveform`` ``(batch, time)``, ``lengths`` ``(batch,)`` samples or ``None`` ->
        ``(features (batch, frames, feature_dim), frame_lengths (batch,))``."""
        logmel, frame_lengths = self.fbank(waveform, lengths)  # (batch, frames, n_mels), (batch,)
        mfcc = torch.matmul(logmel, self.dct.t())  # (batch, frames, n_mfcc)
        if self.deltas:
            delta = deltas(mfcc, frame_lengths)  # (batch, frames, n_mfcc)
            delta2 = deltas(delta, frame_lengths)  # (batch, frames, n_mfcc)
            mfcc = torch.cat([mfcc, delta, delta2], dim=2)  # (batch, frames, 3 * n_mfcc)
        return mfcc, frame_lengths
