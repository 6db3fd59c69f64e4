"""The Festival engine for ``data synth --engine festival``: Debian's ``text2wave`` run as a subprocess.

Festival is optional and English only. Its installed voices (``festvox-kallpc16k``, ``festvox-us-slt-hts``,
...) become part of a speaker's identity; the speaking rate is set with ``Duration_Stretch``. Festival's
diphone voices are deterministic, so the same request gives the same samples.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from speechforge.audio.io import read_audio
from speechforge.errors import SpeechforgeError

INSTALL_HINT = "apt-get install festival festvox-kallpc16k"
VOICE_DIRS = (Path("/usr/share/festival/voices"), Path("/usr/lib/festival/voices"))
NORMAL_RATE = 175  # words per minute that Duration_Stretch 1.0 stands for (eSpeak's default rate)


def text2wave_path() -> str:
    """The ``text2wave`` program, or a :class:`SpeechforgeError` saying how to install Festival."""
    path = shutil.which("text2wave")
    if path is None:
        raise SpeechforgeError(f"Festival is not installed ({INSTALL_HINT}); or use --engine espeak")
    return path


def festival_voices() -> list[str]:
    """Names of the installed English Festival voices (``kal_diphone``, ...), sorted."""
    names = {
        voice.name
        for root in VOICE_DIRS
        for language in ("english", "us_english", "british_english")
        if (root / language).is_dir()
        for voice in (root / language).iterdir()
        if voice.is_dir()
    }
    if not names:
        raise SpeechforgeError(f"Festival has no English voices installed under {VOICE_DIRS[0]} ({INSTALL_HINT})")
    return sorted(names)


def festival_synthesize(text: str, voice: str, rate: int) -> tuple[np.ndarray, int]:
    """Speak ``text`` with Festival voice ``voice`` at ``rate`` words per minute.

    Returns ``(waveform, sample_rate)``: ``float32`` of shape ``(time,)`` at the voice's own rate.
    """
    program = text2wave_path()
    stretch = NORMAL_RATE / max(rate, 1)
    with tempfile.TemporaryDirectory(prefix="speechforge-festival-") as tmp:
        text_path, wav_path = Path(tmp) / "text.txt", Path(tmp) / "out.wav"
        text_path.write_text(text + "\n", encoding="utf-8")
        command = [
            program,
            str(text_path),
            "-o",
            str(wav_path),
            "-otype",
            "riff",
            "-eval",
            f"(voice_{voice})",
            "-eval",
            f"(Parameter.set 'Duration_Stretch {stretch:.4f})",
        ]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav_path.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {proc.returncode}"
            raise SpeechforgeError(f"Festival could not speak {text!r} with voice '{voice}': {reason}")
        return read_audio(wav_path)
