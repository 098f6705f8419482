"""onnxruntime's OpenVINO execution provider against its default CPU provider, one model, one process.

    python -m venv /tmp/ovenv && /tmp/ovenv/bin/pip install onnxruntime-openvino openvino numpy
    /tmp/ovenv/bin/python bench/openvino_ep.py runs/bench/model.int8.onnx

onnxruntime-openvino replaces the onnxruntime package (both install the ``onnxruntime`` module), so it
gets a virtualenv of its own; the script needs nothing else. Both sessions are timed round-robin in the
same process with the same thread count (batch 1: median of 200 runs per round; batch 32: 10 runs per
round), so the ratio holds on a machine whose absolute speed moves between sessions.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import onnxruntime as ort


def sessions(path: str, threads: int) -> dict[str, ort.InferenceSession]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    openvino = ("OpenVINOExecutionProvider", {"device_type": "CPU", "num_of_threads": str(threads)})
    return {"CPU provider": ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]),
            "OpenVINO provider": ort.InferenceSession(path, options, providers=[openvino])}


def one_round(session: ort.InferenceSession, feed1: dict, feed32: dict) -> tuple[float, float]:
    """(batch-1 median ms, batch-32 images/s)."""
    times = []
    for _ in range(200):
        start = time.perf_counter()
        session.run(None, feed1)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(10):
        session.run(None, feed32)
    return float(np.median(times)) * 1e3, 320 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an exported .onnx file (uint8 image input)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if "OpenVINOExecutionProvider" not in ort.get_available_providers():
        raise SystemExit("onnxruntime-openvino is not installed in this Python: see the instructions at the top")
    runs = sessions(args.model, args.threads)
    name, shape = runs["CPU provider"].get_inputs()[0].name, runs["CPU provider"].get_inputs()[0].shape[1:]
    rng = np.random.default_rng(0)
    feed1 = {name: rng.integers(0, 256, (1, *shape), dtype=np.uint8)}
    feed32 = {name: rng.integers(0, 256, (32, *shape), dtype=np.uint8)}
    outputs = {k: s.run(None, feed32)[0] for k, s in runs.items()}  # also the warm-up
    agree = float(np.mean(outputs["CPU provider"].argmax(1) == outputs["OpenVINO provider"].argmax(1)))
    results = {k: [] for k in runs}
    for _ in range(args.rounds):
        for key, session in runs.items():
            results[key].append(one_round(session, feed1, feed32))
            time.sleep(0.05)  # the previous session's spinning threads settle
    print(f"{args.model}: onnxruntime {ort.__version__}, {platform.machine()}, {args.threads} threads, "
          f"{args.rounds} rounds; top-1 agreement on 32 random images {agree:.0%}")
    print("| provider | batch-1 ms (median of rounds) | vs CPU | batch-32 img/s | vs CPU |")
    print("|---|---|---|---|---|")
    base = [np.median([r[i] for r in results["CPU provider"]]) for i in (0, 1)]
    for key, rows in results.items():
        b1, b32 = (np.median([r[i] for r in rows]) for i in (0, 1))
        print(f"| {key} | {b1:.3f} | {b1 / base[0]:.2f}x | {b32:.0f} | {b32 / base[1]:.2f}x |")


if __name__ == "__main__":
    main()
