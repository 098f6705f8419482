"""A sheet of one kind of error on a rendered clip: each written digit (or false detection) of that kind, cut from its
frame with the written boxes in green and the detections in red, its frame, label and reading beneath.

    python bench/error_sheet.py --model runs/bench/model.int8.onnx --clip runs/clips/wide-200.mp4 --no-smooth \
        --kind missed --out missed.png

Kinds, as ``bench/clips.py::digit_kind`` sorts written digits: ``missed`` (no detection on the digit, and none holding
it with another), ``missed_merged`` (not found, inside a box matched to another digit), ``misread_cut`` (read wrong
with a box that is a piece of it or spans more), ``misread_boxed`` (read wrong with a good box); and ``false`` (a
detection on no written digit). Looking at these sheets found the three finder fixes of 2026-12-05 evening
(bench/README.md). Which digits a change won and lost: bench/error_diff.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from clips import digit_kind, match_frame, read_clip
from edgetl.runtime.model import Model

KINDS = ("missed", "missed_merged", "misread_cut", "misread_boxed", "false")
TILE = 160


def cases(truth: list[dict], records: list[dict], kind: str):
    """(frame index, box to centre on, caption) for every case of ``kind``."""
    for index, (written, record) in enumerate(zip(truth, records)):
        matched, leftover = match_frame(written, record["detections"])
        if kind == "false":
            for d in leftover:
                yield index, d["box"], f"{index}: read {d['label']} {d['score']:.2f}"
            continue
        taken = [found["box"] for _, _, found in matched if found is not None]
        for box, label, found in matched:
            if digit_kind(box, label, found, taken) == kind:
                yield index, box, f"{index}: {label} read {found['label'] if found else '-'}, {box[3]} px"


def tile(frame: np.ndarray, written: dict, detections: list[dict], box, caption: str) -> np.ndarray:
    image = frame.copy()
    for x, y, w, h in written["boxes"]:
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 200, 0), 1)
    for d in detections:
        x, y, w, h = d["box"]
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 255), 1)
        cv2.putText(image, d["label"], (x, max(10, y - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
    x, y, w, h = box
    pad = max(w, h) // 2 + 10
    crop = image[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    scale = TILE / max(crop.shape[:2])
    crop = cv2.resize(crop, None, fx=scale, fy=scale)
    out = np.full((TILE + 16, TILE, 3), 255, np.uint8)
    out[:crop.shape[0], :crop.shape[1]] = crop
    cv2.putText(out, caption, (2, TILE + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (160, 0, 0), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the sheet, a PNG")
    parser.add_argument("--no-smooth", action="store_true", help="per-frame readings (no tracking and voting)")
    parser.add_argument("--max", type=int, default=48, help="at most this many tiles")
    args = parser.parse_args()
    truth = json.loads(args.clip.with_suffix(".json").read_text())
    records = read_clip(Model(args.model, device="cpu"), args.clip, smooth=not args.no_smooth)
    found = list(cases(truth, records, args.kind))
    frames = frames_at(args.clip, [index for index, _, _ in found[:args.max]])
    tiles = [tile(frames[index], truth[index], records[index]["detections"], box, caption)
             for index, box, caption in found[:args.max]]
    if not tiles:
        print(f"no {args.kind} on {args.clip}")
        return
    write_sheet(tiles, args.out)
    print(f"{len(found)} {args.kind} on {args.clip.name}; {len(tiles)} tiles in {args.out}")


def frames_at(clip: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The clip's frames at ``indices``, decoded once in order."""
    capture, at, frame, frames = cv2.VideoCapture(str(clip)), -1, None, {}
    for index in sorted(set(indices)):
        while at < index:
            frame, at = capture.read()[1], at + 1
        frames[index] = frame
    capture.release()
    return frames


def write_sheet(tiles: list[np.ndarray], out: Path, columns: int = 8) -> None:
    tiles = tiles + [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
    cv2.imwrite(str(out), np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]))


if __name__ == "__main__":
    sys.exit(main())
