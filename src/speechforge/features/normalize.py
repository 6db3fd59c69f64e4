"""Feature normalization: the lecture's ``x_norm = (x - μ_train) / σ_train``.

- :class:`GlobalNormalizer`: per-dimension mean and standard deviation over every valid frame of the
  TRAINING set (``fit``), stored as buffers so they travel with the model's ``state_dict`` and are applied
  unchanged to dev, test and production audio.
- :class:`UtteranceNormalizer`: mean (and variance) of each utterance over its own valid frames (CMVN); needs
  no fitting, removes channel differences, but also per-utterance loudness information.
- :class:`IdentityNormalizer`: no normalization.

All take ``(features (batch, frames, dim), frame_lengths (batch,))`` and return ``(batch, frames, dim)``
with padding frames (``t >= frame_lengths``) set to 0, the mean of a normalized feature.
"""

from collections.abc import Iterable

import torch
from torch import nn

from speechforge.errors import SpeechforgeError

# Smallest standard deviation divided by: a (near-)constant feature such as an empty mel channel maps to
# ~0 instead of blowing up. Log-mel features have standard deviations of order 1, far above it.
STD_FLOOR = 1e-5


def valid_mask(frame_lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(batch, frames)`` bool mask, True for ``t < frame_lengths[b]``."""
    t = torch.arange(frames, device=frame_lengths.device)[None, :]  # (1, frames)
    return t < frame_lengths[:, None]  # (batch, frames)


def _check_features(features: torch.Tensor, frame_lengths: torch.Tensor, dim: int | None) -> None:
    if features.dim() != 3:
        raise SpeechforgeError(f"expected features of shape (batch, frames, dim), got {list(features.shape)}")
    if frame_lengths.dim() != 1 or frame_lengths.size(0) != features.size(0):
        raise SpeechforgeError(f"frame_lengths must have shape ({features.size(0)},), got {list(frame_lengths.shape)}")
    if dim is not None and features.size(2) != dim:
        raise SpeechforgeError(
            f"the normalizer was built for feature_dim={dim} but got features of dim {features.size(2)}"
        )


class GlobalNormalizer(nn.Module):
    """Per-dimension ``(x - mean) / std`` with statistics of the training set.

    Args:
        feature_dim: size of the last feature axis.

    Buffers (saved in the ``state_dict``): ``mean`` and ``std`` ``(feature_dim,)`` float32, and
    ``num_frames`` (frames the statistics were computed on; 0 until :meth:`fit`).
    """

    mean: torch.Tensor  # (dim,)
    std: torch.Tensor  # (dim,)
    num_frames: torch.Tensor  # () int64

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        if feature_dim <= 0:
            raise SpeechforgeError(f"feature_dim must be positive, got {feature_dim}")
        self.feature_dim = feature_dim
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("std", torch.ones(feature_dim))
        self.register_buffer("num_frames", torch.zeros((), dtype=torch.int64))

    @property
    def fitted(self) -> bool:
        return bool(self.num_frames.item() > 0)

    @torch.no_grad()
    def fit(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> "GlobalNormalizer":
        """Compute mean and (population) std over all valid frames of ``batches``.

        ``batches`` yields ``(features (batch, frames, dim), frame_lengths (batch,))`` — one pass over the
        TRAINING set, never dev or test. Statistics are accumulated in float64 and merged batch by batch
        (Chan et al.'s parallel variance), so any number of frames fits in constant memory. Refits from
        scratch when called again. Returns ``self``.
        """
        count = 0
        mean = torch.zeros(self.feature_dim, dtype=torch.float64)  # (dim,)
        m2 = torch.zeros(self.feature_dim, dtype=torch.float64)  # (dim,) sum of squared deviations
        for features, frame_lengths in batches:
            _check_features(features, frame_lengths, self.feature_dim)
            mask = valid_mask(frame_lengths.cpu(), features.size(1))  # (batch, frames)
            x = features.detach().cpu().to(torch.float64)[mask]  # (valid_frames, dim)
            n = x.size(0)
            if n == 0:
                continue
            batch_mean = x.mean(dim=0)  # (dim,)
            batch_m2 = (x - batch_mean).square().sum(dim=0)  # (dim,)
            total = count + n
            delta = batch_mean - mean  # (dim,)
            mean = mean + delta * (n / total)
            m2 = m2 + batch_m2 + delta.square() * (count * n / total)
            count = total
        if count == 0:
            raise SpeechforgeError("cannot fit the normalizer: the training batches contain no valid frame")
        if not bool(torch.isfinite(m2).all()):
            raise SpeechforgeError("cannot fit the normalizer: the training features contain NaN or inf")
        std = torch.clamp(torch.sqrt(m2 / count), min=STD_FLOOR)  # (dim,)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.std.copy_(std.to(self.std.dtype))
        self.num_frames.fill_(count)
        return self

    def forward(self, features: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, dim)`` -> ``(batch, frames, dim)`` normalized, padding frames zeroed."""
        if not torch.jit.is_tracing() and bool(self.num_frames == 0):
            raise SpeechforgeError(
                "the global normalizer has no statistics yet: fit it on the training set first "
                "(GlobalNormalizer.fit) or load a state_dict that contains them"
            )
        mask = valid_mask(frame_lengths, features.size(1))[:, :, None]  # (batch, frames, 1)
        normalized = (features - self.mean) / self.std  # (batch, frames, dim)
        return normalized * mask.to(normalized.dtype)


class UtteranceNormalizer(nn.Module):
    """Per-utterance mean (and variance) normalization over each utterance's valid frames.

    Args:
        feature_dim: size of the last feature axis.
        variance: divide by the utterance's standard deviation too (CMVN); False only subtracts the mean.
    """

    def __init__(self, feature_dim: int, variance: bool = True) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.variance = variance

    def forward(self, features: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, frames, dim)`` -> ``(batch, frames, dim)`` normalized, padding frames zeroed."""
        mask = valid_mask(frame_lengths, features.size(1))  # (batch, frames)
        mask = mask[:, :, None].to(features.dtype)  # (batch, frames, 1)
        count = torch.clamp(mask.sum(dim=1, keepdim=True), min=1.0)  # (batch, 1, 1)
        mean = (features * mask).sum(dim=1, keepdim=True) / count  # (batch, 1, dim)
        centered = (features - mean) * mask  # (batch, frames, dim)
        if self.variance:
            var = centered.square().sum(dim=1, keepdim=True) / count  # (batch, 1, dim)
            centered = centered / torch.clamp(torch.sqrt(var), min=STD_FLOOR)
        return centered


class IdentityNormalizer(nn.Module):
    """No normalization: returns the features unchanged (padding included)."""

    def __init__(self, feature_dim: int = 0) -> None:
        super().__init__()
        self.feature_dim = feature_dim

    def forward(self, features: torch.Tensor, frame_lengths: torch.Tensor) -> torch.Tensor:
        return features


NORMALIZERS = ("global", "utterance", "none")


def build_normalizer(kind: str, feature_dim: int) -> nn.Module:
    """``"global"`` (fit on train), ``"utterance"`` (per-utterance CMVN) or ``"none"``."""
    if kind == "global":
        return GlobalNormalizer(feature_dim)
    if kind == "utterance":
        return UtteranceNormalizer(feature_dim)
    if kind == "none":
        return IdentityNormalizer(feature_dim)
    raise SpeechforgeError(f"unknown normalization {kind!r}; choose one of: {', '.join(NORMALIZERS)}")
