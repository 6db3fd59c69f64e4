"""Data: gather (synthesize or import), split and audit speech corpora.

The functions here mirror ``speechforge data ...``::

    from speechforge import data
    data.synth("digits", "corpus/digits", speakers=16, seed=0)
    result = data.import_folder("recordings/", pattern=r"(?P<label>\\d)_(?P<speaker>[a-z]+)_(?P<take>\\d+)\\.wav")
    result.write("recordings.jsonl")
    data.split("recordings.jsonl", "splits/", by="speaker", train_dev=0.05)
    report = data.check(["splits/"])
"""

from speechforge.data.check import CheckReport, check
from speechforge.data.importers import (
    import_commonvoice,
    import_csv,
    import_folder,
    import_kaldi,
    import_librispeech,
)
from speechforge.data.manifest import Manifest, Utterance, read_manifest, write_manifest
from speechforge.data.split import SplitResult, split
from speechforge.data.synth import CORPORA, SynthResult, synth

__all__ = [
    "CORPORA",
    "CheckReport",
    "Manifest",
    "SplitResult",
    "SynthResult",
    "Utterance",
    "check",
    "import_commonvoice",
    "import_csv",
    "import_folder",
    "import_kaldi",
    "import_librispeech",
    "read_manifest",
    "split",
    "synth",
    "write_manifest",
]
