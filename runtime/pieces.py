"""Ink blobs to digit boxes: pieces of one digit joined, touching digits cut apart.

Boxes are [x, y, w, h] in frame pixels; ``mask`` is the finder's binary stroke mask (stroke_mask.ink_mask).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .labels import components

if TYPE_CHECKING:
    from .finder_config import DigitFinderConfig


def cut_by_line(a, b, lines: np.ndarray | None) -> bool:
    """True when a removed printed line runs through the gap between two stacked pieces."""
    if lines is None:
        return False
    top, bottom = sorted((a, b), key=lambda box: box[1])
    y0, y1 = top[1] + top[3], bottom[1]
    x0, x1 = max(a[0], b[0]), min(a[0] + a[2], b[0] + b[2])
    return 0 < y1 - y0 <= 12 and x1 > x0 and bool(lines[y0:y1, x0:x1].any())


def merge_stacked(boxes: list[list[int]], lines: np.ndarray | None = None) -> list[list[int]]:
    """Join pieces stacked on each other (a digit broken in two, e.g. the top bar of a 5, or cut by a line).

    Left to right, each piece is held against the box joined so far that shares its columns and lies nearest above
    or below it, not against the one before it left to right: a piece of the next row whose left edge fell between two
    pieces of one digit kept them apart (wide-202 frame 580: a 3 broken in three, its lower bowl lost). Passes repeat
    while pieces join, as a joined box may reach one more."""
    merged = sorted(boxes, key=lambda b: b[0])
    while True:
        out: list[list[int]] = []
        for box in merged:
            k = nearest_above_or_below(out, box)
            if k is not None and stacked_on(out[k], box, boxes, lines):
                out[k] = union(out[k], box)
            else:
                out.append(list(box))
        if len(out) == len(merged):
            return out
        merged = out


def nearest_above_or_below(boxes: list[list[int]], box) -> int | None:
    """The index of the box that shares columns with ``box`` (shares_columns) and lies nearest above or below it, or
    None."""
    y, h = box[1], box[3]
    best, best_gap = None, None
    for k, other in enumerate(boxes):
        if not shares_columns(other, box):
            continue
        gap = max(other[1], y) - min(other[1] + other[3], y + h)
        if best_gap is None or gap < best_gap:
            best, best_gap = k, gap
    return best


def shares_columns(a, b, share: float = 0.6) -> bool:
    """Two boxes overlap across more than ``share`` of the narrower one's width: one may lie on the other."""
    return min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > share * min(a[2], b[2])


ROW_MATES = 0.6  # stacked_on: two pieces each with a row of its own, the shorter this share of the taller's height


def stacked_on(a, b, boxes: list[list[int]], lines: np.ndarray | None) -> bool:
    """Of two boxes sharing their columns, one lies on the other as pieces of one digit: they (all but) touch, or the
    joined box is not much taller than the larger piece, and the smaller has no row of its own beside it (two rows
    nearly touching: a 2 written just under a 9 of the row above, check-41 frame 504); or a printed line runs through
    the gap between them, unless the two are as tall as each other and the smaller has a row of its own: two digits
    of two rows with a line of a squared page between them (wide-201 frame 56: a 0 over a 0 read as an 8)."""
    (ay, ah), (by, bh) = a[1::2], b[1::2]
    y_gap = max(ay, by) - min(ay + ah, by + bh)
    joined = max(ay + ah, by + bh) - min(ay, by)
    taller = max(ah, bh)
    close = y_gap <= max(3, 0.08 * taller) or (y_gap < 0.3 * taller and joined <= 1.5 * taller)
    if close and not rows_apart(boxes, a, b):
        return True
    return cut_by_line(a, b, lines) and not (min(ah, bh) >= ROW_MATES * taller and rows_apart(boxes, a, b))


STACKED_GAP = 0.3  # stacked_pairs: pieces one above the other at most this share of the taller one's height apart


def stacked_pairs(boxes: list[list[int]], taken: set[int]) -> list[tuple[list[int], list[int]]]:
    """(the two boxes' union, their indices) for each two boxes one above the other, close enough to be one digit
    broken in two (a 9 whose loop the pen left open above its stem) and too far apart for merge_stacked to join:
    as far apart as two rows of digits can be, so the classifier judges the whole (stream.read_whole_or_pieces).
    Boxes in ``taken`` (already offered whole) are left out."""
    used, out = set(taken), []  # a box in one pair only
    for i, j in ((i, j) for i in range(len(boxes)) for j in range(len(boxes))):
        if i in used or j in used:
            continue
        (_, y, _, h), (_, by, _, bh) = boxes[i], boxes[j]
        if by > y and shares_columns(boxes[i], boxes[j]) and 0 <= by - (y + h) <= STACKED_GAP * max(h, bh) \
                and in_one_row(boxes, i, j):
            used.update((i, j))
            out.append((union(boxes[i], boxes[j]), [i, j]))
    return out


def in_one_row(boxes: list[list[int]], i: int, j: int) -> bool:
    """Another box beside the two spans the gap between them, top piece to bottom piece: they lie in one row of
    digits, not in two rows (where each has its own row's digits beside it)."""
    top, bottom = boxes[i], boxes[j]
    gap_top, gap_bottom = top[1] + top[3], bottom[1]
    return any(k not in (i, j) and b[1] < gap_top - 0.3 * top[3] and b[1] + b[3] > gap_bottom + 0.3 * bottom[3]
               for k, b in enumerate(boxes))


def rows_apart(boxes: list[list[int]], a, b) -> bool:
    """The shorter of two boxes one above the other has a digit of its own row beside it: another box at least half
    as tall, within twice the taller box's height to the side, its middle within the shorter box's rows and clear of
    the taller box's. The two lie in two rows of digits (a small 3 above a large 5 of the next row, read as one box
    with it: wide-204 frame 408), not one digit in pieces (a 5's bar above its body, whose row-mates span both)."""
    short, tall = sorted((a, b), key=lambda box: box[3])
    above = short[1] < tall[1]
    for other in boxes:
        if intersection(other, short) or intersection(other, tall) or other[3] < 0.5 * short[3] \
                or abs(other[0] - short[0]) > 2 * tall[3]:
            continue
        top, bottom = other[1], other[1] + other[3]
        clear = bottom <= tall[1] + 0.3 * tall[3] if above else top >= tall[1] + 0.7 * tall[3]
        if short[1] <= (top + bottom) / 2 <= short[1] + short[3] and clear:
            return True
    return False


def box_gap(a, b) -> int:
    """Pixels between two boxes (0 when they touch or overlap), the larger of the two axes."""
    dx = max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2])
    dy = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
    return max(0, dx, dy)


def intersection(a, b) -> int:
    """Pixels two boxes share."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy


def union(a, b) -> list[int]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return [x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0]


def join_fragments(boxes: list[list[int]], too_short: float = 0.0) -> list[list[int]]:
    """Join a fragment to the piece beside it when a faint or blurred stroke broke one digit apart.

    A fragment is clearly shorter than its neighbour (two digits of one row are about as tall as
    each other and stay apart), lies within a few pixels of it, and the joined box is still shaped
    like one digit: not wider than tall, not much taller than the larger piece. Two pieces that are both shorter
    than ``too_short`` (no digit is) join whatever their heights, into a box up to 2.2 times the taller one's
    height: a small 1 written at 45 degrees and broken in the middle (wide-205 frame 398).
    """
    boxes = sorted(boxes, key=lambda b: -b[2] * b[3])
    joined = True
    while joined:
        joined = False
        for i, j in ((i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))):
            a, b = boxes[i], boxes[j]
            tall, short = max(a[3], b[3]), min(a[3], b[3])
            u = union(a, b)
            x_overlap = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
            gap = box_gap(a, b)
            # pieces above one another (a bar, a loop) or a speck may be a stroke apart; side by side
            # they must nearly touch (a 4 written in two strokes), or they are a short digit beside a tall one
            stacked_or_speck = x_overlap >= 0.3 * min(a[2], b[2]) or short < 0.5 * tall
            near = gap <= max(2, (0.12 if stacked_or_speck else 0.04) * tall)
            small = tall < too_short
            if (short < 0.7 * tall or small) and near and u[2] <= 1.1 * u[3] \
                    and u[3] <= (2.2 if small else 1.5) * tall and not (stacked_or_speck and rows_apart(boxes, a, b)):
                boxes[i] = u
                del boxes[j]
                joined = True
                break
    return sorted(boxes, key=lambda b: b[0])


def attach_bars(boxes: list[list[int]], config: DigitFinderConfig) -> tuple[list[list[int]], set[tuple]]:
    """(boxes, the joined boxes, which are not to be split again).

    A flat stroke standing apart above the upper right of a taller piece is joined to it: the bar of a 5 (or
    a 7) that the pen lifted off for. Only a piece too flat to be a digit itself is joined, within 0.3 of the
    digit's height of its top, reaching right of its middle, and only when the two make one digit-shaped box.
    """
    boxes = sorted(boxes, key=lambda b: b[0])
    bars = [b for b in boxes if b[2] > config.max_aspect * b[3]]
    joined = set()
    for bar in bars:
        bx, by, bw, bh = bar
        best = None
        for body in boxes:
            x, y, w, h = body
            if body is bar or bh > 0.3 * h or body in bars:
                continue
            above = y - (by + bh)  # > 0: the bar floats above the body's top
            u = union(bar, body)
            if (-0.3 * h <= above <= 0.3 * h and x <= bx <= x + w + 0.35 * h and bx + bw > x + 0.5 * w
                    and u[2] <= config.bar_aspect * u[3] and u[3] <= 1.5 * h
                    and (best is None or above < best[0])):
                best = (above, body)
        if best is not None:
            whole = union(bar, best[1])
            boxes[boxes.index(best[1])] = whole
            boxes.remove(bar)
            joined.add(tuple(whole))
    return boxes, joined


ONE_BESIDE_HEIGHT = 0.75  # a_one_beside_a_digit: each piece at least this share of the blob's height
ONE_BESIDE_WIDTH = 0.5  # ... and one of them narrower than this (width / height): a 1, its foot or flag cut with it


def split_touching(box: list[int], mask: np.ndarray, config: DigitFinderConfig) -> list[list[int]]:
    """Cut a blob too wide for one digit where its ink is thinnest: digits written close together touch.

    Cuts only where a clear valley exists (a column with at most half the typical ink), so a
    wide single digit (a flat 5, a long-barred 7) stays whole. A blob no wider than one digit (from
    ``one_split_aspect``) is cut only into a 1 and the digit it runs into.
    """
    _, _, w, h = box
    if w <= config.one_split_aspect * h or h < 4:
        return [box]
    if w <= config.split_aspect * h:  # one digit wide: two only if one of them is a 1
        out = split_touching_at(box, mask)
        return out if a_one_beside_a_digit(out, h) else [box]
    return split_touching_at(box, mask)


def a_one_beside_a_digit(pieces: list[list[int]], h: int) -> bool:
    """Two pieces, both about as tall as the blob, one as narrow as a 1: a cut blob no wider than one digit is
    two only then. A single digit cut at a valley leaves a short piece (the end of a 5's or a 7's bar, a 4's
    stroke, half a 0)."""
    return (len(pieces) == 2 and all(p[3] >= ONE_BESIDE_HEIGHT * h for p in pieces)
            and min(p[2] / p[3] for p in pieces) < ONE_BESIDE_WIDTH)


def split_touching_at(box: list[int], mask: np.ndarray) -> list[list[int]]:
    """split_touching's cut: at the bridges between pieces, or at the clearest valleys of the column ink."""
    x, y, w, h = box
    pieces = min(6, max(2, int(round(w / (0.7 * h)))))
    apart = split_at_bridges(box, mask)
    if len(apart) > 1:
        return apart
    columns = cv2.blur(mask[y:y + h, x:x + w].sum(axis=0, dtype=np.float32)[None, :], (3, 1))[0]
    typical = np.median(columns[columns > 0]) if (columns > 0).any() else 0
    cuts = [0]
    for i in range(1, pieces):
        lo, hi = int(w * (i - 0.4) / pieces), int(w * (i + 0.4) / pieces)
        if hi <= lo:
            continue
        at = lo + int(np.argmin(columns[lo:hi]))
        if columns[at] <= typical / 2:
            cuts.append(at)
    cuts.append(w)
    out = []
    for left, right in zip(cuts, cuts[1:]):
        rows = np.flatnonzero(mask[y:y + h, x + left:x + right].any(axis=1))
        if right - left >= 2 and len(rows):
            out.append([x + left, y + int(rows[0]), right - left, int(rows[-1] - rows[0] + 1)])
    return out


BRIDGED_SHARE = 0.85  # split_at_bridges: the pieces' boxes hold at least this share of the blob's ink


def split_at_bridges(box: list[int], mask: np.ndarray) -> list[list[int]]:
    """Digits that nearly touch are joined only by a thin bridge (blur, a pen that dragged): one
    erosion parts them. Pieces under a third of the blob's height (the bar of a 5) do not count, and
    the pieces must stand side by side: a ring (a 0, a loop) broken at a thin point is one digit."""
    x, y, w, h = box
    blob = mask[y:y + h, x:x + w]
    eroded = cv2.erode(blob, np.ones((3, 3), np.uint8))
    if cv2.countNonZero(eroded) < 0.3 * cv2.countNonZero(blob):
        return [box]  # thin strokes: erosion would break any stroke, not only a bridge
    n, _, stats, _ = components(eroded)
    parts = sorted((int(px), int(py), int(pw), int(ph)) for px, py, pw, ph, _ in stats[1:] if ph >= h / 3)
    side_by_side = all(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) < 0.3 * min(a[2], b[2])
                       for a, b in zip(parts, parts[1:]))
    if len(parts) < 2 or not side_by_side:
        return [box]
    pieces = [[max(0, px - 1), max(0, py - 1), min(pw + 2, w - px + 1), min(ph + 2, h - py + 1)]
              for px, py, pw, ph in parts]
    held = np.zeros_like(blob)
    for px, py, pw, ph in pieces:
        held[py:py + ph, px:px + pw] = blob[py:py + ph, px:px + pw]
    if cv2.countNonZero(held) < BRIDGED_SHARE * cv2.countNonZero(blob):
        return [box]  # the cut would leave much of the blob out: a stroke erosion broke, not a bridge
    return [[x + px, y + py, pw, ph] for px, py, pw, ph in pieces]
