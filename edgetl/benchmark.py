"""edgetl benchmark: every engine side by side on one model, each timed in its own fresh process.

The rows share the held-out data (the run's own, as `edgetl export` chooses it, or --data), the thread
count and the timing budget. An engine that is missing or fails gives a failed row; the table goes on.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgetl.benchmark_macs import machine, measured_int8_peak, model_bound_ms, vnni_peak
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError

log = logging.getLogger(__name__)
WORKER = "edgetl.benchmark_worker"
MARKER = "EDGETL-BENCH "
CALIB_SIZE = 256  # as `edgetl export`'s default: the TFLite int8 model sees the same calibration images
ROW_KEYS = ("engine", "status", "reason", "file", "kept", "size_bytes", "accuracy", "agreement", "latency_p50_ms",
            "latency_p95_ms", "throughput_b32", "cold_start_s", "peak_rss_mb", "fps", "frames")
NO_GATE = 1e9  # variants made for the benchmark are measured, not gated: the accuracy column shows any drop
GPU_HINT_SHORT = "no GPU build (pip uninstall -y onnxruntime && pip install onnxruntime-gpu)"


@dataclass
class Target:
    """What the benchmark measures: the files found (or made) for one model."""
    card: ModelCard
    out_dir: Path
    keras: Path | None = None
    onnx: dict[str, Path | None] = field(default_factory=dict)  # fp32 / int8 / fp16
    made: dict[str, str] = field(default_factory=dict)  # what could not be made, and why


@dataclass
class Options:
    data: str | None = None
    device: str = "auto"
    threads: int | None = None
    seconds: float = 2.0
    clip: Path | None = None
    engines: list[str] | None = None  # row names (or prefixes) to keep; None: all
    out: Path | None = None
    timeout: float = 600.0
    trust_model: bool = False


# --- the model and its files ----------------------------------------------------------------------------

def onnx_siblings(path: Path) -> dict[str, Path | None]:
    stem = re.sub(r"\.(int8|fp16)$", "", path.name[:-len(".onnx")])
    files = {kind: path.parent / f"{stem}{suffix}.onnx" for kind, suffix in
             (("fp32", ""), ("int8", ".int8"), ("fp16", ".fp16"))}
    return {kind: (p if p.is_file() else None) for kind, p in files.items()}


def resolve(source: Path) -> Target:
    """A run directory (or its .keras) or an ONNX file, with the sibling fp32/int8/fp16 files."""
    source = Path(source)
    if source.suffix == ".onnx":
        if not source.is_file():
            raise UserError(f"{source}: no such file")
        from edgetl.runtime.model import Model

        card = Model(source, device="cpu").card
        return Target(card, source.parent, onnx=onnx_siblings(source))
    from edgetl.rundir import find_model

    keras, card_path = find_model(source)
    if not card_path.is_file():
        raise UserError(f"{source}: no model card ({card_path.name}) beside the model; pass an edgetl run")
    return Target(ModelCard.load(card_path), keras.parent, keras=keras, onnx=onnx_siblings(keras.parent / "model.onnx"))


def make_missing(target: Target, data: str | None, workdir: Path, trust_model: bool = False) -> None:
    """fp32 / int8 / fp16 ONNX files the model lacks, exported into ``workdir`` (the run is left as it is)."""
    from edgetl.exporting import ExportOptions, export

    steps = [("int8", "int8"), ("fp16", "fp16")]
    for kind, quantize in steps:
        if target.onnx.get(kind):
            continue
        base = target.onnx.get("fp32") or target.keras
        if base is None:
            target.made[kind] = "no fp32 model to make it from"
            continue
        try:
            log.info("benchmark: making the %s model (edgetl export --quantize %s)", kind, quantize)
            files = export(base, ExportOptions(quantize=quantize, calib_data=data, out=workdir, max_drop=NO_GATE,
                                               trust_model=trust_model))["files"]
        except UserError as exc:
            target.made[kind] = f"export failed: {exc}"
            continue
        for path in files.values():
            made = onnx_siblings(Path(path))
            target.onnx["fp32"] = target.onnx.get("fp32") or made["fp32"]
            target.onnx[kind] = made[kind]


def held_out(card: ModelCard, data: str | None, workdir: Path) -> tuple[Path, int, str]:
    """The held-out split and calibration images, as `edgetl export` picks them, saved for the workers."""
    from edgetl.exporting import samples

    try:
        calib, (x, y) = samples(card, data, CALIB_SIZE)
    except UserError as exc:  # export's messages name its own option
        raise UserError(str(exc).replace("--calib-data", "--data")) from None
    path = workdir / "data.npz"
    np.savez(path, x=x, y=y, calib=calib)
    return path, len(y), data or card.training.get("data", "")


# --- rows -----------------------------------------------------------------------------------------------

def planned_rows(target: Target, options: Options, workdir: Path, available: list[str]) -> list[dict]:
    """(name, worker spec or a reason to skip) per row, in table order."""
    def onnx(kind: str):
        return target.onnx.get(kind)

    def why(kind: str):
        return target.made.get(kind, f"no {kind} ONNX model")
    no_keras = "skipped: no .keras (ONNX model given; pass the run directory)" if target.keras is None else None
    rows = [("Keras (TensorFlow)", {"engine": "keras", "file": target.keras}, no_keras),
            ("TFLite fp32", {"engine": "tflite", "file": workdir / "model.fp32.tflite"}, no_keras),
            ("TFLite int8", {"engine": "tflite", "file": workdir / "model.int8.tflite"}, no_keras)]
    for kind in ("fp32", "int8", "fp16"):
        rows.append((f"onnxruntime {kind}", {"engine": "onnxruntime", "file": onnx(kind), "why": why(kind)}, None))
    rows.append(("OpenCV DNN fp32", {"engine": "opencv", "file": onnx("fp32"), "why": why("fp32")}, None))
    rows.append(("onnxruntime OpenVINO int8", {"engine": "openvino", "file": onnx("int8"), "why": why("int8")}, None))
    if options.device != "cpu":
        gpu = [("CUDA fp32", "cuda", "fp32", False), ("CUDA fp16", "cuda", "fp16", False),
               ("TensorRT fp16", "tensorrt", "fp32", True),
               ("TensorRT int8", "tensorrt", "int8", False)]
        for name, device, kind, trt_fp16 in gpu:
            provider = "CUDAExecutionProvider" if device == "cuda" else "TensorrtExecutionProvider"
            reason = None if provider in available else f"failed: {GPU_HINT_SHORT}"
            if options.device in ("cuda", "tensorrt") and device != options.device:
                continue
            rows.append((f"onnxruntime {name}", {"engine": "onnxruntime", "file": onnx(kind), "why": why(kind),
                                                 "device": device, "trt_fp16": trt_fp16}, reason))
    if options.clip:
        for name, draw in (("stream int8 (decode+find+classify)", False),
                           ("stream int8 + drawing the overlay", True)):
            rows.append((name, {"engine": "stream", "file": onnx("int8"), "why": why("int8"),
                                "clip": str(options.clip), "draw": draw}, None))
    return [{"name": n, "spec": s, "skip": r} for n, s, r in rows if wanted(n, options.engines)]


def wanted(name: str, engines: list[str] | None) -> bool:
    return engines is None or any(e.lower() in name.lower() for e in engines)


def empty_row(name: str, status: str, reason: str | None, file: Path | None = None) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    size = file.stat().st_size if file is not None and Path(file).is_file() else None
    row.update(engine=name, status=status, reason=reason, file=str(file) if file else None, size_bytes=size)
    return row


def run_worker(spec: dict, workdir: Path, timeout: float) -> dict:
    """The worker's JSON result; a crash or a timeout is a failed result, not an exception."""
    spec_path = Path(tempfile.mkstemp(suffix=".json", dir=workdir)[1])
    spec_path.write_text(json.dumps(spec, default=str))
    env = {**os.environ, "EDGETL_BENCH_SPAWNED": repr(time.time()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run([sys.executable, "-m", WORKER, str(spec_path)], capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1][:300]
        return {"status": "failed", "reason": f"worker died ({tail})"}
    return json.loads(lines[-1][len(MARKER):])


def measure_row(row: dict, base_spec: dict, workdir: Path, timeout: float) -> dict:
    spec = {**base_spec, **row["spec"]}
    file = spec.get("file")
    if row["skip"]:
        status, _, reason = row["skip"].partition(": ")
        return {**empty_row(row["name"], status, reason, file), "labels": None}
    if file is None or not Path(file).is_file():
        return {**empty_row(row["name"], "failed", row.get("missing") or spec.get("why") or "model file not available"),
                "labels": None}
    log.info("benchmark: %s", row["name"])
    result = run_worker(spec, workdir, timeout)
    out = empty_row(row["name"], result.get("status", "failed"), result.get("reason"), Path(file))
    out.update({k: v for k, v in result.items() if k in ROW_KEYS and k not in ("engine", "file")})
    out["labels"] = result.get("labels")
    return out


def add_agreement(rows: list[dict]) -> None:
    """Share of held-out predictions equal to onnxruntime fp32's (classification only)."""
    ref = next((r["labels"] for r in rows if r["engine"] == "onnxruntime fp32" and r["labels"]), None)
    for row in rows:
        labels = row.pop("labels", None)
        if ref is not None and labels is not None and len(labels) == len(ref):
            row["agreement"] = float(np.mean(np.asarray(labels) == np.asarray(ref)))


def convert_for_tflite(rows: list[dict], target: Target, base_spec: dict, workdir: Path, timeout: float) -> None:
    """The TFLite files the TFLite rows time, made once; the reason they could not be, on those rows."""
    tflite = [row for row in rows if row["spec"]["engine"] == "tflite" and not row["skip"]]
    reason = tflite_files(target, base_spec, workdir, timeout) if tflite and target.keras is not None else None
    for row in tflite:
        row["missing"] = reason


def tflite_files(target: Target, base_spec: dict, workdir: Path, timeout: float) -> str | None:
    """Convert the .keras to TFLite in a worker; the reason it could not, or None."""
    import importlib.util

    if importlib.util.find_spec("ai_edge_litert") is None:  # nothing could run the files: skip converting
        return "ai_edge_litert not installed: pip install ai-edge-litert (or: pip install 'edgetl[bench]')"
    result = run_worker({**base_spec, "engine": "convert_tflite", "file": target.keras, "out": workdir},
                        workdir, timeout)
    return None if result.get("status") == "ok" else f"conversion failed: {result.get('reason')}"


# --- the whole benchmark --------------------------------------------------------------------------------

def check_options(options: Options) -> list[str]:
    """Providers onnxruntime offers; --device cuda/tensorrt on a CPU build is the usual one-line error."""
    import onnxruntime as ort

    from edgetl.runtime.providers import requested_providers

    if options.device != "auto":
        requested_providers(options.device)
    if options.threads is not None and (isinstance(options.threads, bool) or options.threads < 1):
        raise UserError(f"--threads {options.threads}: must be a whole number >= 1")
    if not options.seconds > 0:
        raise UserError(f"--seconds {options.seconds}: must be > 0")
    if options.clip is not None and not Path(options.clip).is_file():
        raise UserError(f"--clip {options.clip}: no such file")
    return ort.get_available_providers()


def benchmark(source: Path, options: Options) -> dict:
    available = check_options(options)
    target = resolve(source)
    threads = options.threads or os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="edgetl-bench-"))
    try:
        data_path, n_held, data_spec = held_out(target.card, options.data, workdir)
        make_missing(target, options.data, workdir, options.trust_model)
        base_spec = {"data": str(data_path), "threads": threads, "seconds": options.seconds,
                     "task": target.card.task, "trust_model": options.trust_model}
        rows = planned_rows(target, options, workdir, available)
        convert_for_tflite(rows, target, base_spec, workdir, options.timeout)
        measured = [measure_row(row, base_spec, workdir, options.timeout) for row in rows]
        add_agreement(measured)
        for row in measured:  # files the benchmark made (TFLite, missing ONNX variants) go with its temp folder
            row["kept"] = None if row["file"] is None else not Path(row["file"]).is_relative_to(workdir)
        estimate, gemm = vnni_peak(target.onnx.get("fp32"), threads), measured_int8_peak(threads, options.seconds)
        gemm["model_bound_ms"] = model_bound_ms(estimate, gemm)
        report = {"model": str(source), "task": target.card.task, "data": data_spec, "held_out": n_held,
                  "threads": threads, "device": options.device, "seconds_per_measurement": options.seconds,
                  "machine": machine(), "vnni_peak": estimate, "int8_gemm_peak": gemm, "rows": measured}
        report["file"] = str(write_report(report, options.out or target.out_dir))
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(report: dict, out: Path) -> Path:
    from edgetl.runtime._io import atomic_write_text

    path = Path(out) / "benchmark.json" if Path(out).suffix != ".json" else Path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"--out {path}: cannot write it ({exc.strerror})") from None
    return path
