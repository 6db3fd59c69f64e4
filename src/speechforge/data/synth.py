"""``speechforge data synth``: built-in corpora made offline with eSpeak NG (or Debian's Festival).

A corpus is a set of synthetic *speakers*, each saying ``per_speaker`` utterances spread evenly over the
corpus's labels. A speaker is a fixed voice: an eSpeak variant (``m3``, ``f2``, ...), an English accent
(English corpora), base pitch, pitch range, speaking rate and a vocal-tract-length factor ``vtl`` that
shifts formants and speed together (the 22050 Hz synthesis is resampled to ``16000 * vtl`` Hz and read as
16 kHz). Each take adds a little jitter (rate, pitch, level, leading and trailing silence), so no two takes
are the same. In the ``languages`` corpus every speaker speaks every language, so the language cannot be
told from the voice. The ``asr`` corpus has transcripts (``text``) and no labels: connected digit strings or
sentences from a small grammar (see :mod:`speechforge.data.asr_corpora`).

All randomness comes from ``numpy.random.default_rng`` seeded by (seed, purpose, speaker, utterance), and
eSpeak speaks every utterance from the same clean state (see :mod:`speechforge.data.espeak`): the same seed
gives byte-identical files and manifest whatever the number of workers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.audio.io import resample, write_wav
from speechforge.console import parallel_map
from speechforge.data.asr_corpora import asr_text, check_asr_options
from speechforge.data.corpora import (
    COMMANDS,
    CORPORA,
    DEFAULT_SIZES,
    DIGIT_LABELS,
    DIGITS,
    ENGLISH_ACCENTS,
    ESPEAK_VARIANTS,
    LANGUAGE_WORDS,
    NUMBER_WORDS,
)
from speechforge.data.manifest import Manifest, Utterance, write_manifest
from speechforge.errors import SpeechforgeError

__all__ = ["CORPORA", "ENGINES", "SAMPLE_RATE", "SynthResult", "synth"]

ENGINES = ("espeak", "festival")
SAMPLE_RATE = 16000  # Hz, of every file written
PEAK_DBFS = -3.0  # peak level before the per-take gain jitter (0 to -4 dB)
ESPEAK_VOLUME = 70  # below eSpeak's 100 so that loud variants do not clip before normalisation

# Purposes: each seeds its own random stream, so adding draws to one never changes the others.
_VOICES, _ACCENTS, _SPEAKER, _ORDER, _TAKE, _TEXT = range(6)


@dataclass
class SynthResult:
    """What :func:`synth` made: the manifest written, and the seconds synthesis took."""

    manifest_path: Path
    manifest: Manifest
    seconds: float


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: fixed for all of its utterances."""

    id: str
    voice: str  # eSpeak variant (m3) or Festival voice (kal_diphone)
    accent: str | None  # eSpeak English voice (en-gb-x-rp) for the English corpora, else None
    pitch: int  # eSpeak base pitch 0..100
    range: int  # eSpeak pitch range 0..100
    rate: int  # words per minute
    vtl: float  # vocal-tract-length factor, ~0.92..1.08


@dataclass(frozen=True)
class Take:
    """Everything needed to render one utterance, so that a worker needs nothing else."""

    id: str
    path: Path
    speaker: Speaker
    label: str | None  # None for the asr corpus (transcripts only)
    text: str
    language: str
    engine: str
    rate: int  # the speaker's rate with this take's jitter
    pitch: int  # the speaker's pitch with this take's jitter
    gain_db: float
    lead: float  # seconds of silence before the speech
    trail: float  # and after it
    espeak_seed: int


def synth(
    corpus: str,
    out: str | Path,
    *,
    speakers: int | None = None,
    per_speaker: int | None = None,
    seed: int = 0,
    engine: str = "espeak",
    languages: list[str] | None = None,
    kind: str | None = None,
    language: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SynthResult:
    """Synthesize ``corpus`` (digits | commands | languages | asr) into ``out``: ``wav/<speaker>/<id>.wav``
    (16 kHz mono 16-bit PCM) and ``manifest.jsonl``. ``languages`` picks language codes for the
    ``languages`` corpus; ``kind`` (digits | sentences, default digits) and ``language`` (default en) are
    for the ``asr`` corpus. Raises :class:`SpeechforgeError` for bad arguments or a missing engine."""
    out = Path(out)
    default_speakers, default_per_speaker = _check_arguments(corpus, out, engine, seed)
    for option, given in (("kind", kind), ("language", language)):
        if given is not None and corpus != "asr":
            raise SpeechforgeError(f"--{option} is for the asr corpus, not {corpus}")
    kind, language = kind or "digits", language or "en"
    if corpus == "asr":
        check_asr_options(kind, language)
        if engine == "festival" and language != "en":
            raise SpeechforgeError("the Festival engine speaks English only: use --engine espeak for --language")
    speakers = default_speakers if speakers is None else speakers
    per_speaker = default_per_speaker if per_speaker is None else per_speaker
    for name, value in (("speakers", speakers), ("per-speaker", per_speaker)):
        if value < 1:
            raise SpeechforgeError(f"--{name} must be at least 1 (got {value})")
    labels = corpus_labels(corpus, languages)
    cast = make_speakers(corpus, speakers, seed, engine, language=language)
    takes = plan_takes(corpus, out, cast, labels, per_speaker, seed, engine, kind=kind, language=language)
    start = time.perf_counter()
    utterances = parallel_map(
        render_take, takes, workers=workers, description=f"synthesizing {corpus}", progress=progress
    )
    seconds = time.perf_counter() - start
    manifest_path = write_manifest(out / "manifest.jsonl", utterances)
    lines = list(range(1, len(utterances) + 1))
    return SynthResult(manifest_path, Manifest(utterances, path=manifest_path, lines=lines), seconds)


def _check_arguments(corpus: str, out: Path, engine: str, seed: int) -> tuple[int, int]:
    """Reject what cannot work before any audio is made; return the corpus's default size."""
    if corpus not in CORPORA:
        raise SpeechforgeError(f"unknown corpus '{corpus}'; choose one of: {', '.join(CORPORA)}")
    if engine not in ENGINES:
        raise SpeechforgeError(f"unknown engine '{engine}'; choose one of: {', '.join(ENGINES)}")
    if out.exists() and not out.is_dir():
        raise SpeechforgeError("--out must be a folder, but this is an existing file", path=out)
    if seed < 0:
        raise SpeechforgeError(f"--seed must be 0 or more (got {seed})")
    if engine == "festival":
        from speechforge.data.festival import text2wave_path

        if corpus == "languages":
            raise SpeechforgeError(
                "the Festival engine speaks English only: use it for digits or commands, "
                "and --engine espeak for languages"
            )
        text2wave_path()
    return DEFAULT_SIZES[corpus]


def corpus_labels(corpus: str, languages: list[str] | None) -> tuple[str, ...]:
    """The labels of ``corpus``: "0".."9" for digits, words for commands, language codes for languages,
    none for asr."""
    labels: tuple[str, ...]
    if corpus == "asr":
        labels = ()
    elif corpus == "digits":
        labels = DIGIT_LABELS
    elif corpus == "commands":
        labels = COMMANDS
    else:
        labels = tuple(NUMBER_WORDS)
    if languages is None:
        return labels
    if corpus != "languages":
        raise SpeechforgeError(f"--languages is for the languages corpus, not {corpus}")
    unknown = [code for code in languages if code not in NUMBER_WORDS]
    if unknown or not languages:
        raise SpeechforgeError(
            f"unknown language(s) {', '.join(unknown) or '(none given)'}; available: {', '.join(NUMBER_WORDS)}"
        )
    return tuple(dict.fromkeys(languages))  # given order, duplicates dropped


def make_speakers(corpus: str, count: int, seed: int, engine: str = "espeak", *, language: str = "en") -> list[Speaker]:
    """``count`` speakers: voices and accents dealt from seeded shuffles (all distinct before any
    repeats), pitch, range, rate and vocal-tract length drawn per speaker. English accents only for English
    corpora (``language`` is the asr corpus's)."""
    if engine == "festival":
        from speechforge.data.festival import festival_voices

        voices: tuple[str, ...] = tuple(festival_voices())
    else:
        voices = ESPEAK_VARIANTS
    voice_order = np.random.default_rng([seed, _VOICES]).permutation(len(voices))
    accent_order = np.random.default_rng([seed, _ACCENTS]).permutation(len(ENGLISH_ACCENTS))
    english = corpus != "languages" and engine == "espeak" and language == "en"
    cast = []
    for s in range(count):
        rng = np.random.default_rng([seed, _SPEAKER, s])
        cast.append(
            Speaker(
                id=f"spk{s:03d}",
                voice=voices[voice_order[s % len(voices)]],
                accent=ENGLISH_ACCENTS[accent_order[s % len(ENGLISH_ACCENTS)]] if english else None,
                pitch=int(rng.integers(30, 71)),
                range=int(rng.integers(20, 81)),
                rate=int(rng.integers(140, 201)),
                vtl=round(float(rng.uniform(0.92, 1.08)), 4),
            )
        )
    return cast


def plan_takes(
    corpus: str,
    out: Path,
    cast: list[Speaker],
    labels: tuple[str, ...],
    per_speaker: int,
    seed: int,
    engine: str = "espeak",
    *,
    kind: str = "digits",
    language: str = "en",
) -> list[Take]:
    """Every utterance of the corpus, in speaker order: labels spread evenly (each label ``per_speaker /
    len(labels)`` times, the remainder to a seeded few) in a seeded order, plus each take's jitter.
    The asr corpus has no labels: each take's transcript is drawn (``kind``, ``language``) from its own
    seeded stream."""
    takes = []
    slots = max(1, len(labels))  # the asr corpus: one unlabelled slot
    for s, speaker in enumerate(cast):
        order_rng = np.random.default_rng([seed, _ORDER, s])
        rounds = math.ceil(per_speaker / slots)
        order = np.concatenate([order_rng.permutation(slots) for _ in range(rounds)])[:per_speaker]
        for u, label_index in enumerate(order):
            rng = np.random.default_rng([seed, _TAKE, s, u])
            label: str | None = labels[label_index] if labels else None
            if label is None:
                text, take_language = asr_text(kind, language, np.random.default_rng([seed, _TEXT, s, u])), language
            elif corpus == "languages":
                words = NUMBER_WORDS[label]
                count = int(rng.integers(LANGUAGE_WORDS[0], LANGUAGE_WORDS[1] + 1))
                text, take_language = " ".join(words[i] for i in rng.integers(0, len(words), count)), label
            elif corpus == "digits":
                text, take_language = DIGITS[int(label)], "en"
            else:
                text, take_language = label, "en"
            utt_id = f"{speaker.id}_{u:03d}" if label is None else f"{speaker.id}_{u:03d}_{label}"
            takes.append(
                Take(
                    id=utt_id,
                    path=out / "wav" / speaker.id / f"{utt_id}.wav",
                    speaker=speaker,
                    label=label,
                    text=text,
                    language=take_language,
                    engine=engine,
                    rate=round(speaker.rate * rng.uniform(0.95, 1.05)),
                    pitch=int(np.clip(speaker.pitch + rng.integers(-3, 4), 0, 100)),
                    gain_db=round(float(rng.uniform(-4.0, 0.0)), 3),
                    lead=round(float(rng.uniform(0.05, 0.2)), 4),
                    trail=round(float(rng.uniform(0.05, 0.2)), 4),
                    espeak_seed=int(rng.integers(1, 2**31 - 1)),
                )
            )
    return takes


def render_take(take: Take) -> Utterance:
    """Synthesize one take, post-process it, write its wav file and return its manifest record.
    Runs in a worker process (module-level so that it can be pickled)."""
    waveform, rate = speak_take(take)  # (time,)
    audio = finish_audio(waveform, rate, take)  # (time,) at SAMPLE_RATE
    write_wav(take.path, audio, SAMPLE_RATE)
    speaker = take.speaker
    extra: dict[str, Any] = {"voice": speaker.voice, "pitch": speaker.pitch, "rate": speaker.rate}
    if take.engine == "festival":
        del extra["pitch"]  # Festival's pitch is the voice's own
    if speaker.accent is not None:
        extra["accent"] = speaker.accent
    extra["vtl"] = speaker.vtl
    return Utterance(
        id=take.id,
        audio=str(take.path.resolve()),
        duration=len(audio) / SAMPLE_RATE,
        sample_rate=SAMPLE_RATE,
        label=take.label,
        text=take.text,
        speaker=speaker.id,
        language=take.language,
        **extra,
    )


def speak_take(take: Take) -> tuple[np.ndarray, int]:
    """The engine's raw speech for ``take``: ``(waveform (time,), sample_rate)``."""
    if take.engine == "festival":
        from speechforge.data.festival import festival_synthesize

        return festival_synthesize(take.text, take.speaker.voice, take.rate)
    from speechforge.data.espeak import ESPEAK_RATE, Voice, synthesize

    speaker = take.speaker
    voice = Voice(speaker.accent or take.language, speaker.voice, take.pitch, speaker.range, take.rate)
    return synthesize(take.text, voice, seed=take.espeak_seed, volume=ESPEAK_VOLUME), ESPEAK_RATE


def finish_audio(waveform: np.ndarray, rate: int, take: Take) -> np.ndarray:
    """Trim the engine's own silence, apply the speaker's vocal-tract length (resample to ``16000 * vtl``
    and read as 16 kHz), normalise the peak to ``PEAK_DBFS + gain_db`` and pad the take's silences."""
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    voiced = np.flatnonzero(np.abs(waveform) > 0.01 * peak) if peak > 0 else np.zeros(0, dtype=np.int64)
    if voiced.size == 0 or voiced[-1] - voiced[0] < 0.1 * rate:
        raise SpeechforgeError(f"the {take.engine} engine produced no speech for {take.text!r} ({take.id})")
    speech = waveform[voiced[0] : voiced[-1] + 1]  # (time,)
    speech = resample(speech, rate, round(SAMPLE_RATE * take.speaker.vtl))  # (time,) read as 16 kHz
    speech = speech * (10.0 ** ((PEAK_DBFS + take.gain_db) / 20.0) / float(np.max(np.abs(speech))))
    lead = np.zeros(round(take.lead * SAMPLE_RATE), dtype=np.float32)
    trail = np.zeros(round(take.trail * SAMPLE_RATE), dtype=np.float32)
    return np.concatenate([lead, speech.astype(np.float32), trail])  # (time,)
