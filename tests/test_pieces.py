"""A blob the finder cuts as touching digits is offered whole too, and read whole when the model is sure of it."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from edgetl.runtime.digits import digit_candidates
from edgetl.runtime.stream import WHOLE_SCORE, read_whole_or_pieces

CLASSES = [str(d) for d in range(10)] + ["not a digit"]
CARD = SimpleNamespace(class_names=CLASSES, reject_class="not a digit", reject_threshold=0.9)


def test_a_blob_cut_in_two_is_offered_whole_with_its_pieces():
    frame = np.full((240, 320, 3), 235, np.uint8)
    for text, x in (("2", 100), ("7", 134)):  # a 2 and a 7 that touch: one blob, wider than one digit
        cv2.putText(frame, text, (x, 160), cv2.FONT_HERSHEY_SIMPLEX, 2.4, (30, 30, 30), 6, cv2.LINE_AA)
    cv2.line(frame, (260, 100), (262, 160), (30, 30, 30), 5, cv2.LINE_AA)  # a 1 apart: not cut, not offered
    boxes, crops, splits = digit_candidates(frame)
    assert len(boxes) == 3 and len(crops) == 3 and len(splits) == 1, (boxes, splits)
    whole, whole_crop, pieces, tried = splits[0]
    assert pieces == [0, 1] and not tried  # cut at a valley, not a tried cut (touching.py)
    assert whole[0] == boxes[0][0] and whole[0] + whole[2] == boxes[1][0] + boxes[1][2]  # it spans both pieces
    assert whole == [104, 111, 70, 49] and boxes[2] == [257, 98, 9, 65]
    assert whole_crop.shape == (28, 28) and whole_crop.max() == 255


def reading(digit: int | None, score: float) -> np.ndarray:
    """One output row: ``score`` on ``digit`` (None: the reject class), the rest spread evenly."""
    row = np.full(len(CLASSES), (1 - score) / (len(CLASSES) - 1))
    row[len(CLASSES) - 1 if digit is None else digit] = score
    return row


def pieces_and_whole(whole_reading: np.ndarray):
    boxes = [[10, 10, 20, 40], [40, 10, 30, 40], [70, 12, 28, 38]]  # the last two are pieces of one blob
    splits = [([40, 10, 58, 40], [1, 2], False)]
    outputs = np.stack([reading(7, 0.99), reading(0, 0.95), reading(1, 0.98), whole_reading])
    batch = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((4, 28, 28, 1), np.uint8)  # row i is all i
    return read_whole_or_pieces(CARD, boxes, batch, outputs, splits)


def test_a_one_whose_foot_runs_into_the_next_digit_is_cut_from_it():
    """A 1 is so narrow that a 1 touching its neighbour makes a blob no wider than one digit (here 0.99 as wide
    as tall; tune-101's 1 written into a 3 read as one 3 in 10 frames). Cut at the foot, both pieces are offered
    and the whole beside them; before, only blobs over 1.05 were cut."""
    frame = np.full((240, 480, 3), 235, np.uint8)
    ink = (30, 30, 30)
    cv2.line(frame, (100, 90), (100, 170), ink, 6, cv2.LINE_AA)
    cv2.line(frame, (92, 170), (152, 170), ink, 6, cv2.LINE_AA)  # the foot, on to the bottom of the 3
    cv2.ellipse(frame, (152, 110), (17, 20), 0, -160, 90, ink, 6, cv2.LINE_AA)  # a 3: two bowls open to the left
    cv2.ellipse(frame, (152, 150), (19, 20), 0, -90, 160, ink, 6, cv2.LINE_AA)
    boxes, _, splits = digit_candidates(frame)
    assert boxes == [[89, 87, 25, 87], [114, 87, 61, 87]], boxes
    assert [(whole, pieces) for whole, _, pieces, _ in splits] == [([89, 87, 86, 87], [0, 1])]


def test_the_whole_replaces_its_pieces_when_it_reads_as_one_digit_surely():
    boxes, batch, outputs = pieces_and_whole(reading(4, WHOLE_SCORE + 0.01))
    assert boxes == [[10, 10, 20, 40], [40, 10, 58, 40]]
    assert [int(b.max()) for b in batch] == [0, 3] and outputs.argmax(axis=1).tolist() == [7, 4]


def test_the_pieces_stay_when_the_whole_is_unsure_or_refused():
    for whole in (reading(4, WHOLE_SCORE - 0.05), reading(None, 0.95)):
        boxes, batch, outputs = pieces_and_whole(whole)
        assert boxes == [[10, 10, 20, 40], [40, 10, 30, 40], [70, 12, 28, 38]]
        assert [int(b.max()) for b in batch] == [0, 1, 2] and outputs.argmax(axis=1).tolist() == [7, 0, 1]


def test_a_wide_two_whose_looped_foot_was_cut_off_is_read_whole():
    """wide-202 frame 44: a 2 with a loop at its foot, 148 px wide, cut at a valley into its body (read 2 at 0.999)
    and the loop's end (1 at 1.0); the whole read 2 at 0.927. While a whole needed 0.97 the pieces stayed: the 2
    boxed short and a false 1 beside it."""
    pieces, whole = [[475, 235, 78, 101], [553, 229, 50, 44]], [475, 229, 128, 107]
    outputs = np.stack([reading(2, 0.999), reading(1, 1.0), reading(2, 0.927)])
    batch = np.zeros((3, 28, 28, 1), np.uint8)
    boxes, _, read = read_whole_or_pieces(CARD, pieces, batch, outputs, [(whole, [0, 1], False)])
    assert boxes == [whole] and read.argmax(axis=1).tolist() == [2]


def test_a_faint_stroke_with_one_strong_pixel_is_kept():
    """Hysteresis runs on half-size masks: a lone strong pixel must survive the pooling (pooled as 0/1 it
    rounded to 0, and faint pencil digits with a few strong pixels were dropped: 4 of 1,325 on the tune clips)."""
    from edgetl.runtime.digits import DigitFinderConfig
    from edgetl.runtime.stroke_mask import hysteresis

    weak = np.zeros((480, 640), np.uint8)
    cv2.line(weak, (41, 20), (43, 80), 1, 3)  # a faint stroke
    cv2.line(weak, (101, 20), (103, 80), 1, 3)  # another, with no strong pixel at all
    for y, x in ((51, 43), (50, 42)):  # one strong pixel, at odd or even coordinates
        strong = np.zeros(weak.shape, bool)
        strong[y, x] = True
        mask = hysteresis(weak, strong, np.zeros(weak.shape, bool), DigitFinderConfig())
        assert (mask[:, :70] > 0).sum() > 0.95 * weak[:, :70].sum() and not mask[:, 70:].any(), (y, x)


def test_a_pencil_stroke_with_no_strong_pixel_is_kept_and_a_faint_speck_is_not():
    """A stroke whose ink never reaches the strong level (faint pencil in dim light) counts when a run of it as
    long as faint_run of the frame height reaches faint_floor; a faint speck as dark does not. Before the rule,
    both were dropped (faint pencil: 70 of 4,866 digits of wide-200/201 never boxed)."""
    from edgetl.runtime.digits import DigitFinderConfig
    from edgetl.runtime.stroke_mask import hysteresis

    config = DigitFinderConfig()
    weak = np.zeros((480, 640), np.uint8)
    faint = np.zeros(weak.shape, np.uint8)
    run = int(config.faint_run * 480)
    for x, length in ((40, run + 8), (200, run // 3)):  # a pencil stroke, and a speck a third as long
        cv2.line(weak, (x, 100), (x + 2, 100 + length + 10), 1, 3)
        cv2.line(faint, (x + 1, 105), (x + 2, 105 + length), 1, 2)
    mask = hysteresis(weak, np.zeros(weak.shape, bool), faint.astype(bool), config)
    assert (mask[:, :100] > 0).sum() > 0.95 * weak[:, :100].sum()
    assert not mask[:, 100:].any()


def page_with(shadow: bool) -> np.ndarray:
    """A 640x480 page with a 7 written on its left, there under a deep soft shadow or beyond a dark desk's
    straight edge on the right."""
    frame = np.full((480, 640, 3), 225, np.float32)
    if shadow:  # the left third falls to a third of the light over about 100 px
        x = np.arange(640, dtype=np.float32)
        frame *= np.clip(0.3 + 0.7 * (x - 60) / 140, 0.3, 1.0)[None, :, None]
    else:
        frame[:, 520:] = 50  # the desk beyond the sheet's edge
    ink = np.zeros((480, 640), np.uint8)
    cv2.line(ink, (60, 200), (110, 200), 255, 4, cv2.LINE_AA)
    cv2.line(ink, (110, 200), (80, 280), 255, 4, cv2.LINE_AA)
    frame *= 1 - 0.8 * (ink.astype(np.float32) / 255)[..., None]
    return np.clip(frame, 0, 255).astype(np.uint8)


def test_a_digit_under_a_deep_shadow_is_found_and_the_desk_is_not_a_stroke():
    """off_page_mask drops a dark region only where its edge is a sharp step (the sheet's edge): a soft shadow
    as dark as the desk keeps its ink (before, the shadowed 7 was masked out as desk: no box)."""
    from edgetl.runtime.digits import find_digit_boxes

    boxes = find_digit_boxes(page_with(shadow=True))[0]
    assert len(boxes) == 1 and abs(boxes[0][0] - 58) <= 3 and abs(boxes[0][1] - 198) <= 3, boxes
    boxes = find_digit_boxes(page_with(shadow=False))[0]
    assert len(boxes) == 1 and boxes[0][0] < 100, boxes  # the 7; nothing along the desk's edge


def test_a_marker_digit_in_a_soft_shadow_at_the_edge_is_not_taken_for_the_desk():
    """A 6 in thick black marker written where a soft shadow darkens the page's edge: the stroke and the shadow
    made one dark region reaching the border, and the stroke's own sharp edge passed for the sheet's edge, so
    off_page_mask cut the 6 out (nothing found, or only a piece of it: wide-200 frames 30-31 read its loop as a 0).
    Strokes are closed away before the dark regions and their edges are judged."""
    from edgetl.runtime.digits import find_digit_boxes

    for low, span, centre in ((0.3, 250, 45), (0.3, 250, 60), (0.2, 250, 75)):  # light at the edge, over px; the 6
        frame = np.full((480, 640, 3), 235, np.float32)
        frame *= np.clip(low + (1 - low) * np.arange(640, dtype=np.float32) / span, low, 1.0)[None, :, None]
        ink = np.zeros((480, 640), np.uint8)
        cv2.ellipse(ink, (centre, 300), (30, 26), 0, 0, 360, 255, 12, cv2.LINE_AA)  # the 6's loop
        cv2.ellipse(ink, (centre + 30, 290), (60, 100), 0, 180, 260, 255, 12, cv2.LINE_AA)  # its stem, up and over
        frame *= 1 - 0.9 * (ink.astype(np.float32) / 255)[..., None]
        ys, xs = np.nonzero(ink > 127)
        boxes = find_digit_boxes(np.clip(frame, 0, 255).astype(np.uint8))[0]
        assert len(boxes) == 1, (centre, boxes)
        assert abs(boxes[0][0] - xs.min()) <= 4 and abs(boxes[0][1] - ys.min()) <= 4, (centre, boxes)


def vignetted_noisy_page(seed: int) -> np.ndarray:
    """A 640x480 page whose top-left corner falls to 30% of the light, with sensor noise all over (sigma 9),
    a 4 written in the dimmer half and a 7 in the bright one."""
    rng = np.random.default_rng(seed)
    frame = np.full((480, 640, 3), 200, np.uint8)
    cv2.putText(frame, "7", (420, 330), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (60, 60, 60), 6, cv2.LINE_AA)
    cv2.putText(frame, "4", (110, 200), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (70, 70, 70), 6, cv2.LINE_AA)
    yy, xx = np.mgrid[0:480, 0:640]
    light = np.clip(0.3 + 0.7 * np.hypot(xx, yy) / 420, 0.3, 1.0)
    noisy = frame.astype(np.float32) * light[..., None] + rng.normal(0, 9, frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def test_noise_in_a_dark_corner_is_no_digit_and_the_digits_beside_it_are_found():
    """Dividing by a dim paper amplifies sensor noise: in the dark corner blobs of it passed the page-wide
    thresholds as digits (4 of these 5 pages before ink_mask compared each pixel with the local noise)."""
    from edgetl.runtime.digits import find_digit_boxes

    for seed in range(5):
        boxes, _, _ = find_digit_boxes(vignetted_noisy_page(seed))
        assert boxes == [[112, 139, 52, 61], [426, 269, 44, 61]], seed


def test_a_margin_line_running_off_the_frame_is_no_one_and_a_one_inside_it_is():
    """A red margin line, tilted, leaves the frame at its top and left edges: the piece inside reads as a 1
    (6 false 1s on wide-200 before min_aspect_at_edge went from 0.1 to 0.25). A 1 inside the frame stays."""
    from edgetl.runtime.digits import find_digit_boxes

    from edgetl.runtime.digits import DigitFinderConfig

    frame = np.full((480, 640, 3), 228, np.uint8)
    cv2.line(frame, (18, 0), (0, 110), (70, 60, 200), 3, cv2.LINE_AA)  # red in BGR
    cv2.line(frame, (320, 200), (316, 270), (40, 40, 40), 5, cv2.LINE_AA)  # a 1
    for config in (DigitFinderConfig(), DigitFinderConfig(whole_in_view=False)):  # refused as cut, or as thin
        boxes, _, _ = find_digit_boxes(frame, config)
        assert len(boxes) == 1 and 310 <= boxes[0][0] <= 320, boxes


def test_only_a_digit_wholly_in_view_is_read():
    """What the frame's edge cuts is a pen's barrel, a hand, the desk or half a digit (a 7 cut into a 1): on the
    writing tune clips 59 of 133 false detections. A 0 half out of the frame is not boxed, the same 0 inside it is;
    with ``whole_in_view`` off both are."""
    from edgetl.runtime.digits import DigitFinderConfig, find_digit_boxes

    frame = np.full((480, 640, 3), 228, np.uint8)
    for centre in ((14, 240), (320, 240)):
        cv2.ellipse(frame, centre, (22, 34), 0, 0, 360, (40, 40, 40), 5, cv2.LINE_AA)
    boxes, _, _ = find_digit_boxes(frame)
    assert [b[0] // 100 for b in boxes] == [2], boxes  # the 0 inside: x 295
    boxes, _, _ = find_digit_boxes(frame, DigitFinderConfig(whole_in_view=False))
    assert [b[0] // 100 for b in boxes] == [0, 2], boxes


def test_a_big_digit_in_thick_marker_is_found_whole_not_masked_as_desk():
    """Strokes run together into one dark, sharp-edged region: off_page_mask took it for the desk beyond the
    sheet and cut it out of the ink, leaving a sliver or nothing (as MNIST test digits 525 and 833, fat 8s, on
    the plain clip's paper). The desk always reaches the frame's border; a region ringed by paper is ink."""
    from edgetl.runtime.digits import find_digit_boxes

    for thickness, radius in ((40, 24), (44, 26)):  # an 8 in a fat marker: two rings with small holes
        frame = np.full((480, 640, 3), 215, np.uint8)
        cv2.ellipse(frame, (320, 200), (radius, radius + 4), 0, 0, 360, (25, 25, 25), thickness)
        cv2.ellipse(frame, (320, 210 + 2 * radius), (radius + 6, radius + 8), 0, 0, 360, (25, 25, 25), thickness)
        frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
        ys, xs = np.nonzero(frame[..., 0] < 120)
        ink_box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert find_digit_boxes(frame)[0] == [ink_box], thickness


def test_a_big_digit_in_thick_marker_keeps_its_straight_strokes():
    """A 1 in a fat marker held close to the camera: the line search found straight runs inside its stroke and
    removed them as printed lines, leaving the flag or two fragments as boxes. A run with the stroke on both
    sides of it is the inside of a stroke, not a line."""
    from edgetl.runtime.digits import find_digit_boxes

    for thickness in (30, 40):
        frame = np.full((480, 640, 3), 215, np.uint8)
        cv2.line(frame, (300, 80), (340, 400), (25, 25, 25), thickness)
        cv2.line(frame, (300, 80), (250, 140), (25, 25, 25), thickness)  # the flag
        frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
        ys, xs = np.nonzero(frame[..., 0] < 120)
        boxes = find_digit_boxes(frame)[0]
        assert len(boxes) == 1, (thickness, boxes)
        ink_box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert np.abs(np.subtract(boxes[0], ink_box)).max() <= 10, (thickness, boxes, ink_box)


def test_digits_in_a_fine_pen_held_close_are_found():
    """A 2-px pen in a 150-px box fills about 4% of it: under the old minimum fill (6%) a slanted 1 and an
    open 4 written with a fine pen close to the camera were not digits (no box at all)."""
    from edgetl.runtime.digits import find_digit_boxes

    frame = np.full((480, 640, 3), 215, np.uint8)
    cv2.line(frame, (200, 140), (280, 290), (30, 30, 30), 2, cv2.LINE_AA)
    cv2.polylines(frame, [np.array([[420, 130], [395, 250], [500, 250]], np.int32)], False, (30, 30, 30), 2,
                  cv2.LINE_AA)
    cv2.line(frame, (470, 170), (470, 320), (30, 30, 30), 2, cv2.LINE_AA)
    assert find_digit_boxes(cv2.GaussianBlur(frame, (0, 0), 0.8))[0] == [[199, 139, 83, 153], [394, 129, 108, 192]]


def test_a_five_with_a_long_bar_is_a_digit_away_from_printed_lines():
    """A 5 whose bar runs far right is 1.93 times as wide as tall: over max_aspect (1.8), found as a digit when
    no printed line is near it (wide_aspect, 2.1). Near a line it is not: a ruled line meeting a grid or margin
    line leaves pieces as wide (tune clips: 24 digits more read of 7,300, and 1 false detection more; 4 without
    the condition on lines)."""
    def page(ruled: bool) -> np.ndarray:
        frame = np.full((480, 640, 3), 225, np.uint8)
        if ruled:
            cv2.line(frame, (0, 183), (639, 187), (170, 150, 120), 2, cv2.LINE_AA)
        ink = (40, 40, 40)
        cv2.polylines(frame, [np.int32([[368, 100], [220, 100], [216, 135]])], False, ink, 4, cv2.LINE_AA)
        cv2.ellipse(frame, (250, 153), (36, 23), 0, -120, 150, ink, 4, cv2.LINE_AA)
        return frame

    boxes, _, _ = digit_candidates(page(ruled=False))
    assert boxes == [[214, 98, 156, 81]], boxes
    assert digit_candidates(page(ruled=True))[0] == []


def test_a_small_wide_digit_cut_into_no_digit_is_kept_whole():
    """Held-out test digit 173, a 4, rewritten 30 px tall with a 2-px pen: wider than tall, so the finder cut it
    at a valley as touching digits, neither piece looked like a digit, and the blob was offered only as a "maybe
    one digit" read at 0.97 or dropped: no box in 4 of these 4 pens. A cut with no digit in it was wrong."""
    from edgetl.data import load_dataset
    from edgetl.pen import rewrite
    from edgetl.runtime.digits import find_digit_boxes

    x, y = load_dataset("mnist-5k").split("test")
    assert y[173] == 4
    for seed in (0, 2, 3, 4):
        alpha = rewrite(x[173].reshape(28, 28), 30, 2, np.random.default_rng(seed))
        h, w = alpha.shape
        page = np.full((480, 640), 215.0, np.float32)
        page[150:150 + h, 200:200 + w] = page[150:150 + h, 200:200 + w] * (1 - alpha) + 30 * alpha
        frame = cv2.cvtColor(np.clip(cv2.GaussianBlur(page, (0, 0), 0.8), 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        boxes = find_digit_boxes(frame)[0]
        ys, xs = np.nonzero(alpha > 0.5)
        assert len(boxes) == 1 and abs(boxes[0][0] - (200 + xs.min())) <= 3 and boxes[0][2] >= np.ptp(xs), (seed, boxes)


def test_a_small_digit_in_a_fine_pen_is_cut_as_sharp_as_written():
    """The 1-px Gaussian that keeps sensor noise out of the stroke mask blurred the crops of small digits: a
    2-px stroke 27 px tall came out with its core at 208 and more faint halo than stroke (the 7: 62 pixels
    between 32 and 128 against 52 above). The crops are now read from the frame as it is."""
    frame = np.full((480, 640, 3), 215, np.uint8)
    cv2.line(frame, (300, 200), (300, 226), (30, 30, 30), 2)  # a 1
    cv2.polylines(frame, [np.array([[340, 201], [356, 201], [345, 227]], np.int32)], False, (30, 30, 30), 2)  # a 7
    boxes, crops, _ = digit_candidates(frame)
    assert boxes == [[299, 200, 3, 27], [340, 200, 17, 28]]
    assert crops[0][14].max() == 255
    strong, halo = np.count_nonzero(crops[1] > 128), np.count_nonzero((crops[1] > 32) & (crops[1] <= 128))
    assert halo < strong, (halo, strong)


def test_the_finders_labelling_gives_opencvs_default_labels_and_statistics():
    """runtime/labels.py labels with BBDT for speed on one thread (0.42 -> 0.14 ms a frame): the labels, their
    order and every statistic must be what cv2.connectedComponentsWithStats gives, or the finder's rules would move."""
    from edgetl.runtime.labels import components

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # as the stream's finder thread runs
    try:
        rng = np.random.default_rng(3)
        for sigma in (1.0, 3.0, 8.0):  # specks, blobs, large regions
            mask = (cv2.GaussianBlur(rng.random((240, 320)).astype(np.float32), (0, 0), sigma) > 0.5).view(np.uint8)
            n, labels, stats, centroids = components(mask)
            n0, labels0, stats0, centroids0 = cv2.connectedComponentsWithStats(mask, connectivity=8)
            assert n == n0 > 2 and np.array_equal(labels, labels0) and np.array_equal(stats, stats0)
            assert np.allclose(centroids, centroids0)
    finally:
        cv2.setNumThreads(threads)
