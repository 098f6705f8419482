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
    for x0, y0, x1, y1 in segments.reshape(-1, 4) * 2:
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), 255, width)
    return out
