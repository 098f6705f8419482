"""Printed lines on a page (ruled, squared, a margin), found as long straight segments.

A webcam sees a notebook tilted, so its lines are neither horizontal nor parallel: a straight
structuring element finds only short runs of them. A probabilistic Hough transform on a
half-size mask returns each line as a segment at its own angle; any segment longer than a digit
can be tall is a printed line, whatever its colour or direction.
"""
from __future__ import annotations

import cv2
import numpy as np

THICK = 3  # half-size px: a segment with mask this far out on both sides is the inside of a stroke
INSIDE_SHARE = 0.5  # ... along more than this share of its length
GAP = 6  # half-size px: a printed line broken by noise (a dim page) is one line across gaps this long


def line_mask(mask: np.ndarray, min_length: float, width: int = 3) -> np.ndarray:
    """255 on the long straight segments of ``mask`` (drawn ``width`` px wide), 0 elsewhere."""
    h, w = mask.shape
    small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
    length = max(8, int(min_length / 2))
    segments = cv2.HoughLinesP(small, 1, np.pi / 180, threshold=int(length * 0.6), minLineLength=length,
                               maxLineGap=GAP)
    out = np.zeros_like(mask)
    if segments is None:
        return out
    segments = segments.reshape(-1, 4)
    for x0, y0, x1, y1 in segments[~inside_thick_strokes(small, segments)] * 2:
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), 255, width)
    return out


def inside_thick_strokes(mask: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Per segment (x0, y0, x1, y1): True when ``mask`` is set THICK px out on both sides of most of it, a
    straight run inside a stroke far wider than a printed line (a digit in thick marker, held close to the
    camera), not a line. All segments at once: a squared page gives dozens."""
    start, step = segments[:, :2].astype(np.float64), (segments[:, 2:] - segments[:, :2]).astype(np.float64)
    length = np.maximum(1.0, np.hypot(step[:, 0], step[:, 1]))
    normal = np.stack([-step[:, 1], step[:, 0]], 1) / length[:, None]
    points = start[:, None] + np.linspace(0.0, 1.0, 16)[None, :, None] * step[:, None]  # (segments, 16, xy)
    h, w = mask.shape
    both = np.ones(points.shape[:2], bool)
    for sign in (1, -1):
        side = np.round(points + sign * THICK * normal[:, None]).astype(int)
        both &= mask[np.clip(side[..., 1], 0, h - 1), np.clip(side[..., 0], 0, w - 1)] > 0
    return both.mean(axis=1) > INSIDE_SHARE
