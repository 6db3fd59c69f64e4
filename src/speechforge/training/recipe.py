"""The recipe: everything a training run needs, as data validated by a schema.

A recipe is a YAML file; every key has a documented default, so a recipe only says what differs. Keys are
overridden on the command line with dotted paths (``optimizer.lr=0.01 model.channels=[64,128,256]``).
A wrong key or value is reported with its dotted path and the allowed keys or values. Recipes never contain
code: what the keys mean lives here and in the modules the trainer builds from them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from speechforge.errors import SpeechforgeError
from speechforge.training.model_sections import (
    CLASSIFIER_MODELS,
    CTC_MODELS,
    MODEL_CONFIGS,
    CNNConfig,
    ModelConfig,
    Section,
)


class DataConfig(Section):
    """Manifest paths (relative to the working directory). ``train`` and ``dev`` are enough to train."""

    train: Path | None = None  # the training manifest; its labels define the label set
    dev: Path | None = None  # monitored for early stopping and model selection
    test: Path | None = None  # evaluated once at the end, never used for decisions
    train_dev: Path | None = None  # held-out slice of train (`data split --train-dev`): variance vs mismatch
    label_field: str = "label"  # manifest field holding the class label (task: classification)
    labels: list[str] | None = None  # keep only these labels (e.g. [yes, no] of the commands corpus)
    text_field: str = "text"  # manifest field holding the transcript (task: asr)
    # Length-bucketed batches: utterances of similar duration are batched together and a batch holds at most
    # this many seconds of (padded) audio, so little compute is spent on padding. None: batches of
    # optimizer.batch_size utterances in random order.
    max_batch_seconds: float | None = Field(None, gt=0)


class TextConfig(Section):
    """Transcripts (task: asr): how they are normalized and split into CTC tokens.

    The same normalization is applied to the training targets, to the references and to the hypotheses
    before scoring (``speechforge.text.TextNormalizer``)."""

    tokenizer: Literal["char", "bpe", "unigram"] = "char"  # characters, or sentencepiece pieces
    vocab_size: int = Field(64, ge=4)  # bpe / unigram only: pieces including <blank> and <unk>
    lowercase: bool = True
    strip_punctuation: bool = True  # apostrophes inside words deleted, other punctuation → space
    digits_to_words: Literal["en", "en-digits"] | None = None  # "12" → "twelve" (en) / "one two" (en-digits)
    nfc: bool = True  # Unicode NFC composition


class FeaturesConfig(Section):
    """Acoustic features computed in torch from the waveform (part of the exported model)."""

    kind: Literal["fbank", "mfcc"] = "fbank"  # log-mel filterbank or its DCT (MFCC)
    sample_rate: int = Field(16000, gt=0)  # every input is resampled (soxr) to this rate
    n_mels: int = Field(40, ge=4)  # mel bands
    n_mfcc: int = Field(13, ge=1)  # cepstra kept (mfcc only)
    win_ms: float = Field(25.0, gt=0)  # analysis window
    hop_ms: float = Field(10.0, gt=0)  # frame shift
    # global: μ/σ of the train set (the lecture's X_norm = (X − μ_train)/σ_train), stored with the model and
    # applied unchanged to dev, test and prediction; utterance: per-utterance mean/variance; none.
    normalization: Literal["global", "utterance", "none"] = "global"


class LossConfig(Section):
    """auto: bce for two classes, ce otherwise. ce is softmax + negative log-likelihood."""

    name: Literal["auto", "bce", "ce", "focal", "ctc"] = "auto"  # auto: ctc for task: asr
    # None, "auto" (inverse class frequency of train), {label: weight} or [weight per label (sorted labels)].
    class_weights: Literal["auto"] | dict[str, float] | list[float] | None = None
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # ce only
    gamma: float = Field(2.0, ge=0)  # focal: (1 − p_t)^γ down-weights well-classified examples
    alpha: float | list[float] | None = None  # focal: class balance factor α_t
    zero_infinity: bool = True  # ctc: an impossible alignment gives loss 0 instead of inf (numerical safety)


class OptimizerConfig(Section):
    """Gradient descent and its variants. ``batch_size`` picks the lecture's flavour of gradient descent:
    1 = stochastic, M = mini-batch, "full" = batch gradient descent (one update per epoch)."""

    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)  # learning rate α
    batch_size: int | Literal["full"] = 32
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd and rmsprop
    nesterov: bool = False  # sgd with momentum > 0
    betas: tuple[float, float] = (0.9, 0.999)  # adam, adamw
    alpha: float = Field(0.99, gt=0, lt=1)  # rmsprop smoothing constant
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.0, ge=0)  # L2 as weight decay (decoupled for adamw)

    @field_validator("batch_size")
    @classmethod
    def _positive_batch(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be ≥ 1 (1 = stochastic, M = mini-batch) or 'full' (batch gradient descent)")
        return value

    @model_validator(mode="after")
    def _check(self) -> OptimizerConfig:
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            raise ValueError("nesterov needs name: sgd and momentum > 0")
        return self


class ScheduleConfig(Section):
    """Learning-rate schedule, stepped once per epoch, after an optional linear warm-up."""

    name: Literal["none", "step", "cosine", "plateau"] = "none"
    warmup_epochs: int = Field(0, ge=0)  # linear warm-up from lr/10 to lr
    step_size: int = Field(10, ge=1)  # step: multiply lr by gamma every step_size epochs
    gamma: float = Field(0.1, gt=0, le=1)
    factor: float = Field(0.5, gt=0, lt=1)  # plateau: multiply lr by factor when dev stops improving
    patience: int = Field(2, ge=0)  # plateau: epochs without improvement before reducing
    min_lr: float = Field(0.0, ge=0)  # cosine and plateau floor


class EarlyStoppingConfig(Section):
    """Stop when the monitored dev metric stops improving; the best checkpoint is restored."""

    enabled: bool = True
    # dev_error is the dev error rate: 1 − accuracy for classification, the WER for asr (dev_wer names it)
    monitor: Literal["dev_error", "dev_loss", "dev_wer"] = "dev_error"
    patience: int = Field(8, ge=1)  # epochs without an improvement larger than min_delta
    min_delta: float = Field(0.0, ge=0)


class RegularizationConfig(Section):
    dropout: float = Field(0.1, ge=0, lt=1)  # probability of dropping a unit (models with dropout layers)
    l2: float = Field(0.0, ge=0)  # the lecture's explicit penalty λ/(2m)·Σ‖w‖² added to the loss
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)


class NoiseConfig(Section):
    prob: float = Field(0.0, ge=0, le=1)  # probability that a training utterance gets noise
    snr: tuple[float, float] = (10.0, 30.0)  # SNR range in dB, drawn uniformly
    folder: Path | None = None  # folder of noise recordings; white noise when unset


class SpeedConfig(Section):
    factors: list[float] = Field(default_factory=lambda: [1.0])  # e.g. [0.9, 1.0, 1.1], one drawn per utterance


class SpecAugmentConfig(Section):
    freq_masks: int = Field(0, ge=0)  # number of frequency masks per utterance
    freq_width: int = Field(8, ge=0)  # maximum width of a frequency mask (bins)
    time_masks: int = Field(0, ge=0)
    time_width: float = Field(0.05, ge=0)  # maximum time-mask width: fraction of frames (< 1) or frames


class SynthesizedConfig(Section):
    """Mix synthesized speech (e.g. `speechforge data synth`) into the training set: the lecture's remedy for
    too little or mismatched data."""

    manifest: Path | None = None
    fraction: float = Field(1.0, gt=0)  # utterances added, as a fraction of that manifest (≤ 1) to draw


class AugmentConfig(Section):
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    speed: SpeedConfig = Field(default_factory=SpeedConfig)
    specaugment: SpecAugmentConfig = Field(default_factory=SpecAugmentConfig)
    synthesized: SynthesizedConfig = Field(default_factory=SynthesizedConfig)


class TrainingConfig(Section):
    max_epochs: int = Field(30, ge=1)
    # At least this many optimizer updates: a small training set gets more epochs than max_epochs (it is raised
    # to fit them, and the schedule follows), and early stopping cannot end training before them.
    min_updates: int = Field(0, ge=0)
    seed: int = 0  # all randomness flows from here: same seed, same metrics on CPU
    gradient_clip: float | None = Field(None, gt=0)  # clip the gradient norm
    precision: Literal["32", "bf16"] = "32"  # bf16 autocast on CUDA (falls back to 32 on CPU, with a note)
    workers: int = Field(0, ge=0)  # data-loader worker processes
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present
    resume: bool = False  # continue from last.ckpt in the run folder


class Recipe(Section):
    task: Literal["classification", "asr"] = "classification"  # asr: CTC speech recognition
    baseline_error: float | None = Field(None, ge=0, le=1)  # human-level / best-known error (diagnosis)
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=CNNConfig)
    text: TextConfig = Field(default_factory=TextConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)

    @model_validator(mode="after")
    def _task_matches_model(self) -> Recipe:
        name = self.model.name
        if self.task == "asr" and name not in CTC_MODELS:
            raise ValueError(f"task: asr needs a CTC model (model.name: {' | '.join(CTC_MODELS)}), got {name!r}")
        if self.task == "classification" and name not in CLASSIFIER_MODELS:
            classifiers = " | ".join(CLASSIFIER_MODELS)
            raise ValueError(f"model.name: {name} is a CTC model: set task: asr (or a classifier: {classifiers})")
        if self.task == "asr" and self.loss.name not in ("auto", "ctc"):
            raise ValueError(f"task: asr trains with loss.name: ctc, got {self.loss.name!r}")
        if self.task == "classification" and self.loss.name == "ctc":
            raise ValueError("loss.name: ctc is for task: asr")
        if self.task == "classification" and self.regularization.early_stopping.monitor == "dev_wer":
            raise ValueError("regularization.early_stopping.monitor: dev_wer is for task: asr (use dev_error)")
        return self

    @property
    def dropout(self) -> float:
        """The dropout the model uses: its own ``model.dropout`` if set, else ``regularization.dropout``."""
        return self.model.dropout if self.model.dropout is not None else self.regularization.dropout

    def with_absolute_paths(self) -> Recipe:
        """The same recipe with every file path made absolute, so that a run folder's ``recipe.yaml`` finds its
        manifests (and noise, synthesized speech) from any working directory."""

        def absolute(path: Path | None) -> Path | None:
            return None if path is None else path.expanduser().resolve()

        data = self.data.model_copy(
            update={k: absolute(getattr(self.data, k)) for k in ("train", "dev", "test", "train_dev")}
        )
        augment = self.augment.model_copy(
            update={
                "noise": self.augment.noise.model_copy(update={"folder": absolute(self.augment.noise.folder)}),
                "synthesized": self.augment.synthesized.model_copy(
                    update={"manifest": absolute(self.augment.synthesized.manifest)}
                ),
            }
        )
        return self.model_copy(update={"data": data, "augment": augment})

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


# ------------------------------------------------------------------------------------- loading, overrides
def _section_class(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The schema class that owns the key at ``loc`` (a pydantic error location)."""
    cls: type[BaseModel] = Recipe
    models: dict[str, type[BaseModel]] = dict(MODEL_CONFIGS)
    for part in loc[:-1]:
        if cls is Recipe and part == "model":
            continue
        if isinstance(part, str) and part in models and cls is Recipe:
            cls = models[part]
            continue
        field = cls.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None) if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            cls = annotation
        else:
            return None
    return cls


def describe_errors(exc: ValidationError) -> str:
    """Turn pydantic's errors into ``path: problem (allowed: …)`` messages, one per problem."""
    messages = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in MODEL_CONFIGS)]
        path = ".".join(str(p) for p in loc) or "recipe"
        if err["type"] == "extra_forbidden":
            owner = _section_class(err["loc"])
            allowed = sorted(owner.model_fields) if owner else []
            key = str(err["loc"][-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            messages.append(f"{path}: unknown key (allowed: {', '.join(allowed)}){hint}")
        elif err["type"] == "union_tag_invalid":
            tag = (err.get("ctx") or {}).get("tag")
            messages.append(f"{path}.name: unknown model {tag!r} (allowed: {', '.join(sorted(MODEL_CONFIGS))})")
        elif err["type"] == "value_error":
            messages.append(f"{path}: {err['msg'].removeprefix('Value error, ')}")
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            messages.append(f"{path}: {err['msg']}{shown}")
    return "; ".join(messages)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``optimizer.lr=0.01`` → (["optimizer", "lr"], 0.01). Values are parsed as YAML (lists, numbers)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SpeechforgeError(f"override {text!r} is not of the form dotted.key=value")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set dotted keys in the raw recipe mapping (before validation, so errors name the dotted path).

    ``model.name=mlp`` on a recipe whose model is a CNN switches family: the recipe's CNN keys (channels, ...)
    are dropped and the MLP starts from its defaults plus the other ``model.*`` overrides.
    """
    parsed = [parse_override(text) for text in overrides]
    new_family = next((value for keys, value in parsed if keys == ["model", "name"]), None)
    model = raw.get("model")
    if new_family is not None and isinstance(model, dict) and model.get("name", new_family) != new_family:
        raw["model"] = {}
    for text, (keys, value) in zip(overrides, parsed, strict=True):
        node = raw
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                prefix = ".".join(keys[: depth + 1])
                raise SpeechforgeError(f"override {text!r}: {prefix} is a value, not a section")
            node = child
        node[keys[-1]] = value
    return raw


def read_yaml_file(path: Path, what: str) -> Any:
    """Parse a YAML file; a missing file or a syntax error is a one-line error naming the file and line."""
    if not path.is_file():
        raise SpeechforgeError(f"{what} not found", path=path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise SpeechforgeError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=line) from exc


def load_recipe(path: str | Path | None, overrides: Sequence[str] = ()) -> Recipe:
    """Read a YAML recipe (or start from the defaults when ``path`` is None), apply dotted overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        loaded = read_yaml_file(path, "recipe")
        if loaded is not None and not isinstance(loaded, dict):
            raise SpeechforgeError("a recipe must be a mapping of sections (data, model, ...)", path=path)
        raw = loaded or {}
    raw = apply_overrides(raw, overrides)
    if isinstance(raw.get("model"), dict):
        raw["model"].setdefault("name", CNNConfig().name)  # the default model family
    if raw.get("task") == "asr" and "model" not in raw:
        raw["model"] = {"name": "conformer_ctc"}  # the default CTC model
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        raise SpeechforgeError(describe_errors(exc), path=path) from exc
