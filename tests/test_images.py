"""Tests of image downloading and rewriting (``etl.images``).

Downloads run against HTTP(S) servers started here on 127.0.0.1. Because loopback is not a
public address, the happy paths use ``allow_private=True``, and the address checks use an
injected resolver. Tests that resolve names to public addresses send through a scripted
session, and a guard on ``socket.connect`` makes sure nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html
import pytest
import requests
import urllib3

from etl.errors import DataError, UsageError
from etl.filters.html import LAZY_SRC_ATTRIBUTES, clean_html, html_images, html_text
from etl.images import (
    DEFAULT_HOSTS,
    DEFAULT_MAX_BYTES,
    ImageFetcher,
    ImagePolicy,
    check_url,
    html_image_urls,
    original_url,
    redact_url,
    rewrite_html_images,
    sniff_image_type,
)
from etl.messages import catalog, render

SAMPLE = Path("/work/shared/reference/samples/1688_onebound_item_get_639741530227.desc.html")
CDN = "https://cbu01.alicdn.com/img/ibank/"
IMAGE_ID = "O1CN01iWAeFQ1W6xsnlmn2S_!!2207146052740-0-cib"

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
GIF = b"GIF89a" + bytes(200)
WEBP = b"RIFF" + (212).to_bytes(4, "little") + b"WEBPVP8 " + bytes(200)
HTML_PAGE = b"<!doctype html><html><body>not an image</body></html>"

# A public address for the scripted session; no test connects to it.
PUBLIC = "93.184.215.14"


# --- guard: nothing leaves 127.0.0.1 -------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if host not in ("127.0.0.1", "::1"):
        raise AssertionError(f"a test tried to connect to {address!r}")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


# --- helpers --------------------------------------------------------------------------------------


def resolver(table: dict[str, str | list[str]], calls: list[str] | None = None):
    """Build a getaddrinfo stand-in that looks names up in ``table`` and records them in ``calls``.

    Numeric hosts missing from ``table`` are read by the system resolver, without DNS.
    """

    def resolve(host, port, *args, **kwargs):
        if calls is not None:
            calls.append(host)
        if host not in table:
            try:
                return numeric_only(host, port)
            except socket.gaierror:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

        addresses = table[host] if isinstance(table[host], list) else [table[host]]
        answers = []
        for address in addresses:
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return answers

    return resolve


def numeric_only(host, port, *args, **kwargs):
    """The system resolver restricted to numeric hosts, so a test never sends a DNS query."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)


def must_not_resolve(host, port, *args, **kwargs):
    raise AssertionError(f"resolved {host!r} although the URL should have been rejected first")


def error_of(call, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- original_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{CDN}{IMAGE_ID}.jpg_400x400.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_120x120.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}_120x120.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}2019/527/370/11020073725_1581373738.460x460xz.jpg", f"{CDN}2019/527/370/11020073725_1581373738.jpg"),
        (f"{CDN}2019/527/370/11020073725_1581373738.220x220.jpg", f"{CDN}2019/527/370/11020073725_1581373738.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_.webp", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_400x400q90.jpg_.webp", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_b.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg?__r__=1681234567890", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_400x400.jpg?__r__=1681234567890", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg?__r__=1&v=2", f"{CDN}{IMAGE_ID}.jpg?v=2"),
        (f"//cbu01.alicdn.com/img/ibank/{IMAGE_ID}.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (f"//cbu01.alicdn.com/img/ibank/{IMAGE_ID}.jpg_220x220.jpg", f"{CDN}{IMAGE_ID}.jpg"),
        (
            "https://img.alicdn.com/imgextra/i1/30783352/O1CN012tLjU71adGCrTnVjP_!!30783352.png_400x400q90.jpg_.webp",
            "https://img.alicdn.com/imgextra/i1/30783352/O1CN012tLjU71adGCrTnVjP_!!30783352.png",
        ),
        (
            f"https://global-img-cdn.1688.com/img/ibank/{IMAGE_ID}.jpg_220x220.jpg",
            f"https://global-img-cdn.1688.com/img/ibank/{IMAGE_ID}.jpg",
        ),
        (f"{CDN}{IMAGE_ID}.JPG_400x400.jpg", f"{CDN}{IMAGE_ID}.JPG"),
        (f"  {CDN}{IMAGE_ID}.jpg_400x400.jpg\n", f"{CDN}{IMAGE_ID}.jpg"),
        (f"{CDN}{IMAGE_ID}.jpg_400x400.jpg#top", f"{CDN}{IMAGE_ID}.jpg#top"),
    ],
)
def test_original_url_strips_suffixes(url, expected):
    assert original_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        f"{CDN}{IMAGE_ID}.jpg",
        f"http://cbu01.alicdn.com/img/ibank/{IMAGE_ID}.jpg",
        "https://img.alicdn.com/imgextra/i1/30783352/O1CN012tLjU71adGCrTnVjP_!!30783352.png",
        "https://shop.example/p.jpg_400x400.jpg",
        "https://shop.example/p.jpg?__r__=1",
        "https://notalicdn.com/p.jpg_400x400.jpg",
        f"{CDN}{IMAGE_ID}.jpg?v=2",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "not a url",
        "",
        "https://[::1/broken",
    ],
)
def test_original_url_keeps_others(url):
    assert original_url(url) == url


@pytest.mark.parametrize(
    "url",
    [f"{CDN}{IMAGE_ID}.jpg_400x400q90.jpg_.webp", f"//cbu01.alicdn.com/img/ibank/a.460x460xz.jpg?__r__=9"],
)
def test_original_url_idempotent(url):
    once = original_url(url)

    assert original_url(once) == once


# --- redact_url -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.test/a/b.jpg?token=s3cret&size=2", "https://cdn.test/a/b.jpg?token=***&size=***"),
        ("https://user:pass@cdn.test/a.jpg", "https://***@cdn.test/a.jpg"),
        ("https://cdn.test/a.jpg?s3cret#frag", "https://cdn.test/a.jpg?***"),
        ("https://cdn.test/a.jpg", "https://cdn.test/a.jpg"),
        ("no url ?x=1", "no url ?x=***"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_redact_url_cuts_long_text():
    redacted = redact_url("data:image/png;base64," + "A" * 10_000)

    assert len(redacted) == 300
    assert redacted.endswith("…")


# --- ImagePolicy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["cbu01.alicdn.com", "img.alicdn.com", "gw.alicdn.com", "a.b.alicdn.com", "global-img-cdn.1688.com", "CBU01.ALICDN.COM",
     "cbu01.alicdn.com."],
)
def test_default_policy_allows(host):
    assert ImagePolicy().allows_host(host)


@pytest.mark.parametrize(
    "host",
    ["alicdn.com", "evil.test", "evilalicdn.com", "cbu01.alicdn.com.evil.test", "detail.1688.com", "1688.com", "127.0.0.1"],
)
def test_default_policy_rejects(host):
    assert not ImagePolicy().allows_host(host)


def test_from_env_defaults():
    policy = ImagePolicy.from_env({})

    assert policy.hosts == DEFAULT_HOSTS
    assert policy.max_bytes == DEFAULT_MAX_BYTES
    assert policy.allow_private is False


def test_from_env_hosts_replace_default():
    policy = ImagePolicy.from_env({"ETL_IMAGE_HOSTS": " images.test, *.CDN.test ,, ,mirror.test."})

    assert policy.hosts == ("images.test", "*.cdn.test", "mirror.test")
    assert policy.allows_host("a.cdn.test")
    assert not policy.allows_host("cbu01.alicdn.com")


@pytest.mark.parametrize("value", ["", "  ", " , ,"])
def test_from_env_blank_hosts_keep_default(value):
    assert ImagePolicy.from_env({"ETL_IMAGE_HOSTS": value}).hosts == DEFAULT_HOSTS


def test_from_env_ip_hosts_normalised():
    policy = ImagePolicy.from_env({"ETL_IMAGE_HOSTS": "127.0.0.1,[::1], 0:0::0:1"})

    assert policy.hosts == ("127.0.0.1", "::1", "::1")


@pytest.mark.parametrize(
    "entry",
    ["http://images.test", "images.test/img", "images.test:8080", "*", "*.com", "a*.test", "*.*.test", "im ages.test",
     "-images.test", "images..test", "user@images.test"],
)
def test_from_env_bad_host_entry(entry):
    with pytest.raises(UsageError) as caught:
        ImagePolicy.from_env({"ETL_IMAGE_HOSTS": f"images.test, {entry} "})

    assert caught.value.key == "image.bad_host_entry"
    assert caught.value.params["entry"] == entry
    assert caught.value.params["env"] == "ETL_IMAGE_HOSTS"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False)])
def test_from_env_allow_private(value, expected):
    assert ImagePolicy.from_env({"ETL_IMAGE_ALLOW_PRIVATE": value}).allow_private is expected


def test_from_env_bad_allow_private():
    with pytest.raises(UsageError) as caught:
        ImagePolicy.from_env({"ETL_IMAGE_ALLOW_PRIVATE": "maybe"})

    assert caught.value.key == "image.bad_allow_private"
    assert caught.value.params["value"] == "maybe"


def test_from_env_platform_max_bytes():
    assert ImagePolicy.from_env({}, 3 * 1024 * 1024).max_bytes == 3 * 1024 * 1024


@pytest.mark.parametrize("max_bytes", [0, -1, 1.5, None])
def test_policy_rejects_bad_max_bytes(max_bytes):
    with pytest.raises(ValueError):
        ImagePolicy(max_bytes=max_bytes)


def test_policy_rejects_hosts_string():
    with pytest.raises(TypeError):
        ImagePolicy(hosts="cbu01.alicdn.com")


def test_policy_is_frozen():
    with pytest.raises(AttributeError):
        ImagePolicy().allow_private = True


# --- check_url ------------------------------------------------------------------------------------

IMAGE_URL = f"{CDN}{IMAGE_ID}.jpg"


def test_check_url_returns_public_address():
    assert check_url(IMAGE_URL, ImagePolicy(), resolver({"cbu01.alicdn.com": PUBLIC})) == PUBLIC


def test_check_url_asks_resolver_for_port():
    seen = []

    def resolve(host, port, *args, **kwargs):
        seen.append((host, port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port))]

    check_url("http://cbu01.alicdn.com:8080/a.jpg", ImagePolicy(), resolve)
    check_url(IMAGE_URL, ImagePolicy(), resolve)

    assert seen == [("cbu01.alicdn.com", 8080), ("cbu01.alicdn.com", 443)]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("ftp://cbu01.alicdn.com/a.jpg", "image.scheme_not_allowed"),
        ("file:///etc/passwd", "image.scheme_not_allowed"),
        ("javascript:alert(1)", "image.scheme_not_allowed"),
        ("data:image/png;base64,iVBORw0KGgo=", "image.scheme_not_allowed"),
        ("cbu01.alicdn.com/a.jpg", "image.scheme_not_allowed"),
        ("https://user:pass@cbu01.alicdn.com/a.jpg", "image.credentials_in_url"),
        ("https://user@cbu01.alicdn.com/a.jpg", "image.credentials_in_url"),
        ("https://cbu01.alicdn.com\\@evil.test/a.jpg", "image.credentials_in_url"),
        ("https://evil.test/a.jpg", "image.host_not_allowed"),
        ("https://alicdn.com/a.jpg", "image.host_not_allowed"),
        ("https://cbu01.alicdn.com.evil.test/a.jpg", "image.host_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "image.host_not_allowed"),
        ("http://2130706433/a.jpg", "image.host_not_allowed"),
        ("https:///a.jpg", "image.url_invalid"),
        ("https://[::1/a.jpg", "image.url_invalid"),
        ("https://cbu01.alicdn.com:99999/a.jpg", "image.url_invalid"),
        ("https://cbu01..alicdn.com/a.jpg", "image.url_invalid"),
        ("https://cbu01.alicdn.com%2F@x/a.jpg", "image.credentials_in_url"),
        ("", "image.scheme_not_allowed"),
    ],
)
def test_check_url_rejects_before_resolving(url, key):
    error = error_of(check_url, url, ImagePolicy(), must_not_resolve)

    assert error.key == key


def test_host_not_allowed_names_host_and_variable():
    error = error_of(check_url, "https://evil.test/a.jpg?token=s3cret", ImagePolicy(), must_not_resolve)

    assert error.params["host"] == "evil.test"
    assert error.params["env"] == "ETL_IMAGE_HOSTS"
    assert error.params["url"] == "https://evil.test/a.jpg?token=***"
    assert "ETL_IMAGE_HOSTS" in error.render("zh")
    assert "s3cret" not in error.render("en")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:192.168.1.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a00:5", "private"),
        ("::7f00:1", "reserved"),
    ],
)
def test_check_url_rejects_address(address, kind):
    error = error_of(check_url, IMAGE_URL, ImagePolicy(), resolver({"cbu01.alicdn.com": address}))

    assert error.key == "image.address_not_public"
    assert error.params["kind"]["en"] == kind
    assert error.params["host"] == "cbu01.alicdn.com"


def test_check_url_rejects_mixed_answers():
    resolve = resolver({"cbu01.alicdn.com": [PUBLIC, "10.0.0.5"]})

    assert error_of(check_url, IMAGE_URL, ImagePolicy(), resolve).key == "image.address_not_public"


def test_check_url_allow_private_returns_address():
    policy = ImagePolicy(allow_private=True)

    assert check_url(IMAGE_URL, policy, resolver({"cbu01.alicdn.com": "10.0.0.5"})) == "10.0.0.5"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/a.jpg", "http://2130706433/a.jpg", "http://0177.0.0.1/a.jpg", "http://0x7f.1/a.jpg", "http://[::1]/a.jpg",
     "http://[::ffff:127.0.0.1]/a.jpg", "http://[::ffff:7f00:1]:8080/a.jpg"],
)
def test_check_url_rejects_literal_loopback(url):
    policy = ImagePolicy(hosts=("127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "::1", "::ffff:127.0.0.1"))

    error = error_of(check_url, url, policy, numeric_only)

    assert error.key == "image.address_not_public"
    assert error.params["kind"]["en"] == "loopback"


def test_check_url_unresolved_host():
    error = error_of(check_url, IMAGE_URL, ImagePolicy(), resolver({}))

    assert error.key == "image.host_unresolved"
    assert error.params["host"] == "cbu01.alicdn.com"


def test_check_url_empty_answer():
    error = error_of(check_url, IMAGE_URL, ImagePolicy(), lambda *args, **kwargs: [])

    assert error.key == "image.host_unresolved"


def test_check_url_host_case_and_dot():
    resolve = resolver({"cbu01.alicdn.com": PUBLIC})

    assert check_url("https://CBU01.AliCDN.com./a.jpg", ImagePolicy(), resolve) == PUBLIC


def test_messages_have_both_languages():
    keys = [key for key in catalog() if key.startswith("image.")]

    assert len(keys) == 23
    for key in keys:
        assert set(catalog()[key]) == {"zh", "en"}, key


# --- the test server --------------------------------------------------------------------------------


class ImageServer:
    """A threaded HTTP server on 127.0.0.1 that serves one case per path.

    ``requests`` records (path, headers) of every request and ``counts`` the requests per path.
    """

    def __init__(self, tls: ssl.SSLContext | None = None, redirect_port: int | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.counts: Counter[str] = Counter()
        self.redirect_port = redirect_port
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ImageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path
                with server.lock:
                    server.requests.append((path, dict(self.headers.items())))
                    server.counts[path] += 1
                    count = server.counts[path]
                try:
                    server.answer(self, path, count)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        return Handler

    def answer(self, handler: BaseHTTPRequestHandler, path: str, count: int) -> None:
        routes = {
            "/photo.jpg": lambda: send(handler, 200, "image/jpeg", JPEG),
            "/photo.png": lambda: send(handler, 200, "image/png", PNG),
            "/anim.gif": lambda: send(handler, 200, "image/gif", GIF),
            "/photo.webp": lambda: send(handler, 200, "image/webp", WEBP),
            "/alias.jpg": lambda: send(handler, 200, "Image/JPG; charset=binary", JPEG),
            "/big-declared.jpg": lambda: send(handler, 200, "image/jpeg", JPEG + bytes(5000)),
            "/big-chunked.jpg": lambda: send_chunked(handler, "image/jpeg", [JPEG, bytes(3000)]),
            "/exact.jpg": lambda: send_chunked(handler, "image/jpeg", [JPEG, bytes(1000 - len(JPEG))]),
            "/page.html": lambda: send(handler, 200, "text/html; charset=utf-8", HTML_PAGE),
            "/drawing.svg": lambda: send(handler, 200, "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            "/no-type.jpg": lambda: send(handler, 200, None, JPEG),
            "/fake.jpg": lambda: send(handler, 200, "image/jpeg", HTML_PAGE),
            "/empty.jpg": lambda: send(handler, 200, "image/jpeg", b""),
            "/png-as-jpeg.jpg": lambda: send(handler, 200, "image/jpeg", PNG),
            "/redirect-relative": lambda: redirect(handler, "photo.jpg"),
            "/redirect-no-location": lambda: send(handler, 302, "text/plain", b""),
            "/redirect-metadata": lambda: redirect(handler, "http://169.254.169.254/latest/meta-data/"),
            "/redirect-other-port": lambda: redirect(handler, f"http://127.0.0.1:{self.redirect_port}/photo.jpg"),
            "/redirect-ftp": lambda: redirect(handler, "ftp://127.0.0.1/photo.jpg"),
            "/not-modified": lambda: send(handler, 304, None, b""),
            "/slow.jpg": lambda: (time.sleep(1.0), send(handler, 200, "image/jpeg", JPEG)),
            "/drip.jpg": lambda: drip(handler),
            "/flaky.jpg": lambda: send(handler, 503, "text/plain", b"busy") if count == 1 else send(handler, 200, "image/jpeg", JPEG),
            "/down.jpg": lambda: send(handler, 502, "text/plain", b"bad gateway"),
            "/missing.jpg": lambda: send(handler, 404, "text/plain", b"not found"),
            "/gone.jpg": lambda: send(handler, 410, "text/plain", b"gone"),
            "/forbidden.jpg": lambda: send(handler, 403, "text/plain", b"forbidden"),
            "/too-many.jpg": lambda: send(handler, 429, "text/plain", b"slow down"),
            "/reset.jpg": lambda: handler.connection.shutdown(socket.SHUT_RDWR),
            "/hotlink.jpg": lambda: send(handler, 403 if handler.headers.get("Referer") else 200, "image/jpeg", JPEG),
        }
        if path.startswith("/hops/"):
            remaining = int(path.rsplit("/", 1)[1])
            return redirect(handler, "/photo.jpg" if remaining <= 1 else f"/hops/{remaining - 1}")
        if path.startswith("/photo.jpg?"):
            return send(handler, 200, "image/jpeg", JPEG)
        if path not in routes:
            return send(handler, 404, "text/plain", b"no such case")
        routes[path]()


def send(handler, status: int, content_type: str | None, body: bytes) -> None:
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_chunked(handler, content_type: str, parts: list[bytes]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for part in parts:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
    handler.wfile.write(b"0\r\n\r\n")


def redirect(handler, location: str) -> None:
    handler.send_response(302)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def drip(handler) -> None:
    """Send a JPEG start, then one byte every 50 ms for up to 3 s."""
    handler.send_response(200)
    handler.send_header("Content-Type", "image/jpeg")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(JPEG), JPEG))
    handler.wfile.flush()
    for _ in range(60):
        time.sleep(0.05)
        handler.wfile.write(b"1\r\n\x00\r\n")
        handler.wfile.flush()


@pytest.fixture
def server():
    with ImageServer() as running:
        yield running


def local_fetcher(**settings) -> ImageFetcher:
    """A fetcher for the test server: loopback allowed, short timeouts, no waits between attempts."""
    policy_settings = {"hosts": ("127.0.0.1", "images.test"), "allow_private": True, "max_bytes": 1000, "timeout": 0.3}
    policy_settings.update(settings.pop("policy", {}))
    fetcher_settings = {"resolve": resolver({"images.test": "127.0.0.1"}), "attempts": 2, "backoff": 0}
    fetcher_settings.update(settings)
    return ImageFetcher(ImagePolicy(**policy_settings), **fetcher_settings)


# --- fetching: happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content", "content_type"),
    [("/photo.jpg", JPEG, "image/jpeg"), ("/photo.png", PNG, "image/png"), ("/anim.gif", GIF, "image/gif"),
     ("/photo.webp", WEBP, "image/webp"), ("/alias.jpg", JPEG, "image/jpeg")],
)
def test_fetch_image(server, path, content, content_type):
    image = local_fetcher().fetch(server.url(path))

    assert image.content == content
    assert image.content_type == content_type
    assert image.sha256 == hashlib.sha256(content).hexdigest()


def test_fetch_records_given_and_original_url(server):
    url = server.url("/photo.jpg", host="images.test")

    image = local_fetcher().fetch(url)

    assert image.url == url
    assert image.original_url == url


def test_fetch_downloads_original(server):
    fetcher = local_fetcher(policy={"hosts": ("images.alicdn.com",)}, resolve=resolver({"images.alicdn.com": "127.0.0.1"}))

    image = fetcher.fetch(server.url("/photo.jpg_400x400.jpg_.webp", host="images.alicdn.com"))

    assert image.original_url == server.url("/photo.jpg", host="images.alicdn.com")
    assert [path for path, _ in server.requests] == ["/photo.jpg"]


def test_fetch_exactly_max_bytes(server):
    image = local_fetcher().fetch(server.url("/exact.jpg"))

    assert len(image.content) == 1000


def test_fetch_sends_no_referer(server):
    local_fetcher().fetch(server.url("/hotlink.jpg", host="images.test"))

    headers = server.requests[0][1]
    assert "Referer" not in headers
    assert headers["Host"] == f"images.test:{server.port}"
    assert headers["Accept-Encoding"] == "identity"


def test_fetch_drops_session_referer_and_cookies(server):
    session = requests.Session()
    session.headers["Referer"] = "https://shop.example/"
    session.headers["User-Agent"] = "etl-test"
    session.cookies.set("sid", "s3cret")

    image = local_fetcher(session=session).fetch(server.url("/hotlink.jpg"))

    headers = server.requests[0][1]
    assert image.content == JPEG
    assert "Referer" not in headers
    assert "Cookie" not in headers
    assert headers["User-Agent"] == "etl-test"


def test_fetch_follows_relative_redirect(server):
    image = local_fetcher().fetch(server.url("/redirect-relative"))

    assert image.content == JPEG
    assert [path for path, _ in server.requests] == ["/redirect-relative", "/photo.jpg"]


def test_fetch_follows_three_redirects(server):
    image = local_fetcher().fetch(server.url("/hops/3"))

    assert image.content == JPEG
    assert server.counts["/photo.jpg"] == 1


def test_fetch_follows_redirect_to_allowed_port(server):
    with ImageServer() as other, ImageServer(redirect_port=other.port) as first:
        image = local_fetcher().fetch(first.url("/redirect-other-port"))

    assert image.content == JPEG
    assert other.counts["/photo.jpg"] == 1


def test_fetch_retries_server_error(server):
    image = local_fetcher().fetch(server.url("/flaky.jpg"))

    assert image.content == JPEG
    assert server.counts["/flaky.jpg"] == 2


# --- fetching: failures ------------------------------------------------------------------------------


def test_fetch_too_many_redirects(server):
    error = error_of(local_fetcher().fetch, server.url("/hops/4"))

    assert error.key == "image.too_many_redirects"
    assert error.params["limit"] == 3
    assert server.counts["/photo.jpg"] == 0


def test_fetch_redirect_to_other_port_not_allowed(server):
    with ImageServer() as other, ImageServer(redirect_port=other.port) as first:
        fetcher = local_fetcher(policy={"hosts": ("images.test",)})

        error = error_of(fetcher.fetch, first.url("/redirect-other-port", host="images.test"))

    assert error.key == "image.host_not_allowed"
    assert error.params["host"] == "127.0.0.1"
    assert other.requests == []


def test_fetch_redirect_to_metadata_address(server):
    fetcher = local_fetcher(policy={"hosts": ("images.test",)})

    error = error_of(fetcher.fetch, server.url("/redirect-metadata", host="images.test"))

    assert error.key == "image.host_not_allowed"
    assert error.params["host"] == "169.254.169.254"


def test_fetch_redirect_to_other_scheme(server):
    assert error_of(local_fetcher().fetch, server.url("/redirect-ftp")).key == "image.scheme_not_allowed"


def test_fetch_redirect_without_location(server):
    error = error_of(local_fetcher().fetch, server.url("/redirect-no-location"))

    assert error.key == "image.redirect_without_location"
    assert error.params["status"] == 302


def test_fetch_declared_too_large(server):
    error = error_of(local_fetcher().fetch, server.url("/big-declared.jpg"))

    assert error.key == "image.too_large"
    assert error.params["size"] == len(JPEG) + 5000
    assert error.params["limit"] == 1000


def test_fetch_streamed_too_large(server):
    error = error_of(local_fetcher().fetch, server.url("/big-chunked.jpg"))

    assert error.key == "image.body_too_large"
    assert error.params["limit"] == 1000


@pytest.mark.parametrize(
    ("path", "key", "content_type"),
    [
        ("/page.html", "image.type_not_allowed", "text/html"),
        ("/drawing.svg", "image.type_not_allowed", "image/svg+xml"),
        ("/no-type.jpg", "image.type_not_allowed", ""),
        ("/fake.jpg", "image.not_an_image", "image/jpeg"),
        ("/empty.jpg", "image.not_an_image", "image/jpeg"),
        ("/png-as-jpeg.jpg", "image.type_mismatch", "image/jpeg"),
    ],
)
def test_fetch_wrong_type(server, path, key, content_type):
    error = error_of(local_fetcher().fetch, server.url(path))

    assert error.key == key
    assert error.params["content_type"] == content_type


def test_fetch_type_mismatch_names_detected(server):
    error = error_of(local_fetcher().fetch, server.url("/png-as-jpeg.jpg"))

    assert error.params["detected"] == "image/png"


def test_fetch_type_not_in_policy(server):
    fetcher = local_fetcher(policy={"content_types": frozenset({"image/jpeg"})})

    assert error_of(fetcher.fetch, server.url("/anim.gif")).key == "image.type_not_allowed"


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [("/missing.jpg", "image.not_found", 404), ("/gone.jpg", "image.not_found", 410), ("/forbidden.jpg", "image.http_error", 403),
     ("/too-many.jpg", "image.http_error", 429), ("/not-modified", "image.http_error", 304)],
)
def test_fetch_client_error_not_retried(server, path, key, status):
    error = error_of(local_fetcher().fetch, server.url(path))

    assert error.key == key
    assert error.params["status"] == status
    assert server.counts[path] == 1


def test_fetch_server_error_retried(server):
    error = error_of(local_fetcher(attempts=3).fetch, server.url("/down.jpg"))

    assert error.key == "image.server_error"
    assert error.params["status"] == 502
    assert error.params["attempts"] == 3
    assert server.counts["/down.jpg"] == 3


def test_fetch_timeout_retried(server):
    started = time.monotonic()

    error = error_of(local_fetcher().fetch, server.url("/slow.jpg"))

    assert error.key == "image.timeout"
    assert error.params["seconds"] == "0.3"
    assert error.params["attempts"] == 2
    assert server.counts["/slow.jpg"] == 2
    assert time.monotonic() - started < 1.8


def test_fetch_slow_body_abandoned(server):
    fetcher = local_fetcher(policy={"timeout": 1.0, "download_timeout": 0.3, "max_bytes": 100_000})
    started = time.monotonic()

    error = error_of(fetcher.fetch, server.url("/drip.jpg"))

    assert error.key == "image.download_timeout"
    assert time.monotonic() - started < 1.5
    assert server.counts["/drip.jpg"] == 1


def test_fetch_connection_reset_retried(server):
    error = error_of(local_fetcher().fetch, server.url("/reset.jpg"))

    assert error.key == "image.connection_failed"
    assert error.params["attempts"] == 2
    assert server.counts["/reset.jpg"] == 2


def test_fetch_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = error_of(local_fetcher().fetch, f"http://127.0.0.1:{port}/photo.jpg")

    assert error.key == "image.connection_failed"
    assert error.params["kind"] == "ConnectionRefusedError"


def test_fetch_error_redacts_query(server):
    error = error_of(local_fetcher().fetch, server.url("/missing.jpg") + "?token=s3cret")

    assert error.params["url"] == server.url("/missing.jpg") + "?token=***"
    assert "s3cret" not in error.render("zh")


def test_fetch_refuses_loopback_by_default(server):
    fetcher = local_fetcher(policy={"allow_private": False})

    error = error_of(fetcher.fetch, server.url("/photo.jpg", host="images.test"))

    assert error.key == "image.address_not_public"
    assert server.requests == []


# --- fetching through a scripted session: pinning and redirects to internal addresses -----------------


class ScriptedSession(requests.Session):
    """A session that returns scripted responses instead of using the network, and records each request."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        status, headers, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False)
        response.url = request.url
        response.request = request
        return response


def scripted_fetcher(session: ScriptedSession, table: dict, calls: list | None = None) -> ImageFetcher:
    policy = ImagePolicy(hosts=("cdn.test", "intranet.test", "169.254.169.254"))
    return ImageFetcher(policy, session, resolve=resolver(table, calls), attempts=1)


def test_fetch_connects_to_checked_address():
    session = ScriptedSession([(200, {"Content-Type": "image/jpeg"}, JPEG)])

    scripted_fetcher(session, {"cdn.test": PUBLIC}).fetch("https://cdn.test/img/a.jpg?v=1")

    assert session.sent[0].url == f"https://{PUBLIC}/img/a.jpg?v=1"
    assert session.sent[0].headers["Host"] == "cdn.test"


def test_fetch_resolves_once_per_hop():
    calls = []
    session = ScriptedSession([(200, {"Content-Type": "image/jpeg"}, JPEG)])
    # A rebinding name: public for the check, loopback for any later look-up.
    table = {"cdn.test": PUBLIC}
    resolve = resolver(table, calls)

    def rebinding(host, port, *args, **kwargs):
        answers = resolve(host, port)
        table["cdn.test"] = "127.0.0.1"
        return answers

    fetcher = ImageFetcher(ImagePolicy(hosts=("cdn.test",)), session, resolve=rebinding, attempts=1)
    fetcher.fetch("http://cdn.test:8080/a.jpg")

    assert calls == ["cdn.test"]
    assert session.sent[0].url == f"http://{PUBLIC}:8080/a.jpg"
    assert session.sent[0].headers["Host"] == "cdn.test:8080"


@pytest.mark.parametrize(
    "location",
    ["http://intranet.test/secret.jpg", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.5]/a.jpg"],
)
def test_fetch_redirect_to_internal_address(location):
    session = ScriptedSession([(302, {"Location": location}, b"")])
    policy = ImagePolicy(hosts=("cdn.test", "intranet.test", "169.254.169.254", "::ffff:10.0.0.5"))
    resolve = resolver({"cdn.test": PUBLIC, "intranet.test": "10.0.0.5"})
    fetcher = ImageFetcher(policy, session, resolve=resolve, attempts=1)

    error = error_of(fetcher.fetch, "https://cdn.test/a.jpg")

    assert error.key == "image.address_not_public"
    assert len(session.sent) == 1


def test_fetch_redirect_rechecked_after_public_hop():
    session = ScriptedSession([(301, {"Location": "https://cdn.test/b.jpg"}, b""), (200, {"Content-Type": "image/jpeg"}, JPEG)])
    calls = []

    image = scripted_fetcher(session, {"cdn.test": PUBLIC}, calls).fetch("https://cdn.test/a.jpg")

    assert image.content == JPEG
    assert calls == ["cdn.test", "cdn.test"]
    assert [request.url for request in session.sent] == [f"https://{PUBLIC}/a.jpg", f"https://{PUBLIC}/b.jpg"]


# --- fetching over TLS --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """Self-signed certificates for images.test and other.test, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not available")

    folder = tmp_path_factory.mktemp("tls")
    files = {}
    for name in ("images.test", "other.test"):
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
             "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )
        files[name] = (cert, key)
    return files


def tls_server(certificates, name: str) -> ImageServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key = certificates[name]
    context.load_cert_chain(cert, key)
    return ImageServer(tls=context)


def test_fetch_https_verifies_host_name(certificates):
    session = requests.Session()
    session.verify = str(certificates["images.test"][0])

    with tls_server(certificates, "images.test") as running:
        image = local_fetcher(session=session).fetch(running.url("/photo.jpg", host="images.test", scheme="https"))

    assert image.content == JPEG
    assert running.requests[0][1]["Host"] == f"images.test:{running.port}"


def test_fetch_https_wrong_certificate(certificates):
    session = requests.Session()
    session.verify = str(certificates["other.test"][0])

    with tls_server(certificates, "other.test") as running:
        error = error_of(local_fetcher(session=session).fetch, running.url("/photo.jpg", host="images.test", scheme="https"))

    assert error.key == "image.tls_failed"
    assert error.params["host"] == "images.test"
    assert running.requests == []


# --- sniff_image_type ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (GIF, "image/gif"), (b"GIF87a" + bytes(10), "image/gif"), (WEBP, "image/webp"),
     (b"RIFF\x00\x00\x00\x00WAVEfmt ", None), (HTML_PAGE, None), (b"", None), (b"\xff\xd8", None)],
)
def test_sniff_image_type(content, expected):
    assert sniff_image_type(content) == expected


# --- html_image_urls and rewrite_html_images -----------------------------------------------------------

A = f"{CDN}O1CN01aaaa_!!1-0-cib.jpg"
B = f"{CDN}O1CN01bbbb_!!1-0-cib.jpg"
MAPPING = {A: "https://p.platform.test/a.jpg", B: "https://p.platform.test/b.jpg"}


def images_of(fragment: str) -> list[lxml.html.HtmlElement]:
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return list(root.iter("img"))


def test_html_image_urls_order_and_originals():
    html = (
        f'<p><img src="{A}_400x400.jpg">甲</p><img data-src="//cbu01.alicdn.com/img/ibank/O1CN01bbbb_!!1-0-cib.jpg" src="x.gif">'
        f'<img src="{A}">'
    )

    assert html_image_urls(html) == [A, B]


def test_html_image_urls_empty():
    assert html_image_urls(None) == []
    assert html_image_urls("") == []


def test_html_image_urls_skips_unhosted():
    assert html_image_urls('<img src="data:image/gif;base64,R0lGOD"><img src="/relative.jpg">') == []


def test_rewrite_replaces_src():
    rewritten = rewrite_html_images(f'<p>前<img src="{A}" alt="图">后</p>', MAPPING)

    assert rewritten == '<p>前<img src="https://p.platform.test/a.jpg" alt="图">后</p>'


@pytest.mark.parametrize("attribute", LAZY_SRC_ATTRIBUTES)
def test_rewrite_lazy_attribute_wins(attribute):
    rewritten = rewrite_html_images(f'<img src="https://g.alicdn.com/s.gif" {attribute}="{A}">', MAPPING)
    image = images_of(rewritten)[0]

    assert image.get("src") == MAPPING[A]
    assert image.get(attribute) is None


def test_rewrite_drops_all_lazy_attributes_and_srcset():
    attributes = " ".join(f'{name}="{A}"' for name in LAZY_SRC_ATTRIBUTES)
    rewritten = rewrite_html_images(f'<img {attributes} srcset="{A}_400x400.jpg 2x" src="{A}">', MAPPING)

    assert dict(images_of(rewritten)[0].attrib) == {"src": MAPPING[A]}


def test_rewrite_matches_sized_and_protocol_relative():
    html = f'<img src="//cbu01.alicdn.com/img/ibank/O1CN01aaaa_!!1-0-cib.jpg_400x400.jpg?__r__=5">'

    assert images_of(rewrite_html_images(html, MAPPING))[0].get("src") == MAPPING[A]


def test_rewrite_matches_address_as_written():
    mapping = {"https://shop.example/p.jpg_400x400.jpg": "https://p.platform.test/p.jpg"}

    rewritten = rewrite_html_images('<img src="https://shop.example/p.jpg_400x400.jpg">', mapping)

    assert images_of(rewritten)[0].get("src") == "https://p.platform.test/p.jpg"


def test_rewrite_removes_unmapped_keeping_tail():
    rewritten = rewrite_html_images(f'<p>一<img src="{A}">二<img src="https://cbu01.alicdn.com/other.jpg">三</p>', MAPPING)

    assert rewritten == f'<p>一<img src="{MAPPING[A]}">二三</p>'


def test_rewrite_removes_image_without_address():
    assert rewrite_html_images('<p>前<img alt="x">后</p>', MAPPING) == "<p>前后</p>"


def test_rewrite_keeps_chinese_as_text():
    rewritten = rewrite_html_images(f"<p>纯棉&nbsp;短袖 &lt;b&gt;<img src='{A}'></p>", MAPPING)

    assert "纯棉\u00a0短袖 &lt;b&gt;" in rewritten
    assert "&#" not in rewritten


def test_rewrite_keeps_leading_text():
    assert rewrite_html_images(f'开头<img src="{A}">结尾', MAPPING) == f'开头<img src="{MAPPING[A]}">结尾'


@pytest.mark.parametrize("html", [None, "", "   "])
def test_rewrite_empty(html):
    assert rewrite_html_images(html, MAPPING) == ""


def test_rewrite_not_text():
    assert error_of(rewrite_html_images, {"html": "x"}, MAPPING).key == "html.not_text"


def test_rewrite_sample_leaves_no_cdn(sample_html):
    cleaned = clean_html(sample_html)
    urls = html_image_urls(cleaned)
    mapping = {url: f"https://p.platform.test/{index}.jpg" for index, url in enumerate(urls)}

    rewritten = rewrite_html_images(cleaned, mapping)

    assert len(urls) == 19
    assert "alicdn" not in rewritten
    assert html_images(rewritten) == list(mapping.values())
    assert html_text(rewritten) == html_text(cleaned)


@pytest.fixture
def sample_html() -> str:
    if not SAMPLE.exists():
        pytest.skip(f"sample not available: {SAMPLE}")
    return SAMPLE.read_text(encoding="utf-8")


def test_rendered_message_names_fix():
    text = render("image.host_not_allowed", "zh", host="evil.test", url="https://evil.test/a.jpg", env="ETL_IMAGE_HOSTS",
                  allowed="*.alicdn.com")

    assert text.startswith("图片主机 evil.test 不在允许下载的列表中")
    assert "ETL_IMAGE_HOSTS" in text
