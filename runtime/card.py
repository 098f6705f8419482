"""The model card: the one contract between train, export and run.

Stdlib only, so every stage (and the edge device) can read it. It travels as JSON beside the
Keras model and inside the ONNX file's metadata_props.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError

CARD_FORMAT = 3  # 3: pair_class, whose share a reader must take out of the digits (an older reader would label
# blobs "two digits"); 2: preprocess and resize as fields; 1: prose "normalization", whole-frame fit not recorded
METADATA_KEY = "edgetl.card"
TASKS = ("classification", "regression")
COLOR_ORDERS = ("gray", "bgr")
# resize: how the runtime brings an image of any size to input_shape (images.fit_to_input)
FITS = ("squash", "pad", "center_crop")  # whole image stretched; fitted inside, centred on black; centre cut
INTERPOLATIONS = ("area", "linear", "cubic", "nearest", "lanczos")  # OpenCV's INTER_*
RESIZE_KEYS = ("fit", "shrink", "enlarge")  # shrink / enlarge: the interpolation when the image is larger / not
# What edgetl's training loaders do to folder and CSV images, so what a card without a resize means.
TRAINING_RESIZE = {"fit": "squash", "shrink": "area", "enlarge": "linear"}
# preprocess: what the graph does after its uint8 input (the runtime does none of it)
PREPROCESS_MODES = ("caffe", "tf", "torch", "none")  # keras.applications.imagenet_utils.preprocess_input's modes
PREPROCESS_KEYS = ("mode", "mean", "std", "color", "to_backbone")
TO_BACKBONE = ("none", "bilinear", "pad")  # input_shape to backbone_input inside the graph


@dataclass
class ModelCard:
    """What a model expects and what it predicts.

    The model's input is uint8 pixels as OpenCV delivers them (NHWC, BGR or gray) at ``input_shape``. The
    runtime brings an image there as ``resize`` says, and does nothing else. The graph does the rest, as
    ``preprocess`` records: cast to float, to ``backbone_input`` (``to_backbone``), gray to 3 channels, then
    ``(x - mean) / std`` per channel in BGR order (``mode`` names the keras.applications convention); ``color``
    is the channel order the backbone's weights were made for (rgb: the graph reorders, the input stays BGR).
    """

    task: str
    class_names: list[str]
    input_shape: list[int]  # [height, width, channels] of the model input
    color_order: str  # "gray" or "bgr"
    backbone: str
    weights: str
    backbone_input: list[int]  # [height, width] the backbone sees after in-graph resizing
    feature_layer: str
    input_dtype: str = "uint8"
    preprocess: dict | None = None  # PREPROCESS_KEYS; None: not recorded (a format 1 card, or a hand-made one)
    resize: dict = field(default_factory=lambda: dict(TRAINING_RESIZE))  # RESIZE_KEYS
    digits: bool = False  # True when the model reads handwritten digits (MNIST style, white on black)
    reject_class: str | None = None  # a class meaning "not a digit": the runtime drops boxes it is sure of
    reject_threshold: float = 0.99  # ... sure: its probability at least this (chosen on the tune clips and writers TUNE)
    pair_class: str | None = None  # a class meaning "two digits written into each other": the runtime cuts such blobs
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    quantization: str | None = None
    float_sha256: str | None = None
    edgetl_version: str = ""
    format: int = CARD_FORMAT

    def __post_init__(self):
        self.check_types()
        if self.task not in TASKS:
            raise UserError(f"model card: unknown task {self.task!r}; expected one of {TASKS}")
        if self.color_order not in COLOR_ORDERS:
            raise UserError(f"model card: unknown color_order {self.color_order!r}")
        if len(self.input_shape) != 3:
            raise UserError(f"model card: input_shape must be [H, W, C], got {self.input_shape}")
        self.resize = {**TRAINING_RESIZE, **self.resize}
        check_choices("resize", self.resize, RESIZE_KEYS,
                      {"fit": FITS, "shrink": INTERPOLATIONS, "enlarge": INTERPOLATIONS})
        if self.preprocess is not None:
            check_preprocess(self.preprocess)
        for name in ("reject_class", "pair_class"):
            if getattr(self, name) is not None and getattr(self, name) not in self.class_names:
                raise UserError(f"model card: {name} {getattr(self, name)!r} is not one of its class_names")

    def check_types(self) -> None:
        """Field types, so a hand-edited card fails here with its name rather than later with a TypeError."""
        def fail(name: str, expected: str):
            raise UserError(f"model card: {name} must be {expected}, got {getattr(self, name)!r}")

        if not isinstance(self.task, str):
            fail("task", "a string")
        if not isinstance(self.class_names, list) or not all(isinstance(n, str) for n in self.class_names):
            fail("class_names", "a list of strings")
        if (not isinstance(self.input_shape, list)
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in self.input_shape)):
            fail("input_shape", "[height, width, channels] as positive integers")
        if not isinstance(self.color_order, str):
            fail("color_order", "a string")
        for name in ("metrics", "training", "resize"):
            if not isinstance(getattr(self, name), dict):
                fail(name, "an object")
        if self.preprocess is not None and not isinstance(self.preprocess, dict):
            fail("preprocess", "an object or null")
        for name in ("reject_class", "pair_class"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                fail(name, "a string or null")
        if not (isinstance(self.reject_threshold, (int, float)) and 0.0 < self.reject_threshold <= 1.0):
            fail("reject_threshold", "a number in (0, 1]")

    @property
    def height(self) -> int:
        return int(self.input_shape[0])

    @property
    def width(self) -> int:
        return int(self.input_shape[1])

    @property
    def channels(self) -> int:
        return int(self.input_shape[2])

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "card") -> "ModelCard":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{source}: the model card is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise UserError(f"{source}: the model card is not a JSON object; was it written by edgetl?")
        made = data.get("format", CARD_FORMAT)
        if not isinstance(made, int) or isinstance(made, bool):
            raise UserError(f"{source}: model card format {made!r} is not a whole number; was it written by edgetl?")
        if made > CARD_FORMAT:
            raise UserError(f"{source}: model card format {made!r} was made by a newer edgetl (this one reads "
                            f"format {CARD_FORMAT} and older); upgrade: pip install -U edgetl")
        if made < 2:
            data = from_format_1(data)
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in data]
        if missing:
            raise UserError(f"{source}: the model card lacks {', '.join(missing)}; was it written by edgetl?")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None

    def save(self, path: str | Path) -> None:
        from ._io import atomic_write_text

        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "ModelCard":
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: no model card here; pass a run directory made by `edgetl train`")
        return cls.from_json(path.read_text(), source=str(path))

    def to_metadata(self) -> dict[str, str]:
        """ONNX metadata_props entries (string to string)."""
        return {METADATA_KEY: self.to_json(), "edgetl.version": self.edgetl_version}

    @classmethod
    def from_metadata(cls, props: dict[str, str], source: str) -> "ModelCard":
        if METADATA_KEY not in props:
            raise UserError(f"{source}: no edgetl model card in the ONNX metadata; "
                            "export it with `edgetl export` (foreign ONNX files are not supported)")
        return cls.from_json(props[METADATA_KEY], source=source)


def check_choices(name: str, record: dict, keys: tuple, choices: dict) -> None:
    """Each key of ``record`` known, and each value of ``choices``' keys one of them; the first fault named."""
    unknown = [key for key in record if key not in keys]
    if unknown:
        raise UserError(f"model card: {name} has unknown key {unknown[0]!r}; known: {', '.join(keys)}")
    for key, valid in choices.items():
        if record.get(key) not in valid:
            raise UserError(f"model card: {name}.{key} {record.get(key)!r} is not one of {', '.join(valid)}")


def check_preprocess(record: dict) -> None:
    missing = [key for key in PREPROCESS_KEYS if key not in record]
    if missing:
        raise UserError(f"model card: preprocess lacks {', '.join(missing)}")
    check_choices("preprocess", record, PREPROCESS_KEYS,
                  {"mode": PREPROCESS_MODES, "color": ("bgr", "rgb"), "to_backbone": TO_BACKBONE})
    for key in ("mean", "std"):
        values = record[key]
        if (not isinstance(values, list) or len(values) != 3
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
                or (key == "std" and not all(v > 0 for v in values))):
            raise UserError(f"model card: preprocess.{key} must be 3 numbers (B, G, R){', each > 0' * (key == 'std')}, "
                            f"got {values!r}")


def from_format_1(data: dict) -> dict:
    """A format 1 card as format 2: images squashed as training did (what Model.predict always did; only
    `run --whole-frame` centre-cropped, unlike training), the in-graph preprocessing not recorded (it was prose)."""
    fit = data.get("image_fit", "squash")  # briefly written by format 1 cards
    data = {k: v for k, v in data.items() if k not in ("normalization", "image_fit", "preprocess", "resize")}
    return {**data, "resize": {**TRAINING_RESIZE, "fit": fit}, "format": CARD_FORMAT}
