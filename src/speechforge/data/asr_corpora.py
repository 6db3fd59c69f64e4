"""What the ``asr`` synthetic corpus says: connected digit strings and sentences from a small grammar.

Two kinds of utterance, each with its transcript as ``text`` (and no ``label``):

``digits``     2 to 7 digits spoken as words, like TIDIGITS ("one two seven"). In English a zero is said
               "oh" or "zero" (even odds); in the other languages of
               :data:`speechforge.data.corpora.NUMBER_WORDS` it is that language's zero.
``sentences``  English sentences from a few templates over word lists of names, places, commands, objects,
               colours, numbers, days and times ("maria went to the station at seven o'clock", "turn left at
               the third bridge", "call david on five five one two"): a few hundred distinct words.

Transcripts are lower case, words separated by single spaces, with no punctuation but the apostrophe of
"o'clock". All choices come from the ``numpy.random.Generator`` passed in, so the caller's seeding decides
determinism.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from speechforge.data.corpora import NUMBER_WORDS
from speechforge.errors import SpeechforgeError

ASR_KINDS = ("digits", "sentences")
DIGIT_STRING_LENGTH = (2, 7)  # digits per ``digits`` utterance (inclusive)
PHONE_DIGITS = (3, 7)  # digits of a phone number in a sentence (inclusive)

NAMES = (
    "anna", "maria", "david", "james", "sarah", "peter", "laura", "michael", "emma", "daniel",
    "sophie", "thomas", "olivia", "robert", "lucy", "george", "hannah", "oliver", "grace", "henry",
    "alice", "jack", "ella", "samuel", "chloe", "william", "mia", "joseph", "ruby", "charles",
    "rachel", "martin", "julia", "simon", "nora", "victor", "helen", "arthur", "clara", "edward",
)  # fmt: skip

PLACES = (
    "station", "market", "library", "school", "hospital", "museum", "airport", "harbour", "bakery",
    "bank", "church", "theatre", "cinema", "garden", "park", "office", "hotel", "restaurant", "bridge",
    "castle", "beach", "river", "village", "farm", "factory", "stadium", "university", "pharmacy",
    "bookshop", "supermarket", "garage", "post office", "town hall", "bus stop", "corner", "square",
    "tower", "gallery", "zoo", "lake",
)  # fmt: skip

OBJECTS = (
    "lights", "radio", "heater", "fan", "television", "music", "oven", "kettle", "alarm", "camera",
    "computer", "printer", "door", "window", "curtains", "car", "engine", "washing machine", "map",
    "timer",
)  # fmt: skip

ACTIONS = ("turn on", "turn off", "open", "close", "start", "stop", "check", "find", "show me", "switch off")

GOODS = (
    "apples", "bread", "cheese", "milk", "eggs", "oranges", "tomatoes", "potatoes", "coffee", "tea",
    "rice", "butter", "onions", "carrots", "lemons", "fish", "chicken", "flowers", "books", "candles",
    "cups", "plates", "pens", "shoes", "stamps",
)  # fmt: skip

COLOURS = ("red", "blue", "green", "yellow", "black", "white", "brown", "grey", "orange", "purple", "pink")

SIZES = ("small", "big", "old", "new", "long", "short", "quiet", "busy", "bright", "dark", "cold", "warm")

DIRECTIONS = ("left", "right")

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")

HOURS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")

COUNTS = (
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "a hundred",
)  # fmt: skip

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

TIMES = ("today", "tomorrow", "tonight", "this morning", "this evening", "next week", "later")

MOTION = ("went to", "walked to", "drove to", "ran to", "came back from", "waited at", "stayed at", "arrived at")


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(0, len(words)))]


def _digits(rng: np.random.Generator, low: int, high: int, language: str = "en") -> str:
    """``low`` to ``high`` digits (inclusive) as words in ``language``; an English zero is "oh" or "zero"."""
    words = NUMBER_WORDS[language]
    out = []
    for _ in range(int(rng.integers(low, high + 1))):
        d = int(rng.integers(0, 10))
        out.append("oh" if d == 0 and language == "en" and rng.random() < 0.5 else words[d])
    return " ".join(out)


# Each template turns a random generator into one sentence.
TEMPLATES: tuple[Callable[[np.random.Generator], str], ...] = (
    lambda r: f"{_pick(r, NAMES)} {_pick(r, MOTION)} the {_pick(r, PLACES)} at {_pick(r, HOURS)} o'clock",
    lambda r: f"turn {_pick(r, DIRECTIONS)} at the {_pick(r, ORDINALS)} {_pick(r, PLACES)}",
    lambda r: f"call {_pick(r, NAMES)} on {_digits(r, *PHONE_DIGITS)}",
    lambda r: f"please {_pick(r, ACTIONS)} the {_pick(r, OBJECTS)} in the {_pick(r, ORDINALS)} room",
    lambda r: f"{_pick(r, NAMES)} bought {_pick(r, COUNTS)} {_pick(r, GOODS)} at the {_pick(r, PLACES)}",
    lambda r: f"meet {_pick(r, NAMES)} near the {_pick(r, SIZES)} {_pick(r, PLACES)} on {_pick(r, DAYS)}",
    lambda r: f"the {_pick(r, COLOURS)} {_pick(r, OBJECTS)} is next to the {_pick(r, PLACES)}",
    lambda r: f"{_pick(r, NAMES)} and {_pick(r, NAMES)} will visit the {_pick(r, PLACES)} {_pick(r, TIMES)}",
    lambda r: f"{_pick(r, ACTIONS)} the {_pick(r, OBJECTS)} at {_pick(r, HOURS)} o'clock {_pick(r, TIMES)}",
    lambda r: f"take the {_pick(r, ORDINALS)} road on the {_pick(r, DIRECTIONS)} after the {_pick(r, PLACES)}",
)


def digit_string(rng: np.random.Generator, language: str = "en") -> str:
    """A connected digit string: 2 to 7 digits as words of ``language`` ("one two seven")."""
    return _digits(rng, *DIGIT_STRING_LENGTH, language)


def sentence(rng: np.random.Generator) -> str:
    """One English sentence from :data:`TEMPLATES`, lower case, no punctuation but "o'clock"."""
    return TEMPLATES[int(rng.integers(0, len(TEMPLATES)))](rng)


def vocabulary() -> set[str]:
    """Every word a ``sentences`` utterance can contain."""
    lists = (NAMES, PLACES, OBJECTS, ACTIONS, GOODS, COLOURS, SIZES, DIRECTIONS, ORDINALS, HOURS, COUNTS)
    words = {
        w for group in (*lists, DAYS, TIMES, MOTION, NUMBER_WORDS["en"]) for phrase in group for w in phrase.split()
    }
    return words | {"oh", "o'clock", "the", "at", "turn", "call", "on", "please", "in", "room", "bought", "meet",
                    "near", "is", "next", "to", "and", "will", "visit", "take", "road", "after"}  # fmt: skip


def check_asr_options(kind: str, language: str) -> None:
    """Raise :class:`SpeechforgeError` unless ``kind`` and ``language`` can be synthesized together."""
    if kind not in ASR_KINDS:
        raise SpeechforgeError(f"unknown --kind '{kind}'; choose one of: {', '.join(ASR_KINDS)}")
    if kind == "sentences" and language != "en":
        raise SpeechforgeError(f"the sentences grammar is English only (got --language {language}); use --kind digits")
    if language not in NUMBER_WORDS:
        raise SpeechforgeError(f"unknown language '{language}'; available: {', '.join(NUMBER_WORDS)}")


def asr_text(kind: str, language: str, rng: np.random.Generator) -> str:
    """The transcript of one ``asr`` utterance of ``kind`` (digits | sentences) in ``language``."""
    return digit_string(rng, language) if kind == "digits" else sentence(rng)
