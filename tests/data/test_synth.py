"""`data synth`: real eSpeak NG audio, seeded to the byte, spread over speakers, labels and languages."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from conftest import CliResult
from speechforge.data.corpora import COMMANDS, DIGIT_LABELS, DIGITS, NUMBER_WORDS
from speechforge.data.espeak import Voice, synthesize
from speechforge.data.manifest import read_manifest
from speechforge.data.synth import corpus_labels, make_speakers, plan_takes, render_take, synth
from speechforge.errors import SpeechforgeError

# Unicode blocks of the scripts the Indian languages must be written in.
SCRIPTS = {"hi": (0x0900, 0x097F), "ta": (0x0B80, 0x0BFF), "te": (0x0C00, 0x0C7F)}


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def f0_estimate(x: np.ndarray, rate: int) -> float:
    """A crude pitch (Hz) of the loudest 100 ms of ``x`` ``(time,)``, by autocorrelation."""
    n = rate // 10
    start = int(np.argmax(np.convolve(x**2, np.ones(n), "valid")))
    seg = x[start : start + n] - x[start : start + n].mean()
    ac = np.correlate(seg, seg, "full")[n - 1 :]
    lo, hi = rate // 400, rate // 60
    return rate / (lo + int(np.argmax(ac[lo:hi])))


# ---------------------------------------------------------------------------------------------- corpora
def test_digits_manifest_and_audio(tmp_path: Path) -> None:
    result = synth("digits", tmp_path / "d", speakers=3, per_speaker=4, seed=1, workers=1, progress=False)
    manifest = read_manifest(result.manifest_path)
    assert len(manifest) == 12 and result.seconds > 0
    assert {u.speaker for u in manifest} == {"spk000", "spk001", "spk002"}
    for utt in manifest:
        assert utt.label in DIGIT_LABELS and utt.text == DIGITS[int(utt.label)] and utt.language == "en"
        assert {"voice", "pitch", "rate", "accent", "vtl"} <= set(utt.model_extra or {})
        assert Path(utt.audio) == tmp_path / "d" / "wav" / str(utt.speaker) / f"{utt.id}.wav"
        info = sf.info(utt.audio)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.2 < utt.duration < 4.0 and abs(info.frames / 16000 - utt.duration) < 1e-6
        x, _ = sf.read(utt.audio, dtype="float32")
        peak_db = 20 * np.log10(np.abs(x).max())
        assert -7.5 < peak_db < -2.5  # -3 dBFS with up to 4 dB of gain jitter
        assert np.abs(x[:800]).max() == 0 and np.abs(x[-800:]).max() == 0  # >= 50 ms of silence each side
        assert np.sqrt(np.mean(x**2)) > 0.01  # not silent


def test_commands_have_at_least_twelve_words_spread_evenly() -> None:
    assert len(COMMANDS) >= 12 and {"yes", "no", "up", "down", "left", "right", "stop", "go"} <= set(COMMANDS)
    cast = make_speakers("commands", 2, seed=0)
    takes = plan_takes("commands", Path("out"), cast, corpus_labels("commands", None), 37, seed=0)
    for speaker in cast:
        counts = Counter(t.label for t in takes if t.speaker == speaker)
        assert sum(counts.values()) == 37 and set(counts) == set(COMMANDS)
        assert max(counts.values()) - min(counts.values()) <= 1


def test_speakers_differ_in_voice_and_sound(tmp_path: Path) -> None:
    cast = make_speakers("digits", 16, seed=0)
    assert len({s.voice for s in cast}) == 16  # distinct variants before any repeats
    assert len({(s.voice, s.pitch, s.rate, s.vtl) for s in cast}) == 16
    assert all(0.92 <= s.vtl <= 1.08 for s in cast)
    # The same word from a low and a high voice: different pitch, measurably.
    takes = plan_takes("digits", tmp_path, cast, DIGIT_LABELS, 10, seed=0)
    low = min(cast, key=lambda s: (s.voice.startswith("f"), s.pitch))
    high = max(cast, key=lambda s: (s.voice.startswith("f"), s.pitch))
    f0 = {}
    for speaker in (low, high):
        take = next(t for t in takes if t.speaker == speaker and t.text == "zero")
        utt = render_take(take)
        x, rate = sf.read(utt.audio, dtype="float32")
        f0[speaker.id] = f0_estimate(x, rate)
    assert f0[high.id] > 1.3 * f0[low.id]


def test_languages_native_script_and_every_speaker_speaks_every_language(tmp_path: Path) -> None:
    result = synth(
        "languages",
        tmp_path / "l",
        speakers=2,
        per_speaker=6,
        languages=["hi", "ta", "te"],
        workers=1,
        progress=False,
    )
    manifest = read_manifest(result.manifest_path)
    assert Counter((u.speaker, u.label) for u in manifest) == {
        (s, lang): 2 for s in ("spk000", "spk001") for lang in ("hi", "ta", "te")
    }
    for utt in manifest:
        language = str(utt.language)
        assert utt.label == language
        words = str(utt.text).split()
        assert 3 <= len(words) <= 6 and set(words) <= set(NUMBER_WORDS[language])
        lo, hi = SCRIPTS[language]
        assert all(lo <= ord(c) <= hi for c in "".join(words))
        assert 0.5 < utt.duration < 4.0
        assert "accent" not in (utt.model_extra or {})


def test_default_languages_include_indian_languages() -> None:
    labels = corpus_labels("languages", None)
    assert len(labels) >= 6 and {"hi", "ta", "te", "en", "es", "fr", "de"} <= set(labels)
    assert corpus_labels("languages", ["te", "hi", "te"]) == ("te", "hi")


# ---------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    # 64 takes: enough for parallel_map to use worker processes.
    for name, workers, seed in (("a", 1, 7), ("b", 2, 7), ("c", 2, 8)):
        synth(
            "commands",
            tmp_path / name,
            speakers=4,
            per_speaker=16,
            seed=seed,
            workers=workers,
            progress=False,
        )
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert len(a) == 65 and a == b
    c = files_of(tmp_path / "c")
    assert a["manifest.jsonl"] != c["manifest.jsonl"]


def test_rerun_into_the_same_folder_overwrites_identically(tmp_path: Path) -> None:
    synth("digits", tmp_path, speakers=1, per_speaker=2, workers=1, progress=False)
    first = files_of(tmp_path)
    synth("digits", tmp_path, speakers=1, per_speaker=2, workers=1, progress=False)
    assert files_of(tmp_path) == first


def test_espeak_does_not_depend_on_what_was_said_before() -> None:
    voice = Voice("en-us", "m3", 50, 50, 170)
    first = synthesize("seven eight", voice, seed=3)
    synthesize("शून्य एक दो", Voice("hi", "f2", 70, 80, 120), seed=9)
    assert np.array_equal(first, synthesize("seven eight", voice, seed=3))
    with pytest.raises(SpeechforgeError, match="no voice 'xx-nope\\+m3'"):
        synthesize("seven", Voice("xx-nope", "m3", 50, 50, 170))


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"corpus": "vowels"}, "unknown corpus 'vowels'; choose one of: digits, commands, languages"),
        ({"engine": "sapi"}, "unknown engine 'sapi'; choose one of: espeak, festival"),
        ({"speakers": 0}, "--speakers must be at least 1"),
        ({"per_speaker": 0}, "--per-speaker must be at least 1"),
        ({"seed": -1}, "--seed must be 0 or more"),
        ({"corpus": "languages", "languages": ["hi", "xx"]}, "unknown language.*xx; available: en, es"),
        ({"languages": ["hi"]}, "--languages is for the languages corpus"),
        ({"corpus": "languages", "engine": "festival"}, "Festival engine speaks English only"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"corpus": "digits", "out": tmp_path / "o", "progress": False, **kwargs}
    with pytest.raises(SpeechforgeError, match=message):
        synth(**args)
    assert not (tmp_path / "o" / "manifest.jsonl").exists()


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    target = tmp_path / "corpus"
    target.write_text("not a folder")
    with pytest.raises(SpeechforgeError, match="--out must be a folder"):
        synth("digits", target, speakers=1, per_speaker=1)


def test_festival_missing_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpeechforgeError, match=r"Festival is not installed \(apt-get install festival"):
        synth("digits", tmp_path / "o", engine="festival", speakers=1, per_speaker=1)


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="Festival (text2wave) is not installed")
def test_festival_digits(tmp_path: Path) -> None:
    for name in ("a", "b"):
        synth("digits", tmp_path / name, speakers=2, per_speaker=3, engine="festival", workers=1, progress=False)
    for utt in read_manifest(tmp_path / "a" / "manifest.jsonl"):
        assert utt.label in DIGIT_LABELS and 0.2 < utt.duration < 4.0
        assert sf.info(utt.audio).samplerate == 16000
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_synth(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    out = tmp_path / "digits"
    res = run_cli("data", "synth", "digits", "--out", out, "--speakers", "2", "--per-speaker", "3")
    assert res.exit_code == 0, res.stderr
    assert "synthesized digits corpus" in res.stderr and res.stdout == ""
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6 and json.loads(lines[0])["speaker"] == "spk000"
    res = run_cli(
        "data",
        "synth",
        "languages",
        "--out",
        tmp_path / "l",
        "--speakers",
        "1",
        "--per-speaker",
        "3",
        "--languages",
        "hi,ta,te",
        "--json",
    )
    assert res.exit_code == 0, res.stderr
    report = res.json()
    assert report["utterances"] == 3 and report["languages"] == {"hi": 1, "ta": 1, "te": 1}
    assert Path(report["manifest"]) == tmp_path / "l" / "manifest.jsonl" and report["seconds"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vowels"], "unknown corpus 'vowels'"),
        (["languages", "--languages", "hi,zz"], "unknown language(s) zz"),
        (["digits", "--engine", "sapi"], "unknown engine 'sapi'"),
    ],
)
def test_cli_bad_input_is_one_line(
    tmp_path: Path, run_cli: Callable[..., CliResult], args: list[str], message: str
) -> None:
    res = run_cli("data", "synth", *args, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
