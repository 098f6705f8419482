"""Touching digits with no clear valley between them: a cut along a slanted line tried, the model to say whether the
blob is two digits.

A 1 leaning into the digit beside it, or two digits written so close that their strokes overlap over a long run,
leave no column of thin ink for ``pieces.split_touching``: the blob is read as one digit (a 2 and a 5 read as a 6).
For a model with a pair class (a "two digits" class learned from touching pairs of training digits,
``edgetl.clutter.touching_pairs``; its card's ``pair_class``), such a blob is cut where a straight line, upright or
slanted, crosses the least ink, and its pieces are offered beside it; ``stream.read_whole_or_pieces`` keeps the
pieces when the whole reads as two digits and each piece as a digit. A blob cut at a valley is read in pieces, not
whole, when its whole reads as two digits.

No cut through a loop is tried (the halves of a 0 read surely as a 6 and a 7): the cut is the least-ink line among
those that miss every loop, so a 0 written into a 6 is still cut between them (tune clips +17 digits, check +16,
writing +8, turned -2; before 2026-12-07 a blob whose least ink lay across a loop was not cut at all). Where that
line leaves a piece too short or too light to be a digit (a 7 whose stem runs into an 8: the least ink lies along
the stem), the next lines by ink crossed are tried, up to CUTS_TRIED, and the first that leaves two digit-like pieces
is offered (tune clips +19 digits, check +14; turned.uncut keeps such pieces from hiding a page's turn).

Before the pair class, no score on the pieces parted single wide digits from pairs (bench/README.md, "Touching
digits cut where no valley parts them"); with it, the tune clips read 35 / 97 more digits on two training seeds and
the check clips 32 / 37, for 15-20% more false detections and fewer misreads (bench/README.md, "Touching digits
taught to the model").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

TRY_ASPECT = 0.9  # a blob at least this wide (width / height) that no valley parted is tried cut
SHEARS = (-0.4, -0.2, 0.0, 0.2, 0.4)  # the cut's slant: px across per px down
SLANTS = tuple(sorted(SHEARS, key=abs))  # the same, upright first: on a tie in ink, the more upright line is tried
CUT_SPAN = (0.2, 0.8)  # where the cut may cross the blob's middle row, as shares of its width
PIECE_HEIGHT = 0.6  # each piece at least this share of the blob's height ...
PIECE_INK = 0.1  # ... and of its ink
CUTS_TRIED = 30  # lines tried in order of ink crossed, until one leaves two digit-like pieces (tune clips +19 digits,
# check +14, against the least-ink line alone)
LOOP_AREA = 0.01  # a hole in the blob this share of its box or larger is a loop: a cut through it halves one digit


@dataclass(frozen=True)
class SlantCut:
    """A cut through a blob's box: the line x = at + shear * (y - middle), in box-local pixels."""

    box: tuple[int, int, int, int]
    at: float
    shear: float

    def left(self) -> np.ndarray:
        """Pixels of the box left of the cut (True), box-local."""
        _, _, w, h = self.box
        rows = np.arange(h, dtype=np.float32)[:, None] - h / 2
        return np.arange(w, dtype=np.float32)[None, :] < self.at + self.shear * rows


def least_ink_cut(box: list[int], mask: np.ndarray, avoid: np.ndarray | None = None) -> SlantCut | None:
    """The straight line through the blob's middle span that crosses the fewest stroke pixels (upright first on a
    tie, then nearest the middle), missing every pixel of ``avoid`` (box-local) where given; None when the box is too
    small to cut or every line crosses ``avoid``."""
    return next(iter(least_ink_cuts(box, mask, avoid, 1)), None)


def least_ink_cuts(box: list[int], mask: np.ndarray, avoid: np.ndarray | None = None, most: int = 1) -> list[SlantCut]:
    """Up to ``most`` lines through the blob's middle span in order of the stroke pixels they cross (upright first
    on a tie, then nearest the middle), each missing every pixel of ``avoid`` (box-local) where given."""
    x, y, w, h = box
    if h < 8 or w < 6:
        return []
    blob = (mask[y:y + h, x:x + w] > 0).view(np.uint8)
    lo, hi = int(CUT_SPAN[0] * w), int(CUT_SPAN[1] * w) + 1
    crossings, orders, ats = [], [], []
    for order, shear in enumerate(SLANTS):
        pad = int(np.ceil(abs(shear) * h / 2))
        # shifting each row by -shear * (y - middle) makes the slanted lines columns
        to_columns = np.float32([[1, -shear, pad + shear * h / 2], [0, 1, 0]])
        crossed = cv2.warpAffine(blob, to_columns, (w + 2 * pad, h), flags=cv2.INTER_NEAREST
                                 ).sum(axis=0, dtype=np.int32)[pad + lo:pad + hi].astype(np.float64)
        if avoid is not None:
            blocked = cv2.warpAffine(avoid.view(np.uint8), to_columns, (w + 2 * pad, h), flags=cv2.INTER_NEAREST)
            crossed[blocked.any(axis=0)[pad + lo:pad + hi]] = np.inf
        crossings.append(crossed)
        orders.append(np.full(hi - lo, order))
        ats.append(np.arange(lo, hi))
    crossed, order, at = np.concatenate(crossings), np.concatenate(orders), np.concatenate(ats)
    ranked = np.lexsort((at, np.abs(at - w / 2), order, crossed))  # least ink, upright first, nearest the middle
    ranked = ranked[np.isfinite(crossed[ranked])][:most]
    return [SlantCut((x, y, w, h), float(at[k]), float(SLANTS[order[k]])) for k in ranked]


def loops(box: list[int], mask: np.ndarray) -> np.ndarray:
    """The blob's holes (paper its ink encloses) of at least LOOP_AREA of its box, box-local."""
    x, y, w, h = box
    blob = cv2.copyMakeBorder(mask[y:y + h, x:x + w], 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(blob, None, (0, 0), 255)  # the paper around the blob, from the border in
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(blob), connectivity=4)
    kept = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= LOOP_AREA * w * h]
    return np.isin(labels, kept)[1:-1, 1:-1] if kept else np.zeros((h, w), bool)


def through_a_loop(cut: SlantCut, mask: np.ndarray) -> bool:
    """The cut crosses one of the blob's loops: it would halve a 0, a 6, an 8 or a 9 (halves the classifier reads
    surely as a 6 and a 7), not part two digits."""
    holes = loops(list(cut.box), mask)
    if not holes.any():
        return False
    _, _, w, h = cut.box
    rows = np.arange(h)
    columns = np.clip(np.round(cut.at + cut.shear * (rows - h / 2)).astype(int), 0, w - 1)
    return bool(holes[rows, columns].any())


def cut_pieces(cut: SlantCut, mask: np.ndarray) -> list[list[int]]:
    """The boxes of the blob's ink either side of the cut, in frame pixels, or [] when one side is too short or
    holds too little ink to be a digit."""
    x, y, w, h = cut.box
    blob = mask[y:y + h, x:x + w] > 0
    left = cut.left()
    total = np.count_nonzero(blob)
    pieces = []
    for side in (blob & left, blob & ~left):
        if np.count_nonzero(side) < PIECE_INK * total:
            return []
        px, py, pw, ph = cv2.boundingRect(side.view(np.uint8))
        if ph < PIECE_HEIGHT * h:
            return []
        pieces.append([x + px, y + py, pw, ph])
    return pieces


def two_sided(cuts: list[SlantCut], mask: np.ndarray) -> np.ndarray:
    """For each cut of one blob, whether cut_pieces would keep both sides (each holds PIECE_INK of the blob's ink and
    spans PIECE_HEIGHT of its rows), all cuts at once from the rows' running ink counts: tried_cut weighs up to
    CUTS_TRIED lines a blob, and most of the blobs it tries are single wide digits where every line fails."""
    x, y, w, h = cuts[0].box
    blob = mask[y:y + h, x:x + w] > 0
    before = np.zeros((h, w + 1), np.int32)  # before[r, k]: ink in row r left of column k
    np.cumsum(blob, axis=1, out=before[:, 1:])
    rows = np.arange(h, dtype=np.float32) - h / 2
    # the same float32 arithmetic as SlantCut.left, so each row splits at the same column
    edges = np.float32([c.at for c in cuts])[:, None] + np.float32([c.shear for c in cuts])[:, None] * rows
    left = before[np.arange(h), np.clip(np.ceil(edges), 0, w).astype(np.intp)]
    right = before[:, w] - left
    total = int(before[:, w].sum())
    ok = np.ones(len(cuts), bool)
    for side in (left, right):
        ok &= side.sum(axis=1) >= PIECE_INK * total
        inked = side > 0
        first, last = inked.argmax(axis=1), h - 1 - inked[:, ::-1].argmax(axis=1)
        ok &= inked.any(axis=1) & (last - first + 1 >= PIECE_HEIGHT * h)
    return ok


def piece_near(near: np.ndarray, cut: SlantCut, keep_left: bool) -> np.ndarray:
    """``near`` (where a crop reads ink) without the other side of the cut inside the blob's box, so a piece's crop
    holds none of its neighbour's strokes."""
    x, y, w, h = cut.box
    out = near.copy()
    left = cut.left()
    out[y:y + h, x:x + w][left if not keep_left else ~left] = 0
    return out


def tried_cut(blob: list[int], mask: np.ndarray, digit: Callable) -> tuple[list[list[int]], SlantCut] | None:
    """(the two pieces, the cut) of a blob the finder would read whole, wide enough to be two touching digits: the
    first of the CUTS_TRIED lines that cross the least ink and miss every loop whose two pieces both look like digits
    (``digit``); None otherwise."""
    if blob[2] < TRY_ASPECT * blob[3]:
        return None
    cuts = least_ink_cuts(blob, mask, avoid=loops(blob, mask), most=CUTS_TRIED)
    for cut in (cut for cut, ok in zip(cuts, two_sided(cuts, mask) if cuts else []) if ok):
        pieces = cut_pieces(cut, mask)
        if pieces and all(digit(piece) for piece in pieces):
            return pieces, cut
    return None


PAIR_SHARE = 0.5  # a blob is two digits when its "two digits" share is at least this: the pieces of its cut are read
PIECE_SCORE = 0.5  # ... when each reads a digit at least this surely (its own probability, no class's share taken out)
# (bench/README.md, "Touching digits taught to the model": tune clips +35 / +97 digits on two training seeds)


def pair_class(card) -> str | None:
    """The card's class for two digits written into each other, if its model has one (cards before it have none)."""
    return getattr(card, "pair_class", None)


def pair_shares(card, outputs: np.ndarray) -> np.ndarray:
    name = pair_class(card)
    return outputs[:, card.class_names.index(name)] if name else np.zeros(len(outputs))


def not_digit_columns(card) -> list[int]:
    """The output columns of the classes that are no digit: the reject class and the pair class, where the card has
    them."""
    return [card.class_names.index(name) for name in (card.reject_class, pair_class(card)) if name]


def pieces_read(card, piece_outputs: np.ndarray) -> bool:
    """Each piece of a cut reads as a digit at PIECE_SCORE or more."""
    digits = np.delete(piece_outputs, not_digit_columns(card), axis=1)
    return float(digits.max(axis=1).min()) >= PIECE_SCORE
