"""Which int8 export and session settings make onnxruntime fastest, at what accuracy (issue 12's levers).

    python bench/quant_levers.py                       # on runs/bench/model.onnx (make bench trains it)
    python bench/quant_levers.py --model RUN/model.onnx --rounds 30

Quantizes the float model four ways (U8S8 or S8S8 activations x per-channel or per-tensor weights, same
256 calibration digits), then times batch-1 and batch-32 calls of every variant and session setting
round-robin in one process: each round times every variant once, so a busy or throttling machine slows
all of them alike, and the figure is the median over rounds, as a ratio to the export default.
Accuracy and agreement with the float model on mnist-5k's 1,000 held-out test digits.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from _common import RUNS, machine, save
from edgetl.benchmark_macs import vnni_peak
from edgetl.data import load_dataset
from edgetl.export.quantize import quantize_int8
from edgetl.runtime.model import session_options

QUANTIZED = {  # name: quantize_int8 options
    "U8S8 per-channel (export default)": {"activations": "u8", "per_channel": True},
    "S8S8 per-channel": {"activations": "s8", "per_channel": True},
    "U8S8 per-tensor": {"activations": "u8", "per_channel": False},
    "S8S8 per-tensor": {"activations": "s8", "per_channel": False},
}


def session(path: Path, threads: int, spinning: bool = True, mem_pattern: bool = True) -> ort.InferenceSession:
    options = session_options(threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.enable_mem_pattern = mem_pattern
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def variants(float_path: Path, workdir: Path, threads: int) -> dict[str, ort.InferenceSession]:
    x, y = load_dataset("mnist-5k").split("train")
    calib = np.concatenate([x[y == k][:26] for k in range(10)])[:256]
    out = {"fp32": session(float_path, threads)}
    for name, options in QUANTIZED.items():
        path = quantize_int8(float_path, workdir / f"{len(out)}.onnx", calib, **options)
        out[name] = session(path, threads)
    default = workdir / "1.onnx"
    out["default, spinning off"] = session(default, threads, spinning=False)
    out["default, memory pattern off"] = session(default, threads, mem_pattern=False)
    out["default, 1 thread"] = session(default, 1)
    return out


def accuracy(sess: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 100]})[0] for i in range(0, len(x), 100)]).argmax(1)


def timed(sess: ort.InferenceSession, feed: np.ndarray, calls: int) -> float:
    name = sess.get_inputs()[0].name
    start = time.perf_counter()
    for _ in range(calls):
        sess.run(None, {name: feed})
    return (time.perf_counter() - start) * 1e3 / calls


def round_robin(sessions: dict, feed: np.ndarray, rounds: int, calls: int) -> dict[str, float]:
    for sess in sessions.values():
        timed(sess, feed, 5)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, sess in sessions.items():
            times[name].append(timed(sess, feed, calls))
            time.sleep(0.05)  # the last session's threads stop spinning, so they do not slow the next one
    return {name: float(np.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=RUNS / "model.onnx", help="A float .onnx exported by edgetl.")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.model.is_file():
        sys.exit(f"error: {args.model}: no float model; run `make bench` (or edgetl train + export) first")
    x, y = load_dataset("mnist-5k").split("test")
    with tempfile.TemporaryDirectory(prefix="edgetl-levers-") as tmp:
        sessions = variants(args.model, Path(tmp), args.threads)
        reference = accuracy(sessions["fp32"], x)
        b1 = round_robin(sessions, x[:1], args.rounds, 50)
        b32 = round_robin(sessions, x[:32], max(5, args.rounds // 4), 5)
        rows = []
        base = "U8S8 per-channel (export default)"
        for name, sess in sessions.items():
            pred = reference if name == "fp32" else accuracy(sess, x)
            rows.append({"variant": name, "accuracy": float((pred == y).mean()),
                         "agreement_with_fp32": float((pred == reference).mean()),
                         "batch1_ms": round(b1[name], 3), "batch1_vs_default": round(b1[name] / b1[base], 3),
                         "batch32_img_s": round(32e3 / b32[name], 1),
                         "batch32_vs_default": round(b32[base] / b32[name], 3)})
    peak = vnni_peak(args.model, args.threads) or {}
    save("quant_levers", {"machine": machine(), "model": str(args.model), "threads": args.threads,
                          "rounds": args.rounds, "rows": rows, "vnni_peak": peak})
    print(f"### int8 levers on {args.model.name} ({machine()}, {args.threads} threads, median of "
          f"{args.rounds} interleaved rounds)\n")
    print("| variant | accuracy | agrees with fp32 | batch-1 ms | vs default | batch-32 img/s | vs default |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['accuracy']:.2%} | {r['agreement_with_fp32']:.2%} | {r['batch1_ms']:.3f} | "
              f"{r['batch1_vs_default']:.2f}x | {r['batch32_img_s']:.0f} | {r['batch32_vs_default']:.2f}x |")
    if peak.get("peak_ms"):
        print(f"\n{peak['macs'] / 1e6:.0f} M multiply-adds per image; VNNI peak estimate at {args.threads} cores: "
              f"{peak['peak_ms']:.3f} ms (export default measured {b1[base]:.3f} ms, "
              f"{b1[base] / peak['peak_ms']:.2f}x the peak)")


if __name__ == "__main__":
    main()
