"""`data check`: leakage (speakers, identical audio), unreadable data, bad lines, ids, warnings, dev/test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import CliResult, tone, write_audio
from speechforge.data.check import check, probe_audio
from speechforge.data.manifest import Utterance, read_manifest, write_manifest
from speechforge.data.split import split
from speechforge.errors import SpeechforgeError


def utterance(
    root: Path, uid: str, k: int, *, seconds: float = 0.2, label: str = "a", speaker: str | None = None
) -> Utterance:
    """A real, distinct wav file (frequency and noise seed from ``k``) and its manifest record."""
    wav = write_audio(root / "wavs" / f"{uid}.wav", seconds=seconds, rate=8000, freq=120 + 11 * k, seed=k)
    return Utterance(id=uid, audio=str(wav), duration=seconds, sample_rate=8000, label=label, speaker=speaker)


@pytest.fixture(scope="module")
def clean_splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 speakers × 9 utterances (72 files: enough for worker processes), split speaker-disjoint."""
    root = tmp_path_factory.mktemp("check")
    utts = [
        utterance(root, f"s{s}_{j}", 9 * s + j, seconds=0.15 + 0.01 * j, label=str(j % 3), speaker=f"spk{s}")
        for s in range(8)
        for j in range(9)
    ]
    manifest = write_manifest(root / "manifest.jsonl", utts)
    split(manifest, root / "splits", ratios="60,20,20", train_dev=0.1, seed=0)
    return root / "splits"


def test_a_clean_split_passes(clean_splits: Path, run_cli: Callable[..., CliResult]) -> None:
    r = run_cli("data", "check", clean_splits, "--json", "--workers", "2")
    assert r.exit_code == 0, r.stdout
    report = r.json()
    assert report["ok"] is True and report["verdict"] == "OK"
    assert list(report["manifests"]) == ["train", "train_dev", "dev", "test"]
    assert sum(m["utterances"] for m in report["manifests"].values()) == 72
    assert report["manifests"]["dev"]["labels"] == {"0": 6, "1": 6, "2": 6}  # 2 speakers
    assert report["leakage"] == {"speakers": [], "audio": []}
    assert report["unreadable"] == [] and report["duplicate_ids"] == [] and report["skipped"]["count"] == 0
    assert report["label_imbalance"]["train"] == 1.0 and report["split_by"] == "speaker"
    assert set(report["distribution"]) == {"labels", "duration", "speakers"}
    assert report["distribution"]["labels"]["test"] == "chi-square"
    assert report["distribution"]["duration"]["test"] == "Kolmogorov-Smirnov"
    assert all(d["same_distribution"] and d["p_value"] >= 0.01 for d in report["distribution"].values())
    assert r.stderr == ""  # --json: nothing but the JSON object, and that on stdout

    r = run_cli("data", "check", clean_splits)
    assert r.exit_code == 0 and r.stdout == ""
    assert "dev vs test" in r.stderr and r.stderr.strip().endswith("OK")


def test_leaked_file_and_speaker_fail_and_are_named(clean_splits: Path, run_cli: Callable[..., CliResult]) -> None:
    leaky = clean_splits.parent / "leaky"  # a sibling: the relative audio paths still resolve
    shutil.copytree(clean_splits, leaky)
    train, test = read_manifest(leaky / "train.jsonl"), read_manifest(leaky / "test.jsonl")
    # the same recording under another name and format: found by content, not by path
    samples, rate = sf.read(train[0].audio, dtype="int16")
    copy = leaky / "copied.flac"
    sf.write(copy, samples, rate, subtype="PCM_16")
    duplicated = train[0].model_copy(update={"id": "copied-into-test", "audio": str(copy), "speaker": test[0].speaker})
    moved_speaker = train[-1].speaker
    moved = [u for u in train if u.speaker == moved_speaker][:2]  # two of its utterances leave train for test
    write_manifest(leaky / "train.jsonl", [u for u in train if u not in moved])
    write_manifest(leaky / "test.jsonl", [*test, duplicated, *moved])

    r = run_cli("data", "check", leaky, "--json")
    assert r.exit_code == 1
    report = r.json()
    assert report["ok"] is False
    assert report["leakage"]["speakers"] == [{"splits": ["train", "test"], "speakers": [moved_speaker]}]
    [group] = report["leakage"]["audio"]
    assert {(i["split"], i["id"]) for i in group["items"]} == {
        ("train", train[0].id),
        ("test", "copied-into-test"),
    }
    assert {i["audio"] for i in group["items"]} == {train[0].audio, str(copy)}
    assert report["duplicate_ids"] == []  # moved, not copied
    assert report["verdict"] == "FAILED: leakage of 1 speaker, 1 identical file across splits"

    r = run_cli("data", "check", leaky / "train.jsonl", leaky / "test.jsonl")  # manifests named one by one
    assert r.exit_code == 1
    assert moved_speaker in r.stderr and "copied-into-test" in r.stderr and str(copy) in r.stderr
    assert "FAILED: leakage of 1 speaker, 1 identical file across splits" in r.stderr


def test_missing_corrupt_and_empty_files_fail_with_manifest_and_line(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    good = [utterance(tmp_path, f"ok{i}", i) for i in range(3)]
    corrupt = tmp_path / "wavs" / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00not really a wave file" * 8)
    no_samples = tmp_path / "wavs" / "empty.wav"
    sf.write(no_samples, np.zeros(0, dtype=np.float32), 8000)
    zero_bytes = tmp_path / "wavs" / "zero.wav"
    zero_bytes.touch()
    bad = [
        good[0].model_copy(update={"id": "missing", "audio": str(tmp_path / "wavs" / "nope.wav")}),
        good[0].model_copy(update={"id": "corrupt", "audio": str(corrupt)}),
        good[0].model_copy(update={"id": "no-samples", "audio": str(no_samples)}),
        good[0].model_copy(update={"id": "zero-bytes", "audio": str(zero_bytes)}),
    ]
    manifest = write_manifest(tmp_path / "train.jsonl", [*good, *bad])

    r = run_cli("data", "check", manifest, "--json")
    assert r.exit_code == 1
    unreadable = {u["id"]: u for u in r.json()["unreadable"]}
    assert {uid: u["line"] for uid, u in unreadable.items()} == {
        "missing": 4,
        "corrupt": 5,
        "no-samples": 6,
        "zero-bytes": 7,
    }
    assert unreadable["missing"]["reason"] == "file not found"
    assert unreadable["corrupt"]["reason"].startswith("cannot decode audio")
    assert unreadable["no-samples"]["reason"] == "zero-length audio (no samples)"
    assert unreadable["zero-bytes"]["reason"] == "empty file (0 bytes)"

    r = run_cli("data", "check", manifest)
    assert r.exit_code == 1
    for line in (4, 5, 6, 7):
        assert f"{manifest}:{line}:" in r.stderr
    assert "FAILED: 4 unreadable files" in r.stderr


def test_silent_file_is_a_warning_only(tmp_path: Path) -> None:
    utts = [utterance(tmp_path, f"u{i}", i) for i in range(3)]
    quiet = tmp_path / "wavs" / "quiet.wav"
    sf.write(quiet, tone(0.2, 8000) * 0.001, 8000, subtype="PCM_16")  # peak ≈ -66 dBFS
    digital = tmp_path / "wavs" / "digital.wav"
    sf.write(digital, np.zeros(1600, dtype=np.float32), 8000)
    utts += [utts[0].model_copy(update={"id": "quiet", "audio": str(quiet)})]
    utts += [utts[0].model_copy(update={"id": "digital", "audio": str(digital)})]
    report = check([write_manifest(tmp_path / "train.jsonl", utts)], progress=False)
    assert not report.failed
    silent = {s["id"]: s["peak_dbfs"] for s in report.to_dict()["silent"]}
    assert silent["digital"] is None and -67 < silent["quiet"] < -65 and len(silent) == 2
    assert {(p.severity, p.kind) for p in report.problems} == {("warning", "silent")}
    quieter = check([tmp_path / "train.jsonl"], silence_dbfs=-70, progress=False)
    assert [s["id"] for s in quieter.silent] == ["digital"]


def test_bad_lines_are_listed_in_skipped_with_their_line(tmp_path: Path) -> None:
    utts = [utterance(tmp_path, f"u{i}", i) for i in range(2)]
    manifest = write_manifest(tmp_path / "dev.jsonl", utts)
    with manifest.open("a") as f:
        f.write('{"id": "broken", "audio": \n')
        f.write(json.dumps({"id": "neg", "audio": "x.wav", "duration": -1, "sample_rate": 8000}) + "\n")
    report = check([manifest], progress=False).to_dict()
    assert report["ok"] is False
    assert report["skipped"]["count"] == 2
    assert [(s["split"], s["line"]) for s in report["skipped"]["items"]] == [("dev", 3), ("dev", 4)]
    assert "not valid JSON" in report["skipped"]["items"][0]["message"]
    assert "duration" in report["skipped"]["items"][1]["message"]
    assert [p["message"].split(": ")[0] for p in report["problems"]] == [f"{manifest}:3", f"{manifest}:4"]


def test_duplicate_ids_within_and_across_manifests(tmp_path: Path) -> None:
    a = [utterance(tmp_path, f"a{i}", i) for i in range(3)]
    b = [utterance(tmp_path, f"b{i}", 10 + i) for i in range(2)]
    train = write_manifest(tmp_path / "train.jsonl", a)
    with train.open("a") as f:  # line 4 repeats the id of line 2 (other audio)
        f.write(json.dumps({**b[0].to_record(), "id": "a1"}) + "\n")
    write_manifest(tmp_path / "dev.jsonl", [b[1].model_copy(update={"id": "a0"})])
    report = check([tmp_path], progress=False).to_dict()
    assert report["ok"] is False
    dups = {d["id"]: d["items"] for d in report["duplicate_ids"]}
    assert dups == {
        "a0": [{"split": "train", "line": 1}, {"split": "dev", "line": 1}],
        "a1": [{"split": "train", "line": 2}, {"split": "train", "line": 4}],
    }
    assert report["verdict"] == "FAILED: 2 duplicate ids"


def test_dev_and_test_with_different_durations_are_flagged(tmp_path: Path) -> None:
    def make(name: str, seconds: Callable[[int], float], offset: int) -> None:
        utts = [
            utterance(
                tmp_path,
                f"{name}{i}",
                offset + i,
                seconds=seconds(i),
                label=str(i % 2),
                speaker=f"{name}{i % 5}",
            )
            for i in range(16)
        ]
        write_manifest(tmp_path / f"{name}.jsonl", utts)

    make("train", lambda i: 0.2 + 0.05 * i, 0)
    make("dev", lambda i: 0.2 + 0.01 * i, 100)
    make("test", lambda i: 0.6 + 0.02 * i, 200)
    report = check([tmp_path], progress=False)
    dist = report.distribution
    assert dist["duration"]["same_distribution"] is False and dist["duration"]["p_value"] < 1e-6
    assert dist["duration"]["statistic"] == 1.0  # no overlap at all
    assert dist["labels"]["same_distribution"] is True and dist["labels"]["p_value"] == 1.0
    assert dist["speakers"]["same_distribution"] is True
    [mismatch] = [p for p in report.problems if p.kind == "distribution_mismatch"]
    assert mismatch.severity == "warning" and mismatch.details["property"] == "duration"
    assert not report.failed


def test_warnings_stale_outliers_imbalance_unseen_labels_and_duplicate_audio(tmp_path: Path) -> None:
    train = [utterance(tmp_path, f"t{i}", i, seconds=0.3, label="a" if i < 16 else "b") for i in range(20)]
    train[0] = train[0].model_copy(update={"duration": 0.5})  # stale: the file has 0.3 s
    train[1] = train[1].model_copy(update={"sample_rate": 16000})  # stale: the file is 8 kHz
    train.append(utterance(tmp_path, "long", 50, seconds=4.0, label="a"))
    train.append(utterance(tmp_path, "blip", 51, seconds=0.03, label="a"))
    train.append(train[5].model_copy(update={"id": "t5-again"}))  # same file twice within train
    write_manifest(tmp_path / "train.jsonl", train)
    write_manifest(tmp_path / "dev.jsonl", [utterance(tmp_path, "d0", 60, seconds=0.3, label="z")])
    report = check([tmp_path], progress=False)
    data = report.to_dict()
    assert data["ok"] is True
    assert {s["id"] for s in data["stale"]} == {"t0", "t1"}
    outliers = {o["id"]: o["reason"] for o in data["duration_outliers"]}
    assert set(outliers) == {"long", "blip"} and outliers["blip"].endswith("shorter than 0.05 s")
    assert outliers["long"].startswith("robust z +") and float(outliers["long"].split()[-1]) > 3.5
    assert data["label_imbalance"] == {"train": 4.75, "dev": 1.0}  # 19 'a' vs 4 'b'

    assert data["unseen_labels"] == [{"split": "dev", "labels": ["z"]}]
    assert [{i["id"] for i in g["items"]} for g in data["duplicate_audio"]] == [{"t5", "t5-again"}]
    kinds = {p.kind for p in report.problems}
    assert kinds == {
        "stale_manifest",
        "duration_outlier",
        "label_imbalance",
        "unseen_label",
        "duplicate_audio",
    }


def test_random_splits_may_share_speakers(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    utts = [utterance(tmp_path, f"u{i}", i, label=str(i % 2), speaker=f"s{i % 3}") for i in range(30)]
    split(write_manifest(tmp_path / "m.jsonl", utts), tmp_path / "s", by="random", train_dev=0, seed=0)
    r = run_cli("data", "check", tmp_path / "s", "--json")
    assert r.exit_code == 0
    report = r.json()
    assert report["speaker_overlap_allowed"] is True and report["leakage"]["speakers"]
    assert {p["kind"] for p in report["problems"] if p["severity"] == "warning"} >= {"speaker_overlap"}
    r = run_cli("data", "check", tmp_path / "s", "--no-allow-speaker-overlap", "--json")
    assert r.exit_code == 1 and r.json()["verdict"] == "FAILED: leakage of 3 speakers"


def test_segments_are_hashed_over_their_own_samples(tmp_path: Path) -> None:
    long = write_audio(tmp_path / "long.wav", seconds=1.0, rate=8000, seed=1)
    seg = Utterance(id="x", audio=str(long), duration=0.25, sample_rate=8000, offset=0.25)
    write_manifest(tmp_path / "train.jsonl", [seg, seg.model_copy(update={"id": "y", "offset": 0.5})])
    write_manifest(tmp_path / "test.jsonl", [seg.model_copy(update={"id": "z"})])
    report = check([tmp_path], progress=False)
    [group] = report.audio_leakage
    assert {i["id"] for i in group["items"]} == {"x", "z"} and report.stale == []
    first, second = probe_audio((str(long), 0.25, 0.25)), probe_audio((str(long), 0.5, 0.25))
    assert not isinstance(first, str) and not isinstance(second, str)
    assert first.hash != second.hash and first.duration == pytest.approx(0.25)


def test_missing_manifest_is_a_user_error(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    with pytest.raises(SpeechforgeError, match="not found"):
        check([tmp_path / "nope.jsonl"])
    r = run_cli("data", "check", tmp_path / "nope")
    assert r.exit_code == 2 and "not found" in r.stderr
