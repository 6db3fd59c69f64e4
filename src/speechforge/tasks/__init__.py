"""Tasks: what a run computes — forward, loss, error and decoding — as hooks the trainer calls."""

from speechforge.tasks.base import Stage

__all__ = ["Stage"]
