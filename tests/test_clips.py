"""Test clips: the hard desk renderer (edgetl.desk) and the clip scorer (edgetl.clips.score_clip)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from clips import H, W, error_kinds, render_clip, score_clip
from edgetl.desk import desk_frames, render_desk_clip
from edgetl.pen import _depth, _full_length, _pen_path, _pen_shape, _skeleton, rewrite


@pytest.fixture(scope="module")
def test_digits():
    """mnist-5k's 1,000 held-out digits as 28x28 images, and their labels."""
    from edgetl.data import load_dataset

    x, y = load_dataset("mnist-5k").split("test")
    return x.reshape(-1, 28, 28), y


@pytest.fixture(scope="module")
def held_out(test_digits):
    x, y = test_digits
    return x[:200, :, :, None], y[:200]


def test_hard_clip_reads_back_with_its_ground_truth(held_out, tmp_path):
    x, y = held_out
    clip = render_desk_clip(tmp_path / "desk.mp4", x, y, scenes=3, frames_per_scene=3, seed=1)
    truth = json.loads(clip.with_suffix(".json").read_text())
    assert len(truth) == 9
    for frame in truth:
        assert set(frame) == {"boxes", "labels"} and len(frame["boxes"]) == len(frame["labels"])
        assert all(isinstance(v, int) and 0 <= v <= 9 for v in frame["labels"])
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == len(truth) and frames[0].shape == (H, W, 3)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temp files left beside it


def test_render_clip_hard_delegates_to_the_desk_renderer(held_out, tmp_path):
    x, y = held_out
    clip = render_clip(tmp_path / "hard.mp4", x, y, scenes=2, frames_per_scene=2, seed=5, hard=True)
    truth = json.loads(clip.with_suffix(".json").read_text())
    expected = [{"boxes": b, "labels": lab} for _, b, lab in desk_frames(x, y, 2, 2, seed=5)]
    assert truth == expected


def test_boxes_lie_in_the_frame_and_hold_ink(held_out):
    x, y = held_out
    checked = 0
    for frame, boxes, labels in desk_frames(x, y, n_scenes=12, frames_per_scene=2, seed=2, empty_fraction=0):
        assert len(boxes) == len(labels) >= 1
        gray = cv2.blur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (3, 3)).astype(np.float32)  # tame sensor noise
        for bx, by, bw, bh in boxes:
            assert 0 <= bx and 0 <= by and bw > 0 and bh > 0 and bx + bw <= W and by + bh <= H
            pad = max(6, bh // 3)
            around = gray[max(0, by - pad):by + bh + pad, max(0, bx - pad):bx + bw + pad]
            inside = gray[by:by + bh, bx:bx + bw]
            paper = float(np.median(around))
            # the darkest ink in the box stands out from the paper (by 12 % even for pencil in a dim room),
            # more than sensor noise and printed lines do
            assert np.percentile(inside, 1) < 0.88 * paper, (bx, by, bw, bh, paper)
            checked += 1
    assert checked >= 20


def test_empty_pages(held_out):
    x, y = held_out
    empty = list(desk_frames(x, y, n_scenes=3, frames_per_scene=2, seed=0, empty_fraction=1.0))
    assert len(empty) == 6 and all(boxes == [] and labels == [] for _, boxes, labels in empty)
    # an empty page is still a page under the camera: lines, light and noise, not a flat image
    assert all(frame.std() > 1 for frame, _, _ in empty)
    written = list(desk_frames(x, y, n_scenes=3, frames_per_scene=1, seed=0, empty_fraction=0.0))
    assert all(len(boxes) >= 1 for _, boxes, _ in written)
    mixed = [len(boxes) == 0 for _, boxes, _ in desk_frames(x, y, n_scenes=20, frames_per_scene=1, seed=3,
                                                             empty_fraction=0.5)]
    assert 3 <= sum(mixed) <= 17


def test_same_seed_same_frames(held_out):
    x, y = held_out
    first = list(desk_frames(x, y, n_scenes=2, frames_per_scene=2, seed=7))
    again = list(desk_frames(x, y, n_scenes=2, frames_per_scene=2, seed=7))
    other = list(desk_frames(x, y, n_scenes=2, frames_per_scene=2, seed=8))
    for (f1, b1, l1), (f2, b2, l2) in zip(first, again):
        assert np.array_equal(f1, f2) and b1 == b2 and l1 == l2
    assert not np.array_equal(first[0][0], other[0][0])
    assert first[0][0].dtype == np.uint8 and first[0][0].shape == (H, W, 3)
    # the camera shakes between frames of one scene
    assert not np.array_equal(first[0][0], first[1][0])


def det(box, label):
    return {"box": box, "label": label, "score": 0.9}


def test_score_clip_counts_exactly():
    truth = [
        {"boxes": [[10, 10, 20, 30], [40, 10, 20, 30]], "labels": [1, 2]},  # one read right, one wrong
        {"boxes": [], "labels": []},  # empty page, one false detection
        {"boxes": [], "labels": []},  # empty page, nothing detected: exact
        {"boxes": [[10, 10, 20, 30], [50, 10, 20, 30], [12, 60, 20, 30]], "labels": [4, 5, 6]},  # two rows: exact
        {"boxes": [[200, 100, 30, 40]], "labels": [8]},  # read right, plus a stray detection: not exact
    ]
    records = [
        {"detections": [det([11, 11, 18, 28], "1"), det([41, 10, 20, 30], "7")]},
        {"detections": [det([100, 100, 20, 30], "3")]},
        {"detections": []},
        {"detections": [det([12, 61, 19, 28], "6"), det([10, 10, 20, 30], "4"), det([50, 12, 20, 27], "5")]},
        {"detections": [det([201, 101, 28, 38], "8"), det([400, 300, 20, 20], "1")]},
    ]
    scores = score_clip(truth, records)
    assert scores["frames"] == 5
    assert scores["digits"] == 6
    assert scores["digit_accuracy"] == pytest.approx(5 / 6)
    assert scores["detection_precision"] == pytest.approx(5 / 8)
    assert scores["frames_exact"] == pytest.approx(2 / 5)
    assert scores["empty_frames"] == 2
    assert scores["false_on_empty"] == 1


def test_score_clip_single_row_unchanged():
    truth = [{"boxes": [[0, 0, 10, 20], [20, 0, 10, 20]], "labels": [3, 1]}]
    perfect = [{"detections": [det([20, 0, 10, 20], "1"), det([0, 0, 10, 20], "3")]}]
    assert score_clip(truth, perfect) == {"frames": 1, "digits": 2, "digit_accuracy": 1.0,
                                          "detection_precision": 1.0, "frames_exact": 1.0,
                                          "empty_frames": 0, "false_on_empty": 0}
    missed = [{"detections": [det([0, 0, 10, 20], "3")]}]
    assert score_clip(truth, missed)["frames_exact"] == 0.0


def hole_count(image: np.ndarray) -> int:
    _, hierarchy = cv2.findContours((image > 0.5).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return 0 if hierarchy is None else int((hierarchy[0][:, 3] >= 0).sum())


def test_a_loop_the_pen_filled_is_rewritten_as_a_loop():
    """A 6 whose belly MNIST's thick pen filled in: rewritten with a thin pen it keeps a closed belly, not a
    stick through it (which reads as a 1)."""
    six = np.zeros((28, 28), np.uint8)
    cv2.line(six, (17, 4), (10, 15), 255, 2)
    cv2.circle(six, (13, 19), 5, 255, -1)
    stroke = rewrite(six, 60.0, 2.0, np.random.default_rng(0))
    assert hole_count(stroke) == 1
    stick = np.zeros((28, 28), np.uint8)
    cv2.line(stick, (14, 4), (14, 24), 255, 3)  # no filled loop: nothing added
    assert hole_count(rewrite(stick, 60.0, 2.0, np.random.default_rng(0))) == 0


def test_a_short_heavy_stroke_that_thinning_eats_is_rewritten_with_the_digit(test_digits):
    """Thinning eats into each stroke's end by about half its width, and a short heavy stroke went with it: the
    heavy bases of 2s 937 and 958 (rewritten as a ")", 22% and 25% of the writer's ink lost before 2026-12-07) and
    a 7's top bar (715: a "/"). The pen now lays the writer's own shape thinned in proportion too; over the first
    300 held-out digits at three pens, rewrites that lose more than a tenth of the writer's ink: 3 (old pen: 11; 1
    since each stroke is drawn to its end)."""
    from pen_fidelity import LOST, Upright, ink_lost

    x, y = test_digits
    for i, most in ((937, 0.15), (958, 0.15), (715, 0.01)):
        assert ink_lost(x[i], rewrite(x[i], 40.0, 3.2, Upright())) < most, i
    lost = [ink_lost(d, rewrite(d, 40.0, share * 40.0, Upright())) for share in (0.08, 0.12, 0.16) for d in x[:300]]
    assert sum(share > LOST for share in lost) <= 5
    # a stroke of the writer's median width still comes out at the pen's width: a 2 px pen's ink is 2.96 px wide
    # (ink over centre line; 2.70 with the old pen), MNIST's own pen at this height about 9 px
    fine = rewrite(x[0], 60.0, 2.0, Upright())
    assert (fine > 0.5).sum() / _skeleton(fine > 0.5).sum() < 3.5


def test_each_stroke_is_drawn_to_where_the_writer_ended_it(test_digits):
    """Thinning stops each stroke's centre line about the writer's half width short of its end, and a pen thinner
    than the writer's showed it: a 7's bar shortened to a hook (715, read as a 1), an 8's legs parted (373, a 9).
    The centre line is drawn on to where the writer's ink is only the pen's half width deep, and no further. Over
    the first 300 held-out digits with a 1.4 px pen on 40 px, rewrites that lose more than a tenth of the writer's
    ink: 25 (40 before); of the writer's ink, 0.026 lost on average (0.036 before)."""
    from pen_fidelity import LOST, Upright, ink_lost

    x, _ = test_digits
    lost = [ink_lost(d, rewrite(d, 40.0, 0.035 * 40.0, Upright())) for d in x[:300]]
    assert sum(share > LOST for share in lost) <= 30 and np.mean(lost) < 0.03
    assert ink_lost(x[715], rewrite(x[715], 80.0, 2.4, Upright())) < 0.04  # 0.058 before
    # the ends drawn on stay inside the writer's shape, at least the pen's half width from its edge
    drawn_on = 0
    for d in x[:50]:
        big = _pen_shape(cv2.resize(d.astype(np.float32), (56, 56), interpolation=cv2.INTER_LINEAR))
        path = _pen_path(big)[0]
        depth = _depth(big)
        longer = _full_length(path, depth, 2.0)
        assert (longer >= path).all() and (depth[longer & ~path] > 1.0).all()
        drawn_on += bool((longer & ~path).any())
    assert drawn_on >= 15  # 22: a 0 has no end, and most writers are not much wider than this pen


def test_an_eight_whose_loops_the_pen_nearly_filled_keeps_both_loops(test_digits):
    """Thick 8s of the held-out set whose lower (or upper) loop is a blob at the 100 gray level, its hole showing
    at 160: thinned at one level the blob became a stick and the rewritten digit a 9 (one loop). A 9 whose thin
    loop filled in (347) was a 1."""
    x, y = test_digits
    for i in (111, 201, 525, 589):
        assert y[i] == 8
        assert hole_count(rewrite(x[i], 60.0, 2.0, np.random.default_rng(0))) == 2, i
    assert y[347] == 9 and hole_count(rewrite(x[347], 60.0, 2.0, np.random.default_rng(0))) == 1


def test_no_ring_in_a_thick_stroke_and_no_loop_opened(test_digits):
    """Holes taken at 200-230 too put small rings into thick strokes (a 0 with a chord reads as a 6), and taking
    the shape at 160 where a loop opened there also opened 9s whose loop closes with a faint stroke (a 4): the
    pen reads holes at 160 only and keeps the shape of the 100 level."""
    x, y = test_digits
    for i in (108, 212, 219, 230, 253, 158, 169, 183, 248):
        assert y[i] in (0, 9)
        assert hole_count(rewrite(x[i], 60.0, 2.0, np.random.default_rng(0))) == 1, i


def stroke_pieces(image: np.ndarray) -> int:
    n, _, stats, _ = cv2.connectedComponentsWithStats((image > 0.5).astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= 10).sum())


def test_a_digit_whose_stroke_fades_is_rewritten_in_one_piece(test_digits):
    """Held-out digits whose stroke fades below the 100 gray level where the pen moved fast: taken at 100 the 3
    (150, 789) fell apart into a 2 and a dash, the 5s (81, 206) lost their bar, the 4 (540) its stem's foot. The pen
    takes them at the lower level where their strokes join; a digit in two strokes by design keeps both."""
    x, y = test_digits
    for i, label in ((150, 3), (789, 3), (81, 5), (206, 5), (540, 4), (266, 9)):
        assert y[i] == label
        assert stroke_pieces(rewrite(x[i], 60.0, 2.0, np.random.default_rng(0))) == 1, i
    four = np.zeros((28, 28), np.uint8)  # an open 4 written in two strokes that do not meet
    cv2.line(four, (8, 4), (6, 16), 255, 2)
    cv2.line(four, (6, 16), (13, 16), 255, 2)  # 3 px of paper before the stem
    cv2.line(four, (19, 5), (19, 24), 255, 2)
    assert stroke_pieces(rewrite(four, 60.0, 2.0, np.random.default_rng(0))) == 2


def test_error_kinds_sort_every_digit_and_every_leftover_detection():
    truth = [
        {"boxes": [[10, 10, 20, 30], [40, 10, 20, 30]], "labels": [1, 2]},
        {"boxes": [], "labels": []},
        {"boxes": [[10, 10, 20, 30], [50, 10, 20, 30], [12, 60, 20, 30]], "labels": [4, 5, 6]},
        {"boxes": [[200, 100, 30, 40]], "labels": [8]},
    ]
    records = [
        {"detections": [det([11, 11, 18, 28], "1"), det([41, 10, 20, 30], "7")]},  # right; misread, boxed well
        {"detections": [det([100, 100, 20, 30], "3")]},  # on an empty page
        {"detections": [det([10, 10, 20, 14], "7"), det([10, 26, 20, 14], "1"),  # a 4 cut in two: misread piece,
                        det([300, 10, 20, 30], "2")]},  # the other piece left over; clutter; the 5 and 6 missed
        {"detections": [det([195, 95, 70, 50], "0")]},  # an 8 in a box twice its width: misread, cut wrong
    ]
    assert error_kinds(truth, records) == {"right": 1, "misread_boxed": 1, "misread_cut": 2, "missed": 2,
                                           "missed_merged": 0, "false_on_empty": 1, "false_part": 1,
                                           "false_clutter": 1}


def test_a_digit_boxed_with_its_neighbour_is_missed_inside_the_others_box():
    """Two digits in one box: the box reads one of them (right or wrong), the other is missed and counted as
    missed inside another digit's box; a digit with no box near it is missed and not counted so."""
    truth = [{"boxes": [[10, 10, 20, 30], [32, 10, 20, 30], [200, 10, 20, 30]], "labels": [0, 9, 4]}]
    records = [{"detections": [det([10, 10, 42, 30], "8")]}]  # the 0 and the 9 as one 8; the 4 not found
    assert error_kinds(truth, records) == {"right": 0, "misread_boxed": 0, "misread_cut": 1, "missed": 2,
                                           "missed_merged": 1, "false_on_empty": 0, "false_part": 0,
                                           "false_clutter": 0}


def test_error_diff_names_each_written_digit_with_its_kind_under_each_model():
    """bench/error_diff.py: the same written digit, keyed by frame and place, sorted under two models' readings;
    the pair of kinds is what a change won or lost."""
    from error_diff import digit_kinds

    truth = [{"boxes": [[10, 10, 20, 30], [32, 10, 20, 30]], "labels": [0, 9]}, {"boxes": [], "labels": []}]
    merged = [{"detections": [det([10, 10, 42, 30], "0")]}, {"detections": []}]  # one box on both: 0 right, 9 lost
    cut = [{"detections": [det([10, 10, 20, 30], "0"), det([32, 10, 20, 30], "4")]}, {"detections": []}]
    before, after = digit_kinds(truth, merged), digit_kinds(truth, cut)
    assert sorted(before) == sorted(after) == [(0, 0), (0, 1)]  # an empty frame has no digit to key
    assert [(before[key][0], after[key][0]) for key in sorted(before)] == [("right", "right"),
                                                                         ("missed_merged", "misread_boxed")]
    assert after[0, 1][1:] == ([32, 10, 20, 30], "0: 9 misread_boxed 4")


def test_the_pen_spy_names_each_written_digit_and_changes_no_scene(test_digits):
    """bench/misread_sources.py sorts misreads by the MNIST digit behind each box: the spy must pair every box with
    the digit written there (digits that did not fit a row are rewritten, then dropped) and leave the scenes alone."""
    import edgetl.desk as desk
    from misread_sources import PenSpy

    x, y = test_digits
    pool, labels = x[:60], y[:60]
    plain = list(desk_frames(pool, labels, 8, 1, seed=4))
    with PenSpy(pool, labels) as spy:
        spied = list(desk_frames(pool, labels, 8, 1, seed=4))
    assert desk.rewrite is rewrite  # put back
    assert [np.array_equal(a, b) for (a, _, _), (b, _, _) in zip(plain, spied)] == [True] * len(plain)
    written = [page for page in spy.pages if page]
    assert [[int(labels[i]) for i, _ in page] for page in written] == [lab for _, _, lab in spied if lab]
    assert sum(len(page) for page in written) > 10
    assert all(crop.shape == (28, 28) and crop.max() > 50 for page in written for _, crop in page)  # ink in each


def test_the_ink_in_a_desk_frame_lies_on_each_written_digit_and_leaves_the_frames_alone(test_digits):
    """edgetl.desk.ink_in_frame is the truth bench/stroke_recall.py measures the finder's stroke mask against: each
    digit's ink, warped as its frame was filmed (tilt, zoom, shake), fills that digit's box and is darker than the
    page around it; asking for it changes no frame."""
    x, y = test_digits
    plain = list(desk_frames(x, y, n_scenes=6, frames_per_scene=2, seed=3, empty_fraction=0))
    with_ink = list(desk_frames(x, y, n_scenes=6, frames_per_scene=2, seed=3, empty_fraction=0, with_ink=True))
    assert all(np.array_equal(a[0], b[0]) and a[1:] == b[1:3] for a, b in zip(plain, with_ink))
    checked = 0
    for frame, boxes, labels, ink, pen in with_ink:
        assert pen in {"pencil", "ballpoint", "felt", "marker"}
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
        for i, (bx, by, bw, bh) in enumerate(boxes):
            ys, xs = np.nonzero(ink == i + 1)
            if bx == 0 or by == 0 or bx + bw >= W or by + bh >= H or not len(xs):
                continue  # cut by the frame's edge
            # inside the box (the warped corners' bounds, looser than the ink by the page's rotation, their width and
            # height cut to whole pixels: up to 2 px short) and filling it, but for what the rotation (up to 6 degrees
            # and the camera's tilt) adds: a tall thin 1 turned 6 degrees has a box a tenth of its height wider
            assert bx - 1 <= xs.min() and xs.max() < bx + bw + 2 and by - 1 <= ys.min() and ys.max() < by + bh + 2
            assert xs.max() - xs.min() + 1 >= 0.8 * bw - 0.15 * bh, (i, boxes[i])
            assert ys.max() - ys.min() + 1 >= 0.8 * bh - 0.15 * bw, (i, boxes[i])
            paper = np.percentile(gray[by:by + bh, bx:bx + bw], 90)
            assert np.median(gray[ys, xs]) < paper - 10, (i, pen)
            checked += 1
    assert checked >= 20


def test_a_turned_page_is_filmed_at_its_angle_with_boxes_tight_around_the_ink(held_out):
    """``turn``: the page lies turned clockwise on the desk (bench/clip_sets.py --set turned). Its printed lines run at
    that angle in the frame, and each digit's truth box is its ink's box: the turned box's corners would reach over
    its neighbours."""
    from edgetl.runtime.lines import line_segments

    x, y = held_out
    for turn in (25.0, -25.0):
        angles, boxed = [], 0
        for frame, boxes, _, ink, _ in desk_frames(x, y, 12, 1, seed=3, empty_fraction=0, with_ink=True, turn=turn):
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            dark = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 4)
            for x0, y0, x1, y1 in line_segments(dark, 0.3 * W):
                angle = np.degrees(np.arctan2(y1 - y0, x1 - x0)) % 90  # ruled and squared lines alike
                angles.append(angle if angle < 45 else angle - 90)
            for k, (bx, by, bw, bh) in enumerate(boxes):
                ys, xs = np.nonzero(ink == k + 1)
                assert (bx, by, bx + bw - 1, by + bh - 1) == (xs.min(), ys.min(), xs.max(), ys.max())
                boxed += 1
        assert boxed >= 30
        assert abs(np.median(angles) - turn) < 6, (turn, np.median(angles))
