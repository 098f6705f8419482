"""Cameras and network streams: a reader thread keeps only the newest frame, so a slow consumer never
builds up lag; a camera that stops delivering is reopened with exponential back-off, a bounded number
of times in a row, then the stream ends cleanly.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Iterator

import cv2
import numpy as np

from .errors import UserError
from .sources import Frame, FrameSource, redact

log = logging.getLogger(__name__)


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


class CameraSource(FrameSource):
    """Newest-frame-only reader thread that reopens a camera which stops delivering; ``opener`` is injectable
    for tests.

    A failed read (unplugged camera, dropped stream) starts reconnecting: the capture is released and reopened
    after ``backoff`` seconds, doubling up to ``max_backoff``, at most ``max_reconnects`` times in a row (0:
    never reopen); the first frame after a reopen resets the count. Meanwhile ``status`` reads
    "reconnecting (attempt k/N)" ("" while frames flow), ``frames()`` yields nothing new and calls ``on_wait``
    (if set) with the status about every ``poll`` seconds, so a window can keep showing the last frame. When the
    attempts run out, ``frames()`` ends, ``lost`` holds the reason and one line is logged. A read that blocks
    (no frame, no error) for ``stall_timeout`` seconds cannot be interrupted: ``frames()`` raises UserError.
    """

    def __init__(self, target, opener: Callable = cv2.VideoCapture, open_timeout: float = 5.0,
                 stall_timeout: float = 20.0, max_reconnects: int = 10, backoff: float = 0.5,
                 max_backoff: float = 8.0, reconnects: int | None = None, poll: float = 0.25):
        if reconnects is not None:  # the older name of max_reconnects
            max_reconnects = reconnects
        self.target, self.opener = target, opener
        self.open_timeout, self.stall_timeout = open_timeout, stall_timeout
        self.max_reconnects, self.backoff, self.max_backoff = max(0, int(max_reconnects)), backoff, max_backoff
        self.poll = poll
        self.lock = threading.Lock()
        self.fresh = threading.Condition(self.lock)
        self.latest: np.ndarray | None = None
        self.sequence = 0
        self.stopped = threading.Event()
        self.status = ""  # "" while frames flow; "reconnecting (attempt k/N)" while reopening
        self.lost: str | None = None  # why the camera was given up, once it was
        self.reopened = 0  # successful reopens, over the whole run
        self.on_wait: Callable[[str], object] | None = None  # returns False to stop waiting (q in a window)
        self.deadline = time.monotonic() + stall_timeout + open_timeout
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
            message = (f"--source {redact(self.target)}: cannot open {what} "
                       f"({backend_names(capture, stream=not isinstance(self.target, int))}); {hint}")
            if capture is not None and hasattr(capture, "release"):  # a reopen that failed: let nothing leak
                capture.release()
            raise UserError(message)
        return capture

    def read_loop(self) -> None:
        """The reader thread owns the capture: it reads, reopens and, on every way out, releases it, so a
        release never races a read that is still running (close() only asks it to stop)."""
        try:
            self.read_frames()
        except Exception as exc:  # a bug or a backend exception: the run ends instead of waiting for a frame
            self.give_up(f"{self.describe()}: camera lost; reading failed ({type(exc).__name__})")
        finally:
            if self.capture is not None:
                self.capture.release()
                self.capture = None
            with self.fresh:
                self.fresh.notify_all()

    def read_frames(self) -> None:
        attempts = 0
        while not self.stopped.is_set():
            self.deadline = time.monotonic() + self.stall_timeout
            try:
                ok, image = self.capture.read()
            except cv2.error:
                ok, image = False, None
            if self.stopped.is_set():
                return
            if ok and image is not None:
                if attempts:
                    log.info("%s: frames again after %d reconnect(s)", self.describe(), attempts)
                    attempts = 0
                with self.fresh:
                    self.latest, self.sequence, self.status = image, self.sequence + 1, ""
                    self.fresh.notify_all()
                continue
            while True:  # no frame: reopen with back-off until one opens or the attempts run out
                if attempts >= self.max_reconnects:
                    self.give_up(f"{self.describe()}: camera lost; no frames after {attempts} reconnect(s)"
                                 if self.max_reconnects else
                                 f"{self.describe()}: camera lost; no frame and reconnecting is off "
                                 "(--max-reconnects 0)")
                    return
                attempts += 1
                delay = min(self.backoff * 2 ** (attempts - 1), self.max_backoff)
                with self.fresh:
                    self.status = f"reconnecting (attempt {attempts}/{self.max_reconnects})"
                    self.deadline = time.monotonic() + delay + self.open_timeout + self.stall_timeout
                    self.fresh.notify_all()
                log.warning("%s: no frame; reconnect %d/%d in %.1f s", self.describe(), attempts,
                            self.max_reconnects, delay)
                if self.stopped.wait(delay):
                    return
                if self.capture is not None:  # None after a reopen that failed
                    self.capture.release()
                    self.capture = None
                try:
                    self.capture = self.open()
                except UserError:
                    continue
                self.reopened += 1
                break

    def give_up(self, message: str) -> None:
        log.error("%s", message)
        with self.fresh:
            self.lost, self.status = message, "lost"
            self.fresh.notify_all()

    def frames(self) -> Iterator[Frame]:
        """The newest frame each time; ends when the camera is lost or the source closed."""
        seen, index = 0, 0
        while True:
            with self.fresh:
                while self.sequence <= seen and self.lost is None and not self.stopped.is_set():
                    if not self.status and time.monotonic() > self.deadline:
                        raise UserError(f"{self.describe()}: no frame for {self.stall_timeout:.0f} s "
                                        "(the read is blocked)")
                    self.fresh.wait(self.poll)
                    status = self.status
                    if status and self.sequence <= seen and self.on_wait is not None and self.lost is None:
                        self.lock.release()  # the callback draws a window: never under the reader's lock
                        try:
                            go_on = self.on_wait(status)
                        finally:
                            self.lock.acquire()
                        if go_on is False:
                            return
                if self.sequence <= seen:  # lost, or closed
                    return
                seen, image = self.sequence, self.latest
            yield Frame(index, image, "")
            index += 1

    def close(self) -> None:
        self.stopped.set()
        with self.fresh:
            self.fresh.notify_all()
        self.thread.join(timeout=2.0)
        if self.thread.is_alive():  # blocked inside a read: it releases the capture when the read returns
            log.debug("%s: reader still in a read after 2 s; it releases the capture when that returns",
                      self.describe())
