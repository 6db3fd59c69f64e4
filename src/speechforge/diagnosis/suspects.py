"""Suspected label errors, by confident learning (Northcutt, Jiang & Chuang, 2021) on out-of-fold predictions.

Every training utterance needs a prediction from a model that did not see it: the run's recipe is retrained
``folds`` times on stratified folds of its training manifest (``StratifiedKFold``, seeded by
``training.seed``), each fold into ``RUN/diagnosis/folds/<k>/`` (a fold whose ``metrics.json`` exists is
reused while the fold plan - folds, seed, epochs, utterances - is unchanged), and predicts its held-out fold.
``epochs`` overrides ``training.max_epochs`` to keep this affordable.

Scoring: ``cleanlab.filter.find_label_issues(..., return_indices_ranked_by="self_confidence")`` when cleanlab
is installed; otherwise the method itself, implemented below: per-class thresholds t_j = mean p_j over the
items labelled j; an item is suspect when the probability of its given label is below that label's threshold
and some other class j has p_j ≥ t_j. Suspects are ranked by self-confidence = p(given label), lowest first.

``dev`` / ``test`` / ``train_dev`` (``splits``) are predicted by the run's own best model (trained on all of
train, so they are held out from its weights; dev did choose the epoch) and scored within their split.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.console import err_console, track
from speechforge.data.manifest import Manifest, Utterance, read_manifest, write_manifest
from speechforge.errors import SpeechforgeError

SPLITS = ("train", "dev", "test", "train_dev")


def confident_learning_issues(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Indices of suspected label errors, ranked by self-confidence (lowest first).

    Uses cleanlab when installed, else the per-class-threshold rule of the module docstring.
    """
    labels = np.asarray(labels, dtype=int)
    pred_probs = np.asarray(pred_probs, dtype=float)
    if len(labels) == 0:
        return np.zeros(0, dtype=int)
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return threshold_issues(labels, pred_probs)
    present = np.unique(labels)
    if len(present) < 2:  # cleanlab needs two classes among the given labels
        return threshold_issues(labels, pred_probs)
    # cleanlab wants every column to be a class seen in ``labels``: keep those, renormalize, re-index
    sub = pred_probs[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    remap = np.searchsorted(present, labels)
    return np.asarray(find_label_issues(remap, sub, return_indices_ranked_by="self_confidence"), dtype=int)


def threshold_issues(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Confident learning without cleanlab: t_j = mean p_j over items labelled j; suspect when
    p(given) < t_given and some other j has p_j ≥ t_j; ranked by p(given), lowest first."""
    n, k = pred_probs.shape
    thresholds = np.full(k, np.inf)  # a class nobody is labelled with never claims an item
    for j in range(k):
        if np.any(labels == j):
            thresholds[j] = pred_probs[labels == j, j].mean()
    self_conf = pred_probs[np.arange(n), labels]
    above = pred_probs >= thresholds[None, :]
    above[np.arange(n), labels] = False
    suspect = (self_conf < thresholds[labels]) & above.any(axis=1)
    idx = np.flatnonzero(suspect)
    return idx[np.argsort(self_conf[idx], kind="stable")]


def predict_probs(
    run: Path, manifest: Manifest, labels: Sequence[str], progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``manifest`` that could be read, probabilities over ``labels`` for them)."""
    from speechforge.data.dataset import UtteranceDataset
    from speechforge.evaluation.classification import infer
    from speechforge.training.run import RunDir, load_classifier

    task = load_classifier(run)
    rate = RunDir(run).recipe().features.sample_rate
    dataset = UtteranceDataset(manifest, sample_rate=rate, progress=progress)
    out = infer(task, dataset)
    probs = np.zeros((len(out.indices), len(labels)))
    column = {label: j for j, label in enumerate(labels)}
    for j, label in enumerate(task.labels):  # a fold may lack a rare class: its column stays 0
        if label in column:
            probs[:, column[label]] = out.probabilities[:, j]
    return np.asarray(out.indices, dtype=int), probs


def fold_plan(manifest: Manifest, targets: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Held-out indices per fold, stratified by label."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(targets)
    rare = [int(c) for c in counts if 0 < c < folds]
    if rare:
        raise SpeechforgeError(
            f"a class has only {min(rare)} training utterance(s), fewer than folds={folds}: use fewer folds",
            path=manifest.path,
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [held for _, held in splitter.split(np.zeros(len(targets)), targets)]


def out_of_fold(
    run: Path,
    manifest: Manifest,
    labels: Sequence[str],
    targets: np.ndarray,
    folds: int,
    epochs: int | None,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Train (or reuse) one model per fold; (positions predicted, their out-of-fold probabilities)."""
    from speechforge.training.recipe import load_recipe
    from speechforge.training.run import RunDir
    from speechforge.training.trainer import train

    rundir = RunDir(run)
    seed = rundir.recipe().training.seed
    plan = fold_plan(manifest, targets, folds, seed)
    root = run / "diagnosis" / "folds"
    ids = "\n".join(utt.id for utt in manifest)
    signature = {
        "folds": folds,
        "seed": seed,
        "epochs": epochs,
        "utterances": hashlib.sha256(ids.encode("utf-8")).hexdigest(),
        "recipe": hashlib.sha256(rundir.recipe_path.read_bytes()).hexdigest(),
    }
    plan_path = root / "plan.json"
    if root.exists() and (not plan_path.is_file() or json.loads(plan_path.read_text("utf-8")) != signature):
        shutil.rmtree(root)  # folds of another plan: never mix them
    root.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(json.dumps(signature, indent=2) + "\n", encoding="utf-8")

    positions: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    for k, held in track(list(enumerate(plan)), "cross-validation folds", folds, progress):
        held_set = set(held.tolist())
        train_part = [utt for i, utt in enumerate(manifest) if i not in held_set]
        held_part = Manifest([manifest[int(i)] for i in held], path=root / "manifests" / f"heldout_{k}.jsonl")
        out = root / str(k)
        if not (out / "metrics.json").is_file():
            path = write_manifest(root / "manifests" / f"train_{k}.jsonl", train_part, absolute_paths=True)
            write_manifest(held_part.path, held_part.utterances, absolute_paths=True)  # type: ignore[arg-type]
            overrides = [f"data.train={path}", "data.test=null", "data.train_dev=null", "training.resume=false"]
            if epochs is not None:
                overrides.append(f"training.max_epochs={epochs}")
            err_console.print(f"suspects: fold {k + 1}/{folds}, training on {len(train_part)} utterances")
            train(load_recipe(rundir.recipe_path, overrides), out, overwrite=True, progress=False)
        got, p = predict_probs(out, held_part, labels, progress=False)
        positions.append(held[got])
        probs.append(p)
    return np.concatenate(positions), np.concatenate(probs)


def rank(
    split: str,
    manifest: Manifest,
    positions: np.ndarray,
    probs: np.ndarray,
    targets: np.ndarray,
    labels: Sequence[str],
) -> list[dict[str, Any]]:
    given = targets[positions]
    found = confident_learning_issues(given, probs)
    return [
        {
            "id": manifest[int(positions[i])].id,
            "audio": manifest[int(positions[i])].audio,
            "label": labels[int(given[i])],
            "predicted": labels[int(np.argmax(probs[i]))],
            "score": float(probs[i, given[i]]),
            "split": split,
            "manifest": str(manifest.path),
        }
        for i in found
    ]


def find_suspects(
    run: str | Path,
    *,
    folds: int = 5,
    splits: Sequence[str] = ("train",),
    epochs: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Suspected label errors of the run's data, most suspect first: ``[{id, audio, label, predicted, score,
    split}]`` where ``score`` is the self-confidence p(given label) (low = suspect). See the module docstring."""
    from speechforge.data.dataset import read_labelled_manifest
    from speechforge.training.run import RunDir

    rundir = RunDir(run)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise SpeechforgeError(f"unknown split(s) {', '.join(map(repr, unknown))}; choose from {', '.join(SPLITS)}")
    if folds < 2:
        raise SpeechforgeError(f"folds must be at least 2 (got {folds})")
    if epochs is not None and epochs < 1:
        raise SpeechforgeError(f"epochs must be at least 1 (got {epochs})")
    if not rundir.path.is_dir():
        raise SpeechforgeError("run folder not found (train one with `speechforge train`)", path=rundir.path)
    for needed in (rundir.recipe_path, rundir.labels_path):
        if not needed.is_file():
            raise SpeechforgeError(f"not a speechforge run: {needed.name} is missing", path=rundir.path)
    recipe = rundir.recipe()
    labels = rundir.labels().labels
    index = {label: j for j, label in enumerate(labels)}
    field = recipe.data.label_field
    suspects: list[dict[str, Any]] = []
    for split in splits:
        path = getattr(recipe.data, split)
        if path is None:
            raise SpeechforgeError(f"data.{split} is not set in the run's recipe", path=rundir.recipe_path)
        manifest = read_labelled_manifest(path, field, recipe.data.labels, purpose="finding label errors")
        known = [i for i, utt in enumerate(manifest) if str(utt.get(field)) in index]
        if len(known) < len(manifest):
            err_console.print(
                f"suspects: {len(manifest) - len(known)} utterance(s) of {split} have labels the run "
                "was not trained on; skipped"
            )
            manifest = Manifest([manifest[i] for i in known], path=manifest.path)
        targets = np.array([index[str(utt.get(field))] for utt in manifest], dtype=int)
        if split == "train":
            positions, probs = out_of_fold(rundir.path, manifest, labels, targets, folds, epochs, progress)
        else:
            rundir.require()
            positions, probs = predict_probs(rundir.path, manifest, labels, progress=False)
        suspects.extend(rank(split, manifest, positions, probs, targets, labels))
    suspects.sort(key=lambda s: s["score"])
    return suspects


def export_suspects(suspects: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write the suspects as a manifest for review: each original record (read back from the manifest named
    by the suspect's ``manifest`` key) plus ``predicted_label`` and ``suspect_score`` (and ``split`` when the
    record has none), most suspect first as given. Audio paths are relative to the new manifest's folder."""
    sources: dict[str, dict[str, Utterance]] = {}
    records: list[Utterance] = []
    for s in suspects:
        source = s.get("manifest")
        if not source:
            raise SpeechforgeError(f"suspect {s.get('id')!r} names no source manifest (use find_suspects' output)")
        if source not in sources:
            sources[source] = {u.id: u for u in read_manifest(source)}
        utt = sources[source].get(str(s["id"]))
        if utt is None:
            raise SpeechforgeError(f"utterance {s['id']!r} is no longer in the manifest", path=source)
        record = utt.model_copy(deep=True)
        extra = record.model_extra if record.model_extra is not None else {}
        extra["predicted_label"] = s["predicted"]
        extra["suspect_score"] = round(float(s["score"]), 6)
        extra.setdefault("split", s.get("split"))
        records.append(record)
    return write_manifest(path, records)


__all__ = ["confident_learning_issues", "export_suspects", "find_suspects"]
