import json

import pytest

from edgetl.runtime.card import CARD_FORMAT, METADATA_KEY, ModelCard
from edgetl.runtime.errors import UserError


def make_card(**overrides) -> ModelCard:
    fields = dict(task="classification", class_names=["0", "1"], input_shape=[28, 28, 1], color_order="gray",
                  backbone="vgg16", weights="hed-bsds500", backbone_input=[48, 48], feature_layer="block4_pool",
                  digits=True, metrics={"test": {"accuracy": 0.99}})
    fields.update(overrides)
    return ModelCard(**fields)


def test_json_round_trip_keeps_every_field():
    card = make_card(quantization="int8", float_sha256="ab" * 32)
    assert ModelCard.from_json(card.to_json()) == card


def test_metadata_round_trip():
    card = make_card()
    props = card.to_metadata()
    assert set(props) == {METADATA_KEY, "edgetl.version"}
    assert ModelCard.from_metadata(props, "m.onnx") == card


def test_foreign_metadata_is_refused():
    with pytest.raises(UserError, match="no edgetl model card"):
        ModelCard.from_metadata({"producer": "someone"}, "m.onnx")


def test_missing_fields_named():
    data = json.loads(make_card().to_json())
    del data["class_names"], data["backbone"]
    with pytest.raises(UserError, match="class_names, .*backbone|backbone, .*class_names"):
        ModelCard.from_json(json.dumps(data))


def test_unknown_task_refused():
    with pytest.raises(UserError, match="unknown task"):
        make_card(task="detection")


def test_save_load(tmp_path):
    card = make_card()
    card.save(tmp_path / "card.json")
    assert ModelCard.load(tmp_path / "card.json") == card
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temp files left


@pytest.mark.parametrize("made, message", [(CARD_FORMAT + 1, r"newer edgetl .* upgrade"),
                                           ("2", "not a whole number"), (None, "not a whole number")])
def test_a_card_from_a_newer_edgetl_is_refused(made, message):
    data = json.loads(make_card().to_json())
    data["format"] = made
    with pytest.raises(UserError, match=message):
        ModelCard.from_json(json.dumps(data), source="m.onnx")


def test_the_current_and_older_formats_load():
    data = json.loads(make_card().to_json())
    for made in (CARD_FORMAT, 0):
        data["format"] = made
        assert ModelCard.from_json(json.dumps(data)).class_names == data["class_names"]
    del data["format"]
    assert ModelCard.from_json(json.dumps(data)).format == CARD_FORMAT


PREPROCESS = {"mode": "caffe", "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0], "color": "bgr",
              "to_backbone": "bilinear"}


def test_preprocess_and_resize_round_trip_as_fields():
    card = make_card(preprocess=PREPROCESS, resize={"fit": "pad", "shrink": "cubic", "enlarge": "nearest"})
    data = json.loads(card.to_metadata()[METADATA_KEY])
    assert data["format"] == CARD_FORMAT == 3 and data["preprocess"] == PREPROCESS
    assert data["resize"] == {"fit": "pad", "shrink": "cubic", "enlarge": "nearest"}
    assert ModelCard.from_metadata(card.to_metadata(), "m.onnx") == card


def test_a_resize_without_interpolations_takes_trainings():
    assert make_card(resize={"fit": "center_crop"}).resize == {"fit": "center_crop", "shrink": "area",
                                                               "enlarge": "linear"}


def test_a_format_1_card_loads_as_old_edgetl_ran_it():
    """Format 1: prose normalization, no resize: images squashed with area/linear, as training did."""
    data = json.loads(make_card().to_json())
    del data["preprocess"], data["resize"]
    data.update(format=1, normalization="in-graph: gray->3 channels, resize, caffe BGR mean subtraction")
    card = ModelCard.from_json(json.dumps(data))
    assert card.resize == {"fit": "squash", "shrink": "area", "enlarge": "linear"}
    assert card.preprocess is None and card.format == CARD_FORMAT
    data["image_fit"] = "center_crop"  # written by format 1 cards for a while
    assert ModelCard.from_json(json.dumps(data)).resize["fit"] == "center_crop"


@pytest.mark.parametrize("field, value, message", [
    ("resize", {"fit": "stretch"}, "m.onnx: model card: resize.fit 'stretch' is not one of squash, pad, center_crop"),
    ("resize", {"fit": "pad", "shrink": "bicubic"}, "resize.shrink 'bicubic' is not one of area, linear"),
    ("resize", {"fit": "pad", "fill": 0}, "resize has unknown key 'fill'; known: fit, shrink, enlarge"),
    ("resize", "squash", "resize must be an object"),
    ("preprocess", {**PREPROCESS, "mode": "inception"}, "preprocess.mode 'inception' is not one of caffe, tf"),
    ("preprocess", {**PREPROCESS, "std": [1, 0, 1]}, r"preprocess.std must be 3 numbers \(B, G, R\), each > 0"),
    ("preprocess", {**PREPROCESS, "color": "rgba"}, "preprocess.color 'rgba' is not one of bgr, rgb"),
    ("preprocess", {"mode": "tf"}, "preprocess lacks mean, std, color, to_backbone"),
    ("pair_class", "two digits", "pair_class 'two digits' is not one of its class_names"),
    ("pair_class", 11, "pair_class must be a string or null, got 11"),
    ("reject_class", "not a digit", "reject_class 'not a digit' is not one of its class_names"),
])
def test_a_hand_edited_contract_is_named_in_one_line(field, value, message):
    data = json.loads(make_card().to_json())
    data[field] = value
    with pytest.raises(UserError, match=message) as caught:
        ModelCard.from_json(json.dumps(data), source="m.onnx")
    assert "\n" not in str(caught.value)


def test_a_digit_card_names_its_reject_and_pair_classes_and_round_trips():
    card = make_card(class_names=[*"0123456789", "not a digit", "two digits"], reject_class="not a digit",
                     pair_class="two digits")
    assert ModelCard.from_metadata(card.to_metadata(), "m.onnx").pair_class == "two digits"
    assert make_card().pair_class is None  # a card without the class: no cut is tried (stream.digit_batch)
