"""What the built-in synthetic corpora say, and with which voices (word lists only, no code).

Number words are written in each language's own script, so that eSpeak NG reads them with that language's
rules and the manifest's ``text`` is what a native reader would write.
"""

from __future__ import annotations

CORPORA = ("digits", "commands", "languages", "asr")  # asr: transcripts, see speechforge.data.asr_corpora

# Default size of each corpus: (speakers, utterances per speaker). Big enough to train a good classifier,
# small enough to synthesize in seconds.
DEFAULT_SIZES = {"digits": (20, 40), "commands": (16, 48), "languages": (16, 48), "asr": (24, 50)}

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# The digits corpus is labelled "0".."9" (the spoken word is its ``text``), like recorded digit corpora whose
# file names carry the digit (e.g. 7_jackson_32.wav): a model trained on synthetic digits applies to them as is.
DIGIT_LABELS = tuple(str(d) for d in range(10))

COMMANDS = (
    "yes",
    "no",
    "up",
    "down",
    "left",
    "right",
    "on",
    "off",
    "stop",
    "go",
    "forward",
    "backward",
    "start",
    "open",
    "close",
    "wait",
)

# Zero to nine in each language, in its own script. Keys are ISO 639-1 codes (the manifest's ``language``),
# which are also eSpeak NG voice names.
NUMBER_WORDS: dict[str, tuple[str, ...]] = {
    "en": DIGITS,
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
    "hi": ("शून्य", "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ"),
    "bn": ("শূন্য", "এক", "দুই", "তিন", "চার", "পাঁচ", "ছয়", "সাত", "আট", "নয়"),
    "ta": ("பூஜ்ஜியம்", "ஒன்று", "இரண்டு", "மூன்று", "நான்கு", "ஐந்து", "ஆறு", "ஏழு", "எட்டு", "ஒன்பது"),
    "te": ("సున్నా", "ఒకటి", "రెండు", "మూడు", "నాలుగు", "ఐదు", "ఆరు", "ఏడు", "ఎనిమిది", "తొమ్మిది"),
    "kn": ("ಸೊನ್ನೆ", "ಒಂದು", "ಎರಡು", "ಮೂರು", "ನಾಲ್ಕು", "ಐದು", "ಆರು", "ಏಳು", "ಎಂಟು", "ಒಂಬತ್ತು"),
    "ml": ("പൂജ്യം", "ഒന്ന്", "രണ്ട്", "മൂന്ന്", "നാല്", "അഞ്ച്", "ആറ്", "ഏഴ്", "എട്ട്", "ഒമ്പത്"),
}

# Words per ``languages`` utterance (inclusive): about one to three seconds of speech.
LANGUAGE_WORDS = (3, 6)

# English accents (eSpeak NG voice names; "en" is British English), part of a speaker's identity in the
# English corpora.
ENGLISH_ACCENTS = (
    "en-us",
    "en",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)

# eSpeak NG voice variants a speaker may have. No ``klatt*`` (noise-driven) or effect voices (whisper,
# robots); each of these was checked to give the same samples for the same seed.
ESPEAK_VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "croak",
    "Andy",
    "Denis",
    "Storm",
    "iven",
    "iven3",
    "john",
    "linda",
    "steph",
    "ian",
    "paul",
    "edward",
    "michel",
    "shelby",
    "quincy",
)
