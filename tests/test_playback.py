"""A video file played like a camera (runtime/pacing.py): frames released at the file's rate on an injected
clock, no drift, no burst after falling behind; --fast and headless runs never wait."""
from __future__ import annotations

import pytest

from edgetl.runtime.pacing import DEFAULT_FPS, Pacer


class FakeClock:
    def __init__(self):
        self.now, self.slept = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def release_times(pacer, clock, n, work=0.0):
    times = []
    for _ in range(n):
        pacer.wait()
        times.append(clock.now)
        clock.now += work  # processing the frame
    return times


def test_frames_are_released_at_the_file_rate_without_drift():
    clock = FakeClock()
    times = release_times(Pacer(25.0, clock, clock.sleep), clock, 101, work=0.013)
    assert times[100] - times[0] == pytest.approx(4.0)  # 100 intervals of 40 ms, however long each frame took
    assert all(b - a == pytest.approx(0.04) for a, b in zip(times, times[1:]))


def test_slow_processing_is_never_slept_on_and_never_bursts():
    clock = FakeClock()
    pacer = Pacer(30.0, clock, clock.sleep)
    times = release_times(pacer, clock, 10, work=0.1)  # 100 ms per frame: slower than the file
    assert clock.slept == []
    clock.now += 5.0  # a pause (space in the window)
    after = release_times(pacer, clock, 3, work=0.0)
    assert after[1] - after[0] == pytest.approx(1 / 30) and after[2] - after[1] == pytest.approx(1 / 30)
    assert times[1] - times[0] == pytest.approx(0.1)


@pytest.mark.parametrize("fps", [0.0, float("nan"), None, -5.0])
def test_a_file_without_a_rate_plays_at_30(fps):
    assert Pacer(fps).interval == pytest.approx(1 / DEFAULT_FPS)


def test_run_paces_only_with_a_window_or_server(digit_run, tmp_path, monkeypatch):
    """Headless runs (bench, tests, JSONL jobs) never wait; --serve paces unless --fast."""
    import edgetl.runtime.app as app
    from clips import render_clip
    from edgetl.data import load_dataset
    from edgetl.runtime.model import Model

    waits = []
    monkeypatch.setattr(app.Pacer, "wait", lambda self: waits.append(self.interval))
    x, y = load_dataset("mnist-5k").split("test")
    clip = render_clip(tmp_path / "clip.mp4", x[:20], y[:20], scenes=1, frames_per_scene=5, seed=1, fps=20.0)
    model = Model(digit_run / "model.int8.onnx")
    app.run(model, str(clip), show=False)
    assert waits == []
    app.run(model, str(clip), show=False, serve="127.0.0.1:0")
    assert waits == [pytest.approx(0.05)] * 5
    app.run(model, str(clip), show=False, serve="127.0.0.1:0", fast=True)
    assert len(waits) == 5
