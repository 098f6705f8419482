"""edgetl.runtime: run exported models with numpy, OpenCV and onnxruntime only (no TensorFlow)."""
from .card import ModelCard
from .errors import UserError

__all__ = ["ModelCard", "UserError"]
