"""CTC acoustic models (ConformerCTC, LSTMCTC), their subsampling front end and the CTC loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from speechforge.errors import SpeechforgeError
from speechforge.features.fbank import LogMelFilterbank
from speechforge.losses.ctc import CTCLoss, required_frames
from speechforge.models.ctc import LSTMCTC, ConformerCTC, ConvSubsampling

RATE = 16000
TOKEN_HZ = {1: 400.0, 2: 900.0, 3: 1600.0, 4: 2800.0}  # token id → tone frequency; 0 is the blank


def tiny_conformer(**kwargs: object) -> ConformerCTC:
    options: dict = dict(d_model=32, n_layers=2, n_heads=4, ff_mult=2, conv_kernel=7, subsampling_channels=8)
    options.update(kwargs)
    return ConformerCTC(40, 5, **options)


def render(tokens: list[int], rng: np.random.Generator) -> np.ndarray:
    """Tone bursts of 150 ms (one frequency per token) separated by 50 ms of near-silence."""
    pieces = [np.zeros(800)]
    for token in tokens:
        t = np.arange(int(0.15 * RATE)) / RATE
        burst = 0.5 * np.sin(2 * np.pi * TOKEN_HZ[token] * t + rng.uniform(0, 2 * np.pi))
        pieces += [burst * np.hanning(len(t)) ** 0.2, np.zeros(800)]
    x = np.concatenate(pieces)
    return (x + 1e-3 * rng.standard_normal(len(x))).astype(np.float32)


def synthetic_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    sequences = [[1, 2], [3, 4, 1], [2, 2, 3], [4, 3, 2, 1], [1, 3], [2, 4, 4], [3, 1, 2], [4, 1]]
    waves = [render(s, rng) for s in sequences]
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
    features, frame_lengths = LogMelFilterbank(RATE, n_mels=40)(batch, lengths)
    mask = torch.arange(features.shape[1])[None, :] < frame_lengths[:, None]
    valid = features[mask]
    features = ((features - valid.mean(0)) / valid.std(0)) * mask[..., None]
    targets = torch.zeros(len(sequences), max(map(len, sequences)), dtype=torch.int64)
    for i, s in enumerate(sequences):
        targets[i, : len(s)] = torch.tensor(s)
    return features, frame_lengths, targets, torch.tensor([len(s) for s in sequences])


def greedy(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Argmax per frame, merge repeats, drop blanks."""
    out = []
    for row, n in zip(log_probs.argmax(-1).tolist(), lengths.tolist(), strict=True):
        collapsed = [t for i, t in enumerate(row[:n]) if i == 0 or t != row[i - 1]]
        out.append([t for t in collapsed if t != 0])
    return out


@pytest.mark.parametrize("factor", [2, 4])
def test_subsampling_lengths_match_the_conv_arithmetic(factor: int) -> None:
    sub = ConvSubsampling(40, 16, factor=factor, channels=4)
    assert sub.min_frames == 7
    for n in (7, 8, 9, 10, 31, 100, 101):
        x, lengths = sub(torch.randn(1, n, 40), torch.tensor([n]))
        expected = (n - 1) // 2
        expected = (expected - 1) // 2 if factor == 4 else expected - 2
        assert x.shape == (1, expected, 16)
        assert lengths.tolist() == [expected]


@pytest.mark.parametrize("make", [tiny_conformer, lambda: LSTMCTC(40, 5, hidden=16, layers=2, subsampling=2)])
def test_output_shapes_and_lengths(make) -> None:
    model = make().eval()
    lengths = torch.tensor([100, 57, 7, 33])
    log_probs, out_lengths = model(torch.randn(4, 100, 40), lengths)
    expected = model.subsampling.output_lengths(lengths)
    assert out_lengths.dtype == torch.int64
    assert out_lengths.tolist() == expected.tolist()
    assert log_probs.shape == (4, int(expected.max()), 5)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(4, log_probs.shape[1]), atol=1e-5)


def test_too_short_utterance_names_the_minimum() -> None:
    model = tiny_conformer()
    with pytest.raises(SpeechforgeError, match=r"utterance 1 has 6 frames.*7"):
        model(torch.randn(2, 20, 40), torch.tensor([20, 6]))
    with pytest.raises(SpeechforgeError, match="7"):
        LSTMCTC(40, 5, hidden=8, layers=1)(torch.randn(1, 5, 40), torch.tensor([5]))


@pytest.mark.parametrize("make", [tiny_conformer, lambda: LSTMCTC(40, 5, hidden=16, layers=2)])
def test_padding_invariance_in_eval(make) -> None:
    torch.manual_seed(0)
    model = make().eval()
    alone = torch.randn(1, 41, 40)
    batch = torch.randn(3, 90, 40) * 5.0  # padding holds garbage, not zeros
    batch[1, :41] = alone[0]
    lengths = torch.tensor([90, 41, 60])
    with torch.no_grad():
        ref, ref_len = model(alone, torch.tensor([41]))
        out, out_len = model(batch, lengths)
    n = int(ref_len[0])
    assert int(out_len[1]) == n
    assert torch.allclose(out[1, :n], ref[0, :n], atol=1e-4)


def test_ctc_loss_matches_torch_and_checks_lengths() -> None:
    torch.manual_seed(0)
    log_probs = torch.randn(2, 10, 5).log_softmax(-1)
    targets = torch.tensor([[1, 2, 2], [3, 0, 0]])
    target_lengths = torch.tensor([3, 1])
    out_lengths = torch.tensor([10, 6])
    loss = CTCLoss()(log_probs, out_lengths, targets, target_lengths)
    ref = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, out_lengths, target_lengths)
    assert torch.allclose(loss, ref)
    assert required_frames(targets, target_lengths).tolist() == [4, 1]
    with pytest.raises(SpeechforgeError, match=r"utterance 0 has 3 output frames.*at least 4.*1 frame"):
        CTCLoss()(log_probs, torch.tensor([3, 6]), targets, target_lengths)
    with pytest.raises(SpeechforgeError, match="blank"):
        CTCLoss()(log_probs, out_lengths, torch.tensor([[1, 0, 2], [3, 0, 0]]), target_lengths)
    with pytest.raises(SpeechforgeError, match="reduction"):
        CTCLoss(reduction="avg")


def train(model: torch.nn.Module, steps: int, lr: float) -> tuple[float, float, list[list[int]], list[list[int]]]:
    features, frame_lengths, targets, target_lengths = synthetic_batch()
    loss_fn = CTCLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        log_probs, out_lengths = model(features, frame_lengths)
        loss = loss_fn(log_probs, out_lengths, targets, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths = model(features, frame_lengths)
    refs = [row[:n] for row, n in zip(targets.tolist(), target_lengths.tolist(), strict=True)]
    return losses[0], losses[-1], greedy(log_probs, out_lengths), refs


def test_conformer_ctc_learns_tone_sequences() -> None:
    torch.manual_seed(0)
    first, last, hyps, refs = train(tiny_conformer(dropout=0.0), steps=100, lr=3e-3)
    assert last < 0.5 * first
    assert hyps == refs


def test_lstm_ctc_learns_tone_sequences() -> None:
    torch.manual_seed(0)
    model = LSTMCTC(40, 5, hidden=32, layers=1, dropout=0.0, subsampling=4, subsampling_channels=8)
    first, last, hyps, refs = train(model, steps=100, lr=5e-3)
    assert last < 0.5 * first
    assert hyps == refs


def test_conformer_onnx_export_matches_torch(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = tiny_conformer().eval()
    path = tmp_path / "conformer_ctc.onnx"
    torch.onnx.export(
        model,
        (torch.randn(2, 50, 40), torch.tensor([50, 30])),
        str(path),
        dynamo=False,
        input_names=["features", "frame_lengths"],
        output_names=["log_probs", "out_lengths"],
        dynamic_axes={
            "features": {0: "batch", 1: "frames"},
            "frame_lengths": {0: "batch"},
            "log_probs": {0: "batch", 1: "out_frames"},
            "out_lengths": {0: "batch"},
        },
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, frames, lengths in ((1, 23, [23]), (3, 77, [77, 40, 12])):
        features = torch.randn(batch, frames, 40)
        frame_lengths = torch.tensor(lengths)
        with torch.no_grad():
            ref, ref_len = model(features, frame_lengths)
        out, out_len = session.run(None, {"features": features.numpy(), "frame_lengths": frame_lengths.numpy()})
        assert out_len.tolist() == ref_len.tolist()
        for b, n in enumerate(ref_len.tolist()):
            np.testing.assert_allclose(out[b, :n], ref[b, :n].numpy(), atol=1e-4)
