import h5py
import numpy as np
import pytest

from conftest import run_cli, write_shapes
from edgetl._deps import import_keras
from edgetl.backbones import BACKBONES, get_backbone, hed_weights_file, pretrained
from edgetl.config import TrainConfig
from edgetl.model import HeadConfig, build_chain, bottlenecks, is_batch_norm, preprocess_layers
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.train import validate


def test_hed_weights_load_into_vgg16_in_order():
    keras = import_keras()
    model = pretrained(keras, get_backbone("vgg16"), "hed-bsds500", 32)
    with h5py.File(hed_weights_file(), "r") as f:
        first = f["block1/layers/conv2d/vars/0"][()]
        last = f["block5/layers/conv2d_2/vars/0"][()]
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], first)
    np.testing.assert_array_equal(model.get_layer("block5_conv3").get_weights()[0], last)


def test_imagenet_offline_names_the_alternatives(monkeypatch):
    keras = import_keras()

    def offline(**kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(UserError, match="hed-bsds500"):
        pretrained(keras, get_backbone("vgg16"), "imagenet", 32)


def test_imagenet_offline_names_the_file_for_every_backbone(monkeypatch):
    keras = import_keras()

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(UserError, match=r"MobileNetV2 ImageNet weights \(URL fetch failure.*--weights none, or a "
                                        r"path to mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"):
        pretrained(keras, get_backbone("mobilenetv2"), "imagenet", 32)


@pytest.mark.parametrize("overrides, message", [
    ({"backbone": "resnet9000"}, "valid: vgg16"),
    ({"weights": "imagenett"}, "valid: imagenet, hed-bsds500, none"),
    ({"weights": "missing.weights.h5"}, "no such file"),
    ({"input_size": 16}, "at least 32"),
    ({"feature_layer": "block9_pool"}, "block4_pool"),
])
def test_bad_options_fail_before_any_work(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(TrainConfig(out=tmp_path / "run", **overrides))


def test_out_with_a_run_is_refused_without_overwrite(tmp_path, tiny_run):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    with pytest.raises(UserError, match="--overwrite"):
        validate(TrainConfig(out=run))
    validate(TrainConfig(out=run, overwrite=True))


def test_weights_from_a_local_keras_file(tmp_path):
    keras = import_keras()
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "vgg16_notop.weights.h5")
    model = pretrained(keras, get_backbone("vgg16"), str(tmp_path / "vgg16_notop.weights.h5"), 32)
    np.testing.assert_array_equal(model.get_layer("block3_conv2").get_weights()[0],
                                  source.get_layer("block3_conv2").get_weights()[0])


def test_missing_training_extra_names_the_install_command():
    from edgetl._deps import require

    with pytest.raises(UserError, match=r"pip install 'edgetl\[train\]'"):
        require("tensorflow_that_is_not_installed", "training")


# --- every backbone: tables, preprocessing, ImageNet path, BatchNorm, end to end ---------------------------------

NEW = ["inceptionv3", "mobilenetv2", "efficientnetb0", "resnet50"]
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def application(keras, name: str, weights=None):
    backbone = get_backbone(name)
    size = backbone.min_size
    return getattr(keras.applications, backbone.application)(weights=weights, include_top=False,
                                                             input_shape=(size, size, 3))


@pytest.fixture
def imagenet_offline(monkeypatch, tmp_path):
    """--weights imagenet through Keras's own constructor and loader, offline: Keras's download returns an .h5
    file in the legacy layout it really downloads, holding random weights whose BatchNorm statistics are taken
    from a batch, so activations stay O(1) all the way (with Keras's initial statistics MobileNetV2's output is
    ~1e-12 for every image: nothing to compare); EfficientNet's stem holds the ImageNet statistics as its
    ImageNet file does (the std as "variance": Keras rescales after it)."""
    from keras.src.legacy.saving import legacy_h5_format
    from keras.src.utils import file_utils

    def serve(name: str, seed: int = 1):
        keras = import_keras()
        keras.utils.set_random_seed(seed)
        base = application(keras, name)
        stem = [layer for layer in base.layers if layer.__class__.__name__ == "Normalization"]
        if stem:  # EfficientNet: x / 255, then (x - mean) / std, as its ImageNet structure computes it
            stem[0].set_weights([np.float32(IMAGENET_MEAN), np.float32(IMAGENET_STD) ** 2, *stem[0].get_weights()[2:]])
            stem[0].finalize_state()  # set_weights alone leaves the layer computing with the old ones
        norms = [layer for layer in base.layers if is_batch_norm(layer)]
        for layer in norms:
            layer.momentum = 0.0  # one training-mode pass sets the moving statistics to the batch's
        size = get_backbone(name).min_size
        rgb = np.random.default_rng(seed).uniform(0, 255, (16, size, size, 3)).astype(np.float32)
        base(getattr(keras.applications, get_backbone(name).module).preprocess_input(rgb), training=True)
        if stem:  # what the ImageNet file holds: the std as "variance" (Keras rescales by 1/sqrt(std) after it)
            stem[0].set_weights([np.float32(IMAGENET_MEAN), np.float32(IMAGENET_STD), *stem[0].get_weights()[2:]])
        path = tmp_path / f"{name}_notop.h5"
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, base)
        monkeypatch.setattr(file_utils, "get_file", lambda *args, **kwargs: str(path))
        return path

    return serve


def varied_images(size: int, n: int = 8) -> np.ndarray:
    """BGR uint8: black, white, pure red, pure green, a gradient, noise, dim noise."""
    x = np.zeros((n, size, size, 3), np.uint8)
    x[1] = 255
    x[2, ..., 2] = 255
    x[3, ..., 1] = 255
    x[4] = np.linspace(0, 255, size).astype(np.uint8)[None, :, None]
    x[5:] = np.random.default_rng(3).integers(0, 256, (n - 5, size, size, 3))
    x[6] //= 4
    return x


@pytest.mark.parametrize("name", list(BACKBONES))
def test_layer_tables_match_keras(name):
    """--freeze counts and cut points in edgetl.backbones are Keras's: each cut point is a place one tensor
    passes through, the counts are its position, and "freezes everything" is past the last weighted layer."""
    keras = import_keras()
    backbone = get_backbone(name)
    base = application(keras, name)
    names = [layer.name for layer in base.layers]
    first = names.index(backbone.first_layer) if backbone.first_layer else 1
    layers = base.layers[first:]
    points = set(bottlenecks(layers, base.layers[first - 1]))
    assert backbone.output_layer == layers[-1].name and len(layers) == backbone.feature_layers[backbone.output_layer]
    for cut, count in backbone.feature_layers.items():
        assert layers[count - 1].name == cut and count in points, cut
        weighted = [i for i, layer in enumerate(layers[:count], 1) if layer.weights and not is_batch_norm(layer)]
        assert backbone.frozen_all[cut] == weighted[-1], cut


@pytest.mark.parametrize("name", list(BACKBONES))
def test_in_graph_preprocessing_equals_keras_preprocess_input(name, imagenet_offline):
    """The layers before the backbone, on OpenCV's BGR pixels, equal keras.applications.<family>.preprocess_input
    on the same RGB image (channel order aside: RGB-trained weights get their first conv reordered for BGR).
    EfficientNet's preprocess_input does nothing: its model normalises inside; edgetl moves that stem (with
    ImageNet statistics, as Keras loads them) in front, and it must equal the torch mode it implements."""
    from edgetl.model import stem_stats

    keras = import_keras()
    backbone = get_backbone(name)
    size = backbone.min_size
    stats = None
    if backbone.preprocessing == "torch":
        imagenet_offline(name)
        base = application(keras, name, weights="imagenet")
        names = [layer.name for layer in base.layers]
        mean, variance = stem_stats(keras, base, names.index(backbone.first_layer))
        stats = (mean[::-1], variance[::-1])
    layers = preprocess_layers(keras, (size, size, 3), size, "resize", backbone.preprocessing, stats)
    graph = keras.Sequential([keras.Input((size, size, 3), dtype="uint8"), *layers])
    bgr = varied_images(size)
    rgb = bgr[..., ::-1].astype(np.float32)
    family = getattr(keras.applications, backbone.module)
    expected = family.preprocess_input(rgb.copy())  # in RGB for "tf" and "torch", flipped to BGR for "caffe"
    if backbone.preprocessing == "torch":
        np.testing.assert_array_equal(expected, rgb)  # Keras 3: a placeholder, the model does it
        stem = keras.Model(base.input, base.get_layer(backbone.first_layer).input)
        expected = stem.predict_on_batch(rgb)
        torch = keras.applications.imagenet_utils.preprocess_input(rgb.copy(), mode="torch")
        np.testing.assert_allclose(expected, torch, atol=1e-5)  # (x / 255 - mean) / std, as Keras documents
    if backbone.rgb:
        expected = expected[..., ::-1]
    got = graph.predict_on_batch(bgr)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    lo, hi = {"caffe": (-124, 152), "tf": (-1, 1), "torch": (-2.2, 2.7)}[backbone.preprocessing]
    assert lo <= got.min() < got.max() <= hi


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_chain_cuts_anywhere_and_fine_tuning_leaves_batchnorm_alone(name, tmp_path, imagenet_offline):
    """Training fits the suffix on cached prefix outputs: prefix + suffix must be the whole model at every cut,
    branching backbones included. Then the Keras transfer-learning trap: a BatchNorm that trains on the user's
    few images replaces ImageNet's statistics. After a fine-tune step from --freeze N (not at a unit boundary),
    layers past N changed, the first N did not, and no BatchNorm variable moved."""
    from edgetl.train import fit_suffix

    keras = import_keras()
    backbone = get_backbone(name)
    size = backbone.min_size
    imagenet_offline(name)
    keras.utils.set_random_seed(0)
    chain = build_chain(keras, (size, size, 3), backbone, "imagenet", size, "resize", backbone.output_layer, 2,
                        "classification", HeadConfig(units=8))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, size, size, 3), dtype=np.uint8)
    whole = chain.model().predict_on_batch(x)
    assert np.ptp(whole, axis=0).max() > 1e-3  # images told apart
    freeze = backbone.frozen_all[backbone.output_layer] - 8
    for frozen in (backbone.frozen_all[backbone.output_layer] // 2, freeze):  # test_train.py cuts VGG16 everywhere
        cut = chain.cut_after_frozen(frozen)
        prefix = chain.prefix(cut)
        suffix = chain.suffix(cut, prefix.output_shape[1:])
        np.testing.assert_allclose(suffix.predict_on_batch(prefix.predict_on_batch(x)), whole, rtol=1e-5,
                                   atol=1e-6, err_msg=f"--freeze {frozen}")
    cut = chain.cut_after_frozen(freeze)
    assert chain.n_preprocess < cut < chain.n_preprocess + len(chain.ends)
    before = [[w.copy() for w in layer.get_weights()] for layer in chain.inner]
    y = np.arange(12) % 2
    config = TrainConfig(out=tmp_path / "run", augment=0, batch_size=6, seed=0)
    history = fit_suffix(keras, chain, cut, (x[:8], y[:8]), (x[8:], y[8:]), config, "fine-tune", 1e-2, 1, freeze)
    assert history and history[0]["stage"] == "fine-tune"
    changed = [not all(np.array_equal(a, b) for a, b in zip(old, layer.get_weights()))
               for old, layer in zip(before, chain.inner)]
    norms = [i for i, layer in enumerate(chain.inner) if is_batch_norm(layer)]
    assert norms and not any(changed[i] for i in norms)  # gamma, beta, moving mean and variance all kept
    assert not any(changed[:freeze])
    assert any(changed[freeze:])  # and the layers after N did train


def test_freeze_counts_each_backbone_and_says_when_it_freezes_everything(tmp_path):
    with pytest.raises(UserError, match=r"--freeze 311: valid: 0\.\.310 .*inceptionv3.*299 or more freezes every"):
        validate(TrainConfig(out=tmp_path / "run", backbone="inceptionv3", freeze=311))
    with pytest.raises(UserError, match=r"--freeze 54: valid: 0\.\.53 .*cut after block_5_add"):
        validate(TrainConfig(out=tmp_path / "run", backbone="mobilenetv2", feature_layer="block_5_add", freeze=54))
    validate(TrainConfig(out=tmp_path / "run", backbone="inceptionv3", freeze=248))  # Keras's guide: layers[:249]
    with pytest.raises(UserError, match="valid for resnet50: pool1_pool, conv2_block3_out"):
        from edgetl.model import backbone_parts

        backbone_parts(import_keras(), get_backbone("resnet50"), "none", 32, "mixed5")


def test_input_below_the_backbone_minimum_is_one_line(tmp_path):
    result = run_cli("train", "--backbone", "inceptionv3", "--input-size", "64", "--out", tmp_path / "run",
                     timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--input-size 64: inceptionv3 needs at least 75 px" in result.stderr
    from edgetl.config import resolve_input_size

    assert resolve_input_size(TrainConfig(backbone="inceptionv3"), (28, 28, 1)) == 75  # defaults rise to it
    assert resolve_input_size(TrainConfig(backbone="mobilenetv2"), (28, 28, 1)) == 48


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW)
def test_train_export_int8_run(name, tmp_path, imagenet_offline):
    """Each backbone at its minimum size: trained (head, then a fine-tune step), exported, quantized, run.
    fp32 ONNX within 1e-4 of Keras on random and varied images whose outputs differ; int8 agreement reported."""
    from edgetl.exporting import ExportOptions, export
    from edgetl.rundir import load_run
    from edgetl.runtime.model import Model
    from edgetl.train import predict, train

    keras = import_keras()
    backbone = get_backbone(name)
    data = write_shapes(tmp_path / "shapes", per_class=10)
    imagenet_offline(name)
    reference = application(keras, name, weights="imagenet")  # Keras's own model on the same ImageNet file
    freeze = backbone.frozen_all[backbone.output_layer] - 2
    run = train(TrainConfig(data=str(data), out=tmp_path / "run", backbone=name, weights="imagenet",
                            input_size=backbone.min_size, epochs=1, augment=0, freeze=freeze, fine_tune_epochs=1))
    card = ModelCard.load(run / "card.json")
    assert card.backbone == name and card.feature_layer == backbone.output_layer
    assert card.preprocess["mode"] == backbone.preprocessing == card.training["preprocessing"]
    assert card.preprocess["color"] == ("rgb" if backbone.rgb else "bgr") and card.preprocess["to_backbone"] == "none"
    if backbone.preprocessing != "torch":  # "torch": measured from the weights' own stem layers
        assert (card.preprocess["mean"], card.preprocess["std"]) == \
            {"caffe": ([103.939, 116.779, 123.68], [1.0] * 3), "tf": ([127.5] * 3, [127.5] * 3)}[backbone.preprocessing]
    report = export(run, ExportOptions(quantize="int8", calib_size=16, max_drop=100.0))
    model, _ = load_run(run)
    assert not [layer for layer in model.layers if layer.__class__.__name__ in ("Lambda", "Functional")]
    # the part that stayed frozen, inside the saved model from uint8 BGR pixels, equals Keras's application on
    # preprocess_input(RGB): preprocessing, channel order, the cut into units, saving. Noise images, like the
    # batch the statistics came from: far from it (a black frame) a random network's activations reach 1e4 and
    # float32 rounding grows with them, chaotically (EfficientNetB0: 1e-3 relative at its output)
    deepest = [cut for cut, count in backbone.feature_layers.items() if count <= freeze][-1]
    bgr = np.random.default_rng(7).integers(0, 256, (8, *card.input_shape), dtype=np.uint8)
    family = getattr(keras.applications, backbone.module)
    expected = keras.Model(reference.input, reference.get_layer(deepest).output).predict_on_batch(
        family.preprocess_input(bgr[..., ::-1].astype(np.float32)))
    got = keras.Model(model.input, model.get_layer(deepest).output).predict_on_batch(bgr)
    scale = float(np.abs(expected).max())
    assert scale > 0.1 and np.std(expected, axis=0).mean() > 1e-3 * scale  # images told apart
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale)  # float32 rounding, 50-300 layers
    x = np.random.default_rng(0).integers(0, 256, (16, *card.input_shape), dtype=np.uint8)
    keras_out = predict(model, x)
    float_out = Model(run / "model.onnx", device="cpu").predict_batch(x)
    int8_out = Model(run / "model.int8.onnx", device="cpu").predict_batch(x)
    spread = float(np.ptp(keras_out, axis=0).max())
    assert spread > 1e-3  # the outputs differ, so agreeing is not trivial
    diff = float(np.max(np.abs(float_out - keras_out)))
    agreement = float(np.mean(int8_out.argmax(1) == float_out.argmax(1)))
    print(f"{name}: fp32 ONNX vs Keras max |diff| {diff:.1e} (outputs spread over {spread:.3f}); int8 top-1 "
          f"agreement {agreement:.2f}, max |diff| {np.max(np.abs(int8_out - float_out)):.3f}; "
          f"export {report['seconds']}")
    assert diff <= 1e-4 and report["parity"]["max_abs_diff_vs_keras"] <= 1e-4
    assert "top1_agreement" in report["int8"]


def test_a_freeze_that_freezes_everything_says_so_and_trains_the_head(shapes_folder, tmp_path, caplog):
    import csv
    import logging

    from edgetl.train import train

    with caplog.at_level(logging.WARNING, logger="edgetl.train"):
        run = train(TrainConfig(data=str(shapes_folder), out=tmp_path / "run", weights="none", input_size=32,
                                feature_layer="block1_pool", head=HeadConfig(units=8), epochs=1, augment=0, freeze=2))
    assert "--freeze 2 freezes every vgg16 layer with weights up to block1_pool" in caplog.text
    assert "--freeze 1 or less fine-tunes" in caplog.text
    assert [row["stage"] for row in csv.DictReader(open(run / "history.csv"))] == ["head"]
