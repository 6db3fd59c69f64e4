"""Audio I/O on real files written with soundfile: every format, rate and channel count we claim to read,
resampling, segments, and the errors users hit (missing, empty, corrupt, truncated, not audio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone, write_audio
from speechforge.audio.io import (
    AUDIO_EXTENSIONS,
    audio_info,
    peak_dbfs,
    read_audio,
    resample,
    write_wav,
)
from speechforge.errors import AudioError, SpeechforgeError

RATES = (8000, 16000, 22050, 44100, 48000)
# (extension, soundfile subtype, largest sample error allowed, whether the codec is lossy)
FORMATS = [
    ("wav", "PCM_U8", 1.0 / 64, False),
    ("wav", "PCM_16", 1e-4, False),
    ("wav", "PCM_24", 1e-6, False),
    ("wav", "PCM_32", 1e-7, False),
    ("wav", "FLOAT", 1e-7, False),
    ("flac", "PCM_16", 1e-4, False),
    ("ogg", "VORBIS", 0.1, True),
    ("mp3", "MPEG_LAYER_III", 0.1, True),
]
SECONDS = 0.25


def peak_frequency(x: np.ndarray, rate: int) -> float:
    """The frequency (Hz) of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1.0 / rate)[int(spectrum.argmax())])


@pytest.mark.parametrize("channels", [1, 2], ids=["mono", "stereo"])
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("ext", "subtype", "atol", "lossy"), FORMATS, ids=[f"{e}-{s}" for e, s, _, _ in FORMATS])
def test_read_audio_decodes_every_format_rate_and_channel_count(
    tmp_path: Path, ext: str, subtype: str, atol: float, lossy: bool, rate: int, channels: int
) -> None:
    path = write_audio(tmp_path / f"tone.{ext}", seconds=SECONDS, rate=rate, subtype=subtype, channels=channels)
    expected = tone(SECONDS, rate)

    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.subtype) == (rate, channels, subtype)
    assert info.frames == len(expected)
    assert info.duration == pytest.approx(SECONDS, abs=1.0 / rate)

    x, got_rate = read_audio(path)
    assert got_rate == rate
    assert x.dtype == np.float32 and x.ndim == 1  # stereo mixed down to mono
    assert len(x) == len(expected)
    assert np.max(np.abs(x - expected)) <= atol
    if lossy:  # a codec's error is small on average and the waveform keeps its shape
        assert np.sqrt(np.mean((x - expected) ** 2)) < 0.03
        assert np.corrcoef(x, expected)[0, 1] > 0.99
    assert peak_frequency(x, rate) == pytest.approx(440.0, abs=rate / len(x))


def test_stereo_is_averaged_to_mono_and_kept_with_mono_false(tmp_path: Path) -> None:
    left = tone(0.2, 16000, 440.0)
    right = tone(0.2, 16000, 1000.0) * 0.5
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")

    mono, _ = read_audio(path)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)

    both, _ = read_audio(path, mono=False)
    assert both.shape == (len(left), 2)
    np.testing.assert_allclose(both[:, 0], left, atol=1e-7)
    np.testing.assert_allclose(both[:, 1], right, atol=1e-7)


@pytest.mark.parametrize(("rate", "freq"), [(8000, 440.0), (22050, 1000.0), (44100, 440.0), (48000, 3000.0)])
def test_resampling_to_16k_gives_the_right_length_and_keeps_the_frequency(
    tmp_path: Path, rate: int, freq: float
) -> None:
    path = write_audio(tmp_path / "tone.wav", seconds=0.5, rate=rate, freq=freq)
    x, got_rate = read_audio(path, sample_rate=16000)
    assert got_rate == 16000
    assert len(x) == pytest.approx(8000, abs=1)
    assert x.dtype == np.float32
    assert peak_frequency(x, 16000) == pytest.approx(freq, abs=2.0)
    # amplitude is kept (0.5 peak tone → RMS 0.354), away from the edges where the filter rings
    assert np.sqrt(np.mean(x[500:-500] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_resample_keeps_the_rate_when_equal_and_handles_two_dimensions() -> None:
    x = tone(0.1, 16000)
    assert resample(x, 16000, 16000) is x
    stereo = np.stack([x, x], axis=1)
    y = resample(stereo, 16000, 8000)
    assert y.shape == (800, 2)
    assert y.dtype == np.float32


def test_offset_and_duration_read_exactly_that_segment(tmp_path: Path) -> None:
    ramp = np.linspace(-0.9, 0.9, 16000, dtype=np.float32)  # every sample different
    path = tmp_path / "ramp.wav"
    sf.write(path, ramp, 16000, subtype="FLOAT")

    x, rate = read_audio(path, offset=0.25, duration=0.5)
    assert rate == 16000
    np.testing.assert_array_equal(x, ramp[4000:12000])

    tail, _ = read_audio(path, offset=0.75)  # no duration: to the end
    np.testing.assert_array_equal(tail, ramp[12000:])

    past_end, _ = read_audio(path, offset=0.9, duration=1.0)  # a segment running past the end is cut
    np.testing.assert_array_equal(past_end, ramp[14400:])

    resampled, rate = read_audio(path, offset=0.25, duration=0.5, sample_rate=8000)
    assert (rate, len(resampled)) == (8000, 4000)


def test_offset_outside_the_file_names_the_path(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "short.wav", seconds=0.5)
    with pytest.raises(AudioError, match=r"offset 2\.000s lies outside the file \(0\.500s long\)") as exc:
        read_audio(path, offset=2.0, duration=0.1)
    assert str(path) in str(exc.value)
    with pytest.raises(AudioError, match="outside the file"):
        read_audio(path, offset=-0.1)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    for fn in (read_audio, audio_info):
        with pytest.raises(AudioError, match="file not found") as exc:
            fn(path)
        assert str(exc.value).startswith(f"{path}: ")
        assert exc.value.path == str(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    for fn in (read_audio, audio_info):
        with pytest.raises(AudioError, match=r"empty file \(0 bytes\)") as exc:
            fn(path)
        assert str(path) in str(exc.value)


def test_folder_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "clip.wav"
    folder.mkdir()
    with pytest.raises(AudioError, match="is a folder") as exc:
        read_audio(folder)
    assert str(folder) in str(exc.value)


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 8, b"this is a text file, not audio\n" * 20, b"RIFF\x00\x00\x00\x00WAVEjunk" * 10],
    ids=["garbage", "text-renamed-wav", "broken-riff-header"],
)
def test_undecodable_bytes_are_an_audio_error_naming_the_path(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(content)
    for fn in (read_audio, audio_info):
        with pytest.raises(AudioError, match="cannot decode audio") as exc:
            fn(path)
        assert str(exc.value).startswith(f"{path}: ")
        assert isinstance(exc.value, SpeechforgeError)
        assert "\n" not in str(exc.value)  # one line for the CLI


def test_zero_sample_wav(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    assert audio_info(path).frames == 0  # the header is valid...
    with pytest.raises(AudioError, match=r"zero-length audio \(no samples\)") as exc:
        read_audio(path)  # ...but there is nothing to read
    assert str(path) in str(exc.value)


def test_truncated_wav_reads_the_samples_that_remain(tmp_path: Path) -> None:
    """A wav cut short (an interrupted copy) is still readable: libsndfile trusts the bytes on disk over the
    header's length, so the file reads as its surviving first part. This is documented behaviour, not an
    error; ``data check`` reports the odd duration."""
    full = write_audio(tmp_path / "full.wav", seconds=1.0)
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])

    info = audio_info(cut)
    x, _ = read_audio(cut)
    expected_frames = (len(data) // 2 - 44) // 2  # 44-byte header, 2 bytes a sample
    assert info.frames == len(x) == expected_frames
    np.testing.assert_allclose(x, tone(1.0, 16000)[:expected_frames], atol=1e-4)


def test_truncated_flac_is_a_clear_error_or_shorter_audio(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.flac", seconds=1.0, seed=0)
    data = full.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    try:
        x, _ = read_audio(cut)
    except AudioError as exc:
        assert str(exc).startswith(f"{cut}: cannot decode audio")
    else:
        assert 0 < len(x) < 16000


def test_nan_samples_are_rejected(tmp_path: Path) -> None:
    x = tone(0.1, 16000)
    x[10] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite") as exc:
        read_audio(path)
    assert str(path) in str(exc.value)


def test_write_wav_round_trip_clips_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.wav"
    x = np.array([0.0, 0.5, -0.5, 1.7, -3.0], dtype=np.float32)
    write_wav(path, x, 8000)
    y, rate = read_audio(path)
    assert rate == 8000
    np.testing.assert_allclose(y, [0.0, 0.5, -0.5, 1.0, -1.0], atol=1e-4)
    assert audio_info(path).subtype == "PCM_16"


def test_peak_dbfs() -> None:
    assert peak_dbfs(np.array([0.0, 0.5, -1.0])) == pytest.approx(0.0)
    assert peak_dbfs(np.array([0.1, -0.05])) == pytest.approx(-20.0)
    assert peak_dbfs(np.zeros(10)) == float("-inf")
    assert peak_dbfs(np.zeros(0)) == float("-inf")


def test_audio_extensions_cover_the_formats_tested_here() -> None:
    for ext, *_ in FORMATS:
        assert f".{ext}" in AUDIO_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in AUDIO_EXTENSIONS)
