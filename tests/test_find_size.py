"""A frame is scaled until its shorter side is FIND_SIZE to find digits, and the boxes come back in the frame's own
pixels (runtime/find_size.py): an HD camera and a 320x240 one read what a 640x480 one does."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from edgetl.runtime.find_size import FIND_SIZE, MAX_ENLARGE, find_scale, to_frame
from edgetl.runtime.sources import ArraySource
from edgetl.runtime.stream import digit_batch, process
from edgetl.runtime.tracking import iou

CROPS_ONLY = SimpleNamespace(card=SimpleNamespace(height=28, width=28, channels=1))


def page() -> np.ndarray:
    frame = np.full((480, 640, 3), 232, np.uint8)
    for text, x in (("3", 120), ("7", 260), ("5", 400)):
        cv2.putText(frame, text, (x, 280), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (40, 40, 40), 6, cv2.LINE_AA)
    return frame


def upscaled(frame: np.ndarray, factor: float) -> np.ndarray:
    return cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def test_a_frame_is_brought_to_the_finders_size_and_a_small_one_enlarged_at_most_twice():
    assert find_scale((480, 640, 3)) == 1.0 and find_scale((360, 640)) == FIND_SIZE / 360
    assert find_scale((1080, 1920, 3)) == FIND_SIZE / 1080
    assert find_scale((1920, 1080, 3)) == FIND_SIZE / 1080  # a phone held upright: its shorter side
    assert find_scale((240, 320, 3)) == 2.0 and find_scale((28, 28)) == MAX_ENLARGE == 2.0
    assert find_scale((1080, 1920, 3), 0) == 1.0 and find_scale((240, 320), None) == 1.0
    # a box found at 0.25 covers every frame pixel it covers there, offset by the --roi's corner
    assert to_frame([10, 20, 5, 7], 0.25, (480, 640), (100, 50)) == [140, 130, 20, 28]
    assert to_frame([10, 20, 5, 7], 1 / 3, (480, 640)) == [30, 60, 15, 21]
    # 1919 px wide at 480 / 1080 is 853 px (852.9 rounded up): a box to that edge stops at the frame's, 1919 not 1920
    assert to_frame([833, 0, 20, 10], FIND_SIZE / 1080, (1080, 1919)) == [1874, 0, 45, 23]


def test_digits_in_an_hd_frame_are_found_at_the_finders_size_and_boxed_in_frame_pixels():
    small = page()
    batch, boxes, _ = digit_batch(CROPS_ONLY, small, None)
    assert len(boxes) == 3, boxes
    for factor in (2.0, 3.0):
        big_batch, big_boxes, _ = digit_batch(CROPS_ONLY, upscaled(small, factor), None)
        assert len(big_boxes) == 3
        for box, big in zip(boxes, big_boxes):
            assert np.abs(np.array(big) - factor * np.array(box)).max() <= factor + 1, (box, big)
        # the crops are cut where the finder found them: those of the 640x480 frame, to a few levels
        assert np.abs(big_batch.astype(int) - batch).mean() < 3.0
    # a --roi is scaled as its frame is (by 1/3 here, not by 480 / 1200) and its boxes come back in frame pixels
    _, in_roi, _ = digit_batch(CROPS_ONLY, upscaled(small, 3.0), [201, 60, 1500, 1200])
    assert len(in_roi) == 3 and all(iou(a, [v / 3 for v in b]) >= 0.9 for a, b in zip(boxes, in_roi)), in_roi
    # a 320x240 camera's frame is enlarged to 640x480: the same boxes, halved
    _, half, _ = digit_batch(CROPS_ONLY, cv2.resize(small, (320, 240), interpolation=cv2.INTER_AREA), None)
    assert len(half) == 3 and all(iou([v / 2 for v in a], b) >= 0.8 for a, b in zip(boxes, half)), half


def read_alike(model, frames: list, factor: float, find_size: int = FIND_SIZE) -> tuple[int, int, int]:
    """(digits read in the 640x480 frames, in the frames scaled by ``factor``, read alike in both: the same label,
    the box scaled back overlapping by IoU 0.8), read as `edgetl run --no-smooth` reads them."""
    how = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    scaled = [cv2.resize(f, None, fx=factor, fy=factor, interpolation=how) for f in frames]
    at_640 = [r.detections for r in process(model, ArraySource(frames), digits=True, smooth=False)]
    at_other = [r.detections for r in process(model, ArraySource(scaled), digits=True, smooth=False,
                                              find_size=find_size)]
    same = sum(any(d.label == e.label and iou(d.box, [v / factor for v in e.box]) >= 0.8 for e in other)
               for mine, other in zip(at_640, at_other) for d in mine)
    return sum(map(len, at_640)), sum(map(len, at_other)), same


@pytest.mark.slow
def test_an_hd_camera_and_a_320x240_one_read_what_a_640x480_one_does(digit_run):
    """edgetl.desk's pages (squared and ruled paper, coloured ink, dim light) filmed at 640x480, 1920x1440 and
    320x240, read as `edgetl run` reads them: the same digits in boxes of the frame's own size."""
    from edgetl.data import load_dataset
    from edgetl.desk import desk_frames
    from edgetl.runtime.model import Model

    model = Model(digit_run / "model.int8.onnx", device="cpu")
    x, y = load_dataset("mnist-5k").split("test")
    scenes = list(desk_frames(x[:60, ..., 0], y[:60], 6, 1, seed=5))
    frames, written = [frame for frame, _, _ in scenes], sum(len(labels) for _, _, labels in scenes)
    # measured with the test's small model, (read at 640x480, at the other size, alike) of the 19 digits written:
    # 1920x1440 (16, 17, 16), 320x240 (16, 17, 16); 23 of 27 before the pen kept the writer's thick strokes (2026-12-07)
    for factor in (3.0, 0.5):
        found, found_other, same = read_alike(model, frames, factor)
        assert found >= 0.7 * written and same >= found - 2 and abs(found_other - found) <= 2, \
            (factor, written, found, found_other, same)
