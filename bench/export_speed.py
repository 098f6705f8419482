"""Export + int8 quantization of the bench run: time, sizes, accuracy, onnxruntime latency.

    python bench/export_speed.py           # after bench/train_mnist.py
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import onnxruntime as ort

from _common import RUNS, machine, save, table
from edgetl.data import load_dataset
from edgetl.exporting import ExportOptions, export
from edgetl.runtime.model import session_options


def latency(path, batch: int, repeats: int) -> float:
    """Median ms per call for a batch of held-out digits."""
    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    x, _ = load_dataset("mnist-5k").split("test")
    feed = {session.get_inputs()[0].name: x[:batch]}
    for _ in range(10):
        session.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def main() -> None:
    start = time.perf_counter()
    report = export(RUNS, ExportOptions(quantize="int8"))
    seconds = time.perf_counter() - start
    fp32, int8 = RUNS / "model.onnx", RUNS / "model.int8.onnx"
    q = report["int8"]
    lat = {(name, b): latency(path, b, 200 if b == 1 else 30) for name, path in (("fp32", fp32), ("int8", int8))
           for b in (1, 32)}
    rows = [
        ("machine", machine()),
        ("export + verify + quantize, whole call", f"{seconds:.0f} s"),
        ("ONNX vs Keras max abs diff (held-out)", f"{report['parity']['max_abs_diff_vs_keras']:.1e}"),
        ("size fp32 / int8", f"{fp32.stat().st_size / 1e6:.1f} MB / {int8.stat().st_size / 1e6:.1f} MB "
                             f"({int8.stat().st_size / fp32.stat().st_size:.0%})"),
        ("held-out accuracy fp32 / int8", f"{q['accuracy_before']:.2%} / {q['accuracy_after']:.2%} "
                                          f"(drop {q['drop_pts']:.2f} pt, top-1 agreement {q['top1_agreement']:.2%}, n={q['n']})"),
        ("batch 1 latency fp32 / int8", f"{lat['fp32', 1]:.2f} ms / {lat['int8', 1]:.2f} ms "
                                        f"({lat['int8', 1] / lat['fp32', 1]:.2f}x)"),
        ("batch 32 throughput fp32 / int8", f"{32e3 / lat['fp32', 32]:.0f} / {32e3 / lat['int8', 32]:.0f} img/s"),
    ]
    save("export", {"rows": rows, "report": report})
    print(table("edgetl export runs/bench --quantize int8", rows))


if __name__ == "__main__":
    sys.exit(main())
