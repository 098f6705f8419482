"""The desktop window: opens at the frame's size (scaled down only to fit the screen), q/Esc quit,
space pauses, s saves a snapshot beside the outputs, k keeps the digit crops on screen for sorting (with
--save-uncertain: a misread the model was sure of is never kept otherwise), closing the window quits.

The OpenCV calls go through ``display`` (the cv2 module by default) so tests can drive the keys.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np

from ._io import atomic_write_bytes

log = logging.getLogger(__name__)

QUIT_KEYS, PAUSE_KEY, SNAPSHOT_KEY = (ord("q"), ord("Q"), 27), ord(" "), (ord("s"), ord("S"))
KEEP_KEY = (ord("k"), ord("K"))
HEADLESS_HINT = ("this OpenCV build has no GUI; for a window: "
                 "pip uninstall -y opencv-python-headless && pip install opencv-python")


def screen_size() -> tuple[int, int] | None:
    """(width, height) of the screen when tkinter can tell, else None (the window then opens at frame size)."""
    try:
        import tkinter

        root = tkinter.Tk()
        root.withdraw()
        size = root.winfo_screenwidth(), root.winfo_screenheight()
        root.destroy()
        return size
    except Exception:  # no tkinter on many edge images, or no display for it: not needed
        return None


def fit(frame_size: tuple[int, int], screen: tuple[int, int] | None, margin: float = 0.9) -> tuple[int, int]:
    """The window size for a frame (w, h): the frame's own, scaled down (never up) to fit ``margin`` of the screen."""
    w, h = frame_size
    if not screen:
        return w, h
    scale = min(1.0, margin * screen[0] / w, margin * screen[1] / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


class Window:
    """An OpenCV window; ``available`` False and ``reason`` set when there is none (no display, headless build)."""

    NAME = "edgetl"

    def __init__(self, snapshots: Path | None = None, display=cv2, screen=screen_size, on_keep=None):
        self.available, self.reason = False, ""
        self.on_keep = on_keep  # called on k: keep the crops of the frame on screen
        self.display, self.snapshots = display, Path(snapshots) if snapshots else Path.cwd()
        self.sized, self.last, self.saved = False, None, []
        self.screen = screen
        if display is cv2 and os.name == "posix" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            self.reason = "no display"
            return
        try:
            display.namedWindow(self.NAME, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
            self.available = True
        except cv2.error:
            self.reason = HEADLESS_HINT

    def show(self, image: np.ndarray) -> bool:
        """Show a frame and handle the keys; False when the user quits (q, Esc or closing the window)."""
        if not self.sized:
            self.display.resizeWindow(self.NAME, *fit((image.shape[1], image.shape[0]), self.screen()))
            self.sized = True
        self.last = image
        self.display.imshow(self.NAME, image)
        return self.handle(self.display.waitKey(1) & 0xFF)

    def handle(self, key: int) -> bool:
        if key in QUIT_KEYS or self.closed():
            return False
        self.other_keys(key)
        if key == PAUSE_KEY:
            return self.pause()
        return True

    def other_keys(self, key: int) -> None:
        if key in SNAPSHOT_KEY:
            self.snapshot()
        if key in KEEP_KEY and self.on_keep:
            self.on_keep()

    def pause(self) -> bool:
        """Hold the current frame until space again (True) or a quit (False); s still saves."""
        log.info("paused: space resumes, s saves a snapshot, %sq quits",
                 "k keeps the crops on screen, " if self.on_keep else "")
        while True:
            key = self.display.waitKey(100) & 0xFF
            if key in QUIT_KEYS or self.closed():
                return False
            self.other_keys(key)
            if key == PAUSE_KEY:
                return True

    def closed(self) -> bool:
        """True once the user closed the window with its title-bar button."""
        try:
            return self.display.getWindowProperty(self.NAME, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def snapshot(self) -> Path | None:
        """The frame on screen as a PNG in ``snapshots`` (whole or not at all); its path."""
        if self.last is None:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.snapshots / f"edgetl-snapshot-{stamp}-{len(self.saved) + 1:03d}.png"
        ok, data = cv2.imencode(".png", self.last)
        try:
            if not ok:
                raise OSError("PNG encoding failed")
            atomic_write_bytes(path, data.tobytes())
        except OSError as exc:
            log.error("snapshot not saved: %s (%s)", path, exc)
            return None
        self.saved.append(path)
        log.info("snapshot: %s", path)
        return path

    def close(self) -> None:
        if self.available:
            self.display.destroyWindow(self.NAME)
            self.display.waitKey(1)  # lets the GUI thread actually remove it
