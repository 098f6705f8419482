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
BAND = 3  # px: a found line's width, as it is drawn out of the mask and as its ink is read (segment_levels)


def line_segments(mask: np.ndarray, min_length: float) -> np.ndarray:
    """The long straight segments of ``mask`` (N, 4): x0, y0, x1, y1 in its pixels."""
    h, w = mask.shape
    small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
    length = max(8, int(min_length / 2))
    segments = cv2.HoughLinesP(small, 1, np.pi / 180, threshold=int(length * 0.6), minLineLength=length,
                               maxLineGap=GAP)
    if segments is None:
        return np.zeros((0, 4), np.int32)
    segments = segments.reshape(-1, 4)
    # a thick stroke's inside may be hollow in the ink (its paper estimate is the stroke itself): closed first
    solid = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return segments[~inside_thick_strokes(solid, segments)] * 2


def draw_segments(shape, segments: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The segments drawn BAND px wide, each with its value; where they cross, the larger value."""
    out = np.zeros(shape, np.uint8)
    for k in np.argsort(values, kind="stable"):
        x0, y0, x1, y1 = (int(v) for v in segments[k])
        cv2.line(out, (x0, y0), (x1, y1), int(values[k]), BAND)
    return out


SAMPLES = 64  # segment_levels: points read along each segment, on each of the BAND rows across it


def segment_levels(ink: np.ndarray, segments: np.ndarray, share: float = 0.75) -> np.ndarray:
    """Per segment, the ink level (0..255) that ``share`` of the ink under it (its BAND px band) stays under: each
    line's own darkness, so a dark margin is not judged by the faint ruled lines found beside it."""
    if not len(segments):
        return np.zeros(0, int)
    h, w = ink.shape
    start, step, normal = geometry(segments)
    along = start[:, None] + np.linspace(0.0, 1.0, SAMPLES)[None, :, None] * step[:, None]  # (segments, SAMPLES, xy)
    rows = np.arange(BAND) - BAND // 2
    points = np.concatenate([along + side * normal[:, None] for side in rows], axis=1)
    xs = np.clip(np.round(points[..., 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(points[..., 1]).astype(int), 0, h - 1)
    values = np.sort(ink[ys, xs], axis=1)
    return values[:, int(share * (values.shape[1] - 1))].astype(int)


def inside_thick_strokes(mask: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Per segment (x0, y0, x1, y1): True when ``mask`` is set THICK px out on both sides of most of it, a
    straight run inside a stroke far wider than a printed line (a digit in thick marker, held close to the
    camera), not a line. All segments at once: a squared page gives dozens."""
    start, step, normal = geometry(segments)
    points = start[:, None] + np.linspace(0.0, 1.0, 16)[None, :, None] * step[:, None]  # (segments, 16, xy)
    h, w = mask.shape
    both = np.ones(points.shape[:2], bool)
    for sign in (1, -1):
        side = np.round(points + sign * THICK * normal[:, None]).astype(int)
        both &= mask[np.clip(side[..., 1], 0, h - 1), np.clip(side[..., 0], 0, w - 1)] > 0
    return both.mean(axis=1) > INSIDE_SHARE


def geometry(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment (x0, y0, x1, y1): its start, its step from start to end and its unit normal, as floats."""
    start, step = segments[:, :2].astype(np.float64), (segments[:, 2:] - segments[:, :2]).astype(np.float64)
    length = np.maximum(1.0, np.hypot(step[:, 0], step[:, 1]))
    return start, step, np.stack([-step[:, 1], step[:, 0]], 1) / length[:, None]
