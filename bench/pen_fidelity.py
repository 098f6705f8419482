"""Does the renderer's pen keep the digit the writer wrote? mnist-5k's test digits rewritten (edgetl.pen.rewrite).

    python bench/pen_fidelity.py [--model runs/bench/model.int8.onnx] [--before OLD_PEN.py]

Each of the 1,000 held-out test digits is rewritten 40 px tall with pens 0.02 to 0.16 of its height (the desk
renderer's range: a 1.4-9 px pen on digits 30-110 px tall, down to 0.013), upright and unslanted, and both it and its
rewrite are cut by the runtime's crop. Two figures per pen:
- **writer's ink lost**: rewrites where more than 10% of the writer's ink (gray > 100) lies over 2 px from any
  rewritten ink (> 60); model-free: a stroke the rewrite dropped (a 7's top bar, a 2's heavy base);
- **misread**, with ``--model``: rewrites the model reads wrong among the digits it reads right as written (the
  rewrite changed the digit, or the model fails on pen strokes).

``--before`` names another copy of edgetl/pen.py (``git show REV:edgetl/pen.py > old.py``) measured beside it.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402
from edgetl.data import load_dataset  # noqa: E402
from edgetl.runtime.crop import mnist_crop  # noqa: E402

HEIGHT = 40.0
PENS = (0.02, 0.035, 0.05, 0.08, 0.12, 0.16)  # of the digit's height (0.08-0.16 only until 2026-12-07)
LOST = 0.10  # share of the writer's ink farther than 2 px from the rewrite


class Upright:
    """An rng whose draws are the middle of their range: the rewrite neither turned nor slanted."""

    def uniform(self, low: float, high: float) -> float:
        return (low + high) / 2


def cut(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(image > 0.35 * image.max())
    return mnist_crop(image, [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()])


def ink_lost(digit: np.ndarray, alpha: np.ndarray) -> float:
    """Share of the writer's ink over 2 px from the rewritten ink (``rewrite``'s float alpha), both cut by the
    runtime's crop."""
    written, drawn = cut(digit) > 100, cut((alpha * 255).astype(np.uint8)) > 60
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 3) > 2.0
    return float((written & far).sum() / max(1, written.sum()))


def load_pen(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rewrite


def measure(rewrite, x: np.ndarray, y: np.ndarray, read) -> list[str]:
    cells = []
    for share in PENS:
        rewritten = [rewrite(d, HEIGHT, share * HEIGHT, Upright()) for d in x]
        lost = sum(ink_lost(d, r) > LOST for d, r in zip(x, rewritten))
        cell = f"{lost}"
        if read is not None:
            as_written, as_rewritten = read(x), read(np.stack([cut((r * 255).astype(np.uint8)) for r in rewritten]))
            misread = int(((as_written == y) & (as_rewritten != y)).sum())
            cell += f" / {misread}"
        cells.append(cell)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="an exported digit model (.onnx): misreads too")
    parser.add_argument("--before", type=Path, help="another edgetl/pen.py, measured beside this one")
    args = parser.parse_args()
    x, y = load_dataset("mnist-5k").split("test")
    x, y = np.asarray(x).reshape(-1, 28, 28), np.asarray(y).reshape(-1)
    read = None
    if args.model:
        from edgetl.runtime.model import Model
        from writers import reported_digits

        model = Model(args.model, device="cpu")
        def read(images):
            return reported_digits(model.card, model.predict_batch(images[..., None]))
    from edgetl.pen import rewrite

    pens = [(str(args.before), load_pen(args.before))] if args.before else []
    pens.append(("edgetl/pen.py", rewrite))
    what = "writer's ink lost" + (" / misread" if read is not None else "")
    rows = [(f"{name}: {what}, pens " + ", ".join(f"{p:g}" for p in PENS) + f" of {HEIGHT:g} px",
             ", ".join(measure(pen, x, y, read))) for name, pen in pens]
    print(table(f"{len(x)} held-out digits rewritten", rows))


if __name__ == "__main__":
    main()
