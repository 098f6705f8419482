"""A self-describing ONNX model: the card from its metadata, an onnxruntime session, batched predict."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .card import METADATA_KEY, ModelCard
from .errors import UserError
from .images import fit_all
from .providers import check_fallback, requested_providers, with_options

log = logging.getLogger(__name__)
# The sha256 edgetl export records of each ONNX file it writes, beside the card in metadata_props. It covers
# every top-level field of the ModelProto except metadata_props (field 14): the graph, its weights, opsets,
# IR version, producer. The card and this hash live in metadata_props, so the hash cannot cover them (it
# would describe itself); a card that does not fit the graph is caught by the input/output contract checks.
SHA256_KEY = "edgetl.model_sha256"
METADATA_PROPS_FIELD = 14
GRAPH_FIELD = 7


class Corrupt(ValueError):
    """Bytes that are not a complete protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise Corrupt("ends inside a field header")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise Corrupt("malformed varint")


def protobuf_fields(data: bytes, start: int = 0, end: int | None = None):
    """(field number, record start, payload start, record end) of each field of one protobuf message.

    Only the wire format is read (stdlib, no onnx or protobuf import): enough to hash an ONNX file without
    its metadata and to find one metadata entry, and to tell a truncated file from a complete one.
    """
    pos, end = start, len(data) if end is None else end
    while pos < end:
        record = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Corrupt("field number 0")
        if wire == 0:
            _, pos = _varint(data, pos)
            payload = pos
        elif wire == 1:
            payload, pos = pos, pos + 8
        elif wire == 2:
            size, payload = _varint(data, pos)
            pos = payload + size
        elif wire == 5:
            payload, pos = pos, pos + 4
        else:
            raise Corrupt(f"unsupported wire type {wire}")
        if pos > end:
            raise Corrupt(f"field {number} runs past the end of the file")
        yield number, record, payload, pos


def model_sha256(data: bytes) -> str:
    """sha256 of a serialized ONNX ModelProto without its metadata_props (see SHA256_KEY)."""
    digest = hashlib.sha256()
    for number, record, _, stop in protobuf_fields(data):
        if number != METADATA_PROPS_FIELD:
            digest.update(memoryview(data)[record:stop])
    return digest.hexdigest()


def metadata_entries(data: bytes) -> dict[str, str]:
    """metadata_props of a serialized ONNX ModelProto (StringStringEntryProto: key = 1, value = 2)."""
    entries = {}
    for number, _, payload, stop in protobuf_fields(data):
        if number != METADATA_PROPS_FIELD:
            continue
        key = value = ""
        for inner, _, start, end in protobuf_fields(data, payload, stop):
            if inner in (1, 2):
                text = bytes(data[start:end]).decode("utf-8", "replace")
                key, value = (text, value) if inner == 1 else (key, text)
        entries[key] = value
    return entries


def check_integrity(path: Path, data: bytes) -> None:
    """A truncated or corrupt file, or one whose graph changed after export, is named as such."""
    try:
        numbers = [number for number, *_ in protobuf_fields(data)]
        recorded = metadata_entries(data).get(SHA256_KEY)
    except Corrupt as exc:
        raise UserError(f"{path}: truncated or corrupt ({exc}; {len(data)} bytes); not a complete ONNX file: "
                        "copy it again or re-export it with edgetl export") from None
    if GRAPH_FIELD not in numbers:
        raise UserError(f"{path}: not an ONNX model (no graph in its {len(data)} bytes); "
                        "export one with edgetl export")
    if recorded is None:
        log.debug("%s: no recorded sha256 (exported by an older edgetl); integrity not checked", path)
        return
    actual = model_sha256(data)
    if actual != recorded:
        raise UserError(f"{path}: its graph does not match the sha256 recorded at export ({actual[:12]}... vs "
                        f"{recorded[:12]}...): the file was modified, swapped or damaged after export; "
                        "re-export it with edgetl export")


def reads_digits(data: bytes) -> bool:
    """True when the card in the model's metadata says it reads handwritten digits (checked fully later)."""
    try:
        return json.loads(metadata_entries(data).get(METADATA_KEY, "{}")).get("digits") is True
    except (ValueError, AttributeError):
        return False


def digit_model_threads() -> int:
    """onnxruntime threads for a digit model: half the cores. `edgetl run` finds the next frame's digits on
    another thread while the model reads this one's; on 2 cores one thread each ran the desk clip at
    148-163 frames/s against 115-127 with both cores given to onnxruntime (bench/README.md)."""
    return max(1, (os.cpu_count() or 2) // 2)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return options


class Model:
    """``Model("model.onnx").predict(images)``: images of any size, gray or BGR, in; outputs out."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None, fp16: bool = False):
        """``fp16``: let TensorRT build its engine in float16 (faster, less exact); off unless asked."""
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such model file")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise UserError(f"--threads {threads}: must be a whole number >= 1 (leave it out for the default)")
        providers = requested_providers(device)
        if fp16 and "TensorrtExecutionProvider" not in providers:
            if device != "auto":
                raise UserError(f"--fp16 builds TensorRT engines in float16; --device {device} does not use TensorRT "
                                "(use --device tensorrt, or export a float16 model with edgetl export --quantize fp16)")
            log.info("--fp16: TensorRT is not available here; running in float32")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read it ({exc.strerror})") from None
        check_integrity(self.path, data)  # the bytes onnxruntime gets are the bytes checked
        if threads is None and reads_digits(data):
            threads = digit_model_threads()
        try:
            self.session = ort.InferenceSession(data, session_options(threads),
                                                providers=with_options(providers, fp16=fp16))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise UserError(f"{self.path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]})") from None
        del data
        meta = self.session.get_modelmeta().custom_metadata_map
        try:  # a hand-made card can hold anything: fields of the wrong type are the file's fault, not a bug
            self.card = ModelCard.from_metadata(meta, str(self.path))
            self.check_input_contract()
            self.check_output_contract()
        except (TypeError, ValueError, AttributeError, IndexError) as exc:
            raise UserError(f"{self.path}: its model card is malformed ({type(exc).__name__}: "
                            f"{str(exc)[:120]}); re-export it with edgetl export") from None
        self.provider = check_fallback(self.session, device, providers)
        self.input_name = self.session.get_inputs()[0].name

    def check_input_contract(self) -> None:
        arg = self.session.get_inputs()[0]
        expected = [self.card.height, self.card.width, self.card.channels]
        if arg.type != "tensor(uint8)" or list(arg.shape[1:]) != expected:
            raise UserError(f"{self.path}: input is {arg.type} {arg.shape}, but its card says uint8 "
                            f"[batch, {', '.join(map(str, expected))}]; re-export it with edgetl export")

    def check_output_contract(self) -> None:
        """One float output per class (or one value for regression), as the card says."""
        outputs = self.session.get_outputs()
        arg = outputs[0]
        regression = self.card.task == "regression"
        wanted = 1 if regression else len(self.card.class_names)
        names = ", ".join(self.card.class_names[:6]) + (", ..." if wanted > 6 else "")
        what = "1 value (regression)" if regression else f"{wanted} class scores ({names})"
        last = arg.shape[-1] if arg.shape else None
        if arg.type not in ("tensor(float)", "tensor(float16)") or len(arg.shape) != 2 or \
                (isinstance(last, int) and last != wanted):
            raise UserError(f"{self.path}: output {arg.name!r} is {arg.type} {arg.shape}, but its card says "
                            f"[batch, {wanted}]: {what}; the card does not describe this model: re-export it "
                            "with edgetl export")

    def warmup(self) -> None:
        """One inference on a blank image: the first call pays for allocations a live stream should not see."""
        self.predict_batch(np.zeros((1, self.card.height, self.card.width, self.card.channels), np.uint8))

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs for a uint8 batch already at the card's input shape."""
        return self.session.run(None, {self.input_name: batch})[0]

    def predict(self, images) -> np.ndarray:
        """Probabilities (classification) or values (regression) for images of any size, each brought to the input
        as the card's ``resize`` says (images.fit_to_input); a uint8 batch already at the input shape as it is."""
        return self.predict_batch(fit_all(images, self.card))

    def use_fit(self, fit: str) -> None:
        """Bring images to the input by ``fit`` (card.FITS) instead of the card's own (`edgetl run --fit`)."""
        self.card = dataclasses.replace(self.card, resize={**self.card.resize, "fit": fit})

    def labels(self, outputs: np.ndarray, k: int = 1) -> list[list[tuple[str, float]]]:
        """Top-k (label, score) per row for classification; [(value, value)] for regression."""
        if self.card.task == "regression":
            return [[(f"{float(v):.3f}", float(v))] for v in outputs.reshape(len(outputs), -1)[:, 0]]
        top = np.argsort(-outputs, axis=1)[:, :k]
        return [[(self.card.class_names[i], float(row[i])) for i in idx] for row, idx in zip(outputs, top)]
