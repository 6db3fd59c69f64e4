"""Augmentation on real signals: noise at a measured SNR, noise banks read from real files, speed
perturbation measured on duration and pitch, and SpecAugment masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import tone, write_audio
from speechforge.audio.augment import NoiseBank, SpecAugment, add_noise, speed_perturb
from speechforge.errors import SpeechforgeError

RATE = 16000


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    noise = noisy.astype(np.float64) - clean
    return 10.0 * float(np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2)))


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum)) * rate / len(x)


@pytest.mark.parametrize("snr_range", [(0.0, 0.0), (10.0, 10.0), (5.0, 20.0), (-5.0, 3.0)])
def test_white_noise_is_added_at_an_snr_within_the_range(snr_range: tuple[float, float]) -> None:
    clean = tone(1.0, RATE, 440.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = add_noise(clean, rng, snr_range)
        assert noisy.dtype == np.float32 and noisy.shape == clean.shape
        measured = snr_db(clean, noisy)
        assert snr_range[0] - 0.5 <= measured <= snr_range[1] + 0.5


def test_given_noise_is_looped_cropped_and_scaled() -> None:
    clean = tone(1.0, RATE, 300.0)
    babble = tone(0.13, RATE, 2500.0, amplitude=0.9)  # shorter than the speech: must loop
    noisy = add_noise(clean, np.random.default_rng(1), (6.0, 6.0), noise=babble)
    assert abs(snr_db(clean, noisy) - 6.0) < 0.5
    added = noisy.astype(np.float64) - clean
    assert abs(peak_hz(added) - 2500.0) < 5.0  # the noise is the given one, not white noise


def test_augmentation_is_reproducible_from_one_seed() -> None:
    clean = tone(0.5, RATE, 440.0)
    noise = tone(0.3, RATE, 3000.0, seed=2)

    def epoch(seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [add_noise(speed_perturb(clean, rng), rng, (0.0, 20.0), noise) for _ in range(4)]

    for a, b in zip(epoch(7), epoch(7), strict=True):
        np.testing.assert_array_equal(a, b)
    pairs = zip(epoch(7), epoch(8), strict=True)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in pairs)


def test_silence_is_left_unchanged_and_bad_noise_is_an_error() -> None:
    silence = np.zeros(1000, dtype=np.float32)
    np.testing.assert_array_equal(add_noise(silence, np.random.default_rng(0), (0.0, 10.0)), silence)
    with pytest.raises(SpeechforgeError, match="digital silence"):
        add_noise(tone(0.1), np.random.default_rng(0), (0.0, 10.0), noise=np.zeros(100, dtype=np.float32))
    with pytest.raises(SpeechforgeError, match="low <= high"):
        add_noise(tone(0.1), np.random.default_rng(0), (10.0, 0.0))


def test_noise_bank_reads_every_audio_file_under_a_folder(tmp_path: Path) -> None:
    write_audio(tmp_path / "noise" / "hum.wav", seconds=0.2, rate=8000, freq=100.0)
    write_audio(tmp_path / "noise" / "sub" / "hiss.flac", seconds=0.3, rate=16000, freq=4000.0, seed=1)
    (tmp_path / "noise" / "README.txt").write_text("not audio")
    bank = NoiseBank(tmp_path / "noise", sample_rate=16000)
    assert len(bank) == 2
    assert sorted(len(n) for n in bank.noises) == [3200, 4800]  # the 8 kHz file is resampled to 16 kHz
    picked = bank.sample(np.random.default_rng(0))
    noisy = add_noise(tone(0.5, RATE, 440.0), np.random.default_rng(0), (10.0, 10.0), noise=picked)
    assert abs(snr_db(tone(0.5, RATE, 440.0), noisy) - 10.0) < 0.5
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpeechforgeError, match="no audio file"):
        NoiseBank(tmp_path / "empty")
    with pytest.raises(SpeechforgeError, match="not found"):
        NoiseBank(tmp_path / "missing")


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.1])
def test_speed_perturbation_changes_duration_and_pitch(factor: float) -> None:
    clean = tone(1.0, RATE, 500.0)
    out = speed_perturb(clean, np.random.default_rng(0), factors=(factor,), sample_rate=RATE)
    assert out.dtype == np.float32
    assert abs(len(out) - len(clean) / factor) <= 1
    assert abs(peak_hz(out) - 500.0 * factor) < 3.0


def test_speed_perturbation_draws_from_the_factors() -> None:
    clean = tone(0.2, RATE, 500.0)
    rng = np.random.default_rng(0)
    lengths = {len(speed_perturb(clean, rng)) for _ in range(30)}
    assert lengths == {round(3200 / 0.9), 3200, round(3200 / 1.1)}
    with pytest.raises(SpeechforgeError, match="positive"):
        speed_perturb(clean, rng, factors=(0.0,))


def test_spec_augment_masks_bands_in_training_only() -> None:
    torch.manual_seed(0)
    feats = torch.randn(4, 200, 80) + 5.0  # (batch, frames, dim), nowhere 0
    lengths = torch.tensor([200, 150, 60, 1])
    aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=0.05)
    assert aug.eval()(feats, lengths) is feats
    out = aug.train()(feats, lengths)
    assert out.shape == feats.shape and not torch.equal(out, feats)
    masked = out == 0
    changed = masked | (out == feats)
    assert bool(changed.all())  # every value is either kept or zeroed
    for b, n in enumerate(lengths.tolist()):
        masked_bins = masked[b].all(dim=0).sum().item()  # frequency bands: whole columns
        assert masked_bins <= 2 * 8
        masked_frames = masked[b].all(dim=1)  # (frames,) time bands: whole rows
        assert masked_frames.sum().item() <= 2 * int(0.05 * n)
        assert not bool(masked_frames[n:].any())  # never in the padding
    # Reproducible from torch's global seed.
    torch.manual_seed(3)
    a = aug(feats, lengths)
    torch.manual_seed(3)
    torch.testing.assert_close(aug(feats, lengths), a)


def test_spec_augment_integer_width_and_mean_fill() -> None:
    torch.manual_seed(1)
    feats = torch.randn(2, 100, 20) + 3.0
    lengths = torch.tensor([100, 40])
    aug = SpecAugment(freq_masks=0, time_masks=3, time_width=10, fill="mean").train()
    out = aug(feats, lengths)
    for b, n in enumerate(lengths.tolist()):
        rows = (out[b] != feats[b]).any(dim=1)  # (frames,) masked frames
        assert rows.sum().item() <= 30 and not bool(rows[n:].any())
        mean = feats[b, :n].mean(dim=0)
        if rows.any():
            torch.testing.assert_close(out[b, rows], mean.expand(int(rows.sum()), -1))
    with pytest.raises(SpeechforgeError, match="fill"):
        SpecAugment(fill="noise")
    with pytest.raises(SpeechforgeError, match="fraction"):
        SpecAugment(time_width=1.5)
