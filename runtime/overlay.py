"""Drawing: boxes, labels and scores, plus FPS, latency and the execution provider."""
from __future__ import annotations

import cv2
import numpy as np

GREEN, BLACK, WHITE, ORANGE = (40, 200, 40), (0, 0, 0), (255, 255, 255), (0, 140, 255)


def draw(image: np.ndarray, detections, fps: float, latency_ms: float, provider: str,
         status: str = "") -> np.ndarray:
    """``status``: a line such as "reconnecting (attempt 2/10)" drawn below the FPS line (none when empty)."""
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    scale = max(0.5, canvas.shape[0] / 800)
    for det in detections:
        x, y, w, h = det.box
        cv2.rectangle(canvas, (x, y), (x + w, y + h), GREEN, 2)
        text = f"{det.label} {det.score:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        ty = max(th + 4, y - 4)
        cv2.rectangle(canvas, (x, ty - th - 4), (x + tw + 4, ty + 2), GREEN, -1)
        cv2.putText(canvas, text, (x + 2, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, 2, cv2.LINE_AA)
    line = f"{fps:5.1f} FPS  {latency_ms:5.2f} ms  {provider}"
    cv2.putText(canvas, line, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, BLACK, 4, cv2.LINE_AA)
    cv2.putText(canvas, line, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, WHITE, 1, cv2.LINE_AA)
    if status:
        y = int(56 * scale) + 8
        cv2.putText(canvas, status, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, BLACK, 4, cv2.LINE_AA)
        cv2.putText(canvas, status, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, ORANGE, 2, cv2.LINE_AA)
    return canvas
