"""``--passes N``: the linear head fitted on N passes of other augmented copies, its weights averaged."""
import csv
import json

import numpy as np

from conftest import run_cli


def test_passes_average_the_heads_fitted_on_each_pass(shapes_folder, tmp_path, monkeypatch):
    import edgetl.fitting as fitting
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.rundir import load_run
    from edgetl.train import train

    fitted = []  # each pass's head weights, as its fit left them
    fit = fitting.fit_on_features

    def recording(keras, suffix, *args, **kwargs):
        history = fit(keras, suffix, *args, **kwargs)
        fitted.append({layer.name: [w.copy() for w in layer.get_weights()] for layer in suffix.layers})
        return history

    monkeypatch.setattr(fitting, "fit_on_features", recording)
    run = train(TrainConfig(data=str(shapes_folder), out=tmp_path / "two", weights="none", input_size=32,
                            feature_layer="block2_pool", head=HeadConfig(units=0), epochs=2, augment=1, passes=2))
    assert len(fitted) == 2
    first, second = fitted
    # both heads scale the features alike (so their averaged weights average their logits) ...
    for a, b in zip(first["feature_norm"], second["feature_norm"]):
        np.testing.assert_array_equal(a, b)
    # ... and are two different fits (other augmented copies, other starting weights)
    kernels = [first["probabilities"][0], second["probabilities"][0]]
    assert np.abs(kernels[0] - kernels[1]).mean() > 0.1 * np.abs(kernels[0]).mean()
    model, _ = load_run(run)
    assert model.get_layer("flatten") is not None  # an 8x8 map: the chain flattens it, and so does the clone
    kernel, bias = model.get_layer("probabilities").get_weights()
    np.testing.assert_allclose(kernel, (kernels[0] + kernels[1]) / 2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bias, (first["probabilities"][1] + second["probabilities"][1]) / 2, atol=1e-7)
    stages = [row["stage"] for row in csv.DictReader(open(run / "history.csv"))]
    assert stages[0] == "head, pass 1" and stages[-1] == "head, pass 2" and stages == sorted(stages)
    assert json.loads((run / "card.json").read_text())["training"]["passes"] == 2


def test_passes_need_a_linear_head(shapes_folder, tmp_path):
    result = run_cli("train", "--data", shapes_folder, "--out", tmp_path / "run", "--weights", "none",
                     "--input-size", "32", "--units", "8", "--passes", "2", timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "--units 0" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_digit_reader_is_fitted_on_several_passes_unless_told(tmp_path):
    """Digit data with a linear head and augmented copies: DIGIT_PASSES by default (bench/README.md); a head
    with units, no copies to redraw, other data or an explicit --passes: as asked, or one."""
    from edgetl.config import DIGIT_PASSES, DIGIT_VAL_SPLIT, TrainConfig, resolve_passes
    from edgetl.model import HeadConfig
    from edgetl.train import train

    run = train(TrainConfig(data="mnist-5k", out=tmp_path / "digits", weights="none", input_size=32,
                            feature_layer="block1_pool", head=HeadConfig(units=0), epochs=1, augment=1, limit=100))
    stages = {row["stage"] for row in csv.DictReader(open(run / "history.csv"))}
    assert DIGIT_PASSES > 1 and stages == {f"head, pass {p}" for p in range(1, DIGIT_PASSES + 1)}
    training = json.loads((run / "card.json").read_text())["training"]
    assert training["passes"] == DIGIT_PASSES and training["val_split"] == DIGIT_VAL_SPLIT
    digits = TrainConfig(augment=3)
    assert resolve_passes(digits, digits=True, units=0) == DIGIT_PASSES
    assert resolve_passes(digits, digits=False, units=0) == 1
    assert resolve_passes(digits, digits=True, units=256) == 1
    assert resolve_passes(TrainConfig(augment=0), digits=True, units=0) == 1
    assert resolve_passes(TrainConfig(task="regression"), digits=True, units=0) == 1
    assert resolve_passes(TrainConfig(passes=2), digits=True, units=0) == 2


def test_train_help_states_the_digit_defaults():
    """`edgetl train --help` names the defaults the code uses (it said 2 passes after the default became 4)."""
    from typer.testing import CliRunner

    from edgetl.cli import app
    from edgetl.config import DIGIT_PASSES, DIGIT_VAL_SPLIT
    from edgetl.desk_calibration import CROPS_PER_DIGIT, MAX_CROPS

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "400"})
    text = " ".join(result.output.split())
    assert f"Default: {DIGIT_PASSES} for digit data" in text
    assert f"Default: {DIGIT_VAL_SPLIT} for digit data with its own test split" in text
    assert f"Default: {CROPS_PER_DIGIT} per training digit, at most {MAX_CROPS:,}." in text


def test_features_scaled_once_before_the_fit_train_the_same_head_as_scaling_them_every_epoch():
    """fit_head scales each pass's new feature rows once (normalise_in_place) and fits the layers after the
    feature normalisation: the same numbers the Normalization layer gives, and bit for bit the same head."""
    import keras

    from edgetl.config import TrainConfig
    from edgetl.fitting import adapt_feature_norm, fit_on_features, normalise_in_place

    rng = np.random.default_rng(3)
    feats = {"train": (rng.gamma(2.0, 40.0, (96, 4, 4, 12)) * rng.uniform(0.1, 3, 12)).astype(np.float32),
             "val": rng.gamma(2.0, 40.0, (24, 4, 4, 12)).astype(np.float32)}
    y_train, y_val = rng.integers(0, 3, 96), rng.integers(0, 3, 24)
    config = TrainConfig(augment=0, epochs=3, batch_size=16)

    def head():
        inp = keras.Input((4, 4, 12))
        layers = [keras.layers.Normalization(axis=-1, name="feature_norm"), keras.layers.Flatten(),
                  keras.layers.Dropout(0.3, noise_shape=(1, None)), keras.layers.Dense(3, activation="softmax")]
        out = inp
        for layer in layers:
            out = layer(out)
        model = keras.Model(inp, out)
        adapt_feature_norm(model.layers[1], feats["train"][::2], [4, 8])
        return model

    def fitted(normalised: bool) -> tuple[np.ndarray, np.ndarray]:
        keras.utils.set_random_seed(5)
        model = head()
        start = model.layers[-1].get_weights()[0]
        data = {name: f.copy() for name, f in feats.items()}
        if normalised:
            for f in data.values():
                normalise_in_place(keras, f, model.layers[1])
            np.testing.assert_array_equal(data["val"], keras.ops.convert_to_numpy(model.layers[1](feats["val"])))
        fit_on_features(keras, model, data, y_train, y_val, config, "head", 1e-2, 3, normalised=normalised)
        return start, model.layers[-1].get_weights()[0]

    (start, in_the_model), (_, scaled_before) = fitted(False), fitted(True)
    assert np.abs(in_the_model - start).mean() > 0.1 * np.abs(start).mean()  # the model's own head was fitted
    np.testing.assert_array_equal(scaled_before, in_the_model)
