"""The manifest contract: JSON Lines round trip, relative paths on disk, and errors that name path:line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import write_audio
from speechforge.data.manifest import Manifest, Utterance, read_manifest, write_manifest
from speechforge.errors import ManifestError, SpeechforgeError


def record(utt_id: str = "a", **fields: object) -> dict[str, object]:
    """A valid manifest record; ``fields`` override or add."""
    base: dict[str, object] = {
        "id": utt_id,
        "audio": f"wavs/{utt_id}.wav",
        "duration": 1.5,
        "sample_rate": 16000,
    }
    base.update(fields)
    return base


def write_lines(path: Path, *lines: object, prefix: str = "") -> Path:
    """Write ``lines`` (dicts as JSON, strings verbatim) one per line."""
    text = "".join((json.dumps(x) if isinstance(x, dict) else str(x)) + "\n" for x in lines)
    path.write_text(prefix + text, encoding="utf-8")
    return path


def test_round_trip_keeps_records_and_extra_fields(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    wav = write_audio(corpus / "wavs" / "a.wav")
    utts = [
        Utterance.model_validate(
            {
                "id": "a",
                "audio": str(wav),
                "duration": 0.5,
                "sample_rate": 16000,
                "label": "yes",
                "speaker": "s1",
                "take": "03",
                "snr": 12.5,
            }
        ),
        Utterance(
            id="b",
            audio=str(corpus / "wavs" / "b.flac"),
            duration=2.25,
            sample_rate=8000,
            text="hello world",
            offset=0.75,
            language="en",
        ),
    ]
    path = write_manifest(corpus / "manifest.jsonl", utts)
    assert not (corpus / "manifest.jsonl.tmp").exists()  # written atomically

    on_disk = [json.loads(line) for line in path.read_text().splitlines()]
    assert on_disk[0] == {
        "id": "a",
        "audio": "wavs/a.wav",
        "duration": 0.5,
        "sample_rate": 16000,
        "label": "yes",
        "speaker": "s1",
        "take": "03",
        "snr": 12.5,
    }
    assert on_disk[1]["audio"] == "wavs/b.flac" and on_disk[1]["offset"] == 0.75
    assert "label" not in on_disk[1] and "offset" not in on_disk[0]  # None and zero offset left out

    back = read_manifest(path)
    assert len(back) == 2 and back.lines == [1, 2] and back.problems == []
    assert [u.model_dump() for u in back] == [u.model_dump() for u in utts]
    assert back[0].get("take") == "03" and back[0].get("snr") == 12.5 and back[0].get("missing", 7) == 7
    assert back[0].get("label") == "yes"
    assert Path(back[0].audio).is_absolute() and back[0].audio == str(wav)
    assert back.name == "manifest" and back.hours == pytest.approx(2.75 / 3600)
    assert back.where(1) == f"{path}:2"


def test_absolute_paths_when_asked(tmp_path: Path) -> None:
    wav = tmp_path / "x" / "a.wav"
    utt = Utterance(id="a", audio=str(wav), duration=1, sample_rate=16000)
    path = write_manifest(tmp_path / "m.jsonl", [utt], absolute_paths=True)
    assert json.loads(path.read_text())["audio"] == str(wav)


def test_moving_the_corpus_folder_keeps_the_manifest_working(tmp_path: Path) -> None:
    old = tmp_path / "old"
    wav = write_audio(old / "audio" / "yes" / "1.wav")
    write_manifest(old / "manifest.jsonl", [Utterance(id="1", audio=str(wav), duration=0.5, sample_rate=16000)])
    new = tmp_path / "elsewhere" / "new"
    new.parent.mkdir()
    shutil.move(str(old), str(new))

    moved = read_manifest(new / "manifest.jsonl")
    assert moved[0].audio == str((new / "audio" / "yes" / "1.wav").resolve())
    assert Path(moved[0].audio).is_file()


def test_manifest_in_a_sibling_folder_gets_dotdot_paths(tmp_path: Path) -> None:
    wav = write_audio(tmp_path / "audio" / "a.wav")
    path = write_manifest(
        tmp_path / "splits" / "train.jsonl",
        [Utterance(id="a", audio=str(wav), duration=0.5, sample_rate=16000)],
    )
    assert json.loads(path.read_text())["audio"] == "../audio/a.wav"
    assert read_manifest(path)[0].audio == str(wav)
    assert read_manifest(path).name == "train"


def test_line_that_is_not_json_names_path_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", record("a"), '{"id": "b", "audio": ', record("c"))
    with pytest.raises(ManifestError, match="not valid JSON") as exc:
        read_manifest(path)
    assert str(exc.value).startswith(f"{path}:2: ")
    assert exc.value.line == 2 and exc.value.path == str(path)


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", "[1, 2, 3]")
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: expected a JSON object, got list"):
        read_manifest(path)


def test_missing_duration_names_the_field_and_line(tmp_path: Path) -> None:
    bad = record("b")
    del bad["duration"]
    path = write_lines(tmp_path / "m.jsonl", record("a"), bad)
    with pytest.raises(ManifestError) as exc:
        read_manifest(path)
    assert str(exc.value) == f"{path}:2: missing field 'duration'"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"duration": "long"}, "field 'duration': Input should be a valid number"),
        ({"duration": -1.0}, "field 'duration': Input should be greater than 0"),
        ({"duration": 0}, "field 'duration': Input should be greater than 0"),
        ({"sample_rate": 16000.5}, "field 'sample_rate': Input should be a valid integer"),
        ({"id": ["a"]}, "field 'id': Input should be a valid string"),
        ({"id": ""}, "field 'id': String should have at least 1 character"),
        ({"offset": -0.5}, "field 'offset': Input should be greater than or equal to 0"),
        ({"label": {"x": 1}}, "field 'label': Input should be a valid string"),
    ],
)
def test_wrong_types_name_the_field_and_line(tmp_path: Path, fields: dict[str, object], message: str) -> None:
    path = write_lines(tmp_path / "m.jsonl", record("ok"), record("bad", **fields))
    with pytest.raises(ManifestError) as exc:
        read_manifest(path)
    assert str(exc.value).startswith(f"{path}:2: {message}")


def test_numbers_are_accepted_as_strings_for_ids_and_labels(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", record(7, label=3, speaker=12))  # type: ignore[arg-type]
    utt = read_manifest(path)[0]
    assert (utt.id, utt.label, utt.speaker) == ("7", "3", "12")


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", record("a"), record("b"), record("a"))
    with pytest.raises(ManifestError) as exc:
        read_manifest(path)
    assert str(exc.value) == f"{path}:3: duplicate id 'a' (first seen on line 1)"


def test_required_field_with_purpose(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", record("a", label="yes"), record("b"), record("c", label=""))
    with pytest.raises(ManifestError) as exc:
        read_manifest(path, required=("label",), purpose="classification")
    assert str(exc.value).startswith(f"{path}:2: missing field 'label' (needed for classification)")
    assert "(and 1 more bad line;" in str(exc.value)  # line 3's empty label counts too
    assert len(read_manifest(path)) == 3  # without `required` all three are fine


def test_lenient_read_collects_every_problem(tmp_path: Path) -> None:
    no_duration = record("c")
    del no_duration["duration"]
    path = write_lines(tmp_path / "m.jsonl", record("a"), "not json", no_duration, record("a"), record("d"))
    with pytest.raises(ManifestError, match=r"m\.jsonl:2: .*\(and 2 more bad lines; `speechforge data check"):
        read_manifest(path)

    manifest = read_manifest(path, strict=False)
    assert [u.id for u in manifest] == ["a", "d"]
    assert manifest.lines == [1, 5]
    assert [p.line for p in manifest.problems] == [2, 3, 4]
    assert manifest.problems[1].to_dict() == {"line": 3, "message": "missing field 'duration'"}
    assert "duplicate id 'a'" in manifest.problems[2].message


def test_empty_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text("\n\n")
    with pytest.raises(ManifestError) as exc:
        read_manifest(path)
    assert str(exc.value) == f"{path}: manifest has no utterances"
    lenient = read_manifest(path, strict=False)
    assert len(lenient) == 0 and lenient.problems == []


def test_missing_manifest_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found") as exc:
        read_manifest(tmp_path / "nope.jsonl")
    assert isinstance(exc.value, SpeechforgeError)
    with pytest.raises(ManifestError, match="is a folder"):
        read_manifest(tmp_path)


def test_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.jsonl", record("a"), "", "   ", record("b"), "", prefix="\ufeff")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    manifest = read_manifest(path)
    assert [u.id for u in manifest] == ["a", "b"]
    assert manifest.lines == [1, 4]  # line numbers still count the blank lines
    assert manifest.line_of(1) == 4 and manifest.line_of(5) == 0


def test_crlf_line_endings_and_unicode(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes((json.dumps(record("ü", text="grüß dich"), ensure_ascii=False) + "\r\n").encode())
    utt = read_manifest(path)[0]
    assert (utt.id, utt.text) == ("ü", "grüß dich")
    write_manifest(path, [utt])
    assert "grüß dich" in path.read_text(encoding="utf-8")  # written as UTF-8, not \\u escapes


def test_in_memory_manifest_helpers(tmp_path: Path) -> None:
    utts = [Utterance(id=str(i), audio=str(tmp_path / f"{i}.wav"), duration=1800, sample_rate=16000) for i in range(3)]
    manifest = Manifest(utterances=utts)
    assert manifest.name == "manifest" and manifest.hours == pytest.approx(1.5)
    assert manifest.where(2) == "record 3" and manifest.line_of(0) == 0
    assert [u.id for u in manifest] == ["0", "1", "2"]


def test_a_segment_starting_at_zero_stays_a_segment(tmp_path: Path) -> None:
    """``offset: 0`` written explicitly (a Kaldi segment at the start of its recording) must survive a round
    trip, so readers decode only ``[0, duration)`` and not the whole file."""
    from speechforge.data.dataset import UtteranceDataset

    wav = write_audio(tmp_path / "rec.wav", seconds=2.0)
    seg = Utterance(id="seg", audio=str(wav), duration=0.5, sample_rate=16000, offset=0.0)
    whole = Utterance(id="whole", audio=str(wav), duration=2.0, sample_rate=16000)
    path = write_manifest(tmp_path / "m.jsonl", [seg, whole])
    assert '"offset": 0.0' in path.read_text().splitlines()[0] and "offset" not in path.read_text().splitlines()[1]
    manifest = read_manifest(path)
    assert manifest[0].is_segment and not manifest[1].is_segment
    dataset = UtteranceDataset(manifest, sample_rate=16000, progress=False)
    assert [dataset[i].waveform.shape[0] for i in range(2)] == [8000, 32000]
