"""One engine, timed in its own fresh process: `python -m edgetl.benchmark_worker SPEC.json`.

Prints one line ``EDGETL-BENCH {json}`` on stdout (engines may print their own chatter before it). The spec
names the engine, its file, the held-out data (.npz), the thread count and the timing budget; the result
holds the status, accuracy, predicted labels (for agreement), latencies, throughput, cold start and peak RSS.
A failure to import or load an engine is a result (status "failed" with the reason), never a crash.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

MARKER = "EDGETL-BENCH "
WARMUP = 5
MIN_RUNS = 10
HINTS = {
    "ai_edge_litert": "pip install ai-edge-litert (or: pip install 'edgetl[bench]')",
    "tensorflow": "pip install 'edgetl[train]'",
    "keras": "pip install 'edgetl[train]'",
    "cv2": "pip install opencv-python-headless",
    "onnxruntime": "pip install onnxruntime",
}


class EngineMissing(Exception):
    """The engine's package is not installed; the message carries the install hint."""


def missing(exc: ImportError) -> EngineMissing:
    name = (getattr(exc, "name", None) or str(exc)).split(".")[0]
    return EngineMissing(f"{name} not installed: {HINTS.get(name, 'pip install ' + name)}")


def peak_rss_mb() -> float | None:
    """VmHWM (not ru_maxrss, which Linux carries over from a forking parent)."""
    try:
        match = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    except OSError:
        return None
    return round(int(match.group(1)) / 1024, 1) if match else None


# --- engines: each returns predict(uint8 batch) -> outputs --------------------------------------------

def load_onnxruntime(spec: dict):
    try:
        from edgetl.runtime.model import Model
    except ImportError as exc:
        raise missing(exc) from None
    model = Model(spec["file"], device=spec.get("device", "cpu"), threads=spec["threads"],
                  fp16=bool(spec.get("trt_fp16")))
    return model.predict_batch


def load_openvino(spec: dict):
    import onnxruntime as ort

    if "OpenVINOExecutionProvider" not in ort.get_available_providers():
        raise EngineMissing("onnxruntime-openvino not installed: pip uninstall -y onnxruntime && "
                            "pip install onnxruntime-openvino")
    from edgetl.runtime.model import session_options

    session = ort.InferenceSession(spec["file"], session_options(spec["threads"]),
                                   providers=["OpenVINOExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def load_opencv(spec: dict):
    try:
        import cv2
    except ImportError as exc:
        raise missing(exc) from None
    cv2.setNumThreads(spec["threads"])
    net = cv2.dnn.readNetFromONNX(spec["file"])

    def predict(x):
        net.setInput(x)
        return net.forward()
    return predict


def load_tflite(spec: dict):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise missing(exc) from None
    interpreters: dict[int, object] = {}

    def interpreter(batch: int):
        if batch not in interpreters:
            it = Interpreter(model_path=spec["file"], num_threads=spec["threads"])
            detail = it.get_input_details()[0]
            it.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
            it.allocate_tensors()
            interpreters[batch] = (it, detail["index"], it.get_output_details()[0]["index"], detail["dtype"])
        return interpreters[batch]

    def predict(x):
        it, inp, out, dtype = interpreter(len(x))
        it.set_tensor(inp, x.astype(dtype, copy=False))
        it.invoke()
        return it.get_tensor(out).copy()
    return predict


def load_keras(spec: dict):
    try:
        import tensorflow as tf
        from edgetl.rundir import load_run
    except ImportError as exc:
        raise missing(exc) from None
    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model, _ = load_run(Path(spec["file"]), bool(spec.get("trust_model")))
    return lambda x: model.predict_on_batch(x)


LOADERS = {"onnxruntime": load_onnxruntime, "openvino": load_openvino, "opencv": load_opencv,
           "tflite": load_tflite, "keras": load_keras}


# --- measurements ---------------------------------------------------------------------------------------

def timed_runs(predict, batch, seconds: float, max_runs: int = 2000) -> list[float]:
    """Milliseconds per call after WARMUP untimed calls; at least MIN_RUNS, then until ``seconds`` pass."""
    for _ in range(WARMUP):
        predict(batch)
    times: list[float] = []
    stop = time.perf_counter() + seconds
    while len(times) < MIN_RUNS or (time.perf_counter() < stop and len(times) < max_runs):
        t0 = time.perf_counter()
        predict(batch)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def held_out_scores(predict, x, y, task: str) -> tuple[float | None, list[int] | None]:
    """Accuracy (classification; MAE for regression) and the predicted labels, in batches of 32."""
    import numpy as np

    outputs = np.concatenate([np.asarray(predict(x[i:i + 32]), np.float32).reshape(len(x[i:i + 32]), -1)
                              for i in range(0, len(x), 32)])
    if task == "regression":
        return float(np.mean(np.abs(outputs[:, 0] - y))), None
    labels = outputs.argmax(axis=1)
    return float(np.mean(labels == y)), labels.tolist()


def bench_engine(spec: dict, started: float) -> dict:
    import numpy as np

    predict = LOADERS[spec["engine"]](spec)
    data = np.load(spec["data"])
    x, y = data["x"], data["y"]
    predict(x[:1])
    result = {"cold_start_s": round(time.time() - started, 3)}  # process start to the first prediction
    result["accuracy"], result["labels"] = held_out_scores(predict, x, y, spec["task"])
    one = timed_runs(predict, x[:1], spec["seconds"])
    result["latency_p50_ms"] = round(float(np.percentile(one, 50)), 3)
    result["latency_p95_ms"] = round(float(np.percentile(one, 95)), 3)
    batch = np.resize(x, (32, *x.shape[1:])) if len(x) < 32 else x[:32]
    many = timed_runs(predict, batch, spec["seconds"], max_runs=500)
    result["throughput_b32"] = round(32e3 / float(np.median(many)), 1)
    return result


def bench_stream(spec: dict, started: float) -> dict:
    """Decode + find + classify frames/s on a clip, headless, as `edgetl run` does it: with its own thread
    choice (a digit model gets half the cores, the finder the other half), not the engines' --threads."""
    from edgetl.runtime.app import run
    from edgetl.runtime.model import Model

    model = Model(spec["file"], device="cpu")
    model.warmup()
    cold = round(time.time() - started, 3)
    on_frame = None
    if spec.get("draw"):  # what a window or --serve shows, without the display or JPEG encoding
        from edgetl.runtime.overlay import draw

        def on_frame(result):
            draw(result.image, result.detections, 0.0, result.latency_ms, model.provider)
    summary = run(model, spec["clip"], show=False, on_frame=on_frame)
    return {"cold_start_s": cold, "fps": summary["fps"], "frames": summary["frames"],
            "latency_p50_ms": summary["latency_p50_ms"], "latency_p95_ms": summary["latency_p95_ms"]}


def convert_tflite(spec: dict, started: float) -> dict:
    """The run's .keras to TFLite fp32 and int8 (pruned and calibrated on the export's calibration images)."""
    try:
        import numpy as np
        import tensorflow as tf
        from edgetl.rundir import load_run
    except ImportError as exc:
        raise missing(exc) from None
    from edgetl.export.prune import prune_for_export

    model, _ = load_run(Path(spec["file"]), bool(spec.get("trust_model")))
    data = np.load(spec["data"])
    calib = data["calib"]
    model, _ = prune_for_export(model, calib, data["x"])  # the graph the ONNX rows run, as `edgetl export` cuts it
    files = {}
    for kind in ("fp32", "int8"):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if kind == "int8":
            dtype = model.inputs[0].dtype
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([image[None].astype(dtype)] for image in calib)
        path = Path(spec["out"]) / f"model.{kind}.tflite"
        path.write_bytes(converter.convert())
        files[kind] = str(path)
    return {"files": files}


def run_spec(spec: dict, started: float) -> dict:
    mode = {"convert_tflite": convert_tflite, "stream": bench_stream}.get(spec["engine"], bench_engine)
    try:
        return {"status": "ok", **mode(spec, started), "peak_rss_mb": peak_rss_mb()}
    except EngineMissing as exc:
        return {"status": "failed", "reason": str(exc)}
    except Exception as exc:  # any engine error is the row's result, not the table's end
        traceback.print_exc(file=sys.stderr)
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return {"status": "failed", "reason": f"{type(exc).__name__}: {first}"}


def main(argv: list[str]) -> int:
    started = float(os.environ.get("EDGETL_BENCH_SPAWNED", time.time()))
    spec = json.loads(Path(argv[0]).read_text())
    result = run_spec(spec, started)
    sys.stdout.write("\n" + MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
