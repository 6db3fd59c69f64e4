"""speechforge: from a folder of audio to a trained, diagnosed and deployable speech model.

The Python API mirrors the CLI: ``speechforge data synth`` is :func:`speechforge.data.synth`,
``speechforge data split`` is :func:`speechforge.data.split`, and so on.
"""

from speechforge.errors import SpeechforgeError

__version__ = "0.1.0"
__all__ = ["SpeechforgeError", "__version__"]
