"""How closely an int8 model follows its fp32 model on the crops the runtime's finder cuts from desk clips.

    python bench/crop_agreement.py --fp32 runs/bench/model.onnx --int8 runs/bench/model.int8.onnx [OTHER.onnx ...]

mnist-5k's held-out test (export's verification) agrees 100% for make bench's model; the desk crops are thinner,
softer and more often ambiguous, and there the runtime's decisions turn on the probabilities themselves (the
"not a digit" threshold, --min-score, a cut blob read whole at 0.97). Every crop the finder cuts from the clips (and
every cut blob's whole crop) is read by each model; per int8 model: the digit read (argmax over the digits, the
reject class's share taken out as the runtime does), the reject decision, the detection decision (kept with the
same digit, or dropped by both), and the mean / largest difference of any probability.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from _common import CLIPS, machine, table
from edgetl.runtime.model import Model
from edgetl.runtime.stream import digit_detections, digit_probabilities, prepare


def finder_crops(model: Model, clips: list[Path]) -> np.ndarray:
    batches = []
    for clip in clips:
        capture = cv2.VideoCapture(str(clip))
        ok, frame = capture.read()
        while ok:
            batch, *_ = prepare(model, frame, True)
            if len(batch):
                batches.append(batch)
            ok, frame = capture.read()
    return np.concatenate(batches)


def decisions(model: Model, probs: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(digit read, rejected, kept as a detection) per crop, decided by the runtime's own functions."""
    digits, rejected = digit_probabilities(model.card, probs)
    kept = np.zeros(len(probs), bool)
    kept[[d.box for d in digit_detections(model, list(range(len(probs))), probs, min_score, None)]] = True
    return digits.argmax(axis=1), rejected, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", type=Path, required=True)
    parser.add_argument("--int8", type=Path, nargs="+", required=True)
    parser.add_argument("--clips", type=Path, nargs="+", default=[CLIPS / "wide-200.mp4", CLIPS / "wide-201.mp4"])
    parser.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args()
    reference = Model(args.fp32, device="cpu")
    crops = finder_crops(reference, args.clips)
    ref_probs = reference.predict_batch(crops)
    ref_label, ref_rejected, ref_kept = decisions(reference, ref_probs, args.min_score)
    rows = [("machine", machine()), ("crops (finder, every frame of " + ", ".join(c.name for c in args.clips) + ")",
                                     f"{len(crops):,}")]
    for path in args.int8:
        model = Model(path, device="cpu")
        probs = model.predict_batch(crops)
        label, rejected, kept = decisions(model, probs, args.min_score)
        same_detection = (kept == ref_kept) & (~kept | (label == ref_label))
        diff = np.abs(probs - ref_probs)
        rows.append((f"{path}: digit read / reject decision / detection decision agree with fp32",
                     f"{(label == ref_label).mean():.2%} / {(rejected == ref_rejected).mean():.2%} / "
                     f"{same_detection.mean():.2%}"))
        rows.append((f"{path}: probability difference mean / largest", f"{diff.mean():.4f} / {diff.max():.3f}"))
    print(table(f"int8 against {args.fp32} on desk finder crops", rows))


if __name__ == "__main__":
    sys.exit(main())
