"""Decoding speed of a CTC run: eager PyTorch vs ONNX Runtime, greedy vs beam search + word 3-gram LM, 1 thread.

    python benchmarks/decode.py [--run RUN --manifest M.jsonl] [--lm lm.arpa] [--repeat 10]

RTFx = audio seconds per wall second (higher is better), on one CPU thread (torch and onnxruntime), for the
utterances of ``--manifest`` one at a time (batch 1, the streaming-server case) and as padded batches of 16
(manifest order; the last one may be smaller). Timed: best of ``--repeat`` interleaved rounds after a warm-up:

* model forward: eager PyTorch (``WaveformRecognizer``) and ONNX Runtime (``speechforge.deploy.export``);
* decoder only, on the ONNX Runtime log-probabilities: greedy, and beam search (beam 16) with a word 3-gram LM;
* end to end (forward + decode) for each engine and decoder.

Also printed: eager vs ONNX Runtime parity (log_probs over valid frames, greedy transcripts) and the WERs.
No ``--lm``: a 3-gram of the run's normalized train transcripts. No ``--run``: a small digits run is made first.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("SPEECHFORGE_NO_PROGRESS", "1")

import numpy as np
import onnxruntime as ort
import torch
from torch.nn.utils.rnn import pad_sequence

from speechforge.audio.io import read_audio
from speechforge.data.manifest import read_manifest
from speechforge.decoding.ctc import build_decoder
from speechforge.decoding.lm import build_arpa
from speechforge.deploy.export import export
from speechforge.deploy.inference import WaveformRecognizer
from speechforge.metrics.asr import wer_details
from speechforge.training.run import RunDir, load_recognizer, tuned_decoding

ROOT = Path(__file__).resolve().parents[1]
BEAM = "beam 16 + 3-gram LM"
Engine = Callable[[torch.Tensor, torch.Tensor], Any]


def make_run(tmp: Path) -> tuple[Path, Path]:
    """Synthesize a digits ASR corpus, split it by speaker and train a short CTC run; (run, test manifest)."""
    sf = [sys.executable, "-m", "speechforge"]
    corpus, splits, run = tmp / "corpus", tmp / "splits", tmp / "run"
    synth = ["data", "synth", "asr", "--out", str(corpus), "--speakers", "8", "--per-speaker", "20", "--seed", "0"]
    subprocess.run([*sf, *synth], check=True)
    split = ["data", "split", str(corpus / "manifest.jsonl"), "--out", str(splits), "--by", "speaker"]
    subprocess.run([*sf, *split], check=True)
    data = [f"data.{s}={splits / (s + '.jsonl')}" for s in ("train", "dev", "test")] + ["data.train_dev=null"]
    recipe = ROOT / "recipes" / "digits_ctc.yaml"
    # Characters, not the recipe's word pieces: beam search with a word LM needs a character lexicon.
    extra = ["text.tokenizer=char", "training.max_epochs=15"]
    subprocess.run([*sf, "train", str(recipe), *data, *extra, "--out", str(run)], check=True)
    print(f"no --run: synthesized an ASR digits corpus (8 speakers x 20), split it by speaker and trained "
          f"{recipe.name} {' '.join(extra)} into {run}; benchmarking on its test split")  # fmt: skip
    return run, splits / "test.jsonl"


def make_lm(run: Path, task: Any, out: Path) -> Path:
    """A word 3-gram ARPA LM from the normalized transcripts of the run's training manifest."""
    data = RunDir(run).recipe().data
    texts = [task.normalize_text(str(u.get(data.text_field) or "")) for u in read_manifest(data.train)]
    text_file = out.with_suffix(".txt")
    text_file.write_text("".join(t + "\n" for t in texts if t), encoding="utf-8")
    build_arpa([text_file], out, order=3)
    return out


def load_waves(manifest: Path, rate: int) -> tuple[list[np.ndarray], list[str]]:
    """Every utterance's waveform at ``rate`` (its segment if it is one) and its raw transcript."""
    waves, texts = [], []
    for u in read_manifest(manifest):
        duration = u.duration if u.is_segment else None
        waves.append(read_audio(u.audio, offset=u.offset, duration=duration, sample_rate=rate)[0])
        texts.append(str(u.get("text") or ""))
    return waves, texts


def make_batches(waves: list[np.ndarray], size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Zero-padded ``(waveform (batch, time) float32, lengths (batch,) int64)`` of ``size`` utterances."""
    batches = []
    for start in range(0, len(waves), size):
        chunk = [torch.from_numpy(w) for w in waves[start : start + size]]
        batches.append((pad_sequence(chunk, batch_first=True), torch.tensor([len(w) for w in chunk])))
    return batches


def parity(eager: list[Any], onnx: list[Any], greedy: Any) -> tuple[float, bool, bool]:
    """Max |log_probs eager - onnx| over each item's valid frames; do the frame counts and greedy texts agree?"""
    worst, same_lengths = 0.0, True
    for (lp_e, n_e), (lp_o, n_o) in zip(eager, onnx, strict=True):
        same_lengths &= n_e.tolist() == n_o.tolist()
        for b, n in enumerate(n_e.tolist()):
            diff = np.abs(lp_e[b, :n].numpy() - lp_o[b, :n]).max(initial=0.0)
            worst = max(worst, float(diff))
    return worst, same_lengths, decode_all(greedy, eager) == decode_all(greedy, onnx)


def print_table(rows: list[tuple[str, int, float]], audio_s: float) -> None:
    """A markdown table with aligned columns: path, batch, RTFx, seconds, audio seconds."""
    head = ("path", "batch", "RTFx", "seconds", "audio seconds")
    body = [(p, str(b), f"{audio_s / s:,.1f}", f"{s:.4f}", f"{audio_s:.1f}") for p, b, s in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    rule = ["-" * widths[0], *("-" * (w - 1) + ":" for w in widths[1:])]
    for r in [head, rule, *body]:
        cells = [r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        print("| " + " | ".join(cells) + " |")


def make_engines(task: Any, onnx_path: Path) -> dict[str, Engine]:
    """The two forward paths, (waveform, lengths) -> (log_probs, out_lengths), each on one CPU thread."""
    model = WaveformRecognizer(task).eval()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def eager(w: torch.Tensor, n: torch.Tensor) -> Any:
        with torch.inference_mode():
            return model(w, n)

    def onnx(w: torch.Tensor, n: torch.Tensor) -> Any:
        return session.run(["log_probs", "out_lengths"], {"waveform": w.numpy(), "lengths": n.numpy()})

    return {"eager PyTorch": eager, "ONNX Runtime": onnx}


def forward_all(engine: Engine, batches: list) -> list:
    """(log_probs, out_lengths) of each batch."""
    return [engine(w, n) for w, n in batches]


def decode_all(decoder: Any, outputs: list) -> list[str]:
    """The transcripts of every utterance, from the forward outputs."""
    return [t for lp, n in outputs for t in decoder.decode(lp, n)]


def end_to_end(engine: Engine, decoder: Any, batches: list) -> list[str]:
    """Forward and decode batch after batch: the transcripts of every utterance."""
    return [t for w, n in batches for t in decoder.decode(*engine(w, n))]


def bench(batches: list, engines: dict[str, Engine], decoders: dict[str, Any], repeat: int) -> tuple[dict, dict]:
    """Seconds and outputs of every path on ``batches``: one warm-up pass each, then ``repeat`` rounds that
    run every path once (interleaved, so a burst of load elsewhere hits all paths alike); the best is kept.
    Decoder-only paths decode the ONNX Runtime log-probabilities."""
    paths = {f"forward: {e}": partial(forward_all, engine, batches) for e, engine in engines.items()}
    results = {name: fn() for name, fn in paths.items()}
    for d, decoder in decoders.items():
        paths[f"decoder only: {d}"] = partial(decode_all, decoder, results["forward: ONNX Runtime"])
    paths |= {
        f"{e} + {d}": partial(end_to_end, eng, dec, batches)
        for e, eng in engines.items()
        for d, dec in decoders.items()
    }
    results |= {name: fn() for name, fn in paths.items()}
    seconds = dict.fromkeys(paths, float("inf"))
    for _ in range(repeat):
        for name, fn in paths.items():
            start = time.perf_counter()
            fn()
            seconds[name] = min(seconds[name], time.perf_counter() - start)
    return seconds, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="trained speechforge ASR (CTC) run; default: make a small one")
    parser.add_argument("--manifest", type=Path, help="utterances to decode (default with no --run: its test split)")
    parser.add_argument("--lm", type=Path, help="word ARPA LM; default: a 3-gram of the run's train transcripts")
    parser.add_argument("--repeat", type=int, default=10, help="timed rounds (best is kept)")
    args = parser.parse_args()
    if args.run is not None and args.manifest is None:
        parser.error("--manifest is needed with --run")
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    seconds: dict[tuple[str, int], float] = {}
    checks, hyps = [], {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        run, manifest = (args.run, args.manifest) if args.run is not None else make_run(tmp)
        manifest = args.manifest or manifest
        task = load_recognizer(run)
        lm = args.lm or make_lm(run, task, tmp / "lm.arpa")
        tuned = tuned_decoding(RunDir(run), lm)
        beam = build_decoder(task.tokenizer, "beam", lm=lm, beam_size=16, **tuned)
        decoders = {"greedy": build_decoder(task.tokenizer, "greedy"), BEAM: beam}
        engines = make_engines(task, export(run, tmp / "onnx", format="onnx"))
        rate = RunDir(run).recipe().features.sample_rate
        waves, texts = load_waves(manifest, rate)
        for size in (1, 16):
            times, results = bench(make_batches(waves, size), engines, decoders, args.repeat)
            seconds.update({(name, size): t for name, t in times.items()})
            outputs = results["forward: eager PyTorch"], results["forward: ONNX Runtime"]
            checks.append(parity(*outputs, decoders["greedy"]))
            hyps[size] = results["ONNX Runtime + greedy"], results[f"ONNX Runtime + {BEAM}"]

    audio_s = sum(len(w) for w in waves) / rate
    padded_s = sum(w.numel() for w, _ in make_batches(waves, 16)) / rate
    params = sum(p.numel() for p in task.model.parameters())
    print(
        f"\n{len(waves)} utterances, {audio_s:.1f} s of audio, {manifest}; run {run} "
        f"({type(task.model).__name__}, {params / 1e6:.2f} M parameters, vocab {task.tokenizer.vocab_size}); "
        f"LM {lm if args.lm else '3-gram of the train transcripts'}{f' {tuned}' if tuned else ''}\n"
        f"1 thread; best of {args.repeat}; Python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {ort.__version__}; batch 16 padding {100 * (1 - audio_s / padded_s):.0f}%\n"
    )
    names = list(dict.fromkeys(name for name, _ in seconds))
    print_table([(name, size, seconds[name, size]) for name in names for size in (1, 16)], audio_s)
    print()
    for eager in ["forward: eager PyTorch", *(f"eager PyTorch + {d}" for d in decoders)]:
        onnx, what = eager.replace("eager PyTorch", "ONNX Runtime"), eager.replace("eager PyTorch", "forward")
        ratios = ", ".join(f"batch {b}: {seconds[eager, b] / seconds[onnx, b]:.2f}x" for b in (1, 16))
        print(f"ONNX Runtime vs eager PyTorch speed-up, {what.removeprefix('forward: ')}: {ratios}")
    worst, same_lengths, same_greedy = max(c[0] for c in checks), all(c[1] for c in checks), all(c[2] for c in checks)
    print(
        f"parity (batch 1 and 16): max |log_probs eager - onnx| over valid frames = {worst:.2e}; out_lengths "
        f"{'agree' if same_lengths else 'DIFFER'}; greedy transcripts {'agree' if same_greedy else 'DIFFER'}"
    )
    refs = [task.normalize_text(t) for t in texts]
    wers = [f"{100 * wer_details(refs, h)['wer']:.2f}%" for size in (1, 16) for h in hyps[size]]
    print(f"WER greedy / {BEAM} (ONNX Runtime): batch 1 {wers[0]} / {wers[1]}, batch 16 {wers[2]} / {wers[3]}")


if __name__ == "__main__":
    main()
