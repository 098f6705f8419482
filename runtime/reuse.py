"""Reading a still digit once: a crop that matches one the model read a moment ago reuses that reading.

A webcam over a desk sees the same page for seconds. Each model row (a digit's crop) is compared with
the crops read in the previous frame: when its box has moved a little (``MAX_SHIFT``, ``MAX_MOVE``: the
crop is cut around the box, so it follows the digit) and its crop differs from the crop the model actually
read by at most ``MAX_DIFF`` gray levels on average, the model's output for that crop is used again, if
that output was sure (the stream's ``sure_readings``: far from the reject threshold and the min score,
where a near-identical crop decides the same). An unsure crop is read every frame, so the vote still sees
each of its readings. The comparison is always with the crop that was read, never with a reused one, so
small changes cannot add up; a reading is used for at most ``MAX_AGE`` frames, expiries spread over
``STAGGER`` frames so a page's digits are not all read again in one frame.

Measured on the report clips' frames (the crops of consecutive frames, boxes within a quarter of their shorter
side): at a mean difference under 4 gray levels 71% (desk seed 11) and 58% (plain, whose camera drifts more) of
crops match one read the frame before, and the model's label differs between the two in 3 of 975 and 3 of 715
matches (its own frame-to-frame flicker). Boxes within 3 px: 63% and 17%. Of the crops of a whole clip (sure
readings only, expiry included) 64% / 70% are reused on the desk report clips, 56% on the plain one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

MAX_SHIFT = 3  # px, on each of x, y, width and height, or MAX_MOVE of the box's shorter side if more
MAX_MOVE = 0.25
MAX_DIFF = 4.0  # mean absolute difference of the crops, gray levels
MAX_AGE = 15  # frames a reading is used for at least, before the crop is read again
STAGGER = 8  # readings expire over this many further frames


@dataclass
class Reading:
    box: np.ndarray
    crop: np.ndarray
    output: np.ndarray
    expires: int


class ReadingCache:
    """``predict(model, boxes, batch)`` in place of ``model.predict_batch(batch)`` (a batch of at least one
    row), one frame after another."""

    def __init__(self, sure: Callable[[np.ndarray], np.ndarray]) -> None:
        self.sure = sure  # outputs -> which of them are far enough from every decision to be reused
        self.readings: list[Reading] = []
        self.frame = 0
        self.inserted = 0
        self.reused = 0
        self.read = 0

    def predict(self, model, boxes: list, batch: np.ndarray, read_always: int = 0,
                hypotheses: frozenset[int] = frozenset()) -> np.ndarray:
        """The last ``read_always`` rows are read every frame and never reused: a cut blob's whole crop, whose
        reading decides against WHOLE_SCORE (stream.py), a threshold inside what ``sure`` calls sure. Rows in
        ``hypotheses`` (the pieces of a tried cut, touching.py) are reused sure or not: a piece whose crop barely
        changed reads as it did, and a wide blob tried every frame would otherwise cost model rows every frame."""
        self.frame += 1
        reusable = len(boxes) - read_always
        readings = [self.match(box, crop) if i < reusable else None
                    for i, (box, crop) in enumerate(zip(boxes, batch))]
        missed = [i for i, reading in enumerate(readings) if reading is None]
        if missed:
            fresh = model.predict_batch(batch[missed])
            for i, output, sure in zip(missed, fresh, self.sure(fresh)):
                readings[i] = self.new_reading(boxes[i], batch[i], output,
                                               (bool(sure) or i in hypotheses) and i < reusable)
        self.readings = readings
        self.read += len(missed)
        self.reused += len(boxes) - len(missed)
        return np.stack([reading.output for reading in readings])

    def new_reading(self, box, crop: np.ndarray, output: np.ndarray, sure: bool) -> Reading:
        expires = self.frame + 1  # unsure: the crop is read again next frame
        if sure:
            expires = self.frame + MAX_AGE + self.inserted % STAGGER
            self.inserted += 1
        return Reading(np.asarray(box), crop, output, expires)

    def match(self, box, crop: np.ndarray) -> Reading | None:
        best, best_diff = None, MAX_DIFF
        shift = max(MAX_SHIFT, MAX_MOVE * min(box[2], box[3]))
        for reading in self.readings:
            if reading.expires <= self.frame or np.abs(reading.box - box).max() > shift:
                continue
            diff = float(np.abs(reading.crop.astype(np.int16) - crop).mean())
            if diff <= best_diff:
                best, best_diff = reading, diff
        return best
