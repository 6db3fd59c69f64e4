"""Tokenizers for CTC speech recognition: characters, or SentencePiece BPE / unigram pieces.

Every tokenizer reserves id 0 for the CTC blank, ``"<blank>"``, which is never produced by ``encode`` and is
dropped by ``decode``.

* :class:`CharTokenizer`: ``tokens = ["<blank>", "|", c1, c2, …]`` with the characters of the training
  transcripts sorted by code point. The word separator is ``"|"`` (the wav2vec2 / torchaudio convention): a
  space in the text is encoded as ``"|"``, runs of spaces count as one, and leading / trailing spaces are
  dropped. ``"|"`` itself can therefore not appear in a transcript. Saved as JSON.
* :class:`SentencePieceTokenizer`: a ``sentencepiece`` model trained on the transcripts with
  ``pad_id=0, pad_piece="<blank>", unk_id=1`` and no BOS / EOS, so the SentencePiece id *is* the CTC id: the
  pad piece (a control symbol SentencePiece never emits) plays the blank. Words start with ``"▁"``; the
  silence token given to beam search is the piece ``"▁"`` when the model has one, else ``<unk>``. Saved as
  the ``.model`` file.

:func:`build_tokenizer` trains either kind and writes it into a run folder; :func:`load_tokenizer` reads it
back from that folder.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from speechforge.errors import SpeechforgeError

BLANK = "<blank>"
WORD_SEP = "|"
UNK_PIECE = "<unk>"
SP_SPACE = "\u2581"  # "▁": SentencePiece's word-start marker
TOKENIZER_KINDS = ("char", "bpe", "unigram")
CHAR_FILE = "tokenizer.json"
SP_FILE = "tokenizer.model"


class Tokenizer(Protocol):
    """What decoders and models need from a tokenizer."""

    @property
    def tokens(self) -> list[str]: ...

    @property
    def vocab_size(self) -> int: ...

    @property
    def blank_id(self) -> int: ...

    @property
    def silence_id(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def spell(self, word: str) -> list[str]: ...


def _texts(texts: Iterable[str]) -> list[str]:
    cleaned = [" ".join(t.split()) for t in texts]
    cleaned = [t for t in cleaned if t]
    if not cleaned:
        raise SpeechforgeError("cannot fit a tokenizer: no non-empty transcript given")
    return cleaned


class _Vocabulary:
    """What every tokenizer shares: its token list ``_tokens`` (index = CTC id) with the blank at id 0."""

    _tokens: list[str]

    @property
    def tokens(self) -> list[str]:
        return list(self._tokens)

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    @property
    def blank_id(self) -> int:
        return 0


class CharTokenizer(_Vocabulary):
    """Characters, ``"|"`` between words, ``"<blank>"`` at id 0."""

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if len(tokens) < 2 or tokens[0] != BLANK or tokens[1] != WORD_SEP:
            raise SpeechforgeError(f'a character vocabulary must start with "{BLANK}", "{WORD_SEP}"')
        if len(set(tokens)) != len(tokens):
            raise SpeechforgeError("a character vocabulary has a duplicated token")
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def fit(cls, texts: Iterable[str]) -> CharTokenizer:
        """The vocabulary of every character of ``texts`` (spaces become ``"|"``)."""
        cleaned = _texts(texts)
        chars = {c for t in cleaned for c in t if c != " "}
        if WORD_SEP in chars:
            raise SpeechforgeError(f'a transcript contains "{WORD_SEP}", the word separator: remove it first')
        return cls([BLANK, WORD_SEP, *sorted(chars)])

    @property
    def silence_id(self) -> int:
        return 1

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``; raises :class:`SpeechforgeError` naming every character not in the vocabulary."""
        symbols = [WORD_SEP if c == " " else c for c in " ".join(text.split())]
        unknown = sorted({c for c in symbols if c not in self._index} | ({WORD_SEP} & set(text)))
        if unknown:
            shown = ", ".join(repr(c) for c in unknown)
            raise SpeechforgeError(
                f"characters outside the tokenizer's vocabulary: {shown} in {text!r}; normalize the text "
                "or fit the tokenizer on transcripts that contain them"
            )
        return [self._index[c] for c in symbols]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (blanks dropped, ``"|"`` read as a space, spaces collapsed)."""
        chars = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._tokens):
                raise SpeechforgeError(f"token id {i} is outside the vocabulary (size {len(self._tokens)})")
            if i != self.blank_id:
                chars.append(" " if i == self.silence_id else self._tokens[i])
        return " ".join("".join(chars).split())

    def spell(self, word: str) -> list[str]:
        """The tokens of ``word`` followed by ``"|"``: its lexicon entry for beam search."""
        return [self._tokens[i] for i in self.encode(word)] + [WORD_SEP]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"kind": "char", "tokens": self._tokens}, ensure_ascii=False, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpeechforgeError("tokenizer file not found", path=path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpeechforgeError(f"not a tokenizer JSON file ({exc})", path=path) from None
        if not isinstance(data, dict) or data.get("kind") != "char" or not isinstance(data.get("tokens"), list):
            raise SpeechforgeError('not a character tokenizer: expected {"kind": "char", "tokens": [...]}', path=path)
        return cls(data["tokens"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other._tokens == self._tokens

    __hash__ = None  # type: ignore[assignment]


class SentencePieceTokenizer(_Vocabulary):
    """SentencePiece BPE or unigram pieces; the SentencePiece id is the CTC id (blank = pad = 0)."""

    def __init__(self, model_path: str | Path) -> None:
        import sentencepiece as spm

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise SpeechforgeError("SentencePiece model not found", path=self.model_path)
        self._sp: Any = spm.SentencePieceProcessor(model_file=str(self.model_path))
        if self._sp.pad_id() != 0 or self._sp.id_to_piece(0) != BLANK:
            raise SpeechforgeError(
                f'the SentencePiece model does not reserve id 0 for "{BLANK}": train it with build_tokenizer',
                path=self.model_path,
            )
        self._tokens = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        model_dir: str | Path,
        vocab_size: int = 256,
        model_type: str = "bpe",
    ) -> SentencePieceTokenizer:
        """Train on ``texts`` (one transcript each) and write ``model_dir/tokenizer.model``."""
        import sentencepiece as spm

        if model_type not in ("bpe", "unigram"):
            raise SpeechforgeError(f"unknown SentencePiece model type '{model_type}'; choose bpe or unigram")
        cleaned = _texts(texts)
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "train.txt"
            corpus.write_text("\n".join(cleaned) + "\n", encoding="utf-8")
            prefix = Path(tmp) / "sp"
            options: dict[str, Any] = dict(
                input=str(corpus),
                model_prefix=str(prefix),
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=1.0,
                pad_id=0,
                pad_piece=BLANK,
                unk_id=1,
                unk_piece=UNK_PIECE,
                bos_id=-1,
                eos_id=-1,
                hard_vocab_limit=False,
                minloglevel=2,
            )
            try:
                spm.SentencePieceTrainer.train(**options)
            except RuntimeError as exc:
                raise SpeechforgeError(f"SentencePiece training failed: {exc}") from None
            out = model_dir / SP_FILE
            out.write_bytes(Path(str(prefix) + ".model").read_bytes())
        return cls(out)

    @property
    def unk_id(self) -> int:
        return int(self._sp.unk_id())

    @property
    def silence_id(self) -> int:
        return int(self._sp.piece_to_id(SP_SPACE))  # <unk> when the model has no lone "▁"

    def encode(self, text: str) -> list[int]:
        """The piece ids of ``text``; raises :class:`SpeechforgeError` naming characters that map to ``<unk>``."""
        text = " ".join(text.split())
        ids = [int(i) for i in self._sp.encode(text)]
        if self.unk_id in ids:
            known = {c for t in self._tokens for c in t}
            unknown = sorted({c for c in text if c != " " and c not in known})
            shown = ", ".join(repr(c) for c in unknown) if unknown else "(unknown)"
            raise SpeechforgeError(
                f"characters outside the tokenizer's vocabulary: {shown} in {text!r}; normalize the text "
                "or fit the tokenizer on transcripts that contain them"
            )
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        ids = [int(i) for i in ids]
        for i in ids:
            if not 0 <= i < len(self._tokens):
                raise SpeechforgeError(f"token id {i} is outside the vocabulary (size {len(self._tokens)})")
        return " ".join(str(self._sp.decode([i for i in ids if i != self.blank_id])).split())

    def spell(self, word: str) -> list[str]:
        """The pieces of ``word`` (the first one starts with ``"▁"``): its lexicon entry for beam search."""
        return [self._tokens[i] for i in self.encode(word)]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.resolve() != self.model_path.resolve():
            path.write_bytes(self.model_path.read_bytes())
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentencePieceTokenizer:
        return cls(path)


def build_tokenizer(
    kind: str, texts: Iterable[str], out_dir: str | Path, vocab_size: int = 256
) -> CharTokenizer | SentencePieceTokenizer:
    """Fit a ``kind`` tokenizer (char | bpe | unigram) on ``texts`` and save it in ``out_dir``
    (``tokenizer.json`` for char, ``tokenizer.model`` for bpe / unigram; ``vocab_size`` is ignored for char)."""
    if kind not in TOKENIZER_KINDS:
        raise SpeechforgeError(f"unknown tokenizer '{kind}'; choose one of: {', '.join(TOKENIZER_KINDS)}")
    if kind == "char":
        tokenizer = CharTokenizer.fit(texts)
        tokenizer.save(Path(out_dir) / CHAR_FILE)
        return tokenizer
    return SentencePieceTokenizer.fit(texts, out_dir, vocab_size=vocab_size, model_type=kind)


def tokenizer_file(folder: str | Path) -> Path | None:
    """The tokenizer file saved in ``folder`` (``tokenizer.json`` or ``tokenizer.model``), or None."""
    return next((Path(folder) / n for n in (CHAR_FILE, SP_FILE) if (Path(folder) / n).is_file()), None)


def load_tokenizer(path: str | Path) -> CharTokenizer | SentencePieceTokenizer:
    """The tokenizer saved in ``path`` (a run folder, a ``tokenizer.json`` or a ``.model`` file)."""
    path = Path(path)
    if path.is_dir():
        found = tokenizer_file(path)
        if found is None:
            raise SpeechforgeError(f"no {CHAR_FILE} or {SP_FILE} in the folder", path=path)
        return load_tokenizer(found)
    if path.suffix == ".model":
        return SentencePieceTokenizer.load(path)
    return CharTokenizer.load(path)


__all__ = [
    "BLANK",
    "TOKENIZER_KINDS",
    "WORD_SEP",
    "CharTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "tokenizer_file",
]
