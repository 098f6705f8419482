"""A page lying turned on the desk is read turned upright: runtime/turned.py and digits.digit_candidates.

Pages turned 20-30 degrees (bench/clip_sets.py --set turned) read 84.1% of their digits as they lay, 89.3% with the
frame turned back by the angle of the rows the digits stand in (and a video's last turn tried first); the upright
tune and check clips read as before.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgetl.runtime.digits import digit_candidates
from edgetl.runtime.turned import PageTurn, box_in_frame, row_turn, uncut, upright

W, H = 640, 480


def turned_row(angle: float, n: int = 4, h: int = 50, step: int = 70, x0: int = 150, y0: int = 240) -> list:
    """n boxes h tall in a row turned ``angle`` degrees clockwise about its first box."""
    t = np.deg2rad(angle)
    return [[int(x0 + k * step * np.cos(t)), int(y0 + k * step * np.sin(t)), 30, h] for k in range(n)]


@pytest.mark.parametrize("angle", [-30.0, -20.0, 20.0, 25.0, 30.0])
def test_the_rows_angle_is_the_pages_turn(angle):
    assert row_turn(turned_row(angle)) == pytest.approx(angle, abs=1.5)


def test_no_turn_from_an_upright_row_two_digits_or_two_rows():
    assert abs(row_turn(turned_row(0.0))) < 1.5
    assert row_turn(turned_row(25.0, n=2)) is None  # one step: a digit written a little high would turn the page
    # two upright rows, the lower one starting further right: the steps across rows are not taken for a turn
    rows = turned_row(0.0, n=3) + turned_row(0.0, n=3, x0=185, y0=320)
    assert abs(row_turn(rows)) < 1.5


def test_a_row_whose_steps_scatter_as_handwriting_does_still_gives_its_turn(monkeypatch):
    """Digits written along a page rise and fall: the steps from each to the next scatter by several degrees. A row of
    five whose steps deviate 9 degrees from their median gives its turn (at AGREE 5 degrees, until 2026-12-07, it gave
    none, and the turned clips' frames with three or more digits went unturned two times in five); an upright row with
    the same scatter stays upright."""
    import edgetl.runtime.turned as turned

    def scattered_row(angle: float) -> list:
        t = np.deg2rad(angle)
        across = [(0, 0), (70, 8), (140, -4), (210, 7), (280, -5)]  # along the row, off it
        return [[int(150 + a * np.cos(t) - o * np.sin(t)), int(240 + a * np.sin(t) + o * np.cos(t)), 30, 50]
                for a, o in across]

    assert row_turn(scattered_row(25.0)) == pytest.approx(25.0, abs=2.5)
    assert row_turn(scattered_row(-20.0)) == pytest.approx(-20.0, abs=2.5)
    assert abs(row_turn(scattered_row(0.0))) < 2.5
    monkeypatch.setattr(turned, "AGREE", 5.0)
    assert row_turn(scattered_row(25.0)) is None


def test_a_turned_row_whose_wide_digits_are_tried_cut_still_gives_the_pages_turn():
    """A 0 turned 28 degrees is wide enough to be tried cut (touching.py), and the step between its two pieces runs
    across the frame whatever the page's turn: counted among the row's steps, they hid the turn, the frame was read as
    it lay and two 0s were cut in two. The row's turn is taken from the blobs (turned.uncut)."""
    frame = np.full((H, W, 3), 235, np.uint8)
    cv2.putText(frame, "0 8 0 8", (120, 260), cv2.FONT_HERSHEY_SIMPLEX, 2.6, (30, 30, 30), 6, cv2.LINE_AA)
    frame = cv2.warpAffine(frame, cv2.getRotationMatrix2D((320, 240), 28, 1.0), (W, H), borderValue=(235, 235, 235))
    boxes, _, splits = digit_candidates(frame, try_cuts=True)
    assert len(boxes) == 4 and splits == [], boxes  # four upright digits, none cut
    assert [x for x, _, _, _ in boxes] == sorted(x for x, _, _, _ in boxes)
    assert all(48 <= w <= 54 and 53 <= h <= 57 for _, _, w, h in boxes), boxes  # each glyph's turned box, whole
    cuts = [([138, 291, 48, 53], [0, 1]), ([256, 228, 48, 53], [3, 4])]  # what the finder tries on the frame as it lies
    as_it_lies = [[138, 291, 41, 53], [172, 306, 14, 36], [197, 259, 49, 54], [256, 228, 41, 53], [290, 243, 14, 36],
                  [315, 196, 50, 54]]
    assert row_turn(as_it_lies) is None
    assert row_turn(uncut(as_it_lies, cuts)) == pytest.approx(-28, abs=1.5)


def test_a_box_on_the_upright_canvas_is_taken_back_around_the_same_ink():
    frame = np.full((H, W, 3), 235, np.uint8)
    cv2.circle(frame, (500, 100), 12, (20, 20, 20), -1)
    canvas, back = upright(frame, 30.0, (500, 100))
    assert canvas.shape == frame.shape
    ys, xs = np.nonzero(canvas[..., 0] < 128)
    assert abs(xs.mean() - W / 2) < 1 and abs(ys.mean() - H / 2) < 1  # turned about the digits, to the middle
    box = [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
    x, y, w, h = box_in_frame(box, back, frame.shape)
    assert abs(x + w / 2 - 500) <= 2 and abs(y + h / 2 - 100) <= 2 and w <= 36 and h <= 36  # 25 px turned 30


@pytest.fixture(scope="module")
def digits():
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    x = x.reshape(-1, 28, 28)
    return [x[list(y).index(label)] for label in (1, 7, 4, 2)]


def page_with(digits, angle: float, owners: bool = False) -> np.ndarray:
    """Dark digits 64 px tall in a row on white paper, the page turned ``angle`` degrees clockwise; ``owners``: instead,
    where each digit's ink lies (1 + its index)."""
    page = np.full((H, W), 235, np.float32)
    owner = np.zeros((H, W), np.uint8)
    for k, digit in enumerate(digits):
        big = cv2.resize(digit, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
        region = page[200:264, 150 + 80 * k:214 + 80 * k]
        region -= big * 215
        owner[200:264, 150 + 80 * k:214 + 80 * k][big > 0.5] = k + 1
    turn = cv2.getRotationMatrix2D((W / 2, H / 2), -angle, 1.0)
    if owners:
        return cv2.warpAffine(owner, turn, (W, H), flags=cv2.INTER_NEAREST)
    turned = cv2.warpAffine(page, turn, (W, H), borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(np.clip(turned, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_digits_on_a_turned_page_are_cut_out_upright(digits):
    _, upright_crops, _ = digit_candidates(page_with(digits, 0.0))
    boxes, crops, _ = digit_candidates(page_with(digits, 28.0))
    _, as_they_lie, _ = digit_candidates(page_with(digits, 28.0), turn_back=False)
    assert len(upright_crops) == len(crops) == len(as_they_lie) == 4

    def off(a, b):
        return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())

    for k in range(4):
        assert off(crops[k], upright_crops[k]) < 0.5 * off(as_they_lie[k], upright_crops[k])
    # the boxes are the frame's, each tight around its digit's ink on the turned page (not around its turned corners)
    owners = page_with(digits, 28.0, owners=True)
    for k, (x, y, w, h) in enumerate(boxes):
        ys, xs = np.nonzero(owners == k + 1)
        assert abs(x - xs.min()) <= 4 and abs(y - ys.min()) <= 4, (k, (x, y), (xs.min(), ys.min()))
        assert abs(x + w - 1 - xs.max()) <= 4 and abs(y + h - 1 - ys.max()) <= 4, (k, (x + w, y + h))


def test_a_video_of_a_turned_page_is_found_once_a_frame_until_the_page_moves(digits, monkeypatch):
    """PageTurn: the next frame is read at the last one's turn first (one finder pass, not two), and as it lies
    again once its rows no longer stand upright there."""
    import edgetl.runtime.digits as finder

    passes = []
    real = finder.find_digit_candidates
    monkeypatch.setattr(finder, "find_digit_candidates", lambda *a, **k: passes.append(1) or real(*a, **k))
    page = PageTurn()
    turned, straight = page_with(digits, 28.0), page_with(digits, 0.0)
    first = digit_candidates(turned, page=page)
    assert page.turn == pytest.approx(28.0, abs=2.0) and len(passes) == 2  # as it lies, then turned back
    passes.clear()
    again = digit_candidates(turned, page=page)
    assert len(passes) == 1 and again[0] == first[0] and np.array_equal(again[1], first[1])
    passes.clear()
    assert digit_candidates(straight, page=page)[0] == digit_candidates(straight)[0]  # the page set straight
    assert page.turn is None
