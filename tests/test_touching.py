"""Touching digits: for a model with a "two digits" class, a wide blob no valley parts is cut along a slanted line
(runtime/touching.py), and the pieces replace their blob when it reads as two digits (stream.read_whole_or_pieces)."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from edgetl.runtime.crop import sharp_crop
from edgetl.runtime.digits import digit_candidates, find_digit_candidates
from edgetl.runtime.reuse import ReadingCache
from edgetl.runtime.stream import digit_probabilities, read_whole_or_pieces
from edgetl.runtime.touching import (CUTS_TRIED, PAIR_SHARE, PIECE_SCORE, cut_pieces, least_ink_cut, least_ink_cuts,
                                     loops, through_a_loop, two_sided)

INK = (30, 30, 30)
CLASSES = [str(d) for d in range(10)] + ["not a digit", "two digits"]
CARD = SimpleNamespace(class_names=CLASSES, reject_class="not a digit", reject_threshold=0.9, pair_class="two digits")


def page(*digits: tuple[str, int]) -> np.ndarray:
    frame = np.full((480, 640, 3), 235, np.uint8)
    for text, x in digits:
        cv2.putText(frame, text, (x, 260), cv2.FONT_HERSHEY_SIMPLEX, 2.6, INK, 6, cv2.LINE_AA)
    return frame


def test_touching_digits_with_no_valley_are_offered_cut_and_each_piece_reads_only_its_own_ink():
    """A 4 and a 7 written so close that their bars run into each other: no column of thin ink parts them, so
    before the tried cut the finder boxed them as one digit, and still does for a model without a pair class."""
    frame = page(("4", 200), ("7", 234))
    assert digit_candidates(frame)[0] == [[202, 208, 75, 52]]
    boxes, crops, splits = digit_candidates(frame, try_cuts=True)
    assert boxes == [[202, 208, 54, 52], [247, 208, 30, 52]], boxes
    assert [(whole, pieces, tried) for whole, _, pieces, tried in splits] == [([202, 208, 75, 52], [0, 1], True)]
    lone_four = digit_candidates(page(("4", 200)))[1][0]
    paper: dict = {}
    found, _, mask, _ = find_digit_candidates(frame, paper_out=paper, try_cuts=True)
    with_the_seven = sharp_crop(frame, paper, cv2.dilate(mask, np.ones((5, 5), np.uint8)), found[0])
    # the 4's box reaches past the slanted cut; its crop leaves out the 7's ink there
    on_its_own = np.abs(crops[0].astype(int) - lone_four).mean()
    assert on_its_own < 0.7 * np.abs(with_the_seven.astype(int) - lone_four).mean(), on_its_own


def test_the_stream_tries_cuts_only_for_a_model_whose_card_names_a_pair_class():
    from edgetl.runtime.stream import digit_batch

    frame = page(("4", 200), ("7", 234))
    card = dict(height=28, width=28, channels=1, class_names=CLASSES, reject_class="not a digit", reject_threshold=0.9)
    with_pair = SimpleNamespace(card=SimpleNamespace(**card, pair_class="two digits"))
    without = SimpleNamespace(card=SimpleNamespace(**card))  # a card from before the class: no pair_class at all
    batch, boxes, splits = digit_batch(with_pair, frame, None)
    assert boxes == [[202, 208, 54, 52], [247, 208, 30, 52]] and splits == [([202, 208, 75, 52], [0, 1], True)]
    assert batch.shape == (3, 28, 28, 1)  # both pieces, then the whole
    batch, boxes, splits = digit_batch(without, frame, None)
    assert boxes == [[202, 208, 75, 52]] and splits == [] and batch.shape == (1, 28, 28, 1)


def test_a_zero_is_not_cut_through_its_loop():
    """The least ink across a 0 is where a line crosses its ring top and bottom: the halves read surely as a 6
    and a 7 (tune clips: 1,188 of the 1,718 single digits tried before the loop rule were 0s)."""
    frame = np.full((480, 640, 3), 235, np.uint8)
    cv2.ellipse(frame, (300, 230), (45, 40), 0, 0, 360, INK, 6, cv2.LINE_AA)  # wider than tall
    boxes, _, mask, splits = find_digit_candidates(frame, try_cuts=True)
    assert boxes == [[252, 187, 97, 87]] and splits == []
    assert through_a_loop(least_ink_cut(boxes[0], mask), mask)


def test_a_pair_whose_least_ink_lies_across_a_loop_is_cut_where_a_line_misses_the_loops():
    """A 0 written into a 6: the line that crosses the least ink runs through the 0's ring (the halves of a 0 read as
    a 6 and a 7), and before 2026-12-07 no cut was tried at all: the blob was read as one digit, most often whatever
    the pair looked like (tune clips: 0|9 read 8, 3|6 read 6), though the model read it "two digits" at 0.99. Now the
    least-ink line among those that miss every loop is tried, the model to choose as for any tried cut."""
    frame = page(("0", 200), ("6", 236))
    boxes, _, mask, splits = find_digit_candidates(frame, try_cuts=True)
    assert [(whole, pieces) for whole, pieces, _ in splits] == [([203, 207, 79, 54], [0, 1])], splits
    assert through_a_loop(least_ink_cut([203, 207, 79, 54], mask), mask)  # the cut tried before, refused
    assert not through_a_loop(splits[0][2], mask)
    # each piece is the glyph written alone, to a few pixels: the 0 at [203, 207, 42, 54], the 6 at [239, 208, 43, 53]
    assert boxes == [[203, 207, 43, 54], [241, 208, 41, 53]], boxes


def test_a_pair_whose_least_ink_line_leaves_a_sliver_is_cut_at_the_next_line_that_leaves_two_digits():
    """A 7 whose bar runs into an 8: the line crossing the least ink runs down the 7's stem and leaves a piece too
    short to be a digit, and before 2026-12-07 no cut was offered (wide-200..205: 21 box-frames read "two digits" at
    0.9 or more, never cut). The next lines by ink crossed are tried until one leaves two digit-like pieces."""
    frame = page(("7", 200), ("8", 234))
    boxes, _, mask, splits = find_digit_candidates(frame, try_cuts=True)
    whole = [206, 207, 74, 54]
    assert [(blob, pieces) for blob, pieces, _ in splits] == [(whole, [0, 1])]
    assert cut_pieces(least_ink_cut(whole, mask, avoid=loops(whole, mask)), mask) == []  # the least-ink line's
    alone = [find_digit_candidates(page(glyph))[0][0] for glyph in (("7", 200), ("8", 234))]
    assert boxes == alone == [[206, 208, 37, 52], [237, 207, 43, 54]], boxes  # each piece is its glyph written alone
    assert least_ink_cuts(whole, mask, avoid=loops(whole, mask), most=CUTS_TRIED)[0] == \
        least_ink_cut(whole, mask, avoid=loops(whole, mask))  # the ranked lines start with the least-ink one


def test_a_pair_left_once_a_flat_stroke_beside_it_is_parted_off_is_still_tried_cut():
    """A 4 and a 7 touching, the 7's bar running on far to the right (tune-104 frame 111: a 0 and a 5 whose bar ran
    on): a valley parts the long bar from the pair, the bar is no digit, and the pair was left as one box that read
    "two digits" at 0.98, its digits torn under the min score and the box dropped. The one piece left is tried cut as
    a blob is (tune clips +13 digits, no false detection more)."""
    frame = page(("4", 200), ("7", 234))
    cv2.line(frame, (270, 211), (320, 211), INK, 5)
    boxes, _, _, splits = find_digit_candidates(frame, try_cuts=True)
    assert [(whole, pieces, cut is not None) for whole, pieces, cut in splits] == [([202, 208, 76, 52], [0, 1], True)]
    assert boxes == [[202, 208, 54, 52], [247, 208, 31, 52]], boxes


def test_the_cuts_weighed_all_at_once_keep_exactly_the_ones_cut_pieces_keeps():
    """tried_cut weighs its CUTS_TRIED lines with two_sided (running ink counts, every line at once) before cutting
    any: it must keep exactly the lines whose two sides cut_pieces keeps, whatever the blob (random scribbles of 1-4
    strokes, 30-90 px, pens 1-6 px; a side too light, too short or empty among them)."""
    rng = np.random.default_rng(7)
    kept = weighed = 0
    for _ in range(60):
        h, w = int(rng.integers(30, 90)), int(rng.integers(30, 120))
        mask = np.zeros((h + 20, w + 20), np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            points = (rng.random((int(rng.integers(2, 6)), 2)) * [w, h] + 10).astype(np.int32)
            cv2.polylines(mask, [points], False, 255, int(rng.integers(1, 7)))
        box = list(cv2.boundingRect(mask))
        cuts = least_ink_cuts(box, mask, most=CUTS_TRIED)
        if not cuts:
            continue
        by_pieces = [bool(cut_pieces(cut, mask)) for cut in cuts]
        assert two_sided(cuts, mask).tolist() == by_pieces
        kept, weighed = kept + sum(by_pieces), weighed + len(cuts)
    assert 0 < kept < weighed  # both verdicts met, not one throughout


def reading(digit: int | None, score: float, pair: float = 0.0) -> np.ndarray:
    """One output row: ``score`` on ``digit`` (None: the reject class), ``pair`` on the "two digits" class, the rest
    spread evenly over the other classes."""
    row = np.full(len(CLASSES), (1 - score - pair) / (len(CLASSES) - 2))
    row[-1] = pair
    row[len(CLASSES) - 2 if digit is None else digit] = score
    return row


def read_split(left: np.ndarray, right: np.ndarray, whole: np.ndarray, tried: bool) -> list:
    boxes = [[10, 10, 30, 40], [36, 10, 30, 40]]
    batch = np.arange(3, dtype=np.uint8)[:, None, None, None] * np.ones((3, 28, 28, 1), np.uint8)
    outputs = np.stack([left, right, whole])
    return read_whole_or_pieces(CARD, boxes, batch, outputs, [([10, 10, 56, 40], [0, 1], tried)])[0]


def test_the_pieces_of_a_tried_cut_replace_their_blob_only_when_it_reads_as_two_digits():
    pieces, blob = [[10, 10, 30, 40], [36, 10, 30, 40]], [[10, 10, 56, 40]]
    assert read_split(reading(4, 0.99), reading(7, 0.95), reading(8, 0.3, pair=0.6), True) == pieces
    assert read_split(reading(4, 0.99), reading(7, 0.95), reading(8, 0.5, pair=0.4), True) == blob  # one digit
    assert read_split(reading(6, 0.99), reading(7, 0.99), reading(0, 0.98), True) == blob  # a 0's halves: one digit
    assert read_split(reading(4, 0.99), reading(7, PIECE_SCORE - 0.05), reading(8, 0.1, pair=0.9), True) == blob
    assert PAIR_SHARE == 0.5 and PIECE_SCORE == 0.5


def test_a_blob_cut_at_a_valley_is_read_in_pieces_when_it_reads_as_two_digits():
    """Even when its digit, with the pair class's share taken out, is sure enough to be read whole."""
    pieces, blob = [[10, 10, 30, 40], [36, 10, 30, 40]], [[10, 10, 56, 40]]
    assert read_split(reading(4, 0.99), reading(7, 0.95), reading(8, 0.4, pair=0.59), False) == pieces
    assert read_split(reading(4, 0.99), reading(7, 0.95), reading(8, 0.99), False) == blob
    whole_digits, rejected = digit_probabilities(CARD, reading(8, 0.4, pair=0.59)[None])
    assert whole_digits[0].argmax() == 8 and whole_digits[0].max() > 0.97 and not rejected[0]
    assert whole_digits[0, -1] == 0.0  # left whole, a blob read as two digits reads as the digit it most resembles


def test_an_unsure_piece_of_a_tried_cut_is_read_once():
    """A blob's pieces are read beside it in every frame it is tried; an unsure piece would be read again each
    frame (as an unsure digit is, for its track's vote) and cost a model row a frame on a still page."""
    calls = []

    class Model:
        def predict_batch(self, batch):
            calls.append(len(batch))
            return np.tile(reading(4, 0.6), (len(batch), 1))

    cache = ReadingCache(lambda outputs: np.zeros(len(outputs), bool))  # nothing is sure
    crops = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1)).astype(np.uint8)
    boxes = [[10, 10, 30, 40], [36, 10, 30, 40]]
    for _ in range(3):
        cache.predict(Model(), boxes, crops, hypotheses=frozenset({1}))
    assert calls == [2, 1, 1]  # the digit's row read every frame, the piece's once


def test_a_blob_too_wide_for_one_digit_is_cut_into_two_not_dropped():
    """A wide 0 with a 4 written into its side (wide-204 frame 514): no valley parts them and the blob, 2.3 times as
    wide as tall, is no digit; it was dropped whole, both digits lost. Now it is cut where a line crosses the least
    ink, missing the 0's loop, whatever the model (a card without a pair class too)."""
    frame = np.full((480, 640, 3), 225, np.uint8)
    cv2.ellipse(frame, (260, 240), (46, 28), 0, 0, 360, INK, 3, cv2.LINE_AA)
    cv2.line(frame, (322, 212), (300, 252), INK, 3, cv2.LINE_AA)  # the 4's slanted stroke meets the 0
    cv2.line(frame, (300, 252), (352, 250), INK, 3, cv2.LINE_AA)
    cv2.line(frame, (340, 214), (337, 272), INK, 3, cv2.LINE_AA)
    boxes = find_digit_candidates(frame)[0]
    assert len(boxes) == 2, boxes  # before: none
    zero, four = boxes
    assert zero[0] <= 214 and zero[0] + zero[2] >= 306  # the 0 whole, its loop uncut
    assert four[0] >= 306 and four[0] + four[2] >= 340  # the 4's upright and bar
