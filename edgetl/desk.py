"""Hard test scenes: a webcam over a real desk, looking at digits written in a notebook.

Each scene is a page (plain, ruled or squared; white, cream, yellowish, grey or pale blue/green)
with 0-2 rows of 1-6 handwritten digits (held-out MNIST digits used as alpha masks, redrawn with
the scene's pen: pencil to marker, in black, blue, red or green ink), under uneven, often dim,
slightly coloured light. The camera looks at it tilted (a perspective warp), shakes a little from
frame to frame, and adds motion blur, defocus and sensor noise; sometimes the desk shows at one edge.

The page is rendered once per scene on a canvas larger than the frame (the camera sees a
quadrilateral of it); each frame only warps, blurs and adds noise, so frames are cheap (a few ms)
and can be mined in memory for training clutter as well as written to a test clip.
The page, its pen and its light are drawn by edgetl.desk_page; this module writes the digits and films the page.

Ground truth per frame: the tight ink box of each digit, moved with the frame's perspective
(the bounding box of the four warped corners), in reading order (rows top to bottom, left to right).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from edgetl.desk_hand import Hand, place_hand
from edgetl.desk_page import (CH, CW, MARGIN, H, W, Pen, choose_pen, draw_desk_border, draw_paper, light_and_cast,
                              smooth_field, tint, to_canvas)
from edgetl.pen import rewrite
from edgetl.runtime._io import atomic_path, atomic_write_text
from edgetl.runtime.pieces import intersection

INKED = 0.35  # a pen's coverage (0..1) from which a canvas pixel is the digit's ink (its tight box uses the same)


@dataclass
class DeskScene:
    canvas: np.ndarray  # uint8 BGR (CH, CW, 3): the lit page with ink, before the camera
    homography: np.ndarray  # canvas -> frame, before per-frame shake
    boxes: list[list[float]]  # tight ink boxes on the canvas: x0, y0, x1, y1 (exclusive ends)
    labels: list[int]
    motion: np.ndarray | None  # line kernel for motion blur, or None
    defocus: float  # Gaussian sigma
    noise: float  # sensor noise sigma (grey levels)
    ink: np.ndarray | None = None  # uint8 (CH, CW): 1 + the index in ``labels`` of the digit whose pen laid ink there
    pen: str = ""  # pencil, ballpoint, felt or marker
    hand: Hand | None = None  # the writer's hand and pen over the page (edgetl.desk_hand), if any
    turn: float = 0.0  # degrees the page lies turned on the desk (_camera)
    paper: str = ""  # plain, ruled or grid
    dim: bool = False  # lit at about half the light


# ---------------------------------------------------------------------------------------------- camera

def _camera(rng: np.random.Generator, turn: float = 0.0) -> np.ndarray:
    """canvas -> frame homography: the frame sees a tilted, rotated, zoomed quadrilateral of the page. ``turn``:
    degrees the page lies turned further on the desk (positive: clockwise, its top to the right), beyond the
    draw's -6..6."""
    quad = np.float32([[MARGIN, MARGIN], [MARGIN + W, MARGIN], [MARGIN + W, MARGIN + H], [MARGIN, MARGIN + H]])
    centre = quad.mean(0)
    angle, zoom = np.deg2rad(rng.uniform(-6, 6) - turn), rng.uniform(0.92, 1.1)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = (quad - centre) @ rot.T * zoom + centre
    tilt = rng.uniform(0.02, 0.08)
    quad += rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32) * np.float32([W, H])
    dst = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    return cv2.getPerspectiveTransform(quad.astype(np.float32), dst).astype(np.float64)


def _shake(state: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Next hand-held shake (dx, dy, angle in degrees) as a smooth random walk, and its frame-space matrix."""
    state = np.clip(0.7 * state + rng.normal(0, (1.6, 1.6, 0.25)), (-6, -6, -1.0), (6, 6, 1.0))
    return state, _jitter(state)


def _jitter(state: np.ndarray) -> np.ndarray:
    """The frame-space matrix of a shake state (dx, dy, angle in degrees)."""
    matrix = np.eye(3)
    matrix[:2] = cv2.getRotationMatrix2D((W / 2, H / 2), float(state[2]), 1.0)
    matrix[:2, 2] += state[:2]
    return matrix


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = np.cos(angle) * c, np.sin(angle) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


# ---------------------------------------------------------------------------------------------- digits

def _write(page: np.ndarray, digits: np.ndarray, labels: np.ndarray, area, pen: Pen, rng: np.random.Generator,
           ruled=None):
    """Write 1-2 rows of digits inside ``area`` (canvas x0, y0, x1, y1); return boxes and labels in reading order, and
    the canvas's owner map (DeskScene.ink).

    On ruled paper (``ruled``: first line y, spacing) rows mostly sit on a line, as people write.
    """
    ink, width, opacity = pen.ink, pen.width, pen.opacity
    ax0, ay0, ax1, ay1 = area
    rows = 2 if rng.random() < 0.3 else 1
    touching = rng.random() < 0.15
    alpha = np.zeros(page.shape[1:], np.float32)
    owner = np.zeros(page.shape[1:], np.uint8)
    boxes, out_labels, picked = [], [], 0
    plans = []
    for r in range(rows):
        n = int(rng.integers(2 if touching and r == 0 else 1, 7))
        lo = rng.uniform(24, 75)
        hi = min(100.0, lo * rng.uniform(1.3, 2.4))
        heights = rng.uniform(lo, hi, n)
        plans.append(heights)
    total_h = sum(h.max() for h in plans) * (1.0 + 0.35 * (rows - 1))
    if total_h > ay1 - ay0:
        squeeze = (ay1 - ay0) / total_h
        plans = [np.maximum(24.0, h * squeeze) for h in plans]
    row_gap = [rng.uniform(0.15, 0.5) * max(h.max() for h in plans)] if rows == 2 else []
    spare = (ay1 - ay0) - sum(h.max() for h in plans) - sum(row_gap)
    row_top = ay0 + rng.uniform(0, max(0.0, spare))
    row_x = None  # where the first row starts: the next starts near it
    for r, heights in enumerate(plans):
        strokes = []
        for h in heights:
            if picked >= len(digits):
                break
            w_pen = min(width, max(1.2, 0.16 * h))
            strokes.append((rewrite(digits[picked], h, w_pen, rng), int(labels[picked]), h))
            picked += 1
        # tight ink boxes of each stroke image
        tight = []
        for a, _, _ in strokes:
            ys, xs = np.nonzero(a > INKED)
            tight.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
        widths = [t[2] - t[0] for t in tight]
        mean_h = float(np.mean([s[2] for s in strokes])) if strokes else 0
        gaps = list(rng.uniform(0.15, 0.7, max(0, len(strokes) - 1)) * mean_h)
        if touching and gaps:
            gaps[int(rng.integers(len(gaps)))] = rng.uniform(0, 3)
        while strokes and sum(widths) + sum(gaps) > ax1 - ax0:  # too long for the page: drop the last digit
            strokes.pop(), tight.pop(), widths.pop()
            gaps = gaps[:len(strokes) - 1]
        row_h = max((s[2] for s in strokes), default=0)
        baseline = row_top + row_h
        if not strokes or baseline > ay1:
            break
        if ruled is not None and rng.random() < 0.8:
            phase, spacing = ruled
            on_line = phase + spacing * np.ceil((baseline - phase) / spacing) - rng.uniform(0, 3)
            if on_line <= ay1:
                baseline = on_line
        free = max(0.0, (ax1 - ax0) - sum(widths) - sum(gaps))
        x = ax0 + rng.uniform(0, free)
        if row_x is not None and rng.random() < 0.8:
            x = float(np.clip(row_x + rng.normal(0, 0.3 * row_h), ax0, ax0 + free))
        row_x = x
        for i, ((a, label, h), (tx0, ty0, tx1, ty1)) in enumerate(zip(strokes, tight)):
            bottom = min(ay1, baseline + rng.uniform(-0.06, 0.04) * h)
            top = bottom - (ty1 - ty0)
            if top < ay0:
                top, bottom = ay0, ay0 + (ty1 - ty0)
            ox, oy = int(round(x - tx0)), int(round(top - ty0))
            ah, aw = a.shape
            # clip the stroke image to the canvas (it always fits, but be safe)
            cx0, cy0 = max(0, ox), max(0, oy)
            cx1, cy1 = min(CW, ox + aw), min(CH, oy + ah)
            region = alpha[cy0:cy1, cx0:cx1]
            np.maximum(region, a[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox], out=region)
            owner[cy0:cy1, cx0:cx1][a[cy0 - oy:cy1 - oy, cx0 - ox:cx1 - ox] > INKED] = len(boxes) + 1
            boxes.append([ox + tx0, oy + ty0, ox + tx1, oy + ty1])
            out_labels.append(label)
            x += (tx1 - tx0) + (gaps[i] if i < len(gaps) else 0)
        row_top = baseline + (row_gap[r] if r < len(row_gap) else 0)
    if not boxes:
        return [], [], owner
    # uneven pressure / grain: pencil is grainy, pens skip a little
    bx0, by0 = int(min(b[0] for b in boxes)) - 2, int(min(b[1] for b in boxes)) - 2
    bx1, by1 = int(max(b[2] for b in boxes)) + 2, int(max(b[3] for b in boxes)) + 2
    sub = alpha[by0:by1, bx0:bx1]
    grain_sd = 0.18 if pen.name == "pencil" else 0.08
    grain = 1 - np.abs(rng.normal(0, grain_sd, sub.shape)).astype(np.float32)
    grain *= 1 + smooth_field(rng, sub.shape, (4, 6), 0.06)
    sub *= np.clip(grain * opacity, 0, 1)
    tint(page[:, by0:by1, bx0:bx1], sub, ink)
    return boxes, out_labels, owner


# ----------------------------------------------------------------------------------------------- scene

def render_desk_scene(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                      empty: bool = False, turn: float = 0.0) -> DeskScene:
    """One page under one light, seen by one camera. ``digits``: (N, 28, 28) uint8, the pool to write from;
    ``turn``: degrees the page lies turned on the desk (``_camera``)."""
    homography = _camera(rng, turn)
    pen = choose_pen(rng)  # chosen first: the printed lines must stay fainter than it
    page, ruled, paper = draw_paper(rng, pen)
    margin = {"top": 16.0, "bottom": 16.0, "left": 16.0, "right": 16.0}
    if rng.random() < 0.10:
        side, depth = draw_desk_border(page, homography, rng)
        margin[side] = depth + 14
    boxes, out_labels, owner = [], [], None
    if not empty:
        # the canvas rectangle that the camera sees inside the frame (with a margin for shake)
        inner = to_canvas(homography, [(margin["left"], margin["top"]), (W - margin["right"], margin["top"]),
                                       (W - margin["right"], H - margin["bottom"]),
                                       (margin["left"], H - margin["bottom"])])
        area = (max(inner[0, 0], inner[3, 0]), max(inner[0, 1], inner[1, 1]),
                min(inner[1, 0], inner[2, 0]), min(inner[2, 1], inner[3, 1]))
        pick = rng.choice(len(digits), size=min(12, len(digits)), replace=False)
        boxes, out_labels, owner = _write(page, digits[pick], labels[pick], area, pen, rng, ruled)
    dim = rng.random() < 0.4
    light, cast = light_and_cast(rng, dim)
    for k in range(3):
        page[k] *= light * cast[k]
    canvas = cv2.merge(list(np.clip(page, 0, 255, out=page).astype(np.uint8)))
    motion = None
    if rng.random() < 0.3:
        motion = _motion_kernel(int(rng.choice([5, 7, 9])), rng.uniform(0, np.pi))
    noise = rng.uniform(5, 10) if dim else rng.uniform(2, 5)
    return DeskScene(canvas, homography, boxes, out_labels, motion, rng.uniform(0.5, 1.5), noise, owner, pen.name,
                     turn=turn, paper=paper, dim=dim)


class _Noise:
    """A bank of Gaussian noise fields; each frame takes a random window of one (cheap, reproducible)."""

    def __init__(self, rng: np.random.Generator, count: int = 2, pad: int = 32):
        self.pad = pad
        # partly shared across channels (luminance), partly not (chroma); std 1 per channel
        self.fields = 0.6 * rng.standard_normal((count, H + pad, W + pad, 3), dtype=np.float32)
        self.fields += 0.8 * rng.standard_normal((count, H + pad, W + pad, 1), dtype=np.float32)

    def window(self, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.integers(len(self.fields)))
        dy, dx = (int(v) for v in rng.integers(0, self.pad, 2))
        return self.fields[k, dy:dy + H, dx:dx + W]


def film_desk(scene: DeskScene, shake: np.ndarray, noise: _Noise, rng: np.random.Generator):
    """One camera frame of the scene: (frame, boxes [x, y, w, h], new shake state)."""
    shake, jitter = _shake(shake, rng)
    matrix = jitter @ scene.homography
    frame = cv2.warpPerspective(scene.canvas, matrix, (W, H), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    if scene.hand is not None:
        frame = scene.hand.draw(frame, matrix)
    if scene.motion is not None:
        frame = cv2.filter2D(frame, -1, scene.motion)
    frame = cv2.GaussianBlur(frame, (0, 0), scene.defocus)
    image = frame.astype(np.float32)
    cv2.scaleAdd(noise.window(rng), scene.noise, image, dst=image)
    frame = np.clip(image, 0, 255, out=image).astype(np.uint8)
    boxes = []
    for x0, y0, x1, y1 in scene.boxes:
        corners = np.float64([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]).reshape(-1, 1, 2)
        warped = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
        (bx0, by0), (bx1, by1) = warped.min(0), warped.max(0)
        bx0, by0 = max(0.0, bx0), max(0.0, by0)
        bx1, by1 = min(float(W), bx1), min(float(H), by1)
        boxes.append([int(bx0), int(by0), int(bx1 - bx0), int(by1 - by0)])
    if scene.turn:  # the turned box's corners reach far past the digit, over its neighbours: its ink's box instead
        boxes = ink_boxes(ink_in_frame(scene, shake), boxes)
    return frame, boxes, shake


def ink_boxes(ink: np.ndarray, boxes: list[list[int]]) -> list[list[int]]:
    """Each digit's box [x, y, w, h] tight around its ink in the frame (``ink_in_frame``), or its box in ``boxes``
    where none of its ink is in view."""
    tight = []
    for k, box in enumerate(boxes):
        points = cv2.findNonZero(cv2.compare(ink, k + 1, cv2.CMP_EQ))
        tight.append(list(cv2.boundingRect(points)) if points is not None else box)
    return tight


def ink_in_frame(scene: DeskScene, shake: np.ndarray) -> np.ndarray:
    """Where the pen laid ink, as the frame filmed with ``shake`` (film_desk's returned state) sees the page: uint8
    (H, W), 1 + the index of the digit in ``scene.labels``, 0 elsewhere; before blur and noise. The truth a stroke
    finder can be measured against (bench/stroke_recall.py)."""
    if scene.ink is None:
        return np.zeros((H, W), np.uint8)
    return cv2.warpPerspective(scene.ink, _jitter(shake) @ scene.homography, (W, H), flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def scene_conditions(scene: DeskScene) -> dict[str, str]:
    """What a scene was drawn with, by name: its paper, pen, light, motion blur and whether a hand is in view."""
    return {"paper": scene.paper, "pen": scene.pen, "light": "dim" if scene.dim else "bright",
            "blur": "motion" if scene.motion is not None else "still", "hand": "hand" if scene.hand else "no hand"}


def desk_frames(digits: np.ndarray, labels: np.ndarray, n_scenes: int, frames_per_scene: int, seed: int,
                empty_fraction: float = 0.12, with_ink: bool = False, hands: float = 0.0,
                turn: float = 0.0, scenes_out: list | None = None) -> Iterator[tuple]:
    """(frame BGR uint8 640x480, boxes [x, y, w, h], labels) for every frame of ``n_scenes`` scenes; ``with_ink``:
    each with the frame's ink (ink_in_frame) and the scene's pen as well (the same frames either way); ``hands``:
    the share of scenes filmed while someone writes (edgetl.desk_hand), drawn apart from the scenes' own draws;
    ``turn``: every page turned that many degrees further (render_desk_scene); ``scenes_out``: each scene's
    conditions (scene_conditions) appended to it before its first frame."""
    rng = np.random.default_rng(seed)
    hand_rng = np.random.default_rng([seed, 4])
    digits = np.asarray(digits).reshape(-1, 28, 28)
    labels = np.asarray(labels).reshape(-1)
    noise = _Noise(rng)
    for _ in range(n_scenes):
        scene = render_desk_scene(digits, labels, rng, empty=rng.random() < empty_fraction, turn=turn)
        if hands and hand_rng.random() < hands:
            scene.hand = place_hand(hand_rng, scene.homography, scene.boxes, (W, H))
        if scenes_out is not None:
            scenes_out.append(scene_conditions(scene))
        shake = np.zeros(3)
        for _ in range(frames_per_scene):
            frame, boxes, shake = film_desk(scene, shake, noise, rng)
            yield (frame, boxes, list(scene.labels)) + ((ink_in_frame(scene, shake), scene.pen) if with_ink else ())


def render_desk_clip(path: Path, digits: np.ndarray, labels: np.ndarray, scenes: int = 40,
                     frames_per_scene: int = 10, seed: int = 0, fps: float = 30.0, hands: float = 0.0,
                     turn: float = 0.0) -> Path:
    """Write the hard clip (.mp4) and its ground truth (same name, .json, as clips.render_clip); return the path.
    ``turn``: every page turned that many degrees on the desk (desk_frames)."""
    path = Path(path)
    truth = []
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
        try:
            for frame, boxes, frame_labels in desk_frames(digits, labels, scenes, frames_per_scene, seed,
                                                          hands=hands, turn=turn):
                writer.write(frame)
                truth.append({"boxes": boxes, "labels": frame_labels})
        finally:
            writer.release()
    atomic_write_text(path.with_suffix(".json"), json.dumps(truth))
    return path


def overlap(a, b) -> float:
    """Intersection over the smaller box: tolerant of boxes that differ only in tightness."""
    return intersection(a, b) / max(1, min(a[2] * a[3], b[2] * b[3]))
