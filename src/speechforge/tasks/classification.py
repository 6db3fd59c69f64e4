"""Utterance classification (commands, keywords, digits, language ID, speaker ID).

The task owns the whole path from waveform to class scores — features, normalization, SpecAugment, model —
and says how to score it: ``compute_forward`` (logits), ``compute_objectives`` (loss), ``count_errors`` and
``probabilities``. The trainer decides how to run it (batches, devices, checkpoints).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from speechforge.audio.augment import SpecAugment
from speechforge.data.dataset import Batch
from speechforge.errors import SpeechforgeError
from speechforge.features import build_featurizer
from speechforge.features.normalize import build_normalizer
from speechforge.losses import build_loss, inverse_frequency_weights
from speechforge.models import build_model
from speechforge.models.init import init_weights
from speechforge.tasks.base import Stage
from speechforge.training.recipe import Recipe


def featurizer_kwargs(recipe: Recipe) -> dict[str, object]:
    f = recipe.features
    kwargs: dict[str, object] = {
        "sample_rate": f.sample_rate,
        "n_mels": f.n_mels,
        "win_ms": f.win_ms,
        "hop_ms": f.hop_ms,
    }
    if f.kind == "mfcc":
        kwargs["n_mfcc"] = f.n_mfcc
    return kwargs


def model_kwargs(recipe: Recipe) -> dict[str, object]:
    """The model family's constructor arguments: its recipe section minus bookkeeping keys, plus dropout."""
    kwargs = recipe.model.model_dump(exclude={"name", "init", "dropout"})
    if recipe.model.name != "logreg":
        kwargs["dropout"] = recipe.dropout
    return kwargs


def resolve_loss_name(recipe: Recipe, n_classes: int) -> str:
    name = recipe.loss.name
    if name == "auto":
        return "bce" if n_classes == 2 else "ce"
    if name == "bce" and n_classes != 2:
        raise SpeechforgeError(f"loss.name: bce is for two classes, the training set has {n_classes}; use ce or focal")
    return name


def class_weights(recipe: Recipe, labels: Sequence[str], counts: Sequence[int]) -> torch.Tensor | None:
    weights = recipe.loss.class_weights
    if weights is None:
        return None
    if weights == "auto":
        return inverse_frequency_weights(counts)
    if isinstance(weights, dict):
        unknown = sorted(set(weights) - set(labels))
        if unknown:
            raise SpeechforgeError(f"loss.class_weights: unknown labels {unknown} (labels: {list(labels)})")
        return torch.tensor([float(weights.get(label, 1.0)) for label in labels])
    if len(weights) != len(labels):
        raise SpeechforgeError(f"loss.class_weights: {len(weights)} weights for {len(labels)} labels {list(labels)}")
    return torch.tensor(weights, dtype=torch.float32)


class ClassificationTask(nn.Module):
    """Waveform → features → normalization → (SpecAugment while training) → model → logits.

    Args:
        recipe: the validated recipe.
        labels: class names; index = class id.
        counts: training examples per class (for ``loss.class_weights: auto``).
    """

    def __init__(self, recipe: Recipe, labels: Sequence[str], counts: Sequence[int]) -> None:
        super().__init__()
        self.labels = list(labels)
        n_classes = len(self.labels)
        self.loss_name = resolve_loss_name(recipe, n_classes)
        # A binary model has one output: ŷ = σ(wᵀx + b), the lecture's logistic regression.
        self.binary = self.loss_name == "bce" or (self.loss_name == "focal" and n_classes == 2)
        n_outputs = 1 if self.binary else n_classes
        self.featurizer = build_featurizer(recipe.features.kind, **featurizer_kwargs(recipe))
        feature_dim: int = self.featurizer.feature_dim  # type: ignore[assignment]
        self.normalizer = build_normalizer(recipe.features.normalization, feature_dim)
        s = recipe.augment.specaugment
        self.specaugment = (
            SpecAugment(
                freq_masks=s.freq_masks,
                freq_width=s.freq_width,
                time_masks=s.time_masks,
                time_width=s.time_width,
            )
            if s.freq_masks or s.time_masks
            else None
        )
        self.model = build_model(recipe.model.name, feature_dim, n_outputs, **model_kwargs(recipe))
        init_weights(self.model, recipe.model.init)
        weights = class_weights(recipe, self.labels, counts)
        loss_kwargs: dict[str, object] = {}
        if self.loss_name == "ce":
            loss_kwargs = {"class_weights": weights, "label_smoothing": recipe.loss.label_smoothing}
        elif self.loss_name == "focal":
            loss_kwargs = {"gamma": recipe.loss.gamma, "alpha": recipe.loss.alpha}
        elif self.loss_name == "bce" and weights is not None:
            loss_kwargs = {"pos_weight": weights[1] / weights[0]}
        self.loss = build_loss(self.loss_name, n_outputs, **loss_kwargs)

    def features(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw features, before normalization: (batch, frames, dim) and (batch,) frame counts."""
        return self.featurizer(waveforms, lengths)

    def compute_forward(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """Logits (batch, n_outputs)."""
        feats, frame_lengths = self.features(batch.waveforms, batch.lengths)  # (batch, frames, dim)
        feats = self.normalizer(feats, frame_lengths)
        if stage is Stage.TRAIN and self.specaugment is not None:
            feats = self.specaugment(feats, frame_lengths)
        return self.model(feats, frame_lengths)

    def compute_objectives(self, logits: torch.Tensor, batch: Batch, stage: Stage) -> torch.Tensor:
        """Mean loss over the batch."""
        return self.loss(logits, batch.targets)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities (batch, n_classes): sigmoid for the binary model, softmax otherwise."""
        if self.binary:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1.0 - p, p], dim=1)
        return torch.softmax(logits, dim=1)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Predicted class ids (batch,)."""
        if self.binary:
            return (logits[:, 0] > 0).long()
        return logits.argmax(dim=1)

    def count_errors(self, logits: torch.Tensor, batch: Batch) -> tuple[int, int]:
        """(misclassified utterances, utterances): their ratio is the error rate."""
        return int((self.predict(logits.detach()) != batch.targets).sum()), len(batch)

    def on_train_epoch_start(self, epoch: int) -> None:
        """Nothing changes between epochs for a classifier."""

    def parameter_groups(self, lr: float) -> list[dict[str, object]] | None:
        """One learning rate for every parameter."""
        return None
