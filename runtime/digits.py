"""Find handwritten digits in a frame with classic OpenCV and cut them out the MNIST way.

Ink may be dark on light paper or light on dark; several digits, anywhere. The threshold adapts to
uneven light, long thin strokes (ruled lines) are removed (stroke_mask.py), specks and odd shapes filtered
out (digit_like.py), touching digits cut (pieces.py, touching.py). Each crop becomes a white-on-black 28x28
image (runtime/crop.py). The settings: finder_config.py.
"""
from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from .crop import MNIST_SIZE, sharp_crop
from .digit_like import line_piece, line_sliver, looks_like_a_digit
from .finder_config import DigitFinderConfig
from .ink import ink_image
from .over_page import without_object_strokes
from .pieces import attach_bars, join_fragments, merge_stacked, split_touching, stacked_pairs
from .stroke_mask import ink_mask
from .touching import piece_near, tried_cut
from .turned import TURN_MIN, PageTurn, middle, read_upright, row_turn, uncut


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
    over = paper.get("left_out")
    digit = partial(looks_like_a_digit, ink=ink, mask=mask, config=config, lines=lines,
                    over=None if over is None else cv2.dilate(over, np.ones((5, 5), np.uint8)))
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
