"""edgetl train: a pretrained backbone, frozen, with a new head; optionally fine-tune its top.

Frozen layers are never recomputed per epoch: the frozen prefix runs once over the data (and a
few augmented copies), and only the trainable suffix is fitted on its output. The layers are
shared, so the saved model is one whole Keras model from uint8 pixels to prediction.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from edgetl import __version__
from edgetl._deps import import_keras
from edgetl.backbones import check_weights, get_backbone

from edgetl.config import (MAX_PASSES, TrainConfig, resolve_desk_calibration, resolve_feature_layer, resolve_head,
                           resolve_input_size, resolve_passes, resolve_units, resolve_val_split)
from edgetl.data import Dataset, load_dataset
from edgetl.data.additions import check_add_folders, with_additions
from edgetl.data.split import strata, stratified_limit, stratified_split
from edgetl.digit_extras import PAIR_CLASS, REJECT_CLASS, extend_digits
from edgetl.distribute import check_strategy, make_strategy, replicas, scope
from edgetl.features import feature_batch
from edgetl.fitting import fit_head, fit_suffix
from edgetl.model import DROPOUT_MASKS, build_chain, check_beside
from edgetl.precision import check_precision, resolved_precision
from edgetl.rundir import check_out_dir, write_run
from edgetl.runtime.card import TASKS, ModelCard
from edgetl.runtime.errors import UserError
from edgetl.runtime.metrics import report

log = logging.getLogger(__name__)


def validate(config: TrainConfig, image_shape=None) -> None:
    """Everything that can be checked before loading data or TensorFlow (with ``image_shape``: the checks that
    need the data's image size, made once it is loaded, still before TensorFlow)."""
    max_input_size, max_units = 1024, 16384
    backbone = get_backbone(config.backbone)
    if image_shape is None:
        check_weights(backbone, config.weights)
        if config.task not in TASKS:
            raise UserError(f"--task {config.task}: valid: {', '.join(TASKS)}")
        if config.fit not in ("resize", "pad"):
            raise UserError(f"--fit {config.fit}: valid: resize, pad")
        if config.feature_layer is not None and config.feature_layer not in backbone.feature_layers:
            raise UserError(f"--feature-layer {config.feature_layer}: valid: {', '.join(backbone.feature_layers)}")
        check_precision(config.feature_precision, config.features_on_ray)

        def whole(option: str, value, low: int, what: str = "") -> None:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise UserError(f"{option} {value}: must be a whole number >= {low}{what}")

        def positive(option: str, value: float) -> None:
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise UserError(f"{option} {value}: must be a number > 0, e.g. {option} 0.001")

        whole("--epochs", config.epochs, 1)
        whole("--fine-tune-epochs", config.fine_tune_epochs, 1)
        whole("--batch-size", config.batch_size, 1)
        whole("--augment", config.augment, 0, " (0: no augmented copies)")
        whole("--passes", config.passes, 1, " (1: one pass)")
        if config.passes is not None and config.passes > MAX_PASSES:
            raise UserError(f"--passes {config.passes}: at most {MAX_PASSES} (each pass is another "
                            "frozen-feature pass)")
        whole("--units", config.head.units, 0, " (0: a linear head)")
        whole("--limit", config.limit, 1, " (leave it out to train on everything)")
        whole("--seed", config.seed, 0)
        whole("--desk-calibration", config.desk_calibration, 0, " (0: no desk calibration)")
        whole("--patience", config.patience, 1)
        if config.seed >= 2 ** 32:
            raise UserError(f"--seed {config.seed}: must be below 2**32 ({2 ** 32})")
        if config.head.units is not None and config.head.units > max_units:
            raise UserError(f"--units {config.head.units}: at most {max_units} (a wider head only overfits and "
                            "may not fit in memory)")
        if config.input_size is not None:
            if isinstance(config.input_size, int) and not isinstance(config.input_size, bool) and \
                    0 < config.input_size < backbone.min_size:
                raise UserError(f"--input-size {config.input_size}: {backbone.name} needs at least "
                                f"{backbone.min_size} px (Keras's minimum for it); valid: "
                                f"{backbone.min_size}..{max_input_size}")
            if not isinstance(config.input_size, int) or not backbone.min_size <= config.input_size <= max_input_size:
                raise UserError(f"--input-size {config.input_size}: {backbone.name} needs at least "
                                f"{backbone.min_size} px and edgetl allows at most {max_input_size} px "
                                "(larger inputs exhaust memory); valid: "
                                f"{backbone.min_size}..{max_input_size}")
        if not (isinstance(config.head.dropout, (int, float)) and 0.0 <= config.head.dropout < 1.0):
            raise UserError(f"--dropout {config.head.dropout}: must be in [0, 1), e.g. 0.3 (0: no dropout)")
        if config.head.dropout_mask not in (None, *DROPOUT_MASKS):
            raise UserError(f"--dropout-mask {config.head.dropout_mask}: must be one of {', '.join(DROPOUT_MASKS)}")
        if config.val_split is not None and not (isinstance(config.val_split, (int, float))
                                                 and 0.0 < config.val_split < 1.0):
            raise UserError(f"--val-split {config.val_split}: must be between 0 and 1 (exclusive), e.g. 0.1")
        for option, value in (("--styles", config.styles), ("--desk", config.desk)):
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 5.0):
                raise UserError(f"{option} {value}: must be in [0, 5] (a fraction of the training set)")
        positive("--lr", config.lr)
        check_strategy(config.distribute)
        check_add_folders(config.add, config.task)
        if config.csv_columns and not str(config.data).lower().endswith(".csv"):
            raise UserError(f"--{next(iter(config.csv_columns)).replace('_', '-')}: only with --data x.csv "
                            f"(--data is {config.data})")
        if config.features_on_ray is not None:  # before any data or TensorFlow: Ray missing or unreachable
            from edgetl.ray_session import check_reachable, import_ray

            import_ray("--features-on-ray")
            check_reachable(config.features_on_ray, "--features-on-ray")
        positive("--fine-tune-lr", config.fine_tune_lr)
    feature_layer = config.feature_layer
    if feature_layer is None and (config.input_size is not None or image_shape is not None):
        size = config.input_size if image_shape is None else resolve_input_size(config, image_shape)
        feature_layer = resolve_feature_layer(config, size)
    if feature_layer is not None and config.head.beside not in (None, "none"):
        check_beside(backbone, feature_layer, config.head.beside)
    if image_shape is not None and config.passes is not None and config.passes > 1:
        units = resolve_units(config, resolve_input_size(config, image_shape))
        if units:
            raise UserError(f"--passes {config.passes}: averages linear heads, and this head has {units} units; "
                            "add --units 0 or leave --passes at 1")
    if image_shape is not None and config.fit == "pad":
        size = resolve_input_size(config, image_shape)
        if max(image_shape[:2]) > size:
            raise UserError(f"--fit pad: images are {image_shape[0]}x{image_shape[1]}, larger than --input-size "
                            f"{size}; use --fit resize or --input-size {max(image_shape[:2])}")
    if config.freeze is not None:
        # --freeze counts the backbone's layers after its input, as Keras lists them (base_model.layers[1:N + 1])
        cut_at = feature_layer if feature_layer in backbone.feature_layers else backbone.output_layer
        most, nothing = backbone.feature_layers[cut_at], backbone.frozen_all[cut_at]
        if isinstance(config.freeze, bool) or not isinstance(config.freeze, int) or config.freeze < 0 or \
                config.freeze > most:
            cut = f" cut after {feature_layer}" if feature_layer else ""
            raise UserError(f"--freeze {config.freeze}: valid: 0..{most} (the {backbone.name} backbone{cut} has "
                            f"{most} layers; {nothing} or more freezes every layer with weights: fine-tunes "
                            "nothing)")
    if image_shape is None:
        check_out_dir(Path(config.out), config.overwrite, config.data)
        from edgetl.evaluate import nonfinite_arrays

        nonfinite = nonfinite_arrays(config.data)
        if nonfinite:
            raise UserError(f"--data {config.data}: {nonfinite}; fix or drop them")


def split_data(dataset: Dataset, config: TrainConfig):
    """(train, val) after --limit, with every class present in both: a class that cannot be validated (one
    sample) or a dataset with one class is refused, not trained on."""
    validate(config, dataset.image_shape)
    x, y = dataset.split("train")
    classification = config.task == "classification"

    def name_of(label) -> str:
        names = dataset.class_names
        return repr(names[int(label)]) if 0 <= int(label) < len(names) else str(label)

    if classification and len(np.unique(y)) < 2:
        raise UserError(f"--data {config.data}: every training sample is class {name_of(y[0])}; a classifier "
                        "needs examples of at least 2 classes")
    if not classification and len(y) < 2:
        raise UserError(f"--data {config.data}: has {len(y)} sample; regression needs at least 2 "
                        "(one to train, one to validate)")
    if config.limit is not None:
        keep = stratified_limit(strata(y, config.task), config.limit, config.seed)
        x, y = x[keep], y[keep]
    if "val" in dataset.splits:
        return (x, y), dataset.splits["val"]
    if classification:
        labels, counts = np.unique(y, return_counts=True)
        lonely = [name_of(label) for label, n in zip(labels, counts) if n < 2]
        if lonely:
            after = f" after --limit {config.limit}" if config.limit is not None else ""
            which = f"class {lonely[0]} has" if len(lonely) == 1 else f"classes {', '.join(lonely[:5])} have"
            raise UserError(f"--data {config.data}: {which} a single sample{after}; "
                            "each class needs at least 2 (one to train, one to validate): add images"
                            f"{', raise --limit' if after else ''} or remove the class")
    train, val = stratified_split(strata(y, config.task), resolved_val_split(dataset, config), config.seed)
    if len(val) == 0 or len(train) == 0:
        raise UserError(f"--data {config.data}: {len(y)} samples leave nothing to validate on; add samples")
    return (x[train], y[train]), (x[val], y[val])


def resolved_val_split(dataset: Dataset, config: TrainConfig) -> float:
    return resolve_val_split(config, dataset.digits, dataset.splits)


def held_out_record(dataset: Dataset, config: TrainConfig) -> dict:
    """Which samples training kept out (as split_data draws them), for the card: export's int8 gate then scores
    exactly those, never a training image (a fresh 10% draw over all the data could, after --limit)."""
    for split in ("test", "val"):
        if split in dataset.splits:
            return {"split": split}
    y = dataset.split("train")[1]
    keep = np.arange(len(y)) if config.limit is None else \
        stratified_limit(strata(y, config.task), config.limit, config.seed)
    _, val = stratified_split(strata(y[keep], config.task), resolved_val_split(dataset, config), config.seed)
    return {"split": "train", "indices": sorted(int(i) for i in keep[val]), "of": int(len(y))}


def target_stats(task: str, y: np.ndarray) -> tuple[float, float]:
    """(mean, std) of the training values for regression (std 1 when they are all equal); (0, 1) otherwise."""
    if task != "regression":
        return 0.0, 1.0
    std = float(np.std(y))
    return float(np.mean(y)), std if std > 0 else 1.0


def predict(model, x: np.ndarray, batch: int | None = None) -> np.ndarray:
    """Outputs a batch at a time (folders: read from disk per batch), as many images per call as the
    frozen-feature pass takes at this size: 256 images at 224 px would hold 3.5 GB of activations."""
    batch = batch or feature_batch(x.shape[1:])
    return np.concatenate([model.predict_on_batch(x[i:i + batch]) for i in range(0, len(x), batch)])


def train(config: TrainConfig) -> Path:
    """Train on ``config.data``; write the run directory ``config.out`` and return it."""
    validate(config)
    started = time.perf_counter()
    dataset = load_dataset(config.data, config.task, config.input_size, config.csv_columns)
    for path, reason in dataset.skipped:
        log.warning("skipped %s: %s", path, reason)
    train_set, val_set = split_data(dataset, config)
    own_digits = train_set  # before the styled digits and clutter: the desk calibration writes only these
    train_set, val_set, class_names = extend_digits(train_set, val_set, dataset, config)
    train_set = with_additions(train_set, config.add, class_names, config.data)
    input_size = resolve_input_size(config, dataset.image_shape)
    feature_layer = resolve_feature_layer(config, input_size)
    backbone = get_backbone(config.backbone)
    fine_tune = config.freeze is not None and config.freeze < backbone.frozen_all[feature_layer]
    if config.freeze is not None and not fine_tune:
        log.warning("--freeze %d freezes every %s layer with weights up to %s (BatchNorm layers never train): "
                    "nothing to fine-tune, only the head is trained; --freeze %d or less fine-tunes",
                    config.freeze, backbone.name, feature_layer, backbone.frozen_all[feature_layer] - 1)
    strategy = make_strategy(config.distribute)  # before TensorFlow places any op
    keras = import_keras()
    keras.utils.set_random_seed(config.seed)
    n_out = 1 if config.task == "regression" else len(class_names)
    head = resolve_head(config, dataset.digits, input_size, feature_layer)
    config = dataclasses.replace(config, passes=resolve_passes(config, dataset.digits, head.units),
                                 feature_precision=resolved_precision(config))
    with scope(strategy):  # variables made here are mirrored on every replica
        chain = build_chain(keras, dataset.image_shape, backbone, config.weights, input_size, config.fit,
                            feature_layer, n_out, config.task, head, target_stats(config.task, train_set[1]))
        history = fit_head(keras, chain, chain.cut_after_frozen(chain.n_backbone), train_set, val_set, config,
                           n_replicas=replicas(strategy))
        if fine_tune:
            history += fit_suffix(keras, chain, chain.cut_after_frozen(config.freeze), train_set, val_set, config,
                                  "fine-tune", config.fine_tune_lr, config.fine_tune_epochs, config.freeze,
                                  n_replicas=replicas(strategy))
    model = chain.model()
    desk_record = calibrate(model, own_digits, class_names, dataset, config)
    metrics = {"val": report(config.task, val_set[1], predict(model, val_set[0]), class_names)}
    if "test" in dataset.splits:
        x_test, y_test = dataset.splits["test"]
        metrics["test"] = report(config.task, y_test, predict(model, x_test), class_names)
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    card = make_card(config, dataset, class_names, input_size, feature_layer, metrics, len(train_set[1]), head,
                     chain.preprocess)
    card.training["desk_calibration"] = desk_record
    return write_run(Path(config.out), model, card, history, metrics, dataset, config)


def calibrate(model, own_digits, class_names: list[str], dataset: Dataset, config: TrainConfig) -> dict:
    """The digit reader's class biases set on desk crops of its own training digits (edgetl/desk_calibration.py);
    what the card records."""
    n_crops = resolve_desk_calibration(config, dataset.digits, len(own_digits[1]))
    if config.desk_calibration and not n_crops:
        log.warning("--desk-calibration %d: only for digit classification data; not used", config.desk_calibration)
    if not n_crops:
        return {"crops": 0}
    from edgetl.desk_calibration import calibrate_for_desk

    return calibrate_for_desk(model, own_digits[0], own_digits[1], class_names, n_crops, config.seed, predict)


def make_card(config: TrainConfig, dataset: Dataset, class_names: list[str], input_size: int, feature_layer: str,
              metrics: dict, n_train: int, head, preprocess: dict | None = None) -> ModelCard:
    summary = {split: {k: v for k, v in m.items() if k in ("accuracy", "mae", "rmse", "n")}
               for split, m in metrics.items() if isinstance(m, dict)}
    return ModelCard(
        task=config.task, class_names=class_names, input_shape=list(dataset.image_shape),
        color_order=dataset.color_order, backbone=config.backbone, weights=config.weights,
        preprocess=preprocess,  # the images are resized as card.TRAINING_RESIZE, the card's default resize
        backbone_input=[input_size, input_size], feature_layer=feature_layer, digits=dataset.digits,
        reject_class=REJECT_CLASS if REJECT_CLASS in class_names else None,
        pair_class=PAIR_CLASS if PAIR_CLASS in class_names else None,
        metrics=summary, edgetl_version=__version__,
        training={"data": config.data, "n_train": n_train, "fit": config.fit, "augment": config.augment,
                  "epochs": config.epochs, "passes": config.passes, "freeze": config.freeze, "seed": config.seed, "styles": config.styles,
                  "desk": config.desk, "add": list(config.add),
                  "distribute": config.distribute, "features_on_ray": config.features_on_ray,
                  "feature_precision": config.feature_precision,
                  "heldout": held_out_record(dataset, config), "val_split": resolved_val_split(dataset, config),
                  "csv": config.csv_columns,
                  "preprocessing": get_backbone(config.backbone).preprocessing,
                  "head": dataclasses.asdict(head)},
    )
