"""Whether a blob of the finder's stroke mask (runtime/digits.py) is a digit: in view, of a digit's height, shape and
ink fill, and not a piece of a printed line or a pen's tip."""
from __future__ import annotations

import cv2
import numpy as np

from .finder_config import DigitFinderConfig


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
                       lines: np.ndarray, over: np.ndarray | None = None) -> bool:
    """A box wholly in view, of digit height, shape and ink fill, and not the end of a printed line. ``lines``: the
    printed lines found; a box wider than max_aspect counts only with none of them near it. ``over``: what reaches
    in over the page (ink_image's "left_out", widened by 2 px), or None: with it, a blob too solid for a stroke, or
    a deep one touching it, is a pen's tip."""
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
                and not (over is not None and (solid(mask, box, config) or pen_point(mask, box, over, config))))


def depth(piece: np.ndarray) -> float:
    """How deep the mask goes: the largest distance, in px, from one of its pixels to the nearest pixel off it."""
    inside = cv2.copyMakeBorder(piece, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return float(cv2.distanceTransform(inside, cv2.DIST_L2, 5).max())


def solid(mask: np.ndarray, box, config: DigitFinderConfig) -> bool:
    """The mask inside the box is a pen's cone or point: deeper than a pen stroke is wide for a digit of its height, or
    less deep and cone-shaped. (Blurred chalk or a small blurred digit whose loops fill in is as deep:
    find_digit_candidates asks only where something reaches in over the page.)"""
    x, y, w, h = box
    piece = mask[y:y + h, x:x + w]
    deep = depth(piece)
    return deep > config.max_thickness * h or (deep > config.cone_depth * h and w >= config.cone_aspect * h
                                               and cone_shaped(piece, config))


def pen_point(mask: np.ndarray, box, over: np.ndarray, config: DigitFinderConfig) -> bool:
    """The blob touches what reaches in over the page and is as deep as a pen's cone (``cone_depth`` of its
    height): a pen's point, run on from a cone or barrel whose outline is left out of the ink (a pencil's graphite at
    its wooden cone's tip, read 9 or 2: writing tune clips 56 -> 43 false boxes). A written digit that touches it is
    a stroke, thinner than that."""
    x, y, w, h = box
    piece = mask[y:y + h, x:x + w]
    return bool(cv2.bitwise_and(piece, over[y:y + h, x:x + w]).any()) and depth(piece) > config.cone_depth * h


def cone_shaped(piece: np.ndarray, config: DigitFinderConfig) -> bool:
    """The piece's mask fills ``cone_fill`` of the least triangle around it: a pen's cone, seen side-on, which the
    depth test alone let through up to 0.27 of its height deep (writing tune clips: 13 of 68 false boxes, read 1, 4
    and 7). A small digit whose loops the blur filled is as deep, but round: it fills at most 0.76 of its triangle."""
    area, _ = cv2.minEnclosingTriangle(cv2.findNonZero(piece).astype(np.float32))
    return cv2.countNonZero(piece) >= config.cone_fill * area


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
