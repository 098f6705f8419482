"""Execution providers: what --device asks for, what onnxruntime offers, what a session really uses."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import onnxruntime as ort

from .errors import UserError

log = logging.getLogger(__name__)
DEVICES = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}
DEVICE_CHOICES = ("auto", *DEVICES)  # auto: TensorRT, CUDA, then CPU, whichever the build has
GPU_HINT = ("for GPUs install the GPU build instead of the CPU one: "
            "pip uninstall -y onnxruntime && pip install onnxruntime-gpu (never both)")
SHORT = {"TensorrtExecutionProvider": "TensorRT", "CUDAExecutionProvider": "CUDA", "CPUExecutionProvider": "CPU"}


def requested_providers(device: str) -> list[str]:
    """Providers to ask for, best first; an explicit GPU device that is unavailable is an error."""
    available = ort.get_available_providers()
    if device == "auto":
        return [p for p in DEVICES["tensorrt"] if p in available]
    if device not in DEVICES:
        raise UserError(f"--device {device}: valid: auto, cpu, cuda, tensorrt")
    wanted = DEVICES[device][0]
    if wanted not in available:
        raise UserError(f"--device {device}: {wanted} is not available in this onnxruntime "
                        f"(available: {', '.join(available)}); {GPU_HINT}")
    return [p for p in DEVICES[device] if p in available]


def with_options(providers: list[str], fp16: bool = False) -> list:
    """TensorRT builds an engine per model, which takes minutes: cache it across runs.

    TensorRT computes in float32 unless ``fp16`` is asked for (``edgetl run --fp16``): float16 engines are
    faster but less exact, which the user must choose, not find out. fp16 and fp32 engines are cached apart.
    """
    if "TensorrtExecutionProvider" not in providers:
        return providers
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgetl" / "tensorrt"
    cache = base / ("fp16" if fp16 else "fp32")
    cache.mkdir(parents=True, exist_ok=True)
    trt = {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache), "trt_fp16_enable": bool(fp16)}
    return [(p, trt) if p == "TensorrtExecutionProvider" else p for p in providers]


def check_fallback(session: ort.InferenceSession, device: str, requested: list[str]) -> str:
    """The provider in use; a session that silently fell back from the GPU is reported (error if explicit)."""
    in_use = session.get_providers()
    if requested[0] not in in_use:
        message = f"--device {device}: {requested[0]} failed to start; the session runs on {', '.join(in_use)}"
        if device != "auto":
            raise UserError(message + f" (check the CUDA/cuDNN/TensorRT libraries; {GPU_HINT})")
        log.warning(message)
    return SHORT.get(in_use[0], in_use[0])
