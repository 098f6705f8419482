"""--loop: a video file or images replay from the start until --max-frames; a camera or stream is refused."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import FakeModel
from edgetl.cli import app
from edgetl.runtime.app import run
from edgetl.runtime.errors import UserError
from edgetl.runtime.sources import VideoSource, open_source
from test_bad_input import card, tiny_onnx, write_video

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_onnx(tmp_path_factory.mktemp("loop") / "model.onnx", card())


def test_a_5_frame_video_looped_gives_12_lines_with_increasing_frames(model, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=5)
    out = tmp_path / "frames.jsonl"
    result = runner.invoke(app, ["run", str(model), "--source", str(clip), "--no-show", "--whole-frame",
                                 "--device", "cpu", "--loop", "--max-frames", "12", "--jsonl", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(12))
    assert json.loads(result.stdout.strip().splitlines()[-1])["frames"] == 12


def test_without_loop_the_video_ends(model, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=5)
    out = tmp_path / "frames.jsonl"
    result = runner.invoke(app, ["run", str(model), "--source", str(clip), "--no-show", "--whole-frame",
                                 "--device", "cpu", "--max-frames", "12", "--jsonl", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert len(out.read_text().splitlines()) == 5


@pytest.mark.parametrize("source, what", [("0", "a camera"), ("rtsp://me:pw@cam.local/live", "a stream")])
def test_loop_with_a_camera_or_stream_is_a_one_line_error(model, tmp_path, source, what):
    result = runner.invoke(app, ["run", str(model), "--source", source, "--no-show", "--device", "cpu", "--loop"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: --loop:") and what in lines[0], result.stderr
    assert "pw" not in lines[0].replace("***", "")
    with pytest.raises(UserError, match="--loop"):
        open_source(source, loop=True)


def test_each_loop_replays_the_same_frames(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=5)
    with open_source(str(clip), loop=True) as source:
        frames = source.frames()
        levels = [round(float(next(frames).image.mean())) for _ in range(15)]
        assert source.loops == 2
    assert levels[:5] == levels[5:10] == levels[10:] and len(set(levels[:5])) == 5


def test_looped_images_keep_counting(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((40, 40, 3), 60 * i, np.uint8))
    (tmp_path / "3.png").write_bytes(b"not an image")
    with open_source(str(tmp_path), loop=True) as source:
        frames = source.frames()
        got = [next(frames) for _ in range(7)]
    assert [f.index for f in got] == [0, 1, 2, 4, 5, 6, 8]
    assert [f.name for f in got] == ["0.png", "1.png", "2.png", "0.png", "1.png", "2.png", "0.png"]


def test_looped_unreadable_images_end_instead_of_spinning(tmp_path):
    (tmp_path / "a.png").write_bytes(b"broken")
    with open_source(str(tmp_path), loop=True) as source:
        assert list(source.frames()) == []


def test_a_video_that_cannot_seek_is_reopened(tmp_path, monkeypatch):
    clip = write_video(tmp_path / "clip.mp4", frames=3)
    source = VideoSource(clip, loop=True)
    monkeypatch.setattr(source, "capture", NoSeek(source.capture))
    frames = source.frames()
    indices = [next(frames).index for _ in range(8)]
    source.close()
    assert indices == list(range(8)) and source.loops == 2


class NoSeek:
    """A capture whose seek fails (some streams and containers)."""

    def __init__(self, capture):
        self.capture = capture

    def set(self, prop, value):
        return False

    def __getattr__(self, name):
        return getattr(self.capture, name)


def test_app_run_loops_a_video(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=4)
    summary = run(FakeModel(), str(clip), digits=False, show=False, loop=True, max_frames=10)
    assert summary["frames"] == 10


def test_the_summary_stays_small_however_long_the_run():
    """A looping run lasts for days: the summary counts every frame but keeps only the newest latencies."""
    from edgetl.runtime.stream import LATENCY_WINDOW, FrameResult, Summary

    summary = Summary()
    for i in range(LATENCY_WINDOW + 500):
        summary.add(FrameResult(i, "", None, [], {"preprocess": 1.0 if i < 500 else 2.0, "infer": 0.0}))
    report = summary.to_dict()
    assert report["frames"] == LATENCY_WINDOW + 500 and len(summary.latencies) == LATENCY_WINDOW
    assert report["latency_p50_ms"] == report["latency_p95_ms"] == 2.0  # the oldest 500 frames have left
