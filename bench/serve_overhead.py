"""What --serve costs: headless frame time of edgetl.runtime over a clip with no live view, with the live view
and 1 or 3 clients reading /stream.mjpg, and memory with a client that connects and then never reads.

    python bench/serve_overhead.py --model runs/bench/model.int8.onnx --clip runs/clips/digits.mp4

The clients run in a separate process (threads with urllib), as a browser would; modes are interleaved and
repeated and the median kept, since other programs share the cores. JSON to runs/bench-results/serve.json.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, machine, save

CLIENTS = """
import sys, threading, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
streams = [urllib.request.urlopen(url, timeout=120) for _ in range(n)]  # returns once the headers came
print("ready", flush=True)
received = [0] * n
def drain(i):
    while (chunk := streams[i].read1(1 << 16)):
        received[i] += chunk.count(b"Content-Type: image/jpeg")
threads = [threading.Thread(target=drain, args=(i,)) for i in range(n)]
[t.start() for t in threads]
[t.join() for t in threads]
print(*received, flush=True)
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_run(model, clip: str, frames: int, serve=None) -> tuple[float, float]:
    """(wall, CPU) ms per frame from the first frame to the last (opening the clip and warm-up left out).

    CPU is this process's, every thread (the live view's included): less disturbed by other programs.
    """
    from edgetl.runtime.app import run

    stamps = []
    run(model, clip, show=False, max_frames=frames, loop=True, serve=serve, fast=True,  # frame time, not playback
        on_frame=lambda result: stamps.append((time.perf_counter(), time.process_time())))
    (wall0, cpu0), (wall1, cpu1) = stamps[0], stamps[-1]
    return (wall1 - wall0) / (len(stamps) - 1) * 1e3, (cpu1 - cpu0) / (len(stamps) - 1) * 1e3


def with_clients(model, clip: str, frames: int, clients: int) -> tuple[tuple[float, float], list[int]]:
    """((wall, CPU) ms per frame, frames each client received) with a live view and ``clients`` streams reading it."""
    from edgetl.runtime.serve import LiveServer

    server = LiveServer("127.0.0.1", 0)
    if not clients:
        return timed_run(model, clip, frames, serve=server), []
    reader = subprocess.Popen([sys.executable, "-c", CLIENTS, server.url + "stream.mjpg", str(clients)],
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    ms = timed_run(model, clip, frames, serve=server)  # closes the server: the client streams end
    received = [int(n) for n in reader.communicate(timeout=60)[0].split()]
    return ms, received


def rss_during(model, clip: str, frames: int, serve=None, samples: int = 6) -> list[float]:
    """RSS in MB at ``samples`` evenly spaced frames of a run."""
    from edgetl.runtime.app import run

    every, rss = max(1, frames // samples), []
    run(model, clip, show=False, max_frames=frames, loop=True, serve=serve, fast=True,  # frame time, not playback
        on_frame=lambda result: rss.append(round(rss_mb(), 1)) if (result.index + 1) % every == 0 else None)
    return rss


def stalled_client_memory(model, clip: str, frames: int) -> dict:
    """RSS through ``frames`` frames served to a client that connected and then never read, beside the same run
    with no server. Growth is counted from the first sample on, once start-up allocations are done."""
    from edgetl.runtime.serve import LiveServer

    alone = rss_during(model, clip, frames)
    server = LiveServer("127.0.0.1", 0)
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: bench\r\n\r\n")
    served = rss_during(model, clip, frames, serve=server)
    stalled.close()
    return {"frames": frames, "rss_no_server_mb": alone, "rss_stalled_client_mb": served,
            "growth_no_server_mb": round(alone[-1] - alone[0], 1),
            "growth_stalled_client_mb": round(served[-1] - served[0], 1), "jpeg_encodes": server.newest.encodes}


def paired_overhead(values: list[float], base: list[float]) -> float:
    """Median, over the repeats, of a mode's time against the no-server run of the same repeat, in %:
    each pair ran a few seconds apart, so load from other programs mostly cancels."""
    return round((statistics.median(v / b for v, b in zip(values, base)) - 1) * 100, 1)


def measure(model_path: Path, clip: str, frames: int, repeats: int, stalled_frames: int) -> dict:
    from edgetl.runtime.model import Model

    model = Model(model_path, device="cpu")
    timed_run(model, clip, 50)  # warm-up
    modes = {"no server": None, "server, no client": 0, "server, 1 client": 1, "server, 3 clients": 3}
    times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    received: dict[str, list[int]] = {}
    for repeat in range(repeats):
        order = list(modes.items())
        for mode, clients in order[repeat % len(order):] + order[:repeat % len(order)]:  # rotated: drift spreads
            if clients is None:
                times[mode].append(timed_run(model, clip, frames))
            else:
                ms, received[mode] = with_clients(model, clip, frames, clients)
                times[mode].append(ms)
    base = times["no server"]
    results = {mode: {"ms_per_frame": round(statistics.median(w for w, _ in t), 3),
                      "overhead_pct": paired_overhead([w for w, _ in t], [w for w, _ in base]),
                      "cpu_ms_per_frame": round(statistics.median(c for _, c in t), 3),
                      "cpu_overhead_pct": paired_overhead([c for _, c in t], [c for _, c in base]),
                      "runs_wall_ms": [round(w, 3) for w, _ in t],
                      "frames_received_per_client": received.get(mode)} for mode, t in times.items()}
    return {"machine": machine(), "model": str(model_path), "clip": clip, "frames_per_run": frames,
            "repeats": repeats, "modes": results,
            "stalled_client": stalled_client_memory(model, clip, stalled_frames)}


def report(data: dict) -> str:
    lines = [f"### --serve overhead: {Path(data['model']).name} on {Path(data['clip']).name}, headless, CPU",
             "", f"{data['machine']}; {data['frames_per_run']} frames a run, {data['repeats']} repeats: median ms, "
             "median of the paired overheads", "",
             "| mode | ms / frame | overhead | CPU ms / frame | CPU overhead | frames each client got |",
             "|---|---|---|---|---|---|"]
    for mode, r in data["modes"].items():
        got = ", ".join(map(str, r["frames_received_per_client"] or [])) or "-"
        lines.append(f"| {mode} | {r['ms_per_frame']:.2f} | {r['overhead_pct']:+.1f}% | {r['cpu_ms_per_frame']:.2f} "
                     f"| {r['cpu_overhead_pct']:+.1f}% | {got} |")
    s = data["stalled_client"]
    lines += ["", f"{s['frames']} frames, RSS (MB) every {s['frames'] // len(s['rss_stalled_client_mb'])} frames:",
              f"- no server: {s['rss_no_server_mb']} ({s['growth_no_server_mb']:+.1f})",
              f"- client that never reads: {s['rss_stalled_client_mb']} ({s['growth_stalled_client_mb']:+.1f}); "
              f"{s['jpeg_encodes']} JPEG encodes"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "runs/bench/model.int8.onnx")
    parser.add_argument("--clip", default=str(ROOT / "runs/clips/digits.mp4"))
    parser.add_argument("--frames", type=int, default=200, help="frames a timed run")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--stalled-frames", type=int, default=900)
    args = parser.parse_args()
    data = measure(args.model, args.clip, args.frames, args.repeats, args.stalled_frames)
    print(report(data))
    save("serve", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
