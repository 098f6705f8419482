"""The printed lines the finder takes out of a page (runtime/stroke_mask.printed_lines): a squared page whose darker lines
alone pass the weak level has the rest of its grid found too, so the crossings of its fainter lines are not strokes
(wide-205 frame 530: two crossings read as 4 and 1)."""
from __future__ import annotations

import numpy as np

from edgetl.runtime.digits import DigitFinderConfig

from edgetl.runtime.stroke_mask import printed_lines, runs_both_ways

CONFIG = DigitFinderConfig()
SPACING = 24


def page_ink(across: int, upright: int) -> np.ndarray:
    """An ink image (0..255, darker = more) of a page ruled every SPACING px: lines across at ``across``, lines
    upright at ``upright`` (0: none), their crossings as dark as both together; paper at 6."""
    ink = np.full((480, 640), 6, np.uint8)
    rows = (np.arange(480) % SPACING) < 3
    columns = (np.arange(640) % SPACING) < 3
    ink[rows, :] = across
    if upright:
        ink[:, columns] = upright
        ink[np.ix_(rows, columns)] = min(255, across + upright)
    return ink


def test_a_grid_whose_upright_lines_are_fainter_than_the_weak_level_is_found_both_ways():
    ink = page_ink(across=48, upright=34)
    weak_level = 40.0  # the lines across and every crossing pass it, the upright lines do not
    weak = (ink > weak_level).view(np.uint8)
    segments, over_line = printed_lines(ink, weak, weak_level, CONFIG)
    assert runs_both_ways(segments, CONFIG.grid_lines) and over_line == CONFIG.over_grid_line
    upright = np.abs(segments[:, 3] - segments[:, 1]) > np.abs(segments[:, 2] - segments[:, 0])
    assert np.count_nonzero(upright) >= 10 and np.count_nonzero(~upright) >= 10


def test_a_ruled_page_keeps_its_lines_and_the_stroke_ratio_of_printed_lines():
    ink = page_ink(across=48, upright=0)
    weak_level = 40.0
    segments, over_line = printed_lines(ink, (ink > weak_level).view(np.uint8), weak_level, CONFIG)
    assert len(segments) >= 10 and not runs_both_ways(segments, CONFIG.grid_lines)
    assert over_line == CONFIG.over_line

