"""Coloured printed lines under a black or pencil pen: ink counts in its least affected channel, where the
lines fade and the writing stays (runtime/ink.py: neutral_share). Finder only, no model."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgetl.runtime import ink as ink_module
from edgetl.runtime.digits import find_digit_boxes
from edgetl.runtime.tracking import iou
from test_desk_reading import BLACK_INK, BLUE_INK, H, W, film, held_out, paper, write  # noqa: F401 (a fixture)

GREY_LINES = (0.7, 0.7, 0.7)  # BGR transmission: printed lines with no colour


@pytest.fixture(scope="module")
def digits(held_out):
    return held_out[0]


def share_of(frame: np.ndarray) -> float:
    found = {}
    ink_module.ink_image(frame, found)
    return found["neutral"]


def page_with_digits(x, seed: int, ink=BLACK_INK, **lines) -> tuple[np.ndarray, list[list[int]]]:
    """Squared paper with six held-out digits 34-46 px tall (their ink 24-32 px), filmed."""
    rng = np.random.default_rng(seed)
    page = paper(rng, kind="grid", angle=rng.uniform(-3, 3), **lines)
    boxes = [write(page, x[600 + 6 * seed + k], 120 + 70 * k, int(rng.uniform(100, 350)), int(rng.uniform(34, 46)),
                   ink) for k in range(6)]
    return film(page, rng, gain=[1.0, 0.6][seed % 2]), boxes


def found_at_their_box(frame: np.ndarray, boxes: list[list[int]]) -> int:
    detected = find_digit_boxes(frame)[0]
    return sum(max((iou(d, box) for d in detected), default=0.0) >= 0.5 for box in boxes)


def test_black_pen_on_a_blue_grid_reads_in_the_least_affected_channel(digits):
    frame, _ = page_with_digits(digits, 0, pitch=14, width=2, strength=1.6)
    assert share_of(frame) == 1.0


def test_a_coloured_pen_or_grey_lines_keep_the_usual_ink(digits):
    blue_pen, _ = page_with_digits(digits, 0, ink=BLUE_INK, pitch=14, width=2, strength=1.6)
    assert share_of(blue_pen) == 0.0  # blue on blue: in the blue channel the writing fades with the lines
    rng = np.random.default_rng(3)
    grey = paper(rng, kind="plain")
    grey[:] = 240
    for k in range(0, W, 14):
        grey[:, k:k + 2] *= np.float32(GREY_LINES)
    for k in range(0, H, 14):
        grey[k:k + 2] *= np.float32(GREY_LINES)
    write(grey, digits[700], 200, 200, 40)
    assert share_of(film(grey, rng)) == 0.0  # the lines are as grey as the pen: no channel tells them apart
    blank = film(paper(np.random.default_rng(4), kind="plain"), np.random.default_rng(4))
    assert share_of(blank) == 0.0


def test_small_digits_on_a_dense_blue_grid_as_dark_as_the_pen_are_found(digits, monkeypatch):
    """14 px squares of 2 px lines that in the red channel are as dark as the strokes (a webcam's view of blue
    squared paper in dim light). Measured: 36/36 at their box; with the usual ink (most affected channel) 31/36."""
    pages = [page_with_digits(digits, seed, pitch=14, width=2, strength=1.6) for seed in range(6)]
    found = sum(found_at_their_box(frame, boxes) for frame, boxes in pages)
    monkeypatch.setattr(ink_module, "neutral_share", lambda *args: 0.0)
    usual = sum(found_at_their_box(frame, boxes) for frame, boxes in pages)
    assert found >= 35 and usual <= 33, (found, usual)


def test_the_share_falls_gradually_between_coloured_and_grey_lines():
    """A page near the boundary does not switch inks from one frame to the next: the share moves with the
    lines' colour, not in one step."""
    darker = np.zeros((120, 160, 3), np.uint8)
    darker[::4] = 60  # lines in every channel ...
    darker[100:104, 20:120] = 200  # ... and a stroke, dark in every channel
    reference = np.full((120, 160), 240, np.uint8)
    shares = []
    for least in (60, 40, 35, 30, 24, 10):
        darker[::4, :, 0] = least  # the lines fade in the blue channel
        shares.append(ink_module.neutral_share(darker, reference))
    assert shares[0] == 0.0 and shares[-1] == 1.0
    assert all(a < b for a, b in zip(shares[1:-2], shares[2:-1])) and 0.0 < shares[2] < 1.0, shares


def test_the_share_fades_as_the_writing_takes_the_lines_colour():
    """A grey-blue pen on a blue grid keeps about half its darkness in the least affected channel: wide-201 frames 208
    and 209 (one scene, 0.48 and 0.50 of it) switched from one ink to the other, and in the usual ink the grid cut
    all seven digits of frame 208 into specks. Between a grey pen and the lines' own colour the share fades."""
    darker = np.zeros((120, 160, 3), np.uint8)
    darker[::4] = (10, 60, 60)  # blue printed lines: dark in red and green, faint in blue
    darker[100:104, 20:120] = 200
    reference = np.full((120, 160), 240, np.uint8)
    shares = []
    for least in (110, 95, 90, 85, 70):  # the stroke's blue channel: 0.55 .. 0.35 of its darkness
        darker[100:104, 20:120, 0] = least
        shares.append(ink_module.neutral_share(darker, reference))
    assert shares[0] == 1.0 and shares[-1] == 0.0, shares
    assert all(a > b for a, b in zip(shares, shares[1:])) and 0.0 < shares[2] < 1.0, shares


def test_each_pixels_largest_and_smallest_channel_match_numpys():
    """channel_max / channel_min read every third column of a 1x3 dilate / erode along the interleaved row: an
    anchor one off would mix a pixel's channels with its neighbour's."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for image in (frame, frame[5:30, 7:44]):  # a view (a crop's region) as well as a whole array
        assert np.array_equal(ink_module.channel_max(image), image.max(axis=2))
        assert np.array_equal(ink_module.channel_min(image), image.min(axis=2))


def test_a_quarter_size_frame_holds_each_4x4_blocks_mean():
    """quarter_size halves twice where the sides allow (and resizes once where they do not): each pixel within
    one level of its block's mean, as one INTER_AREA resize gives it."""
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    means = frame.reshape(12, 4, 16, 4, 3).mean(axis=(1, 3))
    small = ink_module.quarter_size(frame)
    assert small.shape == (12, 16, 3) and np.abs(small - means).max() <= 1.0
    odd = frame[:46, :63]
    assert np.array_equal(ink_module.quarter_size(odd), cv2.resize(odd, (15, 11), interpolation=cv2.INTER_AREA))


def test_what_reaches_in_over_the_page_does_not_decide_the_ink():
    """A writing frame's squared page (writing-600 frame 74: a blue grid, a pencil's digits) with the desk's edge and
    a hand's rim over 14% of it: there the pixels are darker than the paper estimate in every channel, and they took
    the share from 1 to 0, so the grid came back as strokes and was boxed as digits beside the hand. Counted without
    them (``leave_out``), the page's own lines and writing decide. Quarter-size ``darker`` values as measured there:
    the page's 95th percentiles 45 / 16 (most / least affected channel), the rim's 144 / 120."""
    rng = np.random.default_rng(0)
    reference = np.full((120, 160), 200, np.uint8)
    darker = np.zeros((120, 160, 3), np.uint8)
    grid = np.zeros((120, 160), bool)
    grid[::4] = grid[:, ::4] = True  # the printed lines: dark in red, faint in blue
    darker[grid] = (8, 25, 36)
    darker[50:60, 30:90] = (90, 88, 92)  # the writing: a neutral pencil, as dark in every channel
    rim = np.zeros((120, 160), np.uint8)
    rim[:10] = 1  # the desk's edge
    rim[60:, 140:] = 1  # the hand's rim
    darker[rim > 0] = np.clip(rng.normal((100, 115, 125), 8, (int(rim.sum()), 3)), 0, 255)
    assert ink_module.neutral_share(darker, reference) == 0.0
    assert ink_module.neutral_share(darker, reference, rim) == 1.0
    page_only = darker.copy()
    page_only[rim > 0] = 0
    assert ink_module.neutral_share(page_only, reference) == 1.0
    assert ink_module.neutral_share(darker, reference, np.ones_like(rim)) == 0.0  # no page in view: the usual ink
