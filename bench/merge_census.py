"""Boxes of the finder that hold two or more written digits, by how many, their layout and the step that joined them.

    python bench/merge_census.py [--clips runs/clips/wide-200.mp4 ...] [--every 2] [--sheet merges.png]

The finder alone (no model): for every ``--every``-th frame, each box of ``find_digit_candidates`` that covers half or
more of two written digits is a merge. Its step is the first of the finder's steps after which some box already
covers two of those digits: ``ink`` (one blob: the strokes touch, and no valley cut them), ``merge_stacked``,
``join_fragments`` or ``attach_bars`` (runtime/pieces.py). Layout: ``one row`` when the digits' heights overlap,
else ``two rows``; ``overlap`` is how far neighbours' boxes run into each other, as a share of the narrower one.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from _common import CLIPS
from edgetl.runtime.digit_like import line_piece
from edgetl.runtime.digits import DigitFinderConfig, find_digit_candidates, mask_pieces
from edgetl.runtime.stroke_mask import ink_mask
from edgetl.runtime.ink import ink_image
from edgetl.runtime.pieces import attach_bars, join_fragments, merge_stacked

CONFIG = DigitFinderConfig()
COVERED = 0.5  # a box holds a written digit when it covers this share of its width and of its height


def held(box, digits: list) -> list[int]:
    """Indices of the written digits the box holds."""
    def share(axis: int, d) -> float:
        return (min(box[axis] + box[axis + 2], d[axis] + d[axis + 2]) - max(box[axis], d[axis])) / max(1, d[axis + 2])
    return [i for i, d in enumerate(digits) if share(0, d) > COVERED and share(1, d) > COVERED]


def steps(frame: np.ndarray) -> dict[str, list]:
    """The finder's boxes after each of its steps, as find_digit_candidates and digits.blobs take them."""
    ink = ink_image(frame)
    mask, lines = ink_mask(ink, CONFIG)
    raw = mask_pieces(mask, CONFIG)
    stacked = [b for b in merge_stacked(raw, lines) if not line_piece(ink, b, CONFIG)]  # as digits.blobs
    fragments = join_fragments(stacked)
    return {"ink": raw, "merge_stacked": stacked, "join_fragments": fragments,
            "attach_bars": attach_bars(fragments, CONFIG)[0]}


def layout(digits: list) -> tuple[str, list[float]]:
    """("one row" or "two rows", neighbours' overlap as a share of the narrower box, left to right)."""
    rows = all(min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1]) for a in digits for b in digits)
    ordered = sorted(digits)
    overlap = [round((min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])) / min(a[2], b[2]), 2)
               for a, b in zip(ordered, ordered[1:])]
    return ("one row" if rows else "two rows"), overlap


def census(clips: list[Path], every: int) -> list[dict]:
    merges = []
    for clip in clips:
        truth = json.loads(clip.with_suffix(".json").read_text())
        capture = cv2.VideoCapture(str(clip))
        for index, written in enumerate(truth):
            ok, frame = capture.read()
            if not ok:
                break
            if index % every or len(written["boxes"]) < 2:
                continue
            for box in find_digit_candidates(frame, CONFIG)[0]:
                ids = held(box, written["boxes"])
                if len(ids) < 2:
                    continue
                digits = [written["boxes"][i] for i in ids]
                step = next(name for name, boxes in steps(frame).items()
                            if any(len(held(b, digits)) >= 2 for b in boxes))
                rows, overlap = layout(digits)
                merges.append({"clip": clip.name, "frame": index, "box": box, "step": step, "layout": rows,
                               "labels": [written["labels"][i] for i in ids], "overlap": overlap})
    return merges


def sheet(merges: list[dict], clips: list[Path], out: Path) -> None:
    """Each merge's surroundings: written digits green, the finder's box red."""
    paths = {c.name: c for c in clips}
    tiles = []
    for m in merges:
        capture = cv2.VideoCapture(str(paths[m["clip"]]))
        capture.set(cv2.CAP_PROP_POS_FRAMES, m["frame"])
        frame = capture.read()[1]
        x, y, w, h = m["box"]
        cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 0, 255), 1)
        tile = frame[max(0, y - 20):y + h + 20, max(0, x - 20):x + w + 20]
        tile = cv2.resize(tile, None, fx=180 / max(tile.shape[:2]), fy=180 / max(tile.shape[:2]))
        canvas = np.full((200, 180, 3), 255, np.uint8)
        canvas[:tile.shape[0], :tile.shape[1]] = tile
        cv2.putText(canvas, f"{m['frame']} {m['step']}", (2, 196), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 0, 0), 1)
        tiles.append(canvas)
    tiles += [np.full((200, 180, 3), 255, np.uint8)] * (-len(tiles) % 6)
    cv2.imwrite(str(out), np.vstack([np.hstack(tiles[i:i + 6]) for i in range(0, len(tiles), 6)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, nargs="+", default=[CLIPS / "wide-200.mp4", CLIPS / "wide-201.mp4"])
    parser.add_argument("--every", type=int, default=2, help="read every n-th frame (the wide clips: one per scene)")
    parser.add_argument("--sheet", type=Path, help="save a PNG of every merge here")
    args = parser.parse_args()
    merges = census(args.clips, args.every)
    digits = Counter()
    for m in merges:
        digits[(m["step"], m["layout"])] += len(m["labels"])
    print(f"{len(merges)} boxes hold {sum(digits.values())} written digits:")
    for (step, rows), n in digits.most_common():
        print(f"  {n:4d} digits  joined by {step:15s} {rows}")
    for m in merges:
        print(f"  {m['clip']} frame {m['frame']}: {m['labels']} {m['step']}, {m['layout']}, overlap {m['overlap']}")
    if args.sheet:
        sheet(merges, args.clips, args.sheet)


if __name__ == "__main__":
    sys.exit(main())
