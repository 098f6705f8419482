"""edgetl: from a small labelled image set to a quantized ONNX model running on an edge device."""

__version__ = "0.1.0"
