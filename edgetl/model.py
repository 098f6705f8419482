"""The whole model as one chain of built-in Keras layers: uint8 pixels in, prediction out.

Preprocessing sits inside the graph (cast, resize or pad, gray to 3 channels, caffe mean), so the
exported ONNX takes what OpenCV delivers and no runtime can preprocess differently from training.
The chain can be cut anywhere: the frozen prefix is run once, the trainable suffix trained on its output.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from edgetl.backbones import CAFFE_BGR_MEAN, Backbone, pretrained
from edgetl.runtime.errors import UserError


MAX_FLATTEN_SIDE = 8  # maps up to 8x8 are flattened (where strokes are matters); larger ones averaged


@dataclass
class HeadConfig:
    units: int | None = None  # None: chosen by input size (edgetl.config.resolve_units); 0: linear head
    dropout: float = 0.3
    pool: str | None = None  # "flatten" keeps where strokes are; "avg" for big maps; None: by map size


@dataclass
class Chain:
    """Layers in order; ``preprocess`` and ``backbone`` give how many of the first layers are which."""

    keras: object
    input_shape: tuple[int, int, int]
    layers: list
    n_preprocess: int
    n_backbone: int

    def apply(self, x, start: int = 0, stop: int | None = None):
        for layer in self.layers[start:stop]:
            x = layer([x, x, x]) if layer.name == "gray_to_bgr" else layer(x)
        return x

    def model(self):
        inp = self.keras.Input(self.input_shape, dtype="uint8", name="image")
        return self.keras.Model(inp, self.apply(inp), name="edgetl")

    def prefix(self, cut: int):
        inp = self.keras.Input(self.input_shape, dtype="uint8", name="image")
        return self.keras.Model(inp, self.apply(inp, 0, cut), name="frozen_prefix")

    def suffix(self, cut: int, feature_shape):
        inp = self.keras.Input(tuple(feature_shape), name="features")
        return self.keras.Model(inp, self.apply(inp, cut), name="trainable_suffix")

    def cut_after_frozen(self, frozen_backbone_layers: int) -> int:
        return self.n_preprocess + frozen_backbone_layers

    def set_trainable_from(self, cut: int) -> None:
        for i, layer in enumerate(self.layers):
            layer.trainable = i >= cut


def preprocess_layers(keras, input_shape, backbone_size: int, fit: str) -> list:
    layers = keras.layers
    h, w, c = input_shape
    chain = [layers.Rescaling(1.0, name="to_float")]
    if (h, w) != (backbone_size, backbone_size):
        if fit == "pad":
            if h > backbone_size or w > backbone_size:
                raise UserError(f"--fit pad: images are {h}x{w}, larger than --input-size {backbone_size}")
            top, left = (backbone_size - h) // 2, (backbone_size - w) // 2
            pad = ((top, backbone_size - h - top), (left, backbone_size - w - left))
            chain.append(layers.ZeroPadding2D(pad, name="pad"))
        else:
            chain.append(layers.Resizing(backbone_size, backbone_size, interpolation="bilinear", name="resize"))
    if c == 1:
        chain.append(layers.Concatenate(axis=-1, name="gray_to_bgr"))
    chain.append(layers.Normalization(mean=CAFFE_BGR_MEAN, variance=[1.0, 1.0, 1.0], name="caffe_mean"))
    return chain


def backbone_layers(keras, backbone: Backbone, weights: str, size: int, feature_layer: str) -> list:
    if feature_layer not in backbone.feature_layers:
        raise UserError(f"--feature-layer {feature_layer}: valid for {backbone.name}: "
                        f"{', '.join(backbone.feature_layers)}")
    base = pretrained(keras, backbone, weights, size)
    names = [layer.name for layer in base.layers[1:]]  # [0] is the InputLayer
    return base.layers[1:names.index(feature_layer) + 2]


def head_layers(keras, n_outputs: int, task: str, head: HeadConfig) -> list:
    layers = keras.layers
    pool = layers.Flatten(name="flatten") if head.pool == "flatten" else layers.GlobalAveragePooling2D(name="avg_pool")
    # VGG features are in the hundreds: the head needs them scaled, but by one mean and variance
    # for the whole tensor. Per-channel standardisation (BatchNorm) amplifies channels whose range
    # is tiny, and their int8 noise with them (measured: -21 pt after quantization; with this, -0.1).
    chain = [layers.Normalization(axis=None, name="feature_norm"), pool]
    if head.units:
        chain.append(layers.Dense(head.units, activation="relu", name="head_dense"))
    if head.dropout:
        chain.append(layers.Dropout(head.dropout, name="head_dropout"))
    if task == "regression":
        chain.append(layers.Dense(1, name="value"))
    else:
        chain.append(layers.Dense(n_outputs, activation="softmax", name="probabilities"))
    return chain


def build_chain(keras, input_shape, backbone: Backbone, weights: str, backbone_size: int, fit: str,
                feature_layer: str, n_outputs: int, task: str, head: HeadConfig) -> Chain:
    if backbone_size < backbone.min_size:
        raise UserError(f"--input-size {backbone_size}: {backbone.name} needs at least {backbone.min_size} px")
    pre = preprocess_layers(keras, input_shape, backbone_size, fit)
    body = backbone_layers(keras, backbone, weights, backbone_size, feature_layer)
    if head.pool is None:
        side = body[-1].output.shape[1]
        head = dataclasses.replace(head, pool="flatten" if side <= MAX_FLATTEN_SIDE else "avg")
    chain = Chain(keras, tuple(input_shape), pre + body + head_layers(keras, n_outputs, task, head),
                  len(pre), len(body))
    chain.model()  # builds every layer's weights
    return chain
