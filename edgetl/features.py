"""Run the frozen prefix once over a dataset (and its augmented copies) and keep the features."""
from __future__ import annotations

import tempfile

import numpy as np

from edgetl.augment import augmented_copy
from edgetl.distribute import predict_on_batch
from edgetl.progress import progress

IN_MEMORY_LIMIT = 2 * 1024 ** 3  # larger feature sets go to a memory-mapped temp file
BATCH = 128


def allocate(shape: tuple[int, ...]) -> np.ndarray:
    if np.prod(shape) * 4 <= IN_MEMORY_LIMIT:
        return np.empty(shape, np.float32)
    tmp = tempfile.NamedTemporaryFile(prefix="edgetl-features-", suffix=".f32")
    out = np.memmap(tmp, dtype=np.float32, mode="w+", shape=shape)
    out._edgetl_tmp = tmp  # keeps the file alive as long as the array
    return out


def extract(prefix, sets: dict[str, np.ndarray], augment: dict[str, int], seed: int,
            ray_address: str | None = None) -> dict[str, np.ndarray]:
    """{name: features}; ``augment[name]`` extra randomly transformed copies of that set are appended.
    ``ray_address``: computed by Ray actors instead (edgetl/features_ray.py), same features."""
    feature_shape = tuple(prefix.output_shape[1:])
    totals = {name: len(x) * (1 + augment.get(name, 0)) for name, x in sets.items()}
    out = {name: allocate((n,) + feature_shape) for name, n in totals.items()}
    with progress() as bar:
        task = bar.add_task("frozen features", total=sum(totals.values()), info=f"-> {feature_shape}")
        if ray_address is not None:
            from edgetl.features_ray import extract_on_ray

            return extract_on_ray(prefix, sets, augment, seed, ray_address, out, bar, task)
        for name, x in sets.items():
            for copy in range(1 + augment.get(name, 0)):
                # one generator per copy, carried from batch to batch: the same copy as augmented_copy(x, seed +
                # copy), made a batch at a time (x may be files read on demand, never all in memory)
                rng = np.random.default_rng(seed + copy) if copy else None
                base = copy * len(x)
                for i in range(0, len(x), BATCH):
                    batch = x[i:i + BATCH]
                    if rng is not None:
                        batch = augmented_copy(batch, rng)
                    out[name][base + i:base + i + len(batch)] = predict_on_batch(prefix, batch)
                    bar.update(task, advance=len(batch))
    return out


def batches_from_disk(keras, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """A keras PyDataset over memory-mapped features: each batch read from the file as fit asks for it (given
    the whole array, fit would copy it into memory). Shuffled once per epoch, rows of a batch read in file
    order."""

    class FeatureBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = np.arange(len(x))
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self) -> int:
            return -(-len(x) // batch_size)

        def __getitem__(self, i: int):
            rows = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            return np.asarray(x[rows]), y[rows]

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return FeatureBatches()
