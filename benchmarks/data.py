"""Data-path speed: import + `data check` over many short files, and corpus synthesis.

    python benchmarks/data.py [--files 10000] [--workers 2] [--synth-utterances 640]

Peers measured in the same run (skipped with a note when not installed; `pip install -r
benchmarks/requirements.txt -c constraints.txt` installs them):
- import:     lhotse ``RecordingSet.from_dir`` (header probing, same worker count)
- check:      lhotse ``qa.validate(recordings, read_data=True)`` (decodes every file, as `data check` does;
              `data check` also hashes the samples, measures peak level and runs the split audits)
- synthesis:  the ``espeak-ng`` command (Debian's package: ``apt-get install espeak-ng``), one process per
              utterance, when on PATH
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

os.environ.setdefault("SPEECHFORGE_NO_PROGRESS", "1")

from speechforge import data

LABELS = [str(d) for d in range(10)]


def make_corpus(root: Path, n_files: int) -> Path:
    """``n_files`` short (0.3–1.5 s) 8/16 kHz wav files named ``<label>_<speaker>_<take>.wav``."""
    marker = root / f".complete-{n_files}"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n_files):
        rate = 8000 if i % 2 else 16000
        n = int(rate * rng.uniform(0.3, 1.5))
        t = np.arange(n) / rate
        x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t) + 0.01 * rng.standard_normal(n)
        label, speaker, take = LABELS[i % 10], f"s{(i // 10) % 100:03d}", i // 1000
        sf.write(root / f"{label}_{speaker}_{take}.wav", x.astype(np.float32), rate, subtype="PCM_16")
    marker.touch()
    return root


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_import_and_check(root: Path, out: Path, workers: int) -> list[tuple[str, str, int, float]]:
    rows = []
    pattern = r"(?P<label>\d)_(?P<speaker>s\d+)_(?P<take>\d+)\.wav"
    result, seconds = timed(data.import_folder, root, pattern=pattern, workers=workers, progress=False)
    n = len(result.utterances)
    rows.append(("import folder", "speechforge", n, seconds))
    manifest = result.write(out / "all.jsonl")
    _, seconds = timed(data.split, manifest, out / "splits", seed=0)
    rows.append(("split (speaker-disjoint)", "speechforge", n, seconds))
    report, seconds = timed(data.check, [out / "splits"], workers=workers, progress=False)
    rows.append(("check (decode+hash all)", "speechforge", n, seconds))
    if report.failed:
        print("warning: the benchmark corpus failed the check", file=sys.stderr)
    try:
        from lhotse import RecordingSet
        from lhotse.qa import validate
    except ImportError:
        print("lhotse not installed: peer rows skipped", file=sys.stderr)
        return rows
    recordings, seconds = timed(RecordingSet.from_dir, root, pattern="*.wav", num_jobs=workers)
    rows.append(("import folder", "lhotse RecordingSet.from_dir", len(recordings), seconds))
    _, seconds = timed(validate, recordings, read_data=True)
    rows.append(("check (decode+hash all)", "lhotse qa.validate(read_data=True), 1 proc", len(recordings), seconds))
    return rows


def bench_synthesis(out: Path, n_utterances: int, workers: int) -> list[tuple[str, str, int, float]]:
    speakers = 16
    per_speaker = max(1, n_utterances // speakers)
    result, seconds = timed(
        data.synth,
        "digits",
        out / "synth",
        speakers=speakers,
        per_speaker=per_speaker,
        workers=workers,
        progress=False,
    )
    rows = [("synthesize digits", "speechforge (espeak-ng via ctypes)", len(result.manifest), seconds)]
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng command not on PATH: synthesis peer row skipped", file=sys.stderr)
        return rows
    texts = [u.text or "" for u in result.manifest]
    start = time.perf_counter()
    for i, text in enumerate(texts):
        subprocess.run([espeak, "-w", str(out / f"peer{i % 8}.wav"), text], check=True)
    rows.append(("synthesize digits", "espeak-ng CLI (1 process/utt)", len(texts), time.perf_counter() - start))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synth-utterances", type=int, default=640)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "speechforge-bench-data")
    args = parser.parse_args()

    corpus = make_corpus(args.cache / f"files{args.files}", args.files)
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_import_and_check(corpus, Path(tmp), args.workers)
        rows += bench_synthesis(Path(tmp), args.synth_utterances, args.workers)

    print(f"\nworkers={args.workers}  cpu cores={os.cpu_count()}  python={sys.version.split()[0]}")
    print(f"| {'step':<26} | {'tool':<40} | {'items':>6} | {'seconds':>8} | {'items/s':>9} |")
    print(f"|{'-' * 28}|{'-' * 42}|{'-' * 8}:|{'-' * 9}:|{'-' * 10}:|")
    for step, tool, n, seconds in rows:
        print(f"| {step:<26} | {tool:<40} | {n:>6} | {seconds:>8.2f} | {n / seconds:>9.0f} |")


if __name__ == "__main__":
    main()
