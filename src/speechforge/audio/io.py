"""Read any audio file soundfile can decode, at any rate, bit depth and channel count; resample with soxr.

Everything downstream sees one thing: a mono ``float32`` waveform in [-1, 1] of shape ``(time,)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from speechforge.errors import AudioError

# Extensions recognised when scanning folders; libsndfile decodes all of them.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says, without decoding the samples."""

    path: str
    sample_rate: int
    frames: int
    channels: int
    format: str  # e.g. "WAV", "FLAC"
    subtype: str  # e.g. "PCM_16", "VORBIS"

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _open_error(path: str | Path, exc: Exception) -> AudioError:
    """Turn a libsndfile failure into a message that says what is wrong with the file."""
    p = Path(path)
    if not p.exists():
        return AudioError("file not found", path=path)
    if p.is_dir():
        return AudioError("is a folder, not an audio file", path=path)
    if p.stat().st_size == 0:
        return AudioError("empty file (0 bytes)", path=path)
    detail = str(exc).split(":")[-1].strip() or type(exc).__name__
    return AudioError(
        f"cannot decode audio ({detail}); the file is corrupt or not a format libsndfile reads "
        "(wav, flac, ogg, mp3, aiff, ...)",
        path=path,
    )


def audio_info(path: str | Path) -> AudioInfo:
    """Read the header of ``path``. Raises :class:`AudioError` for missing, empty or undecodable files."""
    try:
        info = sf.info(os.fspath(path))
    except Exception as exc:  # libsndfile raises several types (LibsndfileError, RuntimeError, TypeError)
        raise _open_error(path, exc) from exc
    if info.samplerate <= 0:
        raise AudioError(f"invalid sample rate {info.samplerate}", path=path)
    return AudioInfo(
        path=str(path),
        sample_rate=int(info.samplerate),
        frames=int(info.frames),
        channels=int(info.channels),
        format=str(info.format),
        subtype=str(info.subtype),
    )


def resample(waveform: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample a ``(time,)`` or ``(time, channels)`` array with soxr (high quality)."""
    if orig_rate == target_rate or waveform.shape[0] == 0:
        return waveform
    return soxr.resample(waveform, orig_rate, target_rate, quality="HQ").astype(np.float32, copy=False)


def read_audio(
    path: str | Path,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    sample_rate: int | None = None,
    mono: bool = True,
) -> tuple[np.ndarray, int]:
    """Decode ``path`` (or the segment ``[offset, offset + duration)`` seconds of it).

    Returns ``(waveform, rate)``: ``waveform`` is ``float32`` in [-1, 1], shape ``(time,)`` when ``mono``
    (channels are averaged) else ``(time, channels)``; ``rate`` is ``sample_rate`` when given (the audio is
    resampled to it) else the file's own rate. Raises :class:`AudioError` for missing, empty, corrupt or
    zero-length audio and for a segment that lies outside the file.
    """
    try:
        with sf.SoundFile(os.fspath(path)) as f:
            rate = int(f.samplerate)
            start = round(offset * rate)
            if start < 0 or (start > 0 and start >= f.frames):
                raise AudioError(
                    f"segment offset {offset:.3f}s lies outside the file ({f.frames / rate:.3f}s long)",
                    path=path,
                )
            if start:
                f.seek(start)
            n = -1 if duration is None else round(duration * rate)
            data = f.read(frames=n, dtype="float32", always_2d=True)  # (time, channels)
    except AudioError:
        raise
    except Exception as exc:
        raise _open_error(path, exc) from exc
    if data.shape[0] == 0:
        raise AudioError("zero-length audio (no samples)", path=path)
    if not np.isfinite(data).all():
        raise AudioError("audio contains NaN or infinite samples", path=path)
    if mono:
        waveform = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)  # (time,)
    else:
        waveform = data  # (time, channels)
    if sample_rate is not None and sample_rate != rate:
        waveform = resample(waveform, rate, sample_rate)
        rate = sample_rate
    return np.ascontiguousarray(waveform, dtype=np.float32), rate


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write a ``(time,)`` float waveform as a wav file (16-bit PCM by default), creating parent folders."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(os.fspath(path), np.clip(waveform, -1.0, 1.0), sample_rate, subtype=subtype, format="WAV")


def peak_dbfs(waveform: np.ndarray) -> float:
    """Peak level in dB relative to full scale; ``-inf`` for digital silence."""
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    return 20.0 * float(np.log10(peak)) if peak > 0 else float("-inf")
