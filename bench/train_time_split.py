"""Where `edgetl train`'s time goes: the frozen-feature passes against the head fits.

    python bench/train_time_split.py [--passes N] [--out runs/time-split]

Trains `make bench`'s recipe (mnist-5k, the packaged VGG16 weights) and times every call of ``edgetl.fitting``'s
``extract`` and ``fit_on_features`` from outside, with the epochs each fit ran.
"""
from __future__ import annotations

import argparse
import time

from _common import ROOT, machine, table
from edgetl import fitting
from edgetl.config import TrainConfig
from edgetl.train import train

spent = {"extract": 0.0, "fit_on_features": 0.0}
epochs = []


def timed(name: str):
    inner = getattr(fitting, name)

    def call(*args, **kwargs):
        start = time.perf_counter()
        result = inner(*args, **kwargs)
        spent[name] += time.perf_counter() - start
        if name == "fit_on_features":
            epochs.append(len(result))
        return result

    setattr(fitting, name, call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=None, help="default: the digit default")
    parser.add_argument("--out", default=str(ROOT / "runs" / "time-split"))
    args = parser.parse_args()
    timed("extract")
    timed("fit_on_features")
    start = time.perf_counter()
    train(TrainConfig(data="mnist-5k", weights="hed-bsds500", out=args.out, overwrite=True, passes=args.passes))
    total = time.perf_counter() - start
    fit = spent["fit_on_features"]
    print(table("edgetl train: feature passes against head fits", [
        ("machine", machine()),
        ("passes / epochs a pass", f"{len(epochs)} / {', '.join(map(str, epochs))}"),
        ("frozen-feature passes", f"{spent['extract']:.0f} s"),
        ("head fits", f"{fit:.0f} s ({fit / max(1, sum(epochs)):.2f} s an epoch)"),
        ("whole training", f"{total:.0f} s"),
    ]))


if __name__ == "__main__":
    main()
