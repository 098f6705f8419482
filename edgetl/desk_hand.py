"""The writer's hand and pen in a desk scene: what a webcam over a desk sees while someone writes.

A right hand (sometimes a left one) holds a pen whose tip rests just after the last digit written, or anywhere on an
empty page, about to write. Sizes follow the writing: a pen is about as wide as a handwritten digit is tall, a finger
half again as wide, and the palm fills much of the frame. Skin from very light to dark, pens of any colour (a white
barrel on white paper too, a yellow pencil with a wooden cone), lit by the scene's light, with a soft shadow on the
page. The hand moves a little from frame to frame, as a hand does while writing.

Drawn in frame space after the page is filmed and before the camera's blur and noise, so it blurs and shakes with the
page. It never covers a written digit: a placement that would is drawn again, and a scene with no free placement gets
no hand. Its random draws come from their own generator, so scenes without a hand render as they did before.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# BGR under white light: very light to dark skin
SKIN = [(185, 200, 240), (150, 178, 226), (122, 152, 204), (96, 128, 178), (70, 94, 140), (46, 62, 98)]
# pen barrels (BGR): black, dark blue, blue, red, green, white, silver, a yellow pencil
BARRELS = [(35, 35, 38), (110, 40, 25), (200, 120, 40), (40, 40, 190), (60, 140, 50), (236, 236, 232),
           (185, 185, 180), (40, 200, 235)]
PENCIL = 7  # index of the pencil in BARRELS: its cone is bare wood with a graphite point
WOOD, GRAPHITE, METAL = (150, 195, 225), (60, 60, 62), (150, 150, 150)
TRIES = 20  # placements tried before a scene goes without a hand
WOBBLE = 0.25  # how far the hand drifts from its place while writing, in digit heights


@dataclass
class Hand:
    tip: np.ndarray  # canvas (x, y): where the pen touches the page
    direction: np.ndarray  # frame unit vector from the tip up the pen, towards the hand
    scale: float  # the scene's digit height, px
    pen_width: float
    cone: float  # length of the pen's tapered end, px
    grip: float  # distance from the tip to the fingers, px
    skin: np.ndarray
    barrel: int
    shadow: np.ndarray  # frame offset of the shadow, px
    darkness: float  # share of the light the shadow takes
    rng: np.random.Generator
    wobble: np.ndarray  # the hand's drift from its place, px (a random walk)

    def shapes(self, tip: np.ndarray, size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pen, cone, hand) coverage masks, float32 0..1, for a frame of ``size`` (w, h) with the tip at ``tip``."""
        d, s = self.direction, self.scale
        n = np.array([-d[1], d[0]])
        pen, cone, hand = (np.zeros(size[::-1], np.float32) for _ in range(3))
        along = lambda t, side=0.0: tip + d * t + n * side  # noqa: E731
        _bar(pen, along(self.cone), along(self.grip + 9 * s), self.pen_width)
        points = [along(0, 0.08 * self.pen_width), along(self.cone, 0.5 * self.pen_width),
                  along(self.cone, -0.5 * self.pen_width), along(0, -0.08 * self.pen_width)]
        cv2.fillConvexPoly(cone, _pixels(points), 1.0, cv2.LINE_AA, 4)
        finger = 1.45 * s
        _bar(hand, along(self.grip + 0.3 * finger, 0.45 * finger), along(self.grip + 4 * s, 0.9 * finger), finger)
        _bar(hand, along(self.grip + 0.6 * finger, -0.55 * finger), along(self.grip + 3.5 * s, -1.6 * finger),
             1.1 * finger)
        _bar(hand, along(self.grip + 0.9 * finger, 1.3 * finger), along(self.grip + 4 * s, 1.9 * finger), finger)
        centre = along(self.grip + 6.5 * s, 0.4 * s)
        angle = float(np.degrees(np.arctan2(d[1], d[0])))
        cv2.ellipse(hand, _whole(centre), (int(5 * s), int(3.6 * s)), angle, 0, 360, 1.0, -1, cv2.LINE_AA)
        return pen, cone, hand

    def draw(self, frame: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """``frame`` (uint8 BGR, the page as filmed through ``matrix``, canvas -> frame) with the hand over it."""
        self.wobble = np.clip(0.8 * self.wobble + self.rng.normal(0, 0.04 * self.scale, 2), -WOBBLE * self.scale,
                              WOBBLE * self.scale)
        tip = cv2.perspectiveTransform(self.tip.reshape(1, 1, 2), matrix).reshape(2) + self.wobble
        h, w = frame.shape[:2]
        pen, cone, hand = self.shapes(tip, (w, h))
        light = _light_at(frame, tip)
        out = frame.astype(np.float32)
        above = np.maximum(np.maximum(pen, cone), hand)
        shadow = cv2.GaussianBlur(np.roll(above, _whole(self.shadow)[::-1], (0, 1)), (0, 0),
                                  max(2.0, 0.35 * self.scale))
        out *= (1 - self.darkness * shadow)[..., None]
        barrel = np.float32(BARRELS[self.barrel]) * light
        highlight = 1 + 0.25 * cv2.GaussianBlur(pen, (0, 0), max(1.0, 0.15 * self.pen_width))[..., None]
        _paint(out, pen, barrel * np.minimum(highlight, 1.12))
        cone_colour = (np.float32(WOOD) if self.barrel == PENCIL else 0.8 * np.float32(BARRELS[self.barrel])) * light
        _paint(out, cone, cone_colour)
        point = np.zeros((h, w), np.float32)
        cv2.circle(point, _whole(tip), max(1, int(0.12 * self.pen_width)), 1.0, -1, cv2.LINE_AA)
        _paint(out, point, np.float32(GRAPHITE if self.barrel == PENCIL else METAL) * light)
        rounded = 0.78 + 0.22 * cv2.GaussianBlur(hand, (0, 0), max(2.0, 0.4 * self.scale))[..., None]
        _paint(out, hand, self.skin * light * rounded)
        return np.clip(out, 0, 255).astype(np.uint8)


def place_hand(rng: np.random.Generator, homography: np.ndarray, boxes: list, size) -> Hand | None:
    """A hand for a scene (``boxes``: its digits' canvas boxes x0, y0, x1, y1, in reading order) that covers none of
    its digits as the scene's camera (``homography``, canvas -> frame) sees them, or None if none fits."""
    w, h = size
    frame_boxes = [_frame_box(homography, b) for b in boxes]
    scale = float(np.mean([b[3] - b[1] for b in frame_boxes])) if boxes else float(rng.uniform(35, 80))
    for _ in range(TRIES):
        hand = _draw_hand(rng, scale)
        if frame_boxes:
            x0, y0, x1, y1 = frame_boxes[-1]  # the last digit written: the pen has just left it
            tip = np.array([x1 + rng.uniform(0.1, 0.6) * scale, y0 + rng.uniform(0.3, 1.0) * (y1 - y0)])
        else:
            tip = np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.75) * h])
        if frame_boxes and rng.random() < 0.15:  # a left hand: the pen leans the other way
            hand.direction[0] *= -1
            tip[0] = frame_boxes[0][0] - (tip[0] - frame_boxes[-1][2])
        pen, cone, palm = hand.shapes(tip, size)
        reach = 2 * int(WOBBLE * scale) + 5  # the hand's drift and the shake's turn, both ways
        covered = cv2.dilate(np.maximum(np.maximum(pen, cone), palm), np.ones((reach, reach), np.uint8)) > 0
        if not any(covered[max(0, y0):y1, max(0, x0):x1].any() for x0, y0, x1, y1 in frame_boxes):
            hand.tip = cv2.perspectiveTransform(tip.reshape(1, 1, 2), np.linalg.inv(homography)).reshape(2)
            return hand
    return None


def _draw_hand(rng: np.random.Generator, scale: float) -> Hand:
    angle = np.radians(rng.uniform(20, 65))  # the pen leans back to the bottom right, as a right hand holds it
    pen_width = scale * rng.uniform(0.5, 0.9)
    cone = pen_width * rng.uniform(1.2, 2.0)
    skin = np.float32(SKIN[int(rng.integers(len(SKIN)))]) * rng.uniform(0.92, 1.05, 3).astype(np.float32)
    side = rng.uniform(-1, 1)
    return Hand(np.zeros(2), np.array([np.cos(angle), np.sin(angle)]), scale, pen_width, cone,
                cone + scale * rng.uniform(0.5, 1.5), skin, int(rng.integers(len(BARRELS))),
                np.array([side * 0.4 * scale, rng.uniform(0.2, 0.6) * scale]), float(rng.uniform(0.2, 0.45)), rng,
                np.zeros(2))


def _frame_box(homography: np.ndarray, box) -> list[int]:
    x0, y0, x1, y1 = box
    corners = cv2.perspectiveTransform(np.float64([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]).reshape(-1, 1, 2),
                                       homography).reshape(-1, 2)
    (a, b), (c, d) = corners.min(0), corners.max(0)
    return [int(a), int(b), int(np.ceil(c)), int(np.ceil(d))]


def _light_at(frame: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The scene's light and colour cast near ``point``: the paper's colour there against a white page."""
    h, w = frame.shape[:2]
    x, y = int(np.clip(point[0], 0, w - 1)), int(np.clip(point[1], 0, h - 1))
    patch = frame[max(0, y - 40):y + 40, max(0, x - 40):x + 40].reshape(-1, 3)
    return np.percentile(patch, 90, axis=0).astype(np.float32) / 240.0


def _bar(mask: np.ndarray, start, end, width: float) -> None:
    """A capsule of ``width`` px from ``start`` to ``end`` (rounded ends, anti-aliased, 4 bits of sub-pixel)."""
    a, b = (tuple(int(v) for v in p) for p in _pixels([start, end]))
    cv2.line(mask, a, b, 1.0, max(1, int(round(width))), cv2.LINE_AA, 4)


def _paint(image: np.ndarray, coverage: np.ndarray, colour: np.ndarray) -> None:
    """Cover ``image`` (float32 BGR) with ``colour`` (BGR, or per pixel) where ``coverage`` (0..1) says."""
    alpha = coverage[..., None]
    image *= 1 - alpha
    image += alpha * colour


def _whole(point) -> tuple[int, int]:
    return int(round(float(point[0]))), int(round(float(point[1])))


def _pixels(points) -> np.ndarray:
    """Points as int32 pixel coordinates with 4 bits of sub-pixel precision (OpenCV's ``shift=4``)."""
    return np.round(np.asarray(points, np.float64) * 16).astype(np.int32).reshape(-1, 2)
