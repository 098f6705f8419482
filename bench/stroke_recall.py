"""How much of each written digit's ink the finder's stroke mask holds, for the digits it boxes and those it misses.

    python bench/stroke_recall.py [--seeds 100 101 102] [--scenes 60]

Renders hard desk scenes (edgetl.desk, one frame a scene; the renderer's frames, not the encoded clips), takes the
pen's ink in the frame (edgetl.desk.ink_in_frame) as the truth and the finder's stroke mask (runtime/stroke_mask.ink_mask)
as what it saw, and gives each written digit its stroke recall: the share of its ink pixels within 1 px of the mask.
A digit is boxed when one of the finder's boxes holds HELD of its ink, a cut blob's whole box included (the classifier
reads it whole when sure, stream.read_whole_or_pieces).
By pen: where digits go unboxed, and whether their strokes were lost before the boxes were made; for those that lost
them, which of ink_mask's levels (runtime/stroke_mask.stroke_levels) their ink stays under.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict

import cv2
import numpy as np

from edgetl.data import load_dataset
from edgetl.desk import desk_frames
from edgetl.runtime.digits import DigitFinderConfig, find_digit_candidates
from edgetl.runtime.stroke_mask import noise_gate, stroke_levels

CONFIG = DigitFinderConfig()
LOST = 0.5  # a digit whose stroke recall is under this lost its strokes in the mask, not in the boxes
HELD = 0.6  # a box holds a digit when this share of the digit's ink lies inside it


def within_a_pixel(mask: np.ndarray) -> np.ndarray:
    """Where a mask (bool or 0/255) is, or 1 px from it."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def stroke_recall(pixels: np.ndarray, near: np.ndarray) -> float:
    """The share of a digit's ink pixels that lie ``near`` a mask (within_a_pixel of it)."""
    return float((pixels & near).sum() / pixels.sum())


def holds(box, pixels: np.ndarray) -> bool:
    """True when the box holds at least HELD of the digit's ink pixels (a 1's stroke in a box of its own width holds it,
    where a share of the written box's width would not: that box is the page's rotated rectangle)."""
    x, y, w, h = box
    return pixels[y:y + h, x:x + w].sum() >= HELD * pixels.sum()


def gate(stroke: np.ndarray, allowed: np.ndarray, levels: dict) -> str:
    """Which of ink_mask's levels the digit's stroke ink (its 90th percentile) stays under: no seed for the hysteresis
    (under the strong and faint levels), the local noise gate (under ``above_noise`` times the ink's local floor, the
    median over the stroke), both, or none (lost later in ink_mask; bench/README.md follows those through its steps)."""
    top = np.percentile(stroke, 90)
    under = [name for name, level in (("seed levels", min(levels["strong"], levels["faint"])),
                                      ("noise gate", np.median(allowed))) if top < level]
    return " and ".join(under) or "over every level"


def recall_rows(seeds: list[int], scenes: int) -> list[dict]:
    """One row a written digit: its pen, stroke recall, and whether a box holds it."""
    x, y = load_dataset("mnist-5k").split("test")
    rows = []
    for seed in seeds:
        for frame, boxes, _, ink, pen in desk_frames(x[..., 0], y, scenes, 1, seed, with_ink=True):
            found, ink_seen, mask, splits = find_digit_candidates(frame, CONFIG)
            levels, allowed = stroke_levels(ink_seen, CONFIG), noise_gate(ink_seen, CONFIG)
            found = found + [whole for whole, _, _ in splits]  # a cut blob the classifier may read whole
            near = within_a_pixel(mask)
            for i in range(len(boxes)):
                pixels = ink == i + 1
                if not pixels.any():
                    continue  # written off the frame's edge
                rows.append({"pen": pen, "recall": stroke_recall(pixels, near),
                             "boxed": any(holds(b, pixels) for b in found),
                             "gate": gate(ink_seen[pixels], allowed[pixels], levels)})
    return rows


def summary(rows: list[dict]) -> list[list[str]]:
    groups = defaultdict(list)
    for row in rows:
        groups[row["pen"]].append(row)
        groups["all"].append(row)
    out = []
    for pen, group in sorted(groups.items(), key=lambda item: (item[0] == "all", item[0])):
        boxed = [r["recall"] for r in group if r["boxed"]]
        missed = [r["recall"] for r in group if not r["boxed"]]
        median = lambda values: f"{100 * np.median(values):.0f}%" if values else "-"  # noqa: E731
        out.append([pen, str(len(group)), f"{100 * len(missed) / len(group):.2f}%", median(boxed), median(missed),
                    f"{sum(v < LOST for v in missed)} of {len(missed)}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--scenes", type=int, default=60)
    args = parser.parse_args()
    rows = recall_rows(args.seeds, args.scenes)
    header = ["pen", "digits", "not boxed", "stroke recall, boxed (median)", "not boxed (median)",
              f"not boxed with recall < {LOST:.0%}"]
    print(f"### Stroke recall of the finder's mask, desk scenes of seeds {args.seeds}\n")
    for cells in [header, ["---"] * len(header)] + summary(rows):
        print("| " + " | ".join(cells) + " |")
    lost = Counter(row["gate"] for row in rows if not row["boxed"] and row["recall"] < LOST)
    print(f"\nNot boxed with stroke recall under {LOST:.0%}, by the level their stroke ink (90th percentile) stays under:")
    for name, count in lost.most_common():
        print(f"- {name}: {count}")


if __name__ == "__main__":
    sys.exit(main())
