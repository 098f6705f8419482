"""Image files read on demand: a folder's or a CSV's images are never all held in memory at once.

``ImageFiles`` looks enough like a uint8 (N, H, W, C) array for training, export and evaluation: ``len`` and
``shape``; a slice decodes those images (one batch at a time, as the frozen-feature pass and prediction
read them); an index array picks a subset and stays on disk (the train/validation split, ``--limit``).
``numpy.asarray`` decodes everything, for the few places that need it whole.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetl.runtime.errors import UserError
from edgetl.runtime.images import fit_batch, read_image


class ImageFiles:
    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, paths: list[str], height: int, width: int, channels: int):
        self.paths = [str(p) for p in paths]
        self.image_shape = (int(height), int(width), int(channels))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), *self.image_shape)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.decode([self.paths[key]])[0]
        if isinstance(key, slice):
            return self.decode(self.paths[key])
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return ImageFiles([self.paths[int(i)] for i in index], *self.image_shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.decode(self.paths)
        return whole if dtype is None else whole.astype(dtype)

    def decode(self, paths: list[str]) -> np.ndarray:
        height, width, channels = self.image_shape
        if not paths:
            return np.zeros((0, *self.image_shape), np.uint8)
        images = [read_image(Path(path)) for path in paths]
        for path, image in zip(paths, images):
            if image is None:
                raise UserError(f"{path}: can no longer be read as an image (changed or removed during training); "
                                "restore it or remove it from the data")
        return fit_batch(images, height, width, channels)
