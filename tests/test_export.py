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


def test_int8_is_verified_and_smaller(exported):
    report = json.loads((exported / "export.json").read_text())
    assert report["parity"]["max_abs_diff_vs_keras"] <= 1e-4
    assert report["int8"]["top1_agreement"] >= 0.9
    assert (exported / "model.int8.onnx").stat().st_size < 0.4 * (exported / "model.onnx").stat().st_size
    assert not [p for p in exported.iterdir() if p.name.startswith(".")]


def test_drop_gate_refuses_a_badly_calibrated_int8(digit_run, tmp_path):
    # Calibrated on nearly black images, int8 clips real digits' activations: accuracy falls.
    from edgetl.data import load_dataset

    x_test, y_test = load_dataset("mnist-5k").split("test")
    dark = (x_test[:64] // 16).astype(np.uint8)
    np.savez(tmp_path / "dark.npz", x_train=dark[:, :, :, 0], y_train=y_test[:64], x_test=x_test[:300, :, :, 0],
             y_test=y_test[:300])
    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"int8 loses .*--max-drop 0.0"):
        export(digit_run / "model.onnx", ExportOptions(quantize="int8", calib_data=str(tmp_path / "dark.npz"),
                                                        max_drop=0.0, out=out))
    assert not list(out.glob("*.onnx"))


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

    report = export(tiny_run, ExportOptions(quantize="fp16", out=tmp_path))
    assert report["fp16"]["top1_agreement"] >= 0.95 and report["fp16"]["max_abs_diff"] < 1e-2
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
