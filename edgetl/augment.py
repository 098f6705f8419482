"""Offline augmentation: randomly transformed copies, pushed once through the frozen prefix.

Small affine moves, elastic distortion (the classic MNIST augmentation), and for gray images a
thinner or bolder stroke and a little blur, as a pen on paper seen by a webcam gives. Never flipped:
a flipped digit is another digit, or none.
"""
from __future__ import annotations

import cv2
import numpy as np


def random_affine(image: np.ndarray, rng: np.random.Generator, rotate: float = 12.0, scale: float = 0.12,
                  shift: float = 0.1, shear: float = 0.15) -> np.ndarray:
    h, w = image.shape[:2]
    angle = np.deg2rad(rng.uniform(-rotate, rotate))
    s = rng.uniform(1.0 - scale, 1.0 + scale)
    k = rng.uniform(-shear, shear)
    linear = s * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[1, k], [0, 1]])
    centre = np.array([w / 2.0, h / 2.0])
    offset = centre - linear @ centre + rng.uniform(-shift, shift, 2) * np.array([w, h])
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)


def elastic(image: np.ndarray, rng: np.random.Generator, alpha: float = 1.0, sigma: float = 0.14) -> np.ndarray:
    """Smooth random displacement (Simard et al. 2003); alpha and sigma relative to the image side."""
    h, w = image.shape[:2]
    side = float(max(h, w))
    dx, dy = (cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma * side)
              * alpha * side for _ in range(2))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out = cv2.remap(image, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)


def stroke(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bolder or thinner bright strokes, then maybe a slight blur."""
    kernel = np.ones((2, 2), np.uint8)
    roll = rng.random()
    if roll < 0.2:
        image = cv2.dilate(image, kernel).reshape(image.shape)
    elif roll < 0.35:
        image = cv2.erode(image, kernel).reshape(image.shape)
    if rng.random() < 0.25:
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.3, 0.9)).reshape(image.shape)
    return image


def augment_image(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    image = random_affine(image, rng)
    if rng.random() < 0.5:
        image = elastic(image, rng)
    if image.shape[-1] == 1:
        image = stroke(image, rng)
    return image


def augmented_copy(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([augment_image(image, rng) for image in x])
