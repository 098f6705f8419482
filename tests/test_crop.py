"""The runtime's digit crop (mnist_crop): a thick, soft digit loses its faint edge, a crisp or thin one is untouched."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import edgetl.runtime.crop as crop
from edgetl.data import load_dataset
from edgetl.runtime.crop import mnist_crop


def edge_to_core(image: np.ndarray) -> float:
    """Pixels in the faint edge (31-127) per pixel of solid core (>= 128): MNIST's digits have about 0.3."""
    core = np.count_nonzero(image >= 128)
    return np.count_nonzero((image > 30) & (image < 128)) / max(core, 1)


def crop_of(ink: np.ndarray, brighten: bool = True) -> np.ndarray:
    framed = np.pad(ink, ink.shape[0] // 2)  # paper around it, where mnist_crop reads the background
    ys, xs = np.nonzero(framed > 64)
    return mnist_crop(framed, [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1], brighten)


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    return load_dataset("mnist-5k").split("test")[0][:40, :, :, 0]


def seen_small(digit: np.ndarray) -> np.ndarray:
    """An MNIST digit as a far webcam has it: 8 px across, scaled back up to 40 px."""
    return cv2.resize(cv2.resize(digit, (8, 8), interpolation=cv2.INTER_AREA), (40, 40), interpolation=cv2.INTER_LINEAR)


def crops(inks: list, monkeypatch, rule: bool) -> list:
    monkeypatch.setattr(crop, "SOFT_CORE", 0.08 if rule else 2.0)  # 2.0: no crop has that much core, the rule off
    return [crop_of(ink, brighten=False) for ink in inks]  # the edge rule alone


def test_a_blurred_blocky_digit_has_its_soft_edge_cut(test_digits, monkeypatch):
    soft = [seen_small(d) for d in test_digits]
    cut, as_before = crops(soft, monkeypatch, True), crops(soft, monkeypatch, False)
    assert np.median([edge_to_core(c) for c in as_before]) > 1.0  # three times MNIST's own edge
    shrunk = [np.count_nonzero(a > 30) / np.count_nonzero(b > 30) for a, b in zip(cut, as_before)]
    assert sum(r < 0.95 for r in shrunk) >= 0.8 * len(soft)
    assert np.median(shrunk) < 0.9


def test_the_cut_brings_a_cropped_mnist_digit_back_to_its_own_edge(test_digits, monkeypatch):
    """Scaling into 20x20 and centring by mass resample a digit twice and widen its faint edge (0.31 of the core
    in MNIST's own images, about 0.5 once cropped): the cut brings it back towards what training saw."""
    own = np.array([edge_to_core(d) for d in test_digits])
    cut = np.array([edge_to_core(c) for c in crops(list(test_digits), monkeypatch, True)])
    as_before = np.array([edge_to_core(c) for c in crops(list(test_digits), monkeypatch, False)])
    assert np.median(np.abs(cut - own)) < 0.85 * np.median(np.abs(as_before - own))  # measured: 0.17 vs 0.22


def test_a_thin_pen_stroke_is_untouched(monkeypatch):
    thin = np.zeros((100, 60), np.uint8)
    cv2.polylines(thin, [np.array([[10, 10], [50, 10], [25, 90]], np.int32)], False, 255, 2, cv2.LINE_AA)  # a 7
    thin = cv2.GaussianBlur(thin, (0, 0), 1.2)
    assert np.array_equal(crops([thin], monkeypatch, True)[0], crops([thin], monkeypatch, False)[0])


def seven(height: int, pen: int) -> np.ndarray:
    """A 7 ``height`` px tall: levelled at full size, then shrunk into the 20x20 box."""
    ink = np.zeros((height, height * 3 // 5), np.uint8)
    w, h = ink.shape[1] - 5, height - 5
    cv2.polylines(ink, [np.array([[5, 5], [w, 5], [w // 3, h]], np.int32)], False, 255, pen, cv2.LINE_AA)
    return ink


def test_a_large_digit_in_a_thin_pen_is_brightened_to_full_white():
    faint = crop_of(seven(100, 2), brighten=False).astype(np.float32)
    bright = crop_of(seven(100, 2)).astype(np.float32)
    assert faint.max() < 160 and np.percentile(faint, 99) < 120  # measured: 147 and 107; MNIST's strokes are 255
    assert np.percentile(bright, 99) >= 250
    stretch = 255.0 / np.percentile(faint, 99)
    assert np.abs(bright - np.minimum(faint * stretch, 255)).max() <= stretch + 1  # the same strokes, brighter


def test_a_digit_whose_strokes_are_still_white_once_cropped_is_left_as_it_was():
    marker = crop_of(seven(100, 12), brighten=False)
    assert np.percentile(marker, 99) == 255
    assert np.array_equal(crop_of(seven(100, 12)), marker)


def test_the_crop_percentile_is_numpys():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 784):
        values = (rng.random(n) * 255).astype(np.float32)
        for q in (0.0, 50.0, 99.0, 100.0):
            assert crop.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-3)
