import csv
import json

import numpy as np
import pytest

from conftest import run_cli
from edgetl.rundir import load_run
from edgetl.runtime.card import ModelCard

pytestmark = pytest.mark.slow


def test_run_directory_is_complete(tiny_run):
    names = {p.name for p in tiny_run.iterdir()}
    assert {"model.keras", "card.json", "history.csv", "curves.png", "confusion.png", "metrics.json"} <= names
    assert not [n for n in names if n.startswith(".")]
    card = ModelCard.load(tiny_run / "card.json")
    assert card.class_names == ["circle", "square"] and card.input_shape == [32, 32, 3]
    assert card.color_order == "bgr" and card.feature_layer == "block2_pool" and card.weights == "none"
    rows = list(csv.DictReader(open(tiny_run / "history.csv")))
    assert rows and {"loss", "val_loss", "accuracy", "val_accuracy", "stage"} <= set(rows[0])


def test_saved_model_is_whole_and_reproduces_metrics(tiny_run):
    from edgetl.train import predict

    model, card = load_run(tiny_run)
    assert model.input.dtype == "uint8"
    assert not [layer for layer in model.layers if layer.__class__.__name__ == "Lambda"]
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    probs = predict(model, x)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_cli_train_then_evaluate_on_a_folder(shapes_folder, tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--data", shapes_folder, "--out", out, "--weights", "none", "--input-size", "32",
                     "--feature-layer", "block1_pool", "--epochs", "2", "--augment", "1", "--units", "8")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "I0000" not in result.stderr  # TF start-up noise silenced
    evaluated = run_cli("evaluate", out, "--data", shapes_folder, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["n"] == 24 and 0.0 <= report["accuracy"] <= 1.0 and report["split"] == "train"
    again = run_cli("train", "--data", shapes_folder, "--out", out, "--weights", "none", "--input-size", "32")
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr


def test_freeze_fine_tunes_the_top_of_the_backbone(shapes_folder, tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.train import train

    out = train(TrainConfig(data=str(shapes_folder), out=tmp_path / "ft", weights="none", input_size=32,
                            feature_layer="block2_pool", head=HeadConfig(units=8), epochs=1, augment=0,
                            freeze=3, fine_tune_epochs=1))
    stages = [row["stage"] for row in csv.DictReader(open(out / "history.csv"))]
    assert stages == ["head", "fine-tune"]


@pytest.mark.parametrize("args, message", [
    (["--data", "no/such/folder"], "no such file or folder"),
    (["--backbone", "resnet"], "valid: vgg16"),
    (["--weights", "imagenett"], "valid: imagenet"),
    (["--input-size", "28"], "at least 32"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    result = run_cli("train", "--out", tmp_path / "run", *args, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_regression_head_trains_and_exports(tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.exporting import ExportOptions, export
    from edgetl.model import HeadConfig
    from edgetl.train import train

    rng = np.random.default_rng(0)
    y = rng.uniform(0, 1, 120).astype(np.float32)
    x = (rng.uniform(0, 1, (120, 32, 32)) * 255 * y[:, None, None]).astype(np.uint8)  # brightness ~ target
    np.savez(tmp_path / "bright.npz", x=x, y=y)
    run = train(TrainConfig(data=str(tmp_path / "bright.npz"), out=tmp_path / "reg", task="regression",
                            weights="none", input_size=32, feature_layer="block1_pool", head=HeadConfig(units=8),
                            epochs=3, augment=0))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val"]["mae"] >= 0 and "accuracy" not in metrics["val"]
    assert ModelCard.load(run / "card.json").task == "regression"
    report = export(run, ExportOptions(quantize="int8", calib_size=32, max_drop=10.0))
    assert {"mae_before", "mae_after", "mae_change"} <= set(report["int8"])
