"""The card as a machine-checkable contract: its resize is the one rule that brings an image to the model's input
(training's loaders, Model.predict, `edgetl run --whole-frame`, evaluate), and its preprocess is what the graph does.

Images here are 30x48 (not square), so squash, pad and centre crop each give the model something different.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run_cli
from edgetl.runtime.card import METADATA_KEY, ModelCard
from edgetl.runtime.images import read_image

H, W = 30, 48  # the images' size; the models take 32x32


def blob_image(side: str, rng: np.random.Generator, gray: bool) -> np.ndarray:
    """Noise with a bright block in the left or right third: a centre crop loses part of it."""
    image = rng.integers(0, 70, (H, W) if gray else (H, W, 3), dtype=np.uint8)
    x = int(rng.integers(1, 6)) if side == "left" else W - 16 - int(rng.integers(1, 6))
    image[int(rng.integers(3, 8)):H - 4, x:x + 14] = 200 if gray else rng.integers(150, 256, 3, dtype=np.uint8)
    return image


def write_blobs(root: Path, gray: bool, per_class: int = 6) -> Path:
    rng = np.random.default_rng(1 if gray else 2)
    for side in ("left", "right"):
        (root / side).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / side / f"{i}.png"), blob_image(side, rng, gray))
    return root


def exported(run: Path, out: Path) -> Path:
    from edgetl.exporting import ExportOptions, export

    export(run, ExportOptions(out=out))
    return out / "model.onnx"


@pytest.fixture(scope="module")
def models(tiny_run, tmp_path_factory) -> dict:
    """{"bgr": tiny_run (conftest), "gray": a model trained on gray blobs}: each (run, onnx, folder of 30x48 images)."""
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.train import train

    root = tmp_path_factory.mktemp("contract")
    write_blobs(root / "bgr", gray=False)
    gray_run = train(TrainConfig(data=str(write_blobs(root / "gray", gray=True)), out=root / "gray_run",
                                 weights="none", input_size=32, feature_layer="block1_pool",
                                 head=HeadConfig(units=8), epochs=2, augment=0, overwrite=True))
    return {"bgr": (tiny_run, exported(tiny_run, root / "bgr_onnx"), root / "bgr"),
            "gray": (gray_run, exported(gray_run, root / "gray_onnx"), root / "gray")}


def files(folder: Path) -> list[Path]:
    """The images in the order the training loader reads them (class folders, then names, sorted)."""
    return [path for side in ("left", "right") for path in sorted((folder / side).iterdir())]


@pytest.mark.parametrize("colour", ["gray", "bgr"])
def test_onnx_on_raw_images_equals_keras_on_what_training_fed_it(models, colour):
    """Keras on the training loader's arrays and the ONNX runtime on the raw 30x48 files agree: train and run
    bring an image to the input the same way."""
    from edgetl.data import load_dataset
    from edgetl.rundir import load_run
    from edgetl.runtime.model import Model
    from edgetl.train import predict

    run, onnx_path, folder = models[colour]
    keras_model, card = load_run(run)
    x, _ = load_dataset(str(folder), image_size=card.height).split("train")  # training's path
    raw = [read_image(path) for path in files(folder)]
    assert raw[0].shape == ((H, W) if colour == "gray" else (H, W, 3)) and card.channels == (1 if colour == "gray"
                                                                                          else 3)
    runtime = Model(onnx_path, device="cpu").predict(raw)
    np.testing.assert_allclose(runtime, predict(keras_model, x), atol=1e-5)


def reference_inputs(image: np.ndarray) -> dict:
    """The 32x32 input each fit should give, built here by hand (not by edgetl's function)."""
    squash = cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)  # 48 wide: shrinking
    crop = cv2.resize(image[:, 9:39], (32, 32), interpolation=cv2.INTER_LINEAR)  # the centre 30x30, enlarged
    pad = np.zeros_like(squash)
    pad[6:26] = cv2.resize(image, (32, 20), interpolation=cv2.INTER_AREA)  # 48x30 scaled by 2/3, centred
    return {"squash": squash, "center_crop": crop, "pad": pad}


@pytest.mark.parametrize("fit", ["squash", "pad", "center_crop"])
def test_each_fit_policy_reaches_onnx_as_keras_is_given_it(models, fit):
    from edgetl.rundir import load_run
    from edgetl.runtime.model import Model
    from edgetl.train import predict

    run, onnx_path, folder = models["bgr"]
    raw = [read_image(path) for path in files(folder)]
    references = [reference_inputs(image) for image in raw]
    assert not np.array_equal(references[0]["squash"], references[0]["pad"])
    assert not np.array_equal(references[0]["squash"], references[0]["center_crop"])
    model = Model(onnx_path, device="cpu")
    model.use_fit(fit)
    expected = predict(load_run(run)[0], np.stack([r[fit] for r in references]))
    np.testing.assert_allclose(model.predict(raw), expected, atol=1e-5)


@pytest.mark.parametrize("colour", ["gray", "bgr"])
def test_the_graph_does_what_the_cards_preprocess_says(models, colour):
    """Pixels through the saved model's preprocessing layers equal (x - mean) / std from the card."""
    from edgetl._deps import import_keras
    from edgetl.rundir import load_run

    keras = import_keras()
    run, onnx_path, _ = models[colour]
    model, card = load_run(run)
    assert card.preprocess == {"mode": "caffe", "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0],
                               "color": "bgr", "to_backbone": "none"}
    x = np.random.default_rng(3).integers(0, 256, (2, *card.input_shape), dtype=np.uint8)
    got = keras.Model(model.input, model.get_layer("caffe_mean").output).predict_on_batch(x)
    bgr = np.repeat(x, 3, axis=-1) if card.channels == 1 else x
    p = card.preprocess
    np.testing.assert_allclose(got, (bgr - np.float32(p["mean"])) / np.float32(p["std"]), atol=1e-4)


def test_the_card_travels_in_the_onnx_metadata_with_its_contract(models):
    from edgetl.export.onnx_export import read_metadata
    from edgetl.runtime.model import Model

    run, onnx_path, _ = models["bgr"]
    data = json.loads(read_metadata(onnx_path)[METADATA_KEY])
    assert data["format"] == 3 and "normalization" not in data
    assert data["resize"] == {"fit": "squash", "shrink": "area", "enlarge": "linear"}
    assert data["preprocess"]["mode"] == "caffe" and data["preprocess"]["mean"] == [103.939, 116.779, 123.68]
    trained = ModelCard.load(run / "card.json")
    loaded = Model(onnx_path, device="cpu").card
    assert (loaded.preprocess, loaded.resize) == (trained.preprocess, trained.resize) == \
        (data["preprocess"], data["resize"])


def with_card(onnx_path: Path, out: Path, edit) -> Path:
    """A copy of the model whose card JSON went through ``edit`` (a hand-edited or older card)."""
    import onnx

    from edgetl.export.onnx_export import set_metadata

    proto = onnx.load(str(onnx_path))
    data = json.loads({p.key: p.value for p in proto.metadata_props}[METADATA_KEY])
    edit(data)
    set_metadata(proto, {METADATA_KEY: json.dumps(data)})
    onnx.save(proto, str(out))
    return out


def write_frame(path: Path) -> tuple[Path, np.ndarray]:
    frame = blob_image("left", np.random.default_rng(9), gray=False)
    cv2.imwrite(str(path), frame)
    return path, frame


def test_an_unknown_fit_in_a_hand_edited_card_is_one_line_naming_it(models, tmp_path):
    _, onnx_path, _ = models["bgr"]
    edited = with_card(onnx_path, tmp_path / "edited.onnx", lambda card: card["resize"].update(fit="stretch"))
    frame, _ = write_frame(tmp_path / "frame.png")
    result = run_cli("run", edited, "--source", frame, "--whole-frame", "--no-show")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert f"{edited}: model card: resize.fit 'stretch' is not one of squash, pad, center_crop" in result.stderr


def test_a_card_from_a_newer_edgetl_says_upgrade(models, tmp_path):
    from edgetl.runtime.errors import UserError
    from edgetl.runtime.model import Model

    _, onnx_path, _ = models["bgr"]
    newer = with_card(onnx_path, tmp_path / "newer.onnx", lambda card: card.update(format=4))
    with pytest.raises(UserError, match=r"newer\.onnx: model card format 4 was made by a newer edgetl .*upgrade"):
        Model(newer, device="cpu")


def test_a_format_1_model_still_runs_as_it_did(models, tmp_path):
    """A model exported before format 2 (prose normalization, no resize): loads, squashes like training."""
    from edgetl.runtime.model import Model

    def to_format_1(card):
        del card["preprocess"], card["resize"]
        card.update(format=1, normalization="in-graph: gray->3 channels, resize, caffe BGR mean subtraction")

    _, onnx_path, folder = models["bgr"]
    old = with_card(onnx_path, tmp_path / "old.onnx", to_format_1)
    raw = [read_image(path) for path in files(folder)]
    model = Model(old, device="cpu")
    assert model.card.resize["fit"] == "squash" and model.card.preprocess is None
    np.testing.assert_array_equal(model.predict(raw), Model(onnx_path, device="cpu").predict(raw))
    frame, _ = write_frame(tmp_path / "frame.png")
    result = run_cli("run", old, "--source", frame, "--whole-frame", "--no-show", "--jsonl", tmp_path / "old.jsonl")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("fit, box", [(None, [0, 0, W, H]), ("center_crop", [9, 0, 30, 30]),
                                      ("pad", [0, 0, W, H])])
def test_run_whole_frame_reads_a_wide_frame_as_model_predict_does(models, tmp_path, fit, box):
    from edgetl.runtime.model import Model

    _, onnx_path, _ = models["bgr"]
    path, frame = write_frame(tmp_path / "frame.png")
    jsonl = tmp_path / "out.jsonl"
    result = run_cli("run", onnx_path, "--source", path, "--whole-frame", "--no-show", "--jsonl", jsonl,
                     *(["--fit", fit] if fit else []))
    assert result.returncode == 0, result.stderr
    [detection] = json.loads(jsonl.read_text().splitlines()[0])["detections"]
    model = Model(onnx_path, device="cpu")
    if fit:
        model.use_fit(fit)
    probs = model.predict([frame])[0]
    assert detection["box"] == box
    assert detection["label"] == model.card.class_names[int(np.argmax(probs))]
    assert detection["score"] == pytest.approx(float(np.max(probs)), abs=1e-4)


def test_whole_frame_fits_a_roi_by_the_card(models):
    from edgetl.runtime.model import Model
    from edgetl.runtime.stream import whole_frame

    model = Model(models["bgr"][1], device="cpu")
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[10:40, 20:68] = blob_image("right", np.random.default_rng(4), gray=False)
    model.use_fit("center_crop")
    batch, boxes = whole_frame(model, frame, [20, 10, W, H])
    assert boxes == [[29, 10, 30, 30]]
    np.testing.assert_array_equal(batch[0], reference_inputs(frame[10:40, 20:68])["center_crop"])


def test_evaluate_scores_what_model_predict_reads(models):
    from edgetl.evaluate import evaluate
    from edgetl.runtime.model import Model

    _, onnx_path, folder = models["gray"]
    result = evaluate(onnx_path, str(folder))
    probs = Model(onnx_path, device="cpu").predict([read_image(path) for path in files(folder)])
    truth = np.repeat([0, 1], 6)
    assert result["n"] == 12
    assert result["accuracy"] == pytest.approx(float(np.mean(np.argmax(probs, 1) == truth)))


def test_inspect_shows_the_contract(models):
    from edgetl.inspect import format_report, inspect_model

    text = format_report(inspect_model(models["gray"][1]))
    assert "resize (runtime, card format 3): squash to 32x32, area interpolation when shrinking, linear when " \
           "enlarging" in text
    assert "preprocess (in the graph): float, gray to 3 channels, caffe: (x - [103.939, 116.779, 123.68]) / " \
           "[1, 1, 1] per BGR channel; weights made for BGR" in text
