"""Find handwritten digits in a frame with classic OpenCV and cut them out the MNIST way.

Ink may be dark on light paper or light on dark; several digits, anywhere. The threshold adapts to
uneven light, long thin strokes (ruled lines) are removed, specks and odd shapes filtered out.
Each crop becomes a white-on-black 28x28 image (runtime/crop.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from .crop import MNIST_SIZE, sharp_crop
from .ink import ink_image, level_at
from .labels import components
from .lines import draw_segments, line_segments, segment_levels
from .over_page import without_object_strokes
from .pieces import attach_bars, join_fragments, merge_stacked, split_touching, stacked_pairs
from .touching import piece_near, tried_cut
from .turned import TURN_MIN, PageTurn, middle, read_upright, row_turn, uncut


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


def find_digit_boxes(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig()):
    """(boxes [x, y, w, h] left to right, ink image, mask) for one frame."""
    boxes, ink, mask, _ = find_digit_candidates(frame, config)
    return boxes, ink, mask


def find_digit_candidates(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig(),
                          paper_out: dict | None = None, try_cuts: bool = False):
    """(boxes, ink, mask, splits): as find_digit_boxes, and for each blob that was cut as touching digits and
    could be one digit itself, (its whole box, indices of its pieces in boxes, the SlantCut of a tried cut or
    None), so a classifier can choose; tried cuts first. ``try_cuts``: a wide blob no valley parted is cut where a
    line crosses the least ink (touching.py), for a model that says when it sees two digits (its card's pair_class)."""
    paper = {} if paper_out is None else paper_out
    ink = ink_image(frame, paper)
    mask, lines = ink_mask(ink, config)
    if "objects" in paper:  # a hand or a pen over the page
        mask = without_object_strokes(mask, paper["objects"])
    # a solid blob is a pen's tip only where a pen may be: elsewhere it is a blurred digit
    digit = partial(looks_like_a_digit, ink=ink, mask=mask, config=config, lines=lines,
                    pen_near=bool(paper.get("over_page")))
    boxes, splits = [], []
    joined, with_bar = blobs(mask_pieces(mask, config), ink, lines, config)
    for blob in joined:
        pieces = [blob] if tuple(blob) in with_bar else split_touching(blob, mask, config)
        kept = [piece for piece in pieces if digit(piece)]
        whole = len(pieces) > 1 and digit(blob)
        if whole and not kept:  # no piece of the cut is a digit: the blob is one wide digit, not touching ones
            kept = [blob]
        elif whole:
            splits.append((blob, list(range(len(boxes), len(boxes) + len(kept))), None))
        # one digit-like piece left (the blob, or the blob less a stroke a valley parted off that is no digit): tried
        tried = try_cuts and len(kept) == 1 and (kept == [blob] or not whole) and tuple(blob) not in with_bar \
            and tried_cut(kept[0], mask, digit)
        if tried:  # no valley parted it: cut where a line crosses the least ink, the classifier to choose
            (single,), (kept, cut) = kept, tried
            splits.append((single, [len(boxes), len(boxes) + 1], cut))
        if not kept and blob[2] > config.max_aspect * blob[3] and tuple(blob) not in with_bar:
            # too wide for one digit, and no valley parted it: two touching digits (a 0 and the 4 written into it,
            # wide-204 frame 514), cut where a line crosses the least ink; dropped whole before
            cut = tried_cut(blob, mask, digit)
            kept = cut[0] if cut else []
        boxes.extend(kept)
    taken = {i for _, pieces, _ in splits for i in pieces}
    splits += [(whole, pair, None) for whole, pair in stacked_pairs(boxes, taken)
               if digit(whole)]
    splits.sort(key=lambda split: split[2] is None)  # tried cuts first: their wholes are plain blobs, read once
    return boxes, ink, mask, splits


def mask_pieces(mask: np.ndarray, config: DigitFinderConfig) -> list[list[int]]:
    """Boxes of the stroke mask's pieces large enough to matter, and not line-like (longer than a digit is tall)."""
    h, w = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    raw = [list(cv2.boundingRect(c)) for c in contours]
    return [b for b in raw if max(b[2], b[3]) >= 0.5 * config.min_height * h
            and not (b[2] > config.line_length * w and b[2] > 2 * config.max_aspect * b[3])]


def blobs(raw: list[list[int]], ink: np.ndarray, lines: np.ndarray, config: DigitFinderConfig):
    """(blobs, the blobs with a bar attached): the stroke mask's pieces joined into digit-sized blobs (pieces.py).

    A piece of a printed line that the line search missed (a faint margin, shorter in the mask than a line is
    long) is left out once broken digits are stacked together, before fragments are joined: beside a digit it
    passes for the long stroke of a 4 written in two, and the digit's box ran the line's length (wide-201 frame
    394: a 2 and the 7 after it in one box 100 px tall).
    """
    raw = [b for b in raw if not line_sliver(b, lines, config)]
    stacked = [b for b in merge_stacked(raw, lines) if not line_piece(ink, b, config)]
    return attach_bars(join_fragments(stacked, config.min_height * ink.shape[0]), config)


def line_sliver(box, lines: np.ndarray, config: DigitFinderConfig) -> bool:
    """A piece at most ``sliver`` px wide (or tall) lying along a printed line found: the edge of the line that the
    line mask, drawn at the segment's angle, left beside it (wide-201 frame 249: stacked onto a 3, its box ran to the
    frame's top and the 3 was lost; wide-202 frame 367: joined to a 7, its box ran to the frame's edge)."""
    x, y, w, h = box
    c = config.sliver + 2
    if w <= config.sliver:  # each of its rows has a line within c px to the side
        band, along = lines[max(0, y):y + h, max(0, x - c):x + w + c], 1
    elif h <= config.sliver:  # each of its columns has a line within c px above or below
        band, along = lines[max(0, y - c):y + h + c, x:x + w], 0
    else:
        return False
    return bool((band.max(axis=along) > 0).mean() >= 0.8)


def looks_like_a_digit(box, ink: np.ndarray, mask: np.ndarray, config: DigitFinderConfig,
                       lines: np.ndarray, pen_near: bool = False) -> bool:
    """A box wholly in view, of digit height, shape and ink fill, and not the end of a printed line. ``lines``: the
    printed lines found; a box wider than max_aspect counts only with none of them near it. ``pen_near``: something
    reaches in over the page, so a blob too solid for a stroke is a pen's tip."""
    x, y, w, h = box
    fh, fw = ink.shape[:2]
    at_edge = x == 0 or y == 0 or x + w == fw or y + h == fh
    if at_edge and config.whole_in_view:
        return False
    fill = cv2.countNonZero(mask[y:y + h, x:x + w]) / float(w * h)
    # a thin upright piece running off the frame is the end of a printed line (a margin), not a 1
    min_aspect = config.min_aspect_at_edge if at_edge else config.min_aspect
    wide_ok = w > config.max_aspect * h and clear_of_lines(box, lines, config)
    max_aspect = config.wide_aspect if wide_ok else config.max_aspect
    return bool(config.min_height * fh <= h <= config.max_height * fh
                and min_aspect <= w / h <= max_aspect
                and config.min_fill <= fill <= config.max_fill
                and not line_piece(ink, box, config)
                and not (pen_near and solid(mask, box, config)))


def solid(mask: np.ndarray, box, config: DigitFinderConfig) -> bool:
    """The mask inside the box is deeper than a pen stroke is wide for a digit of its height: a pen's cone or point.
    (Blurred chalk or a small blurred digit whose loops fill in is as deep: find_digit_candidates asks only where
    something reaches in over the page.)"""
    x, y, w, h = box
    inside = cv2.copyMakeBorder(mask[y:y + h, x:x + w], 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return float(cv2.distanceTransform(inside, cv2.DIST_L2, 5).max()) > config.max_thickness * h


def line_piece(ink: np.ndarray, box, config: DigitFinderConfig) -> bool:
    """A thin upright piece whose stroke goes on past its ends (continues_beyond) and runs straight: a printed
    line's, not a 1's."""
    return box[2] < config.thin * box[3] and continues_beyond(ink, box) and straight(ink, box, config)


def straight(ink: np.ndarray, box, config: DigitFinderConfig) -> bool:
    """The piece's ink (at half its peak or more) lies along one straight line: 90% of it within ``line_bend``
    px (or ``line_bend_share`` of the piece's height) of the line fitted through it. A narrow 3 beside a margin
    line goes on past its end too, but bends away from any line (wide-200 frame 223: 14 px; printed line pieces of
    the tune clips 2-6 px)."""
    x, y, w, h = box
    piece = ink[y:y + h, x:x + w]
    ys, xs = np.nonzero(piece >= 0.5 * float(piece.max()))
    if len(xs) < 3:
        return True
    vx, vy, x0, y0 = cv2.fitLine(np.stack([xs, ys], 1).astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    off = np.abs((xs - x0) * vy - (ys - y0) * vx)
    return float(np.percentile(off, 90)) <= max(config.line_bend, config.line_bend_share * h)


def clear_of_lines(box, lines: np.ndarray, config: DigitFinderConfig) -> bool:
    """No printed line within ``config.line_clearance`` px of the box."""
    x, y, w, h = box
    c = config.line_clearance
    return not lines[max(0, y - c):y + h + c, max(0, x - c):x + w + c].any()


def continues_beyond(ink: np.ndarray, box) -> bool:
    """True when a thin upright piece goes on past its top or bottom end as about as dark a stroke: a piece of a
    printed line (a margin the line search missed), not a 1, which has paper above and below it.

    A ruled line across a 1's end adds ink to only a few rows of the strip, not most of them. Only the columns
    in line with the piece's end count: the next digit's curve beside a 1's end does not go on from it (a 1
    written close after a 3 was dropped as a line piece).
    """
    x, y, w, h = box
    piece = ink[y:y + h, x:x + w]
    peak = float(piece.max())
    reach = max(6, h // 3)
    for end, rows in ((piece[:3], range(y - 1, y - reach - 1, -1)), (piece[-3:], range(y + h, y + h + reach))):
        cols = np.flatnonzero(end.max(axis=0) >= 0.5 * peak)
        x0, x1 = (x + cols[0], x + cols[-1] + 1) if len(cols) else (x, x + w)
        inside = [r for r in rows if 0 <= r < ink.shape[0]]
        # row d px past the end: the end's columns widened by 1 + d / 5 px each side (a line tilted up to 11 degrees)
        going_on = sum(ink[r, max(0, x0 - 1 - d // 5):x1 + 1 + d // 5].max(initial=0) >= 0.5 * peak
                       for d, r in enumerate(inside))
        if len(inside) >= reach // 2 and going_on >= 0.8 * len(inside):
            return True
    return False


def digit_crops(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig()):
    """(boxes, crops (N, 28, 28)) for every digit-like blob in the frame, left to right."""
    boxes, crops, _ = digit_candidates(frame, config)
    return boxes, crops


def digit_candidates(frame: np.ndarray, config: DigitFinderConfig = DigitFinderConfig(), try_cuts: bool = False,
                     turn_back: bool = True, page: PageTurn | None = None, mask_out: list | None = None):
    """(boxes, crops (N, 28, 28), splits): digit_crops, and for each blob cut as touching digits that could
    be one digit, (its whole box, its crop, indices of its pieces in boxes, whether the cut was only tried).
    ``turn_back``: digits in a row turned TURN_MIN degrees or more are read with the frame turned upright (turned.py);
    ``page``: a video's PageTurn, the turn its last frame was read at, tried first and kept up to date;
    ``mask_out``: the stroke mask the boxes were found in is appended to it (found as it lay)."""
    as_upright = partial(digit_candidates, config=config, try_cuts=try_cuts, turn_back=False)
    if turn_back and page is not None and page.turn is not None:
        if (read := read_upright(frame, page.turn, page.centre, as_upright, check=True)) is not None:
            return read
    paper = {}
    boxes, _, mask, splits = find_digit_candidates(frame, config, paper, try_cuts)
    if mask_out is not None:
        mask_out.append(mask)
    rows = uncut(boxes, [(whole, pieces) for whole, pieces, cut in splits if cut is not None])
    turn = row_turn(rows) if turn_back else None
    turned = turn is not None and abs(turn) >= TURN_MIN
    centre = middle(rows) if turned else (0.0, 0.0)
    if page is not None and turn_back:
        page.turn, page.centre = (turn if turned else None), centre
    if turned:
        return read_upright(frame, turn, centre, as_upright)
    near = cv2.dilate(mask, np.ones((5, 5), np.uint8))  # no grid or paper inside a box
    nears = {}  # a piece of a tried cut reads no ink from the other side of it
    for _, pieces, cut in splits:
        if cut is not None:
            nears.update({pieces[0]: piece_near(near, cut, True), pieces[1]: piece_near(near, cut, False)})
    crops = np.stack([sharp_crop(frame, paper, nears.get(i, near), b) for i, b in enumerate(boxes)]) if boxes \
        else np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.uint8)
    return boxes, crops, [(whole, sharp_crop(frame, paper, near, whole), pieces, cut is not None)
                          for whole, pieces, cut in splits]
