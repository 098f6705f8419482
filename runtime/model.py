"""A self-describing ONNX model: the card from its metadata, an onnxruntime session, batched predict."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .card import ModelCard
from .errors import UserError
from .images import fit_batch
from .providers import check_fallback, requested_providers, with_options

log = logging.getLogger(__name__)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return options


class Model:
    """``Model("model.onnx").predict(images)``: images of any size, gray or BGR, in; outputs out."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such model file")
        providers = requested_providers(device)
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(threads),
                                                providers=with_options(providers))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise UserError(f"{self.path}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.card = ModelCard.from_metadata(meta, str(self.path))
        self.provider = check_fallback(self.session, device, providers)
        self.input_name = self.session.get_inputs()[0].name
        self.check_input_contract()

    def check_input_contract(self) -> None:
        arg = self.session.get_inputs()[0]
        expected = [self.card.height, self.card.width, self.card.channels]
        if arg.type != "tensor(uint8)" or list(arg.shape[1:]) != expected:
            raise UserError(f"{self.path}: input is {arg.type} {arg.shape}, but its card says uint8 "
                            f"[batch, {', '.join(map(str, expected))}]; re-export it with edgetl export")

    def warmup(self) -> None:
        """One inference on a blank image: the first call pays for allocations a live stream should not see."""
        self.predict_batch(np.zeros((1, self.card.height, self.card.width, self.card.channels), np.uint8))

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs for a uint8 batch already at the card's input shape."""
        return self.session.run(None, {self.input_name: batch})[0]

    def predict(self, images) -> np.ndarray:
        """Probabilities (classification) or values (regression) for images of any size."""
        return self.predict_batch(fit_batch(images, self.card.height, self.card.width, self.card.channels))

    def labels(self, outputs: np.ndarray, k: int = 1) -> list[list[tuple[str, float]]]:
        """Top-k (label, score) per row for classification; [(value, value)] for regression."""
        if self.card.task == "regression":
            return [[(f"{float(v):.3f}", float(v))] for v in outputs.reshape(len(outputs), -1)[:, 0]]
        top = np.argsort(-outputs, axis=1)[:, :k]
        return [[(self.card.class_names[i], float(row[i])) for i in idx] for row, idx in zip(outputs, top)]
