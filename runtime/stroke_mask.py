"""The finder's stroke mask (runtime/digits.py): a frame's ink image (runtime/ink.py) thresholded where pen strokes
stand above the paper's own noise, with the page's printed lines (ruled, squared, margins) found and taken out."""
from __future__ import annotations

import cv2
import numpy as np

from .finder_config import DigitFinderConfig
from .ink import level_at
from .labels import components
from .lines import draw_segments, line_segments, segment_levels


def ink_mask(ink: np.ndarray, config: DigitFinderConfig) -> tuple[np.ndarray, np.ndarray]:
    """(strokes, printed lines found): pixels above a weak threshold connected to some above a strong one.

    Thresholds sit above the paper's own noise (median + k * MAD) and never below fixed floors,
    so faint grid lines and sensor noise stay out while a blurred stroke keeps its faint parts.
    """
    h, w = ink.shape
    levels = stroke_levels(ink, config)
    weak = (ink > levels["weak"]).view(np.uint8)
    segments, over_line = printed_lines(ink, weak, levels["weak"], config)
    lines = without_darker_strokes(ink, segments, over_line) if len(segments) else np.zeros_like(ink)
    # where a stroke may start: well above the ink's local floor, and off the printed lines
    allowed = ink > noise_gate(ink, config)
    if len(segments):  # printed lines out first, so a stroke crossing one does not grow along it
        weak = cv2.subtract(weak, lines // 255)
        allowed &= lines == 0
    strong = (ink > levels["strong"]) & allowed
    faint = (ink > levels["faint"]) & allowed
    mask = hysteresis(weak, strong, faint, config)
    # Only the ridge of each stroke: where two strokes run close, the blurred gap between them is
    # well below both, so digits written close together stay apart.
    ridge = cv2.compare(ink, cv2.convertScaleAbs(cv2.dilate(ink, np.ones((7, 7), np.uint8)), alpha=config.ridge),
                        cv2.CMP_GE)
    mask = cv2.bitwise_and(mask, ridge)
    # Straight runs longer than a digit is tall that the segment search missed (lines in the frame's axes).
    # Found on a half-size OR-pooled mask: a quarter of the work, and a line one pixel off is still a run.
    length = max(8, int(w * config.line_length) // 2)
    half = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    for kernel in (np.ones((1, length), np.uint8), np.ones((length, 1), np.uint8)):
        straight = cv2.morphologyEx(half, cv2.MORPH_OPEN, kernel)
        if straight.any():
            straight = cv2.resize(np.where(straight > 0, 255, 0).astype(np.uint8), (w, h),
                                  interpolation=cv2.INTER_NEAREST)
            straight = cv2.dilate(straight, np.ones((3, 3), np.uint8))
            mask = cv2.subtract(mask, straight)
            lines = cv2.max(lines, straight)
    if lines.any():  # a stroke cut by a removed line: bridge the cut where ink lies on both sides of it
        across = cv2.max(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 1), np.uint8)),
                         cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, 7), np.uint8)))
        mask = cv2.max(mask, cv2.bitwise_and(across, lines))
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)), lines  # rejoin broken strokes


def printed_lines(ink: np.ndarray, weak: np.ndarray, weak_level: float,
                  config: DigitFinderConfig) -> tuple[np.ndarray, float]:
    """(the printed lines' segments (N, 4), the ratio over a line's own ink from which ink on it is a stroke): the
    long straight runs of the weak mask; where they do not run both ways, a squared page's lines are searched for
    at the grid's level as well (grid_segments) and taken when found. Searched only when fewer than grid_lines ran
    at the weak level until 2026-12-07: a squared page whose darker lines passed it (six, one way) kept the rest of
    its grid, and the crossings of its fainter lines, darker than either line, were read as 4s and 1s (wide-205
    frame 530: two false boxes; the tune clips 31 -> 18 false boxes away from any digit)."""
    segments = line_segments(weak * np.uint8(255), config.line_length * ink.shape[1])
    if not runs_both_ways(segments, config.grid_lines):
        grid = grid_segments(ink, weak_level, config)
        if len(grid):
            return grid, config.over_grid_line
    return segments, config.over_line


def runs_both_ways(segments: np.ndarray, n: int) -> bool:
    """At least ``n`` of the segments (N, 4) run upright and ``n`` across."""
    upright = np.abs(segments[:, 3] - segments[:, 1]) > np.abs(segments[:, 2] - segments[:, 0])
    return min(np.count_nonzero(upright), np.count_nonzero(~upright)) >= n


def grid_segments(ink: np.ndarray, weak_level: float, config: DigitFinderConfig) -> np.ndarray:
    """The lines of a squared page whose ink lies at the weak level (N, 4), or none: there only the grid's crossings
    and darker stretches pass it, too broken for the line search, and are read as 1s, 4s and 7s (wide-202 frame
    390, an empty page: 9 false boxes). Searched again at ``grid_level`` of the weak level, they are taken when they
    run both ways; a stroke on one, as faint as the grid on such a page, stays a stroke from ``over_grid_line``."""
    level = max(config.weak_floor, config.grid_level * weak_level)
    if level >= weak_level:
        return np.zeros((0, 4), np.int32)
    found = line_segments(cv2.compare(ink, level, cv2.CMP_GT), config.line_length * ink.shape[1])
    return found if runs_both_ways(found, config.grid_lines) else np.zeros((0, 4), np.int32)


def stroke_levels(ink: np.ndarray, config: DigitFinderConfig) -> dict:
    """The ink levels ink_mask sets for a frame: ``weak`` (where a stroke's faint, blurred edges stop), ``strong`` and
    ``faint`` (where a stroke may start, the latter with a run of them); where it may start also needs noise_gate."""
    median, mad, busy = ink_statistics(ink[::4, ::4], config.busy_percentile)
    # a clean page (little printed structure) lets fainter pencil through than one with faint lines at 24-30
    floor = min(max(config.clean_weak_floor, config.clean_busy * busy), config.weak_floor)
    clean = (config.weak_floor - floor) / max(config.weak_floor - config.clean_weak_floor, 1e-6)  # 0 busy .. 1 clean
    faint_floor = config.faint_floor - clean * (config.faint_floor - config.clean_faint_floor)
    adaptive = min(median + config.strong_mads * mad, config.busy_strong * busy)
    return {"weak": max(floor, min(median + config.weak_mads * mad, config.busy_weak * busy)),
            "strong": max(config.strong_floor, adaptive), "faint": max(faint_floor, adaptive)}


def noise_gate(ink: np.ndarray, config: DigitFinderConfig) -> np.ndarray:
    """Per pixel, the ink a stroke must exceed to start there: above_noise times the ink's local floor. Made where
    ink_mask uses it and dropped at once: held from the frame's start, this full-frame array changed where glibc
    places the finder's other arrays, and tests/test_heap.py's frames stopped faulting now and then without its
    setting."""
    return cv2.convertScaleAbs(local_noise(ink), alpha=config.above_noise)


def without_darker_strokes(ink: np.ndarray, segments: np.ndarray, ratio: float) -> np.ndarray:
    """The printed lines (255) less their pixels ``ratio`` times darker than the line's own ink (the 75th percentile
    of the ink under it): a pen stroke that runs along a line (the top of a 9's loop on a ruled line) stays a
    stroke, where removed with the line it left an open loop read as 4. Each line is judged by its own ink: judged
    by all lines' together, a dark margin among faint ruled lines stayed a stroke, and its pieces were read as 1s."""
    limits = np.clip(np.round(ratio * np.maximum(segment_levels(ink, segments), 1)), 1, 255)
    limit = draw_segments(ink.shape, segments, limits)
    return cv2.bitwise_and(cv2.compare(limit, 0, cv2.CMP_GT), cv2.compare(ink, limit, cv2.CMP_LE))


def local_noise(ink: np.ndarray) -> np.ndarray:
    """The ink image's floor around each pixel: its local mean (3x3 at quarter size), the least of it within
    a 28-px square. On clean paper a few levels; in a dark, noisy corner of the page (vignetting, a shadow) sensor
    noise, amplified by the division by the dim paper, as high as 15-20 across the whole corner, where the
    global thresholds let blobs of it through as digits. The minimum looks past a stroke to the paper beside it."""
    h, w = ink.shape
    quarter = np.ascontiguousarray(ink[::4, ::4])
    floor = cv2.erode(cv2.blur(quarter, (3, 3)), np.ones((7, 7), np.uint8))
    return cv2.resize(floor, (w, h), interpolation=cv2.INTER_LINEAR)


def ink_statistics(sample: np.ndarray, percentile: float) -> tuple[float, float, float]:
    """(median, MAD + 1, percentile) of a uint8 sample from one 256-bin histogram (no sorting)."""
    counts = np.bincount(sample.ravel(), minlength=256)
    median = level_at(counts, 0.5)
    deviations = np.bincount(np.abs(np.arange(256) - median), weights=counts, minlength=256)
    return float(median), float(level_at(deviations, 0.5)) + 1.0, float(level_at(counts, percentile / 100.0))


def hysteresis(weak: np.ndarray, strong: np.ndarray, faint: np.ndarray, config: DigitFinderConfig) -> np.ndarray:
    """Weak pixels (0/1) whose component holds a strong one, or a run of faint ones, as 0/255.

    Components are labelled on a half-size mask (a quarter of the work) and the result is cut back to the
    full-size weak pixels. A half-size weak pixel needs 2 of its 4 (a lone faint pixel does not join two
    strokes: pooled as OR, 6 more digits merged with a neighbour on the tune clips); a strong one needs 1.
    """
    h, w = weak.shape
    half = (w // 2, h // 2)
    weak_small = (cv2.resize(weak, half, interpolation=cv2.INTER_AREA) > 0).view(np.uint8)
    # 0/255 before INTER_AREA: a lone strong pixel averages to 63 and survives (as 0/1 it would round to 0)
    strong_small = cv2.resize(strong.view(np.uint8) * np.uint8(255), half, interpolation=cv2.INTER_AREA) > 0
    n, labels, stats, _ = components(weak_small)
    keep = np.zeros(n, np.uint8)
    keep[np.bincount(labels[strong_small], minlength=n) > 0] = 255
    # A faint pencil stroke may have no strong pixel at all; it holds many faint ones where a speck has few
    # (half size: a pixel covers 2 px of a stroke's length).
    faint_small = cv2.resize(faint.view(np.uint8) * np.uint8(255), half, interpolation=cv2.INTER_AREA) > 127
    keep[np.bincount(labels[faint_small], minlength=n) >= config.faint_run * h / 2] = 255
    keep[0] = 0
    # A faint component larger than any digit is a ruled or grid line crossing a stroke: there,
    # faint pixels count only within a few pixels of strong ones, so growth never runs off along it.
    huge = ((stats[:, cv2.CC_STAT_WIDTH] > config.line_length * half[0])
            | (stats[:, cv2.CC_STAT_HEIGHT] > config.line_length * half[1])) & (keep > 0)
    huge[0] = False
    keep[huge] = 128
    grown = cv2.resize(keep[labels], (w, h), interpolation=cv2.INTER_NEAREST)
    mask = cv2.bitwise_and(cv2.compare(grown, 0, cv2.CMP_GT), cv2.compare(weak, 0, cv2.CMP_GT))
    if huge.any():
        reach = 2 * config.grow + 1
        near = cv2.dilate(strong.view(np.uint8), np.ones((reach, reach), np.uint8)) * np.uint8(255)
        in_huge = cv2.compare(grown, 128, cv2.CMP_EQ)
        mask = cv2.subtract(mask, cv2.subtract(in_huge, near))
    return mask
