"""Connectionist temporal classification (Graves et al., 2006) in speechforge's (batch, time, vocab) layout.

The CTC loss of one utterance is −log Σ_π p(π | x) over every frame-level path π that collapses (merge
repeats, then drop blanks) to the target sequence y. A path exists only when the output has at least
``U + R`` frames, U the target length and R the number of adjacent repeated tokens in y (each repeat needs
a blank between its two copies); :class:`CTCLoss` checks this and names the offending utterance instead of
returning an infinite (or, with ``zero_infinity``, a silently zero) loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from speechforge.errors import SpeechforgeError

REDUCTIONS = ("mean", "sum", "none")


def required_frames(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """Minimum output frames U + R for each ``(batch, max_len)`` padded target row: ``(batch,)`` int64."""
    targets = targets.to(torch.int64)
    lengths = target_lengths.to(torch.int64)
    positions = torch.arange(targets.shape[1], device=targets.device)[None, :]  # (1, max_len)
    valid = positions < lengths[:, None]  # (batch, max_len)
    repeats = (targets[:, 1:] == targets[:, :-1]) & valid[:, 1:]  # (batch, max_len - 1)
    return lengths + repeats.sum(dim=1)


class CTCLoss(nn.Module):
    """:func:`torch.nn.functional.ctc_loss` with inputs in the (batch, time, vocab) convention.

    Args:
        blank: index of the blank token.
        zero_infinity: replace infinite losses (and their gradients) by 0; with the length check below
            this only matters for numerical underflow.
        reduction: ``"mean"`` (each utterance's loss divided by its target length, then averaged over the
            batch: PyTorch's definition), ``"sum"`` or ``"none"`` (``(batch,)`` losses).

    Call as ``loss(log_probs, out_lengths, targets, target_lengths)``: ``log_probs`` ``(batch, time,
    vocab)`` log-softmaxed, ``out_lengths`` ``(batch,)`` int64, ``targets`` ``(batch, max_len)`` int64
    padded with anything, ``target_lengths`` ``(batch,)`` int64.
    """

    def __init__(self, blank: int = 0, zero_infinity: bool = True, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise SpeechforgeError(f"unknown reduction {reduction!r} (allowed: {', '.join(REDUCTIONS)})")
        if isinstance(blank, bool) or not isinstance(blank, int) or blank < 0:
            raise SpeechforgeError(f"blank must be a token index ≥ 0, got {blank!r}")
        self.blank = blank
        self.zero_infinity = bool(zero_infinity)
        self.reduction = reduction

    def check(self, log_probs: Tensor, out_lengths: Tensor, targets: Tensor, target_lengths: Tensor) -> None:
        """Raise a :class:`SpeechforgeError` for inconsistent shapes or an utterance too short for its target."""
        if log_probs.dim() != 3:
            raise SpeechforgeError(f"expected log_probs of shape (batch, time, vocab), got {tuple(log_probs.shape)}")
        batch, time, vocab = log_probs.shape
        if not 0 <= self.blank < vocab:
            raise SpeechforgeError(f"blank index {self.blank} is outside the vocabulary of {vocab} tokens")
        if targets.dim() != 2 or targets.shape[0] != batch:
            raise SpeechforgeError(f"expected targets of shape ({batch}, max_len), got {tuple(targets.shape)}")
        for name, lengths in (("out_lengths", out_lengths), ("target_lengths", target_lengths)):
            if lengths.dim() != 1 or lengths.shape[0] != batch:
                raise SpeechforgeError(f"expected {name} of shape ({batch},), got {tuple(lengths.shape)}")
        if bool((out_lengths > time).any()) or bool((out_lengths < 0).any()):
            raise SpeechforgeError(f"out_lengths must be in [0, {time}], got {out_lengths.tolist()}")
        if bool((target_lengths > targets.shape[1]).any()) or bool((target_lengths < 0).any()):
            raise SpeechforgeError(f"target_lengths must be in [0, {targets.shape[1]}], got {target_lengths.tolist()}")
        positions = torch.arange(targets.shape[1], device=targets.device)[None, :]
        valid = positions < target_lengths.to(targets.device)[:, None]
        tokens = targets[valid]
        if tokens.numel() and (
            bool((tokens == self.blank).any()) or bool((tokens < 0).any()) or int(tokens.max()) >= vocab
        ):
            raise SpeechforgeError(f"targets must be token ids in [0, {vocab}) other than the blank {self.blank}")
        need = required_frames(targets, target_lengths).to(out_lengths.device)
        short = (out_lengths.to(torch.int64) < need).nonzero().flatten().tolist()
        if short:
            i = short[0]
            raise SpeechforgeError(
                f"utterance {i} has {int(out_lengths[i])} output frames but its target of "
                f"{int(target_lengths[i])} tokens needs at least {int(need[i])} (CTC needs T ≥ U + repeats): "
                f"{int(need[i]) - int(out_lengths[i])} frame(s) short"
                + (f"; {len(short)} utterances are too short in all" if len(short) > 1 else "")
                + " — use less subsampling or drop the utterance"
            )

    def forward(self, log_probs: Tensor, out_lengths: Tensor, targets: Tensor, target_lengths: Tensor) -> Tensor:
        self.check(log_probs, out_lengths, targets, target_lengths)
        return F.ctc_loss(
            log_probs.transpose(0, 1),  # (time, batch, vocab)
            targets.to(torch.int64),
            out_lengths.to(torch.int64),
            target_lengths.to(torch.int64),
            blank=self.blank,
            reduction=self.reduction,
            zero_infinity=self.zero_infinity,
        )

    def extra_repr(self) -> str:
        return f"blank={self.blank}, zero_infinity={self.zero_infinity}, reduction={self.reduction!r}"


__all__ = ["CTCLoss", "required_frames"]
