"""Data augmentation (the lecture's "add noise in the speech signal or perturb the speech signal").

Waveform-level functions take a mono ``float32`` ``(time,)`` numpy array and a ``numpy.random.Generator``
the caller owns, so an epoch's augmentation is reproducible from one seed. :class:`SpecAugment` works on
torch features and draws from torch's global RNG (seeded by the trainer); it only acts in training mode.
The functions are plain: the trainer composes them (e.g. speed perturbation, then noise, then features).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from speechforge.audio.io import AUDIO_EXTENSIONS, read_audio, resample
from speechforge.errors import SpeechforgeError


def _signal_power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def add_noise(
    waveform: np.ndarray,
    rng: np.random.Generator,
    snr_db: tuple[float, float] = (5.0, 20.0),
    noise: np.ndarray | None = None,
) -> np.ndarray:
    """Add noise at a signal-to-noise ratio drawn uniformly from ``snr_db = (low, high)`` dB.

    ``noise`` ``(noise_time,)`` is looped (when shorter) and cropped at a random offset to the waveform's
    length; ``None`` adds white Gaussian noise. The SNR is measured over the whole waveform
    (``10 log10(mean(x^2) / mean(n^2))``). Digital silence is returned unchanged (no SNR is defined).
    The result is not clipped, so it can leave [-1, 1] at low SNR. Returns a new ``(time,)`` float32 array.
    """
    low, high = float(snr_db[0]), float(snr_db[1])
    if low > high:
        raise SpeechforgeError(f"snr_db must be (low, high) with low <= high, got {snr_db}")
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1:
        raise SpeechforgeError(f"add_noise expects a (time,) waveform, got shape {x.shape}")
    snr = rng.uniform(low, high)
    signal_power = _signal_power(x)
    if signal_power == 0.0:
        return x.copy()
    if noise is None:
        n: np.ndarray = rng.standard_normal(size=(x.shape[0],))  # (time,)
    else:
        noise = np.asarray(noise, dtype=np.float32)
        if noise.ndim != 1 or noise.shape[0] == 0:
            raise SpeechforgeError(f"noise must be a non-empty (time,) array, got shape {noise.shape}")
        offset = int(rng.integers(0, noise.shape[0]))
        repeats = -(-(offset + x.shape[0]) // noise.shape[0])  # ceil division
        n = np.tile(noise, repeats)[offset : offset + x.shape[0]]  # (time,)
    noise_power = _signal_power(n)
    if noise_power == 0.0:
        raise SpeechforgeError("the noise signal is digital silence; it cannot be mixed at a given SNR")
    gain = np.sqrt(signal_power / (noise_power * 10.0 ** (snr / 10.0)))
    return (x + gain * n).astype(np.float32)


class NoiseBank:
    """Every audio file under ``folder`` (recursively), decoded to mono at ``sample_rate``.

    ``bank.sample(rng)`` picks one noise uniformly; pass it to :func:`add_noise`.
    """

    def __init__(self, folder: str | Path, sample_rate: int = 16000) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise SpeechforgeError("noise folder not found (or not a folder)", path=root)
        paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        if not paths:
            raise SpeechforgeError(f"no audio file ({', '.join(AUDIO_EXTENSIONS)}) in the noise folder", path=root)
        self.paths = paths
        self.sample_rate = sample_rate
        self.noises = [read_audio(p, sample_rate=sample_rate)[0] for p in paths]  # each (time,)

    def __len__(self) -> int:
        return len(self.noises)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.noises[index]

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return self.noises[int(rng.integers(0, len(self.noises)))]


def speed_perturb(
    waveform: np.ndarray,
    rng: np.random.Generator,
    factors: Sequence[float] = (0.9, 1.0, 1.1),
    sample_rate: int = 16000,
) -> np.ndarray:
    """Kaldi-style speed perturbation (``sox speed``): a factor drawn uniformly from ``factors`` plays
    the audio that much faster, so duration is divided and pitch multiplied by it.

    Done by resampling from ``round(sample_rate * factor)`` Hz to ``sample_rate`` Hz with soxr (the factor
    is thus rounded to a multiple of ``1 / sample_rate``). Returns a new ``(round(time / factor),)`` array.
    """
    if len(factors) == 0 or any(f <= 0 for f in factors):
        raise SpeechforgeError(f"speed factors must be a non-empty list of positive numbers, got {factors}")
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1:
        raise SpeechforgeError(f"speed_perturb expects a (time,) waveform, got shape {x.shape}")
    factor = float(factors[int(rng.integers(0, len(factors)))])
    source_rate = round(sample_rate * factor)
    if source_rate == sample_rate:
        return x.copy()
    return resample(x, source_rate, sample_rate)


class SpecAugment(nn.Module):
    """SpecAugment (Park et al., 2019) without time warping: random frequency and time bands set to a fill
    value, on ``(batch, frames, dim)`` features, in training mode only (identity in ``eval()``).

    Args:
        freq_masks: frequency bands masked per utterance.
        freq_width: maximum band width in feature bins (each width is uniform in ``[0, freq_width]``).
        time_masks: time bands masked per utterance.
        time_width: maximum band width: a float in (0, 1] is a fraction of the utterance's valid frames
            (0.05 = 5 %), an int is a number of frames. Bands lie inside the valid frames.
        fill: ``"zero"`` (the mean of globally normalized features) or ``"mean"`` (each utterance's mean
            over its valid frames, per dimension; use it on unnormalized features).
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 8,
        time_masks: int = 2,
        time_width: float | int = 0.05,
        fill: str = "zero",
    ) -> None:
        super().__init__()
        if freq_masks < 0 or time_masks < 0 or freq_width < 0:
            raise SpeechforgeError("SpecAugment mask counts and freq_width must be >= 0")
        if isinstance(time_width, float) and not 0.0 <= time_width <= 1.0:
            raise SpeechforgeError(f"a float time_width is a fraction of frames in [0, 1], got {time_width}")
        if time_width < 0:
            raise SpeechforgeError(f"time_width must be >= 0, got {time_width}")
        if fill not in ("zero", "mean"):
            raise SpeechforgeError(f"SpecAugment fill must be 'zero' or 'mean', got {fill!r}")
        self.freq_masks = freq_masks
        self.freq_width = freq_width
        self.time_masks = time_masks
        self.time_width = time_width
        self.fill = fill

    def extra_repr(self) -> str:
        return (
            f"freq_masks={self.freq_masks}, freq_width={self.freq_width}, time_masks={self.time_masks}, "
            f"time_width={self.time_width}, fill={self.fill!r}"
        )

    @staticmethod
    def _bands(count: int, max_width: torch.Tensor, extent: torch.Tensor, size: int) -> torch.Tensor:
        """``(batch, size)`` bool: ``count`` random bands per row, of width uniform in
        ``[0, max_width[b]]`` and inside ``[0, extent[b])``."""
        batch = extent.size(0)
        device = extent.device
        max_width = torch.minimum(max_width, extent)  # (batch,)
        width = (torch.rand(batch, count, device=device) * (max_width[:, None] + 1)).long()  # (batch, count)
        room = (extent[:, None] - width + 1).clamp(min=1)  # (batch, count) possible start positions
        start = (torch.rand(batch, count, device=device) * room).long()  # (batch, count)
        pos = torch.arange(size, device=device)[None, None, :]  # (1, 1, size)
        inside = (pos >= start[:, :, None]) & (pos < (start + width)[:, :, None])  # (batch, count, size)
        return inside.any(dim=1)  # (batch, size)

    def forward(self, features: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, dim)`` -> ``(batch, frames, dim)``; a new tensor when masking, else the input."""
        if not self.training or (self.freq_masks == 0 and self.time_masks == 0):
            return features
        if features.dim() != 3:
            raise SpeechforgeError(f"SpecAugment expects (batch, frames, dim), got {list(features.shape)}")
        batch, frames, dim = features.shape
        lengths = frame_lengths.to(device=features.device, dtype=torch.int64).clamp(max=frames)  # (batch,)
        mask = torch.zeros(batch, frames, dim, dtype=torch.bool, device=features.device)
        if self.freq_masks > 0:
            dims = torch.full((batch,), dim, dtype=torch.int64, device=features.device)  # (batch,)
            width = torch.full_like(dims, self.freq_width)
            mask |= self._bands(self.freq_masks, width, dims, dim)[:, None, :]  # (batch, 1, dim)
        if self.time_masks > 0:
            if isinstance(self.time_width, float):
                width = (lengths.to(torch.float64) * self.time_width).long()  # (batch,)
            else:
                width = torch.full_like(lengths, int(self.time_width))
            mask |= self._bands(self.time_masks, width, lengths, frames)[:, :, None]  # (batch, frames, 1)
        if self.fill == "mean":
            t = torch.arange(frames, device=features.device)[None, :]  # (1, frames)
            valid_f = (t < lengths[:, None])[:, :, None].to(features.dtype)  # (batch, frames, 1)
            count = valid_f.sum(dim=1, keepdim=True).clamp(min=1.0)  # (batch, 1, 1)
            value = (features * valid_f).sum(dim=1, keepdim=True) / count  # (batch, 1, dim)
        else:
            value = torch.zeros((), dtype=features.dtype, device=features.device)
        return torch.where(mask, value, features)
