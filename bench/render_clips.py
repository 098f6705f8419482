"""Render every clip the README's figures read, from mnist-5k's held-out test digits.

    python bench/render_clips.py [--out runs/clips] [--only wide-report-21 ...]

A clip that is already there is kept (its .json truth beside it); delete it to render it again after the
renderer or the pen changes. The hard desk clips take about a minute each on 2 cores.

| clip | what | used for |
|---|---|---|
| digits | plain sheets, 40 scenes x 10 frames, seed 0 | the plain clip (`make demo`, `make bench`) |
| plain-300, -301 | plain sheets, seeds 300, 301 | tuning on the plain clip |
| desk-seed11..18 | hard desk scenes, 40 x 10 | the hard report clips, never tuned on (15-18 from 2026-12-07) |
| tune-100..105 | hard desk scenes, 20 x 10 | tuning the finder and the tracker (smoothed; 103-105 from 2026-12-05, late) |
| wide-200..205 | hard desk scenes, 300 x 2 | tuning the finder (per frame; 202-205 from 2026-12-05, late) |
| wide-report-21, -22 | hard desk scenes, 300 x 2 | the wide report set (never tuned on) |
| check-40..43 | hard desk scenes, 300 x 2 | a third set for changes the tune set cannot decide (from 2026-12-05/06) |
| writing-600, -601 | hard desk scenes filmed while someone writes (a hand and pen in every scene), 300 x 2 | tuning for the writer's hand (from 2026-12-06) |
| writing-report-61, -62 | the same | the writing report set (never tuned on) |
| turned-250..253 | hard desk scenes, 150 x 2, every page turned on the desk by +20, -20, +30, -30 degrees (+: clockwise) | tuning for pages that lie at an angle (from 2026-12-07) |
| turned-report-26, -27 | the same, turned +25 and -25 degrees | the turned report set (never tuned on) |
"""
from __future__ import annotations

import argparse
from pathlib import Path

from clips import render_clip
from edgetl.data import load_dataset

# name: (seed, scenes, frames per scene, hard[, share of scenes with the writer's hand[, degrees the page is turned]])
CLIPS = {"digits": (0, 40, 10, False)}
CLIPS.update({f"plain-{seed}": (seed, 40, 10, False) for seed in (300, 301)})
CLIPS.update({f"desk-seed{seed}": (seed, 40, 10, True) for seed in range(11, 19)})
CLIPS.update({f"tune-{seed}": (seed, 20, 10, True) for seed in (100, 101, 102, 103, 104, 105)})
CLIPS.update({f"wide-{seed}": (seed, 300, 2, True) for seed in (200, 201, 202, 203, 204, 205)})
CLIPS.update({f"wide-report-{seed}": (seed, 300, 2, True) for seed in (21, 22)})
CLIPS.update({f"check-{seed}": (seed, 300, 2, True) for seed in (40, 41, 42, 43)})
CLIPS.update({f"writing-{seed}": (seed, 300, 2, True, 1.0) for seed in (600, 601)})
CLIPS.update({f"writing-report-{seed}": (seed, 300, 2, True, 1.0) for seed in (61, 62)})
CLIPS.update({f"turned-{seed}": (seed, 150, 2, True, 0.0, turn)
              for seed, turn in zip(range(250, 254), (20, -20, 30, -30))})
CLIPS.update({f"turned-report-{seed}": (seed, 150, 2, True, 0.0, turn) for seed, turn in ((26, 25), (27, -25))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/clips"))
    parser.add_argument("--only", nargs="+", choices=sorted(CLIPS), help="render only these clips")
    args = parser.parse_args()
    x, y = load_dataset("mnist-5k").split("test")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or CLIPS:
        seed, scenes, frames, hard, hands, turn = (CLIPS[name] + (0.0, 0.0))[:6]
        path = args.out / f"{name}.mp4"
        if path.exists():
            print(f"{path}: there already, kept")
            continue
        render_clip(path, x, y, scenes=scenes, frames_per_scene=frames, seed=seed, hard=hard, hands=hands, turn=turn)
        print(f"{path}: rendered ({scenes} scenes x {frames} frames, seed {seed}{', desk' if hard else ''}"
              f"{f', turned {turn:+g} degrees' if turn else ''})")


if __name__ == "__main__":
    main()
