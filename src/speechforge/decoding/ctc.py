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

Known limitation: lexicon decoding is tested with :class:`~speechforge.text.tokenizer.CharTokenizer`, whose
spellings end with the ``"|"`` word separator (the silence token). With SentencePiece pieces there is no
separate boundary token and flashlight's ``LexiconDecoder`` can split the piece sequence into other lexicon
words (seen on peaked inputs); decode SentencePiece models lexicon-free (optionally with a token-level LM).

The final score of a hypothesis is ``acoustic + lm_weight * log_e(LM) + word_score * words``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.errors import SpeechforgeError
from speechforge.text.tokenizer import Tokenizer

UNK_WORD = "<unk>"


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


def build_lexicon(words: Sequence[str], tokenizer: Tokenizer) -> dict[str, list[list[str]]]:
    """Each word with its one spelling by ``tokenizer`` (``tokenizer.spell``), for :class:`BeamSearchDecoder`."""
    return {w: [tokenizer.spell(w)] for w in dict.fromkeys(w for word in words for w in word.split())}


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
            lm = KenLM(str(lm_path), word_dict) if lm_path is not None else fl.ZeroLM()
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
            lm = KenLM(str(lm_path), token_dict) if lm_path is not None else fl.ZeroLM()
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


__all__ = ["BeamSearchDecoder", "build_lexicon", "collapse", "greedy_decode"]
