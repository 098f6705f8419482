"""``--dropout-mask``: the head's dropout drops features per image (Keras's own) or one set for a whole batch."""
import json

import numpy as np
import pytest

from conftest import run_cli


def test_a_digit_reader_draws_one_dropout_mask_a_batch_unless_told():
    from edgetl.config import TrainConfig, resolve_dropout_mask
    from edgetl.model import HeadConfig

    assert resolve_dropout_mask(TrainConfig(), True) == "batch"
    assert resolve_dropout_mask(TrainConfig(), False) == "sample"  # measured on digits only
    assert resolve_dropout_mask(TrainConfig(head=HeadConfig(dropout_mask="sample")), True) == "sample"
    assert resolve_dropout_mask(TrainConfig(head=HeadConfig(dropout_mask="batch")), False) == "batch"


@pytest.mark.parametrize("mask", ["sample", "batch"])
def test_the_head_drops_the_same_features_for_every_row_only_with_a_batch_mask(mask):
    import keras

    from edgetl.model import HeadConfig, head_layers

    dropout = next(layer for layer in head_layers(keras, 3, "classification",
                                                  HeadConfig(units=0, dropout=0.3, dropout_mask=mask))
                   if layer.name == "head_dropout")
    out = keras.ops.convert_to_numpy(dropout(np.ones((16, 400), np.float32), training=True))
    kept = out > 0
    assert 0.6 < kept.mean() < 0.8  # about 30% dropped either way, the rest scaled by 1 / 0.7
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    rows_alike = all(np.array_equal(kept[0], row) for row in kept[1:])
    assert rows_alike == (mask == "batch")
    assert np.array_equal(keras.ops.convert_to_numpy(dropout(np.ones((16, 400), np.float32))), np.ones((16, 400)))


def test_a_digit_run_records_its_batch_mask_and_a_photo_run_keeps_keras_dropout(shapes_folder, tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.rundir import load_run
    from edgetl.train import train

    digits = train(TrainConfig(data="mnist-5k", out=tmp_path / "digits", weights="none", input_size=32,
                               feature_layer="block1_pool", head=HeadConfig(units=0), epochs=1, augment=0,
                               limit=200, reject=False))
    photos = train(TrainConfig(data=str(shapes_folder), out=tmp_path / "photos", weights="none", input_size=32,
                               feature_layer="block1_pool", head=HeadConfig(units=0), epochs=1, augment=0))
    for run, mask, shape in ((digits, "batch", [1, None]), (photos, "sample", None)):
        assert json.loads((run / "card.json").read_text())["training"]["head"]["dropout_mask"] == mask
        model, _ = load_run(run)  # the saved model loads (safe mode) with its mask's noise shape
        noise_shape = model.get_layer("head_dropout").get_config()["noise_shape"]
        assert (list(noise_shape) if noise_shape else None) == shape


def test_an_unknown_dropout_mask_is_one_line(shapes_folder, tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.model import HeadConfig
    from edgetl.runtime.errors import UserError
    from edgetl.train import train

    with pytest.raises(UserError, match="--dropout-mask row: must be one of sample, batch"):
        train(TrainConfig(data=str(shapes_folder), out=tmp_path / "run", head=HeadConfig(dropout_mask="row")))
    result = run_cli("train", "--data", shapes_folder, "--out", tmp_path / "run", "--dropout-mask", "row",
                     timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "'row' is not one of" in result.stderr
    assert not (tmp_path / "run").exists()
