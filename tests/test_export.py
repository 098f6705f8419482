import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, run_cli
from edgetl.exporting import ExportOptions, export
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.model import Model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    export(tiny_run, ExportOptions(quantize="int8", calib_size=16, out=out))
    return out


@pytest.mark.parametrize("batch", [1, 7])
def test_onnx_matches_keras_on_random_uint8(tiny_run, exported, batch):
    from edgetl.rundir import load_run
    from edgetl.train import predict

    keras_model, _ = load_run(tiny_run)
    x = np.random.default_rng(batch).integers(0, 256, (batch, 32, 32, 3), dtype=np.uint8)
    onnx_out = Model(exported / "model.onnx", device="cpu").predict_batch(x)
    assert onnx_out.shape == (batch, 2)
    np.testing.assert_allclose(onnx_out, predict(keras_model, x), atol=1e-4)


def test_card_travels_inside_the_onnx_file(tiny_run, exported):
    card = ModelCard.load(tiny_run / "card.json")
    assert Model(exported / "model.onnx", device="cpu").card == card
    int8 = Model(exported / "model.int8.onnx", device="cpu").card
    assert int8.quantization.startswith("int8 static QDQ per-channel")
    assert len(int8.float_sha256) == 64 and int8.class_names == card.class_names


def session(path):
    """onnxruntime directly, not edgetl's Model: the test computes its own figures."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def outputs(path, x: np.ndarray) -> np.ndarray:
    sess = session(path)
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_int8_is_verified_and_smaller(tiny_run, exported):
    from edgetl.data import load_dataset
    from edgetl.rundir import load_run
    from edgetl.runtime.model import SHA256_KEY, metadata_entries, model_sha256
    from edgetl.train import predict

    card = ModelCard.load(tiny_run / "card.json")
    x, _ = load_dataset(card.training["data"], image_size=32).split("train")  # real images, 32 of them
    x = np.asarray(x)  # a folder is read on demand: decode it whole for onnxruntime
    keras_model, _ = load_run(tiny_run)
    float_out, int8_out = outputs(exported / "model.onnx", x), outputs(exported / "model.int8.onnx", x)
    assert np.max(np.abs(float_out - predict(keras_model, x))) <= 1e-4  # parity, computed here
    assert np.max(np.abs(int8_out - float_out)) < 0.05
    assert np.mean(int8_out.argmax(1) == float_out.argmax(1)) >= 0.9
    assert (exported / "model.int8.onnx").stat().st_size < 0.4 * (exported / "model.onnx").stat().st_size
    assert not [p for p in exported.iterdir() if p.name.startswith(".")]
    for name in ("model.onnx", "model.int8.onnx"):  # each file records the sha256 of its own graph
        data = (exported / name).read_bytes()
        assert metadata_entries(data)[SHA256_KEY] == model_sha256(data)


def test_int8_keeps_the_heads_logits_and_softmax_in_float(tiny_run, exported):
    """Quantized, the probabilities came out in 1/255 steps and close logits tied (two digits at 0.47 each)."""
    import onnx

    from edgetl.data import load_dataset

    card = ModelCard.load(tiny_run / "card.json")
    x, _ = load_dataset(card.training["data"], image_size=32).split("train")
    x = np.asarray(x)
    float_out, int8_out = outputs(exported / "model.onnx", x), outputs(exported / "model.int8.onnx", x)
    off_grid = np.abs(int8_out * 255 - np.round(int8_out * 255))
    assert np.mean(off_grid > 0.01) > 0.5  # not a quantized output's levels
    nodes = onnx.load(str(exported / "model.int8.onnx")).graph.node
    head = max(i for i, node in enumerate(nodes) if node.op_type in ("MatMul", "Gemm"))
    assert [node.op_type for node in nodes[head:]] == ["Gemm", "Softmax"] or \
        [node.op_type for node in nodes[head:]] == ["MatMul", "Add", "Softmax"]
    assert np.max(np.abs(int8_out - float_out)) < 0.05


def test_int8_digit_reader_keeps_its_accuracy(digit_run):
    """The gate's realistic threshold (the default 1 point), checked here on 1,000 held-out digits."""
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    float_pred = outputs(digit_run / "model.onnx", x).argmax(1)
    int8_pred = outputs(digit_run / "model.int8.onnx", x).argmax(1)
    before, after = np.mean(float_pred == y), np.mean(int8_pred == y)
    assert len(y) == 1000 and before >= 0.9  # a real digit reader (1,500 training digits, 32 px, block3)
    assert 100 * (before - after) <= 1.0 and np.mean(float_pred == int8_pred) >= 0.98
    report = json.loads((digit_run / "export.json").read_text())
    assert report["int8"]["n"] == 1000  # the report describes the same held-out digits
    assert report["int8"]["accuracy_before"] == pytest.approx(before) and \
        report["int8"]["accuracy_after"] == pytest.approx(after)


def test_drop_gate_refuses_a_badly_calibrated_int8(digit_run, tmp_path):
    # Calibrated on constant gray images, every activation range is a point: real digits saturate it and
    # accuracy collapses. The default gate (1 point) must refuse it, retry included.
    from edgetl.data import load_dataset

    x_test, y_test = load_dataset("mnist-5k").split("test")
    flat = np.full((64, 28, 28), 128, np.uint8)
    np.savez(tmp_path / "flat.npz", x_train=flat, y_train=y_test[:64], x_test=x_test[:300, :, :, 0],
             y_test=y_test[:300])
    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"int8 loses .*--max-drop 1.0.*even with .* kept in float"):
        export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "flat.npz"),
                                                        out=out))
    assert not list(out.glob("*.onnx"))


def test_drop_gate_refuses_scrambled_weight_scales(digit_run, tmp_path, monkeypatch):
    """A quantizer bug (per-channel weight scales off by up to 10x) is caught by the gate, not shipped."""
    import onnx
    from onnx import numpy_helper

    from edgetl.export import quantize
    from edgetl.export.onnx_export import save_onnx

    real = quantize.quantize_int8

    def scrambled(float_path, out_path, *args, **kwargs):
        real(float_path, out_path, *args, **kwargs)
        proto = onnx.load(str(out_path))
        weights = {t.name for t in proto.graph.initializer}
        scales = {n.input[1] for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in weights}
        rng = np.random.default_rng(0)
        for tensor in proto.graph.initializer:
            if tensor.name in scales:
                scale = numpy_helper.to_array(tensor)
                tensor.CopyFrom(numpy_helper.from_array(
                    (scale * rng.uniform(0.1, 10, scale.shape)).astype(scale.dtype), tensor.name))
        assert scales
        return save_onnx(proto, out_path)

    from edgetl.data import load_dataset

    digits = load_dataset("mnist-5k")
    (x_train, y_train), (x_test, y_test) = digits.split("train"), digits.split("test")
    np.savez(tmp_path / "digits.npz", x_train=x_train[:200, :, :, 0], y_train=y_train[:200],
             x_test=x_test[:300, :, :, 0], y_test=y_test[:300])
    monkeypatch.setattr(quantize, "quantize_int8", scrambled)
    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"int8 loses .*--max-drop 1.0"):
        export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "digits.npz"),
                                                        calib_size=64, out=out))
    assert not list(out.glob("*.onnx"))
    monkeypatch.setattr(quantize, "quantize_int8", real)  # the control: the same export, unscrambled, passes
    export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "digits.npz"),
                                                    calib_size=64, out=out))
    assert (out / "model.int8.onnx").is_file()


def test_write_failure_leaves_no_partial_file(tiny_run, tmp_path, monkeypatch):
    import onnx

    out = tmp_path / "out"
    out.mkdir()
    (out / "model.onnx").write_bytes(b"earlier export")

    def disk_full(proto, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx, "save_model", disk_full)
    with pytest.raises(OSError):
        export(tiny_run, ExportOptions(out=out))
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"]
    assert (out / "model.onnx").read_bytes() == b"earlier export"


def test_quantizing_a_plain_onnx_never_imports_tensorflow(digit_run, tmp_path):
    code = f"""
import sys
from pathlib import Path
from edgetl.exporting import ExportOptions, export
export(Path({str(digit_run / 'model.onnx')!r}), ExportOptions(quantize="int8", calib_data="mnist-5k",
       calib_size=32, out=Path({str(tmp_path)!r})))
print(sorted(m for m in ("tensorflow", "keras", "tf2onnx") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "model.int8.onnx").is_file()


def test_fp16_keeps_float_io(tiny_run, tmp_path):
    import onnx

    export(tiny_run, ExportOptions(quantize="fp16", out=tmp_path))
    x = np.random.default_rng(3).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    float_out, fp16_out = outputs(tmp_path / "model.onnx", x), outputs(tmp_path / "model.fp16.onnx", x)
    assert fp16_out.dtype == np.float32 and np.max(np.abs(fp16_out - float_out)) < 1e-2
    assert np.mean(fp16_out.argmax(1) == float_out.argmax(1)) >= 0.95
    proto = onnx.load(str(tmp_path / "model.fp16.onnx"))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    fp16_weights = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert fp16_weights


def test_lambda_layers_are_refused(tmp_path):
    from edgetl._deps import import_keras

    keras = import_keras()
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2)(inp))
    model.save(tmp_path / "model.keras")
    result = run_cli("export", tmp_path / "model.keras", timeout=120)
    assert result.returncode == 2 and "Lambda" in result.stderr and "Traceback" not in result.stderr
    assert "--trust-model" in result.stderr


def test_trust_model_loads_a_lambda_model_with_its_code(tmp_path):
    from edgetl._deps import import_keras
    from edgetl.rundir import load_keras

    keras = import_keras()
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Lambda(lambda t: t * 2 + 1)(inp)).save(tmp_path / "model.keras")
    with pytest.raises(UserError, match="Lambda"):
        load_keras(tmp_path / "model.keras")
    model = load_keras(tmp_path / "model.keras", trust=True)
    x = np.array([[0.0, 1.0, -2.0, 3.5]], np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x * 2 + 1)


def test_legacy_h5_is_refused(tmp_path):
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    result = run_cli("export", tmp_path / "model.h5", timeout=120)
    assert result.returncode == 2 and "legacy .h5" in result.stderr


def test_foreign_run_directory_is_refused(tmp_path):
    result = run_cli("export", tmp_path, timeout=120)
    assert result.returncode == 2 and "not an edgetl run directory" in result.stderr


def test_calibration_of_the_wrong_shape_names_the_numbers(digit_run, tmp_path):
    np.savez(tmp_path / "big.npz", x=np.zeros((40, 64, 64), np.uint8), y=np.zeros(40, np.int64))
    with pytest.raises(UserError, match=r"\(64, 64, 1\).*\(28, 28, 1\)"):
        export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "big.npz"),
                                                        out=tmp_path))


def test_too_few_calibration_samples(digit_run, tmp_path):
    np.savez(tmp_path / "few.npz", x=np.zeros((5, 28, 28), np.uint8), y=np.arange(5))
    with pytest.raises(UserError, match="5 samples; need at least 16"):
        export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "few.npz"),
                                                        out=tmp_path))


def test_cli_bare_quantize_then_evaluate_the_onnx(tiny_run, tmp_path):
    result = run_cli("export", tiny_run, "--quantize", "--calib-size", "16", "--out", tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)
    assert set(files) == {"model.onnx", "model.int8.onnx"}
    evaluated = run_cli("evaluate", tmp_path / "model.int8.onnx", "--data", ROOT / "no-such-data", timeout=60)
    assert evaluated.returncode == 2 and "no such file or folder" in evaluated.stderr
    card = ModelCard.load(tiny_run / "card.json")
    evaluated = run_cli("evaluate", tmp_path / "model.int8.onnx", "--data", card.training["data"], "--json",
                        timeout=60)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 32


def test_onnx_with_external_data_is_refused(digit_run, tmp_path):
    import onnx

    proto = onnx.load(str(digit_run / "model.onnx"))
    onnx.save_model(proto, str(tmp_path / "ext.onnx"), save_as_external_data=True, location="ext.data")
    with pytest.raises(UserError, match="external data"):
        export(tmp_path / "ext.onnx", ExportOptions(quantize="int8", calib_data="mnist-5k"))


def test_unwritable_out_on_the_cli_is_one_line(tiny_run, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "a_file" / "exports"
    result = run_cli("export", tiny_run, "--out", out, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot create it" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_external_data_leaving_the_model_folder_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones(4, np.float32), "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weights])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.external_data_helper.set_external_data(proto.graph.initializer[0], location="../secret.bin")
    proto.graph.initializer[0].data_location = TensorProto.EXTERNAL
    proto.graph.initializer[0].ClearField("raw_data")
    (tmp_path / "m").mkdir()
    onnx.save(proto, tmp_path / "m" / "model.onnx")
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(4, np.float32).tobytes())
    before = secret.read_bytes()
    for args in (("run", tmp_path / "m" / "model.onnx", "--source", tmp_path / "m"),
                 ("export", tmp_path / "m" / "model.onnx", "--quantize", "int8")):
        result = run_cli(*args, timeout=120)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "escapes" in result.stderr or "external data" in result.stderr, result.stderr
    assert secret.read_bytes() == before
