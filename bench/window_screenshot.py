"""Screenshot of `edgetl run`'s desktop window under Xvfb: what a person at the screen sees.

The project's virtualenv has the headless OpenCV build (no window). This needs an edgetl installed next to
the GUI build, once:

    python3 -m venv /tmp/guienv
    /tmp/guienv/bin/pip install opencv-python numpy onnxruntime typer rich
    /tmp/guienv/bin/pip install --no-deps -e .

and the Debian packages xvfb, x11-apps (xwd) and imagemagick (convert). Then:

    python bench/window_screenshot.py --edgetl /tmp/guienv/bin/edgetl --out docs/live-window.png
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_display() -> int:
    """An X display number with no lock file."""
    return next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists())


def grab(display: int, path: Path) -> np.ndarray:
    """The whole X screen as a BGR image (xwd | convert)."""
    xwd = subprocess.run(["xwd", "-root", "-silent", "-display", f":{display}"], capture_output=True, check=True)
    png = subprocess.run(["convert", "xwd:-", "png:-"], input=xwd.stdout, capture_output=True, check=True)
    return cv2.imdecode(np.frombuffer(png.stdout, np.uint8), cv2.IMREAD_COLOR)


def window_region(screen: np.ndarray) -> np.ndarray:
    """The window: the bounding box of everything that is not the black root window."""
    ys, xs = np.nonzero(screen.max(axis=2) > 0)
    if not len(ys):
        raise SystemExit("nothing on the screen: did the window open? (see the run's output above)")
    return screen[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edgetl", required=True, help="edgetl of an environment with the GUI OpenCV build")
    parser.add_argument("--model", default=str(ROOT / "runs/bench/model.int8.onnx"))
    parser.add_argument("--clip", default=str(ROOT / "runs/clips/desk-seed1.mp4"))
    parser.add_argument("--at", type=float, default=8.0, help="seconds after start to take the screenshot")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/live-window.png")
    args = parser.parse_args()
    for tool in ("Xvfb", "xwd", "convert"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install xvfb x11-apps imagemagick")
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x800x24"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": f":{display}"}
    run = None
    try:
        time.sleep(1.5)
        run = subprocess.Popen([args.edgetl, "run", args.model, "--source", args.clip, "--max-frames", "100000"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(args.at)
        if run.poll() is not None:
            raise SystemExit(f"edgetl run ended early: {run.stderr.read()[-500:]}")
        shot = window_region(grab(display, args.out))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.out), shot)
        print(f"{args.out}: window {shot.shape[1]}x{shot.shape[0]} px")
    finally:
        for proc in (run, xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
