"""Printed lines on a page (ruled, squared, a margin), found as long straight segments.

A webcam sees a notebook tilted, so its lines are neither horizontal nor parallel: a straight
structuring element finds only short runs of them. A probabilistic Hough transform on a
half-size mask returns each line as a segment at its own angle; any segment longer than a digit
can be tall is a printed line, whatever its colour or direction.
"""
from __future__ import annotations

import cv2
import numpy as np


def line_mask(mask: np.ndarray, min_length: float, width: int = 3) -> np.ndarray:
    """255 on the long straight segments of ``mask`` (drawn ``width`` px wide), 0 elsewhere."""
    h, w = mask.shape
    small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
    length = max(8, int(min_length / 2))
    segments = cv2.HoughLinesP(small, 1, np.pi / 180, threshold=int(length * 0.6), minLineLength=length,
                               maxLineGap=3)
    out = np.zeros_like(mask)
    if segments is None:
        return out
    for x0, y0, x1, y1 in segments.reshape(-1, 4):
        if not inside_a_thick_stroke(small, (x0, y0, x1, y1)):
            cv2.line(out, (int(x0) * 2, int(y0) * 2), (int(x1) * 2, int(y1) * 2), 255, width)
    return out


THICK = 3  # half-size px: a segment with mask this far out on both sides is the inside of a stroke
INSIDE_SHARE = 0.5


def inside_a_thick_stroke(mask: np.ndarray, segment) -> bool:
    """True when ``mask`` is set THICK px out on both sides of most of the segment: a straight run inside a
    stroke far wider than a printed line (a digit in thick marker, held close to the camera), not a line."""
    x0, y0, x1, y1 = map(float, segment)
    length = max(1.0, np.hypot(x1 - x0, y1 - y0))
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    t = np.linspace(0.0, 1.0, 16)
    xs, ys = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    h, w = mask.shape
    sides = []
    for sign in (1, -1):
        px = np.clip(np.round(xs + sign * THICK * nx).astype(int), 0, w - 1)
        py = np.clip(np.round(ys + sign * THICK * ny).astype(int), 0, h - 1)
        sides.append(mask[py, px] > 0)
    return float(np.mean(sides[0] & sides[1])) > INSIDE_SHARE
