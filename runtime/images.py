"""Decoding and conforming images to a model card's input contract (numpy + OpenCV only)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .card import TRAINING_RESIZE

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_image(path: str | Path) -> np.ndarray | None:
    """Read an image file as uint8 gray (H, W) or BGR (H, W, 3); None if it is not a readable image.

    16-bit images are scaled to 8 bits; alpha is composited over white; palette images arrive as BGR.
    The file is only read, never rewritten.
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return None
    return normalize_decoded(image)


def normalize_decoded(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return image


def is_gray(image: np.ndarray) -> bool:
    """True for single-channel images and for colour images whose three channels are equal."""
    if image.ndim == 2:
        return True
    return bool(np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(image[:, :, 1], image[:, :, 2]))


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Gray (H, W) or BGR (H, W, 3) to (H, W, channels)."""
    if channels == 1:
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return image[:, :, None]
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


# cv2 flags for the card's resize interpolations (card.INTERPOLATIONS)
INTERPOLATION_FLAGS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
                       "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}


def fit_image(image: np.ndarray, height: int, width: int, channels: int) -> np.ndarray:
    """One image to the model's uint8 (height, width, channels), as training does (card.TRAINING_RESIZE: the whole
    image squashed, INTER_AREA when shrinking, no aliasing; INTER_LINEAR when enlarging)."""
    return fit_to_shape(image, (height, width, channels))


def fit_batch(images, height: int, width: int, channels: int) -> np.ndarray:
    """A sequence of images (or an N-D array) to a uint8 batch (N, height, width, channels)."""
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape[1:] == (height, width, channels):
        return images
    return np.stack([fit_image(np.asarray(im), height, width, channels) for im in images])


def centre_box(shape, aspect: float) -> list[int]:
    """The largest centred box of the given aspect ratio (width / height) inside an image of ``shape``."""
    h, w = shape[:2]
    bw, bh = (w, int(w / aspect)) if w / h < aspect else (int(h * aspect), h)
    return [(w - bw) // 2, (h - bh) // 2, bw, bh]


def fit_box(shape, card) -> list[int]:
    """x, y, w, h: the part of an image of ``shape`` that reaches the model under the card's ``resize.fit``: the
    largest centred box of the input's aspect ratio (center_crop), else all of it (squash, pad)."""
    if card.resize["fit"] == "center_crop":
        return centre_box(shape, card.width / card.height)
    return [0, 0, int(shape[1]), int(shape[0])]


def scaled(image: np.ndarray, height: int, width: int, resize: dict) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    shrink = image.shape[0] > height or image.shape[1] > width
    flag = INTERPOLATION_FLAGS[resize["shrink"] if shrink else resize["enlarge"]]
    return cv2.resize(image, (width, height), interpolation=flag)


def letterboxed(image: np.ndarray, height: int, width: int, resize: dict) -> np.ndarray:
    """Scaled to fit inside (height, width) keeping its aspect ratio, centred on black."""
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    nh, nw = min(height, max(1, round(h * scale))), min(width, max(1, round(w * scale)))
    top, left = (height - nh) // 2, (width - nw) // 2
    return cv2.copyMakeBorder(scaled(image, nh, nw, resize), top, height - nh - top, left, width - nw - left,
                              cv2.BORDER_CONSTANT, value=0)


def fit_to_shape(image: np.ndarray, shape, resize: dict = TRAINING_RESIZE) -> np.ndarray:
    """Gray or BGR pixels of any size and depth to uint8 ``shape`` (height, width, channels) by ``resize``
    ({"fit": squash | pad | center_crop, "shrink": interpolation, "enlarge": interpolation}, see card.py)."""
    height, width, channels = (int(v) for v in shape)
    image = normalize_decoded(np.asarray(image))
    if resize["fit"] == "pad":
        image = letterboxed(image, height, width, resize)
    else:
        if resize["fit"] == "center_crop":
            x, y, w, h = centre_box(image.shape, width / height)
            image = image[y:y + h, x:x + w]
        image = scaled(image, height, width, resize)
    return convert_channels(image, channels)


def fit_to_input(image: np.ndarray, card) -> np.ndarray:
    """One image to the model's input as its card says (input_shape, color_order's channels, resize): the one
    rule that Model.predict, `edgetl run`, predict, evaluate, export and training's loaders all apply."""
    return fit_to_shape(image, card.input_shape, card.resize)


def fit_all(images, card) -> np.ndarray:
    """Images (a list, or an array already at the input shape, passed through) to one uint8 input batch."""
    shape = (card.height, card.width, card.channels)
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape[1:] == shape:
        return images
    if len(images) == 0:
        return np.zeros((0, *shape), np.uint8)
    return np.stack([fit_to_input(image, card) for image in images])
