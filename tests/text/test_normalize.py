"""TextNormalizer: case, punctuation, Unicode NFC, digits to words, whitespace."""

from __future__ import annotations

import pytest

from speechforge.errors import SpeechforgeError
from speechforge.text import TextNormalizer, number_to_words


def test_default_lowercases_strips_punctuation_and_collapses_whitespace() -> None:
    norm = TextNormalizer()
    assert norm("  Hello,   World!  ") == "hello world"
    assert norm("Don't stop—now… (really?)") == "dont stop now really"
    assert norm("l’homme «vite»") == "lhomme vite"
    assert norm("$3 + 2 = 5") == "$3 + 2 = 5"  # symbols (S*) and digits are kept by default; "%" is punctuation


def test_options_off_keep_text_but_still_collapse_whitespace() -> None:
    norm = TextNormalizer(lowercase=False, strip_punctuation=False, nfc=False)
    assert norm("  Hello,\t World! ") == "Hello, World!"


def test_nfc_makes_composed_and_decomposed_equal() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert composed != decomposed
    assert TextNormalizer()(composed) == TextNormalizer()(decomposed) == "caf\u00e9"
    assert TextNormalizer(nfc=False)(decomposed) == decomposed
    assert TextNormalizer()("CAFE\u0301") == "caf\u00e9"


def test_digits_to_english_words() -> None:
    norm = TextNormalizer(digits_to_words="en")
    assert norm("42") == "forty two"
    assert norm("I saw 7 cats and 1,000 dogs.") == "i saw seven cats and one thousand dogs"
    assert norm("mp3") == "mp three"
    assert norm("007") == "zero zero seven"
    assert norm("1234567") == "one two three four five six seven"


def test_digits_one_by_one() -> None:
    assert TextNormalizer(digits_to_words="en-digits")("Call 911!") == "call nine one one"


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (20, "twenty"),
        (105, "one hundred five"),
        (1000, "one thousand"),
        (21_017, "twenty one thousand seventeen"),
        (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    ],
)
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


def test_unknown_digit_mode_is_a_user_error() -> None:
    with pytest.raises(SpeechforgeError, match="digits_to_words"):
        TextNormalizer(digits_to_words="fr")
    with pytest.raises(ValueError):
        number_to_words(1_000_000)
