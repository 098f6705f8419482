"""The validation split's size: 3% of digit data that brings its own test split, 10% of anything else."""
from __future__ import annotations

import numpy as np
import pytest

from edgetl.config import DIGIT_VAL_SPLIT, VAL_SPLIT, TrainConfig, resolve_val_split


@pytest.mark.parametrize("config, digits, splits, expected", [
    (TrainConfig(), True, {"train": 0, "test": 0}, DIGIT_VAL_SPLIT),
    (TrainConfig(), True, {"train": 0}, VAL_SPLIT),  # the validation split is the only held-out measure
    (TrainConfig(), False, {"train": 0, "test": 0}, VAL_SPLIT),
    (TrainConfig(task="regression"), True, {"train": 0, "test": 0}, VAL_SPLIT),
    (TrainConfig(val_split=0.2), True, {"train": 0, "test": 0}, 0.2),
])
def test_the_default_validation_share_follows_the_data(config, digits, splits, expected):
    assert resolve_val_split(config, digits, splits) == expected


def test_mnist_5k_validates_on_3_percent_of_each_class_and_a_folder_on_10(shapes_folder):
    from edgetl.data import load_dataset
    from edgetl.train import held_out_record, split_data

    digits = load_dataset("mnist-5k")
    (x, y), (x_val, y_val) = split_data(digits, TrainConfig())
    assert DIGIT_VAL_SPLIT == 0.03 and len(y) + len(y_val) == 4000
    counts = np.bincount(y_val, minlength=10)
    per_class = np.bincount(digits.split("train")[1], minlength=10)
    assert counts.tolist() == [round(n * 0.03) for n in per_class]  # 11-14 a class, 120 in all
    assert held_out_record(digits, TrainConfig()) == {"split": "test"}
    shapes = load_dataset(str(shapes_folder), image_size=32)
    n = len(shapes.split("train")[1])
    _, (_, y_shapes) = split_data(shapes, TrainConfig(data=str(shapes_folder)))
    assert len(y_shapes) == round(0.1 * n)
    record = held_out_record(shapes, TrainConfig(data=str(shapes_folder)))
    assert len(record["indices"]) == len(y_shapes)  # the int8 gate scores the same 10%


def test_the_extra_classes_are_validated_on_the_digits_share(monkeypatch):
    """The reject and pair classes hold out the share the digits do (3% for mnist-5k; 10% before), so the card's
    validation accuracy weighs them as before rather than mostly clutter."""
    import edgetl.clutter as clutter
    from edgetl.data import load_dataset
    from edgetl.digit_extras import extend_digits

    monkeypatch.setattr(clutter, "clutter_crops", lambda n, seed: np.zeros((n, 28, 28, 1), np.uint8))
    monkeypatch.setattr(clutter, "touching_pairs", lambda n, seed: np.zeros((n, 28, 28, 1), np.uint8))
    digits = load_dataset("mnist-5k")
    train, val = (np.zeros((4000, 28, 28, 1), np.uint8), np.arange(4000) % 10), \
        (np.zeros((120, 28, 28, 1), np.uint8), np.arange(120) % 10)

    def held(config):
        _, (_, y_val), names = extend_digits(train, val, digits, config)
        return [int(np.sum(y_val == names.index(name))) for name in ("not a digit", "two digits")]

    # 4,000 digits, 1,000 styled and 200 in a thick pen: 624 clutter crops and 175 pairs to train
    assert held(TrainConfig()) == [19, 5]
    assert held(TrainConfig(val_split=0.1)) == [62, 18]
