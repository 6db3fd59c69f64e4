"""After training: evaluate (JSON contract), predict any audio, export a self-contained model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import CliResult
from speechforge.audio.io import read_audio
from speechforge.data.manifest import read_manifest


def test_evaluate_json_contract(trained_run: Path, digits_splits: Path, run_cli: Callable[..., CliResult]) -> None:
    r = run_cli("evaluate", trained_run, "--manifest", digits_splits / "test.jsonl", "--json")
    assert r.exit_code == 0, r.stderr
    metrics = r.json()  # stdout is the JSON object and nothing else
    assert {"accuracy", "error_rate", "macro_f1", "per_class", "confusion_matrix"} <= set(metrics)
    assert metrics["accuracy"] + metrics["error_rate"] == pytest.approx(1.0)
    assert set(metrics["confusion_matrix"]) == {"labels", "matrix"}
    labels = metrics["confusion_matrix"]["labels"]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == len(read_manifest(digits_splits / "test.jsonl"))
    assert set(metrics["per_class"][labels[0]]) == {"precision", "recall", "f1", "support"}
    out = trained_run / "eval" / "test"
    assert json.loads((out / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert (out / "confusion.png").stat().st_size > 1000


def _first_utterances(splits: Path, n: int) -> list[tuple[np.ndarray, int, str]]:
    test = read_manifest(splits / "test.jsonl")
    return [(read_audio(u.audio)[0], u.sample_rate, str(u.label)) for u in list(test)[:n]]


@pytest.mark.parametrize(
    ("ext", "subtype", "rate", "channels"),
    [
        ("wav", "PCM_U8", 8000, 1),
        ("wav", "PCM_24", 44100, 2),
        ("flac", "PCM_16", 22050, 1),
        ("ogg", "VORBIS", 16000, 2),
        ("wav", "PCM_32", 48000, 1),
    ],
)
def test_predict_reads_any_format(
    trained_run: Path,
    digits_splits: Path,
    tmp_path: Path,
    ext: str,
    subtype: str,
    rate: int,
    channels: int,
    run_cli: Callable[..., CliResult],
) -> None:
    from speechforge.audio.io import resample

    waveform, orig, _ = _first_utterances(digits_splits, 1)[0]
    x = resample(waveform, orig, rate)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path = tmp_path / f"utt.{ext}"
    sf.write(path, data, rate, subtype=subtype)
    r = run_cli("predict", trained_run, path, "--top-k", "3", "--json")
    assert r.exit_code == 0, r.stderr
    [result] = r.json()
    assert len(result["top"]) == 3 and result["label"] == result["top"][0]["label"]
    assert 0 < result["probability"] <= 1 and result["top"][0]["probability"] >= result["top"][1]["probability"]


def test_predict_names_an_unreadable_file_and_classifies_the_rest(
    trained_run: Path, digits_splits: Path, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage")
    good = next(iter(read_manifest(digits_splits / "test.jsonl"))).audio
    r = run_cli("predict", trained_run, good, bad)
    assert r.exit_code == 1
    assert "broken.wav" in r.stderr and "Traceback" not in r.stderr
    assert good in r.stdout


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(
    trained_run: Path, digits_splits: Path, tmp_path: Path, fmt: str, run_cli: Callable[..., CliResult]
) -> None:
    import torch

    from speechforge.deploy.inference import WaveformClassifier
    from speechforge.training.run import load_task

    r = run_cli("export", trained_run, "--format", fmt, "--out", tmp_path / fmt)
    assert r.exit_code == 0, r.stderr
    meta = json.loads((tmp_path / fmt / "model.json").read_text())
    reference = WaveformClassifier(load_task(trained_run)).eval()
    # Real utterances of several lengths, batched with padding, plus a single short one.
    utts = [u[0] for u in _first_utterances(digits_splits, 3)]
    batches = [[utts[0]], utts, [utts[2][:4000]]]
    for batch in batches:
        lengths = np.array([len(x) for x in batch], dtype=np.int64)
        waveform = np.zeros((len(batch), lengths.max()), dtype=np.float32)
        for i, x in enumerate(batch):
            waveform[i, : len(x)] = x
        with torch.no_grad():
            expected = reference(torch.from_numpy(waveform), torch.from_numpy(lengths)).numpy()
        if fmt == "onnx":
            import onnxruntime as ort

            session = ort.InferenceSession(str(tmp_path / fmt / meta["model"]), providers=["CPUExecutionProvider"])
            got = session.run(["probabilities"], {"waveform": waveform, "lengths": lengths})[0]
        else:
            module = torch.jit.load(str(tmp_path / fmt / meta["model"]))
            got = module(torch.from_numpy(waveform), torch.from_numpy(lengths)).detach().numpy()
        np.testing.assert_allclose(got, expected, atol=1e-4)
        assert got.shape == (len(batch), len(meta["labels"]))
