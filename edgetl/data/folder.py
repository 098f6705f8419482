"""Image folders: one subfolder per class, optionally split into train/ validation|val/ test/."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgetl.runtime.errors import UserError
from edgetl.runtime.images import IMAGE_SUFFIXES, is_gray, read_image

from . import Dataset
from .lazy import ImageFiles

log = logging.getLogger(__name__)
DEFAULT_SIZE = 128
SPLIT_FOLDERS = {"train": ("train",), "val": ("validation", "val"), "test": ("test",)}


def load_folder(root: Path, task: str, size: int) -> Dataset:
    if task != "classification":
        raise UserError(f"{root}: image folders hold classes; regression needs a .npz with x, y")
    split_dirs = find_split_dirs(root)
    class_names = class_folders(split_dirs.get("train", root))
    skipped: list[tuple[str, str]] = []
    raw: dict[str, tuple[list, list]] = {}
    colour = []
    for split, folder in split_dirs.items():
        raw[split] = read_split(folder, class_names, skipped, colour)
    channels = 3 if any(colour) else 1
    # the files are read again, a batch at a time, when training uses them: never all in memory
    splits = {split: (ImageFiles(paths, size, size, channels), np.array(labels))
              for split, (paths, labels) in raw.items() if paths}
    if "train" not in splits:
        raise UserError(f"{root}: no usable images left ({len(skipped)} skipped); add JPEG, PNG or BMP files")
    return Dataset(root.name, splits, class_names, "bgr" if channels == 3 else "gray", skipped=skipped)


def find_split_dirs(root: Path) -> dict[str, Path]:
    """{"train": root/train, ...} when the folder is pre-split, else {"train": root}."""
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir():
                found[split] = root / name
                break
    if found and "train" not in found:
        raise UserError(f"{root}: has {', '.join(p.name for p in found.values())}/ but no train/ folder")
    return found or {"train": root}


UNSURE = "unsure"  # `edgetl run --save-uncertain` puts crops still to be sorted here: not a class


def has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file())


def class_folders(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if UNSURE in names:
        names.remove(UNSURE)
        log.info("%s: %s/ left out (crops still to be sorted into the class folders)", folder, UNSURE)
    empty = [name for name in names if not has_images(folder / name)]
    if empty and len(empty) < len(names):
        log.warning("%s: no images in %s: left out", folder, ", ".join(f"{name}/" for name in empty))
        names = [name for name in names if name not in empty]
    if len(names) < 2:
        raise UserError(f"{folder}: found {len(names)} class folder(s) {names}; need at least 2, "
                        "one subfolder per class")
    return names


def read_split(folder: Path, class_names: list[str], skipped: list, colour: list) -> tuple[list, list]:
    """(paths, labels) of the readable images; each is decoded once here to check it (unreadable ones go to
    ``skipped``) and to note whether it has colour (``colour`` gets one bool per image)."""
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = folder / name
        if not class_dir.is_dir():
            raise UserError(f"{folder}: class folder {name}/ is missing (train/ has it)")
        count = 0
        for path in sorted(class_dir.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            image = read_image(path) if path.suffix.lower() in IMAGE_SUFFIXES else None
            if image is None:
                skipped.append((str(path), "not a readable JPEG, PNG or BMP image"))
                continue
            colour.append(not is_gray(image))
            paths.append(str(path))
            labels.append(label)
            count += 1
        if count == 0 and folder.name not in ("test", "val", "validation"):
            raise UserError(f"{class_dir}: class {name!r} has no usable images; add some or remove the folder")
    return paths, labels
