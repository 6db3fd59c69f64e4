"""Acoustic features (log-mel filterbank, MFCC) and their normalization, as exportable torch modules.

Every featurizer maps ``(waveform (batch, time), lengths (batch,) | None)`` to
``(features (batch, frames, feature_dim), frame_lengths (batch,))`` and has a ``feature_dim`` property.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from speechforge.errors import SpeechforgeError
from speechforge.features.fbank import LogMelFilterbank
from speechforge.features.mfcc import MFCC
from speechforge.features.normalize import (
    GlobalNormalizer,
    IdentityNormalizer,
    UtteranceNormalizer,
    build_normalizer,
)

FEATURIZERS: dict[str, type[nn.Module]] = {"fbank": LogMelFilterbank, "mfcc": MFCC}


def build_featurizer(kind: str, **kwargs: Any) -> nn.Module:
    """``build_featurizer("fbank", n_mels=80)`` or ``build_featurizer("mfcc", n_mfcc=13, deltas=True)``."""
    if kind not in FEATURIZERS:
        raise SpeechforgeError(f"unknown feature kind {kind!r}; choose one of: {', '.join(FEATURIZERS)}")
    try:
        return FEATURIZERS[kind](**kwargs)
    except TypeError as exc:  # an option the featurizer does not have
        raise SpeechforgeError(f"invalid option for {kind!r} features: {exc}") from exc


__all__ = [
    "FEATURIZERS",
    "MFCC",
    "GlobalNormalizer",
    "IdentityNormalizer",
    "LogMelFilterbank",
    "UtteranceNormalizer",
    "build_featurizer",
    "build_normalizer",
]
