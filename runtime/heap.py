"""Keep freed memory in the process, so each frame's arrays reuse the last frame's (glibc's malloc, Linux).

Every frame allocates the same arrays again: a 640x480 frame's ink image, masks and labels, 0.3-1 MB each.
glibc's malloc gives blocks that size back to the system on free (blocks over its mmap threshold are unmapped,
and the heap's top is trimmed), so the next frame's identical arrays come back as fresh pages, each faulted in
by the kernel: about 700 minor page faults a desk frame, and the finder took 7.7 ms a frame instead of 5.4-6.5
(digit_candidates on 400 desk-clip frames, one thread). Raising the two thresholds keeps those blocks in the
process: 1 fault a frame, the same peak RSS (the working set is the same; only its reuse changes). Measured with
`bench/runtime_speed.py` on the desk clip, alternated: 121-123 -> 147-159 frames/s processing, 114-124 ->
141-146 end to end.

The setting is process-wide and lasts; `stream.process` makes it once. Other C libraries (musl, macOS,
Windows) are left as they are.
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own dynamic limit is 32 MB too)
TRIM_THRESHOLD = 64 << 20  # free memory at the heap's top kept before it is given back

_done = False


def keep_freed_memory() -> bool:
    """Sets glibc's mmap and trim thresholds once; True when they are set (now or before)."""
    global _done
    if _done:
        return True
    libc = glibc()
    if libc is None:
        return False
    _done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                       TRIM_THRESHOLD))
    return _done


def glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded: no library search
    except OSError:
        return None
    # musl has mallopt too but ignores it; only glibc names its version this way
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None
