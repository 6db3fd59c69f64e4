"""Wav2Vec2CTC: a tiny Hugging Face Wav2Vec2 behind speechforge's CTC contract, loaded offline."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from speechforge.errors import SpeechforgeError
from speechforge.losses.ctc import CTCLoss
from speechforge.models.wav2vec2 import Wav2Vec2CTC

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import transformers  # after the environment above: no progress bars

RATE = 16000
SAVED_VOCAB = 5
# conv (10, 5) then (3, 2): 10 samples per frame, 20 samples for the first frame
TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    conv_dim=(32, 32),
    conv_kernel=(10, 3),
    conv_stride=(5, 2),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
    feat_extract_norm="layer",
    do_stable_layer_norm=True,
)


def expected_frames(samples: int) -> int:
    return ((samples - 10) // 5 + 1 - 3) // 2 + 1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised Wav2Vec2ForCTC written with save_pretrained (no network)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("w2v2")
    config = transformers.Wav2Vec2Config(**TINY, vocab_size=SAVED_VOCAB)
    transformers.Wav2Vec2ForCTC(config).save_pretrained(str(folder))
    return folder


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def padded(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random waveforms ``(batch, max)`` zero-padded, with a different level and DC offset each."""
    gen = torch.Generator().manual_seed(seed)
    batch = torch.zeros(len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        batch[i, :n] = 0.3 * (i + 1) * torch.randn(n, generator=gen) + 0.1 * i
    return batch, torch.tensor(lengths)


def test_load_shapes_lengths_and_probabilities(checkpoint: Path, offline: None) -> None:
    model = Wav2Vec2CTC(SAVED_VOCAB, pretrained=str(checkpoint)).eval()
    saved = transformers.Wav2Vec2ForCTC.from_pretrained(str(checkpoint))
    for (name, a), (_, b) in zip(model.model.state_dict().items(), saved.state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # same vocabulary: every weight loaded, the head too
    waves, lengths = padded([3000, 2222, 777])
    with torch.no_grad():
        log_probs, out_lengths = model(waves, lengths)
    assert log_probs.shape == (3, expected_frames(3000), SAVED_VOCAB)
    assert out_lengths.dtype == torch.int64
    assert out_lengths.tolist() == [expected_frames(n) for n in (3000, 2222, 777)]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(log_probs.shape[:2]))
    assert model.vocab_size == SAVED_VOCAB
    assert (model.min_samples, model.subsampling, model.frame_rate_hz) == (20, 10, 1600.0)
    assert expected_frames(model.min_samples) == 1 and expected_frames(model.min_samples - 1) == 0


def test_other_vocabulary_gets_a_new_head(checkpoint: Path, offline: None) -> None:
    model = Wav2Vec2CTC(9, pretrained=str(checkpoint), dropout=0.0).eval()
    saved = transformers.Wav2Vec2ForCTC.from_pretrained(str(checkpoint))
    assert model.model.lm_head.out_features == 9
    assert model.hf_config.pad_token_id == 0 and model.hf_config.hidden_dropout == 0.0
    torch.testing.assert_close(model.model.wav2vec2.state_dict(), saved.wav2vec2.state_dict(), rtol=0, atol=0)
    log_probs, _ = model(*padded([500, 400]))
    assert log_probs.shape[-1] == 9


def test_padding_does_not_change_valid_outputs_in_eval(checkpoint: Path, offline: None) -> None:
    model = Wav2Vec2CTC(SAVED_VOCAB, pretrained=str(checkpoint)).eval()
    waves, lengths = padded([2000, 1500, 431])
    with torch.no_grad():
        batch_lp, batch_len = model(waves, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone, alone_len = model(waves[i : i + 1, :n], lengths[i : i + 1])
            assert alone_len.item() == batch_len[i].item()
            torch.testing.assert_close(alone[0], batch_lp[i, : batch_len[i]], atol=1e-5, rtol=1e-5)
        # Per-utterance normalisation: level and DC offset do not matter.
        scaled, _ = model(3.0 * waves[:1, :2000] + 0.5, lengths[:1])
    torch.testing.assert_close(scaled[0], batch_lp[0], atol=1e-4, rtol=1e-4)


def test_attention_mask_only_for_layer_norm_configs() -> None:
    seen: list[object] = []
    for norm, stable in (("layer", True), ("group", False)):
        model = Wav2Vec2CTC(4, config={**TINY, "feat_extract_norm": norm, "do_stable_layer_norm": stable}).eval()
        model.model.register_forward_pre_hook(
            lambda _m, _a, kw: seen.append(kw.get("attention_mask")), with_kwargs=True
        )
        _, out_lengths = model(*padded([600, 300]))
        assert out_lengths.tolist() == [expected_frames(600), expected_frames(300)]
    assert isinstance(seen[0], torch.Tensor) and seen[0].sum(1).tolist() == [600, 300]
    assert seen[1] is None


def tone_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tone bursts, one frequency per token (1..3), 25 ms each with gaps, and their token targets."""
    rng = np.random.default_rng(0)
    freqs = {1: 500.0, 2: 1500.0, 3: 3000.0}
    sequences = [[1, 2], [3, 1, 2], [2, 3], [3, 2, 1]]
    waves = []
    for seq in sequences:
        pieces = [np.zeros(160)]
        for token in seq:
            t = np.arange(400) / RATE
            pieces += [0.5 * np.sin(2 * math.pi * freqs[token] * t + rng.uniform(0, 6.28)), np.zeros(160)]
        waves.append(np.concatenate(pieces) + 1e-3 * rng.standard_normal(sum(len(p) for p in pieces)))
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w).float()
    targets = torch.zeros(len(sequences), 3, dtype=torch.int64)
    for i, seq in enumerate(sequences):
        targets[i, : len(seq)] = torch.tensor(seq)
    return batch, lengths, targets, torch.tensor([len(s) for s in sequences])


@pytest.fixture
def flush_denormals() -> Iterator[None]:
    """Tiny random models make denormal floats (GELU tails) that slow CPU training tenfold."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)


@pytest.mark.usefixtures("flush_denormals")
def test_fine_tuning_with_ctc_loss_lowers_the_loss(checkpoint: Path, offline: None) -> None:
    torch.manual_seed(0)
    model = Wav2Vec2CTC(4, pretrained=str(checkpoint))  # 4 ≠ 5 saved: a new head
    model.train()
    waves, lengths, targets, target_lengths = tone_batch()
    loss_fn = CTCLoss()
    optimizer = torch.optim.Adam(model.parameter_groups(lr=3e-3, layer_decay=0.9))
    losses = []
    for _ in range(30):
        log_probs, out_lengths = model(waves, lengths)
        loss = loss_fn(log_probs, out_lengths, targets, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert np.mean(losses[-3:]) < 0.2 * losses[0], losses
    assert all(p.grad is None for p in model.model.wav2vec2.feature_extractor.parameters())


def test_freezing(checkpoint: Path, offline: None) -> None:
    model = Wav2Vec2CTC(SAVED_VOCAB, pretrained=str(checkpoint))
    encoder = model.model.wav2vec2.feature_extractor
    assert not any(p.requires_grad for p in encoder.parameters())
    assert all(p.requires_grad for n, p in model.model.named_parameters() if not n.startswith("wav2vec2.feature_"))
    model.set_encoder_frozen(True)
    trainable = {n for n, p in model.model.named_parameters() if p.requires_grad}
    assert trainable == {"lm_head.weight", "lm_head.bias"}
    model.set_encoder_frozen(False)
    assert not any(p.requires_grad for p in encoder.parameters())  # stays frozen: freeze_feature_encoder
    assert all(p.requires_grad for n, p in model.model.named_parameters() if not n.startswith("wav2vec2.feature_"))

    unfrozen = Wav2Vec2CTC(SAVED_VOCAB, pretrained=str(checkpoint), freeze_feature_encoder=False)
    assert all(p.requires_grad for p in unfrozen.parameters())
    unfrozen.set_encoder_frozen(True)
    assert sum(p.requires_grad for p in unfrozen.parameters()) == 2
    unfrozen.set_encoder_frozen(False)
    assert all(p.requires_grad for p in unfrozen.parameters())


def test_parameter_groups_layer_decay() -> None:
    model = Wav2Vec2CTC(4, config=TINY)
    groups = model.parameter_groups(lr=1e-3, layer_decay=0.5)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs == pytest.approx({"head": 1e-3, "layer.1": 5e-4, "layer.0": 2.5e-4, "bottom": 1.25e-4})
    by_name = {id(p): n for n, p in model.model.named_parameters()}
    head = {by_name[id(p)] for p in groups[0]["params"]}
    assert {"lm_head.weight", "wav2vec2.encoder.layer_norm.weight"} <= head  # stable LN: final norm on top
    bottom = {by_name[id(p)] for g in groups if g["name"] == "bottom" for p in g["params"]}
    assert "wav2vec2.masked_spec_embed" in bottom and "wav2vec2.feature_projection.projection.weight" in bottom
    assert all(n.startswith("wav2vec2.encoder.layers.0.") for n in (by_name[id(p)] for p in groups[2]["params"]))
    assert {g["lr"] for g in model.parameter_groups(lr=2e-4)} == {2e-4}
    for bad in (0.0, 1.5):
        with pytest.raises(SpeechforgeError, match="layer_decay"):
            model.parameter_groups(lr=1e-3, layer_decay=bad)


def test_random_init_from_config_and_architecture_round_trip() -> None:
    torch.manual_seed(1)
    model = Wav2Vec2CTC(7, config={**TINY, "num_hidden_layers": 1}, freeze_feature_encoder=False).eval()
    assert model.hf_config.num_hidden_layers == 1 and model.hf_config.vocab_size == 7
    rebuilt = Wav2Vec2CTC(7, config=model.architecture_config()).eval()
    rebuilt.load_state_dict(model.state_dict())
    waves, lengths = padded([800, 640])
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(waves, lengths), model(waves, lengths))


def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SpeechforgeError, match="exactly one"):
        Wav2Vec2CTC(4)
    with pytest.raises(SpeechforgeError, match="exactly one"):
        Wav2Vec2CTC(4, pretrained=str(tmp_path), config=TINY)
    with pytest.raises(SpeechforgeError, match="hidden_sise, nope"):
        Wav2Vec2CTC(4, config={**TINY, "hidden_sise": 8, "nope": 1})
    with pytest.raises(SpeechforgeError, match="vocab_size"):
        Wav2Vec2CTC(4, config={**TINY, "vocab_size": 5})
    missing = tmp_path / "no-such-model"
    with pytest.raises(SpeechforgeError, match="checkpoint not found") as info:
        Wav2Vec2CTC(4, pretrained=str(missing))
    assert info.value.path == str(missing)
    with pytest.raises(SpeechforgeError, match="checkpoint not found"):
        Wav2Vec2CTC(4, pretrained="./models/w2v")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpeechforgeError, match="cannot load the wav2vec2 checkpoint"):
        Wav2Vec2CTC(4, pretrained=str(tmp_path / "empty"))
    with pytest.raises(SpeechforgeError, match="dropout"):
        Wav2Vec2CTC(4, config=TINY, dropout=1.0)


def test_too_short_input_names_the_utterance() -> None:
    model = Wav2Vec2CTC(4, config=TINY).eval()
    with pytest.raises(SpeechforgeError, match=r"utterance 1 has 19 samples, fewer than the 20"):
        model(*padded([100, 19]))
    with pytest.raises(SpeechforgeError, match="shape"):
        model(torch.zeros(2, 100), torch.tensor([100]))
    _, out_lengths = model(*padded([100, 20]))
    assert out_lengths.tolist() == [expected_frames(100), 1]
    model.train()  # SpecAugment masks spans of 10 frames: a batch needs 10 frames (110 samples) in training
    assert model.samples_for(10) == 110 and expected_frames(110) == 10
    with pytest.raises(SpeechforgeError, match=r"fewer than the 110 .* mask_time_prob"):
        model(*padded([109, 50]))
    _, out_lengths = model(*padded([110, 50]))
    assert out_lengths.tolist() == [10, expected_frames(50)]


def test_onnx_export_matches_eager(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = Wav2Vec2CTC(6, config=TINY).eval()
    path = tmp_path / "w2v2.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and the tracer's warnings
        torch.onnx.export(
            model,
            padded([1200, 900]),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["waveforms", "lengths"],
            output_names=["log_probs", "out_lengths"],
            dynamic_axes={
                "waveforms": {0: "batch", 1: "time"},
                "lengths": {0: "batch"},
                "log_probs": {0: "batch", 1: "frames"},
                "out_lengths": {0: "batch"},
            },
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    waves, lengths = padded([2345, 400, 1777], seed=3)  # other batch size and length than the trace
    onnx_lp, onnx_len = session.run(None, {"waveforms": waves.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        eager_lp, eager_len = model(waves, lengths)
    assert onnx_len.tolist() == eager_len.tolist()
    for i, n in enumerate(eager_len.tolist()):
        np.testing.assert_allclose(onnx_lp[i, :n], eager_lp[i, :n].numpy(), atol=1e-4, rtol=0)
