"""Which written digits a change won and which it lost, on one rendered clip: each digit as ``clips.digit_kind``
sorts it under model A and under model B, the count of every change of kind, and a sheet of the digits B lost.

    python bench/error_diff.py --a runs/bench/model.int8.onnx --b runs/pairs/model.int8.onnx \\
        --clip runs/clips/wide-205.mp4 --no-smooth --out lost.png

A clip's total moves by a few dozen digits between two training seeds of the same recipe; the digits behind the
total tell a change's own wins (merged digits found again) from what it costs elsewhere (single digits refused).
That is how the touching-pair models of bench/README.md ("Touching digits taught to the model") were read.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from clips import digit_kind, match_frame, read_clip
from error_sheet import frames_at, tile, write_sheet
from edgetl.runtime.model import Model


def digit_kinds(truth: list[dict], records: list[dict]) -> dict[tuple[int, int], tuple[str, list, str]]:
    """{(frame, digit index): (kind, written box, caption)} for every written digit of the clip."""
    kinds = {}
    for index, (written, record) in enumerate(zip(truth, records)):
        matched, _ = match_frame(written, record["detections"])
        taken = [found["box"] for _, _, found in matched if found is not None]
        for k, (box, label, found) in enumerate(matched):
            kind = digit_kind(box, label, found, taken)
            kinds[index, k] = kind, box, f"{index}: {label} {kind} {found['label'] if found else '-'}"
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="the model before the change (.onnx)")
    parser.add_argument("--b", type=Path, required=True, help="the model after it (.onnx)")
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="a PNG sheet of the digits A read right and B does not")
    parser.add_argument("--no-smooth", action="store_true", help="per-frame readings (no tracking and voting)")
    parser.add_argument("--max", type=int, default=48, help="at most this many tiles")
    args = parser.parse_args()
    truth = json.loads(args.clip.with_suffix(".json").read_text())
    records = {name: read_clip(Model(path, device="cpu"), args.clip, smooth=not args.no_smooth)
               for name, path in (("a", args.a), ("b", args.b))}
    a, b = digit_kinds(truth, records["a"]), digit_kinds(truth, records["b"])
    changes = Counter((a[key][0], b[key][0]) for key in a if a[key][0] != b[key][0])
    right = sum(kind == "right" for kind, _, _ in a.values()), sum(kind == "right" for kind, _, _ in b.values())
    print(f"{args.clip.name}: {len(a)} digits, read right by A {right[0]}, by B {right[1]}")
    for (before, after), n in changes.most_common():
        print(f"  {before} -> {after}: {n}")
    lost = [key for key in a if a[key][0] == "right" and b[key][0] != "right"]
    if args.out and lost:
        frames = frames_at(args.clip, [index for index, _ in lost[:args.max]])
        write_sheet([tile(frames[key[0]], truth[key[0]], records["b"][key[0]]["detections"], b[key][1], b[key][2])
                     for key in lost[:args.max]], args.out)
        print(f"{len(lost)} digits lost; {min(len(lost), args.max)} tiles in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
