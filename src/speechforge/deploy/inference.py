"""The deployable model: waveform in, class probabilities out, with features and normalization inside."""

from __future__ import annotations

import torch
from torch import nn

from speechforge.tasks.classification import ClassificationTask


class WaveformClassifier(nn.Module):
    """``forward(waveform (batch, time) at the run's sample rate, lengths (batch,) samples)`` →
    ``probabilities (batch, n_classes)``. The train-set normalization statistics travel inside."""

    def __init__(self, task: ClassificationTask) -> None:
        super().__init__()
        self.featurizer = task.featurizer
        self.normalizer = task.normalizer
        self.model = task.model
        self.binary = task.binary

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        feats, frame_lengths = self.featurizer(waveform, lengths)  # (batch, frames, dim)
        feats = self.normalizer(feats, frame_lengths)
        logits = self.model(feats, frame_lengths)  # (batch, n_outputs)
        if self.binary:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1.0 - p, p], dim=1)
        return torch.softmax(logits, dim=1)
