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
    here = run_cli("train", "--data", data, "--out", tmp_path / "here", *TINY)
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
