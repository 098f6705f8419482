"""Static int8 quantization (QDQ, per-channel weights) and fp16 conversion of a float ONNX model."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from edgetl.export.calibration import BatchReader, check_count
from edgetl.export.choices import CALIB_METHODS
from edgetl.export.onnx_export import INPUT_NAME, read_metadata, save_onnx, set_metadata
from edgetl.runtime._io import sha256_file
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError

log = logging.getLogger(__name__)


def card_for_variant(float_path: Path, quantization: str) -> dict[str, str]:
    card = ModelCard.from_metadata(read_metadata(float_path), str(float_path))
    card.quantization = quantization
    card.float_sha256 = sha256_file(float_path)
    return card.to_metadata()


# The head's output (its logits) and the softmax stay float; its weights are int8 all the same. Quantized, the
# logits of make bench's digit model span -37..37 in 0.29 steps and the probabilities 1/255 steps: two digits a crop
# hesitates between (fp32 0.59 / 0.36) came out tied at 0.47 each, under --min-score, and were dropped. Float: the
# desk tune set 94.19 -> 94.26% read (fp32 94.30%), at the same size and a negligible cost (the head is 0.1 M of
# the crop's 329 M multiply-adds).
FLOAT_OUTPUT_OPS = ["MatMul", "Gemm"]


def softmax_nodes(model_path: Path) -> list[str]:
    """Names of the graph's Softmax nodes (left unquantized: see FLOAT_OUTPUT_OPS)."""
    import onnx

    return [node.name for node in onnx.load(str(model_path)).graph.node if node.op_type == "Softmax"]


def quantize_int8(float_path: Path, out_path: Path, calib_images: np.ndarray, method: str = "minmax",
                  exclude: list[str] | None = None, activations: str = "u8", per_channel: bool = True) -> Path:
    """Calibrate on ``calib_images`` (uint8, model input shape) and write a QDQ int8 model.

    ``activations``: "u8" (U8S8, asymmetric uint8 activations) or "s8" (S8S8); weights are always int8,
    per output channel unless ``per_channel`` is off. bench/quant_levers.py compares the four: the same speed
    here (within 3%), per-channel 0.1 point more accurate, so U8S8 per-channel stays the default.

    Weights use 7 bits of the 8 (onnxruntime's ``reduce_range``): on x86 CPUs with AVX2 but no VNNI (most laptops
    before 2019, AMD before Zen 4) onnxruntime's int8 kernels add pairs of 8-bit products in 16 bits, which
    saturate; measured on such a CPU (2-core AMD EPYC, AVX2 only), the test suite's digit model lost 2.4 points
    int8 with 8-bit weights (block1_conv2 at 0.5 dB SQNR) and 0.2 with 7, agreement with fp32 96.6 -> 99.8%.
    The file is made once and runs on whatever CPU the device has."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if activations not in ("u8", "s8"):
        raise ValueError(f"activations {activations!r}: u8 or s8")
    if method not in CALIB_METHODS:
        raise UserError(f"--calib-method {method}: valid: {', '.join(CALIB_METHODS)}")
    check_count(calib_images, len(calib_images))
    calibrate = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                 "percentile": CalibrationMethod.Percentile}[method]
    with tempfile.TemporaryDirectory(prefix="edgetl-quant-") as tmp:
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(float_path), str(prepared))
        quantize_static(str(prepared), str(quantized), BatchReader(INPUT_NAME, calib_images),
                        quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=QuantType.QInt8 if activations == "s8" else QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=calibrate,
                        nodes_to_exclude=(exclude or []) + softmax_nodes(prepared), reduce_range=True,
                        extra_options={"CalibTensorRangeSymmetric": False,
                                       "OpTypesToExcludeOutputQuantization": FLOAT_OUTPUT_OPS})
        proto = onnx.load(str(quantized))
    label = (f"int8 static QDQ {'per-channel' if per_channel else 'per-tensor'} "
             f"{'S8S8' if activations == 's8' else 'U8S8'} (7-bit weights; logits and softmax in float), {method}, "
             f"{len(calib_images)} samples")
    if exclude:
        label += f", float nodes: {', '.join(exclude)}"
    set_metadata(proto, card_for_variant(float_path, label))
    return save_onnx(proto, out_path)


def side_by_side_nodes(float_path: Path) -> list[str]:
    """The nodes that join maps a head reads side by side (``--beside``) and normalise them, kept in float: one
    int8 scale for the joined tensor is the larger map's, and the other map's values then get a few levels
    (make bench's digit model, block2's map beside block3's, scale 5.4 against 2.3: other writers' digits
    95.2% in fp32, 93.4% int8 with them quantized)."""
    import onnx

    names = [node.name for node in onnx.load(str(float_path)).graph.node]
    if not any("/features_beside" in name for name in names):
        return []
    return [name for name in names if "/features_beside" in name or "/feature_norm" in name]


def convert_fp16(float_path: Path, out_path: Path) -> Path:
    """float16 weights and compute for GPUs; float32/uint8 inputs and outputs kept."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load(str(float_path)), keep_io_types=True)
    set_metadata(proto, card_for_variant(float_path, "fp16 weights and compute, fp32 outputs"))
    return save_onnx(proto, out_path)


def lossiest_nodes(float_path: Path, int8_path: Path, images: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` nodes whose outputs lose most signal-to-noise (lowest SQNR, dB) when quantized (qdq_loss_debug)."""
    import onnx
    from onnxruntime.quantization.qdq_loss_debug import (collect_activations, compute_activation_error,
                                                          create_activation_matching,
                                                          modify_model_output_intermediate_tensors)

    with tempfile.TemporaryDirectory(prefix="edgetl-qdebug-") as tmp:
        f_aug, q_aug = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        modify_model_output_intermediate_tensors(str(float_path), str(f_aug))
        modify_model_output_intermediate_tensors(str(int8_path), str(q_aug))
        sample = images[:32]
        f_acts = collect_activations(str(f_aug), BatchReader(INPUT_NAME, sample, description="float activations"))
        q_acts = collect_activations(str(q_aug), BatchReader(INPUT_NAME, sample, description="int8 activations"))
    errors = compute_activation_error(create_activation_matching(q_acts, f_acts))
    producer = {out: node.name for node in onnx.load(str(float_path)).graph.node for out in node.output}
    # qdq_err is the noise a tensor's own quantize/dequantize adds (xmodel_err accumulates from upstream)
    scored = [(producer[name], err["qdq_err"]) for name, err in errors.items()
              if name in producer and "qdq_err" in err and np.isfinite(err["qdq_err"])]
    return sorted(scored, key=lambda item: item[1])[:k]
