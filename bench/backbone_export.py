"""Every backbone through train -> export -> int8 -> run, offline: the export figures side by side.

    python bench/backbone_export.py                 # 5 backbones at 64 px (InceptionV3 at 75), 200 images
    python bench/backbone_export.py --size 96

Each backbone trains with `--weights none` (random, frozen: nothing here can download ImageNet) on the same
generated folder of coloured circles and squares, then `edgetl export --quantize int8` verifies the fp32 ONNX
against Keras on the held-out images and scores the int8 model against fp32. With random weights the head
learns little and activations are less regular than with trained ones, so the int8 agreement is a harder
case than a real model's; the parity and the sizes are what a real model gives too.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from _common import machine, save

BACKBONES = ("vgg16", "inceptionv3", "mobilenetv2", "efficientnetb0", "resnet50")


def write_folder(root: Path, per_class: int, size: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for kind in ("circle", "square"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            colour = tuple(int(v) for v in rng.integers(120, 256, 3))
            c, r = size // 2 + int(rng.integers(-size // 10, size // 10 + 1)), int(rng.integers(size // 5, size // 3))
            if kind == "circle":
                cv2.circle(image, (c, c), r, colour, -1)
            else:
                cv2.rectangle(image, (c - r, c - r), (c + r, c + r), colour, -1)
            cv2.imwrite(str(root / kind / f"{i:04d}.png"), image)
    return root


def one_backbone(name: str, data: Path, size: int, out: Path) -> dict:
    from edgetl.backbones import get_backbone
    from edgetl.config import TrainConfig
    from edgetl.exporting import ExportOptions, export
    from edgetl.runtime.model import Model
    from edgetl.train import train

    size = max(size, get_backbone(name).min_size)
    start = time.perf_counter()
    run = train(TrainConfig(data=str(data), out=out / name, backbone=name, weights="none", input_size=size,
                            epochs=3, augment=0, overwrite=True))
    trained = time.perf_counter() - start
    report = export(run, ExportOptions(quantize="int8", calib_size=64, max_drop=100.0))
    model = Model(run / "model.int8.onnx", device="cpu")
    batch = np.zeros((1, size, size, 3), np.uint8)
    model.predict_batch(batch)  # the runtime loads and runs it
    return {"backbone": name, "input": size, "train_s": round(trained, 1),
            "export_s": round(sum(report["seconds"].values()), 1), "parity": report["parity"], "int8": report["int8"],
            "bytes": report["bytes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgetl-backbones-") as tmp:
        data = write_folder(Path(tmp) / "shapes", args.images // 2, args.size)
        for name in BACKBONES:
            rows.append(one_backbone(name, data, args.size, Path(tmp) / "runs"))
    save("backbone_export", {"machine": machine(), "rows": rows})
    print(f"### every backbone, `--weights none`, {args.images} generated images ({machine()})\n")
    print("| backbone | input | fp32 ONNX vs Keras, max abs diff | int8 top-1 agreement with fp32 | int8 max abs diff "
          "| size fp32 / int8 | train / export s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        parity, int8, size = r["parity"], r["int8"], r["bytes"]
        print(f"| {r['backbone']} | {r['input']} px | {parity['max_abs_diff_vs_keras']:.1e} | "
              f"{int8['top1_agreement']:.1%} (n={int8['n']}) | {int8['max_abs_diff']:.3f} | "
              f"{size['model.onnx'] / 1e6:.1f} / {size['model.int8.onnx'] / 1e6:.1f} MB | {r['train_s']} / {r['export_s']} |")


if __name__ == "__main__":
    sys.exit(main())
