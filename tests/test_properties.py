"""Property-based tests (hypothesis): the model card loader, --roi parsing and checking, --source parsing and
the redaction of stream credentials. Each property holds for every input hypothesis can think of."""
from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from edgetl.cli.run import parse_roi
from edgetl.runtime.card import METADATA_KEY, ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.sources import URL_SCHEMES, check_roi, redact, select_source

settings.register_profile("edgetl", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("edgetl")

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=12)


@st.composite
def cards(draw) -> ModelCard:
    classes = draw(st.lists(names, min_size=1, max_size=12, unique=True))
    task = draw(st.sampled_from(["classification", "regression"]))
    return ModelCard(
        task=task, class_names=["value"] if task == "regression" else classes,
        input_shape=[draw(st.integers(1, 4096)), draw(st.integers(1, 4096)), draw(st.sampled_from([1, 3]))],
        color_order=draw(st.sampled_from(["gray", "bgr"])), backbone=draw(names), weights=draw(names),
        backbone_input=[draw(st.integers(32, 1024))] * 2, feature_layer=draw(names),
        digits=draw(st.booleans()),
        reject_class=draw(st.none() | st.sampled_from(classes)) if task == "classification" else None,
        metrics=draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)),
        training=draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)),
        quantization=draw(st.none() | names), float_sha256=draw(st.none() | st.text("0123456789abcdef", min_size=64,
                                                                                     max_size=64)),
        edgetl_version=draw(st.text(max_size=8)))


@given(cards())
def test_a_card_survives_json_and_onnx_metadata(card):
    assert ModelCard.from_json(card.to_json()) == card
    props = card.to_metadata()
    assert ModelCard.from_metadata(props, "m.onnx") == card
    assert json.loads(props[METADATA_KEY])["class_names"] == card.class_names


@given(cards(), st.sampled_from(["task", "class_names", "input_shape", "color_order", "backbone", "weights",
                                 "backbone_input", "feature_layer"]))
def test_a_card_missing_a_required_field_is_refused_by_name(card, field):
    data = json.loads(card.to_json())
    del data[field]
    with pytest.raises(UserError, match=field):
        ModelCard.from_json(json.dumps(data))


@given(cards(), st.dictionaries(st.text(max_size=10), json_values, max_size=3))
def test_unknown_card_fields_from_newer_versions_are_ignored(card, extra):
    data = json.loads(card.to_json())
    extra = {k: v for k, v in extra.items() if k not in data}
    assert ModelCard.from_json(json.dumps({**data, **extra})) == card


@given(st.text(max_size=200))
def test_card_text_that_is_not_json_is_a_user_error(text):
    try:
        json.loads(text)
    except ValueError:
        with pytest.raises(UserError, match="not valid JSON"):
            ModelCard.from_json(text)


@given(json_values)
def test_any_json_is_a_card_or_a_user_error(value):
    try:
        ModelCard.from_json(json.dumps(value))
    except UserError:
        pass


rois = st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 10_000), st.integers(1, 10_000))


@given(rois)
def test_a_roi_round_trips_through_its_text(roi):
    assert parse_roi(",".join(map(str, roi))) == list(roi)


@given(st.text(max_size=30))
def test_any_roi_text_is_four_valid_numbers_or_a_user_error(text):
    try:
        roi = parse_roi(text)
    except UserError as exc:
        assert str(exc).startswith(f"--roi {text}: expected X,Y,W,H")
        return
    assert len(roi) == 4 and min(roi) >= 0 and roi[2] >= 1 and roi[3] >= 1


@given(rois, st.integers(1, 4000), st.integers(1, 4000))
def test_a_roi_is_refused_exactly_when_it_leaves_the_frame(roi, width, height):
    x, y, w, h = roi
    inside = x + w <= width and y + h <= height
    try:
        check_roi(list(roi), (height, width, 3), "clip.mp4")
    except UserError as exc:
        assert not inside and f"{width}x{height} frame" in str(exc)
        return
    assert inside


@given(st.text(max_size=40))
def test_any_source_text_is_a_source_or_a_user_error(spec):
    assume(not spec.isdigit() and not spec.lower().startswith(URL_SCHEMES))  # those open cameras and streams
    try:
        source = select_source(spec)
    except UserError as exc:
        assert str(exc).startswith("--source ")
        return
    source.close()


secret = st.text(string.ascii_letters + string.digits + "!$&'()*+,;=%-._~", min_size=6, max_size=16)
part = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)


@given(st.sampled_from(["rtsp", "rtsps", "http", "https", "RTSP"]), part, secret, part, st.lists(part, max_size=3))
def test_a_stream_password_is_never_shown(scheme, user, password, host, path):
    assume(password not in f"{user}{host}{''.join(path)}")
    url = f"{scheme}://{user}:{password}@{host}:554/{'/'.join(path)}"
    shown = redact(url)
    assert password not in shown and shown == f"{scheme}://{user}:***@{host}:554/{'/'.join(path)}"
    assert redact(shown) == shown


@given(st.text(max_size=40))
def test_text_without_a_scheme_is_shown_as_is(text):
    assume("://" not in text)
    assert redact(text) == text
