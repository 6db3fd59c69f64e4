"""PLACEHOLDER - being written by the split/check helper."""
from __future__ import annotations
class SplitResult: ...
def split(manifest, out, *, ratios="auto", by=None, stratify="label", train_dev=0.05, seed=0) -> SplitResult:
    raise NotImplementedError
