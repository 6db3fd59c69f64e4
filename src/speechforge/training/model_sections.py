"""The ``model:`` section of a recipe, one schema per model family (``model.name`` picks it).

Classifiers (``task: classification``) map an utterance to class scores; CTC models (``task: asr``) map it to
per-frame token log-probabilities. Every key is documented where it is defined; unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

InitName = Literal[
    "default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "zeros"
]
Activation = Literal["relu", "tanh", "sigmoid", "gelu", "leaky_relu"]


class Section(BaseModel):
    """A recipe section: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _ModelBase(Section):
    init: InitName = "default"  # weight initialisation scheme (models/init.py)
    dropout: float | None = Field(None, ge=0, lt=1)  # overrides regularization.dropout for this model


# ------------------------------------------------------------------------------------------- classifiers
class LogRegConfig(_ModelBase):
    """The lecture's logistic regression on utterance-pooled features: sigmoid for 2 classes, softmax else."""

    name: Literal["logreg"] = "logreg"
    pooling: Literal["mean", "meanstd"] = "meanstd"  # statistics pooled over frames


class MLPConfig(_ModelBase):
    """Fully connected layers on pooled features: Linear → BatchNorm → activation → Dropout."""

    name: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [256, 256])  # units per hidden layer
    activation: Activation = "relu"
    batch_norm: bool = True
    pooling: Literal["mean", "meanstd"] = "meanstd"


class CNNConfig(_ModelBase):
    """2-D convolution blocks over (time, frequency) with batch norm and dropout, then global pooling."""

    name: Literal["cnn"] = "cnn"
    channels: list[int] = Field(default_factory=lambda: [32, 64, 128])  # one conv block per entry
    kernel_size: int = Field(3, ge=1)
    activation: Activation = "relu"
    batch_norm: bool = True


class CRNNConfig(_ModelBase):
    """Convolutional front end followed by a recurrent (GRU) layer over time: the sequence model."""

    name: Literal["crnn"] = "crnn"
    channels: list[int] = Field(default_factory=lambda: [32, 64])
    rnn_hidden: int = Field(128, ge=1)
    rnn_layers: int = Field(1, ge=1)
    bidirectional: bool = True
    batch_norm: bool = True


# ------------------------------------------------------------------------------------------- CTC models
class ConformerCTCConfig(_ModelBase):
    """A small Conformer over log-mel features with ×4 (or ×2) convolutional subsampling, CTC output."""

    name: Literal["conformer_ctc"] = "conformer_ctc"
    d_model: int = Field(144, ge=8)  # encoder width
    n_layers: int = Field(4, ge=1)  # Conformer blocks
    n_heads: int = Field(4, ge=1)  # attention heads (divide d_model)
    ff_mult: int = Field(4, ge=1)  # feed-forward width in multiples of d_model
    conv_kernel: int = Field(15, ge=1)  # depthwise convolution kernel (odd)
    subsampling: Literal[2, 4] = 4  # time subsampling of the front end (10 ms frames → 40 ms outputs at 4)
    subsampling_channels: int | None = Field(None, ge=1)  # filters of the subsampling convolutions (d_model)


class LSTMCTCConfig(_ModelBase):
    """Convolutional subsampling, then a (bi)LSTM over time, CTC output."""

    name: Literal["lstm_ctc"] = "lstm_ctc"
    hidden: int = Field(256, ge=1)  # LSTM units per direction
    layers: int = Field(3, ge=1)
    bidirectional: bool = True
    subsampling: Literal[2, 4] = 4
    subsampling_channels: int = Field(32, ge=1)


class Wav2Vec2CTCConfig(_ModelBase):
    """wav2vec 2.0 (Hugging Face ``transformers``) on the raw 16 kHz waveform, with a new CTC head.

    Exactly one of ``pretrained`` (a local ``save_pretrained`` folder, or a hub id when online: XLSR-53 and
    the Indic checkpoints load the same way) and ``config`` (``Wav2Vec2Config`` keys, random initialisation of
    any size) is set."""

    name: Literal["wav2vec2_ctc"] = "wav2vec2_ctc"
    pretrained: str | None = None  # folder or hub id
    config: dict[str, Any] | None = None  # e.g. {hidden_size: 256, num_hidden_layers: 4, ...}
    freeze_feature_encoder: bool = True  # keep the convolutional feature encoder fixed (the usual fine-tuning)
    freeze_encoder_epochs: int = Field(0, ge=0)  # train only the CTC head for this many first epochs
    layer_decay: float = Field(1.0, gt=0, le=1)  # layer-wise lr: transformer layer k of L gets lr·decay^(L−k)

    @model_validator(mode="after")
    def _one_source(self) -> Wav2Vec2CTCConfig:
        if (self.pretrained is None) == (self.config is None):
            raise ValueError("set exactly one of model.pretrained (folder or hub id) and model.config (random init)")
        if self.pretrained is not None and Path(self.pretrained).expanduser().exists():
            self.__dict__["pretrained"] = str(Path(self.pretrained).expanduser().resolve())
        return self


MODEL_CONFIGS: dict[str, type[_ModelBase]] = {
    "logreg": LogRegConfig,
    "mlp": MLPConfig,
    "cnn": CNNConfig,
    "crnn": CRNNConfig,
    "conformer_ctc": ConformerCTCConfig,
    "lstm_ctc": LSTMCTCConfig,
    "wav2vec2_ctc": Wav2Vec2CTCConfig,
}
CLASSIFIER_MODELS = ("logreg", "mlp", "cnn", "crnn")
CTC_MODELS = ("conformer_ctc", "lstm_ctc", "wav2vec2_ctc")

ModelConfig = Annotated[
    LogRegConfig | MLPConfig | CNNConfig | CRNNConfig | ConformerCTCConfig | LSTMCTCConfig | Wav2Vec2CTCConfig,
    Field(discriminator="name"),
]

__all__ = ["CLASSIFIER_MODELS", "CTC_MODELS", "MODEL_CONFIGS", "ModelConfig", "Section"]
