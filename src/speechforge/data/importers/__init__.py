"""Importers turn an existing corpus layout into a manifest: a folder per class (or file names parsed by a
regular expression), a CSV/TSV table, a Kaldi data directory, LibriSpeech or Common Voice."""

from speechforge.data.importers.common import ImportResult, Skipped
from speechforge.data.importers.commonvoice import import_commonvoice
from speechforge.data.importers.csv import import_csv
from speechforge.data.importers.folder import import_folder
from speechforge.data.importers.kaldi import import_kaldi
from speechforge.data.importers.librispeech import import_librispeech

__all__ = [
    "ImportResult",
    "Skipped",
    "import_commonvoice",
    "import_csv",
    "import_folder",
    "import_kaldi",
    "import_librispeech",
]
