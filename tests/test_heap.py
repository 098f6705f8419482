"""A frame's arrays reuse the last frame's memory once stream.process has set glibc's thresholds (heap.py)."""
import subprocess
import sys

import pytest

from edgetl.runtime.heap import glibc

FAULTS_A_FRAME = """
import resource, sys
import cv2, numpy as np
from edgetl.runtime.digits import digit_candidates
from edgetl.runtime.heap import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, glibc, keep_freed_memory
# glibc's default thresholds (128 KiB), set explicitly: left alone, glibc raises them by itself once a large block
# is freed, so whether a process faults depends on what its imports happened to free (CI saw 0.1 faults a frame).
assert glibc().mallopt(M_MMAP_THRESHOLD, 128 << 10) and glibc().mallopt(M_TRIM_THRESHOLD, 128 << 10)
if sys.argv[1] == "keep":
    assert keep_freed_memory()
rng = np.random.default_rng(0)
frames = []
for i in range(6):
    page = np.full((480, 640, 3), 235, np.uint8)
    page[::24] = page[:, ::24] = (200, 190, 180)  # squared paper
    cv2.putText(page, str(1000 + 37 * i), (80, 300), cv2.FONT_HERSHEY_SIMPLEX, 4, (120, 40, 20), 6)
    frames.append(cv2.add(page, rng.integers(0, 12, page.shape, dtype=np.uint8)))
for frame in frames:
    digit_candidates(frame)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    for frame in frames:
        digit_candidates(frame)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 30)
"""


def faults_a_frame(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", FAULTS_A_FRAME, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(glibc() is None, reason="glibc's malloc only")
def test_the_finder_stops_faulting_in_fresh_pages_every_frame():
    default, kept = faults_a_frame("default"), faults_a_frame("keep")
    assert default > 100  # a fresh page for most of each frame's arrays
    assert kept < 10


def test_stream_process_keeps_freed_memory(tmp_path, monkeypatch):
    from edgetl.runtime import stream

    calls = []
    monkeypatch.setattr(stream, "keep_freed_memory", lambda: calls.append(1))
    list(stream.process(None, _NoFrames(), digits=True))
    assert calls == [1]


class _NoFrames:
    def frames(self):
        return iter(())
