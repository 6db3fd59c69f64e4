"""Training-dynamics checks read from ``history.csv``, and the one-batch overfit check.

Each finding is ``{kind, message, epoch}`` (epoch 1-based, or None when it is about the whole run):

    diverged          a loss became NaN or infinite
    exploding_loss    the train loss rose far above where it started (> 3× the first epoch's)
    loss_not_falling  the best train loss is less than 5% below the first: LR too low or too high
    dev_loss_rising   dev loss rose again while train loss kept falling (epoch = where dev loss was lowest)
    stopped_too_early early stopping fired before max_epochs/3 while train loss was still falling fast

The overfit check (``--overfit-check``) trains the run's recipe on one small batch with every regularizer off:
a model that cannot drive its train error to ~0 there has a bug or too little capacity.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from speechforge.training.history import read_history
from speechforge.training.recipe import Recipe

NOT_FALLING = 0.05  # best train loss must be at least 5% below the first
EXPLODING = 3.0  # a train loss above 3× the first epoch's is exploding
RISING = 0.10  # dev loss 10% above its minimum (and at least 2 epochs later) counts as rising
FAST_FALL = 0.10  # train loss fell ≥ 10% over the last two epochs: still falling fast


def finding(kind: str, message: str, epoch: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "message": message, "epoch": epoch}


def load_history(path: Path) -> list[dict[str, float]]:
    """``history.csv`` rows, or [] when the run has none (checks are then skipped, with a note)."""
    return read_history(path) if path.is_file() else []


def check_dynamics(
    history: list[dict[str, float]], recipe: Recipe | None = None, metrics: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """All findings for one run's per-epoch history (empty when training looked healthy)."""
    if not history:
        return []
    found: list[dict[str, Any]] = []
    epochs = [int(r["epoch"]) for r in history]
    train = [r["train_loss"] for r in history]
    dev = [r["dev_loss"] for r in history]

    bad = next(
        (i for i, r in enumerate(history) if not (math.isfinite(r["train_loss"]) and math.isfinite(r["dev_loss"]))),
        None,
    )
    if bad is not None:
        lr = recipe.optimizer.lr if recipe else None
        hint = f" (e.g. optimizer.lr={lr / 10:g})" if lr else ""
        found.append(
            finding(
                "diverged",
                f"the loss became NaN/inf at epoch {epochs[bad]}: training diverged; lower the learning "
                f"rate{hint} or set training.gradient_clip=1.0",
                epochs[bad],
            )
        )
        train, dev, epochs = train[:bad], dev[:bad], epochs[:bad]  # judge the finite part only
    if not train:
        return found

    first, best = train[0], min(train)
    worst = max(range(len(train)), key=lambda i: train[i])
    if first > 0 and train[worst] > EXPLODING * first and worst > 0:
        found.append(
            finding(
                "exploding_loss",
                f"train loss rose to {train[worst]:.4g} at epoch {epochs[worst]}, over {EXPLODING:g}× its first "
                f"value {first:.4g}: the learning rate is too high (or set training.gradient_clip=1.0)",
                epochs[worst],
            )
        )
    if len(train) >= 2 and first > 0 and (first - best) / first < NOT_FALLING:
        found.append(
            finding(
                "loss_not_falling",
                f"train loss barely fell: {first:.4g} at epoch {epochs[0]}, best {best:.4g} "
                f"({100 * (first - best) / first:.1f}% lower): LR too low or too high (try optimizer.lr ×10 and ÷10)",
                None,
            )
        )

    lowest = min(range(len(dev)), key=lambda i: dev[i])
    if lowest + 2 < len(dev) and dev[-1] > dev[lowest] * (1 + RISING) and train[-1] < train[lowest]:
        found.append(
            finding(
                "dev_loss_rising",
                f"dev loss was lowest ({dev[lowest]:.4g}) at epoch {epochs[lowest]} and rose to {dev[-1]:.4g} by "
                f"epoch {epochs[-1]} while train loss kept falling ({train[lowest]:.4g} → {train[-1]:.4g}): "
                "the model started to overfit there",
                epochs[lowest],
            )
        )

    if recipe is not None and len(train) >= 3:
        max_epochs = recipe.training.max_epochs
        stopped = bool((metrics or {}).get("stopped_early", len(history) < max_epochs))
        fall = (train[-3] - train[-1]) / train[-3] if train[-3] > 0 else 0.0
        if stopped and len(history) < max_epochs / 3 and fall >= FAST_FALL:
            patience = recipe.regularization.early_stopping.patience
            found.append(
                finding(
                    "stopped_too_early",
                    f"early stopping ended the run at epoch {epochs[-1]} of {max_epochs} while train loss was "
                    f"still falling fast ({100 * fall:.0f}% over the last two epochs): raise "
                    f"regularization.early_stopping.patience (now {patience}) or monitor dev_loss",
                    epochs[-1],
                )
            )
    return found


# ----------------------------------------------------------------------------------- one-batch overfit
OVERFIT_UTTERANCES = 16
OVERFIT_EPOCHS = 60
OVERFIT_PASS = 1 / OVERFIT_UTTERANCES + 1e-9  # at most one of the 16 utterances wrong counts as ~0


def overfit_one_batch(
    run: Path,
    recipe: Recipe,
    *,
    utterances: int = OVERFIT_UTTERANCES,
    epochs: int = OVERFIT_EPOCHS,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``recipe`` on one batch of ``utterances`` train utterances (labels interleaved), with no
    augmentation, dropout, weight decay, schedule or early stopping, into ``run/diagnosis/overfit/``.

    Returns ``{utterances, epochs, train_error, passed, message, run}``.
    """
    from speechforge.data.dataset import read_labelled_manifest
    from speechforge.data.manifest import write_manifest
    from speechforge.errors import SpeechforgeError
    from speechforge.training.recipe import load_recipe
    from speechforge.training.trainer import train

    if recipe.data.train is None:
        raise SpeechforgeError("data.train is not set in the run's recipe", path=run / "recipe.yaml")
    field = recipe.data.label_field
    manifest = read_labelled_manifest(recipe.data.train, field, recipe.data.labels)
    by_label: dict[str, list[int]] = {}
    for i, utt in enumerate(manifest):
        by_label.setdefault(str(utt.get(field)), []).append(i)
    chosen: list[int] = []  # round-robin over labels: every class appears in the batch
    for k in range(max(len(v) for v in by_label.values())):
        chosen += [v[k] for v in by_label.values() if k < len(v)]
    chosen = sorted(chosen[:utterances])
    folder = run / "diagnosis"
    batch = write_manifest(folder / "overfit_batch.jsonl", [manifest[i] for i in chosen], absolute_paths=True)
    overrides = [
        f"data.train={batch}",
        f"data.dev={batch}",
        "data.test=null",
        "data.train_dev=null",
        "augment.speed.factors=[1.0]",
        "augment.noise.prob=0",
        "augment.specaugment.freq_masks=0",
        "augment.specaugment.time_masks=0",
        "augment.synthesized.manifest=null",
        "regularization.dropout=0",
        "model.dropout=null",
        "regularization.l2=0",
        "regularization.early_stopping.enabled=false",
        "optimizer.weight_decay=0",
        f"optimizer.batch_size={len(chosen)}",
        "schedule.name=none",
        f"training.max_epochs={epochs}",
        "training.resume=false",
    ]
    small = load_recipe(run / "recipe.yaml", overrides)
    result = train(small, folder / "overfit", overwrite=True, progress=progress)
    error = float(result.metrics["train"]["error_rate"])
    passed = error <= OVERFIT_PASS
    if passed:
        message = (
            f"the model fits one batch of {len(chosen)} utterances (train error {error:.3f} after {epochs} epochs)"
        )
    else:
        message = (
            f"the model cannot fit one batch of {len(chosen)} utterances (train error {error:.3f} after {epochs} "
            "epochs, with regularization off): look for a bug (labels, features, loss) or too little capacity "
            "or a wrong learning rate"
        )
    return {
        "utterances": len(chosen),
        "epochs": len(result.history),
        "train_error": error,
        "passed": passed,
        "message": message,
        "run": str(result.run_dir),
    }
