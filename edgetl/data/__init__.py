"""Datasets: a spec (a name, a .npz file, an image folder) to uint8 image arrays and labels."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgetl.runtime.errors import UserError

SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """Images as uint8 (N, H, W, C) in OpenCV order (gray or BGR), split by name. A folder's or a CSV's images
    are a ``lazy.ImageFiles`` (read from disk as sliced; ``numpy.asarray`` decodes them all)."""

    name: str
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    class_names: list[str]
    color_order: str
    digits: bool = False
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return next(iter(self.splits.values()))[0].shape[1:]

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self.splits:
            raise UserError(f"{self.name}: has no {name!r} split (it has {', '.join(self.splits)})")
        return self.splits[name]


def load_dataset(spec: str, task: str = "classification", image_size: int | None = None,
                 csv_columns: dict | None = None) -> Dataset:
    """``mnist-5k``, ``mnist``, ``fashion-mnist``, a ``.npz`` file, a ``.csv`` (file name, class) or an image folder.

    ``image_size`` only matters for folders, whose images come in all sizes: they are resized to it.
    """
    from . import arrays, folder

    if spec in arrays.NAMED:
        return arrays.load_named(spec)
    path = Path(spec)
    if not path.exists():
        raise UserError(f"--data {spec}: no such file or folder; use mnist-5k, mnist, fashion-mnist, "
                        "a .npz file, a .csv of image files and labels, or a folder with one subfolder per class")
    if path.is_dir():
        return folder.load_folder(path, task, image_size or folder.DEFAULT_SIZE)
    if path.suffix == ".npz":
        return arrays.load_npz(path, task)
    if path.suffix.lower() == ".csv":
        from . import table

        return table.load_csv(path, task, image_size or folder.DEFAULT_SIZE, csv_columns)
    raise UserError(f"--data {spec}: not a .npz file, a .csv of image files and labels, or an image folder")
