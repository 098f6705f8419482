"""A digit's box cut out the MNIST way: white on black, 28x28, the tight box scaled into 20x20, centred by mass."""
from __future__ import annotations

import cv2
import numpy as np

from .ink import ink_of, level_at

MNIST_SIZE, MNIST_BOX = 28, 20
# A crop with a solid core (SOFT_CORE of it at half ink or more) and a wide faint edge (SOFT_HALO times as many
# pixels at 31-127 as in that core) has the edge cut at SOFT_FLOOR. Scaling into 20x20 and centring by mass
# resample a digit twice: MNIST's own digits have 0.3 edge pixels per core pixel, 0.5 once cropped, and a digit
# seen small and blurred over 1. Cut, other writers' digits at 24-40 px read 89.6 -> 93.0% (bench/writers.py
# TUNE) with MNIST's test digits and the desk clips unchanged; thin desk strokes have too little core to be cut
# (bench/README.md, "A crop's soft edge cut").
SOFT_CORE, SOFT_HALO, SOFT_FLOOR = 0.08, 0.5, 40.0
# mnist_crop stretches its 28x28 crop so the BRIGHT_AT percentile is full white (``brightened``). make bench's model,
# retrained, read the tune clips' 19,690 digits 18,949 -> 19,011 (seed 1: 18,973 -> 19,021) and the check clips'
# 9,628 9,219 -> 9,221 (9,210 -> 9,224), MNIST's test digits and other writers alike. The runtime's crops only:
# trained on brightened crops, the same recipe read 20-33 tune digits fewer, so training's own crops (other pens,
# styled digits, drawn clutter) keep their spread of ink levels with ``brighten=False`` (bench/README.md).
BRIGHT_AT = 99.0


def crop_margin(w: int, h: int) -> tuple[int, int]:
    """The paper mnist_crop reads around a w x h box to find the background level."""
    return w // 4 + 2, h // 4 + 2


def mnist_crop(ink: np.ndarray, box, brighten: bool = True) -> np.ndarray:
    """One box to a 28x28 uint8 white-on-black digit, scaled into 20x20 and centred by mass; ``brighten``: its
    faint strokes stretched to full white, as the runtime reads them (BRIGHT_AT)."""
    x, y, w, h = box
    mx, my = crop_margin(w, h)
    around = ink[max(0, y - my):y + h + my, max(0, x - mx):x + w + mx]
    background = float(level_at(np.bincount(around.ravel(), minlength=256), 0.5))  # the padded box is mostly paper
    inside = ink[y:y + h, x:x + w]
    region = inside.astype(np.float32) - background
    peak = level_at(np.bincount(inside.ravel(), minlength=256), 0.99) - background
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
    canvas = without_soft_edge(canvas)
    if brighten:
        canvas = brightened(canvas)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def brightened(canvas: np.ndarray) -> np.ndarray:
    """The crop stretched so its brightest stroke pixels are full white again. A large digit in a thin pen is
    levelled at full size, where its strokes are white, and then scaled down by 4-5x into 20x20: each stroke
    shrinks to under a pixel and averages with the paper beside it, to a faint gray line MNIST never shows."""
    peak = percentile(canvas, BRIGHT_AT)
    return canvas * (255.0 / peak) if 0.0 < peak < 255.0 else canvas


def percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (linear), from a partial sort: 2 us instead of 24 on a 28x28 crop."""
    flat = values.ravel()
    at = q / 100.0 * (flat.size - 1)
    low = int(at)
    if low + 1 >= flat.size:
        return float(flat.max())
    part = np.partition(flat, (low, low + 1))
    return float(part[low] + (at - low) * (part[low + 1] - part[low]))


def without_soft_edge(canvas: np.ndarray) -> np.ndarray:
    """A crop (float, 0..255) with a solid core and a wide faint edge, that edge cut at SOFT_FLOOR and the rest
    stretched back to full white; any other crop as it is."""
    core = cv2.countNonZero(cv2.compare(canvas, 128, cv2.CMP_GE))
    if core < SOFT_CORE * canvas.size:
        return canvas
    edge = cv2.countNonZero(cv2.compare(canvas, 30, cv2.CMP_GT)) - core
    if edge < SOFT_HALO * core:
        return canvas
    return (canvas - SOFT_FLOOR) * (255.0 / (255.0 - SOFT_FLOOR))


def sharp_crop(frame: np.ndarray, paper: dict, near: np.ndarray, box) -> np.ndarray:
    """mnist_crop of one box, its ink read from the frame as it is: the smoothing that keeps sensor noise out of
    the stroke mask also blurs a small digit's crop (24-30 px digits lost a point read to it)."""
    x, y, w, h = box
    mx, my = crop_margin(w, h)
    x0, y0 = max(0, x - mx), max(0, y - my)
    region = (slice(y0, y + h + my), slice(x0, x + w + mx))
    ink = cv2.bitwise_and(ink_of(frame[region], paper, region), near[region])
    return mnist_crop(ink, [x - x0, y - y0, w, h])
