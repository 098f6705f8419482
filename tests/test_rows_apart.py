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
