"""A squared page whose printed lines lie at the stroke mask's weak level: on a dark, dense grid the weak level stops at
the page's 95th percentile of ink, which is the grid's own, so only its crossings and darker stretches pass it. The
line search found one line or none there, and the crossings grew into crosses and cells boxed as 1s, 4s and 7s
(wide-202 frame 390, an empty page: 9 false detections). ink_mask now searches such a page again at 0.75 of the weak
level (stroke_mask.grid_segments) and takes the lines when they run both ways."""
from __future__ import annotations

import numpy as np
import pytest

from edgetl.runtime.digits import DigitFinderConfig, find_digit_boxes

from edgetl.runtime.stroke_mask import grid_segments, stroke_levels
from edgetl.runtime.ink import ink_image
from edgetl.runtime.lines import line_segments
from edgetl.runtime.tracking import iou
from test_desk_reading import BLUE_INK, W, film, paper, write


def dense_squared_page(seed: int, gain: float, noise: float) -> tuple[np.ndarray, np.random.Generator]:
    """A dark 1-px grid every 22 px, a little tilted: edgetl.desk's light blue at 1.2 times its strength."""
    rng = np.random.default_rng(seed)
    return paper(rng, kind="grid", pitch=22, width=1, strength=1.2, angle=rng.uniform(-3, 3)), rng


@pytest.mark.parametrize(("gain", "noise", "boxes_before"), [(0.35, 4, 24), (0.7, 8, 38)])
def test_an_empty_squared_page_at_the_weak_level_is_found_as_a_grid_and_gives_no_boxes(gain, noise, boxes_before):
    page, rng = dense_squared_page(1, gain, noise)
    frame = film(page, rng, gain=gain, noise=noise)
    config = DigitFinderConfig()
    ink = ink_image(frame)
    weak = stroke_levels(ink, config)["weak"]
    assert len(line_segments((ink > weak).astype(np.uint8) * 255, config.line_length * W)) < config.grid_lines
    grid = grid_segments(ink, weak, config)
    upright = np.abs(grid[:, 3] - grid[:, 1]) > np.abs(grid[:, 2] - grid[:, 0])
    assert upright.sum() >= 10 and (~upright).sum() >= 10  # the grid, both ways
    # measured: no box on either page; before the grid search 24 and 38 boxes (boxes_before)
    assert find_digit_boxes(frame)[0] == [], f"boxes on an empty squared page (before the grid search: {boxes_before})"


def test_blue_digits_on_that_grid_are_still_found():
    """The grid search takes the printed lines out, not the digits written across them: measured 8 of 8 at their
    box, as before it (a stroke cut where it crosses a removed line is bridged again, stroke_mask.ink_mask)."""
    from edgetl.data import load_dataset

    x = load_dataset("mnist-5k").split("test")[0][..., 0]
    found = written = 0
    for gain, noise in ((0.35, 4), (0.7, 8)):
        page, rng = dense_squared_page(1, gain, noise)
        boxes = [write(page, x[600 + k], 120 + 120 * k, int(rng.uniform(100, 300)), int(rng.uniform(50, 90)),
                       ink=BLUE_INK) for k in range(4)]
        detected = find_digit_boxes(film(page, rng, gain=gain, noise=noise))[0]
        found += sum(max((iou(d, box) for d in detected), default=0.0) >= 0.5 for box in boxes)
        written += len(boxes)
    assert found == written, f"{found}/{written} blue digits found at their box on a dense squared page"
