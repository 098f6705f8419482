"""Runtime speed on a rendered digit clip: frames/s, latency percentiles, cold start, memory.

    python bench/runtime_speed.py --model runs/bench/model.int8.onnx --clip runs/clips/digits.mp4
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from _common import machine, table

COLD_START = """
import re, sys, time
from edgetl.runtime.model import Model
import numpy as np
m = Model(sys.argv[1], device="cpu")
m.predict_batch(np.zeros((1,) + tuple(m.card.input_shape), np.uint8))
print("ready", flush=True)
from edgetl.runtime.app import run
summary = run(m, sys.argv[2], show=False)
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak across exec into ru_maxrss
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print("fps", summary["fps"], "rss_mb", peak_kb / 1024, flush=True)
"""


def decoded_frames(clip: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def processing_only(model_path: Path, frames: list[np.ndarray]) -> tuple[float, float, float]:
    """Frames/s and p50/p95 ms of find + classify + track through ``stream.process`` (as `edgetl run` does,
    finding the next frame's digits while the model reads this one's), frames already decoded in memory.
    Latency is a frame's own find + classify time."""
    from edgetl.runtime.model import Model
    from edgetl.runtime.sources import ArraySource
    from edgetl.runtime.stream import process

    model = Model(model_path, device="cpu")
    for _ in process(model, ArraySource(frames[:20]), digits=True):
        pass
    start = time.perf_counter()
    times = [result.latency_ms for result in process(model, ArraySource(frames), digits=True)]
    fps = len(frames) / (time.perf_counter() - start)
    return fps, float(np.percentile(times, 50)), float(np.percentile(times, 95))


def cold_start(model_path: Path, clip: Path) -> tuple[float, float, float]:
    """Seconds from process start to the first prediction; end-to-end FPS and peak RSS of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", COLD_START, str(model_path), str(clip)], stdout=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()
    ready = time.perf_counter() - start
    assert first.strip() == "ready", first
    _, fps, _, rss = proc.stdout.readline().split()
    proc.wait()
    return ready, float(fps), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--clip", type=Path, required=True)
    args = parser.parse_args()
    frames = decoded_frames(args.clip)
    fps, p50, p95 = processing_only(args.model, frames)
    ready, e2e_fps, rss = min(cold_start(args.model, args.clip) for _ in range(3))
    rows = [
        ("machine", machine()),
        ("frames", f"{len(frames)} at {frames[0].shape[1]}x{frames[0].shape[0]}"),
        ("processing (find + classify + track, decoded frames)", f"{fps:.0f} frames/s"),
        ("frame latency p50 / p95", f"{p50:.2f} / {p95:.2f} ms"),
        ("end to end incl. video decode, headless", f"{e2e_fps:.0f} frames/s"),
        ("cold start: process start to first prediction", f"{ready:.2f} s"),
        ("peak RSS (whole clip)", f"{rss:.0f} MB"),
    ]
    print(table(f"edgetl run {args.model.name}, headless, CPU", rows))


if __name__ == "__main__":
    sys.exit(main())
