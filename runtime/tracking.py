"""Stable readings: follow each digit box across frames and vote its label over the last few frames.

A box is matched to the track whose last box overlaps it most (greedy, best overlap first). The
label is the argmax of the track's recent probability vectors, each frame weighted ``decay`` times
the next newer one. With decay 0.5 the older frames together weigh less than the newest one, so
a confident new reading wins at once (a new page under the camera), while an unsure frame is
outvoted by its confident history (the flicker this removes). Detections are never added or
dropped here: only labels change, so recall per frame is untouched.
"""
from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .pieces import intersection


def iou(a, b) -> float:
    inter = intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: list[int]
    history: deque = field(default_factory=deque)  # probability vectors, newest last
    missed: int = 0

    def vote(self, decay: float) -> np.ndarray:
        weights = decay ** np.arange(len(self.history) - 1, -1, -1, dtype=np.float64)
        votes = np.tensordot(weights, np.stack(self.history), axes=1)
        return votes / weights.sum()


class Tracker:
    """``update(boxes, probs)`` per frame → (track id, voted probabilities) per box, in order."""

    def __init__(self, window: int = 5, decay: float = 0.5, min_iou: float = 0.3, max_missed: int = 3):
        self.window, self.decay, self.min_iou, self.max_missed = window, decay, min_iou, max_missed
        self.tracks: list[Track] = []
        self.ids = itertools.count(1)

    def match(self, boxes: list) -> dict[int, Track]:
        pairs = sorted(((iou(box, t.box), i, t.id) for i, box in enumerate(boxes) for t in self.tracks),
                       reverse=True)
        by_id = {t.id: t for t in self.tracks}
        matched: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, i, tid in pairs:
            if overlap < self.min_iou:
                break
            if i not in matched and tid not in used:
                matched[i] = by_id[tid]
                used.add(tid)
        return matched

    def update(self, boxes: list, probs: np.ndarray) -> list[tuple[int, np.ndarray]]:
        matched = self.match(boxes)
        out = []
        for i, (box, p) in enumerate(zip(boxes, probs)):
            track = matched.get(i)
            if track is None:
                track = Track(next(self.ids), list(box), deque(maxlen=self.window))
                self.tracks.append(track)
            track.box, track.missed = list(box), -1  # -1: seen this frame (becomes 0 below)
            track.history.append(np.asarray(p, np.float64))
            out.append((track.id, track.vote(self.decay)))
        for track in self.tracks:
            track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out
