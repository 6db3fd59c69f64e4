"""Audio input/output and augmentation."""

from speechforge.audio.io import AUDIO_EXTENSIONS, AudioInfo, audio_info, read_audio, resample, write_wav

__all__ = ["AUDIO_EXTENSIONS", "AudioInfo", "audio_info", "read_audio", "resample", "write_wav"]
