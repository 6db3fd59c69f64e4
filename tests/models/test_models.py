"""The model families: contract, padding invariance, export, the lecture's training checks, init schemes."""

from __future__ import annotations

import io
import itertools
import math
import warnings

import pytest
import torch
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.losses import BinaryCrossEntropy
from speechforge.models import (
    INIT_SCHEMES,
    MLP,
    MODEL_NAMES,
    LogisticRegression,
    build_model,
    count_parameters,
    init_weights,
)
from speechforge.models.crnn import reverse_padded
from speechforge.models.pooling import MaskedPooling, masked_max, masked_mean_std, valid_frames_mask

N_FEATURES = 40
# Small variants keep the suite fast; the defaults are covered by the parameter-count and shape tests.
SMALL = {
    "logreg": {},
    "mlp": {"hidden": (32, 16), "dropout": 0.2},
    "cnn": {"channels": (4, 8)},
    "cnn-avg": {"channels": (4, 8), "pool": "avg", "time_pooling": "mean"},
    "crnn": {"channels": (4,), "rnn_hidden": 8, "rnn_layers": 2},
    "crnn-uni": {"channels": (4,), "rnn_hidden": 8, "bidirectional": False},
}


def small(key: str, n_outputs: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return build_model(key.split("-")[0], N_FEATURES, n_outputs, **SMALL[key]).eval()


def batch(lengths: list[int], seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random features padded with large garbage (never zeros), so any leak of the padding shows."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), N_FEATURES, generator=g)  # (batch, frames, features)
    for i, n in enumerate(lengths):
        x[i, n:] = 1e3 * torch.randn(x.shape[1] - n, N_FEATURES, generator=g)
    return x, torch.tensor(lengths)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("n_outputs", [1, 10])
def test_default_models_give_one_logit_row_per_utterance(name: str, n_outputs: int) -> None:
    model = build_model(name, N_FEATURES, n_outputs).eval()
    x, lengths = batch([37, 12, 1])
    logits = model(x, lengths)
    assert logits.shape == (3, n_outputs)
    assert torch.isfinite(logits).all()


def test_default_parameter_counts() -> None:
    counts = {name: count_parameters(build_model(name, N_FEATURES, 10)) for name in MODEL_NAMES}
    # logreg: (2·40 mean+std inputs + 1 bias) · 10 outputs, the lecture's w and b for each class.
    assert counts["logreg"] == (2 * N_FEATURES + 1) * 10
    # mlp: 80→256 and 256→256 without bias (BN's β replaces it), γ/β per unit, 256→10 with bias.
    assert counts["mlp"] == 80 * 256 + 2 * 256 + 256 * 256 + 2 * 256 + 256 * 10 + 10
    # cnn: 3×3 convs 1→32→64→128 without bias, BN γ/β, Linear(mean+max of 128 → 10).
    assert counts["cnn"] == 9 * (32 + 32 * 64 + 64 * 128) + 2 * (32 + 64 + 128) + 256 * 10 + 10
    assert 50_000 < counts["cnn"] < 150_000
    gru = 3 * (128 * 128 + 128 * 128 + 2 * 128)  # one direction: 3 gates, input + recurrent + 2 biases
    crnn = 9 * (32 + 32 * 64) + 2 * (32 + 64) + (64 * 10 * 128 + 128) + 2 * gru + 256 * 10 + 10
    assert counts["crnn"] == crnn
    assert count_parameters(build_model("mlp", N_FEATURES, 10), trainable_only=False) == counts["mlp"]


@pytest.mark.parametrize("key", list(SMALL))
def test_padding_never_changes_the_logits(key: str) -> None:
    model = small(key)
    lengths = [23, 17, 8, 1]  # odd lengths exercise the half-full pooling windows
    x, frame_lengths = batch(lengths)
    together = model(x, frame_lengths)
    for i, n in enumerate(lengths):
        alone = model(x[i : i + 1, :n], frame_lengths[i : i + 1])
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("key", list(SMALL))
def test_nan_in_the_padding_stays_in_the_padding_in_training(key: str) -> None:
    model = small(key).train()
    x, lengths = batch([15, 9, 4])
    x[1, 9:] = float("nan")
    x[2, 4:] = float("inf")
    logits = model(x, lengths)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def _trace(model: nn.Module, x: Tensor, lengths: Tensor) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation and GRU-internal tracer warnings
        return torch.jit.trace(model, (x, lengths))


@pytest.mark.parametrize("key", ["logreg", "mlp", "cnn", "cnn-avg", "crnn"])
def test_trace_generalizes_to_other_lengths_and_batch_sizes(key: str) -> None:
    model = small(key)
    traced = _trace(model, *batch([20, 11]))
    for lengths in ([20, 11], [33, 5, 16]):
        x, frame_lengths = batch(lengths, seed=1)
        torch.testing.assert_close(traced(x, frame_lengths), model(x, frame_lengths), atol=1e-5, rtol=0)


@pytest.mark.parametrize("key", ["logreg", "mlp", "cnn", "crnn"])
def test_onnx_export_matches_eager(key: str) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnx", reason="onnx is needed by torch.onnx.export")
    model = small(key)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            batch([20, 11]),
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=["features", "frame_lengths"],
            output_names=["logits"],
            dynamic_axes={
                "features": {0: "batch", 1: "frames"},
                "frame_lengths": {0: "batch"},
                "logits": {0: "batch"},
            },
        )
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for lengths in ([20, 11], [31, 4, 9]):
        x, frame_lengths = batch(lengths, seed=2)
        (logits,) = session.run(None, {"features": x.numpy(), "frame_lengths": frame_lengths.numpy()})
        torch.testing.assert_close(torch.from_numpy(logits), model(x, frame_lengths), atol=1e-4, rtol=1e-4)


def test_pooling_statistics_match_torch_on_the_valid_frames() -> None:
    x, lengths = batch([9, 4, 1])
    mask = valid_frames_mask(lengths, x)
    mean, std = masked_mean_std(x, mask)
    peak = masked_max(x, mask)
    for i, n in enumerate(lengths.tolist()):
        valid = x[i, :n]
        torch.testing.assert_close(mean[i], valid.mean(0))
        torch.testing.assert_close(std[i], valid.std(0, unbiased=False).clamp(min=1e-5**0.5))
        torch.testing.assert_close(peak[i], valid.amax(0))
    assert MaskedPooling("meanstd")(x, lengths).shape == (3, 2 * N_FEATURES)
    with pytest.raises(SpeechforgeError, match="allowed: mean, meanstd, meanmax"):
        MaskedPooling("median")


def test_reverse_padded_reverses_within_each_length_and_is_an_involution() -> None:
    x = torch.arange(10.0).reshape(2, 5, 1)  # (batch, frames, 1)
    out = reverse_padded(x, torch.tensor([5, 3]))
    assert out[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    torch.testing.assert_close(reverse_padded(out, torch.tensor([5, 3])), x)


def test_logistic_regression_gradient_descent_separates_a_linear_problem() -> None:
    """The lecture's recipe: zeros init, BCE, full-batch gradient descent w ← w − α dJ/dw.

    The loss is computed the numerically stable way (BinaryCrossEntropy): the literal formula with
    log(ŷ) becomes NaN here once ŷ rounds to 1 on this separable problem.
    """
    g = torch.Generator().manual_seed(0)
    points = torch.randn(200, 2, generator=g) * 2  # (m, 2)
    labels = (points @ torch.tensor([1.5, -2.0]) + 0.5 > 0).long()  # a line separates the classes
    margin = (points @ torch.tensor([1.5, -2.0]) + 0.5).abs() > 0.3
    points, labels = points[margin], labels[margin]
    features, lengths = points.unsqueeze(1), torch.ones(len(points), dtype=torch.long)  # one frame each
    model = init_weights(LogisticRegression(2, 1, pooling="mean"), "zeros")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    criterion = BinaryCrossEntropy()
    losses = []
    for step in range(300):
        z = model(features, lengths)  # (m, 1) = wᵀx + b
        loss = criterion(z, labels)
        if step < 5:
            y_hat = torch.sigmoid(z[:, 0])
            lecture = -(labels * torch.log(y_hat) + (1 - labels) * torch.log(1 - y_hat)).mean()
            torch.testing.assert_close(loss, lecture)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(2))  # ŷ = 0.5 everywhere at w = 0
    assert all(b < a for a, b in itertools.pairwise(losses))  # decreases at every step
    predictions = (model(features, lengths)[:, 0] > 0).long()
    assert (predictions == labels).all()


def test_mlp_can_overfit_one_batch_of_random_labels() -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 10, N_FEATURES)
    lengths = torch.randint(3, 11, (32,))
    labels = torch.randint(0, 10, (32,))
    model = MLP(N_FEATURES, 10, hidden=(64, 64))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = nn.functional.cross_entropy(model(x, lengths), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    assert (model(x, lengths).argmax(1) == labels).all()


def test_batch_norm_uses_batch_statistics_in_train_and_running_ones_in_eval() -> None:
    model = MLP(N_FEATURES, 3, hidden=(16,), batch_norm=True)
    norm = model.hidden[1]
    assert isinstance(norm, nn.BatchNorm1d)
    seen: list[Tensor] = []
    norm.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    x, lengths = batch([12, 7, 9, 5, 11, 3])
    model.train()
    first = model(x, lengths)[0]
    # z_norm has mean 0 and variance 1 over the mini-batch (γ = 1, β = 0 at the start).
    torch.testing.assert_close(seen[-1].mean(0), torch.zeros(16), atol=1e-5, rtol=0)
    torch.testing.assert_close(seen[-1].var(0, unbiased=False), torch.ones(16), atol=1e-2, rtol=0)
    assert int(norm.num_batches_tracked) == 1
    assert not torch.allclose(model(x[:3], lengths[:3])[0], first)  # depends on the other examples
    model.eval()
    running = norm.running_mean.clone()
    alone = model(x[:1], lengths[:1])[0]
    torch.testing.assert_close(model(x, lengths)[0], alone)  # eval: each example on its own
    torch.testing.assert_close(norm.running_mean, running)  # eval never updates the statistics


def test_dropout_only_acts_in_training() -> None:
    torch.manual_seed(0)
    model = MLP(N_FEATURES, 3, hidden=(512,), batch_norm=False, dropout=0.5)
    dropout = model.hidden[2]
    assert isinstance(dropout, nn.Dropout)
    seen: list[Tensor] = []
    dropout.register_forward_hook(lambda _m, inp, out: seen.append(torch.stack([inp[0], out])))
    x, lengths = batch([8, 5])
    model.train()
    assert not torch.equal(model(x, lengths), model(x, lengths))
    before, after = seen[-1]
    dropped = (after == 0) & (before != 0)
    assert 0.4 < dropped.sum().item() / (before != 0).sum().item() < 0.6  # about p of the active units
    kept = after != 0
    torch.testing.assert_close(after[kept], 2 * before[kept])  # inverted dropout: scaled by 1/(1 − p)
    model.eval()
    assert torch.equal(model(x, lengths), model(x, lengths))
    before, after = seen[-1]
    assert torch.equal(before, after)


@pytest.mark.parametrize("scheme", ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"])
def test_init_scheme_statistics(scheme: str) -> None:
    torch.manual_seed(0)
    model = MLP(100, 3, hidden=(400, 300), batch_norm=True)
    init_weights(model, scheme)
    layer = model.hidden[3]  # the second Linear: fan_in 400, fan_out 300
    assert isinstance(layer, nn.Linear)
    w = layer.weight
    fan_in, fan_out = 400, 300
    expected_std = {
        "xavier_uniform": math.sqrt(2 / (fan_in + fan_out)),
        "xavier_normal": math.sqrt(2 / (fan_in + fan_out)),
        "kaiming_uniform": math.sqrt(2 / fan_in),
        "kaiming_normal": math.sqrt(2 / fan_in),
    }[scheme]
    assert w.std().item() == pytest.approx(expected_std, rel=0.02)
    assert abs(w.mean().item()) < 0.01 * expected_std * 10
    if scheme.endswith("uniform"):
        bound = math.sqrt(3) * expected_std  # U(−a, a) has std a/√3
        assert w.abs().max().item() <= bound
        assert w.abs().max().item() > 0.99 * bound
    assert torch.count_nonzero(model.output.bias) == 0
    norm = model.hidden[1]
    assert isinstance(norm, nn.BatchNorm1d)
    assert torch.equal(norm.weight, torch.ones(400)) and torch.equal(norm.bias, torch.zeros(400))


def test_orthogonal_init_gives_orthogonal_gate_blocks() -> None:
    model = build_model("crnn", N_FEATURES, 3, channels=(4,), rnn_hidden=16)
    init_weights(model, "orthogonal")
    gru = model.rnn.forward_layers[0]
    for block in gru.weight_hh_l0.chunk(3, dim=0):  # (16, 16) per gate
        torch.testing.assert_close(block @ block.T, torch.eye(16), atol=1e-5, rtol=0)
    assert torch.count_nonzero(gru.bias_ih_l0) == 0
    w = model.projection.weight  # (16, 40): orthonormal rows
    torch.testing.assert_close(w @ w.T, torch.eye(16), atol=1e-5, rtol=0)


def test_default_and_zeros_init() -> None:
    torch.manual_seed(0)
    model = init_weights(MLP(N_FEATURES, 3, hidden=(50,)), "default")
    bound = 1 / math.sqrt(50)  # PyTorch's Linear: U(−1/√fan_in, 1/√fan_in)
    assert model.output.weight.abs().max().item() <= bound
    assert torch.count_nonzero(model.output.bias) > 0  # PyTorch's bias init is kept by "default"
    logreg = init_weights(LogisticRegression(N_FEATURES, 1), "zeros")
    assert all(torch.count_nonzero(p) == 0 for p in logreg.parameters())
    with pytest.raises(SpeechforgeError, match="same gradient"):
        init_weights(MLP(N_FEATURES, 3), "zeros")
    with pytest.raises(SpeechforgeError, match=", ".join(INIT_SCHEMES)):
        init_weights(logreg, "he")


def test_build_model_rejects_unknown_names_and_options() -> None:
    with pytest.raises(SpeechforgeError, match="allowed: logreg, mlp, cnn, crnn"):
        build_model("transformer", N_FEATURES, 10)
    with pytest.raises(SpeechforgeError, match=r"unknown option.*dropout.*allowed: pooling"):
        build_model("logreg", N_FEATURES, 10, dropout=0.1)
    with pytest.raises(SpeechforgeError, match="kernel_size must be odd"):
        build_model("cnn", N_FEATURES, 10, kernel_size=4)
    with pytest.raises(SpeechforgeError, match="allowed: relu, tanh"):
        build_model("mlp", N_FEATURES, 10, activation="swish")
    with pytest.raises(SpeechforgeError, match="dropout"):
        build_model("cnn", N_FEATURES, 10, dropout=1.0)
    with pytest.raises(SpeechforgeError, match="shape"):
        build_model("logreg", N_FEATURES, 10)(torch.zeros(2, 5, 13), torch.tensor([5, 5]))


def _sweeps(n: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """Rising vs falling frequency sweeps of random length and start: same mean spectrum, opposite order."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(12, 25, (n,), generator=g)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 * torch.randn(n, 24, N_FEATURES, generator=g)  # (batch, frames, features)
    for i in range(n):
        steps = int(lengths[i])
        bins = torch.linspace(5, 34, steps).round().long()
        bins = bins if labels[i] == 1 else bins.flip(0)
        x[i, torch.arange(steps), bins] += 3.0
    return x, lengths, labels


@pytest.mark.parametrize("key", ["cnn", "crnn-uni", "logreg"])
def test_sequence_models_learn_temporal_order(key: str) -> None:
    """The conv and recurrent models tell the sweeps apart; pooled statistics (logreg) cannot."""
    model = small(key, n_outputs=1).train()
    x, lengths, labels = _sweeps(128, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = nn.functional.binary_cross_entropy_with_logits(model(x, lengths)[:, 0], labels.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x, lengths, labels = _sweeps(128, seed=1)
    accuracy = ((model(x, lengths)[:, 0] > 0).long() == labels).float().mean().item()
    if key == "logreg":
        assert accuracy < 0.7  # mean/std over frames discard the order: near chance
    else:
        assert accuracy > 0.9
