"""Read a rendered clip of held-out handwritten digits with an exported model; score it.

    python bench/clip_accuracy.py --model runs/demo/model.int8.onnx --clip runs/clips/digits.mp4
    python bench/clip_accuracy.py --model runs/demo/model.int8.onnx --clip runs/clips/desk-seed1.mp4 --hard --seed 1

The clip (and its ground truth, .json beside it) is rendered first if it does not exist: 640x480,
1-5 digits from mnist-5k's test split (never trained on), shake, blur, noise, uneven light, a ruled line.
With --hard: webcam-over-a-desk scenes (edgetl.desk): ruled or squared notebook paper, coloured inks,
pencil to marker, 1-2 rows of mixed-size digits, dim and uneven light, perspective, motion blur,
and empty pages (where any detection is a false one). An existing clip is read as it is.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _common import machine, table
from clips import error_kinds, render_clip, score_clip
from edgetl.data import load_dataset
from edgetl.runtime.app import run
from edgetl.runtime.model import Model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--save", type=Path, help="also write the annotated video here")
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--hard", action="store_true", help="render the hard desk clip (if --clip does not exist)")
    parser.add_argument("--seed", type=int, default=0, help="render seed (if --clip does not exist)")
    parser.add_argument("--no-smooth", action="store_true", help="per-frame readings (no tracking and voting)")
    parser.add_argument("--min-score", type=float, default=0.5, help="as edgetl run --min-score")
    args = parser.parse_args()
    if not args.clip.exists():
        x, y = load_dataset("mnist-5k").split("test")
        args.clip.parent.mkdir(parents=True, exist_ok=True)
        render_clip(args.clip, x, y, scenes=args.scenes, seed=args.seed, hard=args.hard)
    model = Model(args.model, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "frames.jsonl"
        summary = run(model, str(args.clip), show=False, jsonl=jsonl, save=args.save, smooth=not args.no_smooth,
                      min_score=args.min_score)
        records = [json.loads(line) for line in jsonl.open()]
    truth = json.loads(args.clip.with_suffix(".json").read_text())
    scores, kinds = score_clip(truth, records), error_kinds(truth, records)
    share = lambda kind: f"{kinds[kind] / max(1, scores['digits']):.2%}"  # noqa: E731
    read = " ".join("".join(d["label"] for d in r["detections"]) or "-" for r in records[::10][:12])
    rows = [
        ("machine", machine()),
        ("model", f"{args.model} ({model.card.quantization or 'fp32'}; reject class: {model.card.reject_class or 'none'}; {'per frame' if args.no_smooth else 'smoothed'})"),
        ("frames / digits", f"{scores['frames']} / {scores['digits']}"),
        ("digits read right", f"{scores['digit_accuracy']:.2%}"),
        ("detections correct", f"{scores['detection_precision']:.2%}"),
        ("frames read exactly", f"{scores['frames_exact']:.2%}"),
        ("empty frames (nothing written)", f"{scores['empty_frames']}"),
        ("false detections on empty frames", f"{scores['false_on_empty']}"),
        ("digits misread: well boxed / cut or merged", f"{share('misread_boxed')} / {share('misread_cut')}"),
        ("digits not found (of them in a box matched to another digit)", f"{share('missed')} ({share('missed_merged')})"),
        ("false detections on written pages: a piece of a digit / elsewhere",
         f"{kinds['false_part']} / {kinds['false_clutter']}"),
        ("FPS (decode + find + classify" + (" + draw + encode)" if args.save else ")"), f"{summary['fps']:.0f}"),
        ("latency p50 / p95 (find + classify)", f"{summary['latency_p50_ms']:.2f} / {summary['latency_p95_ms']:.2f} ms"),
        ("digits read, every 10th frame", read),
    ]
    print(table(f"edgetl run {args.model.name} --source {args.clip.name}", rows))


if __name__ == "__main__":
    sys.exit(main())
