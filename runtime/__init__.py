"""edgetl.runtime: run exported models with numpy, OpenCV and onnxruntime only (no TensorFlow)."""
from .card import ModelCard
from .errors import UserError
from .model import Model

__all__ = ["Model", "ModelCard", "UserError"]
