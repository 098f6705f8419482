"""Channels a frozen backbone never lights up on the model's own data, cut out before export.

A backbone pretrained on photos (VGG16 from HED's edges) keeps filters for colour and texture that gray
digits never excite: after the ReLU they are zero on every image. Each such output channel of a
convolution is removed with the next layer's input weights for it (the next convolution's kernel, or
the rows of a dense layer behind a flatten; a normalisation on the way turns the zero into a constant,
which the dense layer's bias takes in). That changes nothing the model computes on those images and
saves the multiply-adds. On `make bench`'s digit model (VGG16 to block 3, HED weights, 48 px): 187 of
its 1,152 channels are dead on the 260 calibration digits and 144 (multiples of 16) are removed, 429 M
-> 329 M multiply-adds a crop, int8 2.09 -> 1.66 ms a crop; held-out outputs moved by at most 1e-5.

Layers that take one tensor are followed, and Concatenates (the maps a head reads side by side); a model
with any other merge (Add, Multiply) is exported as it is.
"""
from __future__ import annotations

import numpy as np

PASS_THROUGH = ("MaxPooling2D", "AveragePooling2D", "Dropout", "Activation", "ReLU")
# Survivors are kept to a multiple of this (a few dead channels stay): onnxruntime's int8 kernels work in blocks,
# and 106 or 59 channels cost nearly what 112 or 64 do. make bench's model, 9 crops a call, one thread: unpruned
# 2.09 ms a crop (429 M multiply-adds), any count 1.84 (305 M), multiples of 8 1.64 (323 M), of 16 1.66 (329 M),
# of 32 1.77 (354 M).
CHANNEL_STEP = 16
TOLERANCE = 0.02  # the most a held-out output may move, relative to the largest output (1 for probabilities);
# past it the model is exported unpruned


def prune_for_export(model, calib, held) -> tuple[object, dict]:
    """(the model to export, what pruning did): channels dead on every calibration image cut out, kept only
    if the held-out images' outputs stay within TOLERANCE (of the largest output) of the unpruned model's."""
    if calib is None or not len(calib):
        return model, {"pruned": False, "reason": "no calibration images"}
    if not prunable(model):
        return model, {"pruned": False, "reason": "a merge other than Concatenate"}
    dead = dead_channels(model, calib)
    try:
        copy = pruned_copy(model, dead)
    except ValueError as exc:
        return model, {"pruned": False, "reason": str(exc)}
    if copy is model:
        return model, {"pruned": False, "reason": "no channel is dead on the calibration images"}
    from edgetl.train import predict

    x = held[:256]
    before = predict(model, x)
    moved = float(np.max(np.abs(before - predict(copy, x))))
    scale = max(float(np.max(np.abs(before))), 1e-6)  # 1 for probabilities; a regression's own units
    report = {"calibration_images": int(len(calib)), "held_out_max_abs_diff": moved,
              "tolerance": TOLERANCE * scale,
              "channels_removed": {name: int(mask.sum()) for name, mask in dead.items() if mask.any()},
              "multiply_adds": {"before": multiply_adds(model), "after": multiply_adds(copy)}}
    if moved > TOLERANCE * scale:
        return model, {"pruned": False, "reason": f"held-out outputs moved by {moved:.3g}", **report}
    return copy, {"pruned": True, **report}


def multiply_adds(model) -> int:
    """Of the convolutions and dense layers, per image."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            total += int(np.prod(layer.output.shape[1:3])) * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def conv_layers(model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
            and getattr(layer, "activation", None) is keras.activations.relu]


def dead_channels(model, images: np.ndarray, batch_size: int = 64) -> dict[str, np.ndarray]:
    """For each ReLU convolution, which output channels are zero on every image (bool per channel)."""
    import keras

    convs = conv_layers(model)
    if not convs:
        return {}
    probe = keras.Model(model.inputs, [layer.output for layer in convs])
    peak = [np.zeros(layer.filters, np.float32) for layer in convs]
    for start in range(0, len(images), batch_size):
        outputs = probe(images[start:start + batch_size], training=False)
        for k, out in enumerate(outputs if isinstance(outputs, (list, tuple)) else [outputs]):
            peak[k] = np.maximum(peak[k], keras.ops.convert_to_numpy(keras.ops.max(out, axis=(0, 1, 2))))
    return {layer.name: rounded(p <= 0.0) for layer, p in zip(convs, peak)}


def rounded(dead: np.ndarray) -> np.ndarray:
    """``dead`` with the first few dead channels kept alive, so the survivors are a multiple of CHANNEL_STEP."""
    alive = len(dead) - int(dead.sum())
    extra = -alive % CHANNEL_STEP
    dead = dead.copy()
    dead[np.flatnonzero(dead)[:extra]] = False
    return dead


def prunable(model) -> bool:
    """Every layer takes one tensor, but a Concatenate (edgetl's gray-to-BGR stem, the maps a head reads side by
    side): channels can be followed through it, not through an Add or a Multiply."""
    for layer in model.layers[1:]:
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if len(inputs) > 1 and layer.__class__.__name__ != "Concatenate":
            return False
    return True


def pruned_copy(model, dead: dict[str, np.ndarray]):
    """The model without its dead channels: a clone with fewer filters, the surviving weights copied."""
    import keras

    keep = {name: ~mask for name, mask in dead.items() if mask.any() and not mask.all()}
    if not keep:
        return model

    def clone(layer):
        config = layer.get_config()
        if layer.name in keep:
            config["filters"] = int(keep[layer.name].sum())
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    # per tensor: (which of its channels survive, what each is wherever its convolution gave zero); None: all
    state: dict[int, tuple] = {}
    for old, new in zip(model.layers, copy.layers):
        inputs = old.input if isinstance(old.input, (list, tuple)) else [old.input]
        channels, value = joined([state.get(id(t), (None, None)) for t in inputs], inputs)
        channels, value, weights = pruned_weights(keras, old, channels, value, keep)
        new.set_weights(weights)
        if old.__class__.__name__ == "Normalization":
            new.finalize_state()  # its mean and variance are read from the weights only here
        state[id(old.output)] = (channels, value)
    return copy


def joined(states: list[tuple], tensors: list) -> tuple:
    """The (channels, value) of the inputs' channels side by side, as a Concatenate on the last axis joins them."""
    if all(channels is None for channels, _ in states):  # the input layer has no inputs
        return None, None
    if len(states) == 1:
        return states[0]
    channels = [np.ones(t.shape[-1], bool) if c is None else c for (c, _), t in zip(states, tensors)]
    values = [np.zeros(t.shape[-1], np.float32) if v is None else v for (_, v), t in zip(states, tensors)]
    return np.concatenate(channels), np.concatenate(values)


def pruned_weights(keras, old, channels, value, keep: dict) -> tuple:
    """(channels, value) of ``old``'s output and its weights for the copy, given its input's."""
    weights = old.get_weights()
    kind = old.__class__.__name__
    if kind == "Conv2D" and weights:
        if channels is not None and np.any(value[~channels]):
            raise ValueError(f"cannot prune into layer {old.name}: a removed channel is not zero there")
        kernel = weights[0] if channels is None else weights[0][:, :, channels, :]
        channels = keep.get(old.name)
        weights = [kernel] + weights[1:] if channels is None else \
            [kernel[..., channels]] + [w[channels] for w in weights[1:]]
        value = None if channels is None else np.zeros(len(channels), np.float32)
    elif kind == "Normalization" and channels is not None:
        if old.get_config().get("mean") is not None and np.size(old.get_config()["mean"]) > 1:
            raise ValueError(f"cannot prune through layer {old.name}: per-channel constants in its config")
        mean, variance = (np.reshape(keras.ops.convert_to_numpy(v), -1) for v in (old.mean, old.variance))
        value = (value - mean) / np.maximum(np.sqrt(variance), keras.config.epsilon())
        weights = [w[..., channels] if w.ndim and w.shape[-1] == len(channels) else w for w in weights]
    elif kind == "Flatten" and channels is not None:
        spatial = int(np.prod(old.input.shape[1:-1]))
        channels, value = np.tile(channels, spatial), np.tile(value, spatial)  # (y, x, c): c fastest
    elif kind == "Dense" and channels is not None:
        kernel, bias = weights[0], weights[1]
        bias = bias + value[~channels] @ kernel[~channels]  # what the removed inputs always added
        weights = [kernel[channels], bias] + weights[2:]
        channels = value = None
    elif kind not in PASS_THROUGH + ("Concatenate",) and channels is not None:
        raise ValueError(f"cannot prune through layer {old.name} ({kind})")
    return channels, value, weights
