"""Frames larger or smaller than the finder's: a rendered clip filmed as a camera of another resolution would, read
with the finder at the frame's own size and at ``--find-size`` (runtime/find_size.py).

    python bench/find_size.py --model runs/bench/model.int8.onnx --clip tune-100 --clip tune-101 \
        --scales 0.5,0.75,1,1.5,2.25,3

Each frame of the 640x480 clip is scaled by each factor (bicubic up, area down), its written boxes alike: 0.5 is
320x240, 0.75 480x360, 1.5 960x720, 2.25 1440x1080, 3 1920x1440. A scaled-up frame is softer than a camera's own at
that size, but its strokes are as thick in pixels, which is what the finder's pixel sizes meet. Frames are decoded
and scaled in memory first; the figures are `edgetl run`'s processing (find + classify + track, smoothed as scene
clips are), not decoding.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine, save  # noqa: E402
from clips import score_clip  # noqa: E402
from runtime_speed import decoded_frames  # noqa: E402


def read_frames(model, frames: list, find_size: int) -> tuple[list[dict], float]:
    """(the JSONL records `edgetl run` would write, frames/s of processing)."""
    from edgetl.runtime.sources import ArraySource
    from edgetl.runtime.stream import process

    start = time.perf_counter()
    records = [{"detections": [d.to_dict() for d in result.detections]}
               for result in process(model, ArraySource(frames), digits=True, find_size=find_size)]
    return records, len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--clip", action="append", required=True, help="a rendered clip's name in runs/clips")
    parser.add_argument("--scales", default="0.5,0.75,1,1.5,2.25,3")
    args = parser.parse_args()
    from edgetl.runtime.find_size import FIND_SIZE, find_scale
    from edgetl.runtime.model import Model

    model = Model(args.model, device="cpu")
    print(f"### Frames of other sizes than the finder's: {', '.join(args.clip)} scaled ({machine()})\n")
    print("| frame | finder at | digits read | detections correct | frames exact | frames/s |")
    print("|---|---|---|---|---|---|")
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        for find_size in ([FIND_SIZE] if scale == 1 else [0, FIND_SIZE]):
            right = digits = detections = exact = frames_n = 0
            seconds = 0.0
            for name in args.clip:
                truth = json.loads((CLIPS / f"{name}.json").read_text())
                how = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC  # as a camera of that size would see it
                frames = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=how) if scale != 1 else f
                          for f in decoded_frames(CLIPS / f"{name}.mp4")]
                for t in truth:
                    t["boxes"] = [[round(v * scale) for v in box] for box in t["boxes"]]
                records, fps = read_frames(model, frames, find_size)
                s = score_clip(truth, records)
                digits += s["digits"]
                right += round(s["digit_accuracy"] * s["digits"])  # a detection is correct when it reads a digit right
                detections += sum(len(r["detections"]) for r in records)
                exact += round(s["frames_exact"] * s["frames"])
                frames_n += s["frames"]
                seconds += len(frames) / fps
            h, w = frames[0].shape[:2]
            row = {"scale": scale, "frame": f"{w}x{h}", "find_size": find_size, "read": right / digits,
                   "correct": right / max(1, detections), "exact": exact / frames_n, "fps": frames_n / seconds}
            results.append(row)
            factor = find_scale(frames[0].shape, find_size)
            where = "its own size" if factor == 1 else f"x{factor:.2f}: {round(w * factor)}x{round(h * factor)}"
            print(f"| {row['frame']} | {where} | {row['read']:.2%} | {row['correct']:.2%} | {row['exact']:.2%} | "
                  f"{row['fps']:.0f} |", flush=True)
    save("find_size", {"model": str(args.model), "clips": args.clip, "rows": results})


if __name__ == "__main__":
    sys.exit(main())
