"""Keras to ONNX with tf2onnx: uint8 NHWC input, dynamic batch, the model card in metadata_props."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from edgetl.runtime._io import atomic_path
from edgetl.runtime.card import ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.model import SHA256_KEY, model_sha256

log = logging.getLogger(__name__)
DEFAULT_OPSET = 17  # supported by tf2onnx 1.16+ and by onnxruntime's static quantizer
INPUT_NAME = "image"


def keras_to_onnx_proto(model, card: ModelCard, opset: int = DEFAULT_OPSET):
    """An onnx.ModelProto taking uint8 (batch, H, W, C) images, batch axis dynamic."""
    from edgetl._deps import require

    tf = require("tensorflow", "export")
    tf2onnx = require("tf2onnx", "export")  # its package imports tf2onnx.convert

    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its INFO lines narrate every graph pass
    # Keras 3 models need an explicit signature; a None batch dim makes the ONNX batch axis dynamic.
    signature = (tf.TensorSpec((None, card.height, card.width, card.channels), tf.uint8, name=INPUT_NAME),)
    quiet = logging.getLogger("tf2onnx")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a failed conversion also logs its stack; the one-line error says it
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
    except Exception as exc:
        raise UserError(f"tf2onnx could not convert the model at opset {opset} ({type(exc).__name__}: "
                        f"{first_line(exc)}); try another --opset, or run with --debug for the details") from None
    finally:
        quiet.setLevel(max(level, logging.WARNING))
    return proto


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


def first_line(exc: BaseException, limit: int = 200) -> str:
    """A library's error as one plain line: ANSI colour codes removed, the first line that says something
    (TensorFlow puts a stack and "Traceback"s after it), at most ``limit`` characters."""
    lines = [" ".join(ANSI.sub("", line).split()) for line in str(exc).splitlines()]
    useful = [line for line in lines if line and not line.startswith(("Traceback", "File ", "---", "==="))]
    text = useful[0] if useful else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def set_metadata(proto, entries: dict[str, str]) -> None:
    import onnx

    props = {p.key: p.value for p in proto.metadata_props}
    onnx.helper.set_model_props(proto, {**props, **entries})


def read_metadata(path: Path) -> dict[str, str]:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}


def check_single_file(path: Path) -> None:
    """Refuse ONNX files whose weights live in external data files (edgetl writes and reads single files), and
    files that onnx.checker finds invalid, before onnxruntime or the quantizer parse them."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        from edgetl.runtime.model import check_integrity

        check_integrity(path, path.read_bytes())  # names a truncated file as such
        raise UserError(f"{path}: not a readable ONNX file ({first_line(exc, 120)})") from None
    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise UserError(f"{path}: {len(external)} tensors are stored as external data (e.g. {external[0]}); "
                        "edgetl needs a single-file model: re-export it with edgetl export")
    check_proto(proto, path)


def check_proto(proto, path: Path) -> None:
    """onnx.checker on a whole single-file model (graph structure, operator schemas, types)."""
    import onnx

    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx.checker.ValidationError, or a C++ error for malformed protos
        raise UserError(f"{path}: not a valid ONNX model (onnx.checker: {first_line(exc, 160)})") from None


def record_sha256(proto) -> str:
    """Put the sha256 of the model without its metadata (runtime.model.SHA256_KEY) into its metadata."""
    entries = {p.key: p.value for p in proto.metadata_props if p.key != SHA256_KEY}
    set_metadata_exactly(proto, {**entries, SHA256_KEY: ""})
    digest = model_sha256(proto.SerializeToString())  # metadata_props is not hashed: the placeholder is not
    set_metadata_exactly(proto, {**entries, SHA256_KEY: digest})
    return digest


def set_metadata_exactly(proto, entries: dict[str, str]) -> None:
    import onnx

    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, entries)


def save_onnx(proto, path: Path) -> Path:
    """Single-file ONNX, checked with onnx.checker, its sha256 recorded inside, written to a temp name and renamed."""
    import onnx

    if proto.ByteSize() > 2 * 1024 ** 3 - 1:
        raise UserError(f"{path}: the model is over 2 GB and would need external data; edgetl writes single files")
    check_proto(proto, path)
    record_sha256(proto)
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return path


def export_float(model, card: ModelCard, path: Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write the fp32 ONNX model with its card; the card records nothing about quantization."""
    proto = keras_to_onnx_proto(model, card, opset)
    card.quantization = None
    set_metadata(proto, card.to_metadata())
    return save_onnx(proto, path)
