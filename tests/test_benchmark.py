"""edgetl benchmark: the table on a tiny model, failed rows instead of exceptions, the JSON schema."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import onnxruntime as ort
import pytest

from conftest import run_cli
from edgetl.benchmark import ROW_KEYS, Options, benchmark
from edgetl.runtime.errors import UserError

pytestmark = pytest.mark.slow
QUICK = 0.05  # seconds per timing: the test checks the table, not the numbers
HAS_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
HAS_GPU = "CUDAExecutionProvider" in ort.get_available_providers()
TYPES = {"engine": str, "status": str, "reason": str, "file": str, "kept": bool, "size_bytes": int,
         "accuracy": float, "agreement": float, "latency_p50_ms": float, "latency_p95_ms": float,
         "throughput_b32": float, "cold_start_s": float, "peak_rss_mb": float, "fps": float, "frames": int}


@pytest.fixture(scope="module")
def tiny_onnx(tiny_run, tmp_path_factory) -> Path:
    """tiny_run exported (fp32 + int8) into a folder of its own: an ONNX-only model."""
    from edgetl.exporting import ExportOptions, export

    out = tmp_path_factory.mktemp("onnx")
    export(tiny_run, ExportOptions(quantize="int8", max_drop=1e9, out=out))
    return out / "model.onnx"


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory) -> dict:
    """Every engine on the run itself: its ONNX variants and TFLite files are made for the benchmark."""
    out = tmp_path_factory.mktemp("bench")
    return benchmark(tiny_run, Options(seconds=QUICK, out=out, threads=1))


def rows_by_name(report: dict) -> dict[str, dict]:
    return {row["engine"]: row for row in report["rows"]}


def test_table_on_a_tiny_model(report):
    rows = rows_by_name(report)
    for name in ("onnxruntime fp32", "onnxruntime int8", "onnxruntime fp16", "Keras (TensorFlow)"):
        row = rows[name]
        assert row["status"] == "ok", row
        assert 0 < row["latency_p50_ms"] <= row["latency_p95_ms"]
        assert row["throughput_b32"] > 0 and row["cold_start_s"] > 0 and row["peak_rss_mb"] > 0
    assert rows["onnxruntime fp32"]["agreement"] == 1.0
    # the same model in every engine: Keras and fp16 read as the fp32 ONNX does, int8 nearly so
    fp32 = rows["onnxruntime fp32"]["accuracy"]
    assert rows["Keras (TensorFlow)"]["agreement"] == 1.0 and rows["Keras (TensorFlow)"]["accuracy"] == fp32
    assert rows["onnxruntime fp16"]["agreement"] >= 0.95 and abs(rows["onnxruntime fp16"]["accuracy"] - fp32) <= 0.05
    assert rows["onnxruntime int8"]["agreement"] >= 0.8
    assert fp32 >= 0.6  # the tiny shapes model reads its held-out shapes better than chance (2 classes)
    assert rows["onnxruntime int8"]["kept"] is False  # made in the benchmark's temp folder, not in the run
    assert rows["OpenCV DNN fp32"]["status"] in ("ok", "failed")  # OpenCV may not read every op
    assert rows["OpenCV DNN fp32"]["status"] == "ok" or rows["OpenCV DNN fp32"]["reason"]
    for name in ("TFLite fp32", "TFLite int8"):
        assert rows[name]["status"] == ("ok" if HAS_LITERT else "failed"), rows[name]
    if not HAS_GPU:
        gpu = [row for name, row in rows.items() if "CUDA" in name or "TensorRT" in name]
        assert gpu and all(r["status"] == "failed" and "no GPU build" in r["reason"] for r in gpu)
    assert report["vnni_peak"]["macs"] > 0 and report["vnni_peak"]["peak_ms"] > 0
    gemm = report["int8_gemm_peak"]
    assert gemm["macs_per_s"] > 0 and gemm["side"] == 1024
    assert gemm["model_bound_ms"] == pytest.approx(report["vnni_peak"]["macs"] / gemm["macs_per_s"] * 1e3)
    written = json.loads(Path(report["file"]).read_text())
    assert [r["engine"] for r in written["rows"]] == [r["engine"] for r in report["rows"]]


def test_json_schema(report):
    for key, kind in {"model": str, "task": str, "data": str, "held_out": int, "threads": int, "device": str,
                      "machine": dict, "vnni_peak": dict, "int8_gemm_peak": dict, "rows": list}.items():
        assert isinstance(report[key], kind), key
    for row in report["rows"]:
        assert set(row) == set(ROW_KEYS), row["engine"]
        assert row["status"] in ("ok", "failed", "skipped")
        for key, kind in TYPES.items():
            value = row[key]
            assert value is None or isinstance(value, kind) or (kind is float and isinstance(value, int)), \
                (row["engine"], key, value)
        if row["status"] != "ok":
            assert row["reason"] and row["latency_p50_ms"] is None
    json.dumps(report)


def test_missing_engine_is_a_failed_row(tiny_onnx, tmp_path, monkeypatch):
    """The engine's package fails to import in the worker: a failed row with the install hint."""
    fake = tmp_path / "fake"
    for package in ("cv2", "ai_edge_litert"):
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text(f"raise ImportError('simulated', name={package!r})\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    result = benchmark(tiny_onnx, Options(seconds=QUICK, out=tmp_path, engines=["OpenCV"], device="cpu"))
    rows = rows_by_name(result)
    assert set(rows) == {"OpenCV DNN fp32"}
    assert rows["OpenCV DNN fp32"]["status"] == "failed"
    assert "pip install opencv-python-headless" in rows["OpenCV DNN fp32"]["reason"]
    assert (tmp_path / "benchmark.json").is_file()


def test_onnx_only_model_skips_keras_and_tflite(tiny_onnx, tmp_path):
    result = benchmark(tiny_onnx, Options(seconds=QUICK, out=tmp_path, engines=["Keras", "TFLite", "int8"],
                                          device="cpu"))
    rows = rows_by_name(result)
    for name in ("Keras (TensorFlow)", "TFLite fp32", "TFLite int8"):
        assert rows[name]["status"] == "skipped" and "no .keras" in rows[name]["reason"]
    assert rows["onnxruntime int8"]["status"] == "ok" and rows["onnxruntime int8"]["kept"] is True
    assert not any("CUDA" in name for name in rows)  # --device cpu: no GPU rows


@pytest.mark.skipif(HAS_GPU, reason="a GPU build offers CUDA")
def test_device_cuda_on_a_cpu_build_is_one_line(tiny_onnx, tmp_path):
    with pytest.raises(UserError, match="CUDAExecutionProvider is not available"):
        benchmark(tiny_onnx, Options(device="cuda", out=tmp_path))
    proc = run_cli("benchmark", tiny_onnx, "--device", "cuda", "--out", tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "CUDAExecutionProvider is not available" in proc.stderr + proc.stdout


def test_cli_json(tiny_onnx, tmp_path):
    proc = run_cli("benchmark", tiny_onnx, "--json", "--engines", "onnxruntime int8", "--device", "cpu",
                   "--seconds", QUICK, "--out", tmp_path / "b.json")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["rows"][0]["engine"] == "onnxruntime int8" and printed["rows"][0]["status"] == "ok"
    assert json.loads((tmp_path / "b.json").read_text())["rows"] == printed["rows"]


def test_count_macs_of_conv_and_gemm(tmp_path):
    """3×3 conv 2→4 channels on 8×8 (same padding) and a 256→10 Gemm: 4·8·8·(2·9) + 10·256 MACs."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgetl.benchmark_macs import count_macs

    w = numpy_helper.from_array(np.zeros((4, 2, 3, 3), np.float32), "w")
    g = numpy_helper.from_array(np.zeros((256, 10), np.float32), "g")
    shape = numpy_helper.from_array(np.array([-1, 256], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Reshape", ["c", "shape"], ["f"]),
         helper.make_node("Gemm", ["f", "g"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])], [w, g, shape])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), path)
    assert count_macs(path) == 4 * 8 * 8 * 2 * 9 + 10 * 256


def test_int8_gemm_model_is_the_integer_product():
    """The graph measured_int8_peak times computes (A - 128) @ B exactly, so its rate counts real multiply-adds."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from edgetl.benchmark_macs import int8_gemm_model

    data = int8_gemm_model(5, 7, 3, seed=2)
    b = numpy_helper.to_array(next(i for i in onnx.load_from_string(data).graph.initializer if i.name == "B"))
    a = np.random.default_rng(0).integers(0, 256, (5, 7), dtype=np.uint8)
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"A": a})[0]
    np.testing.assert_array_equal(got, (a.astype(np.int32) - 128) @ b.astype(np.int32))
    assert b.dtype == np.int8 and b.shape == (7, 3)


def test_peak_lines_give_the_bound_and_the_ratio():
    """329 M multiply-adds at a measured 439 G a second take at least 0.75 ms; 0.90 ms measured is 1.20x it."""
    from edgetl.cli.benchmark import peak_line

    report = {"vnni_peak": {"macs": 329_000_000, "cores": 2, "macs_per_cycle_per_core": 128, "mhz": 2596.0,
                            "peak_ms": 0.495},
              "int8_gemm_peak": {"macs_per_s": 439e9, "side": 1024, "threads": 2, "op": "onnxruntime MatMulInteger"},
              "rows": [{"engine": "onnxruntime int8", "latency_p50_ms": 0.90}]}
    estimate, measured = peak_line(report).split("\n")
    assert estimate.endswith("= 0.49 ms; onnxruntime int8 b1 p50 0.90 ms = 1.82× the peak")
    assert "439 G MACs/s" in measured and measured.endswith("take at least 0.75 ms; onnxruntime int8 b1 p50 = 1.20× it")
    report["int8_gemm_peak"] = {"macs_per_s": None, "reason": "ModuleNotFoundError: No module named 'onnx'"}
    assert peak_line(report).split("\n")[1] == ("int8 product measured here: unavailable "
                                                 "(ModuleNotFoundError: No module named 'onnx')")


def test_measured_peak_without_its_packages_says_why(monkeypatch):
    import edgetl.benchmark_macs as macs

    def missing(*args):
        raise ModuleNotFoundError("No module named 'onnx'")

    monkeypatch.setattr(macs, "_timed_gemm", missing)
    assert macs.measured_int8_peak(2) == {"macs_per_s": None, "reason": "ModuleNotFoundError: No module named 'onnx'"}


def test_stream_rows_read_every_frame_of_the_clip(digit_run, tmp_path):
    """The stream rows run the clip through `edgetl run`'s pipeline, with and without drawing the overlay."""
    from clips import render_clip
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    clip = render_clip(tmp_path / "clip.mp4", x[:40], y[:40], scenes=2, frames_per_scene=6, seed=3) or tmp_path / "clip.mp4"
    result = benchmark(digit_run, Options(seconds=QUICK, out=tmp_path / "bench", threads=1, clip=Path(clip),
                                          engines=["stream"]))
    rows = rows_by_name(result)
    assert set(rows) == {"stream int8 (decode+find+classify)", "stream int8 + drawing the overlay"}
    for row in rows.values():
        assert row["status"] == "ok", row
        assert row["frames"] == 12 and row["fps"] > 0
