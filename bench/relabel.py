"""The --save-uncertain loop, measured: sort the crops the model was unsure of, train again with --add.

    python bench/relabel.py                      # runs/bench (make bench's model); TUNE half only
    python bench/relabel.py --report             # + the writers' REPORT half, with every TUNE crop sorted

1. `make bench`'s model (runs/bench, fp32 Keras) reads the first half of the writers' TUNE digits (bench/writers.py:
   sklearn's UCI digits, other writers than mnist-5k's, seen at 24-40 px and cut by the runtime's crop).
2. The crops `edgetl run --save-uncertain` keeps (refused as "not a digit", or its two best digits under 0.3
   apart: runtime/uncertain.unsure_crops) are written as PNGs into class folders named by their true label, as
   a user sorts them. Confident misreads are not among them: --save-uncertain never sees those.
3. `edgetl train --data mnist-5k --weights hed-bsds500 --add FOLDER` (the run's defaults otherwise) trains
   runs/bench-relabel.
4. Both models read the other half of TUNE (never sorted; the same population of writers, as a user's own
   later digits are) and mnist-5k's held-out test. With --report, the crops are sorted from all of TUNE
   and the REPORT half is read instead. With --control, as many of mnist-5k's own training digits are added
   instead of the sorted crops: how far retraining alone (a new draw of the training) moves the figures.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, RUNS, machine, save, table  # noqa: E402
from writers import TUNE_END, Classifier, writer_digits  # noqa: E402

MARGIN = 0.3  # edgetl run --uncertain-margin's default


def unsure(classifier: Classifier, x: np.ndarray) -> np.ndarray:
    """Which crops --save-uncertain would keep: refused, or the two best digits under MARGIN apart."""
    from edgetl.runtime.stream import digit_probabilities

    digits, rejected = digit_probabilities(classifier.card, classifier(x))
    ranked = np.sort(digits, axis=1)
    return rejected | (ranked[:, -1] - ranked[:, -2] < MARGIN)


def sort_into_folders(root: Path, crops: np.ndarray, labels: np.ndarray) -> None:
    for i, (crop, label) in enumerate(zip(crops, labels)):
        folder = root / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"crop{i:04d}.png"), crop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=RUNS)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--control", action="store_true",
                        help="sort as many of mnist-5k's own training digits instead: what retraining alone moves")
    args = parser.parse_args()
    from edgetl.config import TrainConfig
    from edgetl.data import load_dataset
    from edgetl.train import train

    x, y, half = writer_digits(0)
    index = np.arange(len(y))
    sorted_from = half == 0 if args.report else index < TUNE_END // 2
    read_on = half == 1 if args.report else (index >= TUNE_END // 2) & (half == 0)
    before = Classifier(args.run)
    keep = unsure(before, x[sorted_from])
    out = ROOT / "runs" / ("bench-relabel-control" if args.control else "bench-relabel")
    added_x, added_y = x[sorted_from][keep], y[sorted_from][keep]
    if args.control:
        own_x, own_y = load_dataset("mnist-5k").split("train")
        pick = np.random.default_rng(0).choice(len(own_y), len(added_y), replace=False)
        added_x, added_y = own_x[pick, :, :, 0], own_y[pick]
    with tempfile.TemporaryDirectory() as tmp:
        sort_into_folders(Path(tmp), added_x, added_y)
        train(TrainConfig(data="mnist-5k", weights="hed-bsds500", out=out, overwrite=True, add=(tmp,)))
    after = Classifier(out)
    x_test, y_test = load_dataset("mnist-5k").split("test")
    which = "REPORT half" if args.report else "TUNE digits 449-897"
    rows = [("machine", machine()),
            ("crops kept by --save-uncertain's rule, sorted", f"{int(keep.sum())} of {int(sorted_from.sum())} "
             f"({'TUNE half' if args.report else 'TUNE digits 0-448'})"),
            (f"writers, {which}: before / after", f"{np.mean(before.read(x[read_on]) == y[read_on]):.2%} / "
                                                  f"{np.mean(after.read(x[read_on]) == y[read_on]):.2%}"),
            ("mnist-5k held-out test: before / after", f"{np.mean(before.read(x_test) == y_test):.2%} / "
                                                       f"{np.mean(after.read(x_test) == y_test):.2%}")]
    what = "as many mnist-5k training digits (control)" if args.control else "the unsure crops"
    print(table(f"edgetl train --add: {what} of {'TUNE' if args.report else 'TUNE 0-448'} sorted", rows))
    save("relabel" + ("-report" if args.report else "") + ("-control" if args.control else ""), dict(rows))


if __name__ == "__main__":
    main()
