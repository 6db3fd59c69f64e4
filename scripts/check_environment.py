"""Fail fast on the environment traps measured on this project's machines (see docs/environment.md).

- torchaudio must not be installed: its only builds here are CUDA builds; ``import torchaudio`` fails and,
  while it is installed, even ``from transformers import Wav2Vec2ForCTC`` breaks.
- torch must be the pinned 2.13.0 (a CPU wheel here); anything else means a second torch slipped in.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys

PINNED_TORCH = "2.13.0"


def main() -> int:
    problems = []
    if importlib.util.find_spec("torchaudio") is not None:
        problems.append(
            "torchaudio is installed; uninstall it (pip uninstall -y torchaudio): speechforge "
            "computes features in torch and torchaudio's builds here break transformers"
        )
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        problems.append("torch is not installed; run `make install`")
    else:
        if torch_version.split("+")[0] != PINNED_TORCH:
            problems.append(
                f"torch {torch_version} is installed, expected {PINNED_TORCH} (install through constraints.txt)"
            )
    for problem in problems:
        print(f"environment check failed: {problem}", file=sys.stderr)
    if not problems:
        print(f"environment OK: torch {torch_version}, no torchaudio")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
