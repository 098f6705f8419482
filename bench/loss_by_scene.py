"""Where a clip set loses its digits, by what each scene was drawn with: paper, pen, light, motion blur, hand.

    python bench/loss_by_scene.py --model runs/bench/model.int8.onnx --set tune [--by paper pen]

Each desk clip of the set (bench/clip_sets.py) is read as clip_sets reads it, and its scenes are drawn again from
the clip's seed (``edgetl.desk.desk_frames``, the same frames, not encoded) to learn each scene's conditions
(``edgetl.desk.scene_conditions``). Every written digit is sorted as ``bench/clips.py::digit_kind`` sorts it and
counted under its scene's conditions: one row per value of each ``--by`` name, and one per combination of them.
Plain clips (not desk scenes) are left out. About 20 s a clip to draw the scenes again, beside reading it.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine  # noqa: E402
from clip_sets import SETS, require_rendered  # noqa: E402
from clips import digit_kind, match_frame, read_clip  # noqa: E402
from render_clips import CLIPS as RENDERED  # noqa: E402

CONDITIONS = ("paper", "pen", "light", "blur", "hand")
KINDS = ("misread_boxed", "misread_cut", "missed", "missed_merged")


def scene_conditions_of(clip: str, digits, labels) -> tuple[list[dict], int]:
    """(the conditions of each scene of a rendered desk clip, frames per scene), drawn again from its seed."""
    from edgetl.desk import desk_frames

    seed, scenes, frames, _, hands, turn = (RENDERED[clip] + (0.0, 0.0))[:6]
    conditions: list[dict] = []
    for _ in desk_frames(digits, labels, scenes, frames, seed, hands=hands, turn=turn, scenes_out=conditions):
        pass
    return conditions, frames


def tally(truth: list[dict], records: list[dict], conditions: list[dict], frames: int, by: tuple[str, ...],
          counts: defaultdict) -> None:
    """Add each frame's written digits (by kind) and left-over detections ("false") to ``counts`` under every
    group its scene falls in: each condition of ``by`` alone, and all of them together."""
    for i, (frame_truth, record) in enumerate(zip(truth, records)):
        scene = conditions[i // frames]
        groups = [(name, scene[name]) for name in by]
        keys = [(group,) for group in groups] + ([tuple(groups)] if len(by) > 1 else [])
        matched, leftover = match_frame(frame_truth, record["detections"])
        taken = [found["box"] for _, _, found in matched if found is not None]
        kinds = Counter(digit_kind(box, label, found, taken) for box, label, found in matched)
        kinds["false"] = len(leftover)
        kinds["digits"] = len(matched)
        for key in keys:
            counts[key].update(kinds)


def rows(counts: defaultdict) -> list[str]:
    lines = []
    for key in sorted(counts, key=lambda k: (len(k), k)):
        c = counts[key]
        n = c["digits"]
        name = ", ".join(value for _, value in key)
        lines.append(f"| {name} | {n} | {c['right'] / max(1, n):.2%} | {n - c['right']} | "
                     + " | ".join(str(c[kind]) for kind in KINDS) + f" | {c['false']} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an exported .onnx file")
    parser.add_argument("--set", choices=sorted(SETS), required=True, dest="clip_set")
    parser.add_argument("--by", nargs="+", choices=CONDITIONS, default=["paper", "pen"])
    args = parser.parse_args()
    desk_clips = [(clip, smooth) for clip, smooth in SETS[args.clip_set] if RENDERED[clip][3]]
    require_rendered([clip for clip, _ in desk_clips])

    from edgetl.data import load_dataset
    from edgetl.runtime.model import Model

    model = Model(args.model, device="cpu")
    digits, labels = load_dataset("mnist-5k").split("test")
    counts: defaultdict = defaultdict(Counter)
    for clip, smooth in desk_clips:
        conditions, frames = scene_conditions_of(clip, digits, labels)
        truth = json.loads((CLIPS / f"{clip}.json").read_text())
        tally(truth, read_clip(model, CLIPS / f"{clip}.mp4", smooth), conditions, frames, tuple(args.by), counts)
    print(f"### {args.clip_set} clips read by {args.model}, by {' x '.join(args.by)} ({machine()})\n")
    print("| scenes | digits | read right | lost | well boxed, misread | cut or merged, misread | missed | "
          "missed, in another digit's box | false |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows(counts)))


if __name__ == "__main__":
    main()
