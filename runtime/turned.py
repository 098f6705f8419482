"""A page lying turned on the desk, read upright: the rows its digits are written in give its angle, and the frame is
turned back by it.

The reader learned digits standing up (turned at most 20 degrees, edgetl.augment.ROTATE), and the finder's rules
(stacked pieces, rows, straight runs along the frame's axes) expect rows running across the frame. Where three or
more digits found in the frame stand in a row turned TURN_MIN degrees or more, the frame is turned back by that angle
about the middle of the digits found, the digits are found and cut out there, upright, and their boxes taken back
to the frame (bench/README.md, "Pages lying turned on the desk"). A video's next frame is read first at the turn the
last one was read at (``PageTurn``), and found as it lies again only when its rows no longer stand upright there:
one finder pass a frame, not two, while the page stays turned.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import cv2
import numpy as np

TURN_MIN = 15.0  # degrees: a row turned less is read as it lies (the reader copes with 20)
AGREE = 11.0  # degrees: the steps along a row agree this well (median absolute deviation), or no angle is trusted.
# Handwriting rises and falls along a row: at 5 (until 2026-12-07) two in five of the turned clips' frames with three or
# more digits gave no angle; at 8 / 11 / 15 the turned clips read +51 / +57 / +62 digits, the tune clips 0 / 0 / -1
MIN_STEPS = 2  # steps from a digit to the next one in its row: three digits in a row at least
NEXT = 2.5  # the next digit in a row lies within this many of its heights
SIZE = 1.8  # ... and is at most this many times taller or shorter


def row_turn(boxes: list) -> float | None:
    """The angle in degrees (positive: clockwise in the frame) of the rows the boxes [x, y, w, h] stand in, from each
    box's step to its nearest neighbour on its right within 45 degrees of across, or None when fewer than MIN_STEPS
    such steps agree."""
    if len(boxes) < MIN_STEPS + 1:
        return None
    b = np.asarray(boxes, np.float64)
    centres, heights = b[:, :2] + b[:, 2:] / 2, b[:, 3]
    d = centres[None, :, :] - centres[:, None, :]  # [i, j]: from box i to box j
    dist = np.hypot(d[..., 0], d[..., 1])
    ratio = heights[None, :] / heights[:, None]
    near = ((d[..., 0] > 0) & (np.abs(d[..., 1]) < d[..., 0]) & (ratio < SIZE) & (ratio > 1 / SIZE)
            & (dist < NEXT * heights[:, None]))
    has = near.any(axis=1)
    nearest = np.argmin(np.where(near, dist, np.inf), axis=1)[has]
    step = d[has, nearest]
    steps = np.degrees(np.arctan2(step[:, 1], step[:, 0]))
    if len(steps) < MIN_STEPS:
        return None
    turn = float(np.median(steps))
    return turn if float(np.median(np.abs(steps - turn))) <= AGREE else None


def uncut(boxes: list, tried: list) -> list:
    """The boxes with the pieces of each tried cut (touching.py) replaced by their blob: a single digit turned 20-30
    degrees is wide, and the step between its two pieces runs across the frame whatever the page's turn (the turned
    clips lost 78 digits when more lines were tried). ``tried``: (blob, indices of its pieces) per tried cut."""
    if not tried:
        return boxes
    cut = {i for _, pieces in tried for i in pieces}
    return [box for i, box in enumerate(boxes) if i not in cut] + [blob for blob, _ in tried]


def upright(frame: np.ndarray, turn: float, centre) -> tuple[np.ndarray, np.ndarray]:
    """(the frame turned back by ``turn`` degrees, as large as the frame and centred on ``centre`` (x, y: where the
    digits are), the 2x3 matrix from it back to the frame). What lies beyond the frame repeats its edge."""
    h, w = frame.shape[:2]
    to_canvas = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), turn, 1.0)
    to_canvas[:, 2] += (w / 2 - centre[0], h / 2 - centre[1])
    canvas = cv2.warpAffine(frame, to_canvas, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return canvas, cv2.invertAffineTransform(to_canvas)


def box_in_frame(box, back: np.ndarray, shape, mask: np.ndarray | None = None) -> list[int]:
    """A box [x, y, w, h] on the upright canvas as the frame sees it: the box around its strokes (``mask``, the
    canvas's stroke mask) turned back, or where it holds none, around its turned corners; inside the frame."""
    x, y, w, h = box
    points = cv2.findNonZero(mask[y:y + h, x:x + w]) if mask is not None else None
    if points is not None:  # the corners of the stroke pixels on its hull (an affine map keeps what is outermost)
        points = cv2.convexHull(points).reshape(-1, 2).astype(np.float64) + (x, y)
        points = np.concatenate([points + offset for offset in ((0, 0), (1, 0), (0, 1), (1, 1))])
    else:
        points = np.float64([[x, y], [x + w, y], [x, y + h], [x + w, y + h]])
    corners = np.hstack([points, np.ones((len(points), 1))]) @ back.T
    (x0, y0), (x1, y1) = np.floor(corners.min(0)), np.ceil(corners.max(0))
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(shape[1], int(x1)), min(shape[0], int(y1))
    return [x0, y0, max(1, x1 - x0), max(1, y1 - y0)]


@dataclass
class PageTurn:
    """The turn a video's last frame was read at, and about where (None: as it lay), so the next is read there
    first."""

    turn: float | None = None
    centre: tuple[float, float] = (0.0, 0.0)


def read_upright(frame: np.ndarray, turn: float, centre, candidates: Callable, check: bool = False):
    """``candidates`` (digits.digit_candidates without turning back) of the frame turned back by ``turn`` degrees
    about ``centre`` (x, y: the middle of the digits found as it lay): crops cut upright, boxes (and the wholes of cut
    blobs) taken back to the frame around their strokes. The canvas is the frame's size, so the finder costs what it
    costs upright.
    ``check``: None unless the rows found there stand upright (three digits in a row, within TURN_MIN)."""
    canvas, back = upright(frame, turn, centre)
    masks = []
    boxes, crops, splits = candidates(canvas, mask_out=masks)
    rows = uncut(boxes, [(whole, pieces) for whole, _, pieces, tried in splits if tried])
    if check and ((left := row_turn(rows)) is None or abs(left) >= TURN_MIN):
        return None
    to_frame = partial(box_in_frame, back=back, shape=frame.shape, mask=masks[0])
    return [to_frame(b) for b in boxes], crops, [(to_frame(whole), crop, pieces, tried)
                                                 for whole, crop, pieces, tried in splits]


def middle(boxes: list) -> tuple[float, float]:
    """The mean of the boxes' centres."""
    b = np.asarray(boxes, np.float64)
    x, y = (b[:, :2] + b[:, 2:] / 2).mean(axis=0)
    return float(x), float(y)
