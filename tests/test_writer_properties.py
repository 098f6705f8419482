"""Property-based tests (hypothesis) for the run's writers (runtime/outputs.py): whatever is written comes back
exactly, and a writer that crashes before its first record or frame never replaces an existing file."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgetl.runtime._io import is_temp_name
from edgetl.runtime.outputs import JsonlWriter, VideoWriter

few = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.text(max_size=8)
leaves = (st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=12))  # any text: quotes, backslashes, newlines, U+2028, emoji
json_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                           max_leaves=10)
records = st.dictionaries(keys, json_values, max_size=5)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if is_temp_name(p.name)]


@few
@given(st.lists(records, max_size=12), st.booleans())
def test_jsonl_lines_parse_back_to_the_records_written(batch, crashed):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.jsonl"
        writer = JsonlWriter(path)
        for record in batch:
            writer.write(record)
        committed = writer.close(crashed=crashed)
        assert writer.count == len(batch)
        assert leftovers(Path(tmp)) == []
        if crashed and not batch:  # nothing to keep: no file at all
            assert not committed and not path.exists()
            return
        assert committed
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") == len(batch) and (text == "" or text.endswith("\n"))
        assert [json.loads(line) for line in text.splitlines()] == batch


@few
@given(st.binary(max_size=200))
def test_a_crash_before_the_first_record_never_replaces_an_existing_jsonl(earlier):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.jsonl"
        path.write_bytes(earlier)
        writer = JsonlWriter(path)
        assert path.read_bytes() == earlier  # nothing touches the target while the stream runs
        assert writer.close(crashed=True) is False
        assert path.read_bytes() == earlier and leftovers(Path(tmp)) == []


frame_sizes = st.tuples(st.integers(2, 24).map(lambda n: 8 * n), st.integers(2, 18).map(lambda n: 8 * n))


@few
@given(st.integers(1, 12), frame_sizes, st.sampled_from([".avi", ".mp4"]), st.integers(0, 2**32 - 1))
def test_a_video_reads_back_with_its_frame_count_and_size(count, size, suffix, seed):
    width, height = size
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"out{suffix}"
        writer = VideoWriter(path, fps=25.0)
        for _ in range(count):
            writer.write(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        assert writer.close() is True
        assert leftovers(Path(tmp)) == []
        capture = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image.shape)
        capture.release()
        assert frames == [(height, width, 3)] * count


@few
@given(st.binary(min_size=1, max_size=300), st.sampled_from([".avi", ".mp4", ".mkv"]), st.booleans())
def test_a_video_writer_with_no_frames_leaves_an_existing_file_byte_identical(earlier, suffix, crashed):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"out{suffix}"
        path.write_bytes(earlier)
        writer = VideoWriter(path, fps=25.0)
        assert writer.close(crashed=crashed) is False
        assert path.read_bytes() == earlier and leftovers(Path(tmp)) == []


@few
@given(st.binary(min_size=1, max_size=300), frame_sizes)
def test_a_video_writer_that_fails_on_its_first_frame_leaves_an_existing_file_alone(earlier, size):
    class Broken(Exception):
        pass

    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.avi"
        path.write_bytes(earlier)
        writer = VideoWriter(path, fps=25.0)
        original = cv2.VideoWriter

        def failing(*args):
            raise Broken()

        cv2.VideoWriter = failing  # the encoder breaks as the first frame arrives
        try:
            try:
                writer.write(np.zeros((height, width, 3), np.uint8))
            except Broken:
                pass
        finally:
            cv2.VideoWriter = original
        assert writer.count == 0 and writer.close(crashed=True) is False
        assert path.read_bytes() == earlier and leftovers(Path(tmp)) == []

