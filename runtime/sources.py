"""Frame sources: camera index, video file, image file, folder or glob of images, rtsp/http URL.

A camera (or stream) is read by a thread that keeps only the newest frame, so a slow consumer never
builds up lag; a stalled camera is reopened with bounded back-off, then reported.
"""
from __future__ import annotations

import glob
import logging
import os
import re
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


def open_source(spec: str, check_roi=None, **camera_options) -> "FrameSource":
    """The right source for SRC; anything else (other FFmpeg protocols included) is refused.

    ``check_roi``: an X,Y,W,H region every frame must contain (edgetl run --roi), checked on the first frame.
    """
    source = select_source(spec, **camera_options)
    if check_roi is not None:
        source.frames = roi_checked(source.frames, list(check_roi), spec)
    return source


def select_source(spec: str, **camera_options) -> "FrameSource":
    if spec.isdigit():
        return CameraSource(int(spec), **camera_options)
    if spec.lower().startswith(URL_SCHEMES):
        return CameraSource(spec, **camera_options)
    if "://" in spec or (":" in spec and not Path(spec).exists() and len(spec.split(":")[0]) > 1):
        raise UserError(f"--source {redact(spec)}: unsupported; use a camera index, a video or image file, a "
                        "folder, a glob, or an rtsp/http(s) URL")
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
    """OpenCV prints a WARN line per backend it tries; our error says what went wrong instead. FFmpeg's own
    log (which can echo a stream's address, password included) is silenced too."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is not None:
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)


def backend_names(capture, stream: bool = False) -> str:
    if capture is None:
        return "timed out"
    try:
        return f"backend {capture.getBackendName()}"
    except (cv2.error, AttributeError):  # never opened: name the backends OpenCV tried
        registry = cv2.videoio_registry
        backends = registry.getStreamBackends() if stream else registry.getCameraBackends()
        return f"tried {', '.join(registry.getBackendName(b) for b in backends)}"


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
        return f"{kind} {redact(self.target)}"

    def open(self):
        """Open within ``open_timeout`` seconds (some backends block for much longer on a bad index)."""
        result: list = []
        quiet_opencv()
        worker = threading.Thread(target=lambda: result.append(self.opener(self.target)), daemon=True)
        worker.start()
        worker.join(self.open_timeout)
        capture = result[0] if result else None
        if capture is None or not capture.isOpened():
            if isinstance(self.target, int):
                hint = "check the index (0, 1, ...), permissions, or whether another program uses it"
            else:
                hint = "check the address, the user name and password, and that the stream is reachable from here"
            what = f"camera {self.target}" if isinstance(self.target, int) else "this stream"  # a URL once only
            raise UserError(f"--source {redact(self.target)}: cannot open {what} "
                            f"({backend_names(capture, stream=not isinstance(self.target, int))}); {hint}")
        return capture

    def read_loop(self) -> None:
        """The reader thread owns the capture: it reads, reopens and, on every way out, releases it, so a
        release never races a read that is still running (close() only asks it to stop)."""
        try:
            self.read_frames()
        finally:
            self.capture.release()

    def read_frames(self) -> None:
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
        if self.thread.is_alive():  # blocked inside a read: it releases the capture when the read returns
            log.debug("%s: reader still in a read after 2 s; it releases the capture when that returns",
                      self.describe())
