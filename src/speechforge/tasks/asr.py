"""Speech recognition with CTC (Graves et al., 2006): waveform → per-frame token log-probabilities → text.

Two records make the task (lhotse keeps them apart too): the :class:`TranscriptEncoder` turns a manifest's
transcripts into CTC targets (normalization, then the tokenizer fitted on train), and :class:`ASRTask` says
what to compute — ``compute_forward`` (log-probabilities and their valid lengths), ``compute_objectives``
(the CTC loss), ``count_errors`` (word errors of the greedy transcript) and ``decode``. The trainer, the
evaluation and the exporter run it exactly like the classification task.

Models: ``conformer_ctc`` and ``lstm_ctc`` read the run's log-mel features (normalized with train statistics,
SpecAugment while training); ``wav2vec2_ctc`` reads the raw waveform (it normalizes each utterance itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from speechforge.audio.augment import SpecAugment
from speechforge.data.dataset import Batch
from speechforge.data.manifest import Manifest
from speechforge.decoding.ctc import greedy_decode
from speechforge.errors import SpeechforgeError
from speechforge.features import build_featurizer
from speechforge.features.normalize import build_normalizer
from speechforge.losses.ctc import CTCLoss, required_frames
from speechforge.metrics.asr import edit_counts
from speechforge.models.ctc import LSTMCTC, ConformerCTC
from speechforge.tasks.base import Stage
from speechforge.tasks.classification import featurizer_kwargs
from speechforge.text.normalize import TextNormalizer
from speechforge.text.tokenizer import CharTokenizer, SentencePieceTokenizer, build_tokenizer, load_tokenizer
from speechforge.training.recipe import Recipe

AnyTokenizer = CharTokenizer | SentencePieceTokenizer


def text_normalizer(recipe: Recipe) -> TextNormalizer:
    """The recipe's normalization, applied alike to targets, references and hypotheses."""
    t = recipe.text
    return TextNormalizer(
        lowercase=t.lowercase, strip_punctuation=t.strip_punctuation, digits_to_words=t.digits_to_words, nfc=t.nfc
    )


class TranscriptEncoder:
    """Normalized transcripts → token ids, with the reason an utterance cannot be a CTC target."""

    def __init__(self, recipe: Recipe, tokenizer: AnyTokenizer) -> None:
        self.normalize = text_normalizer(recipe)
        self.field = recipe.data.text_field
        self.tokenizer = tokenizer

    @classmethod
    def fit(cls, recipe: Recipe, train: Manifest, run_path: Path) -> TranscriptEncoder:
        """Fit the recipe's tokenizer on train's normalized transcripts and save it in the run folder."""
        normalize = text_normalizer(recipe)
        texts = [t for t in (normalize(str(u.get(recipe.data.text_field) or "")) for u in train) if t]
        if not texts:
            raise SpeechforgeError(f"no utterance of train has a non-empty '{recipe.data.text_field}'", path=train.path)
        tokenizer = build_tokenizer(recipe.text.tokenizer, texts, run_path, vocab_size=recipe.text.vocab_size)
        return cls(recipe, tokenizer)

    @classmethod
    def load(cls, recipe: Recipe, run_path: Path) -> TranscriptEncoder:
        return cls(recipe, load_tokenizer(run_path))

    def text(self, manifest: Manifest, i: int) -> str:
        return self.normalize(str(manifest[i].get(self.field) or ""))

    def encode(self, manifest: Manifest) -> tuple[list[list[int]], dict[int, str]]:
        """Token ids per utterance, and ``{position: reason}`` for those that cannot be targets (an empty
        transcript after normalization, characters the tokenizer does not have)."""
        targets: list[list[int]] = []
        problems: dict[int, str] = {}
        for i in range(len(manifest)):
            text = self.text(manifest, i)
            ids: list[int] = []
            if not text:
                problems[i] = f"empty transcript ('{self.field}' is empty after normalization)"
            else:
                try:
                    ids = self.tokenizer.encode(text)
                except SpeechforgeError as exc:
                    problems[i] = exc.message
            targets.append(ids)
        return targets, problems


def build_ctc_model(
    recipe: Recipe, n_features: int, vocab_size: int, architecture: dict[str, Any] | None = None
) -> nn.Module:
    """The recipe's CTC model family with its section's hyper-parameters.

    ``architecture``: wav2vec2 only, the ``Wav2Vec2Config`` of a trained run (``wav2vec2.json``): the model is
    rebuilt from it, without the pretrained checkpoint, before the run's weights are loaded."""
    cfg = recipe.model
    kwargs = cfg.model_dump(exclude={"name", "init", "dropout"})
    if cfg.name == "wav2vec2_ctc":
        from speechforge.models.wav2vec2 import Wav2Vec2CTC

        return Wav2Vec2CTC(
            vocab_size,
            pretrained=None if architecture else kwargs["pretrained"],
            config=architecture or kwargs["config"],
            freeze_feature_encoder=kwargs["freeze_feature_encoder"],
            dropout=cfg.dropout,
        )
    family = ConformerCTC if cfg.name == "conformer_ctc" else LSTMCTC
    return family(n_features, vocab_size, dropout=recipe.dropout, **kwargs)


class ASRTask(nn.Module):
    """Waveform → (features → normalization → SpecAugment while training →) CTC model → log-probabilities.

    Args:
        recipe: the validated recipe (``task: asr``).
        tokenizer: the run's tokenizer (its vocabulary sizes the output layer; id 0 is the blank).
        architecture: wav2vec2 only: rebuild from this saved config (see :func:`build_ctc_model`).
    """

    def __init__(self, recipe: Recipe, tokenizer: AnyTokenizer, architecture: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.normalize_text = text_normalizer(recipe)
        self.text_field = recipe.data.text_field
        self.raw_waveform = recipe.model.name == "wav2vec2_ctc"
        if self.raw_waveform and recipe.features.sample_rate != 16000:
            raise SpeechforgeError(
                f"wav2vec2_ctc reads 16 kHz audio: set features.sample_rate=16000 (got {recipe.features.sample_rate})"
            )
        self.freeze_encoder_epochs = getattr(recipe.model, "freeze_encoder_epochs", 0)
        self.layer_decay = getattr(recipe.model, "layer_decay", 1.0)
        self.featurizer = build_featurizer(recipe.features.kind, **featurizer_kwargs(recipe))
        feature_dim: int = self.featurizer.feature_dim  # type: ignore[assignment]
        self.normalizer = build_normalizer("none" if self.raw_waveform else recipe.features.normalization, feature_dim)
        s = recipe.augment.specaugment
        self.specaugment = (
            SpecAugment(
                freq_masks=s.freq_masks, freq_width=s.freq_width, time_masks=s.time_masks, time_width=s.time_width
            )
            if (s.freq_masks or s.time_masks) and not self.raw_waveform
            else None
        )
        self.model: Any = build_ctc_model(recipe, feature_dim, tokenizer.vocab_size, architecture)
        if not self.raw_waveform:
            from speechforge.models.init import init_weights

            init_weights(self.model, recipe.model.init)
        self.loss = CTCLoss(blank=tokenizer.blank_id, zero_infinity=recipe.loss.zero_infinity)

    # ------------------------------------------------------------------------------------- lengths
    def output_frames(self, n_samples: int) -> int:
        """Output frames the model gives for ``n_samples`` of audio (0: too short for its subsampling)."""
        lengths = torch.tensor([n_samples])
        if self.raw_waveform:
            if n_samples < self.model.min_samples:
                return 0
            return int(self.model.output_lengths(lengths)[0])
        fbank: Any = getattr(self.featurizer, "fbank", self.featurizer)  # MFCC wraps a log-mel filterbank
        frames = int(fbank.num_frames(lengths)[0])
        if frames < self.model.min_frames:
            return 0
        return int(self.model.subsampling.output_lengths(torch.tensor([frames]))[0])

    def too_short(self, i: int, n_samples: int) -> str | None:
        """The dataset ``reject`` hook of evaluation and prediction: audio too short for one output frame."""
        if self.output_frames(n_samples) > 0:
            return None
        return f"audio too short for the model: {n_samples} samples give no output frame after its subsampling"

    def rejection(self, targets: Sequence[list[int]], problems: dict[int, str], sample_rate: int) -> Any:
        """The dataset's ``reject`` hook: target problems first, then audio too short for the target."""

        def reject(i: int, n_samples: int) -> str | None:
            if i in problems:
                return problems[i]
            frames = self.output_frames(n_samples)
            tokens = torch.tensor([targets[i]])
            need = int(required_frames(tokens, torch.tensor([len(targets[i])]))[0])
            if frames < max(need, 1):
                seconds = n_samples / sample_rate
                return (
                    f"audio too short for its transcript: {seconds:.2f} s gives {frames} output frame(s) after the "
                    f"model's subsampling, CTC needs {need} for {len(targets[i])} tokens"
                )
            return None

        return reject

    # ------------------------------------------------------------------------------------- the hooks
    def compute_forward(self, batch: Batch, stage: Stage) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (batch, frames', vocab) and valid output frames (batch,)."""
        if self.raw_waveform:
            return self.model(batch.waveforms, batch.lengths)
        feats, frame_lengths = self.featurizer(batch.waveforms, batch.lengths)  # (batch, frames, dim)
        feats = self.normalizer(feats, frame_lengths)
        if stage is Stage.TRAIN and self.specaugment is not None:
            feats = self.specaugment(feats, frame_lengths)
        return self.model(feats, frame_lengths)

    def compute_objectives(
        self, outputs: tuple[torch.Tensor, torch.Tensor], batch: Batch, stage: Stage
    ) -> torch.Tensor:
        """Mean CTC loss over the batch (each utterance's loss divided by its target length)."""
        log_probs, out_lengths = outputs
        if batch.target_lengths is None:
            raise SpeechforgeError("an ASR batch needs token targets (collate of TranscriptEncoder targets)")
        return self.loss(log_probs.float(), out_lengths, batch.targets, batch.target_lengths)

    def decode(self, outputs: tuple[torch.Tensor, torch.Tensor]) -> list[str]:
        """Greedy (best-path) transcripts."""
        log_probs, out_lengths = outputs
        return greedy_decode(log_probs.detach().float().cpu(), out_lengths.cpu(), self.tokenizer)

    def references(self, batch: Batch) -> list[str]:
        """The (normalized) reference texts of a batch, read back from its token targets."""
        lengths = batch.target_lengths.tolist() if batch.target_lengths is not None else []
        return [self.tokenizer.decode(row[:n]) for row, n in zip(batch.targets.cpu().tolist(), lengths, strict=True)]

    def count_errors(self, outputs: tuple[torch.Tensor, torch.Tensor], batch: Batch) -> tuple[int, int]:
        """(word errors S + D + I of the greedy transcripts, reference words): their ratio is the WER."""
        errors = words = 0
        for ref, hyp in zip(self.references(batch), self.decode(outputs), strict=True):
            s, d, i, _ = edit_counts(ref.split(), hyp.split())
            errors += s + d + i
            words += len(ref.split())
        return errors, words

    # -------------------------------------------------------------------------- training schedule hooks
    def on_train_epoch_start(self, epoch: int) -> None:
        """wav2vec2: train only the CTC head for the first ``freeze_encoder_epochs`` epochs."""
        if self.raw_waveform and self.freeze_encoder_epochs:
            self.model.set_encoder_frozen(epoch < self.freeze_encoder_epochs)

    def parameter_groups(self, lr: float) -> list[dict[str, Any]] | None:
        """Layer-wise learning rates (wav2vec2 with ``model.layer_decay`` < 1), else None (one rate)."""
        if self.raw_waveform and self.layer_decay < 1.0:
            return self.model.parameter_groups(lr, self.layer_decay)
        return None
