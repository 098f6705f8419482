"""A digit reader's class biases set on desk crops of its own training digits (edgetl/desk_calibration.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgetl.config import TrainConfig, resolve_desk_calibration
from edgetl.desk_calibration import MAX_CROPS, digit_columns, fit_class_bias, fold_into_head


def test_the_fit_undoes_a_reader_that_leans_towards_one_digit():
    """Readings whose logits carry an extra 1.5 for digit 7 misread many 9s and 3s as 7: the fitted biases take
    about that much from 7 and read them right again."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 6000)
    logits = rng.normal(0.0, 1.0, (6000, 10))
    logits[np.arange(6000), labels] += 2.5
    leaning = logits.copy()
    leaning[:, 7] += 1.5
    probs = np.exp(leaning) / np.exp(leaning).sum(axis=1, keepdims=True)
    bias = fit_class_bias(probs, labels)
    others = np.delete(bias, 7)
    assert bias[7] - others.mean() == pytest.approx(-1.5, abs=0.25)
    assert np.ptp(others) < 0.3
    assert abs(bias.sum()) < 1e-9  # the digits' share against "not a digit" is left as trained
    before = (probs.argmax(axis=1) == labels).mean()
    after = ((np.log(probs) + bias).argmax(axis=1) == labels).mean()
    unbiased = (logits.argmax(axis=1) == labels).mean()
    assert before < unbiased - 0.05 and after == pytest.approx(unbiased, abs=0.01)


def test_the_biases_are_folded_into_the_heads_logits():
    """The model's probabilities after folding are its softmax with the biases added to the digits' logits only."""
    from edgetl._deps import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(keras.layers.Dense(5)(inputs)))
    x = np.random.default_rng(1).normal(size=(32, 6)).astype(np.float32)
    before = model.predict(x, verbose=0).astype(np.float64)
    columns, bias = digit_columns(["0", "1", "not a digit", "2"]), np.array([0.7, -0.2, -0.5])
    assert columns == [0, 1, 3]
    fold_into_head(model, columns, bias)
    logits = np.log(before)
    logits[:, columns] += bias
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_on_by_default_for_digit_classifiers_only():
    assert resolve_desk_calibration(TrainConfig(), True, 1000) == 5000
    assert resolve_desk_calibration(TrainConfig(), True, 3880) == MAX_CROPS
    assert resolve_desk_calibration(TrainConfig(), True, 10_000) == MAX_CROPS
    assert resolve_desk_calibration(TrainConfig(desk_calibration=0), True, 3880) == 0
    assert resolve_desk_calibration(TrainConfig(desk_calibration=500), True, 3880) == 500
    assert resolve_desk_calibration(TrainConfig(desk_calibration=500), False, 3880) == 0
    assert resolve_desk_calibration(TrainConfig(task="regression"), True, 3880) == 0


@pytest.mark.slow
def test_training_sets_and_records_the_biases(tmp_path):
    """Trained twice alike, with and without the calibration: the same head but for the digits' biases, which
    differ by what the card records; "not a digit" and "two digits" keep theirs."""
    from edgetl._deps import import_keras
    from edgetl.model import HeadConfig
    from edgetl.train import train

    keras = import_keras()
    runs = {}
    for crops in (0, 300):
        runs[crops] = train(TrainConfig(data="mnist-5k", out=tmp_path / f"run{crops}", weights="none", input_size=32,
                                        feature_layer="block1_pool", head=HeadConfig(units=0), epochs=2, augment=0,
                                        limit=300, styles=0.1, desk_calibration=crops))
    cards = {k: json.loads((run / "card.json").read_text()) for k, run in runs.items()}
    assert cards[0]["training"]["desk_calibration"] == {"crops": 0}
    record = cards[300]["training"]["desk_calibration"]
    assert record["crops"] == 300 and list(record["bias"]) == [str(d) for d in range(10)]
    heads = {k: keras.saving.load_model(run / "model.keras").get_layer("probabilities").get_weights()
             for k, run in runs.items()}
    np.testing.assert_array_equal(heads[0][0], heads[300][0])  # the kernel as fitted
    names = cards[300]["class_names"]
    moved = heads[300][1] - heads[0][1]
    np.testing.assert_allclose(moved[:10], [record["bias"][str(d)] for d in range(10)], atol=2e-3)
    assert names[10:] == ["not a digit", "two digits"] and np.all(moved[10:] == 0)
    assert np.abs(moved[:10]).max() > 0.01
