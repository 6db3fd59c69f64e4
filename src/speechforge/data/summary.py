"""Counts that describe a corpus or a split: utterances, hours, speakers, per-label counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from speechforge.data.manifest import Manifest


@dataclass
class CorpusSummary:
    utterances: int
    hours: float
    speakers: int  # distinct known speakers (0 when the manifest has none)
    labels: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "utterances": self.utterances,
            "hours": round(self.hours, 6),
            "speakers": self.speakers,
            "labels": dict(sorted(self.labels.items())),
            "languages": dict(sorted(self.languages.items())),
        }


def summarize(manifest: Manifest) -> CorpusSummary:
    return CorpusSummary(
        utterances=len(manifest),
        hours=manifest.hours,
        speakers=len({u.speaker for u in manifest if u.speaker is not None}),
        labels=Counter(u.label for u in manifest if u.label is not None),
        languages=Counter(u.language for u in manifest if u.language is not None),
    )
