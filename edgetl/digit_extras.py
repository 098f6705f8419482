"""Extra training data for digit models: digits cut from desk pages, synthetic writing styles, a "not a digit"
class, and a "two digits" class (touching pairs, which the runtime then cuts: edgetl.runtime.touching).

All three scale with the training set (so ``--limit`` stays quick) and go through the same augmented
copies as the real digits.
"""
from __future__ import annotations

import logging

import numpy as np

from edgetl.config import resolve_val_split

log = logging.getLogger(__name__)

REJECT_CLASS = "not a digit"
PAIR_CLASS = "two digits"  # two digits written into each other, found as one blob: the runtime cuts it
PAIR_FRACTION = 0.03  # touching pairs per training digit (bench/README.md, "Touching digits taught to the model")
REJECT_FRACTION = 0.12  # clutter crops per training digit: about one more class's worth


def extend_digits(train, val, dataset, config):
    """(train, val, class_names) with styled digits and reject crops added for digit datasets."""
    class_names = list(dataset.class_names)
    if not dataset.digits or config.task != "classification":
        return train, val, class_names
    (x, y), (x_val, y_val) = train, val
    if config.desk > 0:
        from edgetl.mining import mine_desk

        mined = mine_desk(x, y, int(round(config.desk * len(y))), 0, config.seed)
        log.info("desk pages: %d digits cut out by the runtime's finder", len(mined.labels))
        if mined.labels:
            x = np.concatenate([x, np.stack(mined.digits)[..., None]])
            y = np.concatenate([y, np.asarray(mined.labels, y.dtype)])
    if config.styles > 0:
        from edgetl.styles import THICK_SHARE, styled_digits, thick_pen_digits

        n_styled = int(round(config.styles * len(y)))
        x_s, y_s = styled_digits(n_styled, config.seed, x.shape[1:])
        x_t, y_t = thick_pen_digits(int(round(THICK_SHARE * n_styled)), config.seed, x.shape[1:])
        x, y = np.concatenate([x, x_s, x_t]), np.concatenate([y, y_s.astype(y.dtype), y_t.astype(y.dtype)])
    train, val = (x, y), (x_val, y_val)
    if config.reject:
        from edgetl.clutter import clutter_crops, touching_pairs

        # the extra classes are validated on the share of them the digits are, so the validation mix stays
        share = resolve_val_split(config, dataset.digits, dataset.splits)
        n = max(10, int(round(REJECT_FRACTION * len(y))))
        n_val = max(5, int(round(n * share)))
        train, val = with_class(train, val, class_names, REJECT_CLASS, clutter_crops(n + n_val, config.seed), n)
        log.info("reject class: %d clutter crops to train, %d to validate", n, n_val)
        if PAIR_FRACTION:
            n = max(10, int(round(PAIR_FRACTION * len(train[1]))))
            n_val = max(2, int(round(n * share)))
            train, val = with_class(train, val, class_names, PAIR_CLASS, touching_pairs(n + n_val, config.seed), n)
            log.info("two digits class: %d touching pairs to train, %d to validate", n, n_val)
    return train, val, class_names


def with_class(train, val, class_names: list[str], name: str, images: np.ndarray, n: int):
    """(train, val) with a new class ``name`` appended to ``class_names``: the first ``n`` images train it, the rest
    validate it."""
    (x, y), (x_val, y_val) = train, val
    label = len(class_names)
    class_names.append(name)
    n_val = len(images) - n
    return ((np.concatenate([x, images[:n]]), np.concatenate([y, np.full(n, label, y.dtype)])),
            (np.concatenate([x_val, images[n:]]), np.concatenate([y_val, np.full(n_val, label, y_val.dtype)])))
