"""stream.process finds the next frame's digits on a second thread: same results as one frame at a time,
frames in order, never reading past --max-frames."""
from __future__ import annotations

import os

import pytest

from edgetl.runtime.sources import Frame, FrameSource
from edgetl.runtime.stream import process, recognize
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
    tracker = Tracker()
    expected = [[d.to_dict() for d in recognize(model, f, digits=True, tracker=tracker)[0]] for f in frames]
    results = list(process(model, Counted(frames), digits=True))
    assert [r.index for r in results] == list(range(len(frames)))
    assert [[d.to_dict() for d in r.detections] for r in results] == expected
    assert sum(len(e) for e in expected) >= 30  # the frames hold digits: the comparison means something


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
    finder_cpus, caller_cpus = [], []
    real_prepare = stream.prepare

    def recording_prepare(*args, **kwargs):
        finder_cpus.append(os.sched_getaffinity(0))
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(stream, "prepare", recording_prepare)
    for _ in process(model, Counted(frames[:5]), digits=True):
        caller_cpus.append(os.sched_getaffinity(0))
    assert finder_cpus == [{max(cpus)}] * 5
    assert caller_cpus == [cpus - {max(cpus)}] * 5
    assert os.sched_getaffinity(0) == cpus  # given back when the stream ends
