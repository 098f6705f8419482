"""Read a whole set of rendered clips with one model: each clip's figures and what went wrong, then the set's total.

    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set tune      # tune on these
    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set check     # a change tune cannot decide
    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set report    # once a change is settled
    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set hard-report  # the eight hard report clips
    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set writing   # the writer's hand in view
    python bench/clip_sets.py --model runs/bench/model.int8.onnx --set turned    # pages turned 20-30 degrees

Each clip is read as `edgetl run` reads it: the scene clips (tune-*, desk-seed*, plain-*, digits) smoothed, the wide
and check clips (two frames a scene) per frame, as `--no-smooth`. Render the clips first with
``python bench/render_clips.py`` (the ones a set needs: ``--only NAME ...``). Error kinds as
``bench/clips.py::error_kinds`` sorts them. Writes ``runs/bench-results/clip_sets-SET.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIPS, machine, save  # noqa: E402
from clips import error_kinds, read_clip, score_clip  # noqa: E402

# set: [(clip, smoothed)]
SETS = {
    "tune": [(f"wide-{seed}", False) for seed in range(200, 206)] + [(f"tune-{seed}", True) for seed in range(100, 106)],
    "check": [(f"check-{seed}", False) for seed in range(40, 44)],
    "report": [(f"desk-seed{seed}", True) for seed in range(11, 15)]
    + [(f"wide-report-{seed}", False) for seed in (21, 22)]
    + [("plain-300", True), ("plain-301", True), ("digits", True)],
    # the hard report clips alone, eight since 2026-12-07: four clips of 40 scenes moved by 2 points between renders
    "hard-report": [(f"desk-seed{seed}", True) for seed in range(11, 19)],
    "writing": [(f"writing-{seed}", False) for seed in (600, 601)],  # the writer's hand in every scene
    "writing-report": [(f"writing-report-{seed}", False) for seed in (61, 62)],
    "turned": [(f"turned-{seed}", False) for seed in range(250, 254)],  # pages lying at an angle on the desk
    "turned-report": [(f"turned-report-{seed}", False) for seed in (26, 27)],
}


def require_rendered(names: list[str]) -> None:
    """Exit with the command that renders them when any of these clips is not in CLIPS."""
    if missing := " ".join(name for name in names if not (CLIPS / f"{name}.mp4").exists()):
        raise SystemExit(f"not rendered: {missing}; run python bench/render_clips.py --only {missing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an exported .onnx file")
    parser.add_argument("--set", choices=sorted(SETS), required=True, dest="clip_set")
    args = parser.parse_args()
    clips = [(CLIPS / f"{name}.mp4", smooth) for name, smooth in SETS[args.clip_set]]
    require_rendered([name for name, _ in SETS[args.clip_set]])

    from edgetl.runtime.model import Model

    model = Model(args.model, device="cpu")
    print(f"### {args.clip_set} clips read by {args.model} ({machine()})\n")
    print("| clip | digits | read | correct | frames exact | false on empty | well boxed, misread | cut or merged, "
          "misread | missed (merged) | false: part of a digit / elsewhere |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows, total = {}, {}
    for clip, smooth in clips:
        truth = json.loads(clip.with_suffix(".json").read_text())
        records = read_clip(model, clip, smooth)
        score, kinds = score_clip(truth, records), error_kinds(truth, records)
        rows[clip.stem] = {**score, **kinds}
        for key, value in kinds.items():
            total[key] = total.get(key, 0) + value
        print(f"| {clip.stem}{'' if smooth else ' (per frame)'} | {score['digits']} | {score['digit_accuracy']:.2%} | "
              f"{score['detection_precision']:.2%} | {score['frames_exact']:.2%} | {score['false_on_empty']} | "
              f"{kinds['misread_boxed']} | {kinds['misread_cut']} | {kinds['missed']} ({kinds['missed_merged']}) | "
              f"{kinds['false_part']} / {kinds['false_clutter']} |", flush=True)
    digits = sum(row["digits"] for row in rows.values())
    print(f"\n{args.clip_set}: {total['right']:,} of {digits:,} digits read right ({total['right'] / digits:.2%}); "
          + ", ".join(f"{key} {value}" for key, value in total.items() if key != "right"))
    save(f"clip_sets-{args.clip_set}", {"model": str(args.model), "clips": rows, "total": total, "digits": digits})


if __name__ == "__main__":
    main()
