"""Training configuration, with the defaults chosen for 28-px handwritten digits on a CPU."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgetl.backbones import get_backbone
from edgetl.model import HeadConfig

SMALL_IMAGE = 32  # images up to this size are upsampled to DIGIT_INPUT_SIZE
# Measured on mnist-5k (bench/README.md): upsampling 28-px digits to 48 px beats padding them
# (98.9% vs 97.2% with a linear probe), and with augmented copies a linear head on block3_pool does as
# well as block4 or a dense head, at two thirds of the compute of the full VGG16.
DIGIT_INPUT_SIZE = 48
SMALL_INPUT_FEATURES = "block3_pool"
SMALL_INPUT_UNITS = 0  # linear head: a dense layer on 9,216 features only overfits 4,000 digits
LARGE_INPUT_UNITS = 256
LARGE_INPUT_FEATURES = "block5_pool"
DIGIT_PASSES = 4  # bench/README.md, "Two passes by default": other writers' digits read better; "The frozen features in
# bfloat16" and "Features scaled once": four fit in the 5-minute target on 2 cores (feature pass in bfloat16, the
# head's scaling once a pass) and read better than three
MAX_PASSES = 4  # each pass is another feature pass over the augmented copies
# A digit reader's head reads VGG16's block2_pool (max-pooled to 6x6) beside block3_pool: finer strokes beside
# coarser shapes (bench/README.md, "block2_pool beside block3_pool").
DIGIT_BESIDE = {("vgg16", "block3_pool"): "block2_pool"}
# A digit reader's head drops the same features for every row of a batch: its 13,824 flattened features drew 885k
# random numbers a step, half the head's fitting time; one mask a batch trains make bench 30% faster and reads other
# writers' digits and the desk clips as well (bench/README.md, "One dropout mask a batch").
DIGIT_DROPOUT_MASK = "batch"
VAL_SPLIT = 0.1
# Digit data that brings its own test split (mnist-5k) is measured on that split; its validation split only decides
# when the head stops and its learning rate falls, and 3% of the training digits does that: with the other 7% trained
# on, make bench's recipe read the desk tune clips 5-24 digits better on two training seeds, other writers and the
# test split within a seed's spread (bench/README.md, "Digits held out to validate").
DIGIT_VAL_SPLIT = 0.03


@dataclass
class TrainConfig:
    data: str = "mnist-5k"
    out: Path = Path("runs/train")
    task: str = "classification"
    backbone: str = "vgg16"
    weights: str = "imagenet"
    input_size: int | None = None  # None: 48 for images up to 32 px, else the image size; >= the backbone's minimum
    fit: str = "resize"  # how images smaller than input_size reach it: "resize" or "pad"
    feature_layer: str | None = None  # None: the backbone's output (vgg16: block3_pool up to 64 px, else block5_pool)
    head: HeadConfig = field(default_factory=HeadConfig)
    epochs: int = 40
    lr: float = 1e-3
    batch_size: int = 64
    patience: int = 6
    freeze: int | None = None  # backbone layers kept frozen; fewer than all enables fine-tuning
    fine_tune_epochs: int = 8
    fine_tune_lr: float = 1e-5
    augment: int = 3  # augmented copies of the training set, computed once through the frozen prefix
    passes: int | None = None  # >1: the linear head fitted on that many passes of other augmented copies, weights
    # averaged; None: DIGIT_PASSES for digit data with a linear head and augmented copies, else 1
    val_split: float | None = None  # None: resolve_val_split's choice (DIGIT_VAL_SPLIT or VAL_SPLIT)
    limit: int | None = None
    desk: float = 0.0  # digit data: training digits cut from rendered desk pages by the runtime's finder, as a fraction
    styles: float = 0.25  # digit data: synthetic styled digits added, as a fraction (bench/writers.py: 0.25 best)
    desk_calibration: int | None = None  # digit data: desk crops of the training digits the class biases are set on;
    # None: resolve_desk_calibration's choice, 0: none (edgetl/desk_calibration.py)
    reject: bool = True  # digit data: an extra "not a digit" class learned from generated clutter crops
    add: tuple[str, ...] = ()  # class-folder trees trained on beside --data (edgetl/data/additions.py)
    seed: int = 0
    overwrite: bool = False
    csv_columns: dict | None = None  # --data x.csv: {"x_col", "y_col", "image_root"} (edgetl/data/table.py)
    features_on_ray: str | None = None  # Ray address ("local": start one) for the frozen prefix pass (features_ray.py)
    feature_precision: str = "auto"  # the frozen prefix pass: "auto" (bfloat16 where the CPU has it), "float32" or
    # "bfloat16" (edgetl/precision.py)
    distribute: str | None = None  # "mirrored": tf.distribute.MirroredStrategy over the visible GPUs (edgetl/distribute.py)

    def __post_init__(self):
        # --add's folders, always a tuple of str: one folder given from Python as a str or Path is a tuple of one
        self.add = (str(self.add),) if isinstance(self.add, (str, Path)) else tuple(str(p) for p in self.add or ())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def resolve_input_size(config: TrainConfig, image_shape) -> int:
    if config.input_size is not None:
        return config.input_size
    side = max(image_shape[0], image_shape[1])
    return max(DIGIT_INPUT_SIZE if side <= SMALL_IMAGE else side, get_backbone(config.backbone).min_size)


def resolve_feature_layer(config: TrainConfig, input_size: int) -> str:
    if config.feature_layer is not None:
        return config.feature_layer
    backbone = get_backbone(config.backbone)
    if backbone.name != "vgg16":
        return backbone.output_layer
    return SMALL_INPUT_FEATURES if input_size <= 64 else LARGE_INPUT_FEATURES


def resolve_passes(config: TrainConfig, digits: bool, units: int) -> int:
    """Passes of augmented copies the head is fitted on (``edgetl.fitting.fit_head``): several only where they
    were measured to help (a digit reader's linear head) and differ (there are augmented copies to redraw)."""
    if config.passes is not None:
        return config.passes
    return DIGIT_PASSES if digits and config.task == "classification" and units == 0 and config.augment else 1


def resolve_val_split(config: TrainConfig, digits: bool, splits) -> float:
    """The share of the training data held out to validate (``--val-split``): DIGIT_VAL_SPLIT for digit data with a
    test split of its own, else VAL_SPLIT, where the validation split is the only held-out measure (the card's
    accuracy, export's int8 gate) and needs its size."""
    if config.val_split is not None:
        return config.val_split
    return DIGIT_VAL_SPLIT if digits and config.task == "classification" and "test" in splits else VAL_SPLIT


def resolve_desk_calibration(config: TrainConfig, digits: bool, n_digits: int) -> int:
    """How many desk crops of the training digits the class biases are set on (``--desk-calibration``): by default
    desk_calibration.CROPS_PER_DIGIT per digit (up to MAX_CROPS) for a digit classifier, 0 for anything else."""
    if not digits or config.task != "classification":
        return 0
    if config.desk_calibration is not None:
        return config.desk_calibration
    from edgetl.desk_calibration import default_crops

    return default_crops(n_digits)


def resolve_units(config: TrainConfig, input_size: int) -> int:
    if config.head.units is not None:
        return config.head.units
    backbone = get_backbone(config.backbone)
    if backbone.head_units is not None:
        return backbone.head_units
    return SMALL_INPUT_UNITS if input_size <= 64 else LARGE_INPUT_UNITS


def resolve_dropout_mask(config: TrainConfig, digits: bool) -> str:
    """How the head's dropout draws its mask (``--dropout-mask``): one a batch for digit data, where it was
    measured, else Keras's own (one a row)."""
    if config.head.dropout_mask is not None:
        return config.head.dropout_mask
    return DIGIT_DROPOUT_MASK if digits else "sample"


def resolve_head(config: TrainConfig, digits: bool, input_size: int, feature_layer: str) -> HeadConfig:
    """``config.head`` with every default chosen: units, pooling, the map beside and the dropout mask."""
    return replace(config.head, units=resolve_units(config, input_size),
                   pool=config.head.pool or get_backbone(config.backbone).head_pool,
                   beside=resolve_beside(config, digits, feature_layer),
                   dropout_mask=resolve_dropout_mask(config, digits))


def resolve_beside(config: TrainConfig, digits: bool, feature_layer: str) -> str | None:
    """The earlier feature layer the head reads beside ``feature_layer`` (``--beside``; "none": none)."""
    if config.head.beside is not None:
        return None if config.head.beside == "none" else config.head.beside
    return DIGIT_BESIDE.get((config.backbone, feature_layer)) if digits else None
