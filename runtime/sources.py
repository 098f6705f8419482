"""Frame sources: camera index, video file, image file, folder or glob of images, rtsp/http URL.

A camera (or stream) is read by a thread that keeps only the newest frame, so a slow consumer never
builds up lag; a stalled camera is reopened with bounded back-off, then reported.
"""
from __future__ import annotations

import glob
import logging
import threading
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


@dataclass
class Frame:
    index: int
    image: np.ndarray
    name: str  # file name for images, "" for streams


def open_source(spec: str, **camera_options) -> "FrameSource":
    """The right source for SRC; anything else (other FFmpeg protocols included) is refused."""
    if spec.isdigit():
        return CameraSource(int(spec), **camera_options)
    if spec.lower().startswith(URL_SCHEMES):
        return CameraSource(spec, **camera_options)
    if "://" in spec or (":" in spec and not Path(spec).exists() and len(spec.split(":")[0]) > 1):
        raise UserError(f"--source {spec}: unsupported; use a camera index, a video or image file, a folder, "
                        "a glob, or an rtsp/http(s) URL")
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return ImageSource(files, spec)
    if any(ch in spec for ch in "*?["):
        return ImageSource(sorted(Path(p) for p in glob.glob(spec) if Path(p).suffix.lower() in IMAGE_SUFFIXES), spec)
    if not path.is_file():
        raise UserError(f"--source {spec}: no such file, folder or camera")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], spec)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoSource(path)
    raise UserError(f"--source {spec}: unknown file type {path.suffix!r}; images: {', '.join(IMAGE_SUFFIXES)}, "
                    f"videos: {', '.join(VIDEO_SUFFIXES)}")


def quiet_opencv() -> None:
    """OpenCV prints a WARN line per backend it tries; our error says what went wrong instead."""
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is not None:
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)


def backend_names(capture) -> str:
    if capture is None:
        return "timed out"
    try:
        return f"backend {capture.getBackendName()}"
    except (cv2.error, AttributeError):  # never opened: name the backends OpenCV tried
        names = [cv2.videoio_registry.getBackendName(b) for b in cv2.videoio_registry.getCameraBackends()]
        return f"tried {', '.join(names)}"


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


class ImageSource(FrameSource):
    def __init__(self, files: list[Path], spec: str):
        if not files:
            raise UserError(f"--source {spec}: no JPEG, PNG or BMP images found")
        self.files = files

    def frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.files):
            image = read_image(path)
            if image is None:
                self.skipped += 1
                log.warning("skipped %s: not a readable image", path)
                continue
            yield Frame(i, image, path.name)


class VideoSource(FrameSource):
    def __init__(self, path: Path):
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise UserError(f"--source {path}: OpenCV cannot open this video (codec or file broken?)")
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.total = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def frames(self) -> Iterator[Frame]:
        index, bad_run = 0, 0
        while True:
            ok, image = self.capture.read()
            if ok and image is not None:
                bad_run = 0
                yield Frame(index, image, "")
                index += 1
                continue
            position = int(self.capture.get(cv2.CAP_PROP_POS_FRAMES))
            if position >= self.total or bad_run >= MAX_CORRUPT_FRAMES:
                return  # the end (or too many broken frames in a row)
            self.skipped += 1
            bad_run += 1
            index += 1

    def close(self) -> None:
        self.capture.release()


class CameraSource(FrameSource):
    """Newest-frame-only reader thread with bounded reconnects; ``opener`` is injectable for tests."""

    def __init__(self, target, opener: Callable = cv2.VideoCapture, open_timeout: float = 5.0,
                 stall_timeout: float = 2.0, reconnects: int = 3, backoff: float = 0.5):
        self.target, self.opener = target, opener
        self.open_timeout, self.stall_timeout = open_timeout, stall_timeout
        self.reconnects, self.backoff = reconnects, backoff
        self.lock = threading.Lock()
        self.fresh = threading.Condition(self.lock)
        self.latest: np.ndarray | None = None
        self.sequence = 0
        self.stopped = threading.Event()
        self.failure: str | None = None
        self.capture = self.open()
        self.thread = threading.Thread(target=self.read_loop, name="edgetl-camera", daemon=True)
        self.thread.start()

    def describe(self) -> str:
        kind = "camera" if isinstance(self.target, int) else "stream"
        return f"{kind} {self.target}"

    def open(self):
        """Open within ``open_timeout`` seconds (some backends block for much longer on a bad index)."""
        result: list = []
        quiet_opencv()
        worker = threading.Thread(target=lambda: result.append(self.opener(self.target)), daemon=True)
        worker.start()
        worker.join(self.open_timeout)
        capture = result[0] if result else None
        if capture is None or not capture.isOpened():
            raise UserError(f"--source {self.target}: cannot open {self.describe()} ({backend_names(capture)}); "
                            "check the index (0, 1, ...), permissions, or whether another program uses it")
        return capture

    def read_loop(self) -> None:
        attempts = 0
        while not self.stopped.is_set():
            ok, image = self.capture.read()
            if ok and image is not None:
                attempts = 0
                with self.fresh:
                    self.latest, self.sequence = image, self.sequence + 1
                    self.fresh.notify_all()
                continue
            attempts += 1
            if attempts > self.reconnects:
                self.fail(f"{self.describe()} stopped delivering frames; gave up after {self.reconnects} reconnects")
                return
            delay = self.backoff * 2 ** (attempts - 1)
            log.warning("%s: no frame; reconnect %d/%d in %.1f s", self.describe(), attempts, self.reconnects, delay)
            if self.stopped.wait(delay):
                return
            self.capture.release()
            try:
                self.capture = self.open()
            except UserError:
                continue

    def fail(self, message: str) -> None:
        with self.fresh:
            self.failure = message
            self.fresh.notify_all()

    def frames(self) -> Iterator[Frame]:
        seen, index = 0, 0
        budget = self.stall_timeout + sum(self.backoff * 2 ** i for i in range(self.reconnects)) + \
            self.reconnects * self.open_timeout
        while not self.stopped.is_set():
            with self.fresh:
                if not self.fresh.wait_for(lambda: self.sequence > seen or self.failure, timeout=budget):  # noqa: B023
                    raise UserError(f"{self.describe()}: no frame for {budget:.0f} s")
                if self.failure:
                    raise UserError(self.failure)
                seen, image = self.sequence, self.latest
            yield Frame(index, image, "")
            index += 1

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2.0)
        self.capture.release()
