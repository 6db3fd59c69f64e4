"""`data split`: speaker-disjoint and stratified by default, ratios that follow the corpus size, seeded."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CliResult, write_audio
from speechforge.data.manifest import Manifest, Utterance, read_manifest, write_manifest
from speechforge.data.split import auto_ratios, parse_ratios, split
from speechforge.errors import SpeechforgeError

SPLITS = ("train", "train_dev", "dev", "test")


def make_corpus(
    root: Path,
    speakers: int,
    per_speaker: int,
    *,
    label_of: Callable[[int, int], str | None] = lambda s, j: str(j % 3),
    with_speaker: bool = True,
) -> Path:
    """``speakers × per_speaker`` real, distinct wav files and their manifest ``root/manifest.jsonl``."""
    utts = []
    for s in range(speakers):
        for j in range(per_speaker):
            k = s * per_speaker + j
            wav = write_audio(root / "wavs" / f"s{s:02d}_{j:02d}.wav", seconds=0.1, rate=8000, freq=150 + 7 * k, seed=k)
            utts.append(
                Utterance(
                    id=f"s{s:02d}_{j:02d}",
                    audio=str(wav),
                    duration=0.1,
                    sample_rate=8000,
                    label=label_of(s, j),
                    speaker=f"spk{s:02d}" if with_speaker else None,
                )
            )
    return write_manifest(root / "manifest.jsonl", utts)


def speakers_of(splits: dict[str, Manifest]) -> dict[str, set[str | None]]:
    return {name: {u.speaker for u in m} for name, m in splits.items()}


def test_speaker_split_is_disjoint_near_the_ratios_and_written(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=20, per_speaker=6)
    result = split(manifest, tmp_path / "s", ratios="70,15,15", train_dev=0.1, seed=0)

    assert result.by == "speaker" and list(result.splits) == list(SPLITS)
    speakers = speakers_of(result.splits)
    for i, a in enumerate(SPLITS):
        assert speakers[a], f"{a} has no speaker"
        for b in SPLITS[i + 1 :]:
            assert not (speakers[a] & speakers[b]), (a, b)  # train_dev too: whole train speakers held out
    assert sum(len(s) for s in speakers.values()) == 20
    sizes = {name: len(m) for name, m in result.splits.items()}
    assert sum(sizes.values()) == 120
    # targets 75.6 / 8.4 / 18 / 18 utterances; whole speakers of 6 utterances each
    assert sizes == {"train": 78, "train_dev": 6, "dev": 18, "test": 18}
    assert result.ratios == pytest.approx({"train": 0.7, "dev": 0.15, "test": 0.15})

    on_disk = {name: read_manifest(tmp_path / "s" / f"{name}.jsonl") for name in SPLITS}
    assert {n: [u.id for u in m] for n, m in on_disk.items()} == {
        n: [u.id for u in m] for n, m in result.splits.items()
    }
    assert Path(on_disk["dev"][0].audio).is_file()  # relative paths written, resolved on read
    info = json.loads((tmp_path / "s" / "split.json").read_text())
    assert info["by"] == "speaker" and info["seed"] == 0 and info["splits"]["dev"]["utterances"] == 18
    assert result.title() == "speaker-disjoint split 70/15/15 (train_dev 10% of train) of manifest.jsonl (seed 0)"


def test_speaker_split_keeps_label_proportions(tmp_path: Path) -> None:
    """Each speaker has one label (think gender): the greedy must still give every split both labels
    in the corpus proportions (2:1)."""
    manifest = make_corpus(tmp_path / "c", speakers=24, per_speaker=4, label_of=lambda s, j: "a" if s % 3 else "b")
    result = split(manifest, tmp_path / "s", ratios="50,25,25", train_dev=0, seed=3)
    labels = {name: Counter(u.label for u in m) for name, m in result.splits.items()}
    assert labels == {
        "train": Counter({"a": 32, "b": 16}),
        "dev": Counter({"a": 16, "b": 8}),
        "test": Counter({"a": 16, "b": 8}),
    }


def test_same_seed_same_files_other_seed_other_split(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=12, per_speaker=3)
    split(manifest, tmp_path / "a", seed=7)
    split(manifest, tmp_path / "b", seed=7)
    split(manifest, tmp_path / "c2", seed=8)
    for name in SPLITS:
        assert (tmp_path / "a" / f"{name}.jsonl").read_bytes() == (tmp_path / "b" / f"{name}.jsonl").read_bytes()
    dev = {seed: (tmp_path / d / "dev.jsonl").read_text() for seed, d in ((7, "a"), (8, "c2"))}
    assert dev[7] != dev[8]


def test_auto_ratios_follow_the_corpus_size() -> None:
    assert auto_ratios(500) == pytest.approx((0.8, 0.1, 0.1))
    assert auto_ratios(10_000) == pytest.approx((0.8, 0.1, 0.1))
    held = 0.1 / 10**0.5  # 0.0316
    assert auto_ratios(100_000) == pytest.approx((1 - 2 * held, held, held))
    assert auto_ratios(1_000_000) == pytest.approx((0.98, 0.01, 0.01))
    assert auto_ratios(50_000_000) == pytest.approx((0.98, 0.01, 0.01))  # clipped
    assert parse_ratios("auto", 1_000_000) == pytest.approx((0.98, 0.01, 0.01))


def test_explicit_ratios_are_normalised() -> None:
    assert parse_ratios("80,10,10", 10) == pytest.approx((0.8, 0.1, 0.1))
    assert parse_ratios("8, 1, 1", 10) == pytest.approx((0.8, 0.1, 0.1))
    assert parse_ratios("0.6,0.2,0.2", 10) == pytest.approx((0.6, 0.2, 0.2))
    assert parse_ratios("90,10,0", 10) == pytest.approx((0.9, 0.1, 0.0))


@pytest.mark.parametrize("bad", ["80,20", "80,10,10,0", "a,b,c", "0,50,50", "90,-5,15", "nan,1,1"])
def test_bad_ratios_are_a_clear_error(bad: str) -> None:
    with pytest.raises(SpeechforgeError, match=r"--ratios .*three non-negative numbers"):
        parse_ratios(bad, 100)


def test_a_zero_ratio_leaves_that_split_out(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=6, per_speaker=2)
    result = split(manifest, tmp_path / "s", ratios="80,20,0", train_dev=0)
    assert list(result.splits) == ["train", "dev"]
    assert not (tmp_path / "s" / "test.jsonl").exists()


def test_too_few_speakers(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=2, per_speaker=4)
    with pytest.raises(SpeechforgeError) as exc:
        split(manifest, tmp_path / "s", by="speaker", train_dev=0.05)
    assert str(exc.value) == (
        "need at least 3 speakers for train/dev/test (4 with --train-dev), found 2; use --by random"
    )
    three = make_corpus(tmp_path / "c3", speakers=3, per_speaker=4)
    with pytest.raises(SpeechforgeError, match=r"found 3; use --by random or --train-dev 0$"):
        split(three, tmp_path / "s", train_dev=0.05)
    assert sorted(split(three, tmp_path / "s", train_dev=0).splits) == ["dev", "test", "train"]


def test_by_speaker_needs_every_speaker(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=4, per_speaker=2)
    lines = manifest.read_text().splitlines()
    record = json.loads(lines[4])
    del record["speaker"]
    lines[4] = json.dumps(record)
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(SpeechforgeError, match=rf"manifest\.jsonl:5: .*'{record['id']}' has no 'speaker'"):
        split(manifest, tmp_path / "s", by="speaker")
    result = split(manifest, tmp_path / "s")  # default: random when some speakers are unknown
    assert result.by == "random" and any("have no speaker" in n for n in result.notes)


def test_random_split_sizes_and_stratification(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=1, per_speaker=100, label_of=lambda s, j: str(j % 5))
    result = split(manifest, tmp_path / "s", by="random", ratios="80,10,10", train_dev=0.1, seed=1)
    assert result.by == "random" and result.notes == []
    assert {n: len(m) for n, m in result.splits.items()} == {
        "train": 72,
        "train_dev": 8,
        "dev": 10,
        "test": 10,
    }
    assert Counter(u.label for u in result.splits["test"]) == Counter({str(i): 2 for i in range(5)})
    assert Counter(u.label for u in result.splits["dev"]) == Counter({str(i): 2 for i in range(5)})
    ids = [u.id for m in result.splits.values() for u in m]
    assert len(ids) == len(set(ids)) == 100
    assert result.title().startswith("random split 80/10/10")


def test_random_split_falls_back_and_warns_about_unseen_labels(tmp_path: Path) -> None:
    """A label with one utterance cannot be stratified; when it lands outside train, a note says so."""
    manifest = make_corpus(
        tmp_path / "c", speakers=1, per_speaker=40, label_of=lambda s, j: "rare" if j == 0 else str(j % 2)
    )
    for seed in range(30):
        result = split(manifest, tmp_path / "s", by="random", train_dev=0, seed=seed)
        assert any("without stratification" in n for n in result.notes)
        if not any(u.label == "rare" for u in result.splits["train"]):
            where = "dev" if any(u.label == "rare" for u in result.splits["dev"]) else "test"
            assert f"{where} has label(s) absent from train: rare" in result.notes
            break
    else:
        pytest.fail("the rare label never left train")


def test_stratify_field_must_exist(tmp_path: Path) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=6, per_speaker=2)
    with pytest.raises(SpeechforgeError, match=r"--stratify 'gender': no utterance has this field"):
        split(manifest, tmp_path / "s", stratify="gender")
    unlabelled = make_corpus(tmp_path / "u", speakers=6, per_speaker=2, label_of=lambda s, j: None)
    result = split(unlabelled, tmp_path / "s")  # default 'label' on a corpus without labels: a note
    assert result.stratify is None and "no utterance has a label" in result.notes[0]


def test_split_cli_json(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    manifest = make_corpus(tmp_path / "c", speakers=10, per_speaker=4)
    r = run_cli("data", "split", manifest, "--out", tmp_path / "s", "--ratios", "60,20,20", "--seed", "2", "--json")
    assert r.exit_code == 0, r.stderr
    report = r.json()  # stdout holds the JSON object and nothing else
    assert report["by"] == "speaker" and report["seed"] == 2 and report["stratify"] == "label"
    assert list(report["splits"]) == list(SPLITS)
    assert sum(s["utterances"] for s in report["splits"].values()) == 40
    assert report["splits"]["test"]["path"] == str(tmp_path / "s" / "test.jsonl")
    assert json.loads((tmp_path / "s" / "split.json").read_text()) == report

    r = run_cli("data", "split", manifest, "--out", tmp_path / "t", "--stratify", "none", "--train-dev", "0")
    assert r.exit_code == 0 and r.stdout == ""
    assert "speaker-disjoint split 80/10/10 of manifest.jsonl (seed 0)" in " ".join(r.stderr.split())
    assert not (tmp_path / "t" / "train_dev.jsonl").exists()

    r = run_cli("data", "split", manifest, "--out", tmp_path / "u", "--ratios", "80,20")
    assert r.exit_code == 2 and "--ratios '80,20'" in r.stderr
