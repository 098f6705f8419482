"""--serve: the live view's HTTP endpoints, one JPEG encode per frame, clients that go away, bad ports and hosts.

The server alone is tested in-process; `edgetl run --serve` as a subprocess over a short looped video with a
hand-made model (no TensorFlow), read with urllib against 127.0.0.1.
"""
from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import EDGETL, ROOT, default_signals, finish
from edgetl.cli import app
from edgetl.runtime.errors import UserError
from edgetl.runtime.serve import BOUNDARY, LiveServer, encode_jpeg, parse_serve
from test_bad_input import CLASSES, card, tiny_onnx, write_video

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_onnx(tmp_path_factory.mktemp("serve") / "model.onnx", card())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("serve") / "clip.mp4", frames=6, size=(320, 240))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"not a JPEG: {jpeg[:20]!r}"
    return image


def read_part(stream) -> bytes:
    """The next JPEG of a multipart/x-mixed-replace response."""
    line = stream.readline()
    while line.strip() != f"--{BOUNDARY}".encode():
        assert line, "the stream ended"
        line = stream.readline()
    headers = {}
    while (line := stream.readline().strip()):
        key, _, value = line.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    return stream.read(int(headers["content-length"]))


def wait_until_listening(url: str, proc: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            get(url + "stats.json", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.02)
    raise AssertionError(f"{url} never answered")


def start_run(model: Path, clip: Path, port: int, jsonl: Path, frames: int) -> subprocess.Popen:
    args = ["run", model, "--source", clip, "--loop", "--whole-frame", "--device", "cpu", "--no-show",
            "--serve", f"127.0.0.1:{port}", "--max-frames", frames, "--jsonl", jsonl, "--fast"]
    return subprocess.Popen([*EDGETL, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_signals)


# --- the server alone ---------------------------------------------------------------------------------------

class CountingEncoder:
    def __init__(self):
        self.calls = 0

    def __call__(self, frame):
        self.calls += 1
        return encode_jpeg(frame)


def frame(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value, np.uint8)


def test_two_clients_get_every_frame_from_one_encode_each():
    encoder = CountingEncoder()
    with LiveServer("127.0.0.1", 0, encode=encoder) as server:
        server.publish(frame(10), {"frames": 1})
        first, second = (urllib.request.urlopen(server.url + "stream.mjpg", timeout=10) for _ in range(2))
        with first, second:
            assert first.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            for value in (10, 200):
                if value != 10:
                    server.publish(frame(value), {"frames": 2})
                for client in (first, second):
                    assert abs(int(decode(read_part(client)).mean()) - value) <= 2
            assert encoder.calls == 2
            assert abs(int(decode(get(server.url + "snapshot.jpg")).mean()) - 200) <= 2
            assert encoder.calls == 2  # the snapshot is the frame the streams already encoded
            assert json.loads(get(server.url + "stats.json")) == {"frames": 2}


def test_a_client_that_stops_reading_never_holds_up_publish_or_close():
    encoder = CountingEncoder()
    server = LiveServer("127.0.0.1", 0, encode=encoder)
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
    big = np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8)  # JPEGs that fill socket buffers
    start = time.perf_counter()
    for i in range(300):
        server.publish(big, {"frames": i + 1})
        time.sleep(0.001)
    publishing = time.perf_counter() - start
    start = time.perf_counter()
    server.close()
    assert time.perf_counter() - start < 3
    stalled.close()
    assert publishing < 3
    assert encoder.calls < 300  # the stalled stream skipped frames instead of queueing them


def test_page_and_errors():
    with LiveServer("127.0.0.1", 0) as server:
        page = get(server.url).decode()
        assert '<img id="stream" src="/stream.mjpg"' in page and "/stats.json" in page
        with pytest.raises(urllib.error.HTTPError) as missing:
            get(server.url + "snapshot.jpg")
        assert missing.value.code == 503  # no frame yet
        with pytest.raises(urllib.error.HTTPError) as unknown:
            get(server.url + "nope")
        assert unknown.value.code == 404


@pytest.mark.parametrize("text, expected", [("8080", ("127.0.0.1", 8080)), ("0.0.0.0:8080", ("0.0.0.0", 8080)),
                                            ("[::1]:8080", ("::1", 8080)), ("localhost:0", ("localhost", 0))])
def test_parse_serve(text, expected):
    assert parse_serve(text) == expected


@pytest.mark.parametrize("text", ["", "http", "70000", ":8080", "::1:8080", "host:", "8080:x", "-1"])
def test_parse_serve_refuses(text):
    with pytest.raises(UserError, match=r"^--serve .*expected \[HOST:\]PORT"):
        parse_serve(text)


def test_a_port_in_use_or_an_address_not_here_is_a_user_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UserError, match="is in use"):
            LiveServer("127.0.0.1", taken.getsockname()[1])
    with pytest.raises(UserError, match="not an address of this machine"):
        LiveServer("192.0.2.1", 0)  # TEST-NET-1: never a local address


# --- edgetl run --serve ---------------------------------------------------------------------------------------

def test_run_serves_stream_snapshot_and_stats(model, clip, tmp_path):
    port = free_port()
    proc = start_run(model, clip, port, tmp_path / "frames.jsonl", frames=10**7)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_listening(url, proc)
        with urllib.request.urlopen(url + "stream.mjpg", timeout=30) as stream:
            shapes = [decode(read_part(stream)).shape for _ in range(3)]
        assert shapes == [(240, 320, 3)] * 3
        assert decode(get(url + "snapshot.jpg")).shape == (240, 320, 3)
        stats = json.loads(get(url + "stats.json"))
        assert stats["frames"] > 0 and stats["provider"] == "CPU" and stats["source"] == str(clip)
        assert {"fps", "latency_ms"} <= stats.keys() and stats["last"]["detections"][0]["label"] in CLASSES
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc, 60)
    assert proc.returncode == 130, err
    assert json.loads(out.strip().splitlines()[-1])["stopped"] == "SIGINT"
    assert f"live view: {url}" in err and "Traceback" not in err


def test_a_client_that_disconnects_mid_stream_does_not_stop_the_run(model, clip, tmp_path):
    port, jsonl, frames = free_port(), tmp_path / "frames.jsonl", 3000
    proc = start_run(model, clip, port, jsonl, frames)
    url = f"http://127.0.0.1:{port}/"
    wait_until_listening(url, proc)  # the server listens before the model loads: the stream opens in time
    for reset in (False, True, False):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        raw.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while received.count(BOUNDARY.encode()) < 2:  # into the second frame
            chunk = raw.recv(65536)
            assert chunk, "the stream ended"
            received += chunk
        if reset:  # a connection reset rather than a clean close
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
    out, err = finish(proc, 120)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["frames"] == frames
    assert len(jsonl.read_text().splitlines()) == frames
    assert "Traceback" not in err and "Broken" not in err and "reset" not in err.lower()


def test_a_port_in_use_is_refused_before_the_camera_opens(model, tmp_path):
    jsonl = tmp_path / "frames.jsonl"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # camera 99 does not exist: the error names the port, so the camera was never opened
        result = runner.invoke(app, ["run", str(model), "--source", "99", "--no-show", "--device", "cpu",
                                     "--serve", f"127.0.0.1:{port}", "--jsonl", str(jsonl)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith(f"error: --serve 127.0.0.1:{port}: port {port} is in use"), lines
    assert not jsonl.exists()


@pytest.mark.parametrize("serve, why", [("192.0.2.1:8080", "not an address of this machine"),
                                        ("localhost:99999", "expected [HOST:]PORT"),
                                        ("nosuchhost.invalid:8080", "unknown host")])
def test_a_bad_host_or_port_is_a_one_line_error(model, clip, serve, why):
    result = runner.invoke(app, ["run", str(model), "--source", str(clip), "--no-show", "--device", "cpu",
                                 "--serve", serve])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith(f"error: --serve ") and why in lines[0], lines
