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

CARD_FORMAT = 1
METADATA_KEY = "edgetl.card"
TASKS = ("classification", "regression")
COLOR_ORDERS = ("gray", "bgr")
IMAGE_FITS = ("squash", "center_crop")  # how an image of another shape reaches input_shape (images.fit_to_input)


@dataclass
class ModelCard:
    """What a model expects and what it predicts.

    The model's input is uint8 pixels as OpenCV delivers them (NHWC, BGR or gray) at
    ``input_shape``; everything else (cast, gray to 3 channels, resize, VGG mean subtraction)
    happens inside the model graph, described by ``normalization`` and ``backbone_input``.
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
    normalization: str = "in-graph: gray->3 channels, resize, caffe BGR mean subtraction"
    digits: bool = False  # True when the model reads handwritten digits (MNIST style, white on black)
    reject_class: str | None = None  # a class meaning "not a digit": the runtime drops boxes it is sure of
    reject_threshold: float = 0.99  # ... sure: its probability at least this (chosen on the tune clips and writers TUNE)
    image_fit: str = "squash"  # training squashes images to input_shape; the runtime does what this says
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
        if self.image_fit not in IMAGE_FITS:
            raise UserError(f"model card: image_fit {self.image_fit!r} is not one of {', '.join(IMAGE_FITS)}")
        if self.reject_class is not None and self.reject_class not in self.class_names:
            raise UserError(f"model card: reject_class {self.reject_class!r} is not one of its class_names")

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
        for name in ("metrics", "training"):
            if not isinstance(getattr(self, name), dict):
                fail(name, "an object")
        if self.reject_class is not None and not isinstance(self.reject_class, str):
            fail("reject_class", "a string or null")
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
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in data]
        if missing:
            raise UserError(f"{source}: the model card lacks {', '.join(missing)}; was it written by edgetl?")
        return cls(**{k: v for k, v in data.items() if k in known})

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
