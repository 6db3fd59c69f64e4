"""Log-mel filterbank features in pure torch, exportable with TorchScript (script / trace) and ONNX.

Framing follows Kaldi (``snip_edges=True``), not librosa's default ``center=True``: no padding is added at
the start, so frame ``i`` covers the samples ``[i * hop, i * hop + win)`` and

    frames = 1 + (time - win) // hop        for time >= win
    frames = 1                              for time <  win (the input is zero-padded up to one window)

``frame_lengths`` follows the same rule from ``lengths``. A frame that is valid for an utterance only ever
reads that utterance's own samples, so the features of an utterance do not depend on how much padding the
batch adds after it. Frames past ``frame_lengths`` are computed from the zero padding; mask them with
``frame_lengths`` (the normalizers in :mod:`speechforge.features.normalize` do).

Each frame is multiplied by a periodic Hann window (``torch.hann_window``, the window librosa and
torchaudio use), zero-padded on the right to ``n_fft`` and turned into a power spectrum ``|X|^2``. The mel
filters are triangles in Hz between points equally spaced on the HTK mel scale ``2595 * log10(1 + f / 700)``
with unit peak (no area normalization): ``librosa.filters.mel(htk=True, norm=None)`` and
``torchaudio.functional.melscale_fbanks(mel_scale="htk", norm=None)``. The output is
``log(max(mel_energy, log_floor))``.

Two numerically equivalent spectrum paths (they agree to ~1e-5 in the log domain):
- eager / ``torch.jit.script`` / ``torch.jit.trace``: ``unfold`` + ``torch.fft.rfft`` (fast);
- ``torch.onnx.export``: a strided ``conv1d`` whose kernels are the windowed DFT basis, because the ONNX
  exporter supports neither ``fft_rfft`` nor ``unfold`` on an input whose length is only known at run time.
No Python control flow in ``forward`` depends on tensor values, so a traced or exported graph keeps a
dynamic batch and time axis.
"""

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from speechforge.errors import SpeechforgeError


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale: ``2595 * log10(1 + f / 700)``."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (torch.pow(10.0, mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    """Triangular HTK-mel filters as a ``(n_fft // 2 + 1, n_mels)`` float32 matrix (built in float64).

    Filter ``m`` rises linearly (in Hz) from edge ``m`` to edge ``m + 1`` and falls to edge ``m + 2``,
    the ``n_mels + 2`` edges being equally spaced in mel between ``fmin`` and ``fmax``; peak value 1.
    """
    n_bins = n_fft // 2 + 1
    fft_freqs = torch.linspace(0.0, sample_rate / 2.0, n_bins, dtype=torch.float64)  # (n_bins,)
    mel_edges = torch.linspace(
        float(hz_to_mel(torch.tensor(fmin, dtype=torch.float64))),
        float(hz_to_mel(torch.tensor(fmax, dtype=torch.float64))),
        n_mels + 2,
        dtype=torch.float64,
    )
    hz_edges = mel_to_hz(mel_edges)  # (n_mels + 2,)
    widths = hz_edges[1:] - hz_edges[:-1]  # (n_mels + 1,)
    ramps = hz_edges[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_bins)
    rising = -ramps[:-2] / widths[:-1, None]  # (n_mels, n_bins)
    falling = ramps[2:] / widths[1:, None]  # (n_mels, n_bins)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (n_mels, n_bins)
    return weights.t().contiguous().to(torch.float32)  # (n_bins, n_mels)


class LogMelFilterbank(nn.Module):
    """``(batch, time)`` float32 waveforms -> ``(batch, frames, n_mels)`` log-mel energies.

    Args:
        sample_rate: rate of the input waveforms in Hz (the module does not resample).
        n_mels: number of mel filters, i.e. the feature dimension.
        win_ms: analysis window length in milliseconds (25 ms = 400 samples at 16 kHz).
        hop_ms: frame shift in milliseconds (10 ms = 160 samples at 16 kHz -> 100 frames per second).
        n_fft: FFT size; ``None`` picks the next power of two >= the window (512 for 400 samples).
        fmin: lowest edge of the first mel filter in Hz (20 Hz drops DC and mains hum).
        fmax: highest edge of the last mel filter in Hz; ``None`` is the Nyquist frequency.
        preemphasis: coefficient ``a`` of ``y[t] = x[t] - a * x[t - 1]`` applied to the whole waveform
            (``y[0] = x[0]``) before framing; boosts high frequencies; 0 turns it off.
        log_floor: energies are clamped to at least this value before the log, so digital silence maps
            to ``log(log_floor)`` (-13.8 for 1e-6) instead of ``-inf``.
    """

    fft_window: torch.Tensor  # (n_fft,) periodic Hann of win samples, then zeros
    mel_matrix: torch.Tensor  # (n_bins, n_mels)
    dft_kernels: torch.Tensor  # (2 * n_bins, 1, win) windowed DFT basis, ONNX path only

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        n_fft: int | None = None,
        fmin: float = 20.0,
        fmax: float | None = None,
        preemphasis: float = 0.97,
        log_floor: float = 1e-6,
    ) -> None:
        super().__init__()
        if sample_rate <= 0:
            raise SpeechforgeError(f"sample_rate must be positive, got {sample_rate}")
        if n_mels <= 0:
            raise SpeechforgeError(f"n_mels must be positive, got {n_mels}")
        win_length = round(win_ms * sample_rate / 1000.0)
        hop_length = round(hop_ms * sample_rate / 1000.0)
        if win_length < 2 or hop_length < 1:
            raise SpeechforgeError(
                f"win_ms={win_ms} and hop_ms={hop_ms} give a window of {win_length} and a hop of "
                f"{hop_length} samples at {sample_rate} Hz; both must be at least 1 (window 2) sample"
            )
        if n_fft is None:
            n_fft = 1 << (win_length - 1).bit_length()
        if n_fft < win_length:
            raise SpeechforgeError(f"n_fft={n_fft} is shorter than the {win_length}-sample window")
        nyquist = sample_rate / 2.0
        fmax = nyquist if fmax is None else fmax
        if not 0.0 <= fmin < fmax <= nyquist:
            raise SpeechforgeError(f"need 0 <= fmin < fmax <= {nyquist:g} Hz (Nyquist), got fmin={fmin}, fmax={fmax}")
        if not 0.0 <= preemphasis < 1.0:
            raise SpeechforgeError(f"preemphasis must be in [0, 1), got {preemphasis}")
        if log_floor <= 0.0:
            raise SpeechforgeError(f"log_floor must be positive, got {log_floor}")

        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_fft = n_fft
        self.n_bins = n_fft // 2 + 1
        self.fmin = float(fmin)
        self.fmax = float(fmax)
        self.preemphasis = float(preemphasis)
        self.log_floor = float(log_floor)

        mel = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)  # (n_bins, n_mels)
        empty = (mel.sum(dim=0) == 0).nonzero().flatten().tolist()
        if empty:  # a constant feature: harmless (normalization maps it to 0) but wasted, as librosa warns
            warnings.warn(
                f"n_mels={n_mels} is too many for n_fft={n_fft} between {fmin:g} and {fmax:g} Hz: mel "
                f"filters {empty[:5]} cover no FFT bin and stay at log_floor; use fewer mels, a larger "
                "n_fft or a higher fmin",
                stacklevel=2,
            )
        window = torch.hann_window(win_length, periodic=True, dtype=torch.float64)  # (win,)
        # Windowed DFT basis for the ONNX path: rows 0..n_bins-1 give Re X[k], the rest Im X[k].
        t = torch.arange(win_length, dtype=torch.float64)[None, :]  # (1, win)
        k = torch.arange(self.n_bins, dtype=torch.float64)[:, None]  # (n_bins, 1)
        angle = 2.0 * math.pi * ((k * t) % n_fft) / n_fft  # (n_bins, win); the modulo keeps it exact
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=0) * window  # (2 * n_bins, win)
        # Derived from the configuration alone, so not saved in the state_dict (persistent=False).
        fft_window = F.pad(window, (0, n_fft - win_length)).to(torch.float32)  # (n_fft,)
        self.register_buffer("fft_window", fft_window, persistent=False)
        self.register_buffer("mel_matrix", mel, persistent=False)
        self.register_buffer("dft_kernels", basis.to(torch.float32)[:, None, :], persistent=False)

    @property
    def feature_dim(self) -> int:
        return self.n_mels

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate}, n_mels={self.n_mels}, win_length={self.win_length}, "
            f"hop_length={self.hop_length}, n_fft={self.n_fft}, fmin={self.fmin:g}, fmax={self.fmax:g}, "
            f"preemphasis={self.preemphasis:g}"
        )

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frame count for each ``(batch,)`` sample count: ``1 + max(time - win, 0) // hop``."""
        return 1 + torch.clamp(lengths - self.win_length, min=0) // self.hop_length

    def _power_fft(self, x: torch.Tensor, short_pad: int) -> torch.Tensor:
        # (batch, time) -> (batch, frames, n_bins). Frames of n_fft samples times the window zero-padded
        # to n_fft equal window-long frames zero-padded to n_fft, and skip rfft's own padding copy.
        x = F.pad(x, (0, short_pad + self.n_fft - self.win_length))  # (batch, time + pad)
        frames = x.unfold(1, self.n_fft, self.hop_length) * self.fft_window  # (batch, frames, n_fft)
        spectrum = torch.fft.rfft(frames)  # (batch, frames, n_bins) complex
        return spectrum.real.square().addcmul_(spectrum.imag, spectrum.imag)  # one big buffer less

    def _power_conv(self, x: torch.Tensor, short_pad: int) -> torch.Tensor:
        # (batch, time) -> (batch, frames, n_bins)
        x = F.pad(x, (0, short_pad))  # (batch, max(time, win))
        y = F.conv1d(x.unsqueeze(1), self.dft_kernels, stride=self.hop_length)  # (batch, 2 * n_bins, frames)
        power = y[:, : self.n_bins].square() + y[:, self.n_bins :].square()  # (batch, n_bins, frames)
        return power.transpose(1, 2)

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``waveform`` ``(batch, time)`` float32, ``lengths`` ``(batch,)`` int64 valid samples (``None``:
        all). Returns ``features`` ``(batch, frames, n_mels)`` and ``frame_lengths`` ``(batch,)`` int64."""
        if waveform.dim() != 2:
            raise SpeechforgeError(
                f"LogMelFilterbank expects a (batch, time) waveform, got shape {list(waveform.shape)}"
            )
        x = waveform
        if self.preemphasis > 0.0:
            x = torch.cat([x[:, :1], x[:, 1:] - self.preemphasis * x[:, :-1]], dim=1)  # (batch, time)
            if lengths is not None:  # the first padding sample became -a * x[length - 1]: zero it again
                t = torch.arange(x.size(1), device=x.device)[None, :]  # (1, time)
                x = x * (t < lengths[:, None]).to(x.dtype)  # (batch, time)
        # Inputs shorter than one window are zero-padded up to one window: short_pad = max(win - time, 0),
        # written without max() so that it stays a traced value (time is a tensor under trace / ONNX).
        need = self.win_length - x.size(1)
        short_pad = (need + abs(need)) // 2

        if torch.jit.is_scripting():
            power = self._power_fft(x, short_pad)
        elif torch.onnx.is_in_onnx_export():
            power = self._power_conv(x, short_pad)
        else:
            power = self._power_fft(x, short_pad)
        # power: (batch, frames, n_bins)
        mel = torch.matmul(power, self.mel_matrix)  # (batch, frames, n_mels)
        features = torch.log(torch.clamp(mel, min=self.log_floor))  # (batch, frames, n_mels)

        if lengths is None:
            frame_lengths = torch.ones_like(features[:, 0, 0], dtype=torch.int64) * features.size(1)
        else:
            frame_lengths = self.num_frames(lengths.to(torch.int64))  # (batch,)
        return features, frame_lengths
