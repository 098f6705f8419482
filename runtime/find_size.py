"""The size digits are found at: a frame larger than the finder's own is scaled down to it first.

The finder's reach and thresholds are set in pixels on 640 x 480 frames: the paper estimate spreads 20 px, a stroke
grows 4 px past its strong pixels, a ridge is read over 7 px. A camera or a phone that films the page at 1280 x 960
or 1920 x 1440 makes every stroke two or three times as thick in pixels, and the same tune clip scaled up read fewer
digits (bench/README.md, "Frames larger than the finder's"): it also took four to nine times as long. So a frame
(or the --roi) whose shorter side is longer than FIND_SIZE is scaled down to it, digits are found and cut out there,
and their boxes are given back in the frame's own pixels.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

FIND_SIZE = 480  # px: the shorter side digits are found at (--find-size; 0 finds them at the frame's own size)


def find_scale(shape: tuple[int, ...], find_size: int | None = FIND_SIZE) -> float:
    """The factor a region of ``shape`` is scaled by before digits are found in it: 1 unless its shorter side is
    longer than ``find_size`` (0 or None: always 1)."""
    side = min(shape[:2])
    return find_size / side if find_size and side > find_size else 1.0


def scaled_for_finding(region: np.ndarray, find_size: int | None = FIND_SIZE) -> tuple[np.ndarray, float]:
    """(the region as digits are found in it, the factor it was scaled by). Halved (each pixel the mean of 2x2) while
    its shorter side stays at least ``find_size``, then interpolated the rest of the way, less than 2x: OpenCV's
    area resize is vectorised for halving only, and at 2.25x took a 1920x1080 frame 9.5 ms, as long as finding
    its digits (halving and interpolating: 1.2 ms)."""
    scale = find_scale(region.shape, find_size)
    if scale == 1.0:
        return region, scale
    h, w = region.shape[:2]
    small = region
    while min(small.shape[:2]) // 2 >= find_size:
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if small.shape[1::-1] != size:
        small = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
    return small, scale


def to_frame(box, scale: float, offset: tuple[int, int] = (0, 0)) -> list[int]:
    """A box found at ``scale`` in a region at ``offset`` of the frame, in the frame's pixels (covering at least
    every frame pixel the found box covers)."""
    x, y, w, h = box
    if scale == 1.0:
        return [x + offset[0], y + offset[1], w, h]
    x0, y0 = math.floor(x / scale), math.floor(y / scale)
    x1, y1 = math.ceil((x + w) / scale), math.ceil((y + h) / scale)
    return [x0 + offset[0], y0 + offset[1], x1 - x0, y1 - y0]
