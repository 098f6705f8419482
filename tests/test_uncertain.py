"""`edgetl run --save-uncertain DIR`: refused or unsure digit crops, as the model saw them, in DIR/unsure/ beside
empty class folders; once per tracked digit per 30 frames; a sorted tree trains with `edgetl train --data DIR`."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from conftest import run_cli
from edgetl.runtime.uncertain import Unsure, UncertainSaver

pytestmark = pytest.mark.slow  # the session's digit model (conftest.digit_run)


@pytest.fixture(scope="module")
def desk_clip(tmp_path_factory):
    from edgetl.data import load_dataset
    from edgetl.desk import render_desk_clip

    x, y = load_dataset("mnist-5k").split("test")
    return render_desk_clip(tmp_path_factory.mktemp("clip") / "desk.mp4", x[:60], y[:60], scenes=2,
                            frames_per_scene=10, seed=4)


def test_unsure_crops_are_kept_once_per_digit(digit_run, desk_clip, tmp_path):
    from edgetl.runtime.app import run
    from edgetl.runtime.model import Model

    model = Model(digit_run / "model.int8.onnx")
    seen = []
    out = tmp_path / "keep"
    report = run(model, str(desk_clip), show=False, save_uncertain=out, uncertain_margin=0.999,
                 on_frame=lambda result: seen.append(len(result.uncertain)))
    files = sorted((out / "unsure").glob("*.png"))
    assert report["uncertain_saved"] == len(files) >= 1
    assert len(files) < sum(seen)  # a digit followed over 10 frames is saved once, not 10 times
    crop = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    assert crop.shape == (model.card.height, model.card.width) and crop.dtype == np.uint8
    assert files[0].name.startswith("f0") and "_guess" in files[0].name
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(["unsure", *model.card.class_names])
    assert "edgetl train --data" in (out / "README.txt").read_text()


def test_a_sorted_tree_trains(digit_run, desk_clip, tmp_path):
    out = tmp_path / "keep"
    result = run_cli("run", digit_run / "model.int8.onnx", "--source", desk_clip, "--no-show",
                     "--save-uncertain", out, "--uncertain-margin", "0.999")
    assert result.returncode == 0, result.stderr
    crops = sorted((out / "unsure").glob("*.png"))
    assert len(crops) >= 4
    for i, crop in enumerate(crops[:4]):  # the user sorts four of them into two classes
        shutil.move(str(crop), out / ("3" if i % 2 else "7") / crop.name)
    trained = run_cli("train", "--data", out, "--out", tmp_path / "run", "--weights", "none", "--epochs", "1",
                      "--augment", "0", "--input-size", "32", "--val-split", "0.5")
    assert trained.returncode == 0, trained.stderr[-2000:]
    import json

    assert json.loads((tmp_path / "run" / "card.json").read_text())["class_names"] == ["3", "7"]


def test_bad_place_fails_before_the_camera_opens(digit_run, tmp_path):
    (tmp_path / "a_file").write_text("mine")
    result = run_cli("run", digit_run / "model.int8.onnx", "--source", "9", "--no-show",
                     "--save-uncertain", tmp_path / "a_file")
    assert result.returncode == 2 and "--save-uncertain" in result.stderr and "is a file" in result.stderr
    assert (tmp_path / "a_file").read_text() == "mine"


def test_files_already_there_are_never_replaced(tmp_path):
    saver = UncertainSaver(tmp_path / "keep", ["0", "1"])
    item = Unsure([10, 20, 30, 40], np.full((28, 28, 1), 200, np.uint8), "1", 0.55, False)
    saver.write(7, item)
    first = next((tmp_path / "keep" / "unsure").iterdir())
    before = first.read_bytes()
    saver.write(7, Unsure(item.box, np.zeros((28, 28, 1), np.uint8), "1", 0.55, False))
    assert first.read_bytes() == before and len(list((tmp_path / "keep" / "unsure").iterdir())) == 2


def test_a_margin_of_one_keeps_every_crop_and_the_default_only_the_unsure():
    from types import SimpleNamespace

    from edgetl.runtime.stream import digit_probabilities
    from edgetl.runtime.uncertain import unsure_crops

    names = [str(d) for d in range(10)] + ["not a digit"]
    card = SimpleNamespace(class_names=names, reject_class="not a digit", reject_threshold=0.99)
    probs = np.zeros((3, 11))
    probs[0, 7] = 1.0  # sure, right or wrong: only a margin of 1 keeps it
    probs[1, [3, 5]] = 0.55, 0.45  # unsure: a gap of 0.1
    probs[2, 10] = 1.0  # refused
    boxes = [[0, 0, 10, 20], [20, 0, 10, 20], [40, 0, 10, 20]]
    batch = np.zeros((3, 28, 28, 1), np.uint8)
    digits, rejected = digit_probabilities(card, probs)
    kept = {m: [u.guess for u in unsure_crops(card, boxes, batch, probs, digits, rejected, m)] for m in (0.3, 1.0)}
    assert kept == {0.3: ["3", "not a digit"], 1.0: ["7", "3", "not a digit"]}


def test_k_in_the_window_keeps_every_crop_of_the_frame_on_screen(digit_run, desk_clip, tmp_path, monkeypatch):
    """A confident misread never passes the unsure rule: k keeps the frame's crops, sure ones included."""
    from test_window import NO_KEY, FakeDisplay

    from edgetl.runtime import app
    from edgetl.runtime.model import Model
    from edgetl.runtime.window import Window

    def scripted(snapshots, on_keep):
        keys = [NO_KEY, NO_KEY, ord("k")]  # k on the third frame shown
        return Window(snapshots, display=FakeDisplay(keys), screen=lambda: None, on_keep=on_keep)

    monkeypatch.setattr(app, "Window", scripted)
    crops = {}
    out = tmp_path / "keep"
    app.run(Model(digit_run / "model.int8.onnx"), str(desk_clip), show=True, save_uncertain=out, fast=True,
            on_frame=lambda result: crops.setdefault(result.index, result.uncertain))
    third = sorted(crops)[2]
    boxes = {tuple(u.box) for u in crops[third]}
    assert len(boxes) >= 2 and any(u.gap >= 0.3 for u in crops[third])  # sure crops among them
    names = [p.name for p in (out / "unsure").glob(f"f{third:06d}_*.png")]
    saved = {tuple(int(part[1:]) for part in name.split("_")[1:5]) for name in names}
    assert saved == boxes
