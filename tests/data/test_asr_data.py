"""ASR data: the `asr` synthetic corpus (digit strings, sentences) and the LibriSpeech / Common Voice importers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from conftest import CliResult, write_audio
from speechforge.data.asr_corpora import ASR_KINDS, digit_string, sentence, vocabulary
from speechforge.data.corpora import DIGITS, NUMBER_WORDS
from speechforge.data.importers import import_commonvoice, import_librispeech
from speechforge.data.manifest import read_manifest
from speechforge.data.synth import synth
from speechforge.errors import SpeechforgeError

EN_DIGITS = set(DIGITS) | {"oh"}


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------- grammar
def test_grammar_is_seeded_and_has_a_few_hundred_words() -> None:
    first = [sentence(np.random.default_rng([3, i])) for i in range(50)]
    assert first == [sentence(np.random.default_rng([3, i])) for i in range(50)]
    assert len(set(first)) > 40
    words = vocabulary()
    assert 200 <= len(words) <= 600
    rng = np.random.default_rng(0)
    seen: set[str] = set()
    for _ in range(3000):
        text = sentence(rng)
        assert text == text.lower() and "  " not in text and not any(c in text for c in ",.?!")
        seen |= set(text.split())
    assert seen <= words and len(seen) > 200
    for _ in range(200):
        digits = digit_string(rng).split()
        assert 2 <= len(digits) <= 7 and set(digits) <= EN_DIGITS
        fr = digit_string(rng, "fr").split()
        assert 2 <= len(fr) <= 7 and set(fr) <= set(NUMBER_WORDS["fr"])


# ---------------------------------------------------------------------------------------------- synth asr
@pytest.mark.parametrize("kind", ASR_KINDS)
def test_asr_corpus_has_transcripts_and_is_deterministic(tmp_path: Path, kind: str) -> None:
    for name in ("a", "b"):
        synth("asr", tmp_path / name, speakers=2, per_speaker=3, kind=kind, seed=4, workers=1, progress=False)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    manifest = read_manifest(tmp_path / "a" / "manifest.jsonl")
    assert len(manifest) == 6 and {u.speaker for u in manifest} == {"spk000", "spk001"}
    texts = set()
    for utt in manifest:
        assert utt.label is None and utt.language == "en" and utt.text
        words = utt.text.split()
        texts.add(utt.text)
        if kind == "digits":
            assert 2 <= len(words) <= 7 and set(words) <= EN_DIGITS
        else:
            assert len(words) >= 4 and set(words) <= vocabulary()
        info = sf.info(utt.audio)
        assert info.samplerate == 16000 and 0.5 < utt.duration < 8.0
        assert "label" not in (tmp_path / "a" / "manifest.jsonl").read_text(encoding="utf-8")
    assert len(texts) >= 5


def test_asr_digits_in_spanish(tmp_path: Path) -> None:
    result = synth("asr", tmp_path, speakers=1, per_speaker=3, kind="digits", language="es", workers=1, progress=False)
    for utt in read_manifest(result.manifest_path):
        assert utt.language == "es" and set(str(utt.text).split()) <= set(NUMBER_WORDS["es"])
        assert "accent" not in (utt.model_extra or {})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corpus": "digits", "kind": "digits"}, "--kind is for the asr corpus, not digits"),
        ({"corpus": "commands", "language": "es"}, "--language is for the asr corpus, not commands"),
        ({"kind": "poems"}, "unknown --kind 'poems'; choose one of: digits, sentences"),
        ({"kind": "sentences", "language": "es"}, "sentences grammar is English only"),
        ({"language": "xx"}, "unknown language 'xx'"),
    ],
)
def test_asr_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"corpus": "asr", "out": tmp_path / "o", "progress": False, **kwargs}
    with pytest.raises(SpeechforgeError, match=message):
        synth(**args, speakers=1, per_speaker=1)
    assert not (tmp_path / "o").exists()


def test_cli_synth_asr(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "s"
    res = run_cli(
        "data", "synth", "asr", "--out", out, "--kind", "sentences", "--speakers", "1", "--per-speaker", "2", "--json"
    )
    assert res.exit_code == 0, res.stderr
    assert res.json()["utterances"] == 2
    assert all(u.text for u in read_manifest(out / "manifest.jsonl"))
    res = run_cli("data", "synth", "digits", "--out", tmp_path / "d", "--kind", "digits")
    assert res.exit_code == 2 and "--kind is for the asr corpus" in res.stderr


# ---------------------------------------------------------------------------------------------- librispeech
def make_librispeech(root: Path) -> Path:
    chapter = root / "dev-clean" / "1272" / "128104"
    for i in range(3):
        write_audio(chapter / f"1272-128104-000{i}.flac", seconds=0.3 + 0.1 * i, seed=i)
    other = root / "dev-clean" / "84" / "121123"
    write_audio(other / "84-121123-0000.flac", seconds=0.4)
    (chapter / "1272-128104.trans.txt").write_text(
        "1272-128104-0000 MISTER QUILTER IS THE APOSTLE\n"
        "1272-128104-0001 NOR IS MISTER QUILTER'S MANNER\n"
        "1272-128104-0002\n"  # malformed: no transcript
        "1272-128104-0003 HE HAS GRAVE DOUBTS\n",  # no audio
        encoding="utf-8",
    )
    (other / "84-121123.trans.txt").write_text("84-121123-0000 GO DO YOU HEAR\n", encoding="utf-8")
    (root / "SPEAKERS.TXT").write_text(
        "; ID |SEX| SUBSET |MINUTES| NAME\n1272 | M | dev-clean | 25 | John\n84 | F | dev-clean | 8 | Christie\n",
        encoding="utf-8",
    )
    return root


def test_import_librispeech(tmp_path: Path) -> None:
    root = make_librispeech(tmp_path / "LibriSpeech")
    result = import_librispeech(root, progress=False)
    by_id = {u.id: u for u in result.utterances}
    assert set(by_id) == {"1272-128104-0000", "1272-128104-0001", "84-121123-0000"}
    utt = by_id["1272-128104-0001"]
    assert utt.text == "NOR IS MISTER QUILTER'S MANNER" and utt.speaker == "1272"
    assert utt.get("chapter") == "128104" and utt.get("gender") == "m" and utt.language == "en"
    assert abs(utt.duration - 0.4) < 1e-3 and utt.sample_rate == 16000
    assert by_id["84-121123-0000"].get("gender") == "f"
    trans = root / "dev-clean" / "1272" / "128104" / "1272-128104.trans.txt"
    skipped = {s.item: s.reason for s in result.skipped}
    assert set(skipped) == {f"{trans}:3", f"{trans}:4"}
    assert "UTTERANCE-ID TRANSCRIPT" in skipped[f"{trans}:3"] and "audio not found" in skipped[f"{trans}:4"]


def test_import_librispeech_errors(tmp_path: Path) -> None:
    with pytest.raises(SpeechforgeError, match="folder not found"):
        import_librispeech(tmp_path / "nope")
    with pytest.raises(SpeechforgeError, match=r"no \*\.trans\.txt"):
        import_librispeech(tmp_path)


def test_cli_import_librispeech(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    root = make_librispeech(tmp_path / "LibriSpeech")
    res = run_cli("data", "import", "librispeech", root, "--out", tmp_path / "ls.jsonl", "--json")
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["utterances"] == 3 and report["skipped"]["count"] == 2
    assert next(u.text for u in read_manifest(tmp_path / "ls.jsonl")) == "MISTER QUILTER IS THE APOSTLE"


# ---------------------------------------------------------------------------------------------- common voice
CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment\n"


def make_commonvoice(root: Path) -> Path:
    for i in range(2):
        write_audio(root / "clips" / f"common_voice_en_{i}.mp3", seconds=1.0, rate=16000, seed=i)
    (root / "validated.tsv").write_text(
        CV_HEADER
        + 'abc123\tcommon_voice_en_0.mp3\tThe "quick" brown fox.\t2\t0\ttwenties\tmale_masculine\t\ten\t\n'
        + "def456\tcommon_voice_en_1.mp3\tHello there\t3\t1\t\t\tIndia\ten\t\n"
        + "ghi789\tcommon_voice_en_9.mp3\tMissing clip\t2\t0\t\t\t\ten\t\n"
        + "short\trow\n",
        encoding="utf-8",
    )
    (root / "test.tsv").write_text(CV_HEADER, encoding="utf-8")
    return root


def test_import_commonvoice(tmp_path: Path) -> None:
    root = make_commonvoice(tmp_path / "en")
    result = import_commonvoice(root, progress=False)
    by_id = {u.id: u for u in result.utterances}
    assert set(by_id) == {"common_voice_en_0", "common_voice_en_1"}
    first = by_id["common_voice_en_0"]
    assert first.text == 'The "quick" brown fox.' and first.speaker == "abc123" and first.language == "en"
    assert first.get("gender") == "male_masculine" and first.get("age") == "twenties"
    assert first.get("up_votes") == 2 and first.get("accents") is None and first.get("segment") is None
    assert by_id["common_voice_en_1"].get("accents") == "India"
    assert 0.9 < first.duration < 1.2 and first.sample_rate == 16000
    table = root / "validated.tsv"
    skipped = {s.item: s.reason for s in result.skipped}
    assert set(skipped) == {f"{table}:4", f"{table}:5"}
    assert "audio not found" in skipped[f"{table}:4"] and "columns" in skipped[f"{table}:5"]
    with pytest.raises(SpeechforgeError, match=r"no dev\.tsv \(this folder has: test, validated\)"):
        import_commonvoice(root, split="dev")


def test_cli_import_commonvoice(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    root = make_commonvoice(tmp_path / "en")
    res = run_cli("data", "import", "commonvoice", root, "--out", tmp_path / "cv.jsonl")
    assert res.exit_code == 0, res.stderr
    assert "2 utterances, 2 skipped" in res.stderr
    assert {u.speaker for u in read_manifest(tmp_path / "cv.jsonl")} == {"abc123", "def456"}
    res = run_cli("data", "import", "commonvoice", root, "--split", "test", "--out", tmp_path / "t.jsonl")
    assert res.exit_code == 2 and "nothing to write" in res.stderr
