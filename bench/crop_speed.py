"""Classifier time a crop, models side by side: what the runtime pays for each digit it reads.

    python bench/crop_speed.py runs/bench-unpruned/model.int8.onnx runs/bench/model.int8.onnx

Each model classifies the same random crops in calls of ``--batch`` (9: a busy desk frame), on one
onnxruntime thread (as a digit model runs beside the finder); the models take turns, round after round,
so a machine that slows down in the middle slows every model alike. Prints the median over rounds of
each round's median ms a crop, and the multiply-adds a crop where export.json recorded them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, table  # noqa: E402


def ms_a_crop(model, crops: np.ndarray, calls: int) -> float:
    model.predict_batch(crops)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model.predict_batch(crops)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / len(crops) * 1e3


def multiply_adds(model_path: Path) -> str:
    report = model_path.parent / "export.json"
    prune = json.loads(report.read_text()).get("prune", {}) if report.is_file() else {}
    counts = prune.get("multiply_adds") if prune.get("pruned") else None
    return f"{counts['after'] / 1e6:.0f} M (unpruned {counts['before'] / 1e6:.0f} M)" if counts else "not recorded"


def main() -> None:
    from edgetl.runtime.model import Model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--batch", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20, help="calls a round")
    args = parser.parse_args()
    models = [Model(path, device="cpu", threads=1) for path in args.models]
    shape = tuple(models[0].card.input_shape)
    crops = np.random.default_rng(0).integers(0, 256, (args.batch,) + shape).astype(np.uint8)
    rounds = [[ms_a_crop(model, crops, args.calls) for model in models] for _ in range(args.rounds)]
    rows = [("machine", machine()), ("crops a call / rounds / calls a round", f"{args.batch} / {args.rounds} / {args.calls}")]
    for path, times in zip(args.models, zip(*rounds)):
        rows.append((str(path), f"{np.median(times):.3f} ms a crop (rounds {min(times):.3f}-{max(times):.3f}); "
                                f"multiply-adds {multiply_adds(path)}"))
    print(table("classifier time a crop, one thread", rows))


if __name__ == "__main__":
    main()
