"""The learning curve: train and dev error as the training set grows, to ask "would more data help?".

The run's recipe is retrained on nested, stratified subsets of its training manifest (each class keeps its
share; the subset for a fraction contains every smaller one; the order is drawn from ``seed``). Each size is
trained into ``RUN/learning_curve/frac_<f>/`` (a size whose ``metrics.json`` exists is reused) and the curve is
plotted to ``RUN/plots/learning_curve.png``.

Reading it: a dev error still falling at the largest sizes with a wide dev − train gap → more data is likely
to help (variance); a flat dev error close to the train error → it is not (bias: change the model instead).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechforge.console import err_console, track
from speechforge.data.dataset import read_labelled_manifest
from speechforge.data.manifest import Manifest, write_manifest
from speechforge.errors import SpeechforgeError
from speechforge.training.recipe import Recipe, load_recipe

DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
STILL_FALLING = 0.005  # dev error falling by more than half a point between the two largest sizes
WIDE_GAP = 0.02  # dev − train above two points at the largest size


def parse_fractions(text: str) -> list[float]:
    """``"0.1,0.25,1"`` → [0.1, 0.25, 1.0] (sorted, unique, each in (0, 1])."""
    try:
        values = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise SpeechforgeError(
            f"--fractions: expected comma-separated numbers such as 0.1,0.5,1.0 (got {text!r})"
        ) from exc
    if not values or any(not 0 < v <= 1 for v in values):
        raise SpeechforgeError(f"--fractions: every fraction must be in (0, 1] (got {text!r})")
    return values


def nested_subsets(manifest: Manifest, fractions: Sequence[float], field: str, seed: int = 0) -> list[list[int]]:
    """Indices of one subset per fraction: stratified by ``field``, nested (prefixes of one seeded order per
    class), sorted in manifest order. Each class keeps at least one utterance."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, utt in enumerate(manifest):
        by_label.setdefault(str(utt.get(field)), []).append(i)
    order = {label: [idx[j] for j in rng.permutation(len(idx))] for label, idx in sorted(by_label.items())}
    return [sorted(i for idx in order.values() for i in idx[: max(1, round(f * len(idx)))]) for f in fractions]


def frac_name(fraction: float) -> str:
    return f"frac_{fraction:g}"


def learning_curve(
    run: Path,
    recipe: Recipe,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    seed: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or reuse) one run per fraction; returns ``{points, plot, more_data_helps, message}`` where each
    point is ``{fraction, train_size, train_error, dev_error, run}``."""
    from speechforge.training.trainer import train

    if recipe.data.train is None:
        raise SpeechforgeError("data.train is not set in the run's recipe", path=run / "recipe.yaml")
    field = recipe.data.label_field
    manifest = read_labelled_manifest(recipe.data.train, field, recipe.data.labels)
    seed = recipe.training.seed if seed is None else seed
    subsets = nested_subsets(manifest, fractions, field, seed)
    root = run / "learning_curve"
    points: list[dict[str, Any]] = []
    for fraction, subset in track(
        list(zip(fractions, subsets, strict=True)), "learning curve", len(fractions), progress
    ):
        out = root / frac_name(fraction)
        metrics_path = out / "metrics.json"
        if not metrics_path.is_file():
            path = write_manifest(
                root / "manifests" / f"train_{fraction:g}.jsonl", [manifest[i] for i in subset], absolute_paths=True
            )
            sub = load_recipe(run / "recipe.yaml", [f"data.train={path}", "training.resume=false"])
            err_console.print(f"learning curve: training on {len(subset)} utterances ({fraction:g} of train)")
            train(sub, out, overwrite=True, progress=False)
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        points.append(
            {
                "fraction": fraction,
                "train_size": len(subset),
                "train_error": float(metrics["train"]["error_rate"]),
                "dev_error": float(metrics["dev"]["error_rate"]),
                "run": str(out),
            }
        )
    helps, message = judge(points)
    plot = plot_curve(points, run / "plots" / "learning_curve.png")
    return {"points": points, "plot": str(plot), "more_data_helps": helps, "message": message}


def judge(points: list[dict[str, Any]]) -> tuple[bool | None, str]:
    """(more data likely helps?, why) from the dev − train gap and the dev-error slope at the largest sizes."""
    last = points[-1]
    gap = last["dev_error"] - last["train_error"]
    if len(points) < 2:
        return None, f"one size only: dev − train gap {gap:.3f}; give two or more --fractions to see a trend"
    prev = points[-2]
    drop = prev["dev_error"] - last["dev_error"]
    per_k = drop / max(1, last["train_size"] - prev["train_size"]) * 1000
    where = (
        f"dev error {prev['dev_error']:.3f} → {last['dev_error']:.3f} from {prev['train_size']} to "
        f"{last['train_size']} utterances ({per_k:+.3f} per 1000 more, as a fall), dev − train gap {gap:.3f}"
    )
    if drop > STILL_FALLING and gap > WIDE_GAP:
        return True, f"more data is likely to help: {where}"
    if drop <= STILL_FALLING and gap <= WIDE_GAP:
        return False, f"more data is unlikely to help (the curve has flattened near the train error): {where}"
    if drop > STILL_FALLING:
        return True, f"more data may still help a little (dev error still falling, gap small): {where}"
    return False, f"dev error has stopped falling although the gap is wide: regularize rather than add data ({where})"


def plot_curve(points: list[dict[str, Any]], path: Path) -> Path:
    """Train and dev error against training-set size (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = [p["train_size"] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(sizes, [p["train_error"] for p in points], marker="o", label="train")
    ax.plot(sizes, [p["dev_error"] for p in points], marker="o", label="dev")
    ax.set_xlabel("training utterances")
    ax.set_ylabel("error rate")
    ax.set_title("learning curve")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
