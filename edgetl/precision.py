"""The frozen-feature pass in bfloat16 where the CPU computes it natively.

The frozen prefix is most of ``edgetl train``'s time on a CPU: every image and augmented copy goes once through
the backbone's convolutions. CPUs with AVX-512 BF16 or AMX (AMD Zen 4 and later, Intel Cooper Lake and Sapphire
Rapids and later) run oneDNN's convolutions in bfloat16 at about twice their float32 speed; TensorFlow's grappler
pass ``auto_mixed_precision_onednn_bfloat16`` rewrites a traced graph to use them, accumulating in float32.
Measured on `make bench`'s prefix (VGG16 to block3_pool beside block2_pool, 48 px, 2-core AMD EPYC Zen 4): 3.96 ->
2.16 ms an image, features within 0.3% of float32 on average (bench/README.md, "The frozen features in bfloat16").

Only the prefix's feature pass runs rewritten: the option is on while ``extract`` traces and runs it, and the head's
fit, the saved model and the export stay float32. Elsewhere (no BF16 in the CPU's flags, or a GPU) nothing changes.
"""
from __future__ import annotations

import contextlib
import logging
import platform
from pathlib import Path

log = logging.getLogger("edgetl")

PRECISIONS = ("auto", "float32", "bfloat16")
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}  # /proc/cpuinfo flags of x86 CPUs with native bfloat16 arithmetic
GRAPPLER_OPTION = "auto_mixed_precision_onednn_bfloat16"


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 natively (Linux x86-64: its flags in /proc/cpuinfo)."""
    if cpuinfo is None:
        if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
            return False
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return bool(BF16_FLAGS & set(flags))


def feature_precision(requested: str, gpus: int, cpuinfo: str | None = None) -> str:
    """The precision the frozen-feature pass runs in: ``requested``, or for "auto" bfloat16 on a CPU-only machine
    with native bfloat16, else float32."""
    if requested not in PRECISIONS:
        raise ValueError(f"feature precision {requested!r}: one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        return requested
    return "bfloat16" if gpus == 0 and cpu_has_native_bf16(cpuinfo) else "float32"


def check_precision(requested: str, features_on_ray: str | None) -> None:
    """A clear error for a precision edgetl cannot run the feature pass in."""
    from edgetl.runtime.errors import UserError

    if requested not in PRECISIONS:
        raise UserError(f"--feature-precision {requested}: valid: {', '.join(PRECISIONS)}")
    if requested == "bfloat16" and features_on_ray:
        raise UserError("--feature-precision bfloat16: not with --features-on-ray (its actors run float32); "
                        "leave it at auto or float32")


def resolved_precision(config) -> str:
    """The frozen-feature pass's precision for a TrainConfig, said in the log when it is bfloat16. Call after
    TensorFlow's devices are set up (make_strategy)."""
    if config.features_on_ray:
        return "float32"
    import tensorflow as tf

    precision = feature_precision(config.feature_precision, len(tf.config.list_physical_devices("GPU")))
    if precision == "bfloat16":
        log.info("frozen features in bfloat16%s (--feature-precision float32 for float32)",
                 " (this CPU computes it natively)" if config.feature_precision == "auto" else "")
    return precision


@contextlib.contextmanager
def traced_in(precision: str):
    """Graphs that TensorFlow traces and runs inside this block use bfloat16 convolutions and matrix products when
    ``precision`` is "bfloat16"; the option is restored on leaving, so later graphs are float32 again."""
    if precision != "bfloat16":
        yield
        return
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get(GRAPPLER_OPTION, False)
    tf.config.optimizer.set_experimental_options({GRAPPLER_OPTION: True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({GRAPPLER_OPTION: before})
