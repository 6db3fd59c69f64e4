"""PLACEHOLDER - being written by the synth helper."""
from __future__ import annotations
from dataclasses import dataclass
from pathlib import Path
from speechforge.data.manifest import Manifest
CORPORA = ("digits", "commands", "languages")
@dataclass
class SynthResult:
    manifest_path: Path
    manifest: Manifest
    seconds: float
def synth(corpus, out, *, speakers=None, per_speaker=None, seed=0, engine="espeak", languages=None, workers=None, progress=True) -> SynthResult:
    raise NotImplementedError
