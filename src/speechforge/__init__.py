"""speechforge: from a folder of audio to a trained, diagnosed and deployable speech model.

The Python API mirrors the CLI::

    import speechforge as sf
    sf.data.synth("digits", "corpus")                 # speechforge data synth digits --out corpus
    sf.data.split("corpus/manifest.jsonl", "splits")  # speechforge data split ...
    sf.data.check(["splits"])                         # speechforge data check splits
    result = sf.train("recipes/digits_cnn.yaml", "runs/digits", ["data.train=splits/train.jsonl",
                                                                 "data.dev=splits/dev.jsonl"])
    sf.evaluate("runs/digits", "splits/test.jsonl")   # speechforge evaluate runs/digits --manifest ...
    sf.predict("runs/digits", ["a.wav"], top_k=3)
    sf.export("runs/digits", "exported", format="onnx")
"""

from typing import Any

from speechforge.errors import SpeechforgeError

__version__ = "0.1.0"
__all__ = ["SpeechforgeError", "__version__", "data", "evaluate", "export", "predict", "train"]

_API = {"train", "evaluate", "predict", "export"}


def __getattr__(name: str) -> Any:
    """Load ``data`` and the training-side functions on first use (importing them pulls in torch)."""
    if name == "data":
        import speechforge.data as data

        return data
    if name in _API:
        from speechforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'speechforge' has no attribute {name!r}")
