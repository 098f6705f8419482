"""Digits from writers outside mnist-5k's population, seen small and soft as a webcam sees them.

    python bench/writers.py --model runs/demo/model.int8.onnx            # TUNE half only
    python bench/writers.py --model runs/demo --report                   # + the REPORT half (run once, at the end)

Source: scikit-learn's bundled ``load_digits()``: the test set of UCI optdigits, 1,797 digits of 8x8
pixels in 17 gray levels from 13 writers (none of them MNIST's; 43 wrote the whole UCI set), offline.
Each digit becomes what the runtime would feed the model: scaled to 0..255 (ink white on black), a
1-pixel blank border added so the strokes fade out instead of ending at the edge, upsampled with
INTER_LINEAR to a webcam-like 24-40 px (size drawn per digit, seed 0), and cut by
``edgetl.runtime.crop.mnist_crop`` (the runtime's own crop) around the box of pixels above a
quarter of full ink.

Fixed split, by index: digits 0-897 are TUNE (tune anything on these), 898-1796 are REPORT (the
figure to quote, measured once when tuning is over). The file does not say which writer wrote which
digit, nor whether it is ordered by writer: REPORT is held out from tuning, but the two halves may
well share writers.

``--model`` is an exported ``.onnx`` file (classified by ``edgetl.runtime.model.Model``) or a run
directory / ``.keras`` file (classified by Keras). The mnist-5k held-out test accuracy of the same
model is printed beside it.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save, table  # noqa: E402
from edgetl.runtime.crop import mnist_crop  # noqa: E402

TUNE_END = 898  # digits [0, 898) tune, [898, 1797) report
SIZES = (24, 40)  # digit height in the frame, pixels
INK_THRESHOLD = 64  # the box: pixels above a quarter of full ink


def webcam_crop(digit8: np.ndarray, size: int) -> np.ndarray:
    """One 8x8 digit (0..16, ink high) to the runtime's 28x28 crop, seen at ``size`` px."""
    ink = np.pad(np.clip(digit8 * (255.0 / 16.0), 0, 255).astype(np.uint8), 1)
    side = round(size * 10 / 8)  # the 8 ink pixels become ``size`` pixels
    big = cv2.resize(ink, (side, side), interpolation=cv2.INTER_LINEAR)
    frame = np.pad(big, side // 2)  # paper around it: mnist_crop reads the background there
    ys, xs = np.nonzero(frame > INK_THRESHOLD)
    if not len(ys):  # never for load_digits, kept for safety
        return np.zeros((28, 28), np.uint8)
    box = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
    return mnist_crop(frame, box)


def writer_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops uint8 (1797, 28, 28, 1), labels int64, half: 0 TUNE / 1 REPORT)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    sizes = rng.integers(SIZES[0], SIZES[1] + 1, len(digits.target))
    crops = np.stack([webcam_crop(img, int(s)) for img, s in zip(digits.images, sizes)])[..., None]
    half = (np.arange(len(crops)) >= TUNE_END).astype(np.int64)
    return crops, digits.target.astype(np.int64), half


def reported_digits(card, probs: np.ndarray) -> np.ndarray:
    """The digit the runtime reports for each row of class probabilities, -1 where the card's "not a digit" rule
    drops the box."""
    from edgetl.runtime.stream import digit_probabilities

    digits, rejected = digit_probabilities(card, probs)
    return np.where(rejected, -1, digits.argmax(axis=1))


class Classifier:
    """Class probabilities for uint8 (N, 28, 28, 1) crops from an .onnx file or a run directory."""

    def __init__(self, path: Path):
        self.path = path
        if path.suffix == ".onnx":
            from edgetl.runtime.model import Model

            self.onnx = Model(path, device="cpu")
            self.card = self.onnx.card
        else:
            from edgetl.rundir import load_run

            self.onnx = None
            self.keras, self.card = load_run(path)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.onnx is not None:
            return np.concatenate([self.onnx.predict_batch(x[i:i + 256]) for i in range(0, len(x), 256)])
        from edgetl.train import predict

        return predict(self.keras, x)

    def read(self, x: np.ndarray) -> np.ndarray:
        """The digit the runtime would report for each crop, -1 where it would drop the box as "not a digit"."""
        return reported_digits(self.card, self(x))

    def kind(self) -> str:
        return f"onnx {self.card.quantization or 'fp32'}" if self.onnx is not None else "keras"


def score(pred: np.ndarray, y: np.ndarray) -> dict:
    recall = {int(c): float((pred[y == c] == c).mean()) for c in range(10)}
    confusions = Counter((int(t), int(p)) for t, p in zip(y, pred) if t != p)
    return {"accuracy": float((pred == y).mean()), "n": int(len(y)), "recall": recall,
            "confusions": confusions.most_common(8)}


def evaluate(classify, report: bool = False, seed: int = 0) -> dict:
    crops, y, half = writer_digits(seed)
    pred = classify.read(crops)
    out = {"tune": score(pred[half == 0], y[half == 0])}
    if report:
        out["report"] = score(pred[half == 1], y[half == 1])
    return out


def mnist_test_accuracy(classify) -> float:
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    return float((classify.read(x) == y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help=".onnx file, run directory or .keras file")
    parser.add_argument("--report", action="store_true", help="also score the REPORT half (once, at the end)")
    parser.add_argument("--seed", type=int, default=0, help="draws the webcam size of each digit")
    parser.add_argument("--grid", type=Path, help="save a PNG of the first 200 TUNE crops here")
    args = parser.parse_args()
    classify = Classifier(args.model)
    result = evaluate(classify, args.report, args.seed)
    result["mnist_5k_test"] = mnist_test_accuracy(classify)
    if args.grid:
        crops, _, _ = writer_digits(args.seed)
        tiles = crops[:200, :, :, 0].reshape(10, 20, 28, 28).transpose(0, 2, 1, 3).reshape(280, 560)
        cv2.imwrite(str(args.grid), cv2.resize(tiles, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
    rows = [("machine", machine()), ("model", f"{args.model} ({classify.kind()})"),
            ("mnist-5k held-out test", f"{result['mnist_5k_test']:.2%} (n=1000)")]
    for name in ("tune", "report"):
        if name not in result:
            rows.append((f"sklearn digits, {name.upper()} half", "not measured (pass --report, once, at the end)"))
            continue
        r = result[name]
        rows.append((f"sklearn digits, {name.upper()} half", f"{r['accuracy']:.2%} (n={r['n']})"))
        rows.append((f"{name.upper()} recall per class 0-9",
                     " ".join(f"{r['recall'][c]:.0%}" for c in range(10))))
        rows.append((f"{name.upper()} top confusions (true→read ×n)",
                     ", ".join(f"{t}→{p} ×{n}" for (t, p), n in r["confusions"]) or "none"))
    print(table(f"writers outside mnist-5k at {SIZES[0]}-{SIZES[1]} px: {args.model.name}", rows))
    save("writers", {"model": str(args.model), **result})


if __name__ == "__main__":
    sys.exit(main())
