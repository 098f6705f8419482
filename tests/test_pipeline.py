"""stream.process finds the next frame's digits on a second thread: same results as one frame at a time,
frames in order, never reading past --max-frames."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from edgetl.runtime.reuse import ReadingCache
from edgetl.runtime.sources import Frame, FrameSource
from edgetl.runtime.stream import digit_batch, process, recognize, sure_readings
from edgetl.runtime.tracking import Tracker

pytestmark = pytest.mark.slow  # the session's digit model (conftest.digit_run)


class Counted(FrameSource):
    """Frames from memory; counts how many were taken from it."""

    def __init__(self, images):
        self.images, self.taken = images, 0

    def frames(self):
        for i, image in enumerate(self.images):
            self.taken += 1
            yield Frame(i, image, "")


@pytest.fixture(scope="module")
def desk_frames_and_model(digit_run):
    from edgetl.data import load_dataset
    from edgetl.desk import desk_frames
    from edgetl.runtime.model import Model

    x, y = load_dataset("mnist-5k").split("test")
    frames = [frame for frame, _, _ in desk_frames(x[:60], y[:60], 6, 4, seed=5)]
    return frames, Model(digit_run / "model.int8.onnx")


def test_pipelined_results_equal_one_frame_at_a_time(desk_frames_and_model):
    frames, model = desk_frames_and_model
    tracker, cache = Tracker(), ReadingCache(lambda probs: sure_readings(model.card, probs))
    expected = [[d.to_dict() for d in recognize(model, f, digits=True, tracker=tracker, cache=cache)[0]]
                for f in frames]
    results = list(process(model, Counted(frames), digits=True))
    assert [r.index for r in results] == list(range(len(frames)))
    assert [[d.to_dict() for d in r.detections] for r in results] == expected
    assert sum(len(e) for e in expected) >= 30  # the frames hold digits: the comparison means something


class RowCounting:
    """The model, counting the crops it is given."""

    def __init__(self, model):
        self.model, self.card, self.rows = model, model.card, 0

    def predict_batch(self, batch):
        self.rows += len(batch)
        return self.model.predict_batch(batch)


def test_still_digits_are_read_once_when_smoothed_and_every_frame_with_no_smooth(desk_frames_and_model):
    frames, model = desk_frames_and_model
    found = [len(r.detections) for r in process(model, Counted(frames), digits=True, smooth=False)]
    scenes = np.argsort([max(found[s:s + 4]) for s in range(0, len(frames), 4)])[-2:]  # 4 frames a scene
    first, second = (4 * s + int(np.argmax(found[4 * s:4 * s + 4])) for s in scenes)
    still = [frames[first]] * 6 + [frames[second]] * 6  # two pages, each held still for six frames
    every, once = RowCounting(model), RowCounting(model)
    per_frame = list(process(every, Counted(still), digits=True, smooth=False))
    smoothed = list(process(once, Counted(still), digits=True))
    crops = [len(r.detections) for r in per_frame]
    assert crops[0] >= 3 and crops[6] >= 3
    assert every.rows >= sum(crops)  # every crop (and any cut blob's whole crop) of every frame
    read_again = 0  # rows read in every frame: crops whose reading is too close to a decision to be reused (but
    # the pieces of a tried cut, reused sure or not) and the whole crops of blobs cut for sure (reuse.py)
    for page in (frames[first], frames[second]):
        batch, _, splits = digit_batch(model, page, None)
        sure = sure_readings(model.card, model.predict_batch(batch))
        reusable = len(batch) - sum(not tried for _, _, tried in splits)
        hypotheses = {i for _, pieces, tried in splits if tried for i in pieces}
        read_again += sum(i >= reusable or not (sure[i] or i in hypotheses) for i in range(len(batch)))
    assert once.rows == every.rows // 6 + 5 * read_again  # the others read in their page's first frame only
    assert read_again < every.rows // 6  # some were reused: the comparison means something
    assert sum(r.reused for r in smoothed) == every.rows - once.rows and not any(r.reused for r in per_frame)
    labels = lambda results: [[d.label for d in r.detections] for r in results[:6]]  # noqa: E731
    assert labels(smoothed) == labels(per_frame)  # the first page: its reading reused, not changed


def test_max_frames_reads_no_frame_beyond_it(desk_frames_and_model):
    frames, model = desk_frames_and_model
    source = Counted(frames)
    results = list(process(model, source, digits=True, max_frames=3))
    assert [r.index for r in results] == [0, 1, 2] and source.taken == 3


def test_consumer_stopping_early_leaves_no_thread_running(desk_frames_and_model):
    import threading

    frames, model = desk_frames_and_model
    stream = process(model, Counted(frames), digits=True)
    next(stream)
    stream.close()  # what `break` in the run loop does
    assert not [t for t in threading.enumerate() if t.name.startswith("edgetl-find")]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least 2 allowed cores")
def test_finder_and_model_run_on_separate_cores(desk_frames_and_model, monkeypatch):
    import edgetl.runtime.stream as stream

    frames, model = desk_frames_and_model
    cpus = os.sched_getaffinity(0)
    finder_cpus, caller_cpus, opencv_threads = [], [], []
    real_prepare = stream.prepare

    def recording_prepare(*args, **kwargs):
        finder_cpus.append(os.sched_getaffinity(0))
        opencv_threads.append(cv2.getNumThreads())
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(stream, "prepare", recording_prepare)
    cv2.setNumThreads(2)
    for _ in process(model, Counted(frames[:5]), digits=True):
        caller_cpus.append(os.sched_getaffinity(0))
    assert finder_cpus == [{max(cpus)}] * 5
    assert caller_cpus == [cpus - {max(cpus)}] * 5
    assert opencv_threads == [1] * 5  # OpenCV's own pool would take the model's core
    assert os.sched_getaffinity(0) == cpus  # given back when the stream ends
    assert cv2.getNumThreads() == 2
