"""Keep the digit finder's thread and the thread running onnxruntime on different cores.

`stream.process` finds the next frame's digits on a second thread while onnxruntime reads this frame's. Left
to the scheduler, the two now and then share a core for a moment and that frame takes up to twice as long;
on 2 cores, pinning the finder to one core and the caller to the others took the p99 frame time (over the
same clip frame's median, 2,000 soak-clip frames, three A/B rounds on a busy machine) from 1.50-1.55x to
1.20-1.29x, median unchanged. Linux only (sched_setaffinity acts on the calling thread there); elsewhere,
or with a single allowed core, nothing is pinned.

While the cores are split, OpenCV runs each call on its calling thread: its own worker pool, unpinned, would
take the model's core for the finder's resizes and blurs (desk clip, `bench/runtime_speed.py`, four alternated
pairs: 147-153 -> 155-159 frames/s). The caller's thread count comes back when the block ends.
"""
from __future__ import annotations

import contextlib
import os

import cv2


def allowed_cpus() -> set[int]:
    getter = getattr(os, "sched_getaffinity", None)
    return set(getter(0)) if getter else set()


@contextlib.contextmanager
def split_cores():
    """Yields the finder thread's initializer (None when nothing is pinned): the finder gets the last allowed
    core, the calling thread the rest, until the block ends."""
    cpus = allowed_cpus()
    if len(cpus) < 2 or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    finder_cpu = max(cpus)
    try:
        os.sched_setaffinity(0, cpus - {finder_cpu})
    except OSError:  # a container or policy may forbid it: run unpinned
        yield None
        return
    opencv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield lambda: pin_current_thread({finder_cpu})
    finally:
        cv2.setNumThreads(opencv_threads)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)


def pin_current_thread(cpus: set[int]) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus)
