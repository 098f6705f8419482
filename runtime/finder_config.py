"""The digit finder's settings (runtime/digits.py): what a digit's blob may measure, and the ink levels a stroke
must reach. The defaults are what bench/README.md measured on the tune clips."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DigitFinderConfig:
    min_height: float = 0.04  # of the frame height
    max_height: float = 0.9
    min_aspect: float = 0.05  # width / height: a "1" is thin
    whole_in_view: bool = True  # only a blob wholly inside the frame is read: what the frame's edge cuts is a pen's
    # barrel, a hand, the desk or half a digit (writing tune clips: 59 of 133 false detections; check set 2 digits)
    min_aspect_at_edge: float = 0.25  # without whole_in_view: a thin piece the frame cuts off is a margin line or
    # half a digit, not a 1
    thin: float = 0.35  # width / height below which a piece may be a 1 or a piece of a printed line
    max_aspect: float = 1.8
    wide_aspect: float = 2.1  # ... or this wide with no printed line within line_clearance px: a 5 with a long bar,
    line_clearance: int = 5  # a 2 with a long base (by a line, a ruled line meeting another leaves pieces as wide)
    min_fill: float = 0.03  # ink pixels / box area (a fine pen's digit held close: 2-px strokes in a 150-px box fill 0.04)
    max_fill: float = 1.0
    line_length: float = 0.25  # strokes longer than this fraction of the frame width are ruled lines
    bar_aspect: float = 1.4  # a 5 with a long bar joined to it may be this wide (width / height)
    split_aspect: float = 1.05  # wider than this (width / height): maybe touching digits, cut at a clear valley
    one_split_aspect: float = 0.9  # ... from this width, cut only into a 1 beside a digit (pieces.a_one_beside_a_digit):
    # a 1 that touches its neighbour makes a blob no wider than one digit
    strong_floor: float = 55.0  # ink contrast (fraction of the paper's brightness x 255) a stroke must reach
    strong_mads: float = 10.0
    weak_floor: float = 30.0  # ... and where its faint, blurred edges stop
    weak_mads: float = 5.0
    clean_weak_floor: float = 20.0  # ... lower on a clean page, whose 95th percentile of ink is under
    clean_busy: float = 1.3  # ... weak_floor / clean_busy (faint printed lines there would grow from strokes);
    # 1.4 until 2026-12-05: the weak floor at 1.4 x a faintly ruled page's 95th percentile (21 -> 29.4) cut a pencil
    # 8's lower loop off at its 24-28 junction (tune-101, a whole scene read 7); 1.3 reads the tune set +0.3 points
    faint_floor: float = 40.0  # a stroke with no pixel at the strong level still counts when this much of it
    faint_run: float = 0.08  # ... (a length, as a fraction of the frame height) reaches faint_floor: pencil in dim light
    clean_faint_floor: float = 26.0  # ... lower on a clean page, by as much of the way as the weak floor goes there
    above_noise: float = 5.5  # a strong or faint pixel stands this many times above the ink's local floor
    grow: int = 4  # px a stroke may extend beyond its strong pixels through faint ones
    ridge: float = 0.55  # a stroke pixel holds at least this fraction of the strongest ink within 3 px
    busy_percentile: float = 95.0  # on a busy page (dense grid) the spread of ink is structure, not noise:
    busy_strong: float = 1.5  # thresholds then stop at these multiples of that percentile
    busy_weak: float = 1.0
    over_line: float = 1.5  # ink this many times darker than a printed line's, on the line, is a stroke along it
    grid_level: float = 0.75  # grid_segments: a busy page whose weak mask holds under grid_lines lines is searched
    grid_lines: int = 3  # again at this share of the weak level, and its lines taken where this many run each way;
    over_grid_line: float = 1.25  # a stroke on one of them is a stroke from this ratio (as faint as such a grid)
    sliver: int = 2  # px: a piece this narrow along a printed line is the line's edge
    line_bend: float = 6.0  # px: a line piece's ink stays this close to a straight line (90% of it) ...
    line_bend_share: float = 0.08  # ... or this share of its height
    max_thickness: float = 0.27  # a stroke's half-width (the deepest point of the mask) at most this share of the box's
    # height: a pen's cone or point is solid (writing tune: half the finder's false boxes over 0.19; of 2,367
    # digits 1 over 0.25)
    cone_depth: float = 0.15  # ... or a pen's cone (digit_like.cone_shaped): this deep, a share of the box's height,
    cone_aspect: float = 0.5  # ... at least this wide (width / height; a 1 is narrower) ...
    cone_fill: float = 0.8  # ... and filling this share of the least triangle around it (digits of the writing tune
    # clips this deep: at most 0.76; 0.7 lost 10 of them)
