"""Text normalization for scoring: the same function applied to references and hypotheses.

Steps, in this order (each can be turned off):

1. ``nfc``: Unicode NFC, so a composed ``é`` (U+00E9) and ``e`` + combining acute (U+0065 U+0301) are the
   same word.
2. ``lowercase``: ``str.lower()`` (``ß`` stays ``ß``; no case folding beyond that).
3. ``digits_to_words``: ASCII digit strings become words, each surrounded by spaces (``"mp3"`` →
   ``"mp three"``). ``"en"``: integers 0–999 999 in English words (``"42"`` → ``"forty two"``, ``"1,000"``
   → ``"one thousand"``, no "and"); longer numbers and numbers with a leading zero (``"007"``) are read
   digit by digit. ``"en-digits"``: always digit by digit (``"42"`` → ``"four two"``), e.g. for phone
   numbers or digit corpora. ``None`` (default): digits are kept. Decimal points and signs are not
   special: ``"3.5"`` is ``"three"``, ``"."``, ``"five"`` (the point goes with the punctuation).
4. ``strip_punctuation``: apostrophes inside words are deleted (``"don't"`` → ``"dont"``, also ``’``);
   every other Unicode punctuation character (categories P*: ``.,;:!?"()[]-_…«»``, dashes) becomes a
   space (``%`` is punctuation, Po). Symbols (``$ + = €``, categories S*) are kept.
5. Whitespace is always collapsed to single spaces and stripped at both ends.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from speechforge.errors import SpeechforgeError

DIGITS_TO_WORDS = (None, "en", "en-digits")

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"]
_TEENS += ["nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+")
_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_SPACES = re.compile(r"\s+")


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest >= 10:
        words.append(_TEENS[rest - 10])
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return words


def number_to_words(n: int) -> str:
    """English words of an integer 0–999 999: ``42`` → ``"forty two"``, ``1005`` → ``"one thousand five"``."""
    if not 0 <= n <= 999_999:
        raise ValueError(f"number_to_words handles 0..999999, got {n}")
    thousands, rest = divmod(n, 1000)
    words = [*_below_thousand(thousands), "thousand"] if thousands else []
    if rest or not thousands:
        words += _below_thousand(rest)
    return " ".join(words)


def _digit_by_digit(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def _spell_number(match: re.Match[str], mode: str) -> str:
    text = match.group(0)
    digits = text.replace(",", "")
    if mode == "en" and len(digits) <= 6 and (digits == "0" or not digits.startswith("0")):
        return f" {number_to_words(int(digits))} "
    if "," in text:  # a thousands separator that is not read as one number: keep it as a pause (punctuation)
        return " " + " , ".join(_digit_by_digit(group) for group in text.split(",")) + " "
    return f" {_digit_by_digit(digits)} "


@lru_cache(maxsize=4096)
def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


@dataclass(frozen=True)
class TextNormalizer:
    """Normalize transcripts before scoring (see the module docstring for the exact steps).

    Args:
        lowercase: lower-case everything.
        strip_punctuation: delete apostrophes inside words, replace other punctuation by spaces.
        digits_to_words: ``None`` (keep digits), ``"en"`` (English number words for 0–999 999) or
            ``"en-digits"`` (English words, digit by digit).
        nfc: Unicode NFC composition first.

    ``TextNormalizer()(" The  CAT, isn't it? ")`` → ``"the cat isnt it"``.
    """

    lowercase: bool = True
    strip_punctuation: bool = True
    digits_to_words: str | None = None
    nfc: bool = True

    def __post_init__(self) -> None:
        if self.digits_to_words not in DIGITS_TO_WORDS:
            choices = ", ".join(repr(c) for c in DIGITS_TO_WORDS)
            raise SpeechforgeError(f"digits_to_words must be one of {choices}, got {self.digits_to_words!r}")

    def __call__(self, text: str) -> str:
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        mode = self.digits_to_words
        if mode is not None:
            text = _NUMBER.sub(lambda m: _spell_number(m, mode), text)
        if self.strip_punctuation:
            text = _APOSTROPHE.sub("", text)
            text = "".join(" " if _is_punctuation(c) else c for c in text)
        return _SPACES.sub(" ", text).strip()

    def to_dict(self) -> dict[str, object]:
        """The settings, for recording next to the scores they produced."""
        return {
            "lowercase": self.lowercase,
            "strip_punctuation": self.strip_punctuation,
            "digits_to_words": self.digits_to_words,
            "nfc": self.nfc,
        }


__all__ = ["DIGITS_TO_WORDS", "TextNormalizer", "number_to_words"]
