"""`edgetl run --save-uncertain DIR`: the crops the model refused or was unsure of, kept for relabelling.

DIR becomes a class-folder tree: DIR/unsure/ holds the crops, exactly as the model saw them (its input size),
named with the frame, the box, the guess and its probability; DIR/<class>/ exists, empty, for every class of
the model. Move each crop into the folder of what it really is, then `edgetl train --data ... --add DIR` trains on
them (unsure/ and empty folders are left out). A box followed across frames is saved once per
``every`` frames, not on every frame.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ._io import atomic_write_bytes
from .errors import UserError

log = logging.getLogger(__name__)

UNSURE = "unsure"
README = """Crops edgetl run was unsure of (or refused as "not a digit"), as the model saw them.
File names: f<frame>_x<x>_y<y>_w<w>_h<h>_guess<label>_p<probability>.png

Move each crop from unsure/ into the folder of the class it really is (or delete it), then train on them
beside the data the model learned from (for the digit model: mnist-5k):

    edgetl train --data mnist-5k --add {root}

or on them alone with `edgetl train --data {root}`. (unsure/ and class folders still empty are left out.)
"""


@dataclass
class Unsure:
    box: list[int]
    crop: np.ndarray  # the model's input for this box (H, W, C uint8)
    guess: str
    probability: float
    rejected: bool
    gap: float = 0.0  # best digit's probability minus the second's

    def unsure(self, margin: float) -> bool:
        return self.rejected or self.gap < margin or margin >= 1.0


def unsure_crops(card, boxes: list, batch: np.ndarray, probs: np.ndarray, digits: np.ndarray,
                 rejected: np.ndarray, margin: float) -> list[Unsure]:
    """Boxes the "not a digit" rule refused, and boxes whose best digit beat the second by less than ``margin``
    (``digits``, ``rejected``: stream.digit_probabilities of ``probs``). A margin of 1 keeps every box, the
    confident misreads with the rest (a user collecting their own handwriting to sort)."""
    if not len(boxes):
        return []
    ranked = np.sort(digits, axis=1)
    gap = ranked[:, -1] - (ranked[:, -2] if digits.shape[1] > 1 else 0.0)
    best = digits.argmax(axis=1)
    out = []
    for i in range(len(boxes)):
        guess = card.reject_class if rejected[i] else card.class_names[best[i]]
        p = float(probs[i, card.class_names.index(card.reject_class)]) if rejected[i] else float(digits[i, best[i]])
        item = Unsure(list(map(int, boxes[i])), batch[i], guess, p, bool(rejected[i]), float(gap[i]))
        if item.unsure(margin):
            out.append(item)
    return out


def prepare_folder(root: Path, class_names: list[str]) -> None:
    """The class-folder tree and its README, before the camera opens: a bad place fails at once."""
    if root.exists() and not root.is_dir():
        raise UserError(f"--save-uncertain {root}: is a file; give a folder (it is created if missing)")
    try:
        for name in [UNSURE, *class_names]:
            (root / safe_name(name)).mkdir(parents=True, exist_ok=True)
        if not (root / "README.txt").exists():
            atomic_write_bytes(root / "README.txt", README.format(root=root).encode())
    except OSError as exc:
        raise UserError(f"--save-uncertain {root}: cannot write there ({exc.strerror or exc}); "
                        "choose a folder you can write to") from None


def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in name).strip() or "_"


class UncertainSaver:
    def __init__(self, root: Path, class_names: list[str], every: int = 30):
        prepare_folder(root, class_names)
        self.folder, self.every = root / UNSURE, every
        self.last_saved: dict[tuple, int] = {}
        self.count = 0

    def save(self, frame: int, unsure: list[Unsure], detections) -> None:
        tracks = {tuple(d.box): d.track for d in detections if d.track is not None}
        for item in unsure:
            track = tracks.get(tuple(item.box))
            key = ("track", track) if track is not None else ("cell", item.box[0] // 32, item.box[1] // 32, item.guess)
            if frame - self.last_saved.get(key, -self.every) < self.every:
                continue
            self.last_saved[key] = frame
            self.write(frame, item)

    def keep_all(self, frame: int, items: list[Unsure]) -> None:
        """Every crop of a frame, sure or not, when the user asks (the window's k key): a confident misread too."""
        for item in items:
            self.write(frame, item)
        log.info("kept %d crops of frame %d in %s", len(items), frame, self.folder)

    def write(self, frame: int, item: Unsure) -> None:
        x, y, w, h = item.box
        stem = f"f{frame:06d}_x{x}_y{y}_w{w}_h{h}_guess{safe_name(item.guess)}_p{item.probability:.2f}"
        path, n = self.folder / f"{stem}.png", 1
        while path.exists():  # never over a file already there
            path, n = self.folder / f"{stem}_{n}.png", n + 1
        ok, png = cv2.imencode(".png", item.crop)
        if ok:
            atomic_write_bytes(path, png.tobytes())
            self.count += 1
