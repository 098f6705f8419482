"""Multiply-adds of an ONNX graph and the int8 VNNI peak they imply on this machine (for edgetl benchmark)."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

# int8 multiply-adds one core retires per cycle with AVX-512 VNNI: one VPDPBUSD on a 512-bit register does
# 64 u8×s8 products summed into int32, and these cores issue two a cycle: 128. (With 64, the 2-core EPYC this
# was written on ran the 429 M multiply-add digit model in 1.13 ms, faster than its "peak" of 1.29 ms, so 64
# is no bound; the issue's own estimate, 0.7 ms for it, is the 128 figure.)
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
