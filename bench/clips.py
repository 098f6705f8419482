"""Render a test clip of handwritten digits on paper, and score what a model read from it.

The digits come from mnist-5k's held-out test split, never from training. Each scene is a sheet
with 1-5 digits and a ruled line, filmed for a few frames with camera shake, blur, sensor noise
and uneven light; some sheets are light ink on a dark board. ``hard=True`` renders webcam-over-a-desk
scenes instead (edgetl.desk: notebook paper with ruled or grid lines, coloured inks and pens, dim and
uneven light, perspective, motion blur, empty pages).

Only the benchmarks and the tests use it, so it lives in bench/ and is not installed (tests/conftest.py puts
bench/ on the path); the desk renderer stays in the package because training mines clutter from its pages.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgetl.desk import overlap
from edgetl.runtime.tracking import iou
from edgetl.runtime._io import atomic_path, atomic_write_text

W, H = 640, 480


@dataclass
class Sheet:
    image: np.ndarray  # float32 gray paper with digits, before camera effects
    boxes: list[list[float]]  # x, y, w, h
    labels: list[int]


def render_sheet(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Sheet:
    dark_board = rng.random() < 0.2
    paper, ink = (rng.uniform(40, 70), rng.uniform(200, 240)) if dark_board else (rng.uniform(190, 240), rng.uniform(10, 60))
    sheet = np.full((H, W), paper, np.float32)
    n = len(digits)
    size = rng.uniform(70, 130) if n <= 3 else rng.uniform(60, 100)
    x = rng.uniform(20, max(21, W - n * size * 1.15 - 20))
    y_row = rng.uniform(40, H - size - 90)
    boxes = []
    for digit in digits:
        s = int(size * rng.uniform(0.85, 1.1))
        alpha = cv2.resize(digit, (s, s), interpolation=cv2.INTER_CUBIC).astype(np.float32).clip(0, 255) / 255.0
        y = int(y_row + rng.uniform(-10, 10))
        xi = int(x)
        region = sheet[y:y + s, xi:xi + s]
        region[:] = region * (1 - alpha) + ink * alpha
        ys, xs = np.nonzero(alpha > 0.2)
        boxes.append([xi + xs.min(), y + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
        x += s * rng.uniform(0.95, 1.2)
    line_y = int(min(H - 10, max(b[1] + b[3] for b in boxes) + rng.uniform(15, 40)))
    cv2.line(sheet, (0, line_y), (W, line_y), float(paper * 0.5 + ink * 0.5), int(rng.integers(1, 4)))
    return Sheet(sheet, boxes, [int(v) for v in labels])


def film(sheet: Sheet, rng: np.random.Generator) -> tuple[np.ndarray, list[list[int]]]:
    """One camera frame of the sheet: shake, uneven light, blur, noise; boxes moved with the shake."""
    angle, dx, dy = rng.uniform(-2, 2), rng.uniform(-6, 6), rng.uniform(-6, 6)
    matrix = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    matrix[:, 2] += (dx, dy)
    image = cv2.warpAffine(sheet.image, matrix, (W, H), borderMode=cv2.BORDER_REPLICATE)
    gx, gy = np.meshgrid(np.linspace(0, 1, W), np.linspace(0, 1, H))
    direction = rng.uniform(0, 2 * np.pi)
    light = 1.0 - rng.uniform(0.15, 0.4) * (np.cos(direction) * gx + np.sin(direction) * gy + 1) / 2
    image = image * light.astype(np.float32)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    image = image + rng.normal(0, rng.uniform(3, 8), image.shape).astype(np.float32)
    frame = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    boxes = []
    for x, y, w, h in sheet.boxes:
        corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], np.float64) @ matrix.T
        x0, y0 = corners.min(0)
        x1, y1 = corners.max(0)
        boxes.append([int(x0), int(y0), int(x1 - x0), int(y1 - y0)])
    return frame, boxes


def render_clip(path: Path, digits: np.ndarray, labels: np.ndarray, scenes: int = 30, frames_per_scene: int = 10,
                seed: int = 0, fps: float = 30.0, hard: bool = False, hands: float = 0.0, turn: float = 0.0) -> Path:
    """Write the clip (.mp4) and its ground truth (same name, .json); return the clip path.

    ``hard``: the desk scenes of edgetl.desk.render_desk_clip instead of the plain sheets, ``hands`` of them filmed
    while someone writes (edgetl.desk_hand), every page turned ``turn`` degrees on the desk.
    """
    if hard:
        from edgetl.desk import render_desk_clip

        return render_desk_clip(path, digits, labels, scenes=scenes, frames_per_scene=frames_per_scene, seed=seed,
                                fps=fps, hands=hands, turn=turn)
    rng = np.random.default_rng(seed)
    path = Path(path)
    truth = []
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
        for _ in range(scenes):
            pick = rng.choice(len(digits), size=int(rng.integers(1, 6)), replace=False)
            sheet = render_sheet(digits[pick].reshape(-1, 28, 28), labels[pick], rng)
            for _ in range(frames_per_scene):
                frame, boxes = film(sheet, rng)
                writer.write(frame)
                truth.append({"boxes": boxes, "labels": sheet.labels})
        writer.release()
    atomic_write_text(path.with_suffix(".json"), json.dumps(truth))
    return path


MATCH = 0.5  # a detection reads a written digit when it shares this much of the smaller box (edgetl.desk.overlap)


def match_frame(frame_truth: dict, dets: list[dict]) -> tuple[list, list[dict]]:
    """([(written box, label, the detection matched to it or None)], detections left over): each written digit in
    turn takes the free detection overlapping it most, if that overlap reaches MATCH."""
    used, matched = set(), []
    for box, label in zip(frame_truth["boxes"], frame_truth["labels"]):
        best = max(((overlap(box, d["box"]), i) for i, d in enumerate(dets) if i not in used), default=(0, -1))
        found = None
        if best[0] >= MATCH:
            used.add(best[1])
            found = dets[best[1]]
        matched.append((box, label, found))
    return matched, [d for i, d in enumerate(dets) if i not in used]


def score_clip(truth: list[dict], records: list[dict]) -> dict:
    """Digits read right / all digits, correct detections / all detections, frames read exactly.

    A frame is read exactly when every digit in it is found and read right and nothing else is detected;
    a frame with nothing written on it is read exactly only with no detections at all. ``empty_frames``
    counts such frames, ``false_on_empty`` the detections made on them.
    """
    digits = right = detections = exact = empty = false_on_empty = 0
    for frame_truth, record in zip(truth, records):
        dets = record["detections"]
        detections += len(dets)
        if not frame_truth["labels"]:
            empty += 1
            false_on_empty += len(dets)
        matched, _ = match_frame(frame_truth, dets)
        frame_right = sum(found is not None and found["label"] == str(label) for _, label, found in matched)
        digits += len(matched)
        right += frame_right
        # every digit matched (one detection each) and read right, and no detection left over; this reads
        # rows of digits too, where the detections sorted left to right would interleave the rows
        exact += frame_right == len(frame_truth["labels"]) and len(dets) == frame_right
    n = min(len(truth), len(records))
    return {"frames": n, "digits": digits, "digit_accuracy": right / max(1, digits),
            "detection_precision": right / max(1, detections), "frames_exact": exact / max(1, n),
            "empty_frames": empty, "false_on_empty": false_on_empty}


WELL_BOXED = 0.6  # error_kinds: a misread digit whose detection has at least this IoU with it was boxed well
PART_OF_DIGIT = 0.3  # ... a detection left over that covers this much of a written digit (or it of the detection)


def digit_kind(box, label, found: dict | None, taken: list) -> str:
    """One written digit as match_frame matched it: "right", "misread_boxed", "misread_cut", "missed_merged" (not
    found, inside a box matched to another digit: ``taken``, the frame's matched boxes) or "missed"."""
    if found is None:
        return "missed_merged" if any(overlap(box, other) >= MATCH for other in taken) else "missed"
    if found["label"] == str(label):
        return "right"
    return "misread_boxed" if iou(box, found["box"]) >= WELL_BOXED else "misread_cut"


def error_kinds(truth: list[dict], records: list[dict]) -> dict:
    """What went wrong, matched as score_clip matches: each written digit is read right, misread with a box on it
    (``misread_boxed``: IoU >= WELL_BOXED, the classifier's error), misread with a box that is a piece of it or
    spans more (``misread_cut``: the finder's), or ``missed``; ``missed_merged`` counts the missed digits that lie
    in a box matched to another digit (two digits boxed as one). Each detection left over is ``false_on_empty``
    (a page with nothing written), ``false_part`` (on a piece of a written digit) or ``false_clutter``."""
    kinds = dict.fromkeys(("right", "misread_boxed", "misread_cut", "missed", "missed_merged",
                           "false_on_empty", "false_part", "false_clutter"), 0)
    for frame_truth, record in zip(truth, records):
        matched, leftover = match_frame(frame_truth, record["detections"])
        taken = [found["box"] for _, _, found in matched if found is not None]
        for box, label, found in matched:
            kind = digit_kind(box, label, found, taken)
            kinds["missed" if kind == "missed_merged" else kind] += 1
            kinds["missed_merged"] += kind == "missed_merged"
        for d in leftover:
            on_digit = max((overlap(box, d["box"]) for box in frame_truth["boxes"]), default=0.0)
            kinds["false_on_empty" if not frame_truth["labels"] else
                  "false_part" if on_digit >= PART_OF_DIGIT else "false_clutter"] += 1
    return kinds


def read_clip(model, clip: Path, smooth: bool = True) -> list[dict]:
    """The JSONL records `edgetl run` writes for the clip, one a frame (``smooth``: tracked and voted)."""
    import tempfile

    from edgetl.runtime.app import run

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "readings.jsonl"
        run(model, str(clip), show=False, jsonl=out, smooth=smooth)
        return [json.loads(line) for line in out.read_text().splitlines()]
