"""``speechforge train``: the lecture's "Steps to train a model", in reading order.

1. read the manifests and the targets: the label set, or for asr the tokenizer of the normalized
   transcripts (train defines them; training/data.py);
2. build the task: features, normalization, model (with its initialisation), loss;
3. normalize with train statistics only (μ_train, σ_train), stored with the model;
4. minimize the cost with the recipe's optimizer, batch size, schedule and regularization (Lightning runs
   the loop: progress bar, checkpoints, early stopping, resume);
5. restore the best dev epoch and measure it on train, train_dev, dev and test.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from speechforge.console import err_console, progress_enabled
from speechforge.data.dataset import UtteranceDataset, collate
from speechforge.errors import SpeechforgeError
from speechforge.evaluation.classification import infer, score
from speechforge.evaluation.plots import plot_confusion_matrix
from speechforge.tasks.asr import ASRTask, TranscriptEncoder
from speechforge.tasks.classification import ClassificationTask
from speechforge.training.data import SPLITS, TrainingData, prepare_data, read_manifests, read_split, train_loader
from speechforge.training.history import plot_history, write_history
from speechforge.training.recipe import Recipe
from speechforge.training.run import RunDir

__all__ = ["TrainResult", "fit_normalizer", "read_split", "train"]


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]]


# ------------------------------------------------------------------------------------ 3. normalization
@torch.no_grad()
def fit_normalizer(task: ClassificationTask | ASRTask, clean_train: UtteranceDataset) -> None:
    """μ_train, σ_train over every frame of the (unaugmented) training set."""
    fit = getattr(task.normalizer, "fit", None)
    if fit is None:
        return
    loader = DataLoader(clean_train, batch_size=64, shuffle=False, collate_fn=collate)
    fit(task.featurizer(b.waveforms, b.lengths) for b in loader)


# ------------------------------------------------------------------------------------------ 4. the loop
def describe_batching(m: int, batch_size: int | str) -> tuple[int, str]:
    """The lecture's accounting: m examples, batch M → iterations per epoch, and which gradient descent."""
    M = m if batch_size == "full" else min(int(batch_size), m)
    iterations = -(-m // M)
    kind = "stochastic" if M == 1 else "batch" if m == M else "mini-batch"
    return (
        M,
        f"m = {m} training examples, batch M = {M} → {iterations} iterations per epoch ({kind} gradient descent)",
    )


def quiet_lightning() -> None:
    """No GPU/TPU banners, tips or 'few workers' warnings: the CLI prints what matters itself."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*predict_dataloader.*")
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # recipe.yaml is written first


def pick_device(recipe: Recipe) -> tuple[str, str]:
    """(accelerator, precision) for Lightning: CUDA when present (``device: auto``); bf16 autocast on CUDA only."""
    wanted = recipe.training.device
    if wanted == "cuda" and not torch.cuda.is_available():
        raise SpeechforgeError("training.device: cuda was asked for but no CUDA device is visible")
    accelerator = "gpu" if wanted != "cpu" and torch.cuda.is_available() else "cpu"
    precision = "32-true"
    if recipe.training.precision == "bf16":
        if accelerator == "gpu":
            precision = "bf16-mixed"
        else:
            err_console.print("note: training.precision=bf16 runs in float32 on CPU")
    return accelerator, precision


def train(
    recipe: Recipe,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train the recipe into the run folder ``out`` (resumes from ``last.ckpt`` when ``training.resume``).

    ``callbacks``: extra Lightning callbacks (e.g. the sweep's pruning callback, which reports every epoch's
    monitored dev value to an Optuna trial).
    """
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar

    from speechforge.training.early_stopping import EarlyStopping
    from speechforge.training.module import TaskModule

    quiet_lightning()
    run = RunDir(out)
    resume_from = prepare_run_dir(run, recipe, overwrite)
    pl.seed_everything(recipe.training.seed, workers=True, verbose=False)
    # Subnormal floats (tiny weights or activations) are 10–100× slower on CPUs: flush them to zero.
    torch.set_flush_denormal(True)
    data, task = prepare_data_and_task(recipe, run, progress)
    fit_normalizer(task, data.clean_train)

    m = len(data.datasets["train"])
    M, accounting = describe_batching(m, recipe.optimizer.batch_size)
    if recipe.data.max_batch_seconds is None:  # else the bucketed loader says how many batches there are
        err_console.print(accounting)
    workers = recipe.training.workers
    uses_batch_norm = any(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in task.modules())
    if M == 1 and uses_batch_norm:
        raise SpeechforgeError(
            "optimizer.batch_size=1 (stochastic gradient descent) cannot train batch norm, "
            "which needs at least 2 examples per batch: set model.batch_norm=false"
        )
    # drop_last: a last batch of one example breaks batch norm
    train_batches = train_loader(recipe, data.datasets["train"], M, drop_last=uses_batch_norm and m % M == 1)
    dev_loader = DataLoader(data.datasets["dev"], batch_size=max(M, 64), collate_fn=collate, num_workers=workers)
    recipe = with_enough_epochs(recipe, len(train_batches))

    early = recipe.regularization.early_stopping
    checkpoint = ModelCheckpoint(
        dirpath=run.path,
        filename="best",
        monitor=early.monitor,
        mode="min",
        save_last=True,
        save_top_k=1,
        enable_version_counter=False,
    )
    all_callbacks: list[Any] = [checkpoint, *callbacks]
    if early.enabled:
        all_callbacks.append(EarlyStopping(monitor=early.monitor, patience=early.patience, min_delta=early.min_delta))
    show_bar = progress and progress_enabled()
    if show_bar:
        all_callbacks.append(TQDMProgressBar(leave=True))
    accelerator, precision = pick_device(recipe)
    trainer = pl.Trainer(
        max_epochs=recipe.training.max_epochs,
        min_steps=recipe.training.min_updates or None,
        accelerator=accelerator,
        devices=1,
        precision=precision,  # type: ignore[arg-type]
        callbacks=all_callbacks,
        logger=False,
        enable_progress_bar=show_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        gradient_clip_val=recipe.training.gradient_clip,
        deterministic=accelerator == "cpu",
        default_root_dir=run.path,
        log_every_n_steps=1,
    )
    module = TaskModule(task, recipe, m)
    trainer.fit(module, train_batches, dev_loader, ckpt_path=resume_from)

    best = torch.load(checkpoint.best_model_path or run.last_ckpt, map_location="cpu", weights_only=False)
    module.load_state_dict(best["state_dict"])
    history = module.history
    write_history(run.history_path, history)
    plot_history(history, run.plots)
    metrics = final_metrics(task, data, run, M)
    metrics["best_epoch"] = int(best["speechforge"]["history"][-1]["epoch"]) if best.get("speechforge") else None
    metrics["epochs"] = len(history)
    metrics["stopped_early"] = len(history) < recipe.training.max_epochs
    metrics["skipped"] = data.skipped
    run.metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return TrainResult(run.path, metrics, history)


def with_enough_epochs(recipe: Recipe, batches_per_epoch: int) -> Recipe:
    """``training.max_epochs`` raised so that the run makes at least ``training.min_updates`` updates."""
    need = -(-recipe.training.min_updates // max(1, batches_per_epoch))
    if need <= recipe.training.max_epochs:
        return recipe
    err_console.print(
        f"training.min_updates={recipe.training.min_updates} with {batches_per_epoch} batches per epoch: "
        f"training for up to {need} epochs (max_epochs {recipe.training.max_epochs} raised)"
    )
    return recipe.model_copy(update={"training": recipe.training.model_copy(update={"max_epochs": need})})


def prepare_run_dir(run: RunDir, recipe: Recipe, overwrite: bool) -> str | None:
    """Create the run folder and save the resolved recipe. Returns the checkpoint to resume from, if any.

    A folder that already holds a run is never overwritten silently: resume it or pass ``--overwrite``.
    """
    if recipe.training.resume:
        if not run.last_ckpt.exists():
            raise SpeechforgeError("training.resume: there is no last.ckpt to resume from", path=run.path)
        err_console.print(f"resuming from {run.last_ckpt}")
        return str(run.last_ckpt)
    if run.path.exists() and any(run.path.iterdir()):
        if not overwrite:
            raise SpeechforgeError(
                "the folder already holds a run; pass --resume to continue it, --overwrite to replace it, "
                "or choose another --out",
                path=run.path,
            )
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    run.recipe_path.write_text(recipe.with_absolute_paths().to_yaml(), encoding="utf-8")
    return None


def prepare_data_and_task(
    recipe: Recipe, run: RunDir, progress: bool
) -> tuple[TrainingData, ClassificationTask | ASRTask]:
    """Steps 1 and 2: the data with its targets (label set or tokenizer, saved in the run) and the task."""
    manifests = read_manifests(recipe)
    if recipe.task == "asr":
        transcripts = TranscriptEncoder.fit(recipe, manifests["train"], run.path)  # type: ignore[arg-type]
        asr = ASRTask(recipe, transcripts.tokenizer)
        if asr.raw_waveform:
            run.wav2vec2_path.write_text(json.dumps(asr.model.architecture_config(), indent=1) + "\n", encoding="utf-8")
        return prepare_data(recipe, manifests, progress, transcripts, asr.rejection), asr
    data = prepare_data(recipe, manifests, progress)
    labels = data.labels
    assert labels is not None  # classification data always has a label set
    labels.save(run.labels_path)
    counts = Counter(data.datasets["train"].targets)
    task = ClassificationTask(recipe, labels.labels, [counts.get(i, 0) for i in range(len(labels))])
    return data, task


def final_metrics(
    task: ClassificationTask | ASRTask, data: TrainingData, run: RunDir, batch_size: int
) -> dict[str, Any]:
    """The best model measured on every split (train without augmentation), with confusion PNGs."""
    device = "cuda" if torch.cuda.is_available() and next(task.parameters()).is_cuda else "cpu"
    if isinstance(task, ASRTask):
        return asr_final_metrics(task, data, device)
    assert data.labels is not None
    metrics: dict[str, Any] = {"labels": data.labels.labels}
    for name in SPLITS:
        dataset = data.clean_train if name == "train" else data.datasets.get(name)
        if dataset is None:
            continue
        result = score(task, infer(task, dataset, batch_size=max(batch_size, 64), device=device))
        metrics[name] = result
        matrix = result["confusion_matrix"]
        plot_confusion_matrix(matrix["matrix"], matrix["labels"], run.plots / f"confusion_{name}.png", name)
    return metrics


def asr_final_metrics(task: ASRTask, data: TrainingData, device: str) -> dict[str, Any]:
    """Greedy-decoding WER / CER of the best model on every split (train without augmentation)."""
    from speechforge.evaluation.asr import asr_metrics, references, transcribe
    from speechforge.metrics.asr import wer_details

    tokenizer = {"kind": type(task.tokenizer).__name__, "vocab_size": task.tokenizer.vocab_size}
    metrics: dict[str, Any] = {"tokenizer": tokenizer}
    for name in SPLITS:
        dataset = data.clean_train if name == "train" else data.datasets.get(name)
        if dataset is None:
            continue
        transcripts = transcribe(task, dataset, device=device)
        refs = references(task, dataset.manifest, transcripts.indices, task.text_field)
        metrics[name] = asr_metrics(wer_details(refs, transcripts.hyps), transcripts)
    return metrics
