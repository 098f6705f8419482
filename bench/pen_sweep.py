"""Reading one digit at a time across pen sizes: fine pen and small digit to fat marker held close.

    python bench/pen_sweep.py --model runs/bench/model.int8.onnx [--digits 200]

Each of the first ``--digits`` held-out mnist-5k test digits is traced along its centre line and written
again with a pen of the row's height and width (edgetl.pen.rewrite, as the hard desk clip writes its
digits), alone on a plain white page with mild blur and sensor noise, and read as `edgetl run` reads a
frame (finder, crops, a cut blob read whole when sure, the "not a digit" rule). Two figures per pen: the
digit got a box (overlap >= 0.5 with its ink), and it was read right. "rewritten, cut directly" is the
same rewritten digit cut straight from its ink with the runtime's crop, no page and no finder: the gap
between the two is what the finder and the page cost; the gap to the raw digits is the rewrite and
the classifier.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, table  # noqa: E402
from edgetl.data import load_dataset  # noqa: E402
from edgetl.desk import overlap  # noqa: E402
from edgetl.pen import rewrite  # noqa: E402
from edgetl.runtime.crop import mnist_crop  # noqa: E402
from edgetl.runtime.model import Model  # noqa: E402
from edgetl.runtime.stream import digit_probabilities, prepare, read_whole_or_pieces  # noqa: E402

PENS = ((30, 2), (40, 6), (60, 2), (60, 8), (60, 12), (100, 3), (100, 10), (100, 18), (150, 3), (150, 25), (200, 3),
        (200, 40))
PAPER, INK = 220.0, 30.0


def on_a_page(alpha: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """(640x480 BGR frame, the ink's box) with the written digit somewhere on white paper."""
    h, w = alpha.shape
    page = np.full((480, 640), PAPER, np.float32)
    x0, y0 = int(rng.integers(40, 640 - w - 40)), int(rng.integers(40, 480 - h - 40))
    page[y0:y0 + h, x0:x0 + w] = page[y0:y0 + h, x0:x0 + w] * (1 - alpha) + INK * alpha
    page = cv2.GaussianBlur(page, (0, 0), 0.8) + rng.normal(0, 3, page.shape)
    ys, xs = np.nonzero(alpha > 0.5)
    box = [x0 + int(xs.min()), y0 + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
    return cv2.cvtColor(np.clip(page, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR), box


def read_frame(model: Model, frame: np.ndarray, truth: list[int], label: int) -> tuple[bool, bool]:
    """(boxed, read right) as edgetl run reads the frame, at its default --min-score 0.5."""
    batch, boxes, _, splits = prepare(model, frame, True)
    if not boxes:
        return False, False
    boxes, batch, outputs = read_whole_or_pieces(model.card, boxes, batch, model.predict_batch(batch), splits)
    digits, rejected = digit_probabilities(model.card, outputs)
    score, k = max((overlap(truth, box), k) for k, box in enumerate(boxes))
    if score < 0.5:
        return False, False
    best = int(digits[k].argmax())
    return True, bool(not rejected[k] and digits[k, best] >= 0.5 and model.card.class_names[best] == str(label))


def cut_directly(model: Model, alpha: np.ndarray, label: int) -> bool:
    ink = (alpha * 255).astype(np.uint8)
    ys, xs = np.nonzero(ink > 80)
    crop = mnist_crop(ink, [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1])
    digits, rejected = digit_probabilities(model.card, model.predict_batch(crop[None, ..., None]))
    return bool(not rejected[0] and model.card.class_names[int(digits[0].argmax())] == str(label))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an exported digit model (.onnx)")
    parser.add_argument("--digits", type=int, default=200)
    args = parser.parse_args()
    model = Model(args.model, device="cpu")
    x, y = load_dataset("mnist-5k").split("test")
    raw = x[:args.digits].reshape(-1, 28, 28).astype(np.uint8)
    labels = y[:args.digits]
    digits, rejected = digit_probabilities(model.card, model.predict_batch(raw[..., None]))
    rows = [("machine", machine()), ("digits", f"{len(labels)} held-out test digits, one per page"),
            ("raw digits (28 px, as MNIST has them)", f"{np.mean((digits.argmax(1) == labels) & ~rejected):.1%}")]
    for height, width in PENS:
        rng = np.random.default_rng(height * 100 + width)
        found = right = direct = 0
        for digit, label in zip(raw, labels):
            alpha = rewrite(digit, height, width, rng)
            frame, truth = on_a_page(alpha, rng)
            boxed, ok = read_frame(model, frame, truth, int(label))
            found, right, direct = found + boxed, right + ok, direct + cut_directly(model, alpha, int(label))
        n = len(labels)
        rows.append((f"pen {height} px tall, {width} px wide: boxed / read right / rewritten, cut directly",
                     f"{found / n:.1%} / {right / n:.1%} / {direct / n:.1%}"))
    print(table(f"one digit a page across pen sizes: {args.model.name}", rows))


if __name__ == "__main__":
    sys.exit(main())
