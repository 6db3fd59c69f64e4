"""A small ctypes binding to eSpeak NG, the offline formant synthesizer behind ``data synth``.

Hand-written on purpose: no maintained Python binding ships its own ``libespeak-ng`` (they expect a system
install, which needs root), while the PyPI package ``espeakng-loader`` ships the shared library and its
voice data but no API. So we load that library with ctypes and call the few functions we need.

Determinism. eSpeak NG keeps hidden state from one utterance to the next (the pitch-flutter phase, the
automatic gain, the roughness cycle counter, its random generator), so the same text with the same voice
and parameters sounds slightly different depending on what was spoken before. Most variants (m1..m8,
f1..f5, croak, ...) are affected, not only the ``klatt*`` ones. :func:`synthesize` therefore speaks each
utterance in a forked child of a process whose engine was initialised but has never spoken: every
utterance starts from the same state whatever ran before it and in whichever worker, and the random
generator is seeded per utterance. We initialise in synchronous mode (no background thread), which is
what makes forking safe. A fork costs a few milliseconds; eSpeak itself needs about as much.

eSpeak NG is process-global (one voice, one set of parameters, one callback per process): there is one
:class:`EspeakEngine` per process (:func:`get_engine`), and it is not thread-safe.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from speechforge.errors import SpeechforgeError

ESPEAK_RATE = 22050  # Hz; what espeak_Initialize returns for the bundled data

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and flag values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # callback mode without the background thread (RETRIEVAL = 1 starts one)
_CHARS_UTF8 = 1
_PARAM_RATE = 1  # words per minute (80..450)
_PARAM_VOLUME = 2  # 0..200, 100 = normal
_PARAM_PITCH = 3  # base pitch 0..100
_PARAM_RANGE = 4  # pitch range 0..100
_PARAM_WORDGAP = 7  # extra pause between words, units of 10 ms

# int callback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Voice:
    """What eSpeak is told for one utterance: ``language`` (``en-us``, ``hi``) plus a ``variant`` (``m3``),
    base ``pitch`` and pitch ``range`` (0..100), ``rate`` (words per minute) and ``wordgap`` (10 ms units)."""

    language: str
    variant: str
    pitch: int
    range: int
    rate: int
    wordgap: int = 0

    @property
    def name(self) -> str:
        """The name ``espeak_SetVoiceByName`` takes, e.g. ``en-us+m3``."""
        return f"{self.language}+{self.variant}" if self.variant else self.language


def data_path() -> Path:
    """The ``espeak-ng-data`` folder shipped by ``espeakng-loader``."""
    return Path(_loader().get_data_path())


def variant_exists(variant: str) -> bool:
    """Whether ``variant`` (``m3``, ``croak``) is one of the bundled voice variants."""
    return (data_path() / "voices" / "!v" / variant).is_file()


def _loader() -> ModuleType:
    try:
        import espeakng_loader
    except ImportError as exc:
        raise SpeechforgeError(
            "eSpeak NG is not available: pip install espeakng-loader (it ships libespeak-ng and its data)"
        ) from exc
    return espeakng_loader


class EspeakEngine:
    """The loaded library with its callback; use :func:`get_engine` rather than making one."""

    def __init__(self) -> None:
        loader = _loader()
        self._lib = ctypes.CDLL(loader.get_library_path())
        path = loader.get_data_path().encode()
        # espeak_Initialize(output, buflength ms, path, options) -> sample rate, or -1 on failure.
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, path, 0)
        if rate != ESPEAK_RATE:
            raise SpeechforgeError(f"eSpeak NG failed to initialise (data {path.decode()}; got {rate})")
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self._chunks: list[np.ndarray] = []
        # Kept on the instance: ctypes holds no reference, and a collected callback crashes espeak.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer, numsamples: int, events: int | None) -> int:
        """Synth callback: copy each chunk of int16 samples out of espeak's buffer; 0 = keep going."""
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0

    def load_voice(self, voice: Voice) -> None:
        """Make ``voice`` (language and variant) the current one; an error names an unknown voice."""
        if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise SpeechforgeError(f"eSpeak NG has no voice '{voice.name}'")

    def speak(self, text: str, voice: Voice, seed: int = 0, volume: int = 100) -> np.ndarray:
        """Synthesize ``text`` here, in this process: ``int16`` samples at :data:`ESPEAK_RATE`, ``(time,)``.

        The result depends on what this engine spoke before; :func:`synthesize` does not.
        """
        self.load_voice(voice)
        # espeak keeps parameters between utterances: set every one, every time.
        for param, value in (
            (_PARAM_RATE, voice.rate),
            (_PARAM_VOLUME, volume),
            (_PARAM_PITCH, voice.pitch),
            (_PARAM_RANGE, voice.range),
            (_PARAM_WORDGAP, voice.wordgap),
        ):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._lib.espeak_ng_SetRandSeed(seed)
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        status = self._lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        if status != 0:
            raise SpeechforgeError(f"eSpeak NG could not synthesize {text!r} with voice '{voice.name}'")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)  # (time,)


_ENGINE: EspeakEngine | None = None


def get_engine() -> EspeakEngine:
    """This process's engine, made on first use (a worker forked before that makes its own)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = EspeakEngine()
    return _ENGINE


def synthesize(text: str, voice: Voice, seed: int = 0, volume: int = 100) -> np.ndarray:
    """Synthesize ``text`` from eSpeak's pristine state: ``float32`` at :data:`ESPEAK_RATE`, ``(time,)``.

    The same arguments give the same samples in any process, after any other utterance.
    """
    # Initialised here and never used here, not even to load a voice (that leaves state behind which,
    # after a few hundred loads, can make a later utterance silent): every child starts from scratch.
    engine = get_engine()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, send b"A" + samples or b"E" + message, and leave without cleanup
        code = 0
        try:
            os.close(read_fd)
            try:
                payload = b"A" + engine.speak(text, voice, seed, volume).astype("<i2").tobytes()
            except SpeechforgeError as exc:
                payload = b"E" + str(exc).encode()
            with os.fdopen(write_fd, "wb") as f:
                f.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        payload = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        raise SpeechforgeError(f"eSpeak NG crashed synthesizing {text!r} with voice '{voice.name}'")
    if payload[:1] == b"E":
        raise SpeechforgeError(payload[1:].decode())
    return np.frombuffer(payload[1:], dtype="<i2").astype(np.float32) / 32768.0  # (time,)
