"""`edgetl train --features-on-ray [ADDRESS]`: the frozen prefix (TensorFlow) runs as Ray actors over the training
images and their augmented copies; the features come back in order into the same cache the in-process pass
fills, and the trainable part is fitted here as usual.

The prefix travels as a .keras file through Ray's object store and each actor loads it with safe_mode on (it
holds only built-in layers); augmented copies are made here, with the same seeds as in-process, so the
features (and the model trained on them) match the in-process ones. Images are read (folders: from disk) and
sent a window at a time, never all at once. Workers need `edgetl[train,scale]`.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from edgetl.augment import augmented_copy
from edgetl.features import feature_batch
from edgetl.ray_session import import_ray, start

log = logging.getLogger(__name__)
OPTION = "--features-on-ray"
WINDOW_BYTES = 256 << 20  # decoded images held here and in the object store at a time


class PrefixActor:
    """One Ray actor: the frozen prefix in TensorFlow, limited to the CPUs Ray gave it."""

    def __init__(self, model_bytes, threads: int):
        import ray

        if isinstance(model_bytes, ray.ObjectRef):
            model_bytes = ray.get(model_bytes)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from edgetl._deps import import_keras

        keras = import_keras()
        with tempfile.TemporaryDirectory(prefix="edgetl-prefix-") as tmp:
            path = Path(tmp) / "prefix.keras"
            path.write_bytes(model_bytes)
            self.prefix = keras.models.load_model(path, safe_mode=True, compile=False)

    def __call__(self, batch: dict) -> dict:
        return {"features": self.prefix.predict_on_batch(batch["image"])}


def prefix_bytes(prefix) -> bytes:
    with tempfile.TemporaryDirectory(prefix="edgetl-prefix-") as tmp:
        path = Path(tmp) / "prefix.keras"
        prefix.save(path)
        return path.read_bytes()


def extract_on_ray(prefix, sets: dict[str, np.ndarray], augment: dict[str, int], seed: int, address: str,
                   out: dict[str, np.ndarray], bar=None, task=None, first: int = 0) -> dict[str, np.ndarray]:
    """Fill ``out`` (allocated by features.extract) with the prefix's features, computed by Ray actors, from
    copy ``first`` on (1: the augmented copies only)."""
    ray = import_ray(OPTION)
    started_here = start(ray, address, OPTION)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # one CPU per actor in Ray's books (a whole-machine actor would leave Ray Data none and stall), and
        # TensorFlow threads to fill the machine between them
        workers = max(1, cpus // 2)
        threads = max(1, cpus // workers)
        log.info("%s: %d TensorFlow actor(s) x %d thread(s) on %d CPU(s)", OPTION, workers, threads, cpus)
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        model_ref = ray.put(prefix_bytes(prefix))
        for name, x in sets.items():
            for copy in range(first, 1 + augment.get(name, 0)):
                # one generator per copy, carried from window to window: the same copy as in-process
                rng = np.random.default_rng(seed + copy) if copy else None
                at, window = copy * len(x), window_size(x.shape[1:])
                for begin in range(0, len(x), window):
                    images = x[begin:begin + window]
                    if rng is not None:
                        images = augmented_copy(images, rng)
                    out[name][at:at + len(images)] = window_features(ray, images, model_ref, workers, threads,
                                                                     bar, task)
                    at += len(images)
    finally:
        if started_here:
            ray.shutdown()
    return out


def window_size(image_shape) -> int:
    """Images sent to the cluster at once: WINDOW_BYTES of decoded pixels, whole batches (every digit set
    fits one window; 224-px photos go about 1,800 at a time, each window a fresh pool of actors)."""
    step = feature_batch(image_shape)
    return max(step, WINDOW_BYTES // int(np.prod(image_shape)) // step * step)


def window_features(ray, images: np.ndarray, model_ref, workers: int, threads: int, bar, task) -> np.ndarray:
    """The prefix's features for one window of images, in order, from Ray actors."""
    step = feature_batch(images.shape[1:])
    dataset = ray.data.from_numpy(np.ascontiguousarray(images)).rename_columns({"data": "image"})
    features = dataset.map_batches(PrefixActor, fn_constructor_args=(model_ref, threads), batch_size=step,
                                   batch_format="numpy", concurrency=workers, num_cpus=1)
    parts = []
    for batch in features.iter_batches(batch_size=step, batch_format="numpy"):
        parts.append(batch["features"])
        if bar is not None:
            bar.update(task, advance=len(batch["features"]))
    got = sum(len(p) for p in parts)
    if got != len(images):
        raise RuntimeError(f"{OPTION}: {got} features came back for {len(images)} images")
    return np.concatenate(parts)
