"""edgetl predict throughput: raw batched onnxruntime vs in-process predict vs --ray with 1 and 2 actors.

    python bench/predict_throughput.py                 # 20,000 generated 28x28 digit PNGs, runs/bench model
    python bench/predict_throughput.py --n 4000

The images are mnist-5k digits written as PNG files (cycled, each with a little noise so no two files are the
same). "raw" is onnxruntime alone on the same images already decoded in memory, batch 64, the same session
options: the ceiling predict is measured against (target: within 10%). Ray runs start a local Ray first
(not timed: a cluster is already up); its rows are checked equal to the in-process rows.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from _common import RUNS, machine, save
from edgetl.data import load_dataset
from edgetl.predict import PredictOptions, predict
from edgetl.runtime.model import Model


def write_images(folder: Path, n: int) -> np.ndarray:
    x, _ = load_dataset("mnist-5k").split("test")
    rng = np.random.default_rng(0)
    images = np.empty((n, 28, 28), np.uint8)
    for i in range(n):
        noisy = np.clip(x[i % len(x), ..., 0].astype(np.int16) + rng.integers(-8, 9, (28, 28)), 0, 255)
        images[i] = noisy.astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:06d}.png"), images[i])
    return images


def raw_rate(model_path: Path, images: np.ndarray, batch: int = 64) -> float:
    model = Model(model_path, device="cpu", threads=os.cpu_count())  # as edgetl predict sets it
    model.predict_batch(images[:batch, ..., None])
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        model.predict_batch(images[i:i + batch, ..., None])
    return len(images) / (time.perf_counter() - start)


def timed_predict(model_path: Path, folder: Path, out: Path, options: PredictOptions) -> float:
    start = time.perf_counter()
    summary = predict(model_path, str(folder), out, options)
    assert summary["predicted"] > 0, summary
    return summary["predicted"] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=RUNS / "model.int8.onnx")
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="edgetl-predict-bench-") as tmp:
        folder, outs = Path(tmp) / "images", Path(tmp)
        folder.mkdir()
        images = write_images(folder, args.n)
        rates = {"raw onnxruntime, decoded images in memory": raw_rate(args.model, images)}
        rates["edgetl predict, in-process"] = timed_predict(args.model, folder, outs / "here.jsonl", PredictOptions())
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            timed_predict(args.model, folder, outs / "warm.jsonl",
                          PredictOptions(ray="auto", workers=2))  # warm-up: workers start, Ray Data imports
            for workers in (1, 2):
                rates[f"edgetl predict --ray, {workers} actor(s)"] = timed_predict(
                    args.model, folder, outs / f"ray{workers}.jsonl", PredictOptions(ray="auto", workers=workers))
        finally:
            ray.shutdown()
        same = all((outs / f"ray{w}.jsonl").read_text() == (outs / "here.jsonl").read_text() for w in (1, 2))
    base = rates["edgetl predict, in-process"]
    rows = [{"engine": k, "images_per_s": round(v, 1)} for k, v in rates.items()]
    result = {"machine": machine(), "n": args.n, "model": str(args.model), "rows": rows, "ray_rows_identical": same,
              "in_process_vs_raw": round(base / rates["raw onnxruntime, decoded images in memory"], 3),
              "ray2_vs_in_process": round(rates["edgetl predict --ray, 2 actor(s)"] / base, 3)}
    save("predict_throughput", result)
    print(f"### edgetl predict on {args.n:,} PNG digits ({machine()})\n")
    print("| engine | images/s | vs in-process |\n|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {v:,.0f} | {v / base:.2f}x |")
    print(f"\nRay rows identical to in-process: {same}; in-process / raw = {result['in_process_vs_raw']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
