"""`edgetl train --features-on-ray`: the frozen prefix runs as Ray actors; the features, and so the trained
model, are the ones the in-process pass gives."""
from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from conftest import run_cli, write_shapes

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray (the [scale] extra) is not installed")
TINY = ["--weights", "none", "--input-size", "32", "--feature-layer", "block2_pool", "--units", "16",
        "--dropout", "0", "--epochs", "3", "--augment", "2", "--overwrite"]


def test_features_on_ray_train_the_same_model(tmp_path):
    from edgetl._deps import import_keras

    data = write_shapes(tmp_path / "shapes", per_class=16)
    # the actors compute in float32: so does the in-process pass here (auto is bfloat16 on CPUs that have it)
    here = run_cli("train", "--data", data, "--out", tmp_path / "here", *TINY, "--feature-precision", "float32")
    on_ray = run_cli("train", "--data", data, "--out", tmp_path / "ray", *TINY, "--features-on-ray")
    assert here.returncode == 0 and on_ray.returncode == 0, on_ray.stderr[-3000:]
    keras = import_keras()
    images = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    a = keras.models.load_model(tmp_path / "here" / "model.keras").predict(images, verbose=0)
    b = keras.models.load_model(tmp_path / "ray" / "model.keras").predict(images, verbose=0)
    np.testing.assert_allclose(b, a, atol=1e-5)  # augmented copies included: same seeds, same features
    assert (tmp_path / "here" / "history.csv").read_text() == (tmp_path / "ray" / "history.csv").read_text()


def test_unreachable_cluster_fails_before_training(tmp_path):
    start = time.perf_counter()
    result = run_cli("train", "--data", "mnist-5k", "--out", tmp_path / "run", "--features-on-ray", "127.0.0.1:9")
    assert result.returncode == 2 and "--features-on-ray 127.0.0.1:9: cannot reach it" in result.stderr
    assert time.perf_counter() - start < 60 and not (tmp_path / "run").exists()


def test_a_folder_goes_to_ray_a_window_at_a_time_with_the_in_process_features(tmp_path, monkeypatch):
    """Several windows (the last one short), the folder never decoded whole, augmented copies carried from
    window to window: the features equal the in-process pass's."""
    from edgetl import features
    from edgetl import features_ray
    from edgetl._deps import import_keras
    from edgetl.data import load_dataset
    from edgetl.data.lazy import ImageFiles

    keras = import_keras()
    x, _ = load_dataset(str(write_shapes(tmp_path / "shapes", per_class=11)), image_size=16).split("train")
    prefix = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(0.5)])
    monkeypatch.setattr(features, "BATCH", 4)
    monkeypatch.setattr(features_ray, "WINDOW_BYTES", 16 * 16 * 3 * 9)  # 8 images a window: 22 = 8 + 8 + 6
    windows = []
    real = features_ray.window_features
    monkeypatch.setattr(features_ray, "window_features", lambda ray, images, *a: windows.append(len(images)) or
                        real(ray, images, *a))
    here = features.extract(prefix, {"train": x}, {"train": 1}, seed=3)["train"]
    monkeypatch.setattr(ImageFiles, "__array__", lambda *a, **k: pytest.fail("the whole folder was decoded"))
    on_ray = features.extract(prefix, {"train": x}, {"train": 1}, seed=3, ray_address="local")["train"]
    assert windows == [8, 8, 6] * 2
    np.testing.assert_array_equal(on_ray, here)
