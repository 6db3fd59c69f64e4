"""The demo's path end to end through the real CLI: synthesize, split speaker-disjoint, audit; then break it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from speechforge.data.manifest import read_manifest, write_manifest


def test_synth_split_check_then_leak(tmp_path: Path, run_cli: Callable[..., object]) -> None:
    corpus, splits = tmp_path / "digits", tmp_path / "splits"
    r = run_cli("data", "synth", "digits", "--out", corpus, "--speakers", "6", "--per-speaker", "10", "--seed", "1")
    assert r.exit_code == 0, r.stderr
    r = run_cli("data", "split", corpus / "manifest.jsonl", "--out", splits, "--by", "speaker", "--seed", "1")
    assert r.exit_code == 0, r.stderr
    speakers = {name: {u.speaker for u in read_manifest(splits / f"{name}.jsonl")} for name in ("train", "dev", "test")}
    assert not (speakers["train"] & speakers["dev"]) and not (speakers["train"] & speakers["test"])
    assert not (speakers["dev"] & speakers["test"])

    r = run_cli("data", "check", splits, "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    report = r.json()
    assert report["ok"] is True and report["leakage"]["speakers"] == [] and report["leakage"]["audio"] == []

    # Break it the way the reviewers will: one file duplicated across train and test, one speaker moved.
    leaky = tmp_path / "leaky"
    shutil.copytree(splits, leaky)
    train = read_manifest(leaky / "train.jsonl")
    test = read_manifest(leaky / "test.jsonl")
    duplicated = train[0].model_copy(update={"id": "copied-into-test"})
    moved_speaker = train[-1].speaker
    moved = [u for u in train if u.speaker == moved_speaker][:2]
    write_manifest(leaky / "test.jsonl", [*test, duplicated, *moved])
    r = run_cli("data", "check", leaky, "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    leaked_speakers = {s for entry in report["leakage"]["speakers"] for s in entry["speakers"]}
    assert moved_speaker in leaked_speakers
    leaked_ids = {item["id"] for entry in report["leakage"]["audio"] for item in entry["items"]}
    assert {"copied-into-test", train[0].id} <= leaked_ids
    r = run_cli("data", "check", leaky)
    assert r.exit_code == 1
    assert moved_speaker in r.stderr and "copied-into-test" in r.stderr
