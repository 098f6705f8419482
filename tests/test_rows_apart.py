"""Two rows of digits written close: the small digits of one row are not pieces of the large ones below them.

wide-204 frame 408: a row 0 3 2 8 (31-61 px) above a row 5 5 6 0 (73-103 px), 8-20 px apart. The stroke mask held
every digit whole, but the small 3 over the tall 5 passed for a piece of it (stacked, close, the two no taller
than 1.5 times the 5), and the 0, the 2 and the other 5 joined them: one box 165 x 179 px, cut by the finder into
two boxes each two rows tall, five digits lost. runtime/pieces.rows_apart: a smaller box with a digit of its own row
beside it lies in another row."""
from __future__ import annotations

from edgetl.runtime.pieces import join_fragments, merge_stacked, rows_apart

# the stroke mask's pieces of wide-204 frame 408 (bench/clips: runs/clips/wide-204.mp4), [x, y, w, h]
TWO_ROWS = [[277, 363, 56, 74], [295, 258, 57, 61], [361, 283, 24, 33], [362, 327, 69, 103], [400, 270, 42, 38],
            [469, 274, 28, 31], [488, 330, 41, 88], [550, 343, 64, 73]]


def test_two_close_rows_of_digits_stay_eight_digits():
    assert sorted(join_fragments(merge_stacked(TWO_ROWS))) == sorted(TWO_ROWS)  # before: 4 boxes


def test_the_small_three_has_a_row_of_its_own_and_a_fives_bar_has_not():
    three, five = TWO_ROWS[2], TWO_ROWS[3]
    assert rows_apart(TWO_ROWS, three, five)
    # a 5 whose bar the pen lifted off for, between a 4 and a 7 of its own row: the row-mates span bar and body
    bar, body, four, seven = [400, 200, 40, 10], [398, 216, 44, 60], [340, 198, 44, 78], [460, 200, 40, 76]
    row = [four, bar, body, seven]
    assert not rows_apart(row, bar, body)
    assert sorted(join_fragments(merge_stacked(row))) == sorted([four, [398, 200, 44, 76], seven])


def test_a_digit_in_three_pieces_is_joined_though_a_piece_of_the_next_row_lies_between_them_left_to_right():
    """wide-202 frame 580: a 3 broken into its top (260-294), its lower bowl's right side (278-287) and its foot
    (248-279); the 7 of the next row (267-287) starts between them left to right. Held only against the box before
    it, the bowl met the 7, and the 3 was read from its top alone (as 2)."""
    pieces = [[237, 350, 6, 34], [248, 310, 31, 10], [260, 234, 34, 43], [267, 353, 20, 32], [278, 279, 9, 30],
              [297, 378, 45, 16], [363, 364, 21, 31]]
    three = [248, 234, 46, 86]  # written at [246, 233, 47, 86]
    assert sorted(merge_stacked(pieces)) == sorted([three, [237, 350, 6, 34], [267, 353, 20, 32],
                                                    [297, 378, 45, 16], [363, 364, 21, 31]])


def test_a_digit_written_just_under_one_of_the_row_above_stays_apart_from_it():
    """check-41 frame 504: a 0 (with a 9 and another digit beside it in its row) 6 px above a wide 2 of the next row
    shares its columns; they nearly touch, but the 0 has row-mates of its own: two rows, not one digit in pieces."""
    pieces = [[226, 254, 125, 93], [256, 194, 37, 47], [303, 205, 59, 43], [369, 284, 64, 68], [391, 193, 37, 56]]
    two, zero = pieces[0], pieces[2]
    assert rows_apart(pieces, zero, two)
    assert sorted(merge_stacked(pieces)) == sorted(pieces)
    # without the row-mates, two pieces that nearly touch are joined as one digit broken across the gap
    assert merge_stacked([two, zero]) == [[226, 205, 136, 142]]


def test_two_digits_of_two_rows_with_a_line_of_the_squared_page_between_them_stay_apart():
    """wide-201 frame 56: a 0 over a 0 of the next row, 7 px apart with a printed line of the squared page in the gap,
    was joined as one digit cut by the line (read as an 8), and a 4 over a 3 beside them (read as a 3). Each has
    row-mates and the two are as tall as each other: two digits. A 7's bar over its stem with a line between them,
    a fragment of the bar beside it, is still one digit (check-40 frame 500)."""
    import numpy as np

    pieces = [[33, 80, 32, 44], [42, 194, 32, 19], [63, 84, 3, 14], [66, 128, 11, 23], [76, 212, 4, 30],
              [119, 70, 51, 79], [127, 156, 68, 84], [198, 74, 63, 67], [218, 155, 82, 81], [309, 56, 54, 78],
              [392, 53, 48, 75], [471, 57, 53, 71]]
    lines = np.zeros((480, 640), np.uint8)
    lines[149:153, :] = 255  # the squared page's line, found and taken out of the stroke mask
    stacked = merge_stacked(pieces, lines)
    assert [119, 70, 51, 79] in stacked and [127, 156, 68, 84] in stacked
    assert [198, 74, 63, 67] in stacked and [218, 155, 82, 81] in stacked
    seven = [[312, 55, 24, 30], [314, 38, 16, 8], [338, 38, 5, 10]]
    lines = np.zeros((480, 640), np.uint8)
    lines[46:48, :] = 255
    assert [312, 38, 24, 47] in merge_stacked(seven, lines)
