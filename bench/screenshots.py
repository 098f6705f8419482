"""Screenshot of the --serve page in headless Chromium: what a person sees in a browser on a screenless device.

    apt-get install -y chromium          # Debian package
    python bench/screenshots.py          # -> docs/live-page.png

Starts `edgetl run MODEL --source CLIP --loop --no-show --serve 127.0.0.1:PORT`, waits for the readings, shoots
the page, stops the run. (The desktop window's picture is bench/window_screenshot.py, under Xvfb.)
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_frames(url: str, run: subprocess.Popen, frames: int, limit: float = 120) -> dict:
    """/stats.json once the run has processed ``frames`` frames."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise SystemExit(f"edgetl run ended early: {run.stderr.read()[-800:]}")
        try:
            with urllib.request.urlopen(url + "stats.json", timeout=5) as response:
                stats = json.load(response)
            if stats.get("frames", 0) >= frames:
                return stats
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url}: fewer than {frames} frames after {limit:.0f} s")


def browser_screenshot(browser: str, url: str, out: Path, size: tuple[int, int], wait_ms: int) -> None:
    """``--timeout``: the shot is taken after ``wait_ms`` even though the MJPEG image never finishes loading."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
               f"--window-size={size[0]},{size[1]}", f"--timeout={wait_ms}", f"--screenshot={out}", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if not out.exists():
        raise SystemExit(f"{browser} wrote no screenshot (exit {done.returncode}): {done.stderr[-800:]}")


def page_screenshot(args: argparse.Namespace, browser: str) -> Path:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    run = subprocess.Popen([args.edgetl, "run", str(args.model), "--source", str(args.clip), "--loop", "--no-show",
                            "--serve", f"127.0.0.1:{port}", "--max-frames", "1000000"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        stats = wait_for_frames(url, run, args.after_frames)
        browser_screenshot(browser, url, args.out, (args.width, args.height), args.wait_ms)
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
    shot = cv2.imread(str(args.out))
    print(f"{args.out}: page {shot.shape[1]}x{shot.shape[0]} px, taken after frame {stats['frames']} "
          f"({stats.get('fps')} FPS, {stats.get('provider')})")
    return args.out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edgetl", default=str(Path(sys.executable).with_name("edgetl")),
                        help="the edgetl command to run (default: the one beside this Python)")
    parser.add_argument("--model", type=Path, default=ROOT / "runs/bench/model.int8.onnx")
    parser.add_argument("--clip", type=Path, default=ROOT / "runs/clips/digits.mp4")
    parser.add_argument("--after-frames", type=int, default=60, help="frames the run has read before the shot")
    parser.add_argument("--wait-ms", type=int, default=4000, help="time the page gets to load and refresh")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=700)
    parser.add_argument("--out", type=Path, default=ROOT / "docs/live-page.png")
    args = parser.parse_args()
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no Chromium found: apt-get install -y chromium")
    page_screenshot(args, browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
