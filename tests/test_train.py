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


def val_split_of(run):
    """The validation split train() used for ``run``, rebuilt from its card (data, seed) as train() builds it."""
    from edgetl.config import TrainConfig
    from edgetl.data import load_dataset
    from edgetl.train import split_data

    card = ModelCard.load(run / "card.json")
    config = TrainConfig(data=card.training["data"], out=run, task=card.task, weights=card.weights,
                         input_size=card.backbone_input[0], feature_layer=card.feature_layer,
                         seed=card.training["seed"])
    dataset = load_dataset(config.data, config.task, config.input_size)
    return split_data(dataset, config)[1]


def test_saved_model_is_whole_and_reproduces_metrics(tiny_run):
    from edgetl.train import predict

    model, card = load_run(tiny_run)
    assert model.input.dtype == "uint8"
    assert not [layer for layer in model.layers if layer.__class__.__name__ == "Lambda"]
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    x_val, y_val = val_split_of(tiny_run)
    probs = predict(model, x_val)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    predicted = probs.argmax(axis=1)
    assert metrics["val"]["n"] == len(y_val) == 4  # 16 per class, 10% of each held out (rounded to 2)
    assert metrics["val"]["accuracy"] == pytest.approx(float(np.mean(predicted == y_val)), abs=1e-9)
    confusion = np.zeros((2, 2), int)
    np.add.at(confusion, (y_val, predicted), 1)
    assert metrics["val"]["confusion"] == confusion.tolist()
    assert card.metrics["val"]["accuracy"] == metrics["val"]["accuracy"]  # the card carries the same figure


def test_caffe_preprocessing_in_the_graph_equals_keras_preprocess_input(tiny_run):
    """The in-graph cast + caffe mean on OpenCV's BGR pixels equals keras.applications.vgg16.preprocess_input on
    the same image in RGB (which flips it to BGR and subtracts the ImageNet mean); gray repeats to 3 channels."""
    from edgetl._deps import import_keras
    from edgetl.backbones import CAFFE_BGR_MEAN
    from edgetl.model import Chain, preprocess_layers

    keras = import_keras()
    model, _ = load_run(tiny_run)  # 32x32x3 BGR input, backbone at 32 px: no resize step
    graph = keras.Model(model.input, model.get_layer("caffe_mean").output)
    bgr = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    bgr[0] = 0
    bgr[1, ..., 0] = 255  # pure blue in OpenCV order: RGB (0, 0, 255) for Keras
    bgr[1, ..., 1:] = 0
    expected = keras.applications.vgg16.preprocess_input(bgr[..., ::-1].astype(np.float32))
    in_graph = graph.predict_on_batch(bgr)
    np.testing.assert_allclose(in_graph, expected, atol=1e-4)
    np.testing.assert_allclose(in_graph[0, 0, 0], -np.float32(CAFFE_BGR_MEAN), atol=1e-4)
    np.testing.assert_allclose(in_graph[1, 0, 0], [255 - 103.939, -116.779, -123.68], atol=1e-4)
    layers = preprocess_layers(keras, (32, 32, 1), 32, "resize")
    gray_graph = Chain(keras, (32, 32, 1), layers, len(layers), 0).model()
    gray = bgr[..., :1]
    expected = keras.applications.vgg16.preprocess_input(np.repeat(gray, 3, axis=-1).astype(np.float32))
    np.testing.assert_allclose(gray_graph.predict_on_batch(gray), expected, atol=1e-4)


def test_frozen_prefix_then_trainable_suffix_equals_the_whole_model():
    """Training fits the suffix on cached prefix outputs: that is only right if prefix + suffix is the model."""
    from edgetl._deps import import_keras
    from edgetl.backbones import get_backbone
    from edgetl.model import HeadConfig, build_chain

    keras = import_keras()
    keras.utils.set_random_seed(0)
    chain = build_chain(keras, (32, 32, 3), get_backbone("vgg16"), "none", 48, "resize", "block2_pool", 3,
                        "classification", HeadConfig(units=8))
    x = np.random.default_rng(1).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    whole = chain.model().predict_on_batch(x)
    assert whole.shape == (5, 3) and not np.allclose(whole, whole[:1])  # inputs are told apart
    cuts = sorted({chain.cut_after_frozen(k) for k in (0, 1, 3, chain.n_backbone)})
    for cut in cuts:
        prefix = chain.prefix(cut)
        features = prefix.predict_on_batch(x)
        suffix = chain.suffix(cut, prefix.output_shape[1:])
        np.testing.assert_allclose(suffix.predict_on_batch(features), whole, rtol=1e-5, atol=1e-6,
                                   err_msg=f"cut {cut}")


def test_cli_train_then_evaluate_on_a_folder(shapes_folder, tmp_path):
    from edgetl.data import load_dataset
    from edgetl.train import predict

    out = tmp_path / "run"
    result = run_cli("train", "--data", shapes_folder, "--out", out, "--weights", "none", "--input-size", "32",
                     "--feature-layer", "block1_pool", "--epochs", "2", "--augment", "1", "--units", "8")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "I0000" not in result.stderr  # TF start-up noise silenced
    evaluated = run_cli("evaluate", out, "--data", shapes_folder, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["n"] == 24 and report["split"] == "train"
    model, _ = load_run(out)  # the same figures, computed here
    x, y = load_dataset(str(shapes_folder), image_size=32).split("train")
    predicted = predict(model, x).argmax(axis=1)
    assert report["accuracy"] == pytest.approx(float(np.mean(predicted == y)), abs=1e-9)
    confusion = np.zeros((2, 2), int)
    np.add.at(confusion, (y, predicted), 1)
    assert report["confusion"] == confusion.tolist() and confusion.sum(axis=1).tolist() == [12, 12]
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
    (["--passes", "0"], "--passes 0: must be a whole number >= 1"),
    (["--passes", "9"], "--passes 9: at most 4"),
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
    assert "accuracy" not in metrics["val"]
    assert ModelCard.load(run / "card.json").task == "regression"
    from edgetl.train import predict

    model, _ = load_run(run)
    x_val, y_val = val_split_of(run)
    predicted = predict(model, x_val)[:, 0]
    assert metrics["val"]["n"] == len(y_val) >= 10
    assert metrics["val"]["mae"] == pytest.approx(float(np.mean(np.abs(predicted - y_val))), rel=1e-5)
    report = export(run, ExportOptions(quantize="int8", calib_size=32, max_drop=5.0))  # the MAE may rise 5%
    int8 = report["int8"]
    assert int8["mae_change"] == pytest.approx(int8["mae_after"] - int8["mae_before"])
    assert int8["mae_change_pct"] == pytest.approx(100 * int8["mae_change"] / int8["mae_before"])
    assert int8["mae_change_pct"] <= 5.0
