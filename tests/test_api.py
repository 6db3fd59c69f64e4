"""The Python API mirrors the CLI: one function per command, same results."""

from __future__ import annotations

from pathlib import Path

import speechforge as sf
from conftest import ROOT, digits_overrides


def test_python_api_trains_evaluates_predicts_and_exports(digits_splits: Path, tmp_path: Path) -> None:
    result = sf.train(
        ROOT / "recipes" / "digits_cnn.yaml",
        tmp_path / "run",
        [*digits_overrides(digits_splits, epochs=1), "model.channels=[8]"],
        progress=False,
    )
    assert (result.run_dir / "best.ckpt").is_file() and len(result.history) == 1
    metrics = sf.evaluate(result.run_dir, digits_splits / "test.jsonl")
    assert metrics["utterances"] == sum(1 for _ in (digits_splits / "test.jsonl").open())
    audio = sf.data.read_manifest(digits_splits / "test.jsonl")[0].audio
    [prediction] = sf.predict(result.run_dir, [audio], top_k=2)
    assert len(prediction["top"]) == 2 and prediction["label"] in metrics["confusion_matrix"]["labels"]
    model = sf.export(result.run_dir, tmp_path / "exported", format="onnx")
    assert model.name == "model.onnx" and model.stat().st_size > 1000
