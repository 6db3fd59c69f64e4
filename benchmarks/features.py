"""Feature-extraction speed on ONE thread, against named peers measured in the same run.

    python benchmarks/features.py [--seconds 60] [--clips 2000] [--batch 32] [--repeats 7]

(a) the transform alone: 80-bin log-mel, 25 ms window, 10 ms hop, on ``--seconds`` of 16 kHz audio.
    Peers: ``librosa.feature.melspectrogram`` (+ the same log) and kaldi-native-fbank's ``OnlineFbank``
    fed the whole waveform, then read frame by frame (``accept_waveform`` + ``get_frame``).
(b) what a training epoch pays per clip, over ``--clips`` short (0.5–1.5 s) 8 kHz PCM-16 wav files in a
    temporary folder: read (soundfile) -> resample 8 -> 16 kHz (soxr HQ) -> log-mel -> global
    normalization with train statistics -> pad into ``(batch, frames, 80)`` batches. The files are freshly
    written, so they are read from the page cache (decoding cost, not disk speed).

Throughput is seconds of audio per wall second (x real time), the best of ``--repeats`` runs for (a) and
of ``--passes`` passes for (b), after a warm-up (the minimum is the least disturbed by other processes).
Peers that are not installed are skipped with a note (``pip install librosa kaldi-native-fbank -c
constraints.txt``); they are not speechforge dependencies.
"""

import os

# One thread everywhere, set before numpy / torch are imported so their thread pools start with it.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402
import torch  # noqa: E402

from speechforge.audio.io import read_audio  # noqa: E402
from speechforge.features import GlobalNormalizer, LogMelFilterbank  # noqa: E402

torch.set_num_threads(1)

RATE = 16000
N_MELS = 80
HAVE_LIBROSA = importlib.util.find_spec("librosa") is not None
HAVE_KNF = importlib.util.find_spec("kaldi_native_fbank") is not None

Row = tuple[str, str, float, float]  # (benchmark, implementation, audio seconds, wall seconds)


def speech_like(n: int, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """``(n,)`` float32: 20 harmonics of a gliding pitch, syllable envelope, a little noise."""
    t = np.arange(n) / rate
    f0 = rng.uniform(100, 200) + 30.0 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 21)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t))
    x = x + 0.01 * rng.standard_normal(n)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (allocations, librosa's numba JIT, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def knf_fbank(waveform: np.ndarray, rate: int = RATE) -> np.ndarray:
    """kaldi-native-fbank, Kaldi defaults (povey window, pre-emphasis 0.97, DC removal), no dither."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = rate
    opts.frame_opts.dither = 0.0
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.frame_shift_ms = 10.0
    opts.mel_opts.num_bins = N_MELS
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(rate, waveform)
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])  # (frames, 80)


def librosa_logmel(waveform: np.ndarray, rate: int = RATE) -> np.ndarray:
    """librosa with our settings (HTK mel, no norm, Hann 400 in a 512 FFT, no centering) and our log."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=waveform,
        sr=rate,
        n_fft=512,
        hop_length=160,
        win_length=400,
        window="hann",
        center=False,
        power=2.0,
        n_mels=N_MELS,
        fmin=20.0,
        htk=True,
        norm=None,
    )  # (80, frames)
    return np.log(np.maximum(mel, 1e-6)).T  # (frames, 80)


def bench_transform(seconds: float, repeats: int) -> list[Row]:
    waveform = speech_like(int(seconds * RATE), np.random.default_rng(0))  # (time,)
    fbank = LogMelFilterbank(n_mels=N_MELS).eval()
    x = torch.from_numpy(waveform)[None]  # (1, time)

    def ours() -> object:
        with torch.inference_mode():
            return fbank(x)

    rows: list[Row] = [("log-mel, 60 s", "speechforge LogMelFilterbank", seconds, best_time(ours, repeats))]
    if HAVE_LIBROSA:
        rows.append(
            (
                "log-mel, 60 s",
                "librosa melspectrogram + log",
                seconds,
                best_time(lambda: librosa_logmel(waveform), repeats),
            )
        )
    else:
        print("note: librosa not installed; its rows are skipped")
    if HAVE_KNF:
        rows.append(
            (
                "log-mel, 60 s",
                "kaldi-native-fbank OnlineFbank",
                seconds,
                best_time(lambda: knf_fbank(waveform), repeats),
            )
        )
    else:
        print("note: kaldi-native-fbank not installed; its rows are skipped")
    return rows


def make_clips(root: Path, n_clips: int) -> tuple[list[Path], float]:
    """``n_clips`` 8 kHz PCM-16 wav files of 0.5–1.5 s; returns the paths and their total duration."""
    rng = np.random.default_rng(1)
    paths, total = [], 0.0
    for i in range(n_clips):
        n = int(8000 * rng.uniform(0.5, 1.5))
        path = root / f"clip{i:05d}.wav"
        sf.write(path, speech_like(n, rng, rate=8000), 8000, subtype="PCM_16")
        paths.append(path)
        total += n / 8000
    return paths, total


def pad_frames(items: list[np.ndarray]) -> np.ndarray:
    """``[(frames_i, 80)]`` -> ``(batch, max_frames, 80)`` zero-padded."""
    out = np.zeros((len(items), max(len(f) for f in items), items[0].shape[1]), dtype=np.float32)
    for i, f in enumerate(items):
        out[i, : len(f)] = f
    return out


def bench_epoch(n_clips: int, batch: int, passes: int) -> list[Row]:
    fbank = LogMelFilterbank(n_mels=N_MELS).eval()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sf-bench-features-") as tmp:
        paths, total = make_clips(Path(tmp), n_clips)
        with torch.inference_mode():  # train statistics from the first 200 clips (not timed)
            waves = [torch.from_numpy(read_audio(p, sample_rate=RATE)[0]) for p in paths[:200]]
            fit_feats = [fbank(w[None]) for w in waves]  # [((1, frames, 80), (1,))]
            norm = GlobalNormalizer(N_MELS).fit(fit_feats)
        mean, std = norm.mean.numpy(), norm.std.numpy()
        name = f"epoch path, {n_clips} clips 8 kHz"

        def ours_per_clip(chunk: list[Path]) -> object:  # a Dataset.__getitem__ per clip + collate
            feats, lengths = [], []
            for p in chunk:
                wav, _ = read_audio(p, sample_rate=RATE)  # soundfile + soxr HQ, (time,)
                f, n = fbank(torch.from_numpy(wav)[None])  # (1, frames, 80), (1,)
                feats.append(norm(f, n)[0])
                lengths.append(n)
            return torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), torch.cat(lengths)

        def ours_batched(chunk: list[Path]) -> object:  # waveforms padded first, one featurizer call
            wavs = [torch.from_numpy(read_audio(p, sample_rate=RATE)[0]) for p in chunk]
            lengths = torch.tensor([len(w) for w in wavs])
            waveform = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)  # (batch, time)
            f, n = fbank(waveform, lengths)  # (batch, frames, 80), (batch,)
            return norm(f, n), n

        def peer(extract: Callable[[np.ndarray], np.ndarray]) -> Callable[[list[Path]], object]:
            def run(chunk: list[Path]) -> object:
                items = []
                for p in chunk:
                    wav, rate = sf.read(p, dtype="float32")  # (time,)
                    wav = soxr.resample(wav, rate, RATE, quality="HQ")
                    items.append((extract(wav) - mean) / std)  # (frames, 80)
                return pad_frames(items)

            return run

        paths_to_run: list[tuple[str, Callable[[list[Path]], object]]] = [
            ("speechforge, per clip + pad", ours_per_clip),
            (f"speechforge, batched ({batch})", ours_batched),
        ]
        if HAVE_LIBROSA:
            paths_to_run.append(("soundfile+soxr+librosa", peer(librosa_logmel)))
        if HAVE_KNF:
            paths_to_run.append(("soundfile+soxr+kaldi-native-fbank", peer(knf_fbank)))
        for label, run in paths_to_run:

            def epoch(run: Callable[[list[Path]], object] = run) -> None:
                for i in range(0, len(paths), batch):
                    run(paths[i : i + batch])

            with torch.inference_mode():
                rows.append((name, label, total, best_time(epoch, passes)))  # warm-up: one whole pass
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length for (a)")
    parser.add_argument("--clips", type=int, default=2000, help="number of short clips for (b)")
    parser.add_argument("--batch", type=int, default=32, help="clips per padded batch in (b)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of (a); the best is reported")
    parser.add_argument("--passes", type=int, default=3, help="timed passes of (b); the best is reported")
    args = parser.parse_args()

    rows = bench_transform(args.seconds, args.repeats) + bench_epoch(args.clips, args.batch, args.passes)
    print(f"\ntorch {torch.__version__}, 1 thread (torch.set_num_threads(1), OMP_NUM_THREADS=1)\n")
    print("| benchmark | implementation | audio (s) | wall (s) | x real time | vs speechforge |")
    print("|---|---|---:|---:|---:|---:|")
    reference: dict[str, float] = {}
    for bench, impl, audio, wall in rows:
        speed = audio / wall
        reference.setdefault(bench, speed)  # the first row of each benchmark is ours
        ratio = speed / reference[bench]
        print(f"| {bench} | {impl} | {audio:.1f} | {wall:.4f} | {speed:,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
