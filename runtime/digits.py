"""Find handwritten digits in a frame with classic OpenCV and cut them out the MNIST way.

Ink may be dark on light paper or light on dark; several digits, anywhere. The threshold adapts to
uneven light, long thin strokes (ruled lines) are removed, specks and odd shapes filtered out.
Each crop becomes a white-on-black 28x28 image: tight box scaled into 20x20, centred by mass.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MNIST_SIZE, MNIST_BOX = 28, 20


@dataclass(frozen=True)
class DigitFinderConfig:
    min_height: float = 0.04  # of the frame height
    max_height: float = 0.9
    min_aspect: float = 0.08  # width / height: a "1" is thin
    max_aspect: float = 1.8
    min_fill: float = 0.08  # ink pixels / box area
    max_fill: float = 1.0
    line_length: float = 0.25  # strokes longer than this fraction of the frame width are ruled lines


def to_gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def ink_image(gray: np.ndarray) -> np.ndarray:
    """Ink bright on dark, whatever the paper: dark-on-light frames are inverted."""
    small = gray[::8, ::8]
    return 255 - gray if np.median(small) > 127 else gray


def ink_mask(ink: np.ndarray, config: DigitFinderConfig) -> np.ndarray:
    h, w = ink.shape
    block = max(15, (min(h, w) // 12) | 1)
    mask = cv2.adaptiveThreshold(ink, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -12)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))  # specks and noise
    line_w = max(15, int(w * config.line_length))
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (line_w, 1)))
    mask = cv2.subtract(mask, cv2.dilate(lines, np.ones((3, 1), np.uint8)))
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # rejoin broken strokes


def merge_stacked(boxes: list[list[int]]) -> list[list[int]]:
    """Join pieces stacked on each other (a digit broken in two, e.g. the top bar of a 5)."""
    boxes = sorted(boxes, key=lambda b: b[0])
    merged: list[list[int]] = []
    for x, y, w, h in boxes:
        if merged:
            mx, my, mw, mh = merged[-1]
            x_overlap = min(mx + mw, x + w) - max(mx, x)
            y_gap = max(my, y) - min(my + mh, y + h)
            if x_overlap > 0.6 * min(w, mw) and y_gap < 0.3 * max(h, mh):
                nx, ny = min(mx, x), min(my, y)
                merged[-1] = [nx, ny, max(mx + mw, x + w) - nx, max(my + mh, y + h) - ny]
                continue
        merged.append([x, y, w, h])
    return merged


def split_touching(box: list[int], mask: np.ndarray, config: DigitFinderConfig) -> list[list[int]]:
    """Cut a blob too wide for one digit where its ink is thinnest: digits written close together touch.

    Cuts only where a clear valley exists (a column with at most a third of the typical ink), so a
    wide single digit (a flat 5, a long-barred 7) stays whole.
    """
    x, y, w, h = box
    pieces = int(round(w / (0.7 * h)))
    if w <= config.max_aspect * h * 0.85 or pieces < 2:
        return [box]
    columns = cv2.blur(mask[y:y + h, x:x + w].sum(axis=0, dtype=np.float32)[None, :], (3, 1))[0]
    typical = np.median(columns[columns > 0]) if (columns > 0).any() else 0
    cuts = [0]
    for i in range(1, pieces):
        lo, hi = int(w * (i - 0.4) / pieces), int(w * (i + 0.4) / pieces)
        at = lo + int(np.argmin(columns[lo:hi]))
        if columns[at] <= typical / 3:
            cuts.append(at)
    cuts.append(w)
    out = []
    for left, right in zip(cuts, cuts[1:]):
        rows = np.flatnonzero(mask[y:y + h, x + left:x + right].any(axis=1))
        if right - left >= 2 and len(rows):
            out.append([x + left, y + int(rows[0]), right - left, int(rows[-1] - rows[0] + 1)])
    return out


def find_digit_boxes(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig()):
    """(boxes [x, y, w, h] left to right, ink image, mask) for one frame."""
    ink = ink_image(to_gray(frame))
    mask = ink_mask(ink, config)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    fh = ink.shape[0]
    raw = [list(cv2.boundingRect(c)) for c in contours]
    # pieces large enough to matter, and not line-like (wider than a digit can be)
    raw = [b for b in raw if b[3] >= 0.5 * config.min_height * fh and b[2] <= 2 * config.max_aspect * b[3]]
    boxes = []
    pieces = [piece for box in merge_stacked(raw) for piece in split_touching(box, mask, config)]
    for x, y, w, h in pieces:
        fill = cv2.countNonZero(mask[y:y + h, x:x + w]) / float(w * h)
        if (config.min_height * fh <= h <= config.max_height * fh
                and config.min_aspect <= w / h <= config.max_aspect
                and config.min_fill <= fill <= config.max_fill):
            boxes.append([x, y, w, h])
    return boxes, ink, mask


def mnist_crop(ink: np.ndarray, box) -> np.ndarray:
    """One box to a 28x28 uint8 white-on-black digit, scaled into 20x20 and centred by mass."""
    x, y, w, h = box
    mx, my = w // 4 + 2, h // 4 + 2
    around = ink[max(0, y - my):y + h + my, max(0, x - mx):x + w + mx]
    background = float(np.median(around))  # the padded box is mostly paper
    region = ink[y:y + h, x:x + w].astype(np.float32) - background
    peak = float(np.percentile(region, 99))
    noise_floor = 0.15 * peak
    region = np.clip((region - noise_floor) * (255.0 / max(peak - noise_floor, 1.0)), 0, 255)
    scale = MNIST_BOX / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(region, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    top, left = (MNIST_SIZE - nh) // 2, (MNIST_SIZE - nw) // 2
    canvas[top:top + nh, left:left + nw] = small
    m = cv2.moments(canvas)
    if m["m00"] > 0:
        shift = np.float32([[1, 0, MNIST_SIZE / 2 - m["m10"] / m["m00"]], [0, 1, MNIST_SIZE / 2 - m["m01"] / m["m00"]]])
        canvas = cv2.warpAffine(canvas, shift, (MNIST_SIZE, MNIST_SIZE), flags=cv2.INTER_LINEAR)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def digit_crops(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig()):
    """(boxes, crops (N, 28, 28)) for every digit-like blob in the frame, left to right."""
    boxes, ink, mask = find_digit_boxes(frame, config)
    crops = np.stack([mnist_crop(ink, b) for b in boxes]) if boxes else np.zeros((0, 28, 28), np.uint8)
    return boxes, crops
