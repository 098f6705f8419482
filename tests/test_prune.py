"""Dead channels cut out before export (export/prune.py): the same outputs with fewer multiply-adds, and the
unpruned model kept when held-out images would read differently."""
from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from edgetl.export.prune import multiply_adds, prune_for_export, pruned_copy, dead_channels  # noqa: E402

SIZE = 16


def chain(seed: int = 0):
    """Input -> conv (8 filters, 3 of them dead: zero kernel, negative bias; one lit by bright pixels only) ->
    pool -> conv (8, 2 dead) -> global normalisation -> flatten -> dense: edgetl's digit models in small."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Normalization(axis=None, mean=0.3, variance=0.04, name="norm")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs)
    for name, dead in (("conv1", [1, 4, 6]), ("conv2", [0, 5])):
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        kernel = np.abs(rng.normal(0, 0.5, kernel.shape)).astype(np.float32)  # every live filter lights up
        bias = np.full_like(bias, 0.05)
        kernel[..., dead], bias[dead] = 0.0, -1.0  # never above zero after the ReLU
        if name == "conv1":
            bias[7] = -0.5  # lights up only where the image is bright
        layer.set_weights([kernel, bias])
    dense = model.get_layer("probabilities")
    dense.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in dense.get_weights()])
    return model


def images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 1)).astype(np.uint8)


def test_dead_channels_are_found_and_removed_without_changing_the_outputs(monkeypatch):
    import edgetl.export.prune as prune

    monkeypatch.setattr(prune, "CHANNEL_STEP", 1)
    model = chain()
    dead = dead_channels(model, images(32, 1))
    assert np.flatnonzero(dead["conv1"]).tolist() == [1, 4, 6] and np.flatnonzero(dead["conv2"]).tolist() == [0, 5]
    slim = pruned_copy(model, dead)
    assert slim.get_layer("conv1").filters == 5 and slim.get_layer("conv2").filters == 6
    fresh = images(64, 2)  # never seen by the search
    np.testing.assert_allclose(slim.predict(fresh, verbose=0), model.predict(fresh, verbose=0), atol=1e-4)
    # 16x16x(9x1x8) + 8x8x(9x8x8) + dense 8x8x8x4 -> 16x16x(9x1x5) + 8x8x(9x5x6) + 8x8x6x4
    assert multiply_adds(model) == 18432 + 36864 + 2048
    assert multiply_adds(slim) == 11520 + 17280 + 1536


def test_survivors_are_rounded_up_to_the_channel_step(monkeypatch):
    import edgetl.export.prune as prune

    monkeypatch.setattr(prune, "CHANNEL_STEP", 4)
    dead = dead_channels(chain(), images(32, 1))
    assert int((~dead["conv1"]).sum()) == 8 and int((~dead["conv2"]).sum()) == 8  # 5 -> 8, 6 -> 8: none removed
    monkeypatch.setattr(prune, "CHANNEL_STEP", 3)
    dead = dead_channels(chain(), images(32, 1))
    assert int((~dead["conv1"]).sum()) == 6 and int((~dead["conv2"]).sum()) == 6


def test_a_channel_dead_only_on_the_calibration_images_keeps_the_model_unpruned(monkeypatch):
    import edgetl.export.prune as prune

    monkeypatch.setattr(prune, "CHANNEL_STEP", 1)
    model = chain()
    black = np.zeros((32, SIZE, SIZE, 1), np.uint8)  # conv1's filter 7 is dark here, not on the held-out images
    kept, report = prune_for_export(model, black, images(64, 3))
    assert kept is model and report["pruned"] is False
    assert report["held_out_max_abs_diff"] > report["tolerance"] and "moved" in report["reason"]
    slim, report = prune_for_export(model, images(32, 1), images(64, 3))
    assert report["pruned"] is True and report["held_out_max_abs_diff"] < 1e-4
    assert report["channels_removed"] == {"conv1": 3, "conv2": 2}


@pytest.mark.slow
def test_exported_digit_model_is_pruned_and_reads_the_same(digit_run, tmp_path):
    from edgetl.exporting import ExportOptions, export
    from edgetl.runtime.model import Model

    pruned_dir, full_dir = tmp_path / "pruned", tmp_path / "full"
    export(digit_run, ExportOptions(out=pruned_dir))
    export(digit_run, ExportOptions(out=full_dir, prune=False))
    report = json.loads((pruned_dir / "export.json").read_text())["prune"]
    assert report["pruned"] is True and report["multiply_adds"]["after"] < report["multiply_adds"]["before"]
    assert "prune" not in json.loads((full_dir / "export.json").read_text())
    slim, full = Model(pruned_dir / "model.onnx", device="cpu"), Model(full_dir / "model.onnx", device="cpu")
    x = np.random.default_rng(5).integers(0, 256, (64,) + tuple(full.card.input_shape)).astype(np.uint8)
    assert slim.card.class_names == full.card.class_names
    assert (pruned_dir / "model.onnx").stat().st_size < (full_dir / "model.onnx").stat().st_size
    np.testing.assert_array_equal(slim.predict_batch(x).argmax(1), full.predict_batch(x).argmax(1))


def side_by_side(seed: int = 0):
    """edgetl's head reading an earlier map beside the last (HeadConfig.beside) in small: conv1 -> pool, then
    that map max-pooled beside conv2's pooled output, one mean and variance per map, flatten, dense."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    early = keras.layers.MaxPooling2D(name="pool1")(x)
    late = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(early)
    late = keras.layers.MaxPooling2D(name="pool2")(late)
    x = keras.layers.Concatenate(name="features_beside")([keras.layers.MaxPooling2D(name="early_pooled")(early), late])
    norm = keras.layers.Normalization(axis=-1, name="feature_norm")
    x = keras.layers.Flatten()(norm(x))
    outputs = keras.layers.Dense(4, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs)
    norm.adapt_mean.assign(np.repeat([0.4, 1.5], 8).astype(np.float32))
    norm.adapt_variance.assign(np.repeat([0.09, 2.0], 8).astype(np.float32))
    norm.finalize_state()
    for name, dead in (("conv1", [1, 4, 6]), ("conv2", [0, 5])):
        layer = model.get_layer(name)
        kernel = np.abs(rng.normal(0, 0.5, layer.get_weights()[0].shape)).astype(np.float32)
        bias = np.full(layer.filters, 0.05, np.float32)
        kernel[..., dead], bias[dead] = 0.0, -1.0
        layer.set_weights([kernel, bias])
    dense = model.get_layer("probabilities")
    dense.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in dense.get_weights()])
    return model


def test_channels_are_removed_on_both_sides_of_maps_read_side_by_side(monkeypatch, tmp_path):
    """conv1's dead channels leave both conv2's input and the head's early map (whose normalised constant the
    dense bias takes in), conv2's leave the late map: the outputs stay the same."""
    import edgetl.export.prune as prune

    monkeypatch.setattr(prune, "CHANNEL_STEP", 1)
    side_by_side().save(tmp_path / "m.keras")  # as export loads it: one call of each layer
    model = keras.saving.load_model(tmp_path / "m.keras")
    slim, report = prune_for_export(model, images(32, 1), images(64, 3))
    assert report["pruned"] is True and report["channels_removed"] == {"conv1": 3, "conv2": 2}
    assert slim.get_layer("conv1").filters == 5 and slim.get_layer("conv2").filters == 6
    assert slim.get_layer("probabilities").get_weights()[0].shape == (4 * 4 * (5 + 6), 4)
    fresh = images(64, 2)
    np.testing.assert_allclose(slim.predict(fresh, verbose=0), model.predict(fresh, verbose=0), atol=1e-5)


def test_a_merge_other_than_concatenate_is_exported_unpruned(monkeypatch):
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Add()([x, keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)])
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    kept, report = prune_for_export(model, images(8, 1), images(8, 2))
    assert kept is model and report == {"pruned": False, "reason": "a merge other than Concatenate"}
