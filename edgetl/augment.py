"""Offline augmentation: random small affine copies, pushed once through the frozen prefix."""
from __future__ import annotations

import cv2
import numpy as np


def random_affine(image: np.ndarray, rng: np.random.Generator, rotate: float = 12.0, scale: float = 0.12,
                  shift: float = 0.1, shear: float = 0.15) -> np.ndarray:
    """One (H, W, C) uint8 image rotated, scaled, sheared and shifted a little (never flipped: digits)."""
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


def augmented_copy(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([random_affine(image, rng) for image in x])
