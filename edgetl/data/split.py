"""Stratified, shuffled splits: never the last N% of a class-sorted array."""
from __future__ import annotations

import numpy as np

from edgetl.runtime.errors import UserError


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): ``fraction`` of every class held out, each part shuffled.

    Classes with a single sample stay in ``keep``. For regression targets pass bins, not values.
    """
    if not 0.0 < fraction < 1.0:
        raise UserError(f"split fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_held = int(round(len(idx) * fraction))
        n_held = min(max(n_held, 1 if len(idx) > 1 else 0), len(idx) - 1)
        held.append(idx[:n_held])
        keep.append(idx[n_held:])
    return rng.permutation(np.concatenate(keep)), rng.permutation(np.concatenate(held))


def stratified_limit(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of about ``n`` samples with the class proportions of ``y`` (at least one per class)."""
    if n >= len(y):
        return np.arange(len(y))
    classes = np.unique(y)
    if n < len(classes):
        raise UserError(f"--limit {n} is smaller than the number of classes ({len(classes)})")
    _, held = stratified_split(y, n / len(y), seed)
    return held


def strata(y: np.ndarray, task: str) -> np.ndarray:
    """Labels to stratify on: the class, or the value's quintile for regression."""
    if task == "regression":
        edges = np.quantile(y, [0.2, 0.4, 0.6, 0.8])
        return np.searchsorted(edges, y)
    return y
