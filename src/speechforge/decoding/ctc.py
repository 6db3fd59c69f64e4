"""CTC decoding: greedy (best path) and beam search with an optional n-gram language model.

Both take the model's output as ``log_probs`` of shape ``(batch, time, vocab)`` (a torch tensor or a numpy
array; log-softmax scores, ``vocab == tokenizer.vocab_size``, blank at ``tokenizer.blank_id``) and the number
of valid frames of each item, ``lengths`` (``None``: every frame).

:class:`BeamSearchDecoder` wraps the decoders of ``flashlight-text`` (what ``torchaudio.models.decoder.
ctc_decoder`` wraps too):

* with a ``lexicon`` (word → spellings in tokens; :func:`build_lexicon` spells words with the tokenizer): a
  ``LexiconDecoder``. Only lexicon words can be output, the trie of spellings is smeared with the LM's
  unigram scores, and the LM (an ARPA or KenLM binary file over words, e.g. from ``speechforge lm build``) is
  queried at each word end; ``word_score`` is added per word;
* without a lexicon: a ``LexiconFreeDecoder``; ``lm_path`` is then an LM over the tokenizer's tokens;
* without ``lm_path``: flashlight's ``ZeroLM`` (acoustic scores only; ``lm_weight`` has no effect).

Known limitation: lexicon decoding needs spellings that end with the silence token, as those of
:class:`~speechforge.text.tokenizer.CharTokenizer` do (the ``"|"`` word separator). Once a word is complete,
flashlight's ``LexiconDecoder`` is back at the trie root, where the only way to spend another frame without
starting a word is blank or silence: a SentencePiece word whose last piece lasts two frames or more (``▁the
▁the``) cannot be read, and the search inserts or merges words instead (``to the`` → ``today the``). Hence
:func:`build_decoder` refuses word-level LM decoding with SentencePiece tokenizers; decode them lexicon-free.

:func:`build_decoder` picks a decoder from options (``greedy`` | ``beam``, an optional word-level ARPA LM whose
lexicon :func:`lm_lexicon` derives from the LM's vocabulary); both decoders have ``decode(log_probs, lengths)``.

The final score of a hypothesis is ``acoustic + lm_weight * log_e(LM) + word_score * words``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.decoding.lm import arpa_vocabulary
from speechforge.errors import SpeechforgeError
from speechforge.text.tokenizer import Tokenizer

UNK_WORD = "<unk>"
DECODER_KINDS = ("greedy", "beam")


def _as_batch(log_probs: Any, lengths: Any, tokenizer: Tokenizer) -> tuple[np.ndarray, list[int]]:
    """``log_probs`` as a C-contiguous float32 array (batch, time, vocab) and the valid length of each item."""
    if hasattr(log_probs, "detach"):
        log_probs = log_probs.detach().to("cpu").float().numpy()
    array = np.ascontiguousarray(np.asarray(log_probs, dtype=np.float32))
    if array.ndim != 3:
        raise SpeechforgeError(f"log_probs must have shape (batch, time, vocab), got {tuple(array.shape)}")
    batch, time, vocab = array.shape
    if vocab != tokenizer.vocab_size:
        raise SpeechforgeError(
            f"log_probs has {vocab} classes but the tokenizer has {tokenizer.vocab_size} tokens: "
            "decode with the tokenizer the model was trained with"
        )
    if lengths is None:
        sizes = [time] * batch
    else:
        if hasattr(lengths, "detach"):
            lengths = lengths.detach().to("cpu").numpy()
        sizes = [int(n) for n in np.asarray(lengths).reshape(-1)]
        if len(sizes) != batch:
            raise SpeechforgeError(f"{len(sizes)} lengths for a batch of {batch}")
        bad = [n for n in sizes if not 0 <= n <= time]
        if bad:
            raise SpeechforgeError(f"lengths must be between 0 and {time} (frames), got {bad[0]}")
    return array, sizes


def collapse(ids: Sequence[int], blank_id: int = 0) -> list[int]:
    """CTC's many-to-one map: merge repeated ids, then drop blanks (and negative padding ids)."""
    return [int(i) for i, _ in itertools.groupby(ids) if i != blank_id and i >= 0]


def greedy_decode(log_probs: Any, lengths: Any, tokenizer: Tokenizer) -> list[str]:
    """Best-path decoding: the argmax token of each frame, repeats collapsed, blanks dropped, as text."""
    array, sizes = _as_batch(log_probs, lengths, tokenizer)
    best = array.argmax(axis=-1)
    return [tokenizer.decode(collapse(best[b, : sizes[b]].tolist(), tokenizer.blank_id)) for b in range(len(sizes))]


class GreedyDecoder:
    """Best-path decoding (:func:`greedy_decode`) behind the same ``decode`` as :class:`BeamSearchDecoder`."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def decode(self, log_probs: Any, lengths: Any = None) -> list[str]:
        """The best-path transcript of each item of ``log_probs`` (batch, time, vocab)."""
        return greedy_decode(log_probs, lengths, self.tokenizer)


def build_lexicon(words: Sequence[str], tokenizer: Tokenizer) -> dict[str, list[list[str]]]:
    """Each word with its one spelling by ``tokenizer`` (``tokenizer.spell``), for :class:`BeamSearchDecoder`."""
    return {w: [tokenizer.spell(w)] for w in dict.fromkeys(w for word in words for w in word.split())}


def quiet_kenlm(kenlm_class: Any, path: str | Path, dictionary: Any) -> Any:
    """Load a KenLM model without its C++ progress bar and "build a binary file" note on stderr (file
    descriptor 2, which Python's redirection cannot reach): one tuning grid loads the LM dozens of times."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            return kenlm_class(str(path), dictionary)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class BeamSearchDecoder:
    """CTC beam search through ``flashlight-text``, with a lexicon and a KenLM/ARPA language model if given."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        beam_size: int = 16,
        lm_path: str | Path | None = None,
        lexicon: Mapping[str, Sequence[Sequence[str]]] | None = None,
        lm_weight: float = 0.5,
        word_score: float = 0.0,
        beam_size_token: int | None = None,
        beam_threshold: float = 50.0,
        unk_score: float = float("-inf"),
        sil_score: float = 0.0,
    ) -> None:
        try:
            from flashlight.lib.text import decoder as fl
            from flashlight.lib.text.decoder.kenlm import KenLM
            from flashlight.lib.text.dictionary import Dictionary
        except ImportError:  # pragma: no cover - flashlight-text is a dependency
            raise SpeechforgeError("beam search needs flashlight-text: pip install flashlight-text") from None
        if beam_size < 1:
            raise SpeechforgeError(f"beam_size must be at least 1, got {beam_size}")
        if lm_path is not None and not Path(lm_path).is_file():
            raise SpeechforgeError("language model file not found", path=lm_path)
        self.tokenizer = tokenizer
        self.skipped_words: list[str] = []  # LM words left out of the lexicon (set by build_decoder)
        self.lexicon = {w: [list(s) for s in spellings] for w, spellings in lexicon.items()} if lexicon else None
        tokens = tokenizer.tokens
        token_dict = Dictionary(tokens)
        token_index = {t: i for i, t in enumerate(tokens)}
        beam_size_token = beam_size_token or len(tokens)
        sil, blank = tokenizer.silence_id, tokenizer.blank_id
        self._words: list[str] = []

        if self.lexicon is not None:
            self._words = [w for w in self.lexicon if w != UNK_WORD] + [UNK_WORD]
            word_dict = Dictionary(self._words)
            lm = quiet_kenlm(KenLM, lm_path, word_dict) if lm_path is not None else fl.ZeroLM()
            trie = fl.Trie(len(tokens), sil)
            start = lm.start(False)
            for index, word in enumerate(self._words[:-1]):
                _, score = lm.score(start, index)
                for spelling in self.lexicon[word]:
                    unknown = [t for t in spelling if t not in token_index]
                    if unknown or not spelling:
                        raise SpeechforgeError(
                            f"lexicon entry {word!r} is spelled with tokens the tokenizer does not have: {unknown}"
                        )
                    trie.insert([token_index[t] for t in spelling], index, score)
            trie.smear(fl.SmearingMode.MAX)
            options = fl.LexiconDecoderOptions(
                beam_size, beam_size_token, beam_threshold, lm_weight, word_score, unk_score, sil_score, False,
                fl.CriterionType.CTC,
            )  # fmt: skip
            self._decoder: Any = fl.LexiconDecoder(options, trie, lm, sil, blank, len(self._words) - 1, [], False)
        else:
            lm = quiet_kenlm(KenLM, lm_path, token_dict) if lm_path is not None else fl.ZeroLM()
            free_options = fl.LexiconFreeDecoderOptions(
                beam_size, beam_size_token, beam_threshold, lm_weight, sil_score, False, fl.CriterionType.CTC
            )
            self._decoder = fl.LexiconFreeDecoder(free_options, lm, sil, blank, [])
        self._lm = lm  # the decoder holds a reference in C++ only: keep the LM alive

    def decode(self, log_probs: Any, lengths: Any = None) -> list[str]:
        """The best transcript of each item of ``log_probs`` (batch, time, vocab)."""
        array, sizes = _as_batch(log_probs, lengths, self.tokenizer)
        vocab = array.shape[2]
        texts = []
        for b, n in enumerate(sizes):
            if n == 0:
                texts.append("")
                continue
            pointer = array.ctypes.data + b * array.strides[0]
            results = self._decoder.decode(pointer, n, vocab)
            if not results:
                texts.append("")
                continue
            best = results[0]
            if self.lexicon is not None:
                texts.append(" ".join(self._words[w] for w in best.words if w >= 0))
            else:
                texts.append(self.tokenizer.decode(collapse(best.tokens, self.tokenizer.blank_id)))
        return texts


def lm_lexicon(lm_path: str | Path, tokenizer: Tokenizer) -> tuple[dict[str, list[list[str]]], list[str]]:
    """The lexicon for decoding with the word-level ARPA LM ``lm_path``: each word of its vocabulary
    (:func:`~speechforge.decoding.lm.arpa_vocabulary`) spelled by ``tokenizer.spell``.

    Returns ``(lexicon, skipped)``: ``skipped`` lists, in file order, the words the tokenizer cannot spell
    (characters outside its vocabulary); they are left out of the lexicon, so the decoder never outputs them.
    """
    lexicon: dict[str, list[list[str]]] = {}
    skipped: list[str] = []
    for word in arpa_vocabulary(lm_path):
        try:
            lexicon[word] = [tokenizer.spell(word)]
        except SpeechforgeError:
            skipped.append(word)
    return lexicon, skipped


def build_decoder(
    tokenizer: Tokenizer,
    kind: str = "greedy",
    *,
    lm: str | Path | None = None,
    beam_size: int = 16,
    lm_weight: float = 0.5,
    word_score: float = 0.0,
) -> GreedyDecoder | BeamSearchDecoder:
    """The decoder for ``--decoder KIND`` (greedy | beam) and an optional word-level ARPA LM ``lm``.

    * ``greedy``: :class:`GreedyDecoder` (an ``lm`` is an error: it needs beam search);
    * ``beam`` without ``lm``: a lexicon-free :class:`BeamSearchDecoder` (acoustic scores only);
    * ``beam`` with ``lm``: a lexicon :class:`BeamSearchDecoder` over the LM's words (:func:`lm_lexicon`; the
      words the tokenizer cannot spell are in the decoder's ``skipped_words``). A word-level LM cannot go in
      the lexicon-free decoder, which would query it with tokens. Needs a tokenizer whose spellings end with
      its silence token (``text.tokenizer: char``): see the module's docstring.
    """
    if kind not in DECODER_KINDS:
        raise SpeechforgeError(f"unknown decoder '{kind}'; choose one of: {', '.join(DECODER_KINDS)}")
    if kind == "greedy":
        if lm is not None:
            raise SpeechforgeError("an LM needs --decoder beam: greedy decoding cannot use a language model")
        return GreedyDecoder(tokenizer)
    if lm is None:
        return BeamSearchDecoder(tokenizer, beam_size=beam_size, lm_weight=lm_weight, word_score=word_score)
    lexicon, skipped = lm_lexicon(lm, tokenizer)
    if not lexicon:
        raise SpeechforgeError(
            f"the tokenizer cannot spell any of the language model's {len(skipped)} words: build the LM from "
            "transcripts normalized like the training data",
            path=lm,
        )
    silence = tokenizer.tokens[tokenizer.silence_id]
    if any(spelling[-1] != silence for spellings in lexicon.values() for spelling in spellings):
        raise SpeechforgeError(
            "word-level LM decoding needs `text.tokenizer: char` for now: with SentencePiece pieces, flashlight's "
            "lexicon decoder splits words wrongly; decode this model without --lm"
        )
    decoder = BeamSearchDecoder(
        tokenizer, beam_size=beam_size, lm_path=lm, lexicon=lexicon, lm_weight=lm_weight, word_score=word_score
    )
    decoder.skipped_words = skipped
    return decoder


__all__ = [
    "DECODER_KINDS",
    "BeamSearchDecoder",
    "GreedyDecoder",
    "build_decoder",
    "build_lexicon",
    "collapse",
    "greedy_decode",
    "lm_lexicon",
]
