"""A CTC model on Hugging Face ``transformers``' Wav2Vec2 (Baevski et al., 2020), for fine-tuning on raw audio.

:class:`Wav2Vec2CTC` keeps the contract of the CTC models of :mod:`speechforge.models.ctc`, with raw
waveforms in place of feature frames::

    log_probs, out_lengths = model(waveforms, lengths)
    # waveforms: (batch, time) float, 16 kHz, right-padded with zeros
    # lengths: (batch,) int64, valid samples of each utterance
    # log_probs: (batch, frames, vocab_size), log-softmaxed, index 0 = the CTC blank
    # out_lengths: (batch,) int64, valid frames (one per 320 samples, 20 ms, for the usual conv stack)

Each utterance is normalised to zero mean and unit variance over its own valid samples inside ``forward``
(what ``Wav2Vec2FeatureExtractor(do_normalize=True)`` does), so callers pass the audio as read.

Padding: configurations with ``feat_extract_norm == "layer"`` (large / "stable layer norm" models) get an
attention mask, and in eval mode an utterance has the same valid log-probabilities alone or padded in a
batch. Configurations with ``"group"`` (wav2vec2-base) get no attention mask (Hugging Face's rule: their
GroupNorm over time was trained on zero-padded batches), so there padding *can* change an utterance's
outputs slightly: batch utterances of similar lengths.

``transformers`` is imported lazily (it is slow to import) and only when a model is built.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError
from speechforge.models.logreg import check_positive
from speechforge.models.mlp import check_dropout

SAMPLE_RATE = 16000
# Config keys the dropout argument overrides (every dropout of the encoder and before the CTC head).
DROPOUT_KEYS = ("hidden_dropout", "activation_dropout", "attention_dropout", "feat_proj_dropout", "final_dropout")
# Config keys set by Wav2Vec2CTC itself or derived by Wav2Vec2Config, left out of architecture_config().
OWN_KEYS = ("vocab_size", "pad_token_id", "ctc_loss_reduction", "num_feat_extract_layers")
HUB_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")


def _transformers() -> Any:
    """Import ``transformers`` quietly (no progress bars, errors only), at first use."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import transformers

    return transformers


def _config_keys() -> set[str]:
    """The keyword arguments ``Wav2Vec2Config`` knows (its attributes), for validating ``config``."""
    transformers = _transformers()
    return set(transformers.Wav2Vec2Config().to_dict()) | {"attn_implementation"}


def _looks_like_path(name: str) -> bool:
    """True for a local path (not a hub id such as ``facebook/wav2vec2-base``)."""
    return name.startswith((".", "/", "~")) or (os.altsep or "\\") in name or not HUB_ID.match(name)


class Wav2Vec2CTC(nn.Module):
    """``transformers.Wav2Vec2ForCTC`` behind speechforge's CTC contract (see the module docstring).

    Args:
        vocab_size: output tokens including the CTC blank (id 0, also the model's ``pad_token_id``).
        pretrained: a folder written by ``save_pretrained`` or, online, a hub id such as
            ``"facebook/wav2vec2-base"``. A head of another size (or none, for a pretraining checkpoint)
            is replaced by a new, randomly initialised one.
        config: keyword arguments of ``transformers.Wav2Vec2Config`` for a randomly initialised model of any
            size. Exactly one of ``pretrained`` and ``config`` must be given.
        freeze_feature_encoder: keep the convolutional feature encoder frozen (the usual fine-tuning recipe).
        dropout: when given, overrides every dropout of the model (``DROPOUT_KEYS``).
    """

    def __init__(
        self,
        vocab_size: int,
        pretrained: str | None = None,
        config: dict | None = None,
        freeze_feature_encoder: bool = True,
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        check_positive(vocab_size, "vocab_size")
        if (pretrained is None) == (config is None):
            raise SpeechforgeError(
                "wav2vec2_ctc needs exactly one of `pretrained` (a save_pretrained folder or a hub id) and "
                "`config` (Wav2Vec2Config options for a randomly initialised model)"
            )
        overrides: dict[str, Any] = {"vocab_size": vocab_size, "pad_token_id": 0, "ctc_loss_reduction": "mean"}
        if dropout is not None:
            check_dropout(dropout)
            overrides.update(dict.fromkeys(DROPOUT_KEYS, float(dropout)))
        self.model: Any  # transformers.Wav2Vec2ForCTC
        if pretrained is not None:
            self.model = self._load(str(pretrained), overrides)
            self.model.train()  # from_pretrained returns eval mode; Lightning keeps each module's mode
        else:
            self.model = self._build(dict(config or {}), overrides)
        self.vocab_size = vocab_size
        self.freeze_feature_encoder = bool(freeze_feature_encoder)
        if self.freeze_feature_encoder:
            self.model.freeze_feature_encoder()

    @staticmethod
    def _build(config: dict, overrides: dict[str, Any]) -> nn.Module:
        """A randomly initialised ``Wav2Vec2ForCTC`` from ``Wav2Vec2Config`` options."""
        transformers = _transformers()
        bad = sorted(set(config) - _config_keys())
        if bad:
            raise SpeechforgeError(f"unknown wav2vec2 config option(s): {', '.join(map(str, bad))}")
        given = config.get("vocab_size", overrides["vocab_size"])
        if given != overrides["vocab_size"]:
            raise SpeechforgeError(
                f"config vocab_size={given!r} disagrees with the vocabulary of {overrides['vocab_size']}"
            )
        try:
            cfg = transformers.Wav2Vec2Config(**{**config, **overrides})
            return transformers.Wav2Vec2ForCTC(cfg)
        except Exception as error:  # TypeError, ValueError, huggingface_hub's validation errors
            raise SpeechforgeError(f"invalid wav2vec2 config: {error}") from error

    @staticmethod
    def _load(pretrained: str, overrides: dict[str, Any]) -> nn.Module:
        """``Wav2Vec2ForCTC.from_pretrained`` with our overrides; a new head when the vocabulary differs."""
        if not os.path.exists(os.path.expanduser(pretrained)) and _looks_like_path(pretrained):
            raise SpeechforgeError("wav2vec2 checkpoint not found", path=pretrained)
        transformers = _transformers()
        source = os.path.expanduser(pretrained) if os.path.exists(os.path.expanduser(pretrained)) else pretrained
        try:
            cfg = transformers.Wav2Vec2Config.from_pretrained(source)
            new_head = cfg.vocab_size != overrides["vocab_size"]
            for key, value in overrides.items():
                setattr(cfg, key, value)
            return transformers.Wav2Vec2ForCTC.from_pretrained(source, config=cfg, ignore_mismatched_sizes=new_head)
        except Exception as error:  # OSError (missing / offline), ValueError, RuntimeError (bad weights), ...
            raise SpeechforgeError(
                f"cannot load the wav2vec2 checkpoint {pretrained!r} (a save_pretrained folder, or a hub id when "
                f"online): {type(error).__name__}: {error}"
            ) from error

    @property
    def hf_config(self) -> Any:
        """The underlying ``transformers.Wav2Vec2Config``."""
        return self.model.config

    def architecture_config(self) -> dict[str, Any]:
        """``config=`` options that rebuild this architecture (random weights; then ``load_state_dict``),
        so that a fine-tuned checkpoint loads offline without the original pretrained folder."""
        transformers = _transformers()
        generic = set(transformers.PretrainedConfig().to_dict())  # name, dtype, labels, output flags, ...
        keys = _config_keys() - generic - {"attn_implementation", *OWN_KEYS}
        options = self.hf_config.to_dict()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items() if k in keys and v is not None}

    @property
    def subsampling(self) -> int:
        """Input samples per output frame (the product of the conv strides; 320 for the usual stack)."""
        return math.prod(int(s) for s in self.hf_config.conv_stride)

    @property
    def frame_rate_hz(self) -> float:
        """Output frames per second of 16 kHz audio (50 for the usual stack)."""
        return SAMPLE_RATE / self.subsampling

    def samples_for(self, frames: int) -> int:
        """The shortest input (in samples) that gives ``frames`` output frames."""
        need = frames
        for kernel, stride in reversed(list(zip(self.hf_config.conv_kernel, self.hf_config.conv_stride, strict=True))):
            need = (need - 1) * int(stride) + int(kernel)
        return need

    @property
    def min_samples(self) -> int:
        """The shortest input (in samples) that gives one output frame (400 for the usual stack)."""
        return self.samples_for(1)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Valid output frames ``(batch,)`` int64 for ``(batch,)`` input lengths in samples (traceable)."""
        return self.model._get_feat_extract_output_lengths(lengths.to(torch.int64)).to(torch.int64)

    def check_inputs(self, waveforms: Tensor, lengths: Tensor) -> None:
        """Raise a :class:`SpeechforgeError` for bad shapes or an utterance shorter than :attr:`min_samples`
        (skipped while tracing or exporting)."""
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return
        if waveforms.dim() != 2:
            raise SpeechforgeError(f"expected waveforms of shape (batch, time), got {tuple(waveforms.shape)}")
        if lengths.dim() != 1 or lengths.shape[0] != waveforms.shape[0]:
            raise SpeechforgeError(f"expected lengths of shape ({waveforms.shape[0]},), got {tuple(lengths.shape)}")
        if bool((lengths > waveforms.shape[1]).any()):
            raise SpeechforgeError(f"lengths {lengths.tolist()} exceed the {waveforms.shape[1]} samples of the batch")
        short = (lengths < self.min_samples).nonzero().flatten().tolist()
        if short:
            i = short[0]
            raise SpeechforgeError(
                f"utterance {i} has {int(lengths[i])} samples, fewer than the {self.min_samples} "
                f"({1000 * self.min_samples / SAMPLE_RATE:.0f} ms at 16 kHz) that wav2vec2's convolutional "
                "feature encoder needs for one output frame"
            )
        cfg = self.hf_config
        if self.training and cfg.apply_spec_augment and cfg.mask_time_prob > 0:
            need = self.samples_for(int(cfg.mask_time_length))
            if waveforms.shape[1] < need:  # Hugging Face's SpecAugment raises a ValueError for such a batch
                raise SpeechforgeError(
                    f"the batch has {waveforms.shape[1]} samples, fewer than the {need} that wav2vec2's time "
                    f"masking (SpecAugment, mask_time_length={cfg.mask_time_length} frames) needs in training: "
                    "drop shorter utterances or set mask_time_prob: 0 in the wav2vec2 config"
                )

    def forward(self, waveforms: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(batch, time)`` 16 kHz audio, ``(batch,)`` int64 samples → log_probs ``(batch, frames, vocab)``,
        out_lengths ``(batch,)`` int64."""
        self.check_inputs(waveforms, lengths)
        lengths = lengths.to(torch.int64)
        positions = torch.ones_like(waveforms, dtype=torch.int64).cumsum(dim=1) - 1  # (batch, time)
        valid = positions < lengths[:, None]  # (batch, time) bool
        weights = valid.to(waveforms.dtype)  # (batch, time)
        count = lengths.clamp(min=1).to(waveforms.dtype)[:, None]  # (batch, 1)
        mean = (waveforms * weights).sum(dim=1, keepdim=True) / count  # (batch, 1)
        var = (((waveforms - mean) * weights) ** 2).sum(dim=1, keepdim=True) / count  # (batch, 1)
        x = (waveforms - mean) / torch.sqrt(var + 1e-7) * weights  # (batch, time), padding = 0
        mask = valid.to(torch.int64) if self.hf_config.feat_extract_norm == "layer" else None
        logits = self.model(x, attention_mask=mask).logits  # (batch, frames, vocab)
        return F.log_softmax(logits.float(), dim=-1), self.output_lengths(lengths)

    def set_encoder_frozen(self, frozen: bool) -> None:
        """Freeze (``True``) or unfreeze everything but the CTC head ``lm_head`` ("train the head first").

        Unfreezing leaves the feature encoder frozen when the model was built with ``freeze_feature_encoder``."""
        for name, param in self.model.named_parameters():
            if not name.startswith("lm_head."):
                param.requires_grad = not frozen
        encoder = self.model.wav2vec2.feature_extractor
        if frozen or self.freeze_feature_encoder:
            encoder._freeze_parameters()
        else:
            encoder._requires_grad = True

    def _group_of(self, name: str, n_layers: int) -> int:
        """Depth below the top of a parameter: 0 = head, 1 + (L-1-k) = transformer layer k, L + 1 = bottom."""
        match = re.match(r"wav2vec2\.encoder\.layers\.(\d+)\.", name)
        if match:
            return n_layers - int(match.group(1))
        if name.startswith(("lm_head.", "wav2vec2.adapter.")):
            return 0
        if name.startswith("wav2vec2.encoder.layer_norm.") and self.hf_config.do_stable_layer_norm:
            return 0  # pre-LN models apply this LayerNorm after the last layer
        return n_layers + 1  # feature encoder, feature projection, positional conv, masked_spec_embed

    def parameter_groups(self, lr: float, layer_decay: float = 1.0) -> list[dict]:
        """Optimizer parameter groups with layer-wise learning-rate decay.

        The head (and what follows the last layer) gets ``lr``, transformer layer k (0-based) of L gets
        ``lr * layer_decay ** (L - k)``, the rest below (feature encoder, projection, positional conv) gets
        ``lr * layer_decay ** (L + 1)``. Every parameter is in exactly one group, frozen ones too, so that
        unfreezing later trains them (the optimizer skips parameters without gradients). Each group has a
        ``"name"`` (``"head"``, ``"layer.<k>"``, ``"bottom"``)."""
        if not 0.0 < float(layer_decay) <= 1.0:
            raise SpeechforgeError(f"layer_decay must be in (0, 1], got {layer_decay!r}")
        if not float(lr) > 0.0:
            raise SpeechforgeError(f"lr must be > 0, got {lr!r}")
        n_layers = int(self.hf_config.num_hidden_layers)
        groups: dict[int, list[nn.Parameter]] = {}
        for name, param in self.model.named_parameters():
            groups.setdefault(self._group_of(name, n_layers), []).append(param)
        names = {0: "head", n_layers + 1: "bottom"}
        return [
            {
                "params": groups[depth],
                "lr": float(lr) * float(layer_decay) ** depth,
                "name": names.get(depth, f"layer.{n_layers - depth}"),
            }
            for depth in sorted(groups)
        ]


__all__ = ["Wav2Vec2CTC"]
