"""Frame sources: camera index, video file, image file, folder or glob of images, rtsp/http URL.

A video file or images played with ``loop=True`` start again from the first frame when they end (until
--max-frames or Ctrl-C); frame indices keep increasing across the loops.

A camera (or stream) is read by a thread that keeps only the newest frame, so a slow consumer never
builds up lag; a camera that stops delivering is reopened with exponential back-off, a bounded number of
times in a row, then the stream ends (runtime/camera.py).
"""
from __future__ import annotations

import glob
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import UserError
from .images import IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
MAX_CORRUPT_FRAMES = 25


SECRET_QUERY_KEYS = re.compile(r"(?i)^(pass(word)?|pwd|token|key|secret|auth|signature|sig|access_token)$")


def redact(spec) -> str:
    """A source as it may be printed or logged: a password in a URL (rtsp://user:pass@host/...) or in a
    password-like query parameter is replaced by ***; anything else is unchanged."""
    text = str(spec)
    if "://" not in text:
        return text
    text = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", text)
    if "?" in text:
        base, _, query = text.partition("?")
        parts = []
        for part in query.split("&"):
            name, eq, value = part.partition("=")
            parts.append(f"{name}=***" if eq and value and SECRET_QUERY_KEYS.match(name) else part)
        text = base + "?" + "&".join(parts)
    return text


def check_roi(roi, shape, spec: str) -> None:
    """A --roi must lie wholly inside the frame: a clipped box would report a region that was never read."""
    height, width = shape[:2]
    x, y, w, h = roi
    if x + w > width or y + h > height:
        over = []
        if x + w > width:
            over.append(f"x+w = {x + w} > width {width}")
        if y + h > height:
            over.append(f"y+h = {y + h} > height {height}")
        raise UserError(f"--roi {','.join(map(str, roi))}: reaches outside the {width}x{height} frame of "
                        f"{redact(spec)} ({', '.join(over)}); give a region inside it, e.g. 0,0,{width},{height}")


def roi_checked(frames: Callable[[], Iterator["Frame"]], roi, spec: str) -> Callable[[], Iterator["Frame"]]:
    """``frames`` with every frame's size checked against ``roi`` (a camera's size is known at its first frame;
    a folder's images may differ from one to the next)."""

    def checked() -> Iterator[Frame]:
        size = None
        for frame in frames():
            if frame.image.shape[:2] != size:
                check_roi(roi, frame.image.shape, frame.name or spec)
                size = frame.image.shape[:2]
            yield frame

    return checked


@dataclass
class Frame:
    index: int
    image: np.ndarray
    name: str  # file name for images, "" for streams


def is_live(spec: str) -> bool:
    """A camera index or a stream URL (as opposed to a file, folder or glob)."""
    return spec.isdigit() or spec.lower().startswith(URL_SCHEMES)


def check_loop(spec: str) -> None:
    """--loop replays files; a camera or stream has no start to go back to."""
    if is_live(spec):
        what = "a camera" if spec.isdigit() else "a stream"
        raise UserError(f"--loop: --source {redact(spec)} is {what}, which cannot be replayed; "
                        "--loop is for a video file or images")


def open_source(spec: str, check_roi=None, loop: bool = False, **camera_options) -> "FrameSource":
    """The right source for SRC; anything else (other FFmpeg protocols included) is refused.

    ``check_roi``: an X,Y,W,H region every frame must contain (edgetl run --roi), checked on the first frame.
    ``loop``: a video file or images start again when they end (a camera or stream is refused).
    """
    source = select_source(spec, loop=loop, **camera_options)
    if check_roi is not None:
        source.frames = roi_checked(source.frames, list(check_roi), spec)
    return source


def image_files(spec: str) -> list[Path] | None:
    """The images SRC names (listed, not opened): a folder, a glob or one image file; None for anything else."""
    if is_live(spec):
        return None
    path = Path(spec)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if any(ch in spec for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(spec) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [path]
    return None


def select_source(spec: str, loop: bool = False, **camera_options) -> "FrameSource":
    from .camera import CameraSource  # the camera module builds on this one

    if loop:
        check_loop(spec)
    if spec.isdigit():
        return CameraSource(int(spec), **camera_options)
    if spec.lower().startswith(URL_SCHEMES):
        return CameraSource(spec, **camera_options)
    if "://" in spec or (":" in spec and not Path(spec).exists() and len(spec.split(":")[0]) > 1):
        raise UserError(f"--source {redact(spec)}: unsupported; use a camera index, a video or image file, a "
                        "folder, a glob, or an rtsp/http(s) URL")
    path = Path(spec)
    images = image_files(spec)
    if images is not None:
        return ImageSource(images, spec, loop=loop)
    if not path.is_file():
        raise UserError(f"--source {spec}: no such file, folder or camera")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoSource(path, loop=loop)
    raise UserError(f"--source {spec}: unknown file type {path.suffix!r}; images: {', '.join(IMAGE_SUFFIXES)}, "
                    f"videos: {', '.join(VIDEO_SUFFIXES)}")


class FrameSource:
    skipped = 0

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ArraySource(FrameSource):
    """Frames already in memory (BGR arrays, a list or any iterable), as one video: for a program that captures or
    decodes frames itself and hands them to stream.process."""

    def __init__(self, images):
        self.images = images

    def frames(self) -> Iterator[Frame]:
        return (Frame(i, image, "") for i, image in enumerate(self.images))


class ImageSource(FrameSource):
    def __init__(self, files: list[Path], spec: str, loop: bool = False):
        if not files:
            raise UserError(f"--source {spec}: no JPEG, PNG or BMP images found")
        self.files = files
        self.loop = loop

    def frames(self) -> Iterator[Frame]:
        index, first_pass = 0, True
        while True:
            read = 0
            for path in self.files:
                image = read_image(path)
                index += 1
                if image is None:
                    self.skipped += 1
                    if first_pass:  # once, not once a loop
                        log.warning("skipped %s: not a readable image", path)
                    continue
                read += 1
                yield Frame(index - 1, image, path.name)
            if not self.loop or not read:  # a pass with nothing readable would loop for ever
                return
            first_pass = False


class VideoSource(FrameSource):
    def __init__(self, path: Path, loop: bool = False):
        self.path = path
        self.loop = loop
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise UserError(f"--source {path}: OpenCV cannot open this video (codec or file broken?)")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.total = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.loops = 0  # times it went back to the start

    def rewind(self) -> bool:
        """Back to the first frame: seek, or reopen the file when seeking fails; False when neither works."""
        try:
            if self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0) and int(self.capture.get(cv2.CAP_PROP_POS_FRAMES)) == 0:
                return True
        except cv2.error:
            pass
        self.capture.release()
        self.capture = cv2.VideoCapture(str(self.path))
        return self.capture.isOpened()

    def frames(self) -> Iterator[Frame]:
        index, bad_run, read = 0, 0, 0  # read: good frames since the last (re)start
        while True:
            ok, image = self.capture.read()
            if ok and image is not None:
                bad_run = 0
                read += 1
                yield Frame(index, image, "")
                index += 1
                continue
            position = int(self.capture.get(cv2.CAP_PROP_POS_FRAMES))
            if position >= self.total or bad_run >= MAX_CORRUPT_FRAMES:
                # the end (or too many broken frames in a row); a pass with no good frame would loop for ever
                if not self.loop or not read or not self.rewind():
                    return
                self.loops += 1
                bad_run, read = 0, 0
                continue
            self.skipped += 1
            bad_run += 1
            index += 1

    def close(self) -> None:
        self.capture.release()
