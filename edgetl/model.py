"""The whole model as one chain of built-in Keras layers: uint8 pixels in, prediction out.

Preprocessing sits inside the graph (cast, resize or pad, gray to 3 channels, the backbone's own
normalization), so the exported ONNX takes what OpenCV delivers and no runtime can preprocess differently
from training. The chain can be cut between any two of its units: the frozen prefix is run once, the
trainable suffix trained on its output. A unit is one layer, or, where a backbone branches (Inception
modules, residual blocks), a Segment: the layers between two points that one tensor passes through, re-run
as the backbone ran them. Either way the saved model is one flat graph of built-in layers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from edgetl.backbones import CAFFE_BGR_MEAN, Backbone, pretrained
from edgetl.runtime.errors import UserError


# Dropout's mask: each row its own (Keras's default), or one mask a batch, the same features dropped for every row
# of a step: a 64th of the random numbers (bench/README.md, "One dropout mask a batch").
DROPOUT_MASKS = {"sample": None, "batch": (1, None)}
MAX_FLATTEN_SIDE = 8  # maps up to 8x8 are flattened (where strokes are matters); larger ones averaged


@dataclass
class HeadConfig:
    units: int | None = None  # None: chosen by backbone and input size (edgetl.config.resolve_units); 0: linear head
    dropout: float = 0.3
    dropout_mask: str | None = None  # "sample": a mask a row; "batch": one a batch (DROPOUT_MASKS); None: by data
    pool: str | None = None  # "flatten" keeps where strokes are; "avg" for big maps; None: by backbone and map size
    beside: str | None = None  # an earlier feature layer read beside the last, max-pooled to its size; None: none


@dataclass
class Chain:
    """Units in order; ``n_preprocess`` of them are preprocessing, then the backbone's, then the head's.

    ``n_backbone`` is the backbone's layer count (what --freeze counts); ``unit_ends[i]`` is how many backbone
    layers the first i+1 backbone units hold (None: one layer per unit); ``backbone_layers`` the backbone's
    Keras layers in order (None: the units themselves).
    """

    keras: object
    input_shape: tuple[int, int, int]
    layers: list
    n_preprocess: int
    n_backbone: int
    unit_ends: list[int] | None = None
    backbone_layers: list | None = None
    preprocess: dict | None = None  # what the preprocessing units do, as the card records it
    feature_parts: list[int] | None = None  # channels of each map the head reads side by side (None: one map)

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

    @property
    def ends(self) -> list[int]:
        return list(self.unit_ends) if self.unit_ends is not None else list(range(1, self.n_backbone + 1))

    @property
    def inner(self) -> list:
        """The backbone's Keras layers in order."""
        if self.backbone_layers is not None:
            return list(self.backbone_layers)
        return self.layers[self.n_preprocess:self.n_preprocess + self.n_backbone]

    def cut_after_frozen(self, frozen_backbone_layers: int) -> int:
        """The latest unit boundary with at most ``frozen_backbone_layers`` backbone layers before it."""
        return self.n_preprocess + sum(1 for end in self.ends if end <= frozen_backbone_layers)

    def set_trainable_from(self, cut: int, frozen_backbone_layers: int | None = None) -> None:
        """Units from ``cut`` on train, except the first ``frozen_backbone_layers`` backbone layers (a unit
        boundary may come before them) and BatchNorm layers: those stay frozen, and a frozen BatchNorm runs in
        inference mode (its moving statistics, never the batch's), the Keras transfer-learning rule."""
        for i, layer in enumerate(self.layers):
            layer.trainable = i >= cut
        for j, layer in enumerate(self.inner):
            if is_batch_norm(layer) or (frozen_backbone_layers is not None and j < frozen_backbone_layers):
                layer.trainable = False


class Parts:
    """A chain unit made of several parts (layers, or units): trainable when any part is, and setting it
    sets every part."""

    parts: list

    @property
    def trainable(self) -> bool:
        return any(part.trainable for part in self.parts)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for part in self.parts:
            part.trainable = value


class Segment(Parts):
    """Backbone layers from one single-tensor point to the next, applied to a new tensor exactly as the
    pretrained model applied them (each layer called with its recorded arguments), so that their layers
    become layers of the calling model itself, not of a nested one."""

    def __init__(self, layers: list, source):
        self.layers = self.parts = list(layers)
        self.nodes = [layer._inbound_nodes[0] for layer in self.layers]  # the backbone's own calls
        self.source = source  # the backbone tensor this segment starts from
        self.name = f"to_{self.layers[-1].name}"

    def __call__(self, x):
        values = {id(self.source): x}
        for layer, node in zip(self.layers, self.nodes):
            args, kwargs = node.arguments.fill_in(values)
            out = layer(*args, **kwargs)
            outputs = out if isinstance(out, (list, tuple)) else [out]
            values.update((id(old), new) for old, new in zip(node.outputs, outputs))
        return out


class Beside(Parts):
    """The backbone's last units, with the map they start from max-pooled to their output's size and
    concatenated before their output: the head reads an earlier, finer layer beside the last one (VGG16's
    block2_pool beside block3_pool reads desk digits and other writers' digits better: bench/README.md)."""

    def __init__(self, keras, units: list, earlier: str, factor: int):
        self.units = self.parts = list(units)
        self.pool = keras.layers.MaxPooling2D(factor, name=f"{earlier}_pooled")
        self.join = keras.layers.Concatenate(axis=-1, name="features_beside")
        self.name = f"{earlier}_beside_{getattr(self.units[-1], 'name', 'last')}"

    def __call__(self, x):
        y = x
        for unit in self.units:
            y = unit(y)
        return self.join([self.pool(x), y])


def is_batch_norm(layer) -> bool:
    return layer.__class__.__name__ in ("BatchNormalization", "SyncBatchNormalization")


def preprocess_layers(keras, input_shape, backbone_size: int, fit: str, normalization: str = "caffe",
                      stats: tuple[list[float], list[float]] | None = None) -> list:
    """Cast, resize or pad, gray to 3 channels, then the backbone's normalization: "caffe" (VGG16, ResNet50),
    "tf" (to [-1, 1]) or "torch" (``stats``: per-channel mean and variance on 0..255 pixels, BGR order)."""
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
    if normalization == "caffe":
        chain.append(layers.Normalization(mean=CAFFE_BGR_MEAN, variance=[1.0, 1.0, 1.0], name="caffe_mean"))
    elif normalization == "tf":
        chain.append(layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale_to_pm1"))
    elif normalization == "torch":
        mean, variance = stats
        chain.append(layers.Normalization(mean=mean, variance=variance, name="imagenet_norm"))
    else:
        raise ValueError(f"unknown normalization {normalization!r}")
    return chain


def stem_stats(keras, base, first: int) -> tuple[list[float], list[float]]:
    """Per-channel (mean, variance) on 0..255 pixels equal to the base's own preprocessing layers
    ``base.layers[1:first]`` (EfficientNet: rescaling, normalization and, with ImageNet weights, a rescaling),
    in the base's channel order. Those layers are affine per channel: probed with black and white images."""
    stem = keras.Model(base.input, base.layers[first - 1].output)
    size = base.input.shape[1:]
    probe = np.stack([np.zeros(size, np.float32), np.full(size, 255.0, np.float32)])
    out = np.asarray(stem.predict_on_batch(probe), np.float64)[:, 0, 0, :]
    scale = (out[1] - out[0]) / 255.0  # y = scale * x + offset
    mean = -out[0] / scale
    return mean.tolist(), (1.0 / scale ** 2).tolist()


def reorder_first_conv_for_bgr(layers: list) -> None:
    """Weights made for RGB input take OpenCV's BGR: the first conv's input channels reversed (exact, free)."""
    first = next(layer for layer in layers if layer.weights)
    kernel, *rest = first.get_weights()
    if first.__class__.__name__ != "Conv2D" or kernel.shape[2] != 3:
        raise RuntimeError(f"{first.name}: the first layer with weights is not a 3-channel Conv2D")
    first.set_weights([kernel[:, :, ::-1, :], *rest])


def bottlenecks(layers: list, source) -> list[int]:
    """Positions i (1-based in ``layers``; 0 is ``source``, the operation feeding the first) after which nothing
    before i is needed any more: cutting there leaves one tensor. ``layers`` in topological order, as built."""
    position = {id(source): 0, **{id(layer): i for i, layer in enumerate(layers, 1)}}
    last_use: dict[int, int] = {}
    for i, layer in enumerate(layers, 1):
        for tensor in layer._inbound_nodes[0].input_tensors:
            src = position[id(tensor._keras_history.operation)]
            last_use[src] = max(last_use.get(src, 0), i)
    found, needed_until = [], 0
    for i in range(len(layers) + 1):
        if needed_until <= i:
            found.append(i)
        needed_until = max(needed_until, last_use.get(i, 0))
    return found


@dataclass
class BackboneParts:
    units: list  # layers or Segments, each from one single-tensor point to the next
    unit_ends: list[int]  # backbone layers up to the end of each unit
    layers: list  # the backbone's Keras layers, in order
    stats: tuple[list[float], list[float]] | None  # "torch" normalization, BGR order
    feature_parts: list[int] | None = None  # with a Beside unit: channels of the earlier map, then the last's


def backbone_parts(keras, backbone: Backbone, weights: str, size: int, feature_layer: str,
                   beside: str | None = None) -> BackboneParts:
    """The pretrained backbone up to ``feature_layer``, ready for BGR input, in units; with ``beside``, the units
    after that earlier feature layer are one Beside unit that outputs both maps."""
    if feature_layer not in backbone.feature_layers:
        raise UserError(f"--feature-layer {feature_layer}: valid for {backbone.name}: "
                        f"{', '.join(backbone.feature_layers)}")
    check_beside(backbone, feature_layer, beside)
    base = pretrained(keras, backbone, weights, size)
    names = [layer.name for layer in base.layers]
    first = names.index(backbone.first_layer) if backbone.first_layer else 1  # [0] is the InputLayer
    stats = None
    if backbone.preprocessing == "torch":
        mean, variance = stem_stats(keras, base, first)
        stats = (mean[::-1], variance[::-1]) if backbone.rgb else (mean, variance)
    layers = base.layers[first:names.index(feature_layer) + 1]
    if backbone.rgb:
        reorder_first_conv_for_bgr(layers)
    source = base.layers[first - 1]
    points = bottlenecks(layers, source)
    if points[-1] != len(layers):
        raise RuntimeError(f"{backbone.name}: {feature_layer} is not a point that one tensor passes through")
    units = []
    for start, end in zip(points, points[1:]):
        last = layers[end - 1]
        if end == start + 1 and len(last._inbound_nodes[0].input_tensors) == 1:
            units.append(last)
        else:
            units.append(Segment(layers[start:end], source.output if start == 0 else layers[start - 1].output))
    if beside is None:
        return BackboneParts(units, points[1:], layers, stats)
    return joined_beside(keras, BackboneParts(units, points[1:], layers, stats), beside)


def check_beside(backbone: Backbone, feature_layer: str, beside: str | None) -> None:
    cuts = list(backbone.feature_layers)
    if beside is not None and (beside not in cuts or cuts.index(beside) >= cuts.index(feature_layer)):
        earlier = ", ".join(cuts[:cuts.index(feature_layer)]) or "none (no earlier feature layer)"
        raise UserError(f"--beside {beside}: must be a {backbone.name} feature layer before {feature_layer}; "
                        f"valid: {earlier}, or none")


def joined_beside(keras, body: BackboneParts, beside: str) -> BackboneParts:
    """``body`` with its units after ``beside`` (a feature layer, so a unit boundary) made one Beside unit."""
    k = [layer.name for layer in body.layers].index(beside) + 1
    j = body.unit_ends.index(k) + 1
    earlier, last = body.layers[k - 1].output.shape, body.layers[-1].output.shape
    factor = max(1, earlier[1] // last[1])
    if (earlier[1] // factor, earlier[2] // factor) != (last[1], last[2]):
        raise UserError(f"--beside {beside}: its {earlier[1]}x{earlier[2]} map does not pool to "
                        f"{body.layers[-1].name}'s {last[1]}x{last[2]}; choose another layer or --beside none")
    unit = Beside(keras, body.units[j:], beside, factor)
    return dataclasses.replace(body, units=body.units[:j] + [unit], unit_ends=body.unit_ends[:j] + [len(body.layers)],
                               feature_parts=[int(earlier[-1]), int(last[-1])])


def head_layers(keras, n_outputs: int, task: str, head: HeadConfig,
                target: tuple[float, float] = (0.0, 1.0)) -> list:
    """``target``: (mean, std) of the training values, for regression: the last Dense layer predicts the
    standardised value and a Rescaling layer turns it back into the user's units inside the model, so a price
    in the thousands trains as fast as one near 0 and the exported model still outputs the price."""
    layers = keras.layers
    pool = layers.Flatten(name="flatten") if head.pool == "flatten" else layers.GlobalAveragePooling2D(name="avg_pool")
    # VGG features are in the hundreds: the head needs them scaled, but by one mean and variance
    # for the whole tensor. Per-channel standardisation (BatchNorm) amplifies channels whose range
    # is tiny, and their int8 noise with them (measured: -21 pt after quantization; with this, -0.1).
    # With an earlier map beside (head.beside), one mean and variance per map: adapt_feature_norm sets them.
    norm = layers.Normalization(axis=None if head.beside is None else -1, name="feature_norm")
    chain = [norm, pool]
    if head.units:
        chain.append(layers.Dense(head.units, activation="relu", name="head_dense"))
    if head.dropout:
        chain.append(layers.Dropout(head.dropout, noise_shape=DROPOUT_MASKS[head.dropout_mask or "sample"],
                                    name="head_dropout"))
    if task == "regression":
        chain.append(layers.Dense(1, name="standardised_value"))
        chain.append(layers.Rescaling(scale=float(target[1]), offset=float(target[0]), name="value"))
    else:
        chain.append(layers.Dense(n_outputs, activation="softmax", name="probabilities"))
    return chain


def build_chain(keras, input_shape, backbone: Backbone, weights: str, backbone_size: int, fit: str,
                feature_layer: str, n_outputs: int, task: str, head: HeadConfig,
                target: tuple[float, float] = (0.0, 1.0)) -> Chain:
    if backbone_size < backbone.min_size:
        raise UserError(f"--input-size {backbone_size}: {backbone.name} needs at least {backbone.min_size} px")
    body = backbone_parts(keras, backbone, weights, backbone_size, feature_layer, head.beside)
    pre = preprocess_layers(keras, input_shape, backbone_size, fit, backbone.preprocessing, body.stats)
    if head.pool is None:
        side = body.layers[-1].output.shape[1]
        pool = backbone.head_pool or ("flatten" if side <= MAX_FLATTEN_SIDE else "avg")
        head = dataclasses.replace(head, pool=pool)
    one_per_unit = len(body.units) == len(body.layers) and body.feature_parts is None
    names = {layer.name for layer in pre}
    to_backbone = "pad" if "pad" in names else "bilinear" if "resize" in names else "none"
    chain = Chain(keras, tuple(input_shape), pre + body.units + head_layers(keras, n_outputs, task, head, target),
                  len(pre), len(body.layers), None if one_per_unit else body.unit_ends,
                  None if one_per_unit else body.layers, backbone.card_preprocess(body.stats, to_backbone),
                  body.feature_parts)
    chain.model()  # builds every layer's weights
    return chain
