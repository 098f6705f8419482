"""`edgetl train --distribute mirrored` (tf.distribute.MirroredStrategy), checked on two logical CPU devices:
the same global batch gives the same model as one device, through the head and the fine-tuning stage."""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from conftest import EDGETL, ROOT, write_shapes

TINY = ["--weights", "none", "--input-size", "32", "--feature-layer", "block2_pool", "--units", "16",
        "--dropout", "0", "--epochs", "2", "--augment", "0", "--freeze", "3", "--fine-tune-epochs", "2",
        "--overwrite"]


def train(data, out, *extra, replicas: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("EDGETL_CPU_REPLICAS", None)
    if replicas is not None:
        env["EDGETL_CPU_REPLICAS"] = str(replicas)
    return subprocess.run([*EDGETL, "train", "--data", str(data), "--out", str(out), *TINY, *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def outputs(run, images) -> np.ndarray:
    from edgetl._deps import import_keras

    return import_keras().models.load_model(run / "model.keras").predict(images, verbose=0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("distribute")
    data = write_shapes(root / "shapes", per_class=16)
    made = {
        "one": train(data, root / "one", "--batch-size", "8"),
        "two": train(data, root / "two", "--batch-size", "4", "--distribute", "mirrored", replicas=2),
        "two_b8": train(data, root / "two_b8", "--batch-size", "8", "--distribute", "mirrored", replicas=2),
    }
    for name, result in made.items():
        assert result.returncode == 0, (name, result.stderr[-3000:])
    return root, made


def test_two_replicas_train_the_same_model_as_one_device(runs):
    root, made = runs
    assert "2 replica(s)" in made["two"].stderr
    assert json.loads((root / "two" / "card.json").read_text())["training"]["distribute"] == "mirrored"
    history = (root / "two" / "history.csv").read_text()
    assert "fine-tune" in history  # both stages ran under the strategy
    images = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    one, two = outputs(root / "one", images), outputs(root / "two", images)
    np.testing.assert_allclose(two, one, atol=1e-4)


def test_batch_size_is_per_replica(runs):
    root, _ = runs
    images = np.random.default_rng(1).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    one, doubled = outputs(root / "one", images), outputs(root / "two_b8", images)
    # 2 replicas x 8 is a global batch of 16: half the steps per epoch, so a different model
    assert np.abs(doubled - one).max() > 1e-3


@pytest.mark.parametrize("args, replicas, message", [
    (["--distribute", "ring"], None, "--distribute ring: valid: mirrored"),
    (["--distribute", "mirrored"], "many", "EDGETL_CPU_REPLICAS='many'"),
])
def test_bad_distribute_values(tmp_path, args, replicas, message):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if replicas is not None:
        env["EDGETL_CPU_REPLICAS"] = replicas
    result = subprocess.run([*EDGETL, "train", "--data", "mnist-5k", "--out", str(tmp_path / "run"), *args],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_odd_sets_train_and_fine_tune_on_two_replicas(tmp_path):
    """200 digits hold out an odd number of validation rows, fewer than a batch. On 2 replicas Keras stopped at the
    first validation batch ("Inputs to operation AddN ... must have the same size"), and once that split evenly, the
    fine-tuning stage stopped in its first convolution on the last batch of 1 row, which left a replica none
    ("input depth must be evenly divisible by filter depth"). Both stages now run, on all rows but the odd one."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "EDGETL_CPU_REPLICAS": "2"}
    result = subprocess.run([*EDGETL, "train", "--data", "mnist-5k", "--out", str(tmp_path / "run"), "--limit", "200",
                             "--weights", "none", "--input-size", "32", "--feature-layer", "block2_pool", "--epochs",
                             "1", "--augment", "0", "--desk-calibration", "0", "--batch-size", "16", "--freeze", "3",
                             "--fine-tune-epochs", "1", "--distribute", "mirrored"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    n_val = json.loads((tmp_path / "run" / "metrics.json").read_text())["val"]["n"]
    assert n_val % 2 == 1 and n_val < 32
    history = (tmp_path / "run" / "history.csv").read_text()
    assert "fine-tune" in history
    assert result.stderr.count("1 of %d validation rows left out" % n_val) == 1  # said once, not once a stage or pass


def test_every_batch_splits_evenly_over_the_replicas():
    from edgetl.fitting import rows_for_replicas
    from edgetl.runtime.errors import UserError

    x, y = np.arange(34).reshape(17, 2), np.arange(17)
    kept_x, kept_y = rows_for_replicas(x, y, 2, "validation")
    assert kept_y.tolist() == list(range(16)) and kept_x.tolist() == x[:16].tolist()
    assert len(rows_for_replicas(x, y, 4, "validation")[1]) == 16
    assert len(rows_for_replicas(x, y, 1, "validation")[1]) == 17  # one device: every row
    assert len(rows_for_replicas(x[:0], y[:0], 1, "validation")[1]) == 0  # no rows: no error
    with pytest.raises(UserError, match="1 validation row.*2 replicas"):
        rows_for_replicas(x[:1], y[:1], 2, "validation")
