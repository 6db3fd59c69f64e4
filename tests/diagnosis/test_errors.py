"""Error analysis of a trained run: confused pairs, slices (speaker, duration, SNR, named fields), worst items."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechforge.data.manifest import read_manifest, write_manifest
from speechforge.diagnosis.errors import analyze_errors, duration_bucket, snr_bucket
from speechforge.errors import SpeechforgeError


def test_buckets() -> None:
    assert [duration_bucket(x) for x in (0.2, 0.5, 0.99, 1.0, 1.5, 2.0, 30)] == [
        "<0.5 s",
        "0.5–1 s",
        "0.5–1 s",
        "1–2 s",
        "1–2 s",
        "≥2 s",
        "≥2 s",
    ]
    assert [snr_bucket(x) for x in (-3, 0, 15, 20, "inf", None, "n/a")] == [
        "<0 dB",
        "0–10 dB",
        "10–20 dB",
        "≥20 dB",
        "≥20 dB",
        "(missing)",
        "(missing)",
    ]


@pytest.fixture(scope="module")
def noisy_test(digits_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test split with an ``snr`` field on most records (one left without)."""
    test = read_manifest(digits_splits / "test.jsonl")
    for i, utt in enumerate(test):
        if i:
            (utt.model_extra or {})["snr"] = [-5.0, 5.0, 15.0, 30.0][i % 4]
    return write_manifest(tmp_path_factory.mktemp("snr") / "test.jsonl", test.utterances, absolute_paths=True)


def test_analysis_is_consistent(trained_run: Path, noisy_test: Path) -> None:
    report = analyze_errors(trained_run, noisy_test, worst=5, progress=False)
    n, errors = report["utterances"], report["errors"]
    assert n == len(read_manifest(noisy_test))
    assert report["error_rate"] == pytest.approx(errors / n)
    assert set(report["slices"]) >= {"speaker", "duration_bucket", "snr_bucket"}
    for rows in report["slices"].values():
        assert sum(r["utterances"] for r in rows) == n  # every utterance in exactly one slice
        assert sum(r["errors"] for r in rows) == errors
        rates = [r["error_rate"] for r in rows]
        assert rates == sorted(rates, reverse=True)  # worst slice first
        if errors:
            assert sum(r["share_of_errors"] for r in rows) == pytest.approx(1.0)
    assert {r["value"] for r in report["slices"]["snr_bucket"]} <= {
        "<0 dB",
        "0–10 dB",
        "10–20 dB",
        "≥20 dB",
        "(missing)",
    }
    assert "(missing)" in {r["value"] for r in report["slices"]["snr_bucket"]}
    counts = [p["count"] for p in report["confused_pairs"]]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) <= errors
    for pair in report["confused_pairs"]:
        assert pair["true"] != pair["predicted"]
        assert pair["share_of_errors"] == pytest.approx(pair["count"] / errors)
    assert len(report["worst"]) == min(5, errors)
    p = [w["p_label"] for w in report["worst"]]
    assert p == sorted(p)
    for w in report["worst"]:
        assert w["label"] != w["predicted"] and w["p_predicted"] >= w["p_label"]
        assert Path(w["audio"]).is_file()
    assert Path(report["predictions"]).is_file()


def test_named_slice_and_unknown_field(trained_run: Path, digits_splits: Path) -> None:
    test = digits_splits / "test.jsonl"
    report = analyze_errors(trained_run, test, slices=["label", "accent"], worst=0, progress=False)
    assert report["worst"] == []
    assert sum(r["errors"] for r in report["slices"]["label"]) == report["errors"]
    assert sum(r["utterances"] for r in report["slices"]["accent"]) == report["utterances"]
    with pytest.raises(SpeechforgeError) as info:
        analyze_errors(trained_run, test, slices=["dialect"], progress=False)
    message = str(info.value)
    assert "dialect" in message and str(test) in message and "speaker" in message and "duration" in message
