"""Multiply-adds of an ONNX graph and the int8 VNNI peak they imply on this machine (for edgetl benchmark)."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

# int8 multiply-adds one core retires per cycle with AVX-512 VNNI: one VPDPBUSD on a 512-bit register does
# 64 u8×s8 products summed into int32, and Intel's server cores issue two a cycle: 128 (the issue's own estimate,
# 0.7 ms for the 429 M multiply-add digit model). AMD's Zen 4 splits each into two 256-bit halves, 64 a cycle, but
# boosts above /proc/cpuinfo's clock, so neither figure bounds every machine: measured_int8_peak measures instead.
VNNI_MACS_PER_CYCLE = 128


def static_shapes(model) -> dict[str, list[int]]:
    """Every value's shape after ONNX shape inference, with the batch (any symbolic dim) taken as 1."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(model).graph
    shapes = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def node_macs(node, shapes: dict[str, list[int]]) -> int:
    """Multiply-adds of one Conv, Gemm or MatMul node for one image (0 for other nodes)."""
    import numpy as np

    if node.op_type == "Conv":
        weight, output = shapes.get(node.input[1]), shapes.get(node.output[0])
        if not weight or not output:
            raise ValueError(f"Conv {node.name}: shapes unknown")
        # each output element sums (C_in / group) × kh × kw products: weight is [C_out, C_in/group, kh, kw]
        return int(np.prod(output)) * int(np.prod(weight[1:]))
    if node.op_type in ("Gemm", "MatMul"):
        a, out = shapes.get(node.input[0]), shapes.get(node.output[0])
        if not a or not out:
            raise ValueError(f"{node.op_type} {node.name}: shapes unknown")
        trans_a = any(att.name == "transA" and att.i for att in node.attribute)
        inner = a[-2] if trans_a and len(a) > 1 else a[-1]
        return int(np.prod(out)) * int(inner)  # each output element is a dot product of length K
    return 0


def count_macs(path: str | Path) -> int:
    """Multiply-adds of one image through the float graph's Conv, Gemm and MatMul nodes."""
    import onnx

    model = onnx.load(str(path))
    shapes = static_shapes(model)
    return sum(node_macs(node, shapes) for node in model.graph.node)


def cpu_info() -> tuple[str, float | None, set[str]]:
    """(model name, clock in MHz, flags) from /proc/cpuinfo; ('', None, set()) where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor(), None, set()
    name = re.search(r"model name\s*:\s*(.*)", text)
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", text)
    flags = re.search(r"flags\s*:\s*(.*)", text)
    return (name.group(1).strip() if name else "", float(mhz.group(1)) if mhz else None,
            set(flags.group(1).split()) if flags else set())


def machine() -> dict:
    name, mhz, flags = cpu_info()
    return {"cpu": name, "cores": os.cpu_count(), "mhz": mhz, "avx512_vnni": "avx512_vnni" in flags,
            "amx_int8": "amx_int8" in flags, "python": platform.python_version()}


def vnni_peak(onnx_path: Path | None, threads: int) -> dict | None:
    """The fastest batch-1 time int8 VNNI arithmetic allows here (a lower bound, not a prediction):

        peak_ms = MACs / (cores × VNNI_MACS_PER_CYCLE × clock_Hz) × 1000

    MACs: multiply-adds of one image through the fp32 graph's Conv/Gemm/MatMul nodes (count_macs);
    cores: the threads the benchmark uses; clock: 'cpu MHz' of /proc/cpuinfo. Memory traffic, the other
    ops and quantize/dequantize steps are left out. None without a model or a clock.
    """
    _, mhz, _ = cpu_info()
    if onnx_path is None or not mhz:
        return None
    try:
        macs = count_macs(onnx_path)
    except Exception as exc:  # onnx not installed or shapes unknown: no estimate, and why
        return {"macs": None, "peak_ms": None, "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}
    peak_ms = macs / (threads * VNNI_MACS_PER_CYCLE * mhz * 1e6) * 1e3
    return {"macs": macs, "cores": threads, "macs_per_cycle_per_core": VNNI_MACS_PER_CYCLE, "mhz": mhz,
            "peak_ms": round(peak_ms, 3), "formula": "macs / (cores * macs_per_cycle_per_core * mhz * 1e6) * 1e3"}


GEMM_SIDE = 1024  # measured_int8_peak's product: 1024 x 1024 by 1024 x 1024, 1.07 G multiply-adds a call


def int8_gemm_model(m: int, k: int, n: int, seed: int = 0) -> bytes:
    """An ONNX graph of one MatMulInteger: uint8 A (m, k) times a constant int8 B (k, n), int32 out (serialized)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(seed).integers(-127, 128, (k, n), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B", "a_zero"], ["Y"])], "int8_gemm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(weights, "B"), numpy_helper.from_array(np.array(128, np.uint8), "a_zero")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def measured_int8_peak(threads: int, seconds: float = 1.0, side: int = GEMM_SIDE) -> dict:
    """The int8 multiply-adds a second onnxruntime's CPU kernels reach here on a large square product (the
    fastest of repeated calls within ``seconds``, after a warm-up): what a convolution could reach at best on this
    machine, its clock and its VNNI width included. vnni_peak's estimate assumes two 512-bit VNNI instructions a
    cycle at the listed clock; a CPU that splits each into two 256-bit halves (AMD Zen 4) retires half of that,
    and a boosted core runs faster than /proc/cpuinfo's clock says: this measures what the estimate can only
    assume."""
    try:
        return _timed_gemm(threads, seconds, side)
    except Exception as exc:  # onnx missing, or onnxruntime without the kernel: no measurement, and why
        return {"macs_per_s": None, "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}


def model_bound_ms(vnni: dict | None, gemm: dict) -> float | None:
    """The least batch-1 time the model's multiply-adds (vnni_peak's count) take at the measured int8 rate."""
    macs, rate = (vnni or {}).get("macs"), gemm.get("macs_per_s")
    return macs / rate * 1e3 if macs and rate else None


def _timed_gemm(threads: int, seconds: float, side: int) -> dict:
    import time

    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(int8_gemm_model(side, side, side), options, providers=["CPUExecutionProvider"])
    a = np.random.default_rng(1).integers(0, 256, (side, side), dtype=np.uint8)
    for _ in range(3):
        session.run(None, {"A": a})
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        session.run(None, {"A": a})
        best = min(best, time.perf_counter() - start)
    return {"macs_per_s": side ** 3 / best, "side": side, "threads": threads,
            "op": "onnxruntime MatMulInteger, uint8 x int8"}
