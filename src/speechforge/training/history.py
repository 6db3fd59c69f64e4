"""history.csv and the learning-curve plots of a run (loss and error per epoch, train vs dev)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

HISTORY_COLUMNS = ("epoch", "train_loss", "train_error", "dev_loss", "dev_error", "lr", "seconds", "padding")


def write_history(path: Path, rows: Sequence[dict[str, float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def read_history(path: Path) -> list[dict[str, float]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [{k: float(v) if v else float("nan") for k, v in row.items()} for row in csv.DictReader(f)]


def plot_history(rows: Sequence[dict[str, float]], plots_dir: Path) -> list[Path]:
    """``loss.png`` and ``error.png``: train and dev per epoch, the best dev epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots_dir.mkdir(parents=True, exist_ok=True)
    epochs = [int(r["epoch"]) for r in rows]
    written = []
    for metric, title in (("loss", "loss"), ("error", "error rate")):
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        ax.plot(epochs, [r[f"train_{metric}"] for r in rows], marker="o", label="train")
        ax.plot(epochs, [r[f"dev_{metric}"] for r in rows], marker="o", label="dev")
        if rows:
            best = min(rows, key=lambda r: r["dev_error"])
            ax.axvline(int(best["epoch"]), color="grey", linestyle="--", linewidth=1, label="best dev epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.set_title(f"{title} per epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = plots_dir / f"{metric}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
