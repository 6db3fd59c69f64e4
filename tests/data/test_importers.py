"""Importers on real audio files: a folder per class or file names parsed by --pattern, CSV/TSV tables and
Kaldi data dirs, through the API and the real CLI. Nothing skipped is dropped silently."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import CliResult, write_audio
from speechforge.data.importers import ImportResult, import_csv, import_folder, import_kaldi
from speechforge.data.importers.kaldi import PIPED
from speechforge.data.manifest import read_manifest
from speechforge.errors import SpeechforgeError

Run = Callable[..., CliResult]


def assert_cli_error(res: CliResult, *needles: str) -> str:
    """Exit status 2, one line starting 'error:', no traceback, containing every needle."""
    assert res.exit_code == 2, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def imp(run_cli: Run, kind: str, source: Path, out: Path, *args: str) -> CliResult:
    """``speechforge data import KIND SOURCE --out OUT ARGS``."""
    return run_cli("data", "import", kind, source, "--out", out, *args)


def skipped(result: ImportResult) -> dict[str, str]:
    return {s.item: s.reason for s in result.skipped}


def classes(root: Path, names: tuple[str, ...] = ("yes", "no", "up"), per_class: int = 2) -> Path:
    for label in names:
        for i in range(per_class):
            write_audio(root / label / f"{label}_{i}.wav", seconds=0.2 + 0.1 * i)
    return root


# ---------------------------------------------------------------------------------------------- folder
def test_folder_label_from_class_folder(tmp_path: Path, run_cli: Run) -> None:
    root = classes(tmp_path / "corpus")
    (root / "README.txt").write_text("not audio: listed as skipped")
    (root / "yes" / "notes.md").write_text("listed too")
    write_audio(root / ".trash" / "old.wav")  # hidden folder
    write_audio(root / "no" / ".partial.wav")  # hidden file
    out = tmp_path / "out" / "m.jsonl"

    res = imp(run_cli, "folder", root, out, "--json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["manifest"] == str(out) and report["utterances"] == 6
    assert report["skipped"]["count"] == 2  # not audio: never dropped silently (hidden files are)
    assert [s["item"] for s in report["skipped"]["items"]] == [str(root / "README.txt"), str(root / "yes/notes.md")]
    assert all(s["reason"].startswith("not an audio file") for s in report["skipped"]["items"])
    manifest = read_manifest(out)
    ids = ["no/no_0", "no/no_1", "up/up_0", "up/up_1", "yes/yes_0", "yes/yes_1"]
    assert [u.id for u in manifest] == ids and [u.label for u in manifest] == [i.split("/")[0] for i in ids]
    assert [u.duration for u in manifest][:2] == [pytest.approx(0.2), pytest.approx(0.3)]
    assert json.loads(out.read_text().splitlines()[0])["audio"] == "../corpus/no/no_0.wav"
    assert manifest[0].audio == str((root / "no" / "no_0.wav").resolve())


def test_folder_nested_speaker_folders_belong_to_the_top_class(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write_audio(root / "yes" / "alice" / "1.wav")
    write_audio(root / "yes" / "bob" / "session2" / "1.wav")
    write_audio(root / "no" / "alice" / "1.wav")
    result = import_folder(root)
    got = " ".join(f"{u.id}={u.label}" for u in result.utterances)
    assert got == "no/alice/1=no yes/alice/1=yes yes/bob/session2/1=yes"
    assert result.skipped == []


PATTERN = r"(?P<label>\d)_(?P<speaker>[a-z]+)_(?P<take>\d+)\.wav"


def test_folder_pattern_groups_become_fields(tmp_path: Path, run_cli: Run) -> None:
    root = tmp_path / "rec"
    durations = {"3_alice_07.wav": 0.1, "3_bob_01.wav": 2.5, "7_alice_02.wav": 1.25, "7_carol_10.wav": 0.4}
    for name, seconds in durations.items():
        write_audio(root / name, seconds=seconds, rate=8000)
    out = tmp_path / "m.jsonl"
    res = imp(run_cli, "folder", root, out, "--pattern", PATTERN, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["utterances"] == 4
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    expected = {"id": "3_alice_07", "audio": "rec/3_alice_07.wav", "duration": 0.1, "sample_rate": 8000}
    assert lines[0] == {**expected, "label": "3", "speaker": "alice", "take": "07"}
    by_id = {u.id: u for u in read_manifest(out)}
    for name, seconds in durations.items():
        utt = by_id[name[:-4]]
        assert utt.sample_rate == 8000 and utt.duration == pytest.approx(seconds, abs=1e-6)
        assert (utt.label, utt.speaker, utt.get("take")) == tuple(name[:-4].split("_"))


def test_folder_pattern_non_matching_files_are_skipped_and_listed(tmp_path: Path, run_cli: Run) -> None:
    root = tmp_path / "rec"
    for name in ("1_ann_1.wav", "2_ann_1.wav", "2_bo_3.wav", "noise.wav", "x_ann_1.wav"):
        write_audio(root / name, seconds=0.1)
    (root / "list.txt").write_text("not audio")
    out = tmp_path / "m.jsonl"

    res = imp(run_cli, "folder", root, out, "--pattern", PATTERN, "--json")
    assert res.exit_code == 0, res.stderr
    reason = "file name does not match --pattern"
    items = [{"item": str(root / name), "reason": reason} for name in ("noise.wav", "x_ann_1.wav")]
    skipped = res.json()["skipped"]
    assert skipped["count"] == 3 and skipped["items"][:2] == items
    assert skipped["items"][2]["item"] == str(root / "list.txt")
    human = imp(run_cli, "folder", root, out, "--pattern", PATTERN)
    assert human.exit_code == 0 and human.stdout == ""
    assert "skipped 3 item(s)" in human.stderr and "noise.wav" in human.stderr
    assert "(3 utterances, 3 skipped)" in " ".join(human.stderr.split())


def test_folder_pattern_falls_back_to_the_relative_path(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write_audio(root / "cat" / "ann_1.wav", seconds=0.1)
    write_audio(root / "dog" / "bo_2.flac", seconds=0.1)
    result = import_folder(root, pattern=r"(?P<label>\w+)/(?P<speaker>[a-z]+)_\d+\.(wav|flac)")
    got = [f"{u.id}={u.label},{u.speaker}" for u in result.utterances]
    assert got == ["cat/ann_1=cat,ann", "dog/bo_2=dog,bo"]


@pytest.mark.parametrize(
    ("setup", "args", "needles"),
    [
        ("missing", [], ["folder not found"]),
        ("file", [], ["not a folder"]),
        ("no-audio", [], ["no audio files found (looked for .wav, .flac, .ogg", ".mp3"]),
        ("classes", ["--pattern", "(?P<label>\\d"], ["invalid --pattern", "missing ), unterminated"]),
        ("classes", ["--pattern", r"(\w+)_\d\.wav"], ["has no 'label' group"]),
        ("classes", ["--pattern", r"(?P<label>\d)\.wav"], ["matches none of the 6 audio", "'no_0.wav'"]),
        ("classes", ["--pattern", r"(?P<label>\w+)_(?P<duration>\d)\.wav"], ["group 'duration'"]),
        ("one-class", [], ["a classifier needs at least two classes; found only 'yes' (2 files)"]),
        ("top-level", [], ["none in a class sub-folder (e.g. 'a.wav')", "--pattern"]),
        ("unreadable", [], ["none of the 2 audio files could be read", "empty file (0 bytes)"]),
    ],
)
def test_folder_errors_are_one_line(
    tmp_path: Path, run_cli: Run, setup: str, args: list[str], needles: list[str]
) -> None:
    root = tmp_path / "corpus"
    if setup == "file":
        root.write_text("x")
    elif setup == "no-audio":
        (root / "yes").mkdir(parents=True)
        (root / "yes" / "notes.txt").write_text("x")
    elif setup == "classes":
        classes(root)
    elif setup == "one-class":
        classes(root, names=("yes",))
    elif setup == "top-level":
        write_audio(root / "a.wav")
    elif setup == "unreadable":
        for label in ("yes", "no"):
            (root / label).mkdir(parents=True)
            (root / label / "x.wav").write_bytes(b"")
    res = imp(run_cli, "folder", root, tmp_path / "m.jsonl", *args)
    assert_cli_error(res, str(root), *needles)
    assert not (tmp_path / "m.jsonl").exists()
    with pytest.raises(SpeechforgeError):
        import_folder(root, pattern=args[1] if args else None)


def test_folder_unreadable_files_are_skipped_with_reasons(tmp_path: Path, run_cli: Run) -> None:
    root = classes(tmp_path / "c", names=("yes", "no"), per_class=1)
    (root / "yes" / "empty.wav").write_bytes(b"")
    (root / "yes" / "garbage.flac").write_bytes(bytes(range(256)) * 4)
    sf.write(root / "no" / "nothing.wav", np.zeros(0, dtype=np.float32), 16000)
    (root / "no" / "text.mp3").write_text("I am not an mp3\n" * 10)

    res = imp(run_cli, "folder", root, tmp_path / "m.jsonl", "--json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["utterances"] == 2 and report["skipped"]["count"] == 4
    reasons = {Path(s["item"]).name: s["reason"] for s in report["skipped"]["items"]}
    assert reasons["empty.wav"] == "empty file (0 bytes)"
    assert reasons["nothing.wav"] == "zero-length audio (no samples)"
    assert reasons["garbage.flac"].startswith("cannot decode audio")
    assert reasons["text.mp3"].startswith("cannot decode audio")
    assert [u.id for u in read_manifest(tmp_path / "m.jsonl")] == ["no/no_0", "yes/yes_0"]


def test_folder_mixed_formats_rates_and_channels(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write_audio(root / "a" / "pcm24.wav", seconds=0.3, rate=48000, subtype="PCM_24")
    write_audio(root / "a" / "stereo.flac", seconds=0.4, rate=44100, channels=2)
    write_audio(root / "b" / "vorbis.ogg", seconds=0.5, rate=22050, subtype="VORBIS")
    write_audio(root / "b" / "lame.mp3", seconds=0.6, rate=16000, subtype="MPEG_LAYER_III")
    write_audio(root / "b" / "UPPER.WAV", seconds=0.7, rate=8000)
    result = import_folder(root)
    got = {u.id: (u.label, u.sample_rate, round(u.duration, 3)) for u in result.utterances}
    assert got == {
        "a/pcm24": ("a", 48000, 0.3),
        "a/stereo": ("a", 44100, 0.4),
        "b/vorbis": ("b", 22050, 0.5),
        "b/lame": ("b", 16000, 0.6),
        "b/UPPER": ("b", 8000, 0.7),
    }


def test_folder_same_name_different_extension_keeps_ids_unique(tmp_path: Path) -> None:
    root = classes(tmp_path / "c", names=("x", "y"), per_class=1)
    write_audio(root / "x" / "dup.wav")
    write_audio(root / "x" / "dup.flac")
    ids = [u.id for u in import_folder(root).utterances]
    assert ids == ["x/dup.flac", "x/dup.wav", "x/x_0", "y/y_0"]


def test_folder_many_files_in_worker_processes_keep_order(tmp_path: Path) -> None:
    root = tmp_path / "c"
    for i in range(70):  # above parallel_map's in-process threshold
        write_audio(root / ("ab"[i % 2]) / f"{i:03d}.wav", seconds=0.05 + 0.001 * i)
    (root / "a" / "zzz_broken.wav").write_bytes(b"RIFF")
    parallel = import_folder(root, workers=2, progress=False)
    serial = import_folder(root, workers=1, progress=False)
    assert [u.model_dump() for u in parallel.utterances] == [u.model_dump() for u in serial.utterances]
    assert len(parallel.utterances) == 70
    assert [s.item for s in parallel.skipped] == [str(root / "a" / "zzz_broken.wav")]
    assert parallel.utterances[0].id == "a/000" and parallel.utterances[-1].id == "b/069"


# ------------------------------------------------------------------------------------------------- csv
def test_csv_with_extra_columns(tmp_path: Path, run_cli: Run) -> None:
    a = write_audio(tmp_path / "data" / "clips" / "a.wav", seconds=0.3)
    b = write_audio(tmp_path / "elsewhere" / "b.flac", seconds=0.6, rate=8000)
    table = tmp_path / "data" / "meta.csv"
    table.write_text(f'path,label,who,gender,note,duration\nclips/a.wav,yes,s1,f,"hi, there",9\n{b},no,s2,,,\n')
    out = tmp_path / "m.jsonl"
    args = ("--audio-col", "path", "--label-col", "label", "--speaker-col", "who", "--json")
    res = imp(run_cli, "csv", table, out, *args)
    assert res.exit_code == 0, res.stderr
    assert res.json()["utterances"] == 2 and res.json()["skipped"]["count"] == 0
    first, second = read_manifest(out)
    assert (first.id, first.label, first.speaker) == ("clips/a", "yes", "s1")
    assert first.duration == pytest.approx(0.3)
    assert first.model_extra == {"gender": "f", "note": "hi, there", "csv_duration": "9"}
    assert first.audio == str(a.resolve())
    assert second.id == str(b.with_suffix("")) and second.sample_rate == 8000
    assert second.model_extra == {}  # empty cells are left out


@pytest.mark.parametrize("delimiter", ["\t", ";"], ids=["tab", "semicolon"])
def test_csv_sniffs_tab_and_semicolon_and_uses_id_col(tmp_path: Path, delimiter: str) -> None:
    write_audio(tmp_path / "a.wav")
    write_audio(tmp_path / "b.wav")
    rows = ["file utt sentence spk", "a.wav u1 hello_world s1", "b.wav u2 bye s2"]
    table = tmp_path / "t.tsv"
    table.write_text("\ufeff" + "".join(delimiter.join(r.split()) + "\n" for r in rows))
    result = import_csv(table, audio_col="file", id_col="utt", text_col="sentence", speaker_col="spk")
    assert [f"{u.id}={u.text},{u.speaker}" for u in result.utterances] == ["u1=hello_world,s1", "u2=bye,s2"]
    assert all(u.model_extra == {} for u in result.utterances)


def test_csv_bad_rows_are_skipped_with_file_and_line(tmp_path: Path, run_cli: Run) -> None:
    for name in ("a", "b", "c"):
        write_audio(tmp_path / f"{name}.wav")
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    table = tmp_path / "t.csv"
    table.write_text("audio,label\na.wav,x\n\n,y\nmissing.wav,y\nbroken.wav,y\na.wav,z\nb.wav,y,extra\nc.wav,y\n")
    res = imp(run_cli, "csv", table, tmp_path / "m.jsonl", "--audio-col", "audio", "--json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["utterances"] == 2
    items = {s["item"]: s["reason"] for s in report["skipped"]["items"]}
    assert list(items) == [f"{table}:{n}" for n in (4, 5, 6, 7, 8)]  # in file order; line 3 is blank
    assert items[f"{table}:4"] == "empty audio cell (column 'audio')"
    assert items[f"{table}:5"].startswith("file not found (") and "missing.wav" in items[f"{table}:5"]
    assert items[f"{table}:6"].startswith("cannot decode audio")
    assert items[f"{table}:7"] == f"duplicate id 'a' (first on {table}:2)"
    assert items[f"{table}:8"] == "row has 3 cells but the header has 2"
    assert [u.id for u in read_manifest(tmp_path / "m.jsonl")] == ["a", "c"]


def test_csv_errors(tmp_path: Path, run_cli: Run) -> None:
    table = tmp_path / "t.csv"
    table.write_text("path,label,speaker\na.wav,x,s\n")
    res = imp(run_cli, "csv", table, tmp_path / "m.jsonl", "--audio-col", "audio")
    assert_cli_error(res, str(table), "no column 'audio' (--audio-col); the header has: path, label, speaker")
    res = imp(run_cli, "csv", table, tmp_path / "m.jsonl", "--audio-col", "path", "--label-col", "class")
    assert_cli_error(res, "no column 'class' (--label-col)")
    missing = tmp_path / "nope.csv"
    res = imp(run_cli, "csv", missing, tmp_path / "m.jsonl", "--audio-col", "a")
    assert_cli_error(res, str(missing), "file not found")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    with pytest.raises(SpeechforgeError, match="empty file"):
        import_csv(empty, audio_col="a")
    header_only = tmp_path / "h.csv"
    header_only.write_text("audio\n")
    with pytest.raises(SpeechforgeError, match="not followed by any row"):
        import_csv(header_only, audio_col="audio")
    only_bad = tmp_path / "bad.csv"
    only_bad.write_text("audio\nmissing.wav\n")
    res = imp(run_cli, "csv", only_bad, tmp_path / "m.jsonl", "--audio-col", "audio")
    assert_cli_error(res, "nothing to write: every item was skipped", f"{only_bad}:2", "file not found")


# ----------------------------------------------------------------------------------------------- kaldi
def kaldi_dir(tmp_path: Path, **files: str) -> Path:
    """recipe/data/train with the given files (``wav_scp`` is ``wav.scp``)."""
    data = tmp_path / "recipe" / "data" / "train"
    data.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (data / name.replace("_scp", ".scp")).write_text(text)
    return data


def test_kaldi_wav_scp_utt2spk_text(tmp_path: Path, run_cli: Run) -> None:
    write_audio(tmp_path / "recipe" / "wav" / "r1.wav", seconds=0.5)  # relative to the recipe root
    abs_wav = write_audio(tmp_path / "abs" / "r2.flac", seconds=0.8, rate=8000)
    scp = f"r1 wav/r1.wav\nr2 {abs_wav}\n"
    spk, text, gender = "r1 spkA\nr2 spkB\n", "r1 HELLO  THERE\nr2\n", "spkA f\nspkB m\n"
    data = kaldi_dir(tmp_path, wav_scp=scp, utt2spk=spk, text=text, spk2gender=gender)
    out = tmp_path / "m.jsonl"
    res = imp(run_cli, "kaldi", data, out, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json()["skipped"]["count"] == 0
    r1, r2 = read_manifest(out)
    assert (r1.id, r1.speaker, r1.text, r1.get("gender")) == ("r1", "spkA", "HELLO  THERE", "f")
    assert r1.duration == 0.5
    assert r1.audio == str((tmp_path / "recipe" / "wav" / "r1.wav").resolve())
    assert (r2.id, r2.speaker, r2.text, r2.sample_rate, r2.get("gender")) == ("r2", "spkB", None, 8000, "m")


def test_kaldi_segments_and_utt2label(tmp_path: Path) -> None:
    write_audio(tmp_path / "recipe" / "data" / "train" / "long.wav", seconds=3.0)  # relative to the data dir
    segments = "u1 rec 0.0 1.2\nu2 rec 1.5 2.25\nu3 rec 2.5 -1\nu4 rec 2.0 9.0\nu5 gone 0 1\nu6 rec 1 x\n"
    labels, speakers = "u1 yes\nu2 no\nu3 yes\nu9 no\n", "u1 a\nu2 a b\n"
    data = kaldi_dir(tmp_path, wav_scp="rec long.wav\n", segments=segments, utt2label=labels, utt2spk=speakers)
    result = import_kaldi(data)
    got = [(u.id, u.label, u.offset, round(u.duration, 6), u.speaker) for u in result.utterances]
    assert got == [("u1", "yes", 0.0, 1.2, "a"), ("u2", "no", 1.5, 0.75, None), ("u3", "yes", 2.5, 0.5, None)]
    reasons = skipped(result)
    seg, lab, spk = data / "segments", data / "utt2label", data / "utt2spk"
    assert reasons[f"{seg}:5"] == "recording 'gone' is not in wav.scp"
    assert reasons[f"{seg}:6"].startswith("START and END must be numbers")
    assert reasons[f"{seg}:4"].startswith("segment ends at 9.000s but the file is 3.000s long (")
    assert reasons[f"{lab}:4"] == "utterance 'u9' is in utt2label but not in segments"
    assert reasons[f"{spk}:2"] == "expected 'ID VALUE' (two fields), got 3"
    assert len(result.skipped) == 5
    result.write(tmp_path / "m.jsonl")
    line = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[1])
    assert (line["offset"], line["duration"], line["audio"]) == (1.5, 0.75, "recipe/data/train/long.wav")


def test_kaldi_piped_malformed_and_orphans_are_listed(tmp_path: Path, run_cli: Run) -> None:
    for name in ("a", "b"):
        write_audio(tmp_path / "recipe" / "data" / "train" / f"{name}.wav")
    scp_text = "a a.wav\npiped sox in.sph -t wav - |\nlonely\nb b.wav\nb a.wav\nmiss nothere.wav\n"
    spk = "a s1\nb s2\npiped s3\nghost s4\n"
    data = kaldi_dir(tmp_path, wav_scp=scp_text, utt2spk=spk, text="ghost boo\n")
    out = tmp_path / "m.jsonl"
    res = imp(run_cli, "kaldi", data, out, "--json")
    assert res.exit_code == 0, res.stderr
    items = {s["item"]: s["reason"] for s in res.json()["skipped"]["items"]}
    scp = data / "wav.scp"
    assert items == {
        f"{scp}:2": PIPED,
        f"{scp}:3": "expected 'RECORDING-ID PATH'",
        f"{scp}:5": f"duplicate recording id 'b' (first on {scp}:4)",
        f"{data / 'utt2spk'}:4": "utterance 'ghost' is in utt2spk but not in wav.scp",
        f"{scp}:6": f"file not found ({data / 'nothere.wav'})",
    }
    assert PIPED == "piped wav.scp entries are not supported; convert to files first"
    assert [(u.id, u.speaker) for u in read_manifest(out)] == [("a", "s1"), ("b", "s2")]


def test_kaldi_errors(tmp_path: Path, run_cli: Run) -> None:
    data = kaldi_dir(tmp_path, utt2spk="a b\n")
    res = imp(run_cli, "kaldi", data, tmp_path / "m.jsonl")
    assert_cli_error(res, str(data), "no wav.scp")
    missing = tmp_path / "nope"
    assert_cli_error(imp(run_cli, "kaldi", missing, tmp_path / "m.jsonl"), "folder not found")
    (data / "wav.scp").write_text("\n")
    with pytest.raises(SpeechforgeError, match=r"wav\.scp has no entries"):
        import_kaldi(data)
