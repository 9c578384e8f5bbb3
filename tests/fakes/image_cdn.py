"""A fake 1688 image CDN, and the pieces the Douyin and Taobao fakes share.

Everything here binds 127.0.0.1 on a free port and never sends traffic anywhere else.

``FakeImageCdn`` serves generated images at paths such as
``/img/ibank/O1CN01abc_!!123-0-cib.jpg``. A registered original also serves its size-suffixed
variants (``X.jpg_400x400.jpg``, ``X.jpg_120x120.jpg``, ``X.460x460xz.jpg``) with a smaller JPEG
of that size, so a test can tell which one a client fetched. Like the real CDN it responds 403 to
a request whose ``Referer`` is not a 1688 page, and 404 to an unknown path. It counts requests per
path.

The shared pieces are:

- image bytes built by hand, without Pillow: ``jpeg_bytes`` (a valid baseline grey JPEG of any
  size) and ``png_bytes``, plus ``image_format`` and ``image_dimensions`` to inspect a body.
- ``LocalHttpFake``, a threaded HTTP server base that can delay a response or close the
  connection with a TCP reset.
- ``PlatformFake``, the test controls of both platform fakes: injected errors, a random fault
  rate, a token-bucket rate limit, latency, dropped responses after an accepted write, a log of
  every API call and counters of writes that took effect.
"""

from __future__ import annotations

import collections
import math
import random
import re
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"

JSON_TYPE = "application/json;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"

IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


# -- image bytes ------------------------------------------------------------------------------


def jpeg_bytes(width: int, height: int, *, min_size: int = 0) -> bytes:
    """Build a valid baseline JPEG of a uniform mid-grey ``width`` x ``height`` image.

    Each 8x8 block is coded with two bits through one-symbol Huffman tables, so the body grows
    with the pixel count and a smaller image has a smaller body. Comment segments pad the file to
    at least ``min_size`` bytes.
    """
    _check_dimensions(width, height)

    header = b"\xff\xd8" + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    tables = _segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    # One code of length 1 for symbol 0: DC difference 0, and end-of-block for AC.
    one_symbol = bytes([1] + [0] * 15) + b"\x00"
    huffman = _segment(0xC4, b"\x00" + one_symbol) + _segment(0xC4, b"\x10" + one_symbol)
    scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")

    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    bits = blocks * 2
    data = bytearray(bits // 8)
    if bits % 8:
        # ITU-T T.81 pads the last byte of entropy-coded data with 1 bits.
        data.append((1 << (8 - bits % 8)) - 1)

    body = header + tables + frame + huffman + scan + bytes(data) + b"\xff\xd9"
    padding = _comment_padding(min_size - len(body))
    return body[:2] + padding + body[2:]


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """Build a valid 8-bit RGB PNG of one colour."""
    _check_dimensions(width, height)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(row * height, 9)) + _png_chunk(b"IEND", b"")


def image_format(body: bytes) -> str | None:
    """Return "jpeg", "png", "gif" or "webp" from the body's magic bytes, or None for anything else."""
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if body[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    return None


def image_dimensions(body: bytes) -> tuple[int, int] | None:
    """Return (width, height) in pixels of a JPEG, PNG or GIF body, or None when unreadable."""
    kind = image_format(body)
    if kind == "png" and len(body) >= 24:
        return struct.unpack(">II", body[16:24])
    if kind == "gif" and len(body) >= 10:
        return struct.unpack("<HH", body[6:10])
    if kind == "jpeg":
        return _jpeg_dimensions(body)
    return None


def _jpeg_dimensions(body: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(body):
        if body[position] != 0xFF:
            return None
        marker = body[position + 1]
        length = struct.unpack(">H", body[position + 2:position + 4])[0]
        # In ITU-T T.81 (table B.1) markers C0 to CF start a frame and carry the size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and position + 9 <= len(body):
            height, width = struct.unpack(">HH", body[position + 5:position + 9])
            return width, height
        position += 2 + length
    return None


def _check_dimensions(width: int, height: int) -> None:
    if not (isinstance(width, int) and isinstance(height, int) and 1 <= width <= 65535 and 1 <= height <= 65535):
        raise ValueError(f"image size must be whole pixels from 1 to 65535, got {width!r} x {height!r}")


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _comment_padding(missing: int) -> bytes:
    """Return COM segments of at least ``missing`` bytes in total, or nothing when it is <= 0."""
    segments = []
    while missing > 0:
        payload = max(0, min(65533, missing - 4))
        segments.append(_segment(0xFE, b"p" * payload))
        missing -= payload + 4
    return b"".join(segments)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# -- server base ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One request as read from the socket. ``headers`` has lower-case names.

    ``arrival`` is ``time.monotonic()`` when the request line and headers had arrived.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    arrival: float


@dataclass(frozen=True)
class Reply:
    """What to send back. ``delay`` is in seconds, waited before sending.

    With ``reset`` the server sends nothing and closes the connection with a TCP reset.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    reset: bool = False
    close: bool = False
    delay: float = 0.0


class LocalHttpFake:
    """Base of the fakes: serves on 127.0.0.1 from a daemon thread.

    A subclass implements ``_handle(incoming) -> Reply``, which runs on a server thread.
    ``latency`` is in seconds, waited before every request is handled. A request body larger
    than ``max_body_bytes`` gets a 413 response without being read.
    """

    thread_name = "local-fake"
    max_body_bytes = 1 << 20

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = _checked_seconds(latency, "latency")
        self._stopping = threading.Event()
        self._server: ResettableServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalHttpFake:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the fake is already running: call stop() before start()")

        self._stopping.clear()
        self._server = ResettableServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the port. Stopping twice is allowed."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return

        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, "http://127.0.0.1:<port>"."""
        if self._server is None:
            raise RuntimeError("the fake is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _handle(self, incoming: Incoming) -> Reply:
        raise NotImplementedError

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, returning False early if the fake is stopping."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)


def _checked_seconds(value: float, name: str) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


class ResettableServer(ThreadingHTTPServer):
    """An HTTP server bound to 127.0.0.1 that can close a connection with a TCP reset.

    ``handler`` is the request handler class; the 1688 gateway fake passes its own.
    """

    daemon_threads = True

    def __init__(self, fake: Any, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._to_reset: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, 0), handler or _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def mark_for_reset(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._to_reset.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
            reset = request in self._to_reset
            self._to_reset.discard(request)

        if not reset:
            super().shutdown_request(request)
            return

        # SO_LINGER on with a zero timeout makes close() send RST instead of FIN.
        try:
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        request.close()

    def close_connections(self) -> None:
        """Shut down open keep-alive connections so their handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that times out and closes its end is normal in fault tests.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ResettableServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        # The fakes record requests themselves; http.server would print each one to stderr.
        pass

    def _serve(self) -> None:
        arrival = time.monotonic()
        fake = self.server.fake
        body, problem = self._read_body(fake.max_body_bytes)
        if problem is not None:
            self._send(problem)
            return

        target = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if not fake._pause(fake.latency):
            reply = Reply(0, reset=True)
        else:
            reply = fake._handle(Incoming(self.command, target.path, target.query, headers, body, arrival))

        if reply.reset or not fake._pause(reply.delay):
            self.close_connection = True
            self.server.mark_for_reset(self.connection)
            return
        self._send(reply)

    def _read_body(self, limit: int) -> tuple[bytes, Reply | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"", Reply(411, b"chunked request bodies are not supported: send Content-Length", TEXT_TYPE, close=True)

        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b"", None
        if not length_text.isascii() or not length_text.isdigit():
            return b"", Reply(400, f"invalid Content-Length {length_text!r}".encode(), TEXT_TYPE, close=True)

        length = int(length_text)
        if length > limit:
            return b"", Reply(413, f"request body of {length} bytes is over the fake's limit of {limit} bytes".encode(), TEXT_TYPE, close=True)
        return self.rfile.read(length), None

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except ConnectionError:
            # The client gave up first, for example after its own timeout.
            self.close_connection = True


# -- platform test controls -------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One API call as a platform fake received it, with the response it sent.

    ``time`` is ``time.monotonic()`` at arrival. ``method`` is the API method name, or None when
    the request named none. ``params`` are the business parameters and the non-secret system
    parameters; signatures, access tokens and sessions are left out. ``code`` and ``sub_code``
    are the error code and sub-code sent, or None for success. ``outcome`` is "ok", "error",
    "injected" (from ``fail_next`` or the fault rate), "rate_limited" or "dropped" (the write took
    effect and the connection was reset before the response).
    """

    time: float
    method: str | None
    params: dict[str, Any]
    code: int | None
    sub_code: str | None
    outcome: str


@dataclass(frozen=True)
class InjectedError:
    """An error response a test scheduled with ``fail_next`` or the fault rate. It comes before any side effect."""

    code: int
    sub_code: str | None
    msg: str | None
    sub_msg: str | None


class TokenBucket:
    """Admit ``rate`` requests per second on average and ``burst`` at once. It starts full."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._last: float | None = None
        self._lock = threading.Lock()

    def try_take(self, now: float) -> bool:
        with self._lock:
            if self._last is not None:
                # Threads may check in a slightly different order than their requests arrived.
                now = max(now, self._last)
                self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now

            # The tolerance absorbs float rounding when a request arrives exactly one interval later.
            if self._tokens >= 1 - 1e-9:
                self._tokens = max(0.0, self._tokens - 1)
                return True
            return False


class PlatformFake(LocalHttpFake):
    """Test controls shared by the Douyin and Taobao fakes.

    A subclass sets ``api_methods`` (every method it serves) and ``write_methods`` (those with a
    side effect), and implements ``_error_reply``. ``clock`` returns Unix seconds and is what the
    fake compares request timestamps with, so a test can move the fake's clock.
    """

    api_methods: frozenset[str] = frozenset()
    write_methods: frozenset[str] = frozenset()

    def __init__(
        self,
        *,
        rate_limit: float | None = None,
        burst: int = 1,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(latency=latency)
        self.clock = clock
        self._lock = threading.Lock()
        self._held_response_method: str | None = None
        self._responses_released = threading.Event()
        self._after_accept: dict[str, collections.deque[InjectedError]] = {}
        self._calls: list[CallRecord] = []
        self._write_counts: collections.Counter[str] = collections.Counter()
        self._injected: dict[str, collections.deque[InjectedError]] = {}
        self._drops: collections.Counter[str] = collections.Counter()
        self.set_rate_limit(rate_limit, burst)
        self.set_fault_rate(fault_rate, seed)

    # -- controls

    def fail_next(self, method: str, code: int, sub_code: str | None = None, count: int = 1, *, msg: str | None = None, sub_msg: str | None = None) -> None:
        """Reject the next ``count`` calls of ``method`` with this error, before any side effect.

        Injected errors are used after the signature, session and rate-limit checks pass, so a
        wrongly signed request does not consume one. Without ``sub_code``, ``msg`` or ``sub_msg``
        the fake fills in its usual values for ``code``.
        """
        self._check_method(method)
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number >= 1, got {count!r}")

        error = InjectedError(code, sub_code, msg, sub_msg)
        with self._lock:
            self._injected.setdefault(method, collections.deque()).extend([error] * count)

    def set_fault_rate(self, rate: float, seed: int = 0) -> None:
        """Reject each call with a retryable server error with probability ``rate``, drawn from a seeded generator."""
        if not (isinstance(rate, (int, float)) and 0 <= rate <= 1):
            raise ValueError(f"fault rate must be a probability from 0 to 1, got {rate!r}")
        with self._lock:
            self.fault_rate = float(rate)
            self._random = random.Random(seed)

    def set_rate_limit(self, rate: float | None, burst: int = 1) -> None:
        """Limit calls to ``rate`` per second with a token bucket of ``burst``, or remove the limit with None."""
        if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate limit must be a number of calls per second > 0, or None for no limit, got {rate!r}")
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be a whole number of calls >= 1, got {burst!r}")
        self.rate_limit = rate
        self.burst = burst
        self._bucket = None if rate is None else TokenBucket(rate, burst)

    def drop_after_accept(self, method: str, count: int = 1) -> None:
        """Apply the next ``count`` successful ``method`` writes, then reset the connection before responding.

        This is a crash between the platform's commit and the client's read: the product exists,
        and the client sees a connection error.
        """
        self._check_method(method)
        if method not in self.write_methods:
            raise ValueError(f"{method} has no side effect to keep: use one of {', '.join(sorted(self.write_methods))}")
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number >= 1, got {count!r}")
        with self._lock:
            self._drops[method] += count

    def fail_after_accept(self, method: str, code: int, sub_code: str | None = None, count: int = 1) -> None:
        """Apply the next ``count`` ``method`` writes, then respond with this error instead of success.

        A gateway or backend that times out after committing does this: the product exists, but
        the client reads a server error and cannot tell whether the write happened.
        """
        self._check_method(method)
        with self._lock:
            self._after_accept.setdefault(method, collections.deque()).extend([InjectedError(code, sub_code, None, None)] * count)

    def _take_after_accept_error(self, method: str) -> InjectedError | None:
        with self._lock:
            queued = self._after_accept.get(method)
            return queued.popleft() if queued else None

    def hold_after_accept(self, method: str) -> None:
        """Apply ``method`` writes but keep their responses until :meth:`release_held`, so a test can kill the client in between."""
        self._check_method(method)
        with self._lock:
            self._held_response_method = method
            self._responses_released.clear()

    def release_held(self) -> None:
        with self._lock:
            self._held_response_method = None
            self._responses_released.set()

    def _hold_response(self, method: str) -> None:
        with self._lock:
            waiting = self._held_response_method == method
        if waiting:
            self._responses_released.wait(60)

    # -- records

    @property
    def calls(self) -> list[CallRecord]:
        """A copy of every API call so far, in the order the fake decided its response."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[CallRecord]:
        """Return the records of calls to ``method``."""
        return [record for record in self.calls if record.method == method]

    @property
    def write_counts(self) -> collections.Counter[str]:
        """A copy of the writes that took effect, by method, dropped responses included."""
        with self._lock:
            return collections.Counter(self._write_counts)

    def max_requests_in_window(self, window: float = 1.0) -> int:
        """Return the largest number of API calls that arrived within any ``window`` seconds."""
        if not window > 0:
            raise ValueError(f"window must be a number of seconds > 0, got {window!r}")

        times = sorted(record.time for record in self.calls)
        largest = 0
        start = 0
        for end, arrival in enumerate(times):
            while arrival - times[start] >= window:
                start += 1
            largest = max(largest, end - start + 1)
        return largest

    # -- for subclasses (called from server threads)

    def _check_method(self, method: str) -> None:
        if method not in self.api_methods:
            raise ValueError(f"unknown method {method!r}: use one of {', '.join(sorted(self.api_methods))}")

    def _rate_limited(self, arrival: float) -> bool:
        bucket = self._bucket
        return bucket is not None and not bucket.try_take(arrival)

    def _take_injected(self, method: str) -> InjectedError | None:
        """Pop the next error from ``fail_next`` for ``method``, else draw one from the fault rate."""
        with self._lock:
            queue = self._injected.get(method)
            if queue:
                return queue.popleft()
            if self.fault_rate and self._random.random() < self.fault_rate:
                return self._random_fault()
        return None

    def _random_fault(self) -> InjectedError:
        raise NotImplementedError

    def _take_drop(self, method: str) -> bool:
        with self._lock:
            if self._drops[method] > 0:
                self._drops[method] -= 1
                return True
        return False

    def _count_write(self, method: str) -> None:
        with self._lock:
            self._write_counts[method] += 1

    def _record(self, arrival: float, method: str | None, params: Mapping[str, Any], code: int | None, sub_code: str | None, outcome: str) -> None:
        record = CallRecord(arrival, method, dict(params), code, sub_code, outcome)
        with self._lock:
            self._calls.append(record)


# -- the 1688 image CDN -----------------------------------------------------------------------

# Size variants of an original X.jpg: X.jpg_400x400.jpg (also after .png), and X.460x460xz.jpg.
_APPENDED_VARIANT = re.compile(r"(?P<original>.+\.(?:jpg|jpeg|png))_(?P<width>\d{2,4})x(?P<height>\d{2,4})\.jpg")
_REPLACED_VARIANT = re.compile(r"(?P<stem>.+)\.(?P<width>\d{2,4})x(?P<height>\d{2,4})xz\.jpg")

_ALLOWED_REFERER_HOST = re.compile(r"(^|\.)1688\.com$")


@dataclass(frozen=True)
class CdnRequest:
    """One request to the fake CDN: arrival (``time.monotonic()``), path, status sent, Referer header."""

    time: float
    path: str
    status: int
    referer: str | None


@dataclass(frozen=True)
class _Asset:
    body: bytes
    content_type: str
    status: int
    delay: float
    width: int | None
    height: int | None


class FakeImageCdn(LocalHttpFake):
    """A fake 1688 image CDN on 127.0.0.1.

    Register what it serves with ``add_image`` or ``add_body`` while it runs. Each returns the
    asset's full URL.
    ``hits`` counts requests by path, and ``requests`` records each one. With ``block_referer``
    (the default) a request whose ``Referer`` host is not 1688.com gets 403, as the real CDN does
    for hotlinking. It serves GET and HEAD only.
    """

    thread_name = "fake-image-cdn"

    def __init__(self, *, latency: float = 0.0, block_referer: bool = True) -> None:
        super().__init__(latency=latency)
        self.block_referer = block_referer
        self._assets: dict[str, _Asset] = {}
        self._lock = threading.Lock()
        self._hits: collections.Counter[str] = collections.Counter()
        self._requests: list[CdnRequest] = []

    def add_image(
        self,
        path: str,
        *,
        kind: str = "jpeg",
        width: int = 800,
        height: int = 800,
        min_size: int = 0,
        content_type: str | None = None,
        status: int = 200,
        delay: float = 0.0,
    ) -> str:
        """Serve a generated image at ``path`` and return its URL.

        ``kind`` is "jpeg" or "png". ``min_size`` pads a JPEG to at least that many bytes, for an
        oversize image. ``content_type`` replaces the image's own type, for a wrong one. ``delay``
        is in seconds, waited before responding, for a slow response.
        """
        if kind == "jpeg":
            body = jpeg_bytes(width, height, min_size=min_size)
        elif kind == "png":
            if min_size:
                raise ValueError("min_size pads JPEG images only: use kind='jpeg'")
            body = png_bytes(width, height)
        else:
            raise ValueError(f"unknown image kind {kind!r}: use 'jpeg' or 'png'")

        asset = _Asset(body, content_type or IMAGE_TYPES[kind], status, _checked_seconds(delay, "delay"), width, height)
        return self._add(path, asset)

    def add_body(self, path: str, body: bytes, *, content_type: str, status: int = 200, delay: float = 0.0) -> str:
        """Serve ``body`` as it is at ``path``, such as an HTML page under an image name, and return its URL."""
        return self._add(path, _Asset(bytes(body), content_type, status, _checked_seconds(delay, "delay"), None, None))

    def body_of(self, path: str) -> bytes:
        """Return the body served at a registered ``path``."""
        return self._assets[path].body

    def url_for(self, path: str) -> str:
        """Return the URL of ``path`` on this CDN, registered or not."""
        return self.url + path

    @property
    def hits(self) -> collections.Counter[str]:
        """A copy of the request counts by path, 404s and 403s included."""
        with self._lock:
            return collections.Counter(self._hits)

    @property
    def requests(self) -> list[CdnRequest]:
        """A copy of every request so far."""
        with self._lock:
            return list(self._requests)

    def _add(self, path: str, asset: _Asset) -> str:
        if not path.startswith("/"):
            raise ValueError(f"a CDN path starts with '/', got {path!r}")
        url = self.url_for(path)
        self._assets[path] = asset
        return url

    def _handle(self, incoming: Incoming) -> Reply:
        referer = incoming.headers.get("referer")
        reply = self._reply_to(incoming, referer)

        with self._lock:
            self._hits[incoming.path] += 1
            self._requests.append(CdnRequest(incoming.arrival, incoming.path, reply.status, referer))
        return reply

    def _reply_to(self, incoming: Incoming, referer: str | None) -> Reply:
        if incoming.method not in ("GET", "HEAD"):
            return Reply(405, b"Method Not Allowed", TEXT_TYPE, {"Allow": "GET, HEAD"})
        if self.block_referer and referer and not _ALLOWED_REFERER_HOST.search(urlsplit(referer).hostname or ""):
            return Reply(403, b"<html><body><h1>403 Forbidden</h1></body></html>", HTML_TYPE)

        asset = self._assets.get(incoming.path)
        if asset is not None:
            return Reply(asset.status, asset.body, asset.content_type, delay=asset.delay)

        variant = self._variant(incoming.path)
        if variant is not None:
            return Reply(200, variant, IMAGE_TYPES["jpeg"])
        return Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>", HTML_TYPE)

    def _variant(self, path: str) -> bytes | None:
        """Build the thumbnail a size-suffixed path requests, when its original is a registered image."""
        appended = _APPENDED_VARIANT.fullmatch(path)
        replaced = _REPLACED_VARIANT.fullmatch(path)
        if appended:
            original_path, width, height = appended["original"], int(appended["width"]), int(appended["height"])
        elif replaced:
            original_path, width, height = replaced["stem"] + ".jpg", int(replaced["width"]), int(replaced["height"])
        else:
            return None

        original = self._assets.get(original_path)
        if original is None or original.width is None or original.height is None or original.status != 200:
            return None
        # The fake scales down to fit the box and never up, so a variant is never larger than its original.
        return jpeg_bytes(min(width, original.width), min(height, original.height))
