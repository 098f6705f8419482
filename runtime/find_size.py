"""The size digits are found at: a frame is brought to the finder's own size first.

The finder's reach and thresholds are set in pixels on 640 x 480 frames: the paper estimate spreads 20 px, a stroke
grows 4 px past its strong pixels, a ridge is read over 7 px. A camera or a phone that films the page at 1920 x 1440
makes every stroke three times as thick in pixels, and one at 320 x 240 half as thick, a digit's crop then cut from
a dozen pixels: the tune clips scaled up or down read 9 points fewer digits at 1920x1440 and at 320x240
(bench/README.md, "Frames of any size found at 640x480"), and the large ones took several times as long. So every
frame is scaled until its shorter side is FIND_SIZE (enlarged at most MAX_ENLARGE times), digits are found and cut
out there, and their boxes are given back in the frame's own pixels. A --roi is cut from the frame and scaled as the
frame is: the camera's resolution, not the region's size, sets how thick a stroke is.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

FIND_SIZE = 480  # px: the shorter side digits are found at (--find-size; 0 finds them at the frame's own size)
MAX_ENLARGE = 2.0  # a small frame is enlarged at most this much (320 x 240 to 640 x 480; a 28-px image to 56 px)


def find_scale(shape: tuple[int, ...], find_size: int | None = FIND_SIZE) -> float:
    """The factor a frame of ``shape`` (and any region of it) is scaled by before digits are found in it: its shorter
    side brought to ``find_size``, enlarged at most MAX_ENLARGE times (0 or None: always 1)."""
    if not find_size:
        return 1.0
    return min(find_size / min(shape[:2]), MAX_ENLARGE)


def scaled_for_finding(region: np.ndarray, scale: float) -> np.ndarray:
    """The region as digits are found in it. Enlarged bicubically (a 320x240 frame's tune clips read 94.5% against
    93.1% bilinear). Shrunk by halving (each pixel the mean of 2x2) while that keeps at least the target size, then
    interpolated the rest of the way, less than 2x: OpenCV's area resize is vectorised for halving only, and at 2.25x
    took a 1920x1080 frame 9.5 ms, as long as finding its digits (halving and interpolating: 1.3 ms)."""
    if scale == 1.0:
        return region
    h, w = region.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale > 1.0:
        return cv2.resize(region, size, interpolation=cv2.INTER_CUBIC)
    small = region
    while small.shape[1] // 2 >= size[0] and small.shape[0] // 2 >= size[1]:
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if small.shape[1::-1] != size:
        small = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
    return small


def to_frame(box, scale: float, region: tuple[int, ...], offset: tuple[int, int] = (0, 0)) -> list[int]:
    """A box found at ``scale`` in a region of shape ``region`` at ``offset`` of the frame, in the frame's pixels:
    every frame pixel the found box covers, and none outside the region (a rounded size may reach a pixel past it)."""
    x, y, w, h = box
    if scale == 1.0:
        return [x + offset[0], y + offset[1], w, h]
    x0, y0 = math.floor(x / scale), math.floor(y / scale)
    x1, y1 = min(math.ceil((x + w) / scale), region[1]), min(math.ceil((y + h) / scale), region[0])
    return [x0 + offset[0], y0 + offset[1], x1 - x0, y1 - y0]
