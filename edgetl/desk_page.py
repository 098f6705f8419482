"""The page a desk scene is written on, and what lies around it: paper (tint, texture, printed ruled or squared
lines, a margin), the pen, the desk beyond one edge of the page, and the light (edgetl.desk writes and films it).

The page is planar BGR float32 on a canvas larger than the frame (``CW`` x ``CH``; the camera sees a quadrilateral of
it). Colours are transmission factors: a layer of ink or a printed line filters the page below it, channel by channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

W, H = 640, 480
MARGIN = 128  # canvas border around the frame's nominal view: room for tilt, rotation, zoom, shake
CW, CH = W + 2 * MARGIN, H + 2 * MARGIN

# Paper tints (BGR, 0-255): white, cream, light yellow, light grey, pale blue, pale green.
PAPERS = [((246, 246, 244), 0.34), ((222, 238, 247), 0.18), ((196, 240, 250), 0.12), ((222, 224, 224), 0.14),
          ((248, 236, 222), 0.11), ((224, 244, 228), 0.11)]
# Line colours as transmission factors (BGR): light blue, grey, light green, pale purple, darker blue.
LINES = [((0.98, 0.83, 0.68), 0.36), ((0.83, 0.83, 0.83), 0.22), ((0.80, 0.94, 0.80), 0.16),
         ((0.93, 0.78, 0.91), 0.14), ((0.92, 0.66, 0.48), 0.12)]
MARGIN_LINE = ((0.72, 0.68, 0.98), (0.82, 0.76, 0.99))  # red, pink
# Inks as transmission factors (BGR) at full coverage: black, dark blue, blue ballpoint, red, green, pencil.
INKS = {"black": ((0.10, 0.10, 0.12), 0.24), "dark blue": ((0.42, 0.16, 0.12), 0.15),
        "blue": ((0.78, 0.40, 0.18), 0.24), "red": ((0.20, 0.20, 0.78), 0.10), "green": ((0.30, 0.55, 0.16), 0.09),
        "pencil": ((0.30, 0.30, 0.33), 0.18)}
# Pens: stroke width range (px) and peak opacity range.
PENS = {"pencil": ((1.4, 2.4), (0.75, 0.95)), "ballpoint": ((1.5, 3.0), (0.85, 1.0)),
        "felt": ((2.5, 4.5), (0.95, 1.0)), "marker": ((5.0, 9.0), (1.0, 1.0))}


def _pick(rng: np.random.Generator, options):
    weights = np.array([w for _, w in options], np.float64)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def to_canvas(homography: np.ndarray, points) -> np.ndarray:
    """Frame points (x, y) where they lie on the canvas: ``homography`` (canvas -> frame) inverted."""
    return cv2.perspectiveTransform(np.float64(points).reshape(-1, 1, 2), np.linalg.inv(homography)).reshape(-1, 2)


def smooth_field(rng: np.random.Generator, shape, cells=(6, 8), sigma=1.0) -> np.ndarray:
    """Low-frequency noise (mean 0, std ~sigma) resized up to ``shape``."""
    small = rng.normal(0, sigma, cells).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def tint(planes: np.ndarray, coverage: np.ndarray, transmission) -> None:
    """Filter planar BGR ``planes`` through a coloured layer (``transmission`` per channel) where it covers them."""
    for k in range(3):
        planes[k] *= 1 - coverage * np.float32(1 - transmission[k])


@dataclass
class Pen:
    name: str  # pencil, ballpoint, felt, marker
    ink: np.ndarray  # BGR transmission at full coverage
    width: float  # stroke width, px
    opacity: float

    def strength(self) -> float:
        """How dark a stroke looks on white after a little blur: luminance drop times the coverage it keeps."""
        grain = 0.8 if self.name == "pencil" else 1.0
        return _luminance_drop(self.ink) * self.opacity * min(1.0, self.width / 2) * grain


def _luminance_drop(transmission) -> float:
    return float(np.dot([0.114, 0.587, 0.299], 1 - np.asarray(transmission)))


def choose_pen(rng: np.random.Generator) -> Pen:
    ink_name = _pick(rng, [(k, v[1]) for k, v in INKS.items()])
    ink = np.float32(INKS[ink_name][0]) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    name = "pencil" if ink_name == "pencil" else _pick(rng, [("ballpoint", 0.5), ("felt", 0.3), ("marker", 0.2)])
    (w_lo, w_hi), (o_lo, o_hi) = PENS[name]
    return Pen(name, ink, rng.uniform(w_lo, w_hi), rng.uniform(o_lo, o_hi))


def draw_paper(rng: np.random.Generator, pen: Pen) -> tuple[np.ndarray, tuple[float, float] | None, str]:
    """The page: tinted, faintly textured, plain, ruled or squared; (first line y, spacing) when ruled; and which
    of "plain", "ruled" or "grid" it is.

    Printed lines are visible but fainter than the scene's pen: at most half as dark as its strokes.
    """
    paper = np.minimum(np.float32(_pick(rng, PAPERS)) + rng.uniform(-6, 4, 3).astype(np.float32), 252)
    texture = 1 + smooth_field(rng, (CH, CW), (8, 10), rng.uniform(0.004, 0.015))
    texture += cv2.resize(rng.normal(0, 0.01, (CH // 4, CW // 4)).astype(np.float32), (CW, CH),
                          interpolation=cv2.INTER_LINEAR)  # paper fibre
    page = paper[:, None, None] * texture[None]  # planar BGR: long rows make the arithmetic fast
    kind = _pick(rng, [("plain", 0.25), ("ruled", 0.35), ("grid", 0.40)])
    if kind == "plain":
        return page, None, kind
    colour = np.float32(_pick(rng, LINES))
    thickness = int(rng.choice([1, 1, 2]))
    level = int(rng.uniform(170, 255))  # anti-aliased 1 px lines are fainter than 2 px ones
    strength = rng.uniform(0.55, 1.05)
    line = _luminance_drop(colour) * level / 255 * min(1.0, thickness / 2)
    strength = min(strength, 0.5 * pen.strength() / line)
    colour = 1 - (1 - colour) * strength
    lines = np.zeros((CH, CW), np.uint8)
    spacing = rng.uniform(18, 35) if kind == "ruled" else rng.uniform(15, 30)
    phase = rng.uniform(0, spacing)
    for y in np.arange(phase, CH, spacing):
        cv2.line(lines, (0, int(round(y * 16))), (CW * 16, int(round(y * 16))), level, thickness, cv2.LINE_AA, 4)
    if kind == "grid":
        for x in np.arange(rng.uniform(0, spacing), CW, spacing):
            cv2.line(lines, (int(round(x * 16)), 0), (int(round(x * 16)), CH * 16), level, thickness, cv2.LINE_AA, 4)
    tint(page, lines.astype(np.float32) / 255, colour)
    if kind == "ruled" and rng.random() < 0.5:  # the red/pink margin
        x = int(MARGIN + rng.uniform(-60, 120)) * 16
        margin = np.zeros((CH, CW), np.uint8)
        cv2.line(margin, (x, 0), (x, CH * 16), 255, int(rng.integers(1, 3)), cv2.LINE_AA, 4)
        red = np.float32(MARGIN_LINE[int(rng.integers(2))])
        tint(page, margin.astype(np.float32) / 255, red)
    return page, (phase, spacing) if kind == "ruled" else None, kind


def draw_desk_border(page: np.ndarray, homography: np.ndarray, rng: np.random.Generator) -> tuple[str, float]:
    """Paint the desk beyond one edge of the page; return the side and the depth it reaches in the frame."""
    side = ["top", "bottom", "left", "right"][int(rng.integers(4))]
    d0, d1 = rng.uniform(18, 90, 2)
    if side == "top":
        edge = [(-50, d0), (W + 50, d1)]
        outside = [(W + 50, -400), (-50, -400)]
    elif side == "bottom":
        edge = [(-50, H - d0), (W + 50, H - d1)]
        outside = [(W + 50, H + 400), (-50, H + 400)]
    elif side == "left":
        edge = [(d0, -50), (d1, H + 50)]
        outside = [(-400, H + 50), (-400, -50)]
    else:
        edge = [(W - d0, -50), (W - d1, H + 50)]
        outside = [(W + 400, H + 50), (W + 400, -50)]
    poly = to_canvas(homography, edge + outside)
    mask = np.zeros((CH, CW), np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    alpha = mask.astype(np.float32) / 255
    wood = rng.random() < 0.6
    base = (np.float32([40, 70, 105]) if wood else np.float32([48, 48, 52])) * rng.uniform(0.6, 1.3)
    grain = smooth_field(rng, (CH, CW), (40, 4) if side in ("top", "bottom") else (4, 40), 0.12 if wood else 0.05)
    # the page edge casts a thin soft shadow on the desk
    shadow = cv2.GaussianBlur(255 - mask, (0, 0), 3).astype(np.float32) / 255
    desk = (1 + grain) * (1 - 0.5 * shadow) * alpha
    for k in range(3):
        page[k] *= 1 - alpha
        page[k] += base[k] * desk
    return side, float(max(d0, d1))


def light_and_cast(rng: np.random.Generator, dim: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel light (gain, gradient, vignette or shadow; computed small, resized up) and its BGR colour cast."""
    sh, sw = CH // 8, CW // 8
    gy, gx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    gx, gy = gx / sw, gy / sh
    gain = rng.uniform(0.4, 0.7) if dim else rng.uniform(0.85, 1.05)
    light = np.ones((sh, sw), np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * (gx - 0.5) + np.sin(direction) * (gy - 0.5)) / 0.7 + 0.5
    light *= 1 - rng.uniform(0.1, 0.45) * np.clip(ramp, 0, 1)
    if rng.random() < 0.5:  # vignette
        r2 = ((gx - 0.5) / 0.5) ** 2 + ((gy - 0.5) / 0.5) ** 2
        light *= 1 - rng.uniform(0.1, 0.35) * np.clip(r2 / 2, 0, 1)
    if rng.random() < 0.3:  # a soft shadow (hand, phone, lamp arm) reaching in from one side
        shadow = np.zeros((sh, sw), np.float32)
        side = rng.uniform(0, 2 * np.pi)
        centre = (int(sw / 2 + np.cos(side) * sw * rng.uniform(0.45, 0.7)),
                  int(sh / 2 + np.sin(side) * sh * rng.uniform(0.45, 0.7)))
        axes = (int(rng.uniform(0.25, 0.6) * sw), int(rng.uniform(0.15, 0.35) * sh))
        cv2.ellipse(shadow, centre, axes, np.rad2deg(side) + rng.uniform(-40, 40), 0, 360, 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(3, 8))
        light *= 1 - rng.uniform(0.2, 0.45) * shadow
    warm = rng.uniform(-1, 1)  # > 0 warm (tungsten), < 0 cool (daylight, screen)
    cast = np.float32([1 - 0.10 * warm, 1 - 0.01 * warm, 1 + 0.07 * warm]) * rng.uniform(0.98, 1.02, 3)
    return cv2.resize(light * gain, (CW, CH), interpolation=cv2.INTER_LINEAR), cast.astype(np.float32)
