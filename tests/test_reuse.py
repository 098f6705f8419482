"""A still digit's crop is read once and its reading reused (runtime/reuse.py); a changed, moved or old
crop is read again."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from edgetl.runtime import reuse
from edgetl.runtime.reuse import ReadingCache


ALL_SURE = lambda outputs: np.ones(len(outputs), bool)  # noqa: E731


class CountingModel:
    """Reads a crop as its mean gray level (so different crops read differently); records every batch."""

    def __init__(self):
        self.batches: list[int] = []

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        return batch.reshape(len(batch), -1).mean(axis=1, keepdims=True) * np.ones((1, 3))


def digit(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28, 1)).astype(np.uint8)


def noisy(crop: np.ndarray, rng: np.random.Generator, level: int = 2) -> np.ndarray:
    return np.clip(crop.astype(int) + rng.integers(-level, level + 1, crop.shape), 0, 255).astype(np.uint8)


def test_a_still_digit_is_read_once_then_reused_through_sensor_noise_and_a_small_shake():
    model, cache, rng = CountingModel(), ReadingCache(ALL_SURE), np.random.default_rng(0)
    crop = digit(1)
    first = cache.predict(model, [[100, 80, 40, 60]], crop[None])
    for t in range(1, reuse.MAX_AGE):
        box = [100 + t % 3, 80 - t % 2, 40, 60]  # within MAX_SHIFT of the box that was read
        out = cache.predict(model, [box], noisy(crop, rng)[None])
        np.testing.assert_array_equal(out, first)
    assert model.batches == [1]
    assert cache.read == 1 and cache.reused == reuse.MAX_AGE - 1


def test_a_new_digit_in_the_same_place_is_read():
    model, cache = CountingModel(), ReadingCache(ALL_SURE)
    one, seven = digit(1), digit(7)
    cache.predict(model, [[100, 80, 40, 60]], one[None])
    out = cache.predict(model, [[100, 80, 40, 60]], seven[None])
    assert model.batches == [1, 1]
    assert out[0, 0] == seven.mean()


def test_a_digit_that_moved_more_than_a_few_pixels_is_read_again():
    model, cache = CountingModel(), ReadingCache(ALL_SURE)
    crop = digit(1)
    cache.predict(model, [[100, 80, 40, 60]], crop[None])
    cache.predict(model, [[100 + 11, 80, 40, 60]], crop[None])  # a quarter of 40 px is 10
    assert model.batches == [1, 1]


def test_slow_drift_is_measured_from_the_crop_that_was_read_so_it_cannot_add_up():
    model, cache = CountingModel(), ReadingCache(ALL_SURE)
    crop = np.full((28, 28, 1), 100, np.uint8)
    read_at = []
    for t in range(12):  # one gray level brighter each frame: never more than MAX_DIFF from the frame before
        before = len(model.batches)
        cache.predict(model, [[10, 10, 30, 30]], crop + t)
        if len(model.batches) > before:
            read_at.append(t)
    assert read_at == [0, 5, 10]  # read again as soon as it is more than 4 levels from the crop read


def test_a_page_of_still_digits_is_read_again_in_time_but_not_all_in_one_frame():
    model, cache = CountingModel(), ReadingCache(ALL_SURE)
    boxes = [[60 * k, 100, 40, 60] for k in range(9)]
    crops = np.stack([digit(k) for k in range(9)])
    rows = []
    for _ in range(reuse.MAX_AGE + reuse.STAGGER + 1):
        before = len(model.batches)
        cache.predict(model, boxes, crops)
        rows.append(model.batches[-1] if len(model.batches) > before else 0)
    assert rows[0] == 9 and sum(rows[1:reuse.MAX_AGE]) == 0
    assert sum(rows[reuse.MAX_AGE:]) == 9  # every digit read again once within the stagger window
    assert max(rows[reuse.MAX_AGE:]) <= 2


def test_an_unsure_reading_is_never_reused():
    model, cache = CountingModel(), ReadingCache(lambda outputs: outputs[:, 0] > 128)  # sure of bright crops
    dim, bright = np.full((28, 28, 1), 60, np.uint8), np.full((28, 28, 1), 200, np.uint8)
    for _ in range(5):
        cache.predict(model, [[0, 0, 28, 28], [100, 0, 28, 28]], np.stack([dim, bright]))
    assert model.batches == [2, 1, 1, 1, 1]  # the dim crop every frame, the bright one once



def test_a_cut_blobs_whole_crop_is_read_every_frame_though_sure():
    """The whole crop after the pieces (read_always) decides against WHOLE_SCORE, a threshold inside what the
    cache calls sure: reused, a whole read just over it stays whole while a fresh read would fall under it (with
    more blobs cut, the seed-7 desk clip of tests/test_desk_reading.py had frames where smoothing alone changed
    the detections)."""
    model, cache = CountingModel(), ReadingCache(ALL_SURE)
    piece, whole = digit(1), digit(2)
    for _ in range(4):
        cache.predict(model, [[0, 0, 20, 40], [0, 0, 40, 40]], np.stack([piece, whole]), read_always=1)
    assert model.batches == [2, 1, 1, 1]  # the piece once, the whole every frame
    assert cache.read == 5 and cache.reused == 3

CARD = SimpleNamespace(class_names=[str(d) for d in range(10)] + ["not a digit"], reject_class="not a digit",
                       reject_threshold=0.99)


def probs(digit: int, p_digit: float, p_reject: float) -> np.ndarray:
    v = np.full(11, (1 - p_digit - p_reject) / 9)
    v[digit], v[10] = p_digit, p_reject
    return v


def test_sure_readings_are_far_from_the_reject_threshold_and_the_min_score():
    from edgetl.runtime.stream import sure_readings

    rows = np.stack([probs(3, 0.97, 0.01),     # a clear 3: sure
                     probs(3, 0.6, 0.3),       # a 3 at 0.86 of the digits, under 0.9: unsure
                     probs(3, 0.08, 0.915),    # reject share 0.915, within 2.3 log-odds of 0.99: unsure
                     probs(3, 0.012, 0.988),   # just under the threshold: the next frame may refuse it
                     probs(3, 0.0005, 0.9992)])  # sure clutter
    assert sure_readings(CARD, rows).tolist() == [True, False, False, False, True]
    assert sure_readings(CARD, rows, min_score=0.95).tolist() == [False, False, False, False, True]  # 0.97 of 0.99
