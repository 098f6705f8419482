"""A video file played like a camera: frame after frame at the file's own rate, for a window or `--serve`.

Frame n is due at start + n / fps on a monotonic clock, so small delays never add up to drift. When
processing falls behind by more than a frame (a slow machine, a paused window), the schedule starts again
from now instead of rushing the late frames out in a burst; nothing is dropped either way.
"""
from __future__ import annotations

import math
import time

DEFAULT_FPS = 30.0  # what a file that reports no rate (0 or NaN) is played at


class Pacer:
    def __init__(self, fps: float | None, clock=time.monotonic, sleep=time.sleep):
        rate = fps if fps and math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self.start: float | None = None
        self.count = 0

    def wait(self) -> None:
        """Returns when the next frame is due."""
        now = self.clock()
        if self.start is None:
            self.start, self.count = now, 0
        due = self.start + self.count * self.interval
        if now < due:
            self.sleep(due - now)
        elif now - due > self.interval:  # behind: go on from here, no burst of late frames
            self.start, self.count = now, 0
        self.count += 1
