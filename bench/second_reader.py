"""A second reader measured: a small CNN trained from scratch on the digit crops, its probabilities averaged with
those of `make bench`'s int8 model. Not part of edgetl yet: this measures whether it should be.

    python bench/second_reader.py --model runs/bench/model.int8.onnx                 # writers, test, desk crops
    python bench/second_reader.py --model runs/bench/model.int8.onnx --seed 1 --set check   # and a clip set

The CNN (three blocks of two 3x3 convolutions with batch norm, ``--channels`` wide, global average pooling, 11
classes with "not a digit"; about 7 M multiply-adds a crop against the int8 model's 329 M) is fitted on exactly what
`make bench`'s head is fitted on: mnist-5k's training split with its styled digits and clutter crops, and three
augmented copies (data seed 0), for ``--epochs`` epochs. Both models read writers TUNE (bench/writers.py), mnist-5k's
held-out test and the finder's crops of the desk tune clips (bench/head_spread.py); their probabilities are averaged
with the CNN weighing 0, 0.25, 0.5, 0.75 and 1, and the card's "not a digit" rule applied to the average.
``--set``: the clip set also read by `edgetl run` with the two averaged at ``--weight`` (bench/clip_sets.py), beside
the int8 model alone.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine, save  # noqa: E402
from clip_sets import SETS  # noqa: E402
from clips import error_kinds, read_clip  # noqa: E402
from head_spread import DESK_CLIPS, desk_crops  # noqa: E402
from writers import reported_digits, writer_digits  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def training_data(seed: int = 0):
    """`make bench`'s training rows (its split, styled digits, clutter crops) and their augmented copies."""
    from edgetl.augment import augmented_copy
    from edgetl.config import TrainConfig
    from edgetl.data import load_dataset
    from edgetl.train import extend_digits, split_data

    config = TrainConfig(data="mnist-5k", weights="hed-bsds500", seed=seed)
    dataset = load_dataset(config.data)
    (x, y), val, names, *_ = extend_digits(*split_data(dataset, config), dataset, config)
    copies = [augmented_copy(x, config.seed + c) for c in range(1, config.augment + 1)]  # as extract draws them
    return (np.concatenate([x, *copies]), np.tile(y, 1 + config.augment)), val, names, dataset


def small_cnn(keras, n_classes: int, channels: list[int]):
    layers = keras.layers
    inputs = keras.Input((28, 28, 1))
    h = layers.Rescaling(1 / 255)(inputs)
    for width in channels:
        for _ in range(2):
            h = layers.Conv2D(width, 3, padding="same", use_bias=False)(h)
            h = layers.ReLU()(layers.BatchNormalization()(h))
        h = layers.MaxPooling2D()(h)
    h = layers.Dropout(0.3)(layers.GlobalAveragePooling2D()(h))
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))


def accuracy(card, probs: np.ndarray, y: np.ndarray) -> float:
    return float((reported_digits(card, probs) == y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="make bench's exported int8 .onnx")
    parser.add_argument("--seed", type=int, default=0, help="the CNN's seed (the data is make bench's, seed 0)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--channels", default="16,32,64", help="the three blocks' widths")
    parser.add_argument("--set", choices=sorted(SETS), dest="clip_set", help="also read this clip set")
    parser.add_argument("--weight", type=float, default=0.5, help="the CNN's weight when reading the clip set")
    args = parser.parse_args()

    from edgetl._deps import import_keras
    from edgetl.runtime.model import Model

    (x, y), (x_val, y_val), names, dataset = training_data()
    keras = import_keras()
    keras.utils.set_random_seed(args.seed)
    cnn = small_cnn(keras, len(names), [int(c) for c in args.channels.split(",")])
    cnn.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    cnn.fit(x, y, batch_size=128, epochs=args.epochs, validation_data=(x_val, y_val), verbose=0,
            callbacks=[keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.3)])
    fit_seconds = time.perf_counter() - started

    model = Model(args.model, device="cpu")
    wx, wy, half = writer_digits(0)
    dx, dy = desk_crops([CLIPS / f"{name}.mp4" for name in DESK_CLIPS])
    sets = {"writers TUNE": (wx[half == 0], wy[half == 0]), "mnist-5k test": dataset.split("test"),
            "desk crops": (dx, dy)}
    print(f"### a second reader averaged with {args.model} ({machine()}; CNN seed {args.seed}, {args.channels}, "
          f"{args.epochs} epochs, fitted in {fit_seconds:.0f} s)\n")
    print("| crops | " + " | ".join(f"CNN weight {w}" for w in WEIGHTS) + " |")
    print("|---|" + "---|" * len(WEIGHTS))
    results = {}
    for name, (xs, ys) in sets.items():
        first = np.concatenate([model.predict_batch(xs[i:i + 256]) for i in range(0, len(xs), 256)])
        second = cnn.predict(xs, batch_size=256, verbose=0)
        results[name] = [accuracy(model.card, (1 - w) * first + w * second, ys) for w in WEIGHTS]
        print(f"| {name} (n={len(ys)}) | " + " | ".join(f"{a:.2%}" for a in results[name]) + " |", flush=True)
    if args.clip_set:
        results["clips"] = read_set(model, cnn, args.clip_set, args.weight)
    save(f"second_reader-seed{args.seed}", {"args": vars(args) | {"model": str(args.model)},
                                            "fit_seconds": fit_seconds, "results": results})


def read_set(model, cnn, clip_set: str, weight: float) -> dict:
    """Each clip of the set read by the int8 model alone and with the CNN averaged in at ``weight``."""
    alone = model.predict_batch
    both = lambda batch: (1 - weight) * alone(batch) + weight * cnn.predict_on_batch(batch)  # noqa: E731
    totals = {}
    print(f"\n| {clip_set} clip | read alone | read with the CNN at {weight} | false alone | false with the CNN |")
    print("|---|---|---|---|---|")
    for name, smooth in SETS[clip_set]:
        clip = CLIPS / f"{name}.mp4"
        truth = json.loads(clip.with_suffix(".json").read_text())
        row = []
        for reader in (alone, both):
            model.predict_batch = reader
            kinds = error_kinds(truth, read_clip(model, clip, smooth))
            false = kinds["false_on_empty"] + kinds["false_part"] + kinds["false_clutter"]
            row.append((kinds["right"], false))
        model.predict_batch = alone
        for key, (right, false) in zip(("alone", "both"), row):
            totals[key] = [a + b for a, b in zip(totals.get(key, [0, 0]), (right, false))]
        print(f"| {name} | {row[0][0]} | {row[1][0]} | {row[0][1]} | {row[1][1]} |", flush=True)
    print(f"| all | {totals['alone'][0]} | {totals['both'][0]} | {totals['alone'][1]} | {totals['both'][1]} |")
    return totals


if __name__ == "__main__":
    main()
