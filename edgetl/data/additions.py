"""`edgetl train --add DIR`: more labelled images, trained on beside --data.

The loop this closes: `edgetl run --save-uncertain DIR` keeps the crops the model refused or was unsure of, the
user sorts them into DIR's class folders (a misread 7 into 7/, a grid crossing read as a 1 into "not a digit"/),
and `edgetl train --data mnist-5k --add DIR` learns from them alongside the digits it had: the model reads that
user's handwriting, pens and paper better (`bench/relabel.py`: 52 sorted crops of other writers' digits took
those writers' other digits from 93.3% to 95.4%).

Added images join the training split only (validation and test stay --data's own, so the figures a run reports
remain comparable), are brought to --data's image shape the way training loads any image, and go through the
same augmented copies. Nothing in DIR is moved or rewritten.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgetl.digit_extras import REJECT_CLASS
from edgetl.runtime.errors import UserError
from edgetl.runtime.images import IMAGE_SUFFIXES, read_image

from .folder import UNSURE
from .lazy import ImageFiles

log = logging.getLogger(__name__)


def check_add_folders(roots, task: str) -> None:
    """Before any data or TensorFlow is loaded: every --add is a folder, and the task has classes."""
    if roots and task != "classification":
        raise UserError(f"--add: class folders label classes; --task {task} cannot take them "
                        "(put the extra samples in the .npz instead)")
    for root in roots:
        if not Path(root).is_dir():
            what = "is a file, not a folder" if Path(root).exists() else "no such folder"
            raise UserError(f"--add {root}: {what}; give a folder with one subfolder per class "
                            "(e.g. the one `edgetl run --save-uncertain` wrote, its crops sorted)")


def class_dirs(root: Path, class_names: list[str], data: str) -> list[tuple[Path, int]]:
    """(folder, class index) for each class folder of ``root``; unsure/ and hidden folders are not classes."""
    check_add_folders([root], "classification")
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name == UNSURE:
            continue
        if folder.name not in class_names:
            hint = " (--no-reject leaves digit models without it)" if folder.name == REJECT_CLASS else ""
            raise UserError(f"--add {root}: folder {folder.name}/ is not a class of --data {data} "
                            f"({', '.join(class_names)}){hint}; rename it to one of them or move it out")
        found.append((folder, class_names.index(folder.name)))
    return found


def load_additions(roots: list[Path], class_names: list[str], data: str) -> tuple[list[str], np.ndarray]:
    """(image paths, labels) from the class folders of every root; files that are not readable images skipped."""
    paths, labels, skipped = [], [], 0
    for root in roots:
        for folder, label in class_dirs(Path(root), class_names, data):
            for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
                if path.suffix.lower() not in IMAGE_SUFFIXES or read_image(path) is None:
                    skipped += 1
                    log.warning("--add: skipped %s: not a readable JPEG, PNG or BMP image", path)
                    continue
                paths.append(str(path))
                labels.append(label)
    if not paths:
        where = ", ".join(str(r) for r in roots)
        raise UserError(f"--add {where}: no images in its class folders ({skipped} unreadable); sort the crops "
                        f"from {UNSURE}/ into the folders of what they are first")
    log.info("--add: %d images from %s", len(paths), ", ".join(str(r) for r in roots))
    return paths, np.asarray(labels, np.int64)


def with_additions(train: tuple, roots, class_names: list[str], data: str) -> tuple:
    """The training split (x, y) with the images of ``roots`` after it, read as --data's images are: a folder's
    stay files on disk (read a batch at a time), arrays get them decoded to their shape."""
    if not roots:
        return train
    x, y = train
    paths, labels = load_additions([Path(root) for root in roots], class_names, data)
    if isinstance(x, ImageFiles):
        return ImageFiles(x.paths + paths, *x.image_shape), np.concatenate([y, labels.astype(y.dtype)])
    added = ImageFiles(paths, *x.shape[1:]).decode(paths)
    warn_if_inverted(np.asarray(x[:500]), added, data)
    return np.concatenate([np.asarray(x), added]), np.concatenate([y, labels.astype(y.dtype)])


def border_level(images: np.ndarray) -> np.ndarray:
    """Each image's mean over its outer 2-px frame: the background's brightness."""
    frame = np.ones(images.shape[1:3], bool)
    frame[2:-2, 2:-2] = False
    return images[:, frame].reshape(len(images), -1).mean(axis=1)


def warn_if_inverted(data: np.ndarray, added: np.ndarray, spec: str) -> None:
    """Say so when added images have the opposite background to --data's (photos of dark ink on white paper added to
    MNIST's light-on-black crops): trained as they are, they teach the model little about either."""
    if not len(data):
        return
    level = float(np.median(border_level(data)))
    flipped = np.abs(border_level(added) - level) > 100
    if flipped.any():
        log.warning("--add: %d of %d images have a %s background where --data %s's are %s; give them as --data's "
                    "images are (for digits: the crops `edgetl run --save-uncertain` writes)", int(flipped.sum()),
                    len(added), "light" if level < 128 else "dark", spec, "dark" if level < 128 else "light")
