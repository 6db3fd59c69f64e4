"""The deployable models: waveform in, class probabilities (classifier) or per-frame token log-probabilities
(CTC recognizer) out, with features and train-set normalization inside."""

from __future__ import annotations

import torch
from torch import nn

from speechforge.tasks.asr import ASRTask
from speechforge.tasks.base import Stage
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


class WaveformRecognizer(nn.Module):
    """``forward(waveform (batch, time), lengths (batch,) samples)`` → ``log_probs (batch, frames', vocab)``,
    ``out_lengths (batch,)``: the CTC model with its features; decode with the run's tokenizer (blank id 0)."""

    def __init__(self, task: ASRTask) -> None:
        super().__init__()
        self.task = task

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from speechforge.data.dataset import Batch

        batch = Batch(waveform, lengths, torch.zeros_like(lengths), torch.zeros_like(lengths))
        return self.task.compute_forward(batch, Stage.TEST)
