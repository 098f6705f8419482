"""Where the digits a model misreads on hard desk scenes go wrong: the digit, the renderer's pen, or the reader.

    python bench/misread_sources.py --model runs/bench/model.int8.onnx --seeds 100 101 [--sheet misread.png]

Renders hard desk scenes (edgetl.desk, 20 scenes x 10 frames a seed, as the tune clips but not encoded),
finds and reads every frame as `edgetl run --no-smooth` does, and sorts each well-boxed digit read wrong by
what the same model makes of
- the held-out MNIST digit itself: read wrong too -> "the digit" (an ambiguous digit, or the model's error);
- the digit as the renderer's pen rewrote it, clean and cut straight from its ink: read wrong -> "the pen"
  (the rewrite changed the digit, or the model fails on pen strokes);
- else -> "the reader" (finding and cutting it out on the page: blur, printed lines, light).
``--sheet`` writes a contact sheet of those of one source (``--sheet-source``, "the pen" by default): original | pen |
crop the model read. Each misread is also
counted by source, digit written and digit read: a scene films its page 10 times, so 10 frames are one digit.
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

import cv2
import numpy as np

import edgetl.desk as desk
from clips import WELL_BOXED, iou
from edgetl.data import load_dataset
from edgetl.runtime.crop import mnist_crop
from edgetl.runtime.model import Model
from edgetl.runtime.stream import digit_batch, read_whole_or_pieces
from writers import reported_digits


class PenSpy:
    """Wraps edgetl.desk's writer to record, for every digit written on a page, its index in the pool and the
    rewritten digit cut straight from its ink (the renderer is otherwise untouched: same scenes per seed)."""

    def __init__(self, pool: np.ndarray, labels: np.ndarray):
        self.index = {pool[i].tobytes(): i for i in range(len(pool))}
        self.labels, self.calls, self.pages = labels, [], []
        self.write, self.rewrite = desk._write, desk.rewrite

    def __enter__(self) -> "PenSpy":
        desk._write, desk.rewrite = self.spy_write, self.spy_rewrite
        return self

    def __exit__(self, *exc) -> None:
        desk._write, desk.rewrite = self.write, self.rewrite

    def spy_rewrite(self, digit, *args, **kwargs):
        alpha = self.rewrite(digit, *args, **kwargs)
        ys, xs = np.nonzero(alpha > 0.35)
        box = [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
        self.calls.append((self.index[digit.tobytes()], mnist_crop((alpha * 255).astype(np.uint8), box)))
        return alpha

    def spy_write(self, *args, **kwargs):
        self.calls.clear()
        boxes, labels, owner = self.write(*args, **kwargs)
        written, k = [], 0
        for label in labels:  # digits that did not fit their row were rewritten, then dropped
            while self.labels[self.calls[k][0]] != label:
                k += 1
            written.append(self.calls[k])
            k += 1
        self.pages.append(written)
        return boxes, labels, owner


def read(model: Model, images: np.ndarray) -> np.ndarray:
    """The digit read (argmax), or -1 where the model refuses it."""
    return reported_digits(model.card, model.predict_batch(images[..., None]))


def tally_seed(model: Model, x: np.ndarray, y: np.ndarray, as_is: np.ndarray, seed: int, spy: PenSpy,
               counts: collections.Counter, tiles: list | None, sheet_source: str = "the pen") -> None:
    """Count one seed's well-boxed digits by outcome; add contact-sheet tiles of ``sheet_source``'s misreads to
    ``tiles``."""
    spy.pages.clear()
    for frame, boxes, labels in desk.desk_frames(x, y, 20, 10, seed):
        if not labels:
            continue
        batch, found, splits = digit_batch(model, frame, None)
        if not found:
            counts["not boxed"] += len(labels)
            continue
        # a blob cut into pieces is read whole or as its pieces, as the runtime decides
        found, batch, outputs = read_whole_or_pieces(model.card, found, batch, model.predict_batch(batch), splits)
        got = reported_digits(model.card, outputs)
        for box, label, (source, pen_crop) in zip(boxes, labels, spy.pages[-1]):
            overlaps = [iou(box, f) for f in found]
            k = int(np.argmax(overlaps))
            if overlaps[k] < WELL_BOXED:
                counts["not boxed"] += 1
                continue
            counts["well boxed"] += 1
            if got[k] in (label, -1):
                counts["read right" if got[k] == label else "refused"] += 1
                continue
            where = ("the digit" if as_is[source] != label else
                     "the pen" if read(model, pen_crop[None])[0] != label else "the reader")
            counts[f"misread: {where}"] += 1
            counts[(where, int(label), int(got[k]))] += 1  # by source, digit written and digit read
            if where == sheet_source and tiles is not None and len(tiles) < 60:
                tiles.append(np.hstack([x[source], pen_crop, batch[k, ..., 0]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--sheet", type=Path)
    parser.add_argument("--sheet-source", choices=["the digit", "the pen", "the reader"], default="the pen")
    args = parser.parse_args()
    model = Model(args.model, device="cpu")
    x, y = load_dataset("mnist-5k").split("test")
    x, y = np.asarray(x).reshape(-1, 28, 28), np.asarray(y).reshape(-1)
    as_is = read(model, x)
    counts, tiles = collections.Counter(), []
    with PenSpy(x, y) as spy:
        for seed in args.seeds:
            tally_seed(model, x, y, as_is, seed, spy, counts, tiles if args.sheet else None, args.sheet_source)
            print(f"seeds up to {seed}: {dict(counts)}", flush=True)
    boxed = counts["well boxed"]
    for key in ("misread: the digit", "misread: the pen", "misread: the reader", "refused"):
        print(f"| {key} | {counts[key]} | {100 * counts[key] / max(1, boxed):.2f}% of {boxed} well boxed |")
    print("\n| source | written | read | frames (10 a scene) |\n|---|---|---|---|")
    for (where, written, read_as), n in sorted(((k, n) for k, n in counts.items() if isinstance(k, tuple)),
                                               key=lambda kv: -kv[1]):
        print(f"| {where} | {written} | {read_as} | {n} |")
    if args.sheet and tiles:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 6)
        sheet = np.vstack([np.hstack(tiles[i:i + 6]) for i in range(0, len(tiles), 6)])
        cv2.imwrite(str(args.sheet), cv2.resize(sheet, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))


if __name__ == "__main__":
    main()
