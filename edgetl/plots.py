"""Training curves and confusion matrix as PNG files (matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], path: Path) -> None:
    """Loss and the task metric per epoch, train and validation, across stages."""
    plt = _pyplot()
    metric = "accuracy" if "accuracy" in history[0] else "mae"
    epochs = np.arange(1, len(history) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", metric)):
        ax.plot(epochs, [h[key] for h in history], label=f"train {key}")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], label=f"validation {key}")
        for i in range(1, len(history)):
            if history[i]["stage"] != history[i - 1]["stage"]:
                stage = history[i]["stage"]
                ax.axvline(i + 0.5, color="gray", linestyle=":",
                           label="fine-tuning starts" if stage == "fine-tune" else f"{stage} starts")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: list[list[int]], class_names: list[str], path: Path, title: str) -> None:
    plt = _pyplot()
    cm = np.asarray(confusion)
    size = max(4, 0.5 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
