"""Export + int8 quantization of the bench run: time, sizes, accuracy, onnxruntime latency.

    python bench/export_speed.py           # after bench/train_mnist.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from _common import RUNS, machine, save, table
from edgetl.data import load_dataset
from edgetl.exporting import ExportOptions, export
from edgetl.runtime.model import session_options


def latency(path, batch: int, repeats: int, rounds: int = 5) -> float:
    """ms per call for a batch of held-out digits: the best of ``rounds`` medians (shared machines are noisy)."""
    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    x, _ = load_dataset("mnist-5k").split("test")
    feed = {session.get_inputs()[0].name: x[:batch]}
    for _ in range(10):
        session.run(None, feed)
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            session.run(None, feed)
            times.append((time.perf_counter() - start) * 1e3)
        medians.append(float(np.median(times)))
    return min(medians)


def latencies_in_fresh_process(fp32, int8) -> dict:
    """Timed in a new process: this one imported TensorFlow to export, and its thread pools compete."""
    paths = [str(fp32), str(int8)]
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import export_speed as e; "
            f"print(json.dumps([e.latency(p, b, 100 if b == 1 else 10) for p in {paths!r} for b in (1, 32)]))")
    values = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout.splitlines()[-1])
    return dict(zip([("fp32", 1), ("fp32", 32), ("int8", 1), ("int8", 32)], values))


def main() -> None:
    start = time.perf_counter()
    report = export(RUNS, ExportOptions(quantize="int8"))
    seconds = time.perf_counter() - start
    fp32, int8 = RUNS / "model.onnx", RUNS / "model.int8.onnx"
    q = report["int8"]
    lat = latencies_in_fresh_process(fp32, int8)
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
