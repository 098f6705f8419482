"""Fitting the trainable suffix on the frozen prefix's output, computed once (and for a few augmented copies).

``fit_head`` can fit the head on several passes: the same training images with other random transforms, a
head from fresh weights on each, and their weights averaged into the one linear head the model keeps. On
``make bench``'s digits (``bench/head_spread.py --passes 4``) a single head's seed moves other writers' digits
by 3 points; heads averaged over two passes read them 1.4 points better with a third of the spread (four
passes: 2 points, a fifth of it). With the feature pass in bfloat16 (edgetl/precision.py) and the features scaled
once a pass rather than in every epoch, four fit in the time two took, and are a digit reader's default
(``config.DIGIT_PASSES``). A later pass computes only the augmented copies again; the images' own rows and the
validation rows are kept.
"""
from __future__ import annotations

import logging

import numpy as np

from edgetl.config import TrainConfig
from edgetl.features import FeatureFile, batches_from_disk, extract
from edgetl.model import Chain
from edgetl.progress import epoch_callback
from edgetl.runtime.errors import UserError

log = logging.getLogger("edgetl")
_TOLD: set = set()  # rows_for_replicas' log lines already given

# Training steps per call into TensorFlow: a linear head's step is a few small matrix products, and Keras's work
# around each call was most of its time. 64 steps a call fit make bench's head 1.5x faster (2.3-2.4 -> 1.4-1.7 s an
# epoch of 20,160 rows on 2 cores) with bit-identical weights (the same seeds, 1 or 64 steps a call). Not under
# MirroredStrategy: Keras 3.15's multi-step loop over a distributed iterator fails there ("You must feed a value
# for placeholder tensor", keras-team/keras#19246, open; still so with every batch split evenly), so several replicas
# keep one step a call.
STEPS_PER_CALL = 64
PASS_SEED = 7919  # pass p augments copy c with seed + p * PASS_SEED + c: no two passes share a transform


def fit_head(keras, chain: Chain, cut: int, train, val, config: TrainConfig, n_replicas: int = 1) -> list[dict]:
    """Fit the head (the units from ``cut``, after the whole frozen backbone) on the prefix's output. With
    ``config.passes`` > 1, once per pass, each from fresh weights (a clone of the chain's head) and scaling the
    features as the first does, and the chain's head set to the average of their weights: a linear head's
    average is its heads' average logits."""
    (x_train, y_train), (x_val, y_val) = train, val
    chain.set_trainable_from(cut)
    prefix = chain.prefix(cut)
    suffix = chain.suffix(cut, prefix.output_shape[1:])
    feats = extract(prefix, {"train": x_train, "val": x_val}, {"train": config.augment}, config.seed,
                    config.features_on_ray, precision=config.feature_precision)
    sample = norm_sample(feats["train"])
    in_memory = not isinstance(feats["train"], FeatureFile)
    history, weights = [], []
    for p in range(config.passes):
        if p:  # the same images and validation rows: only the augmented copies are drawn again, in place
            extract(prefix, {"train": x_train}, {"train": config.augment}, config.seed + p * PASS_SEED,
                    config.features_on_ray, redraw=feats, precision=config.feature_precision)
        model = suffix if p == 0 else keras.models.clone_model(suffix)  # same layers, fresh weights
        adapt_feature_norm(model.layers[1], sample, chain.feature_parts)
        if in_memory:  # the rows this pass computed, scaled once here rather than in every epoch
            normalise_in_place(keras, feats["train"][len(x_train) if p else 0:], model.layers[1])
            if p == 0:
                normalise_in_place(keras, feats["val"], model.layers[1])
        stage = "head" if config.passes == 1 else f"head, pass {p + 1}"
        history += fit_on_features(keras, model, feats, y_train, y_val, config, stage, config.lr, config.epochs,
                                   n_replicas, normalised=in_memory)
        weights.append(model.get_weights())
    if len(weights) > 1:
        suffix.set_weights([np.mean(values, axis=0) for values in zip(*weights)])
    return history


def fit_suffix(keras, chain: Chain, cut: int, train, val, config: TrainConfig, stage: str, lr: float,
               epochs: int, frozen: int | None = None, n_replicas: int = 1) -> list[dict]:
    """Compute the prefix output once, then fit the layers after ``cut`` on it (but the first ``frozen``
    backbone layers, and BatchNorm layers, which stay frozen in inference mode). With several replicas the
    global batch is ``batch_size x n_replicas``."""
    (x_train, y_train), (x_val, y_val) = train, val
    chain.set_trainable_from(cut, frozen)
    prefix = chain.prefix(cut)
    feats = extract(prefix, {"train": x_train, "val": x_val}, {"train": config.augment}, config.seed,
                    config.features_on_ray, precision=config.feature_precision)
    suffix = chain.suffix(cut, prefix.output_shape[1:])
    return fit_on_features(keras, suffix, feats, y_train, y_val, config, stage, lr, epochs, n_replicas)


def fit_on_features(keras, suffix, feats: dict, y_train, y_val, config: TrainConfig, stage: str, lr: float,
                    epochs: int, n_replicas: int = 1, normalised: bool = False) -> list[dict]:
    """Fit ``suffix`` on the prefix's output: ``feats["train"]`` (the training set, then its augmented copies)
    and ``feats["val"]``; the history rows. ``normalised``: the features have been through the suffix's adapted
    feature normalisation already (``normalise_in_place``), and only the layers after it are fitted."""
    y_rep = np.tile(y_train, 1 + config.augment)
    if normalised:
        suffix = after_first_layer(keras, suffix)  # the same layer objects: fitting it fits the suffix
    regression = config.task == "regression"
    suffix.compile(optimizer=keras.optimizers.Adam(lr),
                   loss="mse" if regression else "sparse_categorical_crossentropy",
                   metrics=["mae" if regression else "accuracy"],
                   steps_per_execution=STEPS_PER_CALL if n_replicas == 1 else 1)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2, min_lr=lr / 100),
        epoch_callback(keras, stage, epochs),
    ]
    batch = config.batch_size * n_replicas
    (x_fit, y_fit), (x_val, y_val) = (rows_for_replicas(x, y, n_replicas, name) for x, y, name in
                                      ((feats["train"], y_rep, "training"), (feats["val"], y_val, "validation")))
    if isinstance(x_fit, FeatureFile):  # features too large for memory: read from their file per batch
        hist = suffix.fit(batches_from_disk(keras, x_fit, y_fit, batch, True, config.seed),
                          validation_data=batches_from_disk(keras, x_val, y_val, batch, False, config.seed),
                          epochs=epochs, callbacks=callbacks, verbose=0)
    else:
        hist = suffix.fit(x_fit, y_fit, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch,
                          shuffle=True, callbacks=callbacks, verbose=0)
    rows = [dict(zip(hist.history, values)) for values in zip(*hist.history.values())]
    return [{"stage": stage, "epoch": i + 1, **{k: float(v) for k, v in row.items()}} for i, row in enumerate(rows)]


def rows_for_replicas(x, y, n_replicas: int, name: str):
    """``x`` and ``y`` less their last rows that would leave a replica a batch without rows (at most
    ``n_replicas`` - 1). Under MirroredStrategy every batch is split over the replicas, and Keras stops on a batch
    that splits unevenly when it is a fit's first ("Inputs to operation AddN ... must have the same size": 7
    validation rows on 2 replicas), or when a replica gets none of it and the model convolves (oneDNN: "input depth
    must be evenly divisible by filter depth: 64 vs 128": a last batch of 1 row). With as many rows as a multiple of
    the replicas and a global batch that is one too, every batch splits evenly. One device: all rows."""
    keep = len(y) - len(y) % n_replicas
    if keep == 0 and len(y):
        raise UserError(f"--distribute mirrored: {len(y)} {name} row(s) for {n_replicas} replicas; every replica "
                        "needs at least one: use fewer devices (EDGETL_CPU_REPLICAS or CUDA_VISIBLE_DEVICES) or "
                        "more data")
    if keep < len(y) and (told := (len(y), name, n_replicas)) not in _TOLD:  # once, not once a pass
        _TOLD.add(told)
        log.info("--distribute mirrored: %d of %d %s rows left out so every batch splits evenly over %d replicas",
                 len(y) - keep, len(y), name, n_replicas)
    return (x if isinstance(x, FeatureFile) else x[:keep]), y[:keep]  # a FeatureFile is read for y's rows


def after_first_layer(keras, suffix):
    """A model of ``suffix``'s layers after its first (a chain), fed what that layer outputs."""
    inp = keras.Input(tuple(suffix.layers[1].output.shape[1:]))
    out = inp
    for layer in suffix.layers[2:]:
        out = layer(out)
    return keras.Model(inp, out)


def normalise_in_place(keras, features: np.ndarray, norm) -> None:
    """``features`` through the adapted Normalization layer ``norm``, computed as it does, in place. Once per pass
    instead of once per epoch: in the fit, the scaling touched every feature again each epoch and cost a fifth of
    make bench's head fit (bench/README.md, "Features scaled once")."""
    ops = keras.ops
    features -= ops.convert_to_numpy(norm.mean)
    features /= ops.convert_to_numpy(ops.maximum(ops.sqrt(norm.variance), keras.config.epsilon()))


def norm_sample(features) -> np.ndarray:
    """The rows of the training features a head's normalisation learns its mean and variance from."""
    return np.array(features[:: max(1, len(features) // adapt_rows(features))])  # a copy: not a view of them all


def adapt_rows(features) -> int:
    """Rows the feature normalisation learns its mean and variance from: 2,000, or fewer when they would
    take more than 256 MB (7x7x1280 MobileNetV2 features: 1,069)."""
    row_bytes = 4 * int(np.prod(features.shape[1:]))
    return max(1, min(2000, (256 << 20) // row_bytes))


def adapt_feature_norm(layer, sample: np.ndarray, parts: list[int] | None) -> None:
    """The head's feature normalisation learns from ``sample``: one mean and variance for the whole map, or with
    ``parts`` (channel counts of maps side by side, the layer normalising per channel) one for each map's
    channels. Per channel would amplify channels of tiny range and their int8 noise (model.head_layers)."""
    if parts is None:
        layer.adapt(sample)
        return
    if sum(parts) != sample.shape[-1]:
        raise ValueError(f"feature maps of {parts} channels, features of {sample.shape[-1]}")
    bounds = np.cumsum([0] + list(parts))
    stats = [(sample[..., a:b].mean(dtype=np.float64), sample[..., a:b].var(dtype=np.float64))
             for a, b in zip(bounds, bounds[1:])]
    layer.adapt_mean.assign(np.repeat([m for m, _ in stats], parts).astype(np.float32))
    layer.adapt_variance.assign(np.repeat([v for _, v in stats], parts).astype(np.float32))
    layer.finalize_state()
