"""Keras to ONNX with tf2onnx: uint8 NHWC input, dynamic batch, the model card in metadata_props."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from edgetl.runtime._io import atomic_path
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError

log = logging.getLogger(__name__)
DEFAULT_OPSET = 17  # supported by tf2onnx 1.16+ and by onnxruntime's static quantizer
INPUT_NAME = "image"


def keras_to_onnx_proto(model, card: ModelCard, opset: int = DEFAULT_OPSET):
    """An onnx.ModelProto taking uint8 (batch, H, W, C) images, batch axis dynamic."""
    import tensorflow as tf
    import tf2onnx

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its INFO lines narrate every graph pass
    # Keras 3 models need an explicit signature; a None batch dim makes the ONNX batch axis dynamic.
    signature = (tf.TensorSpec((None, card.height, card.width, card.channels), tf.uint8, name=INPUT_NAME),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
    except Exception as exc:
        raise UserError(f"tf2onnx could not convert the model at opset {opset} ({type(exc).__name__}: {exc})") from None
    return proto


def set_metadata(proto, entries: dict[str, str]) -> None:
    import onnx

    props = {p.key: p.value for p in proto.metadata_props}
    onnx.helper.set_model_props(proto, {**props, **entries})


def read_metadata(path: Path) -> dict[str, str]:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


def check_single_file(path: Path) -> None:
    """Refuse ONNX files whose weights live in external data files (edgetl writes and reads single files)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise UserError(f"{path}: not a readable ONNX file ({str(exc).splitlines()[0][:120]})") from None
    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise UserError(f"{path}: {len(external)} tensors are stored as external data (e.g. {external[0]}); "
                        "edgetl needs a single-file model: re-export it with edgetl export")


def save_onnx(proto, path: Path) -> Path:
    """Single-file ONNX, written to a temp name and renamed."""
    import onnx

    if proto.ByteSize() > 2 * 1024 ** 3 - 1:
        raise UserError(f"{path}: the model is over 2 GB and would need external data; edgetl writes single files")
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_float(model, card: ModelCard, path: Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write the fp32 ONNX model with its card; the card records nothing about quantization."""
    proto = keras_to_onnx_proto(model, card, opset)
    card.quantization = None
    set_metadata(proto, card.to_metadata())
    return save_onnx(proto, path)
