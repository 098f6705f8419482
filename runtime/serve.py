"""--serve: the annotated stream as a web page, for a device with no screen.

Standard-library HTTP in a daemon thread. The run loop calls ``LiveServer.publish`` once per frame; that
only swaps a reference, so the pipeline never waits for a client. The newest frame is JPEG-encoded at most
once, by the first client that asks for it, whatever the number of clients; a slow client skips frames.

    /             a page with the stream and the latest readings
    /stream.mjpg  multipart/x-mixed-replace MJPEG
    /snapshot.jpg the newest frame
    /stats.json   fps, latency, frames, provider, source and the last frame's record (as in --jsonl)
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import socketserver
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from .errors import UserError
from .live_page import PAGE

log = logging.getLogger(__name__)

BOUNDARY = "edgetl-frame"
JPEG_QUALITY = 80
SEND_TIMEOUT_S = 30.0  # a client that reads nothing for this long is dropped (its thread ends)
EXAMPLE = "e.g. 8080, 0.0.0.0:8080 or [::1]:8080"


def parse_serve(text: str) -> tuple[str, int]:
    """(host, port) from ``[HOST:]PORT``; the host is 127.0.0.1 unless given, an IPv6 host in brackets."""
    text = str(text).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host = "127.0.0.1"
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host or not host:
        host = ""  # a bare IPv6 address, or ":8080"
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--serve {text}: expected [HOST:]PORT with PORT 0-65535, {EXAMPLE}")
    return host, int(port)


def resolve(host: str, port: int) -> tuple[int, tuple]:
    """(address family, socket address) to bind for ``host``; a name that does not resolve is a UserError."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--serve {host}:{port}: unknown host {host!r} ({exc}); use an address of this "
                        f"machine, {EXAMPLE}") from None
    return family, address


def frame_stats(result, summary, provider: str, source: str) -> dict:
    """What /stats.json says after ``result`` (a stream.FrameResult), ``summary`` its run's Summary."""
    return {"frames": summary.frames, "fps": round(summary.fps(), 1), "latency_ms": round(result.latency_ms, 2),
            "provider": provider, "source": source, "last": result.to_dict()}


def encode_jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for a frame of shape {frame.shape}")
    return data.tobytes()


class NewestFrame:
    """The newest published frame and stats; its JPEG made once, on first demand.

    ``encodes`` counts the JPEG encodes (one per frame asked for, at most one per frame published).
    """

    def __init__(self, encode=encode_jpeg):
        self.encode = encode
        self.encodes = 0
        self.closed = False
        self._changed = threading.Condition()  # publish and close notify it; streams wait on it
        self._frame, self._stats, self._seq = None, {"frames": 0}, 0
        self._encoding = threading.Lock()  # never taken by publish: a client's encode cannot hold up the run
        self._jpeg, self._jpeg_seq = None, 0

    def publish(self, frame: np.ndarray, stats: dict) -> None:
        """Keep ``frame`` (not copied: it must not be changed afterwards) and ``stats``; wake the streams."""
        with self._changed:
            self._frame, self._stats, self._seq = frame, stats, self._seq + 1
            self._changed.notify_all()

    def stats(self) -> dict:
        return self._stats

    def jpeg(self) -> tuple[bytes | None, int]:
        """(JPEG of the newest frame, its number); (None, 0) before the first frame."""
        with self._encoding:
            with self._changed:
                frame, seq = self._frame, self._seq
            if frame is not None and seq != self._jpeg_seq:
                self._jpeg, self._jpeg_seq = self.encode(frame), seq
                self.encodes += 1
            return self._jpeg, self._jpeg_seq

    def wait_newer(self, seen: int, timeout: float = 1.0) -> tuple[bytes | None, int]:
        """The newest frame's JPEG once it is newer than frame number ``seen``; (None, seen) on timeout or close."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._seq > seen or self.closed, timeout) or self.closed:
                return None, seen
        return self.jpeg()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class Handler(BaseHTTPRequestHandler):
    server: "HTTPServer"
    protocol_version = "HTTP/1.1"
    timeout = SEND_TIMEOUT_S

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        route = {"/": self.page, "/index.html": self.page, "/stream.mjpg": self.stream,
                 "/snapshot.jpg": self.snapshot, "/stats.json": self.stats}.get(self.path.split("?")[0])
        if route is None:
            self.send_body(HTTPStatus.NOT_FOUND, "text/plain", b"not found: try / or /stream.mjpg\n")
        else:
            route()

    def send_body(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def page(self) -> None:
        self.send_body(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.encode())

    def stats(self) -> None:
        self.send_body(HTTPStatus.OK, "application/json", json.dumps(self.server.newest.stats()).encode())

    def snapshot(self) -> None:
        jpeg, _ = self.server.newest.jpeg()
        if jpeg is None:
            self.send_body(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"no frame yet\n")
        else:
            self.send_body(HTTPStatus.OK, "image/jpeg", jpeg)

    def stream(self) -> None:
        self.close_connection = True  # the stream ends with the connection
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        newest, seen = self.server.newest, 0
        with self.server.tracked(self.connection):
            while not newest.closed:
                jpeg, seen = newest.wait_newer(seen)
                if jpeg is not None:
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode() + jpeg + b"\r\n")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the http.server signature)
        log.debug("%s %s", self.address_string(), format % args)


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() ends the streams itself; a stalled client must not hold up the exit

    def __init__(self, family: int, address: tuple, newest: NewestFrame):
        self.address_family = family
        self.newest = newest
        self.streams: set[socket.socket] = set()
        self.streams_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:  # "::" takes IPv4 clients too
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: its full-name lookup can wait on DNS
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    @contextlib.contextmanager
    def tracked(self, connection: socket.socket):
        with self.streams_lock:
            self.streams.add(connection)
        try:
            yield
        finally:
            with self.streams_lock:
                self.streams.discard(connection)

    def end_streams(self) -> None:
        """Unblock stream threads stuck writing to clients that stopped reading."""
        with self.streams_lock:
            for connection in list(self.streams):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request, client_address) -> None:
        """A browser that goes away mid-stream is normal: no traceback, the run goes on."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            log.debug("client %s went away (%s)", client_address, exc)
        else:
            log.warning("live view: request from %s failed: %s", client_address, exc)


def bind_error(where: str, port: int, exc: OSError) -> UserError:
    if exc.errno == errno.EADDRINUSE:
        why = f"port {port} is in use by another program; choose another port or stop that program"
    elif exc.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need root); choose a port from 1024 up, e.g. 8080"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "not an address of this machine; use 127.0.0.1, 0.0.0.0 (every interface) or one of its addresses"
    else:
        why = f"cannot listen there ({exc.strerror or exc}); {EXAMPLE}"
    return UserError(f"--serve {where}: {why}")


class LiveServer:
    """The live view: ``publish`` each annotated frame, ``close`` at the end (or use it as a context manager).

    Created listening (a port in use or a bad host is a UserError here, before a camera opens) and serving
    from a daemon thread. ``encode``: frame -> JPEG bytes (tests count the calls).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, encode=encode_jpeg):
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        family, address = resolve(host, port)
        self.newest = NewestFrame(encode)
        try:
            self.http = HTTPServer(family, address, self.newest)
        except OverflowError:  # a port number socket.bind will not take
            raise UserError(f"--serve {where}: expected [HOST:]PORT with PORT 0-65535, {EXAMPLE}") from None
        except OSError as exc:
            raise bind_error(where, port, exc) from None
        self.thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="edgetl-serve", daemon=True)
        self.thread.start()
        self.closed = False

    @classmethod
    def open(cls, text: str, **options) -> "LiveServer":
        """From the ``--serve [HOST:]PORT`` text."""
        return cls(*parse_serve(text), **options)

    @property
    def port(self) -> int:
        return self.http.server_address[1]

    @property
    def url(self) -> str:
        host = self.http.server_address[0]
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    def publish(self, frame: np.ndarray, stats: dict) -> None:
        """The newest annotated BGR frame (not copied: do not change it afterwards) and its /stats.json."""
        self.newest.publish(frame, stats)

    def close(self) -> None:
        """Stop serving: end the streams, stop the server thread and wait for it, free the port. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.newest.close()
        self.http.shutdown()
        self.thread.join()
        self.http.end_streams()
        self.http.server_close()

    def __enter__(self) -> "LiveServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def live_server(serve) -> LiveServer | contextlib.nullcontext:
    """What ``app.run(serve=...)`` takes: None, ``[HOST:]PORT`` text, or a LiveServer (run closes it)."""
    if serve is None or isinstance(serve, LiveServer):
        return serve if serve is not None else contextlib.nullcontext()
    server = LiveServer.open(serve)
    log.info("live view: %s", server.url)
    return server
