"""Normalization with TRAIN statistics (the lecture's μ_train / σ_train): fitting over valid frames only,
streaming merges, state_dict round trips, and applying train statistics unchanged to dev data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from speechforge.errors import SpeechforgeError
from speechforge.features import GlobalNormalizer, IdentityNormalizer, UtteranceNormalizer, build_normalizer
from speechforge.features.fbank import LogMelFilterbank

DIM = 6
PAD_VALUE = 1e4  # padding filled with an absurd value: any use of it would show in the statistics


def random_batches(
    seed: int, n_batches: int = 5, offset: float = 0.0, scale: float = 1.0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of ``(features (batch, frames, DIM), frame_lengths (batch,))`` with padding = PAD_VALUE."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        batch = int(rng.integers(1, 5))
        lengths = rng.integers(1, 40, size=batch)
        x = offset + scale * rng.standard_normal((batch, int(lengths.max()), DIM)) * np.arange(1, DIM + 1)
        for i, n in enumerate(lengths):
            x[i, n:] = PAD_VALUE
        batches.append((torch.tensor(x, dtype=torch.float32), torch.tensor(lengths, dtype=torch.int64)))
    return batches


def valid_frames(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> np.ndarray:
    """All valid frames concatenated: ``(total_frames, DIM)`` float64."""
    return np.concatenate([x[i, : int(n)].double().numpy() for x, lengths in batches for i, n in enumerate(lengths)])


def test_fit_equals_numpy_mean_std_over_valid_frames() -> None:
    batches = random_batches(0, offset=3.0, scale=2.0)
    norm = GlobalNormalizer(DIM).fit(batches)
    frames = valid_frames(batches)
    np.testing.assert_allclose(norm.mean.numpy(), frames.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(norm.std.numpy(), frames.std(axis=0), rtol=1e-6)
    assert int(norm.num_frames) == frames.shape[0]
    # After normalization the valid training frames have mean 0 and std 1; padding is zeroed.
    out = [(norm(x, n), n) for x, n in batches]
    normalized = valid_frames(out)
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, atol=1e-5)
    for y, lengths in out:
        for i, n in enumerate(lengths):
            assert bool((y[i, int(n) :] == 0).all())


def test_fit_is_independent_of_batching_and_refits_from_scratch() -> None:
    batches = random_batches(1, n_batches=8)
    one_batch_each = [(x[i : i + 1, : int(n[i])], n[i : i + 1]) for x, n in batches for i in range(len(n))]
    a = GlobalNormalizer(DIM).fit(batches)
    b = GlobalNormalizer(DIM).fit(iter(one_batch_each))  # a generator is enough: one streaming pass
    torch.testing.assert_close(a.mean, b.mean)
    torch.testing.assert_close(a.std, b.std)
    b.fit(random_batches(2))
    assert not torch.allclose(a.mean, b.mean)


def test_std_is_floored_for_constant_features() -> None:
    x = torch.ones(2, 10, DIM)
    norm = GlobalNormalizer(DIM).fit([(x, torch.tensor([10, 4]))])
    torch.testing.assert_close(norm.std, torch.full((DIM,), 1e-5))
    assert torch.isfinite(norm(x, torch.tensor([10, 4]))).all()


def test_dev_batches_use_train_statistics_not_their_own() -> None:
    train = random_batches(3)
    norm = GlobalNormalizer(DIM).fit(train)
    mean, std = norm.mean.clone(), norm.std.clone()
    dev_x, dev_len = random_batches(4, n_batches=1, offset=5.0)[0]  # shifted dev data (a mismatch)
    out = norm(dev_x, dev_len)
    mask = torch.arange(dev_x.size(1))[None, :] < dev_len[:, None]  # (batch, frames)
    torch.testing.assert_close(out[mask], (dev_x[mask] - mean) / std)
    # The dev shift stays visible (its own statistics would have removed it) and nothing was updated.
    assert float(out[mask].mean()) > 1.0
    torch.testing.assert_close(norm.mean, mean)
    torch.testing.assert_close(norm.std, std)


def test_state_dict_round_trip(tmp_path: Path) -> None:
    batches = random_batches(5)
    model = torch.nn.Sequential()
    model.add_module("norm", GlobalNormalizer(DIM).fit(batches))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    fresh = torch.nn.Sequential()
    fresh.add_module("norm", GlobalNormalizer(DIM))
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    x, n = batches[0]
    torch.testing.assert_close(fresh.norm(x, n), model.norm(x, n), rtol=0, atol=0)
    assert fresh.norm.fitted


def test_unfitted_global_normalizer_refuses_to_run() -> None:
    with pytest.raises(SpeechforgeError, match="fit it on the training set first"):
        GlobalNormalizer(DIM)(torch.zeros(1, 3, DIM), torch.tensor([3]))
    with pytest.raises(SpeechforgeError, match="no valid frame"):
        GlobalNormalizer(DIM).fit([])
    with pytest.raises(SpeechforgeError, match="feature_dim=6"):
        GlobalNormalizer(DIM).fit([(torch.zeros(1, 3, DIM + 1), torch.tensor([3]))])


def test_utterance_normalizer_uses_each_utterance_valid_frames() -> None:
    x, lengths = random_batches(6, n_batches=1, offset=2.0)[0]
    out = UtteranceNormalizer(DIM)(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        frames = x[i, :n].double().numpy()
        expected = (frames - frames.mean(axis=0)) / np.maximum(frames.std(axis=0), 1e-5)
        np.testing.assert_allclose(out[i, :n].numpy(), expected, atol=1e-4)
        assert bool((out[i, n:] == 0).all())
    mean_only = UtteranceNormalizer(DIM, variance=False)(x, lengths)
    n = int(lengths[0])
    torch.testing.assert_close(mean_only[0, :n], x[0, :n] - x[0, :n].mean(dim=0))


def test_factory_and_identity() -> None:
    assert isinstance(build_normalizer("global", 80), GlobalNormalizer)
    assert isinstance(build_normalizer("utterance", 80), UtteranceNormalizer)
    identity = build_normalizer("none", 80)
    assert isinstance(identity, IdentityNormalizer)
    x = torch.randn(2, 5, 80)
    assert identity(x, torch.tensor([5, 2])) is x
    with pytest.raises(SpeechforgeError, match="global, utterance, none"):
        build_normalizer("batch", 80)


def test_global_normalizer_on_log_mel_and_export() -> None:
    """Fit on log-mel features of real tones; the fitted normalizer scripts and traces like the featurizer."""
    fbank = LogMelFilterbank(n_mels=DIM * 4)
    t = torch.arange(8000) / 16000
    waves = torch.stack([0.3 * torch.sin(2 * torch.pi * f * t) for f in (220.0, 440.0, 880.0)])  # (3, 8000)
    lengths = torch.tensor([8000, 6000, 3000])
    feats, frame_lengths = fbank(waves, lengths)  # (3, 48, 24)
    norm = GlobalNormalizer(fbank.feature_dim).fit([(feats, frame_lengths)])
    out = norm(feats, frame_lengths)
    scripted = torch.jit.script(norm)
    torch.testing.assert_close(scripted(feats, frame_lengths), out)
    traced = torch.jit.trace(norm, (feats, frame_lengths))
    short_lengths = frame_lengths[:2].clamp(max=30)  # a batch of another shape than the traced one
    expected = out[:2, :30] * (torch.arange(30)[None, :, None] < short_lengths[:, None, None])
    torch.testing.assert_close(traced(feats[:2, :30], short_lengths), expected)
