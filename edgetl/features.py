"""Run the frozen prefix once over a dataset (and its augmented copies) and keep the features."""
from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from edgetl.augment import augmented_copy
from edgetl.distribute import predict_on_batch
from edgetl.precision import traced_in
from edgetl.progress import progress

IN_MEMORY_LIMIT = 2 * 1024 ** 3  # larger feature sets go to a temp file (FeatureFile)
BATCH = 128  # images per predict call, up to LARGE_INPUT pixels each
LARGE_INPUT = 128 * 128
LARGE_BATCH = 32  # bigger images: the backbone's activations for 128 images at 224 px take 1.75 GB, for 32 0.5 GB


def feature_batch(image_shape) -> int:
    """Images per predict call in the frozen-feature pass for images of ``image_shape`` (h, w, c)."""
    return BATCH if image_shape[0] * image_shape[1] <= LARGE_INPUT else LARGE_BATCH


class FeatureFile:
    """float32 rows in an unnamed temp file, written and read with pwrite/pread. Unlike a memory map, rows
    that were written or read stay in the page cache, outside the process: its resident memory does not grow
    with the file. Supports what training does with features: ``f[a:b] = rows``, ``f[a:b]``, ``f[::k]`` and
    ``f[sorted index array]``."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(np.float32)
        self._row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self._file = tempfile.TemporaryFile(prefix="edgetl-features-", suffix=".f32")
        self._file.truncate(self.shape[0] * self._row_bytes)

    def __len__(self) -> int:
        return self.shape[0]

    def __setitem__(self, rows: slice, values: np.ndarray) -> None:
        start, stop, step = rows.indices(len(self))
        data = np.ascontiguousarray(values, self.dtype)
        if step != 1 or len(data) != stop - start:
            raise ValueError(f"features: write {len(data)} rows to {start}:{stop}:{step}")
        view, offset = memoryview(data).cast("B"), start * self._row_bytes
        while view:  # pwrite may write less than asked
            written = os.pwrite(self._file.fileno(), view, offset)
            view, offset = view[written:], offset + written

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step == 1:
                return self._read(start, max(0, stop - start))
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows, np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"features: rows outside 0..{len(self) - 1}")
        # consecutive rows are read in one call
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        parts = [self._read(int(run[0]), len(run)) for run in np.split(rows, breaks) if len(run)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.shape[1:]), self.dtype)

    def _read(self, start: int, count: int) -> np.ndarray:
        data = os.pread(self._file.fileno(), count * self._row_bytes, start * self._row_bytes)
        return np.frombuffer(data, self.dtype).reshape(count, *self.shape[1:])


def allocate(shape: tuple[int, ...]) -> np.ndarray | FeatureFile:
    if np.prod(shape) * 4 <= IN_MEMORY_LIMIT:
        return np.empty(shape, np.float32)
    return FeatureFile(shape)


def extract(prefix, sets: dict[str, np.ndarray], augment: dict[str, int], seed: int,
            ray_address: str | None = None, redraw: dict | None = None,
            precision: str = "float32") -> dict[str, np.ndarray]:
    """{name: features}; ``augment[name]`` extra randomly transformed copies of that set are appended.
    ``ray_address``: computed by Ray actors instead (edgetl/features_ray.py), same features.
    ``redraw``: the features of the same sets from an earlier call; only their augmented copies are computed
    again (from ``seed``), over the old ones, and the images' own rows are kept as they are.
    ``precision``: "bfloat16" runs the prefix's convolutions in bfloat16 (edgetl/precision.py; not on Ray)."""
    feature_shape = tuple(prefix.output_shape[1:])
    first = 0 if redraw is None else 1
    totals = {name: len(x) * (1 + augment.get(name, 0) - first) for name, x in sets.items()}
    out = redraw if redraw is not None else \
        {name: allocate((len(x) * (1 + augment.get(name, 0)),) + feature_shape) for name, x in sets.items()}
    with progress() as bar:
        task = bar.add_task("frozen features", total=sum(totals.values()), info=f"-> {feature_shape}")
        if ray_address is not None:
            from edgetl.features_ray import extract_on_ray

            return extract_on_ray(prefix, sets, augment, seed, ray_address, out, bar, task, first)
        with traced_in(precision):
            for name, x in sets.items():
                for copy in range(first, 1 + augment.get(name, 0)):
                    base = copy * len(x)
                    for i, batch in prepared_batches(x, seed + copy if copy else None):
                        out[name][base + i:base + i + len(batch)] = predict_on_batch(prefix, batch)
                        bar.update(task, advance=len(batch))
    return out


def prepared_batches(x, augment_seed: int | None):
    """(start, batch) over ``x``, each batch read (folders: decoded from disk) and, with a seed, augmented on a
    second thread while the caller predicts the one before (TensorFlow and OpenCV both release the GIL).

    One generator per copy, carried from batch to batch and used by one thread at a time: the same images as
    augmented_copy(x, augment_seed), made a batch at a time (x is never all in memory)."""
    rng = np.random.default_rng(augment_seed) if augment_seed is not None else None
    step = feature_batch(x.shape[1:])

    def load(i: int) -> np.ndarray:
        batch = x[i:i + step]
        return augmented_copy(batch, rng) if rng is not None else batch

    with ThreadPoolExecutor(1, thread_name_prefix="edgetl-read") as reader:
        pending = reader.submit(load, 0)
        for i in range(0, len(x), step):
            batch = pending.result()
            if i + step < len(x):
                pending = reader.submit(load, i + step)
            yield i, batch


def batches_from_disk(keras, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """A keras PyDataset over features in a FeatureFile: each batch read from the file as fit asks for it
    (given the whole array, fit would copy it into memory). Shuffled once per epoch, rows of a batch read in file
    order."""

    class FeatureBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = np.arange(len(y))  # y may be x's first rows
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self) -> int:
            return -(-len(y) // batch_size)

        def __getitem__(self, i: int):
            rows = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            return x[rows], y[rows]

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return FeatureBatches()
