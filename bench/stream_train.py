"""Train on a large generated photo folder, streamed from disk: peak memory and the feature pass's speed.

    python bench/stream_train.py                       # 20,000 JPEGs at 224 px, frozen MobileNetV2 (issue 11)
    python bench/stream_train.py --images 2000         # a quicker look

The folder (two classes of coloured shapes on noise, written once to runs/stream-photos-N) trains with
`edgetl train --backbone mobilenetv2 --weights none --input-size 224 --augment 0` in a child process; its
peak RSS is the kernel's maxrss. The feature pass is then timed alone: features.extract over the files (read
and decoded a batch at a time) against the same frozen MobileNetV2 predicting the same images already
decoded in memory (the backbone's raw throughput), in one process, same threads, interleaved, best of two each.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from _common import ROOT, machine, table


def write_photos(root: Path, n: int, size: int = 224) -> Path:
    done = root / ".complete"
    if done.exists():
        return root
    rng = np.random.default_rng(0)
    for i in range(n):
        kind = ("circle", "square")[i % 2]
        (root / kind).mkdir(parents=True, exist_ok=True)
        image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
        colour = tuple(int(v) for v in rng.integers(120, 256, 3))
        c, r = int(rng.integers(70, 154)), int(rng.integers(25, 60))
        if kind == "circle":
            cv2.circle(image, (c, c), r, colour, -1)
        else:
            cv2.rectangle(image, (c - r, c - r), (c + r, c + r), colour, -1)
        cv2.imwrite(str(root / kind / f"{i:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    done.touch()
    return root


def train_peak_rss(folder: Path, out: Path) -> tuple[float, float]:
    """(peak RSS in GB, seconds) of `edgetl train` on the folder, in a child process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "edgetl", "train", "--data", str(folder), "--backbone", "mobilenetv2",
                    "--weights", "none", "--input-size", "224", "--augment", "0", "--epochs", "2", "--out",
                    str(out), "--overwrite"], check=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2, seconds


def feature_speed(folder: Path, limit: int) -> tuple[float, float]:
    """(images/s through features.extract over the files, images/s of the same prefix on decoded images)."""
    from edgetl._deps import import_keras
    from edgetl.data import load_dataset
    from edgetl.distribute import predict_on_batch
    from edgetl.features import extract, feature_batch

    keras = import_keras()
    x, _ = load_dataset(str(folder), image_size=224).split("train")
    x = x[np.arange(min(limit, len(x)))]
    prefix = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(224, 224, 3))
    batch = feature_batch(x.shape[1:])
    predict_on_batch(prefix, x[:batch])  # build and warm up
    decoded = x[:]

    def raw_pass() -> float:
        start = time.perf_counter()
        for i in range(0, len(decoded), batch):
            predict_on_batch(prefix, decoded[i:i + batch])
        return len(decoded) / (time.perf_counter() - start)

    def streamed_pass() -> float:
        start = time.perf_counter()
        extract(prefix, {"train": x}, {}, seed=0)
        return len(x) / (time.perf_counter() - start)

    # interleaved, best of two each: the first passes also warm TensorFlow's thread pools
    rounds = [(raw_pass(), streamed_pass()) for _ in range(2)]
    return max(s for _, s in rounds), max(r for r, _ in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--timed", type=int, default=2000, help="images in the feature-speed comparison")
    args = parser.parse_args()
    folder = write_photos(ROOT / "runs" / f"stream-photos-{args.images}", args.images)
    peak, seconds = train_peak_rss(folder, ROOT / "runs" / f"stream-train-{args.images}")
    streamed, raw = feature_speed(folder, args.timed)
    rows = [
        ("machine", machine()),
        ("folder", f"{args.images:,} JPEGs, 224 px, 2 classes"),
        ("edgetl train (frozen MobileNetV2, --augment 0, 2 epochs): peak RSS / time", f"{peak:.2f} GB / {seconds:.0f} s"),
        (f"feature pass over {args.timed:,} files (decode + predict, batch by batch)", f"{streamed:.1f} img/s"),
        ("same prefix on the images already decoded in memory", f"{raw:.1f} img/s"),
        ("feature pass / raw", f"{streamed / raw:.2f}x"),
    ]
    print(table("streamed training", rows))


if __name__ == "__main__":
    sys.exit(main())
