"""Where results go: JSONL records, an annotated video or image folder, a window."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from ._io import StagedFile, atomic_write_bytes
from .errors import UserError


class JsonlWriter:
    """One JSON object per frame, renamed into place when the stream ends (even on Ctrl-C)."""

    def __init__(self, path: Path):
        try:
            self.staged = StagedFile(path)
            self.file = open(self.staged.tmp, "w")
        except OSError as exc:
            raise UserError(f"--jsonl {path}: cannot write ({exc.strerror})") from None

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self.file.close()
        self.staged.commit()


class VideoWriter:
    """An annotated .mp4/.avi, sized by the first frame, renamed into place at the end."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = Path(path), fps
        self.writer = None
        try:
            self.staged = StagedFile(self.path)
        except OSError as exc:
            raise UserError(f"--save {path}: cannot write ({exc.strerror})") from None

    def write(self, image: np.ndarray, name: str = "") -> None:
        if self.writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            self.writer = cv2.VideoWriter(str(self.staged.tmp), fourcc, self.fps, (image.shape[1], image.shape[0]))
            if not self.writer.isOpened():
                raise UserError(f"--save {self.path}: OpenCV cannot write this video format; try .mp4 or .avi")
        self.writer.write(image)

    def close(self) -> None:
        if self.writer is None:  # no frames, no file
            self.staged.discard()
            return
        self.writer.release()
        self.staged.commit()


class ImageFolderWriter:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def write(self, image: np.ndarray, name: str) -> None:
        _, data = cv2.imencode(".png", image)
        atomic_write_bytes(self.folder / (Path(name).stem + ".png"), data.tobytes())

    def close(self) -> None:
        pass


class Window:
    """An OpenCV window with q/Esc to quit; ``reason`` says why there is none (no display, headless build)."""

    NAME = "edgetl"

    def __init__(self):
        self.available, self.reason = False, ""
        if os.name == "posix" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            self.reason = "no display"
            return
        try:
            cv2.namedWindow(self.NAME, cv2.WINDOW_NORMAL)
            self.available = True
        except cv2.error:
            self.reason = ("this OpenCV build has no GUI; for a window: "
                           "pip uninstall -y opencv-python-headless && pip install opencv-python")

    def show(self, image: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q or Esc."""
        cv2.imshow(self.NAME, image)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        if self.available:
            cv2.destroyAllWindows()
