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
