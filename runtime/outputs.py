"""Where results go: JSONL records, an annotated video or image folder, a window.

Files are written beside their target under a temp name and renamed into place by ``close()``:
an existing file is replaced only by a complete one, and never by an empty one after a crash.
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import cv2
import numpy as np

from ._io import StagedFile, atomic_write_bytes
from .errors import UserError

# Containers OpenCV's FFmpeg writer produces with a codec it always has (checked with opencv-python 4.x/5.x).
VIDEO_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


def video_formats() -> str:
    return ", ".join(VIDEO_FOURCC)


def check_video_path(path: Path) -> None:
    """Refuse, before any frame is read, a --save video that OpenCV cannot write here."""
    path = Path(path)
    fourcc = VIDEO_FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise UserError(f"--save {path}: cannot write {path.suffix or 'suffix-less'} videos; "
                        f"use one of {video_formats()} (or a folder for image sources)")
    staged = StagedFile(path)  # also proves the folder is writable
    try:
        writer = cv2.VideoWriter(str(staged.tmp), cv2.VideoWriter_fourcc(*fourcc), 25.0, (16, 16))
        opened = writer.isOpened()
        writer.release()
    finally:
        staged.discard()
    if not opened:
        raise UserError(f"--save {path}: this OpenCV build cannot write {path.suffix} videos "
                        f"(no FFmpeg backend?); try .avi")


class JsonlWriter:
    """One JSON object per frame, line-buffered, renamed into place when the stream ends.

    Normal end, Ctrl-C and SIGTERM commit what was written; without a record (a crash, or Ctrl-C before
    the first frame) it is committed only where no file was, so an earlier file is never replaced by an empty one.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.count = 0
        try:
            self.staged = StagedFile(self.path)
        except OSError as exc:
            raise UserError(f"--jsonl {path}: cannot write ({exc.strerror})") from None
        try:
            self.file = open(self.staged.tmp, "w", buffering=1)
        except OSError as exc:
            self.staged.discard()
            raise UserError(f"--jsonl {path}: cannot write ({exc.strerror})") from None

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.count += 1

    def close(self, crashed: bool = False) -> bool:
        """Finish the file; True when it was renamed into place."""
        try:
            self.file.close()
        except OSError:
            self.staged.discard()
            raise
        if self.count == 0 and (crashed or os.path.lexists(self.path)):
            self.staged.discard()
            return False
        self.staged.commit()
        return True


class VideoWriter:
    """An annotated video, sized by the first frame, renamed into place at the end (no frames: no file)."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = Path(path), fps
        self.writer = None
        self.count = 0
        fourcc = VIDEO_FOURCC.get(self.path.suffix.lower())
        if fourcc is None:
            raise UserError(f"--save {path}: cannot write {self.path.suffix or 'suffix-less'} videos; "
                            f"use one of {video_formats()}")
        self.fourcc = cv2.VideoWriter_fourcc(*fourcc)
        try:
            self.staged = StagedFile(self.path)
        except OSError as exc:
            raise UserError(f"--save {path}: cannot write ({exc.strerror})") from None

    def write(self, image: np.ndarray, name: str = "") -> None:
        if self.writer is None:
            writer = cv2.VideoWriter(str(self.staged.tmp), self.fourcc, self.fps, (image.shape[1], image.shape[0]))
            if not writer.isOpened():
                raise UserError(f"--save {self.path}: OpenCV cannot write this video format; try .mp4 or .avi")
            self.writer = writer
        self.writer.write(image)
        self.count += 1

    def close(self, crashed: bool = False) -> bool:
        """Finalise the video; True when it was renamed into place (at least one frame written)."""
        if self.writer is None or self.count == 0:
            if self.writer is not None:
                self.writer.release()
            self.staged.discard()
            return False
        self.writer.release()
        self.staged.commit()
        return True


# A PNG text chunk marks the images edgetl writes: a later run may replace those, never anything else.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARK_TEXT = b"Software\x00edgetl"
MARK_CHUNK = len(MARK_TEXT).to_bytes(4, "big") + b"tEXt" + MARK_TEXT + \
    zlib.crc32(b"tEXt" + MARK_TEXT).to_bytes(4, "big")
IHDR_END = 8 + 4 + 4 + 13 + 4


def mark_png(data: bytes) -> bytes:
    return data[:IHDR_END] + MARK_CHUNK + data[IHDR_END:]


def written_by_edgetl(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(IHDR_END + len(MARK_CHUNK))
    except OSError:
        return False
    return head.startswith(PNG_SIGNATURE) and head[IHDR_END:] == MARK_CHUNK


def image_target(folder: Path, name: str) -> Path:
    return Path(folder) / (Path(name).stem + ".png")


class ImageFolderWriter:
    """Annotated images as PNG files in a folder; replaces only PNGs that edgetl wrote."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.count = 0

    def write(self, image: np.ndarray, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = image_target(self.folder, name)
        if os.path.lexists(target) and not written_by_edgetl(target):
            raise UserError(f"--save {self.folder}: {target.name} exists and was not written by edgetl; "
                            "refusing to replace it; choose another --save folder")
        ok, data = cv2.imencode(".png", image)
        if not ok:
            raise UserError(f"--save {target}: OpenCV could not encode the image")
        atomic_write_bytes(target, mark_png(data.tobytes()))
        self.count += 1

    def close(self, crashed: bool = False) -> bool:
        return self.count > 0
