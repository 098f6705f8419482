"""Crops as the runtime sees them: training digits written on generated desk pages, filmed, and cut
out again by the runtime's own digit finder.

Each found box that matches a written digit becomes a labelled training crop (the real finder's
cut of a real digit under grid lines, coloured ink, dim light, tilt and blur); each found box that
keeps clear of every written digit becomes a "not a digit" crop. Only the digits passed in are
written (training digits: the test split and the benchmark clips never take part).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from edgetl.desk import desk_frames, overlap
from edgetl.runtime.digits import DigitFinderConfig, digit_crops
from edgetl.runtime.pieces import intersection

MATCH = 0.5  # a found box sharing this much of its area with a written digit, and vice versa, reads it
NEAR_DIGIT = 0.2  # a found box sharing more than this with a written digit is not clutter
THIN = 0.45  # width / height: a thin straight piece of line looks exactly like a 1, so it is no clutter
FRAMES_PER_SCENE = 2


@dataclass
class Mined:
    digits: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    clutter: list[np.ndarray] = field(default_factory=list)


def mutual_overlap(a, b) -> float:
    """Intersection over the larger box: high only when the two boxes are about the same box."""
    return intersection(a, b) / max(1, max(a[2] * a[3], b[2] * b[3]))


def sort_frame(mined: Mined, boxes, crops, truth, labels) -> None:
    for box, crop in zip(boxes, crops):
        best = max(range(len(truth)), key=lambda i: mutual_overlap(box, truth[i]), default=None)
        if best is not None and mutual_overlap(box, truth[best]) >= MATCH:
            mined.digits.append(crop)
            mined.labels.append(int(labels[best]))
        elif box[2] >= THIN * box[3] and max((overlap(box, t) for t in truth), default=0.0) < NEAR_DIGIT:
            mined.clutter.append(crop)


def mine_desk(digits: np.ndarray, labels: np.ndarray, want_digits: int, want_clutter: int, seed: int,
              config: DigitFinderConfig = DigitFinderConfig(), empty_fraction: float = 0.12,
              max_scenes: int = 5000, hands: float = 0.0, on_frame: Callable[[int], None] | None = None) -> Mined:
    """Render desk scenes until ``want_digits`` labelled crops and ``want_clutter`` clutter crops are found
    (or ``max_scenes`` have been rendered); ``hands``: the share of scenes filmed while someone writes;
    ``on_frame``: called with the number of digit crops found so far after each frame (a progress bar)."""
    mined = Mined()
    frames = desk_frames(digits, labels, max_scenes, FRAMES_PER_SCENE, seed, empty_fraction=empty_fraction,
                         hands=hands)
    for frame, truth, truth_labels in frames:
        if len(mined.digits) >= want_digits and len(mined.clutter) >= want_clutter:
            break
        boxes, crops = digit_crops(frame, config)
        sort_frame(mined, boxes, crops, truth, truth_labels)
        if on_frame is not None:
            on_frame(len(mined.digits))
    mined.digits, mined.labels = mined.digits[:want_digits], mined.labels[:want_digits]
    mined.clutter = mined.clutter[:want_clutter]
    return mined
