"""A learned stroke mask, measured beside the finder's: the lead for the digits whose strokes the finder loses.

    python bench/stroke_net.py [--train-scenes 1200] [--epochs 10] [--test-scenes 300]

Trains a small fully convolutional net (Keras, about 15k weights: 3x3 convolutions, one stride 2, dilations 2 and 4,
a full-size branch) to mark the pen's ink in half-size (320x240) desk frames: frames from edgetl.desk written with
mnist-5k's training digits (seed 900), the truth from edgetl.desk.ink_in_frame. Then, on desk scenes of held-out digits
(seed 950), each written digit's stroke recall (the share of its ink within 1 px of a mask, at half size) for the
finder's stroke mask (runtime/stroke_mask.ink_mask, through find_digit_candidates) and for the net's at three thresholds,
and how much of each mask lies over 1 px from any ink (printed lines, texture, empty pages).
A measurement for bench/README.md, not a runtime component: nothing here is exported or read by `edgetl run`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

from edgetl.data import load_dataset
from edgetl.desk import desk_frames
from edgetl.runtime.digits import find_digit_candidates
from stroke_recall import LOST, stroke_recall, within_a_pixel

HALF = (320, 240)


def half(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, HALF, interpolation=cv2.INTER_AREA)


def scenes(split: str, seed: int, count: int):
    """(frame, ink owner map) of ``count`` desk scenes of mnist-5k's ``split``, one frame each."""
    x, y = load_dataset("mnist-5k").split(split)
    for frame, _, _, ink, _ in desk_frames(x[..., 0], y, count, 1, seed, with_ink=True, empty_fraction=0.1):
        yield frame, ink


def net(keras):
    x = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(24, 3, strides=2, padding="same", activation="relu")(y)
    y = keras.layers.Conv2D(24, 3, padding="same", dilation_rate=2, activation="relu")(y)
    y = keras.layers.Conv2D(24, 3, padding="same", dilation_rate=4, activation="relu")(y)
    y = keras.layers.UpSampling2D(2)(y)
    y = keras.layers.Concatenate()([y, keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)])
    return keras.Model(x, keras.layers.Conv2D(1, 1, activation="sigmoid")(y))


def train(train_scenes: int, epochs: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    pairs = [(half(frame), half(((ink > 0) * 255).astype(np.uint8)) > 64) for frame, ink in scenes("train", 900,
                                                                                                     train_scenes)]
    x = np.stack([p[0] for p in pairs]).astype(np.float32) / 255
    y = np.stack([p[1] for p in pairs]).astype(np.float32)[..., None]
    weight = float(np.sqrt((1 - y.mean()) / y.mean()))  # ink is about 1% of a frame: its pixels weigh more

    def loss(truth, predicted):
        return tf.reduce_mean(keras.losses.binary_crossentropy(truth, predicted)[..., None] * (1 + (weight - 1) * truth))

    model = net(keras)
    model.compile(keras.optimizers.Adam(3e-3), loss)
    started = time.perf_counter()
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=2)
    return model, model.count_params(), time.perf_counter() - started


def stroke_recalls(model, test_scenes: int, thresholds) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Each held-out digit's stroke recall in the finder's mask and in the net's at each threshold; and the share of
    each mask over 1 px from any ink."""
    recalls = {"finder": [], **{f"net > {t}": [] for t in thresholds}}
    off_ink = {name: [0, 0] for name in recalls}  # mask pixels over 1 px from any ink, all mask pixels
    for frame, ink in scenes("test", 950, test_scenes):
        masks = {"finder": half(find_digit_candidates(frame)[2]) > 0}
        predicted = model.predict(half(frame)[None].astype(np.float32) / 255, verbose=0)[0, ..., 0]
        masks.update({f"net > {t}": predicted > t for t in thresholds})
        near = {name: within_a_pixel(m) for name, m in masks.items()}
        inked = within_a_pixel(half(((ink > 0) * 255).astype(np.uint8)) > 0)
        for name, m in masks.items():
            off_ink[name][0] += int((m & ~inked).sum())
            off_ink[name][1] += int(m.sum())
        for owner in range(1, int(ink.max()) + 1):
            pixels = half(((ink == owner) * 255).astype(np.uint8)) > 64
            if pixels.any():
                for name in recalls:
                    recalls[name].append(stroke_recall(pixels, near[name]))
    return {name: np.array(values) for name, values in recalls.items()}, {n: a / max(1, b) for n, (a, b) in off_ink.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-scenes", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--test-scenes", type=int, default=300)
    args = parser.parse_args()
    model, weights, seconds = train(args.train_scenes, args.epochs)
    recalls, off_ink = stroke_recalls(model, args.test_scenes, (0.3, 0.5, 0.7))
    lost_by_finder = recalls["finder"] < LOST
    print(f"\n### A learned stroke mask beside the finder's ({weights:,} weights, trained {seconds:.0f} s on "
          f"{args.train_scenes} scenes)\n")
    print(f"| mask | digits with stroke recall under {LOST:.0%} | of the finder's lost, held | median recall "
          "| mask pixels over 1 px from any ink |")
    print("|---|---|---|---|---|")
    for name, values in recalls.items():
        held = "-" if name == "finder" else f"{int(((values >= LOST) & lost_by_finder).sum())} of {int(lost_by_finder.sum())}"
        print(f"| {name} | {int((values < LOST).sum())} of {len(values)} | {held} | {100 * np.median(values):.0f}% "
              f"| {100 * off_ink[name]:.1f}% |")


if __name__ == "__main__":
    sys.exit(main())
