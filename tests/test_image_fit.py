"""The card's image_fit is the one rule that brings an image of another shape to the model's input, for
Model.predict, `edgetl run --whole-frame` and `edgetl predict` alike (training squashes, so squash by default)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.images import fit_image, fit_to_input


@pytest.fixture(scope="module")
def model(tiny_run, tmp_path_factory):
    from edgetl.exporting import ExportOptions, export
    from edgetl.runtime.model import Model

    out = tmp_path_factory.mktemp("fit")
    export(tiny_run, ExportOptions(out=out))
    return Model(out / "model.onnx", device="cpu")


def wide_frame() -> np.ndarray:
    """A 40x80 frame: a bright square on the left third, the rest dark, so crop and squash see different things."""
    frame = np.zeros((40, 80, 3), np.uint8)
    frame[5:35, 2:26] = 230
    return frame


def test_whole_frame_reads_what_model_predict_reads(model):
    from edgetl.runtime.stream import whole_frame

    frame = wide_frame()
    batch, boxes = whole_frame(model, frame, None)
    assert boxes == [[0, 0, 80, 40]]  # squash: the whole frame, as the card says and training did
    np.testing.assert_array_equal(batch[0], fit_image(frame, model.card.height, model.card.width, 3))
    np.testing.assert_allclose(model.predict_batch(batch), model.predict([frame]), atol=1e-6)


def test_center_crop_cards_crop_everywhere(model):
    from edgetl.runtime.stream import whole_frame

    cropping = dataclasses.replace(model.card, image_fit="center_crop")
    frame = wide_frame()
    fitted = fit_to_input(frame, cropping)
    np.testing.assert_array_equal(fitted, fit_image(frame[:, 20:60], cropping.height, cropping.width, 3))
    model.card, card = cropping, model.card
    try:
        batch, boxes = whole_frame(model, frame, None)
        assert boxes == [[20, 0, 40, 40]]
        np.testing.assert_array_equal(batch[0], fitted)
        np.testing.assert_allclose(model.predict([frame]), model.predict_batch(fitted[None]), atol=1e-6)
    finally:
        model.card = card


def test_an_unknown_fit_is_named():
    data = json.loads(ModelCard(task="classification", class_names=["a", "b"], input_shape=[8, 8, 1],
                                color_order="gray", backbone="vgg16", weights="none", backbone_input=[32, 32],
                                feature_layer="block1_pool").to_json())
    data["image_fit"] = "stretch"
    with pytest.raises(UserError, match="image_fit 'stretch' is not one of squash, center_crop"):
        ModelCard.from_json(json.dumps(data))
