"""A digit reader's class biases set for the desk: its own training digits written on generated desk pages, cut out
by the runtime's finder, read by the trained model, and one bias per digit fitted so those crops read best.

A digit seen on a desk (a thin pen, blur, dim light, a webcam's few pixels) loses small details: a 9's small loop
fills, an 8's upper loop vanishes, a 3's curves flatten. The trained reader then falls back on a few simple shapes:
on `make bench`'s desk tune crops it read 81 digits wrongly as 7 and 50 as 6, and 8 only 9 times wrongly, while 58
8s were read as something else. A bias per digit added to the head's logits moves those decisions back. It is fitted
on desk crops of the training split only (the test split and the benchmark clips never take part), with a little
L2 pull towards zero, and folded into the bias of the head's last Dense layer, so the exported model carries it and
the runtime needs nothing new (bench/README.md, "Class biases set on desk crops of the training digits").
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger("edgetl")

CROPS_PER_DIGIT = 5  # desk crops mined per training digit ...
MAX_CROPS = 10_000  # ... up to this many: fitted on the first 10,000 of mnist-5k's 19,400 the biases read the desk
# crops and other writers as well (bench/README.md), in half the time (about 35 s to mine, 20 s to read on 2 cores)
L2 = 0.003  # pull of each bias towards 0, against the mean cross-entropy
STEPS, RATE = 3000, 0.5  # gradient descent on 10 parameters: converged well before 3,000 steps


def default_crops(n_digits: int) -> int:
    return min(MAX_CROPS, CROPS_PER_DIGIT * n_digits)


def digit_columns(class_names: list[str]) -> list[int]:
    """The model's output columns that are digits (not "not a digit" or "two digits")."""
    return [i for i, name in enumerate(class_names) if name.isdigit()]


def fit_class_bias(probs: np.ndarray, labels: np.ndarray, l2: float = L2) -> np.ndarray:
    """One bias per column of ``probs`` (N, K: probabilities over the digits alone) that, added to their logs, makes
    the softmax fit ``labels`` (column indices) best: mean cross-entropy plus ``l2`` / 2 times the biases squared."""
    logits = np.log(np.maximum(probs.astype(np.float64), 1e-9))
    target = np.eye(probs.shape[1])[labels]
    bias = np.zeros(probs.shape[1])
    for _ in range(STEPS):
        z = logits + bias
        z -= z.max(axis=1, keepdims=True)
        soft = np.exp(z)
        soft /= soft.sum(axis=1, keepdims=True)
        bias -= RATE * ((soft - target).mean(axis=0) + l2 * bias)
    return bias  # sums to 0, as every step does: the digits' share against "not a digit" stays as trained


def fold_into_head(model, columns: list[int], bias: np.ndarray) -> None:
    """Add ``bias`` to the logits of ``columns``: the bias vector of the model's last Dense layer (its softmax's
    input), so the saved and exported model reads with it."""
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"][-1]
    kernel, current = dense.get_weights()
    current = current.copy()
    current[columns] += bias.astype(current.dtype)
    dense.set_weights([kernel, current])


def calibrate_for_desk(model, digits: np.ndarray, labels: np.ndarray, class_names: list[str], n_crops: int,
                       seed: int, predict) -> dict:
    """Mine ``n_crops`` desk crops of ``digits`` (the training split's own), fit the biases on ``model``'s reading
    of them and fold them into its head; what the card records."""
    from edgetl.mining import mine_desk
    from edgetl.progress import progress

    with progress() as bar:
        task = bar.add_task("desk crops", total=n_crops, info="")
        mined = mine_desk(digits, labels, n_crops, 0, seed,
                          on_frame=lambda found: bar.update(task, completed=min(found, n_crops)))
    if not mined.labels:
        log.warning("desk calibration: no digit was found on the generated pages; the model is left as trained")
        return {"crops": 0}
    columns = digit_columns(class_names)
    crops = np.stack(mined.digits)[..., None]
    found = np.asarray(mined.labels)
    probs = predict(model, crops)[:, columns]
    position = {column: k for k, column in enumerate(columns)}
    truth = np.array([position[int(v)] for v in found])
    bias = fit_class_bias(probs, truth)
    fold_into_head(model, columns, bias)
    before = float((probs.argmax(axis=1) == truth).mean())
    after = float(((np.log(np.maximum(probs, 1e-9)) + bias).argmax(axis=1) == truth).mean())  # as folded
    log.info("desk calibration: %d crops of training digits read %.2f%% -> %.2f%%", len(found), 100 * before,
             100 * after)
    return {"crops": len(found), "read_before": round(before, 4), "read_after": round(after, 4),
            "bias": {class_names[c]: round(float(b), 3) for c, b in zip(columns, bias)}}
