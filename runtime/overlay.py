"""Drawing: boxes with their labels and scores, and a status bar with FPS, latency and the provider.

Text is sized from the frame's width and sits on filled backgrounds, so it stays legible on any paper;
labels are placed where they collide with neither the status bar nor each other.
"""
from __future__ import annotations

import cv2
import numpy as np

GREEN, BLACK, WHITE, ORANGE, BAR = (40, 200, 40), (0, 0, 0), (255, 255, 255), (0, 165, 255), (32, 32, 32)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def text_scale(width: int) -> float:
    """Font scale for a frame ``width`` px wide: about 13 px high text on a 640 px frame."""
    return max(0.4, min(1.6, width / 1000))


def status_bar(canvas: np.ndarray, left: str, right: str, scale: float) -> int:
    """A dark bar across the top with ``left`` in white and ``right`` (a warning) in orange; its height."""
    thickness = max(1, round(scale * 1.5))
    (_, th), base = cv2.getTextSize(left or right or "0", FONT, scale, thickness)
    height = th + base + 10
    top = canvas[:height]
    top[:] = cv2.addWeighted(top, 0.15, np.full_like(top, BAR), 0.85, 0)
    cv2.putText(canvas, left, (8, 5 + th), FONT, scale, WHITE, thickness, cv2.LINE_AA)
    if right:
        (rw, _), _ = cv2.getTextSize(right, FONT, scale, thickness)
        cv2.putText(canvas, right, (max(8, canvas.shape[1] - rw - 8), 5 + th), FONT, scale, ORANGE, thickness,
                    cv2.LINE_AA)
    return height


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_label(box, size, taken: list, top_limit: int, frame_h: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) for a label of ``size`` (w, h): above the box, else below it, else the first free
    place stepping down from the box's top to a few labels below it; never over the status bar or past the
    frame's bottom (crowded labels may overlap only when no free place is left)."""
    x, y, w, h = box
    lw, lh = size
    step = max(1, lh // 2)
    candidates = [y - lh, y + h] + list(range(max(top_limit, y), y + h + 4 * lh, step))
    for top in candidates:
        rect = (x, top, x + lw, top + lh)
        if top >= top_limit and top + lh <= frame_h and not any(overlaps(rect, t) for t in taken):
            return rect
    top = min(max(top_limit, y), frame_h - lh)
    return (x, top, x + lw, top + lh)


def draw(image: np.ndarray, detections, fps: float, latency_ms: float, provider: str,
         status: str = "") -> np.ndarray:
    """The annotated frame. ``status``: a warning such as "reconnecting (attempt 2/10)" (none when empty)."""
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    scale = text_scale(canvas.shape[1])
    bar = status_bar(canvas, f"{fps:.1f} FPS | {latency_ms:.1f} ms | {provider}", status, scale)
    thickness = max(1, round(scale * 1.5))
    taken: list[tuple[int, int, int, int]] = []
    for det in detections:
        x, y, w, h = det.box
        cv2.rectangle(canvas, (x, y), (x + w, y + h), GREEN, max(1, thickness))
        text = f"{det.label} {det.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
        rect = place_label(det.box, (tw + 6, th + base + 4), taken, bar, canvas.shape[0])
        taken.append(rect)
        cv2.rectangle(canvas, rect[:2], (rect[2] - 1, rect[3] - 1), GREEN, -1)
        cv2.putText(canvas, text, (rect[0] + 3, rect[1] + 2 + th), FONT, scale, BLACK, thickness, cv2.LINE_AA)
    return canvas
