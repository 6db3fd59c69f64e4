"""Text processing for speech recognition: normalization applied identically to references and hypotheses."""

from speechforge.text.normalize import TextNormalizer, number_to_words

__all__ = ["TextNormalizer", "number_to_words"]
