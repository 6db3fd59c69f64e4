"""PLACEHOLDER - being written by the split/check helper."""
from __future__ import annotations
class CheckReport: ...
def check(paths, *, allow_speaker_overlap=None, silence_dbfs=-60.0, workers=None, progress=True) -> CheckReport:
    raise NotImplementedError
