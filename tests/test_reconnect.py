"""A camera that stops delivering frames is reopened with back-off, a bounded number of times, then the stream
ends cleanly; the reader thread is joined and the capture released on every way out."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from conftest import FakeModel
from edgetl.runtime.errors import UserError
from edgetl.runtime.overlay import draw
from edgetl.runtime.camera import CameraSource

FAST = dict(backoff=0.01, max_backoff=0.04, open_timeout=1.0, poll=0.01)


class FlakyCamera:
    """Delivers ``good`` frames per opening (None: endless), then read() fails; openings after the first
    ``reopen_ok`` reopenings fail to open. Records every opening and release."""

    def __init__(self, good_first=5, good_after=None, reopen_ok=1):
        self.good_first, self.good_after, self.reopen_ok = good_first, good_after, reopen_ok
        self.opened, self.released, self.reads = 0, 0, 0

    def __call__(self, target):  # the opener
        self.opened += 1
        cam = self

        class Capture:
            left = cam.good_first if cam.opened == 1 else cam.good_after
            is_open = cam.opened == 1 or cam.opened - 1 <= cam.reopen_ok

            def isOpened(self):
                return self.is_open

            def getBackendName(self):
                return "FAKE"

            def read(self):
                time.sleep(0.002)
                cam.reads += 1
                if self.left is None or self.left > 0:
                    if self.left is not None:
                        self.left -= 1
                    return True, np.full((8, 8, 3), cam.reads % 256, np.uint8)
                return False, None

            def release(self):
                cam.released += 1

        return Capture()


def test_a_camera_that_comes_back_after_one_reopen_keeps_the_run_going(caplog):
    fake = FlakyCamera(good_first=5, good_after=None, reopen_ok=1)
    start = time.perf_counter()
    with CameraSource(0, opener=fake, max_reconnects=3, **FAST) as cam:
        got = 0
        for _ in cam.frames():
            got += 1
            if got == 20:
                break
        assert cam.status == "" and cam.reopened == 1 and cam.lost is None
    assert got == 20 > 5
    assert fake.opened == 2  # the first opening and exactly one reopen
    assert not cam.thread.is_alive() and fake.released == 2
    assert time.perf_counter() - start < 3


def test_a_camera_that_never_comes_back_ends_the_stream_after_max_reconnects(caplog):
    fake = FlakyCamera(good_first=5, reopen_ok=0)  # every reopen fails to open
    statuses = []
    start = time.perf_counter()
    with CameraSource("rtsp://me:secret@cam/1", opener=fake, max_reconnects=4, **FAST) as cam:
        cam.on_wait = statuses.append
        got = sum(1 for _ in cam.frames())  # ends by itself, no exception
        assert 1 <= got <= 5
        assert cam.lost and "after 4 reconnect(s)" in cam.lost and "secret" not in cam.lost
        cam.thread.join(2)
        assert not cam.thread.is_alive()
    assert fake.opened == 1 + 4
    assert fake.released == 1 + 4  # the first capture, and each reopening that failed (released by open())
    assert time.perf_counter() - start < 3
    lost_lines = [r for r in caplog.records if "camera lost" in r.getMessage()]
    assert len(lost_lines) == 1 and "secret" not in caplog.text
    assert any(s.startswith("reconnecting (attempt") and s.endswith("/4)") for s in statuses)


def test_a_reopened_camera_that_opens_but_delivers_nothing_is_still_bounded():
    fake = FlakyCamera(good_first=3, good_after=0, reopen_ok=99)  # opens every time, never reads
    with CameraSource(0, opener=fake, max_reconnects=3, **FAST) as cam:
        assert sum(1 for _ in cam.frames()) <= 3
        assert "after 3 reconnect(s)" in cam.lost
    assert fake.opened == 4 and fake.released == 4 and not cam.thread.is_alive()


def test_max_reconnects_zero_ends_at_the_first_failure():
    fake = FlakyCamera(good_first=5, reopen_ok=99)
    with CameraSource(0, opener=fake, max_reconnects=0, **FAST) as cam:
        assert 1 <= sum(1 for _ in cam.frames()) <= 5
        assert "--max-reconnects 0" in cam.lost
        cam.thread.join(2)
    assert fake.opened == 1 and fake.released == 1 and not cam.thread.is_alive()


def test_close_during_back_off_joins_the_reader_and_releases():
    fake = FlakyCamera(good_first=2, reopen_ok=0)
    cam = CameraSource(0, opener=fake, max_reconnects=5, backoff=30.0, max_backoff=30.0, poll=0.01)
    deadline = time.monotonic() + 2
    while not cam.status.startswith("reconnecting") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cam.status == "reconnecting (attempt 1/5)"
    start = time.perf_counter()
    cam.close()
    assert time.perf_counter() - start < 1 and not cam.thread.is_alive() and fake.released == 1


def test_an_exception_in_the_consumer_still_joins_and_releases():
    fake = FlakyCamera(good_first=None)
    with pytest.raises(RuntimeError):
        with CameraSource(0, opener=fake, **FAST) as cam:
            for _ in cam.frames():
                raise RuntimeError("consumer crashed")
    assert not cam.thread.is_alive() and fake.released == 1


def test_on_wait_returning_false_stops_waiting():
    fake = FlakyCamera(good_first=2, reopen_ok=0)
    with CameraSource(0, opener=fake, max_reconnects=5, backoff=30.0, max_backoff=30.0, poll=0.01) as cam:
        cam.on_wait = lambda status: False  # q pressed in the window
        start = time.perf_counter()
        assert sum(1 for _ in cam.frames()) <= 2
        assert time.perf_counter() - start < 1
    assert not cam.thread.is_alive() and fake.released == 1


def test_a_blocked_read_is_reported_not_waited_for_forever():
    release = threading.Event()

    class Blocked:
        def __init__(self, target):
            pass

        def isOpened(self):
            return True

        def read(self):
            release.wait(5)
            return False, None

        def release(self):
            pass

    with CameraSource(0, opener=Blocked, stall_timeout=0.2, max_reconnects=0, **FAST) as cam:
        with pytest.raises(UserError, match="no frame for"):
            for _ in cam.frames():
                pass
        release.set()
    cam.thread.join(2)
    assert not cam.thread.is_alive()


def test_overlay_draws_the_status_line():
    image = np.zeros((120, 160, 3), np.uint8)
    plain = draw(image, [], 10.0, 5.0, "CPU")
    with_status = draw(image, [], 10.0, 5.0, "CPU", status="reconnecting (attempt 1/10)")
    assert with_status.shape == plain.shape and (with_status != plain).any()


def test_cli_has_max_reconnects():
    from typer.testing import CliRunner

    from edgetl.cli import app

    result = CliRunner().invoke(app, ["run", "--help"])
    assert "--max-reconnects" in result.output


def test_app_run_ends_cleanly_when_the_camera_is_lost(tmp_path):
    """Through app.run: frames before and after a reopen are processed, the lost camera ends the run without an
    error, the JSONL is finalised and the summary says why it ended."""
    import json

    from edgetl.runtime.app import run

    fake = FlakyCamera(good_first=5, good_after=5, reopen_ok=1)  # 5 frames, one good reopen, 5 more, then gone
    out = tmp_path / "out.jsonl"
    summary = run(FakeModel(), "0", digits=False, show=False, jsonl=out, opener=fake, max_reconnects=2,
                  backoff=0.01, max_backoff=0.02, poll=0.01)
    lines = out.read_text().splitlines()
    assert summary["frames"] == len(lines) and 2 <= len(lines) <= 10
    assert "after 2 reconnect(s)" in summary["source_lost"] and "stopped" not in summary
    assert [json.loads(line)["frame"] for line in lines] == list(range(len(lines)))  # 0, 1, ... across the reopen
    assert fake.opened == 1 + 1 + 2  # first opening; a reopen that worked (count reset); 2 that failed
    assert fake.released == 4
