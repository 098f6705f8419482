"""Shared fixtures: tiny generated datasets and tiny trained models, built once per session."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # bench/clips.py: the test clips' renderer and scoring (not installed)
EDGETL = [sys.executable, "-m", "edgetl"]


def default_signals() -> None:
    # A test run started in the background (`make test &`, some CI runners) inherits SIGINT ignored,
    # and edgetl rightly keeps a signal the user ignored ignored: give the child the default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """proc.communicate, but a child that outlives the timeout is killed, not left running after the test."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """edgetl in a subprocess, as a user runs it."""
    return subprocess.run([*EDGETL, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def shape_image(kind: str, rng: np.random.Generator, size: int = 40) -> np.ndarray:
    """A colour image of a filled circle or square on a noisy background."""
    image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    colour = tuple(int(v) for v in rng.integers(150, 256, 3))
    c, r = size // 2 + int(rng.integers(-4, 5)), int(rng.integers(size // 5, size // 3))
    if kind == "circle":
        cv2.circle(image, (c, c), r, colour, -1)
    else:
        cv2.rectangle(image, (c - r, c - r), (c + r, c + r), colour, -1)
    return image


def write_shapes(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for kind in ("circle", "square"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            cv2.imwrite(str(root / kind / f"{i}.png"), shape_image(kind, rng))
    return root


@pytest.fixture
def shapes_folder(tmp_path) -> Path:
    return write_shapes(tmp_path / "shapes")


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory) -> Path:
    """A slice of the embedded MNIST digits in Keras's mnist.npz layout."""
    from edgetl.data import load_dataset

    ds = load_dataset("mnist-5k")
    x_train, y_train = ds.split("train")
    x_test, y_test = ds.split("test")
    path = tmp_path_factory.mktemp("npz") / "digits.npz"
    np.savez(path, x_train=x_train[:600, :, :, 0], y_train=y_train[:600], x_test=x_test[:300, :, :, 0],
             y_test=y_test[:300])
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A quick classifier on generated shapes: random weights, 32 px, cut after block2."""
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.train import train

    data = write_shapes(tmp_path_factory.mktemp("data") / "shapes", per_class=16)
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train(TrainConfig(data=str(data), out=out, weights="none", input_size=32, feature_layer="block2_pool",
                             head=HeadConfig(units=16), epochs=3, augment=0, overwrite=True))


@pytest.fixture(scope="session")
def digit_run(tmp_path_factory, digits_npz) -> Path:
    """A real (small) digit reader: packaged VGG16 weights, 32 px, cut after block3, fp32 + int8 ONNX."""
    from edgetl.config import TrainConfig
    from edgetl.exporting import ExportOptions, export
    from edgetl.model import HeadConfig
    from edgetl.train import train

    out = tmp_path_factory.mktemp("runs") / "digits"
    train(TrainConfig(data="mnist-5k", out=out, weights="hed-bsds500", input_size=32, feature_layer="block3_pool",
                      head=HeadConfig(units=0), epochs=10, augment=0, limit=1500, overwrite=True,
                      desk_calibration=0))  # the desk-reading tests' bars are set on this model as trained
    export(out, ExportOptions(quantize="int8", calib_size=64))
    return out


class FakeModel:
    """Just enough of edgetl.runtime.Model for app.run: every frame reads "a"."""

    provider = "CPU"

    def __init__(self):
        from edgetl.runtime.card import ModelCard

        self.card = ModelCard(task="classification", class_names=["a", "b"], input_shape=[32, 32, 3],
                              color_order="bgr", backbone="vgg16", weights="none", backbone_input=[32, 32],
                              feature_layer="block1_pool")

    def warmup(self):
        pass

    def predict_batch(self, batch):
        return np.tile(np.float32([[0.9, 0.1]]), (len(batch), 1))

    def labels(self, outputs, k=1):
        return [[("a", float(row[0]))] for row in outputs]
