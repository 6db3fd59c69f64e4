"""Log-mel and MFCC featurizers on real signals: frame counts, the mel scale, parity with librosa,
the DCT, deltas, and export through TorchScript and ONNX with a dynamic time axis."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import torch

from conftest import tone
from speechforge.errors import SpeechforgeError
from speechforge.features import MFCC, LogMelFilterbank, build_featurizer
from speechforge.features.fbank import hz_to_mel, mel_to_hz
from speechforge.features.mfcc import dct_matrix, deltas

RATE = 16000


def speech_like(seconds: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """A voiced-speech-like ``(time,)`` signal: 30 harmonics of a gliding 100–180 Hz pitch with a
    formant-like spectral envelope, a syllable-rate amplitude envelope, and a little breath noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    f0 = 140.0 + 40.0 * np.sin(2 * np.pi * 0.7 * t)  # (time,)
    phase = 2 * np.pi * np.cumsum(f0) / rate  # (time,)
    x = np.zeros(n)
    for k in range(1, 31):
        fk = k * 140.0
        formants = np.exp(-(((fk - 700.0) / 400.0) ** 2)) + 0.5 * np.exp(-(((fk - 1800.0) / 500.0) ** 2))
        x += (0.05 + formants) / k * np.sin(k * phase)
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t)  # 4 Hz syllables
    x += 0.01 * rng.standard_normal(n)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def batch_of(signals: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad ``(time,)`` arrays into ``(batch, max_time)`` and their ``(batch,)`` lengths."""
    lengths = torch.tensor([len(s) for s in signals], dtype=torch.int64)
    out = torch.zeros(len(signals), int(lengths.max()))
    for i, s in enumerate(signals):
        out[i, : len(s)] = torch.from_numpy(s)
    return out, lengths


@pytest.mark.parametrize("n", [1, 160, 399, 400, 401, 559, 560, 561, 16000, 16001, 48123])
def test_frame_count_rule(n: int) -> None:
    fbank = LogMelFilterbank()
    feats, frame_lengths = fbank(torch.from_numpy(speech_like(n / RATE))[None])
    expected = 1 + (n - 400) // 160 if n >= 400 else 1
    assert feats.shape == (1, expected, 80)
    assert frame_lengths.tolist() == [expected]
    assert feats.dtype == torch.float32 and fbank.feature_dim == 80


def test_batched_features_equal_single_utterance_features() -> None:
    fbank = LogMelFilterbank()
    signals = [speech_like(s, seed=i) for i, s in enumerate((1.0, 0.37, 0.02, 0.61))]
    waveform, lengths = batch_of(signals)  # (4, 16000), (4,)
    feats, frame_lengths = fbank(waveform, lengths)  # (4, 98, 80)
    assert feats.shape == (4, 98, 80)
    assert frame_lengths.tolist() == [98, 1 + (5920 - 400) // 160, 1, 1 + (9760 - 400) // 160]
    for i, s in enumerate(signals):
        alone, alone_len = fbank(torch.from_numpy(s)[None])
        n = int(frame_lengths[i])
        assert int(alone_len) == n
        torch.testing.assert_close(feats[i, :n], alone[0], atol=1e-4, rtol=0)


def test_one_khz_tone_peaks_in_the_mel_filter_centred_nearest_1khz() -> None:
    fbank = LogMelFilterbank(preemphasis=0.0)
    feats, _ = fbank(torch.from_numpy(tone(0.5, RATE, 1000.0))[None])  # (1, frames, 80)
    low, high = float(hz_to_mel(torch.tensor(20.0))), float(hz_to_mel(torch.tensor(8000.0)))
    edges = mel_to_hz(torch.linspace(low, high, 82))  # (82,) filter edges in Hz
    centres = edges[1:-1]  # (80,)
    expected = int(torch.argmin((centres - 1000.0).abs()))
    peaks = feats[0].argmax(dim=1)  # (frames,)
    assert (peaks == expected).all()
    # The peak filter is ~ 1000 Hz / 80 mels on the HTK scale; an 8 kHz-wide triangle would sit elsewhere.
    assert abs(float(centres[expected]) - 1000.0) < 40.0


def test_silence_maps_to_the_log_floor() -> None:
    feats, _ = LogMelFilterbank(log_floor=1e-6)(torch.zeros(2, 4000))
    torch.testing.assert_close(feats, torch.full_like(feats, math.log(1e-6)))


HAVE_LIBROSA = importlib.util.find_spec("librosa") is not None
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None


@pytest.mark.skipif(not HAVE_LIBROSA, reason="librosa not installed (optional peer)")
def test_parity_with_librosa_melspectrogram() -> None:
    import librosa

    x = speech_like(1.3, seed=3)
    ours, _ = LogMelFilterbank(preemphasis=0.0, fmin=20.0)(torch.from_numpy(x)[None])  # (1, frames, 80)
    # librosa frames n_fft=512 samples with the 400-sample window centred in them (56 zeros each side):
    # padding the signal by 56 on both sides makes librosa's frame i window exactly our frame i.
    ref = librosa.feature.melspectrogram(
        y=np.pad(x, (56, 56)),
        sr=RATE,
        n_fft=512,
        hop_length=160,
        win_length=400,
        window="hann",
        center=False,
        power=2.0,
        n_mels=80,
        fmin=20.0,
        fmax=8000.0,
        htk=True,
        norm=None,
    )  # (80, frames)
    assert ref.shape[1] == ours.shape[1]
    np.testing.assert_allclose(ours[0].numpy(), np.log(np.maximum(ref.T, 1e-6)), atol=1e-4, rtol=0)


def test_mfcc_is_orthonormal_dct_of_log_mel() -> None:
    full = dct_matrix(40, 40)
    torch.testing.assert_close(full @ full.t(), torch.eye(40), atol=1e-5, rtol=0)
    x = torch.from_numpy(speech_like(0.5))[None]
    logmel, _ = LogMelFilterbank(n_mels=40)(x)  # (1, frames, 40)
    mfcc, _ = MFCC(n_mfcc=13, n_mels=40)(x)  # (1, frames, 13)
    assert mfcc.shape == (1, logmel.shape[1], 13)
    ref = scipy.fft.dct(logmel.numpy().astype(np.float64), type=2, norm="ortho", axis=-1)[..., :13]
    np.testing.assert_allclose(mfcc.numpy(), ref, atol=1e-4, rtol=1e-5)


def test_mfcc_deltas_shape_and_values() -> None:
    model = MFCC(n_mfcc=13, deltas=True)
    assert model.feature_dim == 39
    waveform, lengths = batch_of([speech_like(0.8, seed=1), speech_like(0.33, seed=2)])
    feats, frame_lengths = model(waveform, lengths)  # (2, frames, 39)
    assert feats.shape == (2, 78, 39)
    # Deltas of the short utterance only see its own frames (edge replication, not the batch padding).
    alone, _ = model(torch.from_numpy(speech_like(0.33, seed=2))[None])
    n = int(frame_lengths[1])
    torch.testing.assert_close(feats[1, :n], alone[0], atol=1e-4, rtol=0)
    # A ramp c[t] = 3t has delta 3 away from the edges and delta-delta 0 there.
    ramp = 3.0 * torch.arange(20, dtype=torch.float32)[None, :, None]  # (1, 20, 1)
    d = deltas(ramp, torch.tensor([20]))
    torch.testing.assert_close(d[0, 2:-2, 0], torch.full((16,), 3.0))
    torch.testing.assert_close(deltas(d, torch.tensor([20]))[0, 4:-4, 0], torch.zeros(12))


@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_torchscript_script_and_trace_match_eager(kind: str) -> None:
    model = build_featurizer(kind, **({"deltas": True} if kind == "mfcc" else {})).eval()
    scripted = torch.jit.script(model)
    traced = torch.jit.trace(model, (torch.from_numpy(speech_like(1.0))[None], torch.tensor([16000])))
    for n in (300, 7777, 20000):
        waveform, lengths = batch_of([speech_like(n / RATE, seed=n), speech_like(n / 2 / RATE, seed=1)])
        feats, frame_lengths = model(waveform, lengths)
        for exported in (scripted, traced):
            out, out_lengths = exported(waveform, lengths)
            torch.testing.assert_close(out, feats, atol=1e-5, rtol=0)
            assert out_lengths.tolist() == frame_lengths.tolist()


@pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime not installed (optional export check)")
@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_onnx_export_with_dynamic_length_matches_torch(kind: str, tmp_path: Path) -> None:
    import onnxruntime

    model = build_featurizer(kind).eval()
    waveform, lengths = batch_of([speech_like(1.0), speech_like(0.5, seed=1)])
    path = tmp_path / f"{kind}.onnx"
    torch.onnx.export(
        model,
        (waveform, lengths),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["waveform", "lengths"],
        output_names=["features", "frame_lengths"],
        dynamic_axes={
            "waveform": {0: "batch", 1: "time"},
            "lengths": {0: "batch"},
            "features": {0: "batch", 1: "frames"},
            "frame_lengths": {0: "batch"},
        },
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (250, 12345, 40000):  # shorter than a window, in between, longer than the export example
        waveform, lengths = batch_of(
            [
                speech_like(n / RATE, seed=n),
                speech_like(n / 3 / RATE, seed=2),
                speech_like(n / 2 / RATE, seed=4),
            ]
        )
        feats, frame_lengths = model(waveform, lengths)
        out, out_lengths = session.run(None, {"waveform": waveform.numpy(), "lengths": lengths.numpy()})
        assert out.shape == tuple(feats.shape)
        # Both spectrum paths are float32: against a float64 reference each is off by up to ~7e-5 in
        # the few mel bins that lie ~1e-7 below the frame's peak (20-60 Hz after pre-emphasis), where the
        # log magnifies rounding; rtol=1e-5 of |log energy| (<= 1.4e-4 at the floor) covers those.
        np.testing.assert_allclose(out, feats.numpy(), atol=1e-4, rtol=1e-5)
        assert out_lengths.tolist() == frame_lengths.tolist()


def test_featurizer_errors_are_user_errors() -> None:
    with pytest.raises(SpeechforgeError, match="fbank, mfcc"):
        build_featurizer("spectrogram")
    with pytest.raises(SpeechforgeError, match="invalid option"):
        build_featurizer("fbank", n_mel=40)
    with pytest.raises(SpeechforgeError, match="fmax"):
        LogMelFilterbank(fmax=9000.0)
    with pytest.raises(SpeechforgeError, match="n_fft"):
        LogMelFilterbank(n_fft=256)
    with pytest.raises(SpeechforgeError, match="n_mfcc"):
        MFCC(n_mfcc=100, n_mels=40)
    with pytest.raises(SpeechforgeError, match=r"\(batch, time\)"):
        LogMelFilterbank()(torch.zeros(16000))


def test_other_rates_and_sizes() -> None:
    fbank = build_featurizer("fbank", sample_rate=8000, n_mels=40, win_ms=32.0, hop_ms=16.0)
    assert isinstance(fbank, LogMelFilterbank)
    assert (fbank.win_length, fbank.hop_length, fbank.n_fft) == (256, 128, 256)
    feats, frame_lengths = fbank(torch.from_numpy(speech_like(1.0, rate=8000))[None])
    assert feats.shape == (1, 1 + (8000 - 256) // 128, 40) and fbank.feature_dim == 40
    assert frame_lengths.tolist() == [feats.shape[1]]
