"""Two digits the finder dropped on the tune clips: a narrow 3 beside a margin line, taken for a piece of the line
(wide-200 frame 223), and a 9 whose thin loop one erosion breaks apart, cut down to its tail (wide-203 frame 223)."""
from __future__ import annotations

import cv2
import numpy as np

from edgetl.runtime.digit_like import continues_beyond, line_piece

from edgetl.runtime.digits import DigitFinderConfig
from edgetl.runtime.pieces import split_at_bridges

H, W = 480, 640


def box_of(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]


def test_a_narrow_three_touching_a_margin_is_not_a_line_piece_and_the_margin_still_is():
    margin, three = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
    cv2.line(margin, (118, 0), (121, H - 1), 120, 3)
    cv2.ellipse(three, (104, 175), (14, 22), 0, -100, 90, 190, 4, cv2.LINE_AA)  # its two bowls end on the margin
    cv2.ellipse(three, (104, 220), (16, 24), 0, -90, 110, 190, 4, cv2.LINE_AA)
    ink, box = np.maximum(margin, three), box_of(three)
    config = DigitFinderConfig()
    assert box[2] < config.thin * box[3]  # thin enough to be taken for a line piece
    assert continues_beyond(ink, box)  # and the margin goes on past its top: the old rule dropped it
    assert not line_piece(ink, box, config)
    assert line_piece(ink, [117, 300, 6, 80], config)  # a piece of the margin itself


def test_a_loop_that_erosion_breaks_apart_is_not_cut_down_to_its_tall_strokes():
    mask = np.zeros((70, 110), np.uint8)
    cv2.ellipse(mask, (35, 28), (24, 16), 0, 0, 360, 255, 1)  # a 9's loop in a pen that thins and thickens
    for start in range(0, 360, 45):
        cv2.ellipse(mask, (35, 28), (24, 16), 0, start, start + 25, 255, 4)
    cv2.line(mask, (59, 28), (52, 62), 255, 5)  # its tail
    cv2.line(mask, (59, 20), (78, 14), 255, 1)  # a thin stroke on to a mark beside it
    cv2.line(mask, (79, 10), (81, 40), 255, 5)
    box = box_of(mask)
    assert split_at_bridges(box, mask) == [box]  # the loop's bits are short: the tail and the mark held 72% of it


def test_two_digits_joined_by_a_thin_bridge_are_still_parted():
    mask = np.zeros((70, 110), np.uint8)
    cv2.ellipse(mask, (28, 35), (14, 24), 0, 0, 360, 255, 5)  # a 0
    cv2.line(mask, (60, 12), (60, 58), 255, 5)  # a 1
    cv2.line(mask, (42, 35), (58, 35), 255, 1)  # the pen dragged between them
    box = box_of(mask)
    pieces = split_at_bridges(box, mask)
    assert len(pieces) == 2 and pieces[0][0] == box[0] and pieces[1][0] + pieces[1][2] == box[0] + box[2], pieces


def test_the_edge_of_a_margin_left_beside_its_line_mask_is_a_sliver_and_a_fine_one_across_a_ruled_line_is_not():
    from edgetl.runtime.digit_like import line_sliver

    config = DigitFinderConfig()
    lines = np.zeros((H, W), np.uint8)
    cv2.line(lines, (121, 0), (115, 200), 255, 3)  # the margin as the line search drew it, a pixel off the line
    cv2.line(lines, (0, 300), (W - 1, 300), 255, 3)  # a ruled line
    assert line_sliver([119, 87, 1, 10], lines, config)  # what it left of the margin's edge (wide-201 frame 249)
    assert not line_sliver([400, 270, 2, 60], lines, config)  # a 1 in a fine pencil, across the ruled line
    assert not line_sliver([119, 87, 6, 40], lines, config)  # wider than a sliver: a stroke along the margin
    assert not line_sliver([119, 87, 1, 10], np.zeros_like(lines), config)
    # a ruled line's edge left above its line mask, at the frame's right edge: joined to a 7 beside it, the 7's box
    # ran to the edge and the 7 was dropped as not wholly in view (wide-202 frame 367)
    assert line_sliver([619, 297, 21, 2], lines, config)
    assert not line_sliver([619, 297, 21, 6], lines, config)  # taller than a sliver: a 7's bar along the line
    assert not line_sliver([619, 250, 21, 2], lines, config)  # a flat stroke away from any line


def test_a_printed_line_broken_into_dashes_by_a_dim_pages_noise_is_found_whole():
    """In a dim, noisy frame the weak stroke mask holds a faint ruled line or margin as dashes (tune-100 frames 60-69:
    10-20 px gaps); found as one line across gaps up to 12 px, its pieces no longer read as 1s, 4s and 7s (tune clips
    65 -> 44 false detections off the digits). A row of digits 14 px apart is not a line."""
    from edgetl.runtime.lines import draw_segments, line_segments

    def line_mask(mask: np.ndarray) -> np.ndarray:
        segments = line_segments(mask, 0.25 * W)
        return draw_segments(mask.shape, segments, np.full(len(segments), 255))

    mask = np.zeros((H, W), np.uint8)
    for x in range(0, W, 20):  # 10 px of line, 10 px of gap
        mask[200, x:x + 10] = 255
    for y in range(0, H, 18):  # a margin: 8 px of line, 10 px of gap
        mask[y:y + 8, 100:102] = 255
    found = line_mask(mask)
    assert (found[200, 30:W - 30] > 0).mean() > 0.95 and (found[30:H - 30, 100] > 0).mean() > 0.95
    row = np.zeros((H, W), np.uint8)
    for x in range(60, W - 60, 44):  # the bases of digits 30 px wide, 14 px apart
        row[350, x:x + 30] = 255
    assert not line_mask(row).any()


def test_each_printed_line_is_judged_by_its_own_ink_so_a_dark_margin_among_faint_ruled_lines_is_a_line():
    """A stroke along a printed line is ink 1.5 times darker than the line's own. Judged by all the lines' ink together,
    a red margin twice as dark as the faint ruled lines found beside it (wide-201 frames 342-343, an empty page) stayed
    a stroke, and its pieces were boxed as digits; judged by its own ink it is a line. A pen stroke along a ruled line
    still stays a stroke."""
    from edgetl.runtime.stroke_mask import without_darker_strokes
    from edgetl.runtime.lines import line_segments

    ink = np.zeros((H, W), np.uint8)
    ink[20::25] = 50  # faint ruled lines, one px
    ink[:, 100:102] = 110  # the margin
    ink[270, 300:340] = 150  # a pen stroke along the ruled line at row 270
    segments = line_segments((ink > 30).view(np.uint8) * np.uint8(255), 0.25 * W)
    lines = without_darker_strokes(ink, segments, 1.5)
    assert (lines[:, 100] > 0).mean() > 0.95  # the margin is a line, not a stroke
    assert not lines[270, 305:335].any() and (lines[270, 400:600] > 0).all()  # the pen's stroke on the line stays


def test_a_digit_broken_above_its_stem_is_offered_whole_and_two_close_rows_are_not():
    """A 9 whose loop the pen left open above its stem came out as two boxes one above the other, each read alone (a
    5 or 6 and a 1: wide-205 frames 36, 248, 540). Such a pair, with a digit of its row beside it reaching across
    the gap, is offered whole as touching digits are, and read whole when the model is sure of it; two rows of
    digits written close, each with its own row's digit beside it, are not."""
    from edgetl.runtime.digits import digit_candidates

    frame, ink = np.full((H, W, 3), 235, np.uint8), (30, 30, 30)
    cv2.putText(frame, "3", (100, 200), cv2.FONT_HERSHEY_SIMPLEX, 3.0, ink, 6, cv2.LINE_AA)
    cv2.ellipse(frame, (222, 156), (20, 17), 0, 0, 360, ink, 6, cv2.LINE_AA)  # the 9's loop
    cv2.line(frame, (240, 184), (236, 202), ink, 6, cv2.LINE_AA)  # its stem, apart below it
    cv2.putText(frame, "4", (290, 200), cv2.FONT_HERSHEY_SIMPLEX, 3.0, ink, 6, cv2.LINE_AA)
    cv2.putText(frame, "25", (420, 180), cv2.FONT_HERSHEY_SIMPLEX, 2.0, ink, 5, cv2.LINE_AA)
    cv2.putText(frame, "71", (420, 232), cv2.FONT_HERSHEY_SIMPLEX, 2.0, ink, 5, cv2.LINE_AA)  # 10 px below
    boxes, crops, splits = digit_candidates(frame)
    assert len(boxes) == 8, boxes  # 3, the loop, the stem, 4, and 2 5 / 7 1
    assert [(whole, pieces) for whole, _, pieces, _ in splits] == [([199, 136, 47, 70], [1, 2])]


def test_a_stacked_whole_is_read_whole_when_as_sure_as_its_less_sure_piece_and_a_side_by_side_one_needs_more():
    """wide-204 frame 116: the broken 9's whole read 9 at 0.87, its loop alone 6 at 0.66 and its stem 1 at 1.0. A
    whole of two stacked pieces wins over them from STACKED_SCORE when it reads at least as surely as the less sure
    piece; a blob cut side by side (touching digits) is still read whole only at WHOLE_SCORE."""
    from edgetl.runtime.stream import STACKED_SCORE, WHOLE_SCORE, read_whole_or_pieces

    classes = [str(d) for d in range(10)] + ["not a digit"]
    card = type("Card", (), {"class_names": classes, "reject_class": "not a digit", "reject_threshold": 0.99})

    def row(digit: int, score: float) -> np.ndarray:
        out = np.full(len(classes), (1 - score) / (len(classes) - 1))
        out[digit] = score
        return out

    batch = np.zeros((3, 28, 28, 1), np.uint8)
    for pieces_boxes, whole, wins in (([[263, 273, 55, 39], [266, 323, 39, 45]], [263, 273, 55, 95], True),
                                      ([[263, 273, 27, 95], [291, 273, 27, 95]], [263, 273, 55, 95], False)):
        outputs = np.stack([row(6, 0.66), row(1, 1.0), row(9, 0.87)])
        boxes, _, read = read_whole_or_pieces(card, pieces_boxes, batch, outputs, [(whole, [0, 1], False)])
        assert (boxes == [whole] and read.argmax(axis=1).tolist() == [9]) if wins else boxes == pieces_boxes
    outputs = np.stack([row(6, 0.66), row(1, 1.0), row(9, 0.6)])  # the whole less sure than the loop: pieces stay
    assert read_whole_or_pieces(card, [[263, 273, 55, 39], [266, 323, 39, 45]], batch, outputs,
                                [([263, 273, 55, 95], [0, 1], False)])[0] == [[263, 273, 55, 39], [266, 323, 39, 45]]
    assert STACKED_SCORE < 0.87 < WHOLE_SCORE


def test_a_small_slanted_one_broken_in_two_is_joined_and_two_digits_of_a_row_are_not():
    """A 1 written at 45 degrees, 30 px tall, broken in the middle (wide-205 frames 398-399, on a squared page): each
    piece is as tall as the other and shorter than a digit may be, so no rule joined them and the 1 was lost.
    Pieces that are both too short to be digits join when they nearly touch."""
    from edgetl.runtime.digits import find_digit_candidates
    from edgetl.runtime.pieces import join_fragments

    frame = np.full((H, W, 3), 235, np.uint8)
    cv2.line(frame, (345, 268), (359, 254), (40, 40, 160), 3, cv2.LINE_AA)
    cv2.line(frame, (363, 251), (375, 239), (40, 40, 160), 3, cv2.LINE_AA)
    assert find_digit_candidates(frame)[0] == [[344, 238, 33, 32]]  # before: nothing
    too_short = DigitFinderConfig().min_height * H  # as blobs() passes it
    assert join_fragments([[344, 253, 16, 16], [361, 238, 15, 15]], too_short) == [[344, 238, 32, 31]]
    row = [[100, 200, 30, 40], [133, 200, 30, 40]]  # two digits of a row, as tall as each other and near
    assert join_fragments(row, too_short) == row


def test_a_pen_cone_is_a_pen_tip_and_a_round_blob_as_deep_is_not():
    """digit_like.solid: a cone 40 px wide and 60 tall is 0.24 of its height deep, under the 0.27 that marks a pen's
    point, and is told by filling the least triangle around it; a filled oval as deep and as wide fills 0.6 of it
    (a small digit whose loops the blur filled) and stays a digit."""
    import dataclasses

    from edgetl.runtime.digit_like import solid

    config = DigitFinderConfig()
    cone = np.zeros((100, 100), np.uint8)
    cv2.fillConvexPoly(cone, np.array([[20, 80], [60, 80], [40, 20]], np.int32), 255)
    box = list(cv2.boundingRect(cone))
    assert solid(cone, box, config)
    assert not solid(cone, box, dataclasses.replace(config, cone_fill=2.0))  # by its depth alone: not a pen's point
    oval = np.zeros((100, 100), np.uint8)
    cv2.ellipse(oval, (50, 50), (15, 30), 0, 0, 360, 255, -1)
    assert not solid(oval, list(cv2.boundingRect(oval)), config)


def test_a_deep_blob_touching_what_reaches_in_is_a_pen_point_and_a_stroke_is_not():
    """digit_like.pen_point: a pencil's graphite point at the tip of a wooden cone whose outline is left out of the
    ink (writing-600 frame 30: read 9) is a disc touching that band; a 7 written up to the band is a stroke, and the
    disc away from it is left to the other tests."""
    from edgetl.runtime.digit_like import pen_point

    config = DigitFinderConfig()
    over = np.zeros((100, 120), np.uint8)
    over[30:70, 62:120] = 1  # what reaches in from the right, widened
    point = np.zeros((100, 120), np.uint8)
    cv2.circle(point, (52, 50), 10, 255, -1)
    box = list(cv2.boundingRect(point))
    assert pen_point(point, box, over, config)
    assert not pen_point(point, box, np.zeros_like(over), config)  # nothing reaching in beside it
    seven = np.zeros((100, 120), np.uint8)
    cv2.polylines(seven, [np.array([[30, 30], [63, 30], [40, 75]], np.int32)], False, 255, 3)
    assert not pen_point(seven, list(cv2.boundingRect(seven)), over, config)
