"""Every bad input a clear error: exit status 2, one line on stderr starting with "error:", no traceback, and
nothing the user had beside the target changed (a previous run, an earlier export, an earlier JSONL).

Runs in-process with typer's CliRunner against a hand-made edgetl ONNX model (no TensorFlow needed: every
case fails before it would load), so the whole table takes seconds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import EDGETL, ROOT, write_shapes
from edgetl import __version__
from edgetl.cli import app
from edgetl.runtime.card import ModelCard

runner = CliRunner()
CLASSES = ["circle", "square"]


def card(**overrides) -> ModelCard:
    fields = dict(task="classification", class_names=list(CLASSES), input_shape=[32, 32, 3], color_order="bgr",
                  backbone="vgg16", weights="none", backbone_input=[32, 32], feature_layer="block1_pool",
                  edgetl_version=__version__, training={"data": "", "seed": 0})
    valid = {k: v for k, v in overrides.items() if k != "input_shape" or all(isinstance(n, int) for n in v)}
    fields.update(valid)
    made = ModelCard(**fields)
    made.__dict__.update(overrides)  # a hand-edited card: wrong types get past the constructor
    return made


def tiny_onnx(path: Path, model_card: ModelCard, n_out: int = 2) -> Path:
    """A real (if trivial) edgetl ONNX model: uint8 NHWC in, mean colour, linear, softmax out; card inside."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgetl.export.onnx_export import save_onnx, set_metadata

    weights = numpy_helper.from_array(np.linspace(-1, 1, 3 * n_out, dtype=np.float32).reshape(3, n_out) / 64, "w")
    graph = helper.make_graph(
        [helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
         helper.make_node("ReduceMean", ["pixels"], ["colour"], axes=[1, 2], keepdims=0),
         helper.make_node("MatMul", ["colour", "w"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 32, 32, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_out])], [weights])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgetl-test")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    set_metadata(proto, model_card.to_metadata())
    return save_onnx(proto, path)


def write_video(path: Path, frames: int = 4, size=(160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    """The workspace every case runs in: data, models, and the user's precious files."""
    ws = tmp_path_factory.mktemp("bad_input")
    write_shapes(ws / "shapes", per_class=4)  # 8 colour images, 40 px
    for name in "abc":  # classes no model here knows
        (ws / "abc" / name).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(ws / "abc" / name / f"{i}.png"), np.full((32, 32, 3), 80 * i, np.uint8))
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    np.savez(ws / "one_class.npz", x=colour, y=np.zeros(40, np.int64))
    np.savez(ws / "one_sample.npz", x=colour[:1], y=np.zeros(1, np.int64))
    lonely = np.r_[np.zeros(39, np.int64), 1]
    np.savez(ws / "lonely.npz", x=colour, y=lonely)
    nan = colour.astype(np.float32) / 255
    nan[7, 3, 3, 0] = np.nan
    np.savez(ws / "nan.npz", x=nan, y=np.arange(40) % 2)
    np.savez(ws / "five_classes.npz", x=colour, y=np.arange(40) % 5)
    np.savez(ws / "big_rgb.npz", x=rng.integers(0, 256, (40, 64, 64, 3), dtype=np.uint8), y=np.arange(40) % 2)
    np.savez(ws / "negative.npz", x=colour, y=np.arange(40) % 2 - 1)
    np.savez(ws / "two_classes.npz", x=colour, y=np.arange(40) % 2)

    # an earlier run (train's precious file) and an earlier export (export's)
    run = ws / "run"
    run.mkdir()
    (run / "card.json").write_text(card().to_json())
    (run / "model.keras").write_bytes(b"the user's earlier model")
    (run / "metrics.json").write_text("{}")
    (ws / "out").mkdir()
    (ws / "out" / "model.int8.onnx").write_bytes(b"the user's earlier int8 model")
    (ws / "out" / "export.json").write_text('{"earlier": true}')
    (ws / "earlier.jsonl").write_text('{"frame": 0, "earlier": true}\n')

    model = tiny_onnx(ws / "model.onnx", card(training={"data": str(ws / "two_classes.npz"), "seed": 0}))
    tiny_onnx(ws / "wrong_card.onnx", card(class_names=["a", "b", "c"]))  # a 2-output graph, a 3-class card
    tiny_onnx(ws / "malformed_card.onnx", card(input_shape=["32 px", "32 px", "BGR"]))
    data = model.read_bytes()
    (ws / "truncated.onnx").write_bytes(data[: len(data) * 2 // 3])
    import onnx
    from onnx import numpy_helper

    swapped = onnx.load(str(model))  # other weights under the same card and recorded sha256
    swapped.graph.initializer[0].CopyFrom(numpy_helper.from_array(
        numpy_helper.to_array(swapped.graph.initializer[0]) * 2, "w"))
    onnx.save_model(swapped, str(ws / "swapped.onnx"))
    invalid = onnx.load(str(model))
    invalid.graph.node[2].op_type = "NoSuchOp"
    onnx.save_model(invalid, str(ws / "invalid.onnx"))
    write_video(ws / "clip.mp4")
    return ws


TRAIN = ["train", "--data", "{ws}/shapes", "--out", "{ws}/run", "--overwrite", "--weights", "none",
         "--input-size", "32", "--feature-layer", "block1_pool", "--epochs", "1", "--augment", "0"]
EXPORT = ["export", "{ws}/model.onnx", "--quantize", "int8", "--calib-data", "{ws}/two_classes.npz",
          "--out", "{ws}/out"]
RUN = ["run", "{ws}/model.onnx", "--source", "{ws}/clip.mp4", "--no-show", "--whole-frame", "--device", "cpu",
       "--jsonl", "{ws}/earlier.jsonl"]
EVALUATE = ["evaluate", "{ws}/model.onnx", "--data", "{ws}/two_classes.npz"]

# (id, base command, extra arguments (later options win), what the message must say, the precious file)
CASES = [
    # train: option ranges, refused before data or TensorFlow load
    ("train-epochs-0", TRAIN, ["--epochs", "0"], "--epochs 0: must be a whole number >= 1", "run/model.keras"),
    ("train-epochs-negative", TRAIN, ["--epochs", "-1"], "--epochs -1", "run/model.keras"),
    ("train-epochs-not-a-number", TRAIN, ["--epochs", "abc"], "'--epochs'", "run/model.keras"),
    ("train-units-negative", TRAIN, ["--units", "-5"], "--units -5: must be a whole number >= 0", "run/model.keras"),
    ("train-units-huge", TRAIN, ["--units", "100000000"], "--units 100000000: at most", "run/model.keras"),
    ("train-dropout-2", TRAIN, ["--dropout", "2"], "--dropout 2.0: must be in [0, 1)", "run/model.keras"),
    ("train-dropout-1", TRAIN, ["--dropout", "1"], "--dropout 1.0", "run/model.keras"),
    ("train-dropout-nan", TRAIN, ["--dropout", "nan"], "--dropout nan", "run/model.keras"),
    ("train-augment-negative", TRAIN, ["--augment", "-1"], "--augment -1", "run/model.keras"),
    ("train-input-size-huge", TRAIN, ["--input-size", "100000"], "at most 1024 px", "run/model.keras"),
    ("train-input-size-small", TRAIN, ["--input-size", "28"], "needs at least 32 px", "run/model.keras"),
    ("train-batch-size-0", TRAIN, ["--batch-size", "0"], "--batch-size 0", "run/model.keras"),
    ("train-limit-0", TRAIN, ["--limit", "0"], "--limit 0: must be a whole number >= 1", "run/model.keras"),
    ("train-limit-below-classes", TRAIN, ["--limit", "1"], "--limit 1 is smaller than the number of classes",
     "run/model.keras"),
    ("train-limit-leaves-one-sample", TRAIN, ["--limit", "2"], "a single sample after --limit 2",
     "run/model.keras"),
    ("train-freeze-negative", TRAIN, ["--freeze", "-1"], "--freeze -1: valid: 0..3", "run/model.keras"),
    ("train-freeze-too-many", TRAIN, ["--freeze", "999"], "--freeze 999: valid: 0..3", "run/model.keras"),
    ("train-val-split-0", TRAIN, ["--val-split", "0"], "--val-split 0.0: must be between 0 and 1",
     "run/model.keras"),
    ("train-val-split-1", TRAIN, ["--val-split", "1"], "--val-split 1.0", "run/model.keras"),
    ("train-lr-0", TRAIN, ["--lr", "0"], "--lr 0.0: must be a number > 0", "run/model.keras"),
    ("train-lr-nan", TRAIN, ["--lr", "nan"], "--lr nan", "run/model.keras"),
    ("train-fine-tune-lr-negative", TRAIN, ["--fine-tune-lr", "-1e-5"], "--fine-tune-lr -1e-05",
     "run/model.keras"),
    ("train-fine-tune-epochs-0", TRAIN, ["--fine-tune-epochs", "0"], "--fine-tune-epochs 0", "run/model.keras"),
    ("train-seed-negative", TRAIN, ["--seed", "-1"], "--seed -1", "run/model.keras"),
    ("train-fit-pad-smaller-than-images", TRAIN, ["--fit", "pad", "--data", "{ws}/big_rgb.npz"],
     "--fit pad: images are 64x64, larger than --input-size 32", "run/model.keras"),
    # train: data
    ("train-one-class", TRAIN, ["--data", "{ws}/one_class.npz"], "needs examples of at least 2 classes",
     "run/model.keras"),
    ("train-one-sample", TRAIN, ["--data", "{ws}/one_sample.npz"], "at least 2 classes", "run/model.keras"),
    ("train-class-with-one-sample", TRAIN, ["--data", "{ws}/lonely.npz"], "class '1' has a single sample",
     "run/model.keras"),
    ("train-nan-images", TRAIN, ["--data", "{ws}/nan.npz"], "x has 1 image with NaN", "run/model.keras"),
    # export: options (messages name the export's own options)
    ("export-calib-size-0", EXPORT, ["--calib-size", "0"], "--calib-size 0: must be a whole number >= 1",
     "out/model.int8.onnx"),
    ("export-calib-size-below-minimum", EXPORT, ["--calib-size", "5"], "--calib-size 5: int8 calibration needs",
     "out/model.int8.onnx"),
    ("export-calib-size-below-classes", EXPORT, ["--quantize", "fp16", "--calib-size", "1"],
     "--calib-size 1: smaller than the number of classes", "out/model.int8.onnx"),
    ("export-max-drop-negative", EXPORT, ["--max-drop", "-1"], "--max-drop -1.0: must be a number >= 0",
     "out/model.int8.onnx"),
    ("export-max-drop-nan", EXPORT, ["--max-drop", "nan"], "--max-drop nan", "out/model.int8.onnx"),
    ("export-opset-5", EXPORT, ["--opset", "5"], "--opset 5: valid: 13..18", "out/model.int8.onnx"),
    ("export-quantize-unknown", EXPORT, ["--quantize", "int4"], "--quantize int4: valid: int8, fp16",
     "out/model.int8.onnx"),
    ("export-calib-method-unknown", EXPORT, ["--calib-method", "magic"], "'--calib-method'",
     "out/model.int8.onnx"),
    # export: calibration data that does not fit the model
    ("export-calib-labels-beyond-classes", EXPORT, ["--calib-data", "{ws}/five_classes.npz"],
     "labels go up to 4 but the model knows 2 classes", "out/model.int8.onnx"),
    ("export-calib-foreign-classes", EXPORT, ["--calib-data", "{ws}/abc"], "classes a, b, c are not among",
     "out/model.int8.onnx"),
    ("export-calib-wrong-shape", EXPORT, ["--calib-data", "{ws}/big_rgb.npz"],
     "images are (64, 64, 3), the model takes (32, 32, 3)", "out/model.int8.onnx"),
    ("export-calib-nan", EXPORT, ["--calib-data", "{ws}/nan.npz"], "NaN", "out/model.int8.onnx"),
    ("export-run-calib-labels-beyond-classes", ["export", "{ws}/run", "--quantize", "int8", "--calib-data",
                                                "{ws}/five_classes.npz", "--out", "{ws}/out"], [],
     "labels go up to 4 but the model knows 2 classes", "run/model.keras"),
    # export: broken ONNX files
    ("export-truncated-onnx", EXPORT, [], "", "out/model.int8.onnx"),  # the source is swapped in below
    ("export-invalid-onnx", EXPORT, [], "onnx.checker", "out/model.int8.onnx"),
    # run: option ranges
    ("run-top-k-0", RUN, ["--top-k", "0"], "'--top-k'", "earlier.jsonl"),
    ("run-top-k-negative", RUN, ["--top-k", "-1"], "'--top-k'", "earlier.jsonl"),
    ("run-min-score-negative", RUN, ["--min-score", "-1"], "'--min-score'", "earlier.jsonl"),
    ("run-min-score-2", RUN, ["--min-score", "2"], "'--min-score'", "earlier.jsonl"),
    ("run-min-score-nan", RUN, ["--min-score", "nan"], "'--min-score'", "earlier.jsonl"),
    ("run-max-frames-0", RUN, ["--max-frames", "0"], "'--max-frames'", "earlier.jsonl"),
    ("run-max-frames-negative", RUN, ["--max-frames", "-1"], "'--max-frames'", "earlier.jsonl"),
    ("run-threads-0", RUN, ["--threads", "0"], "'--threads'", "earlier.jsonl"),
    ("run-roi-outside-the-frame", RUN, ["--roi", "200,10,50,50"],
     "reaches outside the 160x120 frame", "earlier.jsonl"),
    ("run-roi-partly-outside", RUN, ["--roi", "100,60,61,60"], "x+w = 161 > width 160", "earlier.jsonl"),
    ("run-roi-malformed", RUN, ["--roi", "1,2,3"], "--roi 1,2,3: expected X,Y,W,H", "earlier.jsonl"),
    ("run-roi-negative", RUN, ["--roi=-1,0,10,10"], "--roi -1,0,10,10: expected X,Y,W,H", "earlier.jsonl"),
    ("run-roi-empty-box", RUN, ["--roi", "0,0,0,10"], "--roi 0,0,0,10", "earlier.jsonl"),
    ("run-fp16-without-tensorrt", RUN, ["--fp16"], "--fp16 builds TensorRT engines", "earlier.jsonl"),
    ("run-missing-source", RUN, ["--source", "{ws}/no-such-clip.mp4"], "no such file", "earlier.jsonl"),
    ("run-unsupported-source", RUN, ["--source", "ftp://user:secret@host/clip.mp4"], "ftp://user:***@host",
     "earlier.jsonl"),
    # run: models that are not what their card says
    ("run-card-with-wrong-output-shape", RUN[:1] + ["{ws}/wrong_card.onnx"] + RUN[2:], [],
     "but its card says [batch, 3]", "earlier.jsonl"),
    ("run-card-with-malformed-fields", RUN[:1] + ["{ws}/malformed_card.onnx"] + RUN[2:], [],
     "model card: input_shape must be [height, width, channels]", "earlier.jsonl"),
    ("run-truncated-onnx", RUN[:1] + ["{ws}/truncated.onnx"] + RUN[2:], [], "truncated or corrupt",
     "earlier.jsonl"),
    ("run-swapped-onnx", RUN[:1] + ["{ws}/swapped.onnx"] + RUN[2:], [],
     "does not match the sha256 recorded at export", "earlier.jsonl"),
    ("run-not-onnx", RUN[:1] + ["{ws}/run/model.keras"] + RUN[2:], [], "takes an .onnx file", "earlier.jsonl"),
    # evaluate: data that does not fit the model
    ("evaluate-labels-beyond-classes", EVALUATE, ["--data", "{ws}/five_classes.npz"],
     "labels go up to 4 but the model knows 2 classes", "model.onnx"),
    ("evaluate-negative-labels", EVALUATE, ["--data", "{ws}/negative.npz"], "labels must be integers",
     "model.onnx"),
    ("evaluate-wrong-shape", EVALUATE, ["--data", "{ws}/big_rgb.npz"],
     "images are 64x64x3, the model takes 32x32x3", "model.onnx"),
    ("evaluate-foreign-classes", EVALUATE, ["--data", "{ws}/abc"], "classes a, b, c are not among the model's",
     "model.onnx"),
    ("evaluate-nan-images", EVALUATE, ["--data", "{ws}/nan.npz"], "NaN or infinite", "model.onnx"),
    ("evaluate-truncated-model", ["evaluate", "{ws}/truncated.onnx", "--data", "{ws}/two_classes.npz"], [],
     "truncated or corrupt", "model.onnx"),
    ("evaluate-card-with-wrong-output-shape", ["evaluate", "{ws}/wrong_card.onnx", "--data",
                                               "{ws}/two_classes.npz"], [], "but its card says [batch, 3]",
     "model.onnx"),
    ("evaluate-missing-data", EVALUATE, ["--data", "{ws}/nothing-here"], "no such file or folder", "model.onnx"),
]
SOURCES = {"export-truncated-onnx": ("{ws}/model.onnx", "{ws}/truncated.onnx", "truncated or corrupt"),
           "export-invalid-onnx": ("{ws}/model.onnx", "{ws}/invalid.onnx", "onnx.checker")}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_table_is_big_enough():
    commands = {base[0] for _, base, *_ in CASES}
    assert len(CASES) >= 40 and commands == {"train", "export", "run", "evaluate"}
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("name, base, extra, message, precious", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_exit_2(ws, monkeypatch, name, base, extra, message, precious):
    monkeypatch.chdir(ws.parent)  # --out checks refuse the current folder and its parents
    args = [a.replace("{ws}", str(ws)) for a in [*base, *extra]]
    if name in SOURCES:
        old, new, message = SOURCES[name]
        args = [new.replace("{ws}", str(ws)) if a == old.replace("{ws}", str(ws)) else a for a in args]
    before = snapshot(ws)
    result = runner.invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.output and "\x1b[" not in result.output
    assert (ws / precious).read_bytes() == before[precious]
    assert snapshot(ws) == before  # nothing added, removed or changed, temp files included


def test_credentials_in_a_stream_address_are_never_printed(ws):
    """A stream that cannot be opened: the error names it without its password and without camera hints.
    A subprocess, so that anything OpenCV or FFmpeg print themselves is seen too."""
    url = "rtsp://admin:s3cr3t-pw@127.0.0.1:9/live?token=abc123"
    result = subprocess.run([*EDGETL, "run", str(ws / "model.onnx"), "--source", url, "--no-show", "--device", "cpu"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "EDGETL_DEBUG": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "s3cr3t" not in output and "abc123" not in output
    assert "rtsp://admin:***@127.0.0.1:9/live?token=***" in result.stderr
    assert "index" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: --source rtsp://admin:***@") and "Traceback (most recent" in result.stderr


@pytest.mark.parametrize("spec, shown", [
    ("rtsp://user:pass@cam.local:554/stream1", "rtsp://user:***@cam.local:554/stream1"),
    ("http://u:p%40ss@10.0.0.2/video?x=1&password=hunter2", "http://u:***@10.0.0.2/video?x=1&password=***"),
    ("rtsps://cam.local/stream", "rtsps://cam.local/stream"),
    ("https://user@cam/feed", "https://user@cam/feed"),
    ("0", "0"),
    ("clips/a:b.mp4", "clips/a:b.mp4"),
])
def test_redact(spec, shown):
    from edgetl.runtime.sources import redact

    assert redact(spec) == shown


def test_a_camera_that_fails_to_open_has_no_index_hint_for_urls():
    from edgetl.runtime.errors import UserError
    from edgetl.runtime.camera import CameraSource

    class Closed:
        def isOpened(self):
            return False

        def getBackendName(self):
            return "FFMPEG"

    with pytest.raises(UserError) as url_error:
        CameraSource("rtsp://me:pw@cam/1", opener=lambda target: Closed(), open_timeout=1)
    assert "pw" not in str(url_error.value).replace("***", "") and "index" not in str(url_error.value)
    assert "password" in str(url_error.value)
    with pytest.raises(UserError, match=r"check the index"):
        CameraSource(3, opener=lambda target: Closed(), open_timeout=1)


def test_a_hand_made_card_with_the_wrong_output_is_refused_at_load(ws):
    from edgetl.runtime.errors import UserError
    from edgetl.runtime.model import Model

    with pytest.raises(UserError, match=r"output 'probabilities' is tensor\(float\) \['batch', 2\], but its card "
                                        r"says \[batch, 3\]"):
        Model(ws / "wrong_card.onnx", device="cpu")
    regression = tiny_onnx(ws.parent / "regression.onnx", card(task="regression", class_names=["value"]))
    with pytest.raises(UserError, match=r"\[batch, 1\]: 1 value"):
        Model(regression, device="cpu")


def test_the_recorded_sha256_covers_the_graph_not_the_metadata(ws, tmp_path):
    import onnx

    from edgetl.runtime.model import SHA256_KEY, Model, metadata_entries, model_sha256

    data = (ws / "model.onnx").read_bytes()
    assert metadata_entries(data)[SHA256_KEY] == model_sha256(data)
    proto = onnx.load(str(ws / "model.onnx"))
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, "note": "added later"})
    onnx.save_model(proto, str(tmp_path / "noted.onnx"))
    assert Model(tmp_path / "noted.onnx", device="cpu").card.class_names == CLASSES  # metadata edits are fine
    onnx.helper.set_model_props(proto, {p.key: p.value for p in proto.metadata_props if p.key != SHA256_KEY})
    proto.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(
        onnx.numpy_helper.to_array(proto.graph.initializer[0]) + 1, "w"))
    onnx.save_model(proto, str(tmp_path / "unhashed.onnx"))
    Model(tmp_path / "unhashed.onnx", device="cpu")  # no recorded hash (an older export): loads
    for cut in (10, len(data) // 2, len(data) - 3):
        (tmp_path / "cut.onnx").write_bytes(data[:cut])
        with pytest.raises(Exception, match="truncated or corrupt"):
            Model(tmp_path / "cut.onnx", device="cpu")


def test_tensorrt_fp16_only_when_asked(monkeypatch, tmp_path):
    from edgetl.runtime import providers

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    chain = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    default = dict(providers.with_options(chain)[0][1])
    asked = dict(providers.with_options(chain, fp16=True)[0][1])
    assert default["trt_fp16_enable"] is False and asked["trt_fp16_enable"] is True
    assert default["trt_engine_cache_path"] != asked["trt_engine_cache_path"]  # engines of both never mix
    assert providers.with_options(["CPUExecutionProvider"], fp16=True) == ["CPUExecutionProvider"]


def test_tf2onnx_failures_are_one_plain_line(monkeypatch):
    from edgetl.export import onnx_export
    from edgetl.runtime.errors import UserError

    stack = ("\x1b[1mKeyError\x1b[0m: 'Conv2DBackpropInput'\nTraceback (most recent call last):\n"
             '  File "tf2onnx/tfonnx.py", line 292, in tensorflow_onnx_mapping\n' + "    frame\n" * 12)

    class Convert:
        @staticmethod
        def from_keras(*args, **kwargs):
            raise RuntimeError(stack)

    class Spec:
        def __init__(self, *args, **kwargs):
            pass

    monkeypatch.setitem(sys.modules, "tf2onnx", type(sys)("tf2onnx"))
    sys.modules["tf2onnx"].convert = Convert
    monkeypatch.setitem(sys.modules, "tensorflow", type(sys)("tensorflow"))
    sys.modules["tensorflow"].TensorSpec, sys.modules["tensorflow"].uint8 = Spec, "uint8"
    with pytest.raises(UserError) as caught:
        onnx_export.keras_to_onnx_proto(object(), card(), 17)
    text = str(caught.value)
    assert "\n" not in text and "\x1b" not in text and "Traceback" not in text
    assert "RuntimeError: KeyError: 'Conv2DBackpropInput'" in text


def test_a_broken_install_keeps_its_import_error(monkeypatch):
    import importlib

    from edgetl import _deps
    from edgetl.runtime.errors import UserError

    def broken(name):
        raise ImportError("libcudart.so.12: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(UserError, match=r"installed but fails to import \(ImportError: libcudart\.so\.12: cannot "
                                        r"open shared object file"):
        _deps.require("tensorflow", "training")

    def missing(name):
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(UserError, match=r"not installed: pip install 'edgetl\[train\]'"):
        _deps.require("tensorflow", "training")

    def sub_dependency_missing(name):
        raise ModuleNotFoundError("No module named 'ml_dtypes'", name="ml_dtypes")

    monkeypatch.setattr(importlib, "import_module", sub_dependency_missing)
    with pytest.raises(UserError, match="fails to import .*ml_dtypes"):
        _deps.require("tensorflow", "training")


def test_usage_errors_are_one_line_too():
    for args in (["trian"], ["train", "--no-such-option"], ["run"], ["export", "--calib-size", "many", "x"]):
        result = runner.invoke(app, args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert "--help" in lines[0]
    result = runner.invoke(app, [])
    assert "Usage" in result.output  # `edgetl` alone still prints the help


def test_limit_0_is_an_error_in_the_python_api_too(tmp_path):
    from edgetl.config import TrainConfig
    from edgetl.runtime.errors import UserError
    from edgetl.train import validate

    with pytest.raises(UserError, match="--limit 0"):
        validate(TrainConfig(out=tmp_path / "run", limit=0))
    validate(TrainConfig(out=tmp_path / "run", limit=1, freeze=10))  # block3_pool: 10 layers
    with pytest.raises(UserError, match=r"--freeze 11: valid: 0\.\.10 .*block3_pool"):
        validate(TrainConfig(out=tmp_path / "run", input_size=48, freeze=11))


def test_report_is_json_and_exit_0_for_a_good_evaluation(ws):
    """The control: the same command with matching data succeeds (the table fails for its one reason)."""
    result = runner.invoke(app, EVALUATE[:1] + [a.replace("{ws}", str(ws)) for a in EVALUATE[1:]] + ["--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 40


def test_closing_a_camera_never_releases_it_under_a_running_read():
    """The reader thread owns the capture: close() while a read is in progress must not release it then."""
    import threading
    import time

    from edgetl.runtime.camera import CameraSource

    events = []

    class SlowCamera:
        def __init__(self, target):
            self.reading = threading.Event()

        def isOpened(self):
            return True

        def read(self):
            events.append("read")
            self.reading.set()
            time.sleep(2.5)  # longer than close() waits for the reader
            events.append("read done")
            return True, np.zeros((8, 8, 3), np.uint8)

        def release(self):
            events.append("release")

    camera = CameraSource(0, opener=SlowCamera, open_timeout=1)
    camera.capture.reading.wait(2)
    camera.close()
    assert "release" not in events  # the read is still running: not released under it
    camera.thread.join(3)
    assert not camera.thread.is_alive() and events[-2:] == ["read done", "release"]
    assert events.count("release") == 1
