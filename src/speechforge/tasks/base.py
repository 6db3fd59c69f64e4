"""The stages of a run, and the hooks every task implements (after SpeechBrain's ``Brain``)."""

from __future__ import annotations

from enum import Enum


class Stage(Enum):
    """Which pass is running: training updates weights and augments; the others only measure."""

    TRAIN = "train"
    DEV = "dev"
    TEST = "test"
