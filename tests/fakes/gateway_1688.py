"""A fake of the 1688 open-platform (AOP) gateway and of a third-party ``item_get`` reseller API.

The fake serves saved responses from folders (``<offer_id>.json``, bytes returned as stored) on
127.0.0.1 only. It checks AOP signatures with its own implementation of the signing rule, so a
client is tested against code it does not share. It can enforce a server-side rate limit and
play per-offer fault scripts (5xx, timeouts, connection resets, throttling, bad JSON ...). Every
request, rejected ones included, is recorded with its arrival time.

Official gateway: ``POST {url}/openapi/param2/1/{namespace}/{apiName}/{appKey}`` with a
form-encoded body. Reseller: ``GET {url}/1688/item_get/?key=&secret=&num_iid=``.

Checks of the official gateway, in order: route, API name, app key, signature, access token,
rate limit, offer-id parameter, ACL, saved file. Checks of the reseller: route, key and secret,
rate limit, ``num_iid``, saved file.

Fault entries are consumed one per request for that offer, right after the route and API-name
checks. Entries that replace the response skip the remaining checks:

    "500", "502", "503"   that status with a short HTML page
    "retry_after:N"       503 with ``Retry-After: N`` (whole seconds)
    "reset"               no response: the connection closes with a TCP reset
    "qos"                 429 gw.QosAppFrequencyLimit (reseller: code 4005)
    "acl"                 403 gw.APIACLDecline (reseller: 500 fake.FaultNotApplicable)
    "sig"                 401 gw.SignatureInvalid even for a correct signature (reseller: code 4001)
    "bad_json"            200 with the first half of the saved body

Two entries change the normal response instead. "timeout:S" sends it S seconds late.
"offline" turns a successful response into one whose ``productInfo.status`` is "expired"
(reseller: code 2000 商品已下架), and leaves an error response unchanged.

Error codes whose name starts with ``fake.`` are the fake's own. They report a misuse of the
fake or a malformed request whose handling by the real services is undocumented.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .image_cdn import ResettableServer

HOST = "127.0.0.1"

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"

FORM_TYPE = "application/x-www-form-urlencoded"

MAX_BODY_BYTES = 1 << 20

# The URL path after "/openapi/" is what the client signs.
OFFICIAL_PATH = re.compile(r"/openapi/(param2/1/([^/]+)/([^/]+)/([^/]+))")

RESELLER_PATHS = frozenset({"/1688/item_get/", "/1688/item_get"})

# 1688 offer ids are ASCII digits. The check also keeps ids such as "../x" away from the file system.
OFFER_ID = re.compile(r"[0-9]+")

# The offer-id parameter of each detail API the fake serves, by (namespace, API name).
OFFER_PARAMS: Mapping[tuple[str, str], str] = {
    ("com.alibaba.product", "alibaba.product.get"): "productID",
    ("com.alibaba.product", "alibaba.cross.productInfo"): "productId",
    ("com.alibaba.fenxiao", "alibaba.fenxiao.productInfo.get"): "offerId",
}

ACL_MESSAGE = "AppKey is not allowed(acl)"

# Only "0000" (success) comes from a real reseller response. These error codes and reasons are invented for the fake.
RESELLER_BAD_CREDENTIALS = ("4001", "key或secret错误", "invalid key")
RESELLER_MISSING_PARAMETER = ("4002", "缺少参数：num_iid", "missing num_iid")
RESELLER_RATE_LIMITED = ("4005", "调用频率超限", "rate limit exceeded")
RESELLER_NOT_FOUND = ("2000", "商品不存在或已下架", "item not found")
RESELLER_OFFLINE = ("2000", "商品已下架", "item offline")

STATUS_FAULTS = frozenset({"500", "502", "503"})
PLAIN_FAULTS = STATUS_FAULTS | {"reset", "qos", "acl", "bad_json", "offline", "sig"}
FAULT_FORMS = ("500", "502", "503", "timeout:<seconds>", "reset", "qos", "retry_after:<seconds>", "acl", "bad_json", "offline", "sig")

# Faults that replace the whole response. The others ("timeout", "offline") change the normal response.
REPLACING_FAULTS = STATUS_FAULTS | {"reset", "qos", "retry_after", "acl", "bad_json", "sig"}

STATUS_PAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the fake received it, with the response it sent.

    ``time`` is ``time.monotonic()`` when the request line and headers had arrived. ``status`` is
    the HTTP status sent, or 0 when the connection was closed without a response. ``outcome`` is
    "ok", an error code ("gw.SignatureInvalid", "isv.product-not-found", "reseller:4001",
    "fake.BadRequest", "not_found") or the fault entry that shaped the response ("fault:503",
    "fault:timeout:0.5").
    """

    time: float
    method: str
    path: str
    params: dict[str, str]
    offer_id: str | None
    status: int
    outcome: str


@dataclass(frozen=True)
class Fault:
    """A parsed fault-script entry. ``seconds`` is set for "timeout" and "retry_after" only."""

    name: str
    entry: str
    seconds: float | None = None


def parse_fault(entry: str) -> Fault:
    """Parse one fault-script entry, raising ValueError for an unknown or malformed one."""
    if not isinstance(entry, str):
        raise TypeError(f"a fault entry is a string such as '503' or 'timeout:2', got {entry!r}")

    name, separator, argument = entry.partition(":")
    if not separator and name in PLAIN_FAULTS:
        return Fault(name, entry)
    if separator and name == "timeout":
        return Fault(name, entry, _parse_seconds(entry, argument))
    if separator and name == "retry_after":
        return Fault(name, entry, _parse_whole_seconds(entry, argument))

    raise ValueError(f"unknown fault {entry!r}: use one of {', '.join(FAULT_FORMS)}")


def _parse_seconds(entry: str, text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"invalid fault {entry!r}: seconds must be a number, such as 'timeout:0.5'") from None

    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid fault {entry!r}: seconds must be a finite number >= 0")
    return seconds


def _parse_whole_seconds(entry: str, text: str) -> float:
    # Retry-After carries delay-seconds, a non-negative integer (RFC 9110, section 10.2.3).
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"invalid fault {entry!r}: Retry-After seconds must be a whole number >= 0, such as 'retry_after:2'")
    return float(int(text))


def _checked_entries(entries: Iterable[str]) -> list[str]:
    if isinstance(entries, str):
        raise TypeError(f"a fault script is a list of entries, got the string {entries!r}: write [{entries!r}]")

    entries = list(entries)
    for entry in entries:
        parse_fault(entry)
    return entries


class FaultScript(list):
    """Fault entries for one offer, consumed from the front. Adding an unknown entry raises ValueError."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        super().__init__(_checked_entries(entries))

    def append(self, entry: str) -> None:
        parse_fault(entry)
        super().append(entry)

    def insert(self, index: int, entry: str) -> None:  # type: ignore[override]
        parse_fault(entry)
        super().insert(index, entry)

    def extend(self, entries: Iterable[str]) -> None:
        super().extend(_checked_entries(entries))

    def __iadd__(self, entries: Iterable[str]) -> FaultScript:  # type: ignore[override]
        self.extend(entries)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            value = _checked_entries(value)
        else:
            parse_fault(value)
        super().__setitem__(index, value)


class FaultScripts(dict):
    """Fault scripts by offer id (a str). Every value is stored as a :class:`FaultScript`."""

    def __init__(self, scripts: Mapping[str, Iterable[str]] | None = None) -> None:
        super().__init__()
        self.update(scripts or {})

    def __setitem__(self, offer_id: str, entries: Iterable[str]) -> None:
        if not isinstance(offer_id, str):
            raise TypeError(f"fault scripts are keyed by the offer id as a string, got {offer_id!r}")
        super().__setitem__(offer_id, FaultScript(entries))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for offer_id, entries in dict(*args, **kwargs).items():
            self[offer_id] = entries

    def setdefault(self, offer_id: str, entries: Iterable[str] = ()) -> FaultScript:  # type: ignore[override]
        if offer_id not in self:
            self[offer_id] = entries
        return self[offer_id]

    def __ior__(self, other: Mapping[str, Iterable[str]]) -> FaultScripts:  # type: ignore[override]
        self.update(other)
        return self


def aop_signature(url_path: str, params: Mapping[str, str], app_secret: str) -> str:
    """Compute the AOP request signature as upper-case hex.

    ``url_path`` is ``param2/1/{namespace}/{apiName}/{appKey}``, without a leading slash or
    "/openapi/". Each parameter except ``_aop_signature`` becomes the string key + value. The
    fake sorts those strings, joins them after ``url_path`` and signs the result with
    HMAC-SHA1 keyed by the app secret. Sorting the strings differs from sorting by key when a
    key is a prefix of another key.
    """
    pieces = sorted(key + value for key, value in params.items() if key != "_aop_signature")
    message = url_path + "".join(pieces)
    digest = hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1)
    return digest.hexdigest().upper()


class _TokenBucket:
    """A token bucket that admits ``rate`` requests per second on average and ``burst`` at once.

    It starts full. Over any window of ``w`` seconds it admits at most ``burst + rate * w`` requests.
    """

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


class _WindowLimiter:
    """A limiter that admits at most ``int(rate * window)`` requests in any ``window`` seconds.

    This is the literal reading of "``rate`` requests per second": it rejects a request only
    when admitting it would put more than the limit into some window, unlike a burst-1 token
    bucket, which also rejects a request that arrives a few milliseconds early after a pause.
    """

    def __init__(self, rate: float, window: float = 1.0) -> None:
        self._limit = max(1, int(rate * window))
        self._window = window
        self._admitted: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def try_take(self, now: float) -> bool:
        with self._lock:
            while self._admitted and now - self._admitted[0] >= self._window:
                self._admitted.popleft()
            if len(self._admitted) >= self._limit:
                return False
            self._admitted.append(now)
            return True


@dataclass(frozen=True)
class _Incoming:
    method: str
    path: str
    query: str
    content_type: str
    body: bytes | None
    arrival: float
    framing_error: str | None = None


@dataclass(frozen=True)
class _Response:
    """What to send back. ``delay`` is in seconds, waited after the decision and before sending."""

    status: int
    body: bytes
    outcome: str
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    reset: bool = False
    close: bool = False
    delay: float = 0.0


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _gateway_error(status: int, code: str, message: str, outcome: str | None = None) -> _Response:
    body = {"error_code": code, "error_message": message, "exception": message}
    return _Response(status, _json_bytes(body), outcome or code)


def _fake_error(status: int, code: str, message: str) -> _Response:
    body = {"error_code": code, "error_message": message, "exception": message}
    return _Response(status, _json_bytes(body), code, close=True)


def _business_error(code: str, message: str) -> _Response:
    body = {"success": False, "errorCode": code, "errorMessage": message}
    return _Response(200, _json_bytes(body), code)


def _status_page(status: int, outcome: str, headers: Mapping[str, str] | None = None) -> _Response:
    title = STATUS_PAGES[status]
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    return _Response(status, page.encode("ascii"), outcome, HTML_TYPE, headers or {})


def _truncated(body: bytes) -> bytes:
    """Cut a JSON text to its first half. A proper prefix of an object or array never parses."""
    body = body.rstrip()
    return body[: max(1, len(body) // 2)]


def _validated_denied_apis(entries: Iterable[str]) -> frozenset[tuple[str, str]]:
    """Resolve "apiName", "namespace/apiName" or "namespace:apiName" entries to served APIs."""
    denied = set()
    for entry in entries:
        matches = [
            api for api in OFFER_PARAMS
            if entry in (api[1], f"{api[0]}/{api[1]}", f"{api[0]}:{api[1]}")
        ]
        if not matches:
            served = ", ".join(f"{namespace}/{name}" for namespace, name in OFFER_PARAMS)
            raise ValueError(f"denied API {entry!r} is not served by the fake: use one of {served}")
        denied.update(matches)
    return frozenset(denied)


def _validated_folder(folder: Path | None, name: str) -> Path | None:
    if folder is None:
        return None
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{name} {str(folder)!r} is not a folder: pass the folder of saved <offer_id>.json files")
    return folder


class Fake1688:
    """A fake 1688 gateway and ``item_get`` reseller on 127.0.0.1, for tests.

    ``product_dir`` and ``reseller_dir`` hold ``<offer_id>.json`` files. A folder of None means
    no offer is found. ``rate_limit`` is in requests per second, enforced separately for the
    gateway and the reseller by a token bucket of ``burst`` tokens (``limiter="bucket"``) or by
    a count over every sliding 1-second window (``limiter="window"``). ``latency`` is in seconds,
    waited before every response. ``denied_apis`` entries are "apiName", "namespace/apiName" or
    "namespace:apiName". The gateway rejects a denied API or an offer id in ``denied_offers``
    with HTTP 403 gw.APIACLDecline.
    """

    def __init__(
        self,
        *,
        product_dir: Path | None = None,
        reseller_dir: Path | None = None,
        app_key: str = "fake-app-key",
        app_secret: str = "fake-app-secret",
        access_token: str = "fake-access-token",
        reseller_key: str = "fake-reseller-key",
        reseller_secret: str = "fake-reseller-secret",
        rate_limit: float | None = None,
        burst: int = 1,
        limiter: str = "bucket",
        latency: float = 0.0,
        denied_apis: Iterable[str] = frozenset(),
        denied_offers: Iterable[str] = frozenset(),
    ) -> None:
        if rate_limit is not None and not (math.isfinite(rate_limit) and rate_limit > 0):
            raise ValueError(f"rate_limit must be a number of requests per second > 0, or None for no limit, got {rate_limit!r}")
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be a whole number of requests >= 1, got {burst!r}")
        if not (math.isfinite(latency) and latency >= 0):
            raise ValueError(f"latency must be a number of seconds >= 0, got {latency!r}")
        if limiter not in ("bucket", "window"):
            raise ValueError(f"limiter must be 'bucket' or 'window', got {limiter!r}")

        self.product_dir = _validated_folder(product_dir, "product_dir")
        self.reseller_dir = _validated_folder(reseller_dir, "reseller_dir")
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        self.reseller_key = reseller_key
        self.reseller_secret = reseller_secret
        self.rate_limit = rate_limit
        self.burst = burst
        self.limiter = limiter
        self.latency = latency
        self.denied_apis = _validated_denied_apis(denied_apis)
        self.denied_offers = frozenset(denied_offers)

        self._lock = threading.Lock()
        self._faults = FaultScripts()
        self._requests: list[RequestRecord] = []
        self._request_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: ResettableServer | None = None
        self._thread: threading.Thread | None = None
        self._reset_buckets()

    # -- lifecycle

    def start(self) -> Fake1688:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("the fake is already running: call stop() before start()")

        self._stopping.clear()
        self._reset_buckets()
        self._server = ResettableServer(self, _Handler)
        # stop() waits up to one poll interval, so a short interval keeps many short-lived fakes fast.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-1688", daemon=True)
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

    def __enter__(self) -> Fake1688:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, "http://127.0.0.1:<port>". Official API paths are under /openapi/."""
        if self._server is None:
            raise RuntimeError("the fake is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripts and records

    @property
    def faults(self) -> FaultScripts:
        """Fault scripts by offer id. Each request for that offer consumes the first entry."""
        return self._faults

    @faults.setter
    def faults(self, scripts: Mapping[str, Iterable[str]]) -> None:
        checked = FaultScripts(scripts)
        with self._lock:
            self._faults = checked

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in the order its response was decided. Sort by ``time`` for arrival order."""
        return self._requests

    def requests_for(self, offer_id: str) -> list[RequestRecord]:
        """Return a copy of the records of requests for ``offer_id``."""
        with self._lock:
            return [record for record in self._requests if record.offer_id == offer_id]

    def max_requests_in_window(self, window: float = 1.0) -> int:
        """Return the largest number of requests that arrived within any ``window`` seconds.

        A request arriving exactly ``window`` seconds after another is in the next window.
        """
        if not window > 0:
            raise ValueError(f"window must be a number of seconds > 0, got {window!r}")

        with self._lock:
            times = sorted(record.time for record in self._requests)

        largest = 0
        start = 0
        for end, arrival in enumerate(times):
            while arrival - times[start] >= window:
                start += 1
            largest = max(largest, end - start + 1)
        return largest

    # -- request handling (called from server threads)

    def _reset_buckets(self) -> None:
        if self.rate_limit is None:
            self._official_bucket = self._reseller_bucket = None
            return
        if self.limiter == "window":
            self._official_bucket = _WindowLimiter(self.rate_limit)
            self._reseller_bucket = _WindowLimiter(self.rate_limit)
            return
        self._official_bucket = _TokenBucket(self.rate_limit, self.burst)
        self._reseller_bucket = _TokenBucket(self.rate_limit, self.burst)

    def _handle(self, incoming: _Incoming) -> _Response:
        """Decide the response to one request and record it."""
        if not self._pause(self.latency):
            return _Response(0, b"", "stopped", reset=True)

        params: dict[str, str] = {}
        offer_id: str | None = None
        try:
            params = self._parse_params(incoming)
        except ValueError as error:
            response = _fake_error(400, "fake.BadRequest", str(error))
        else:
            offer_id, response = self._route(incoming, params)

        record = RequestRecord(incoming.arrival, incoming.method, incoming.path, params, offer_id, response.status, response.outcome)
        with self._lock:
            self._requests.append(record)
        return response

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, returning False early if the fake is stopping."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    @staticmethod
    def _parse_params(incoming: _Incoming) -> dict[str, str]:
        """Merge query-string and form-body parameters. A later repeat of a name wins."""
        if incoming.framing_error:
            raise ValueError(incoming.framing_error)

        pairs = parse_qsl(incoming.query, keep_blank_values=True, encoding="utf-8", errors="strict")
        if incoming.body:
            media_type = incoming.content_type.split(";", 1)[0].strip().lower()
            if media_type != FORM_TYPE:
                raise ValueError(f"the request body must be {FORM_TYPE}, got {incoming.content_type or 'no Content-Type'}")
            try:
                text = incoming.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("the form body is not valid UTF-8") from None
            pairs += parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")

        return dict(pairs)

    def _route(self, incoming: _Incoming, params: dict[str, str]) -> tuple[str | None, _Response]:
        official = OFFICIAL_PATH.fullmatch(incoming.path)
        if official:
            return self._respond_official(incoming, params, *official.groups())
        if incoming.path in RESELLER_PATHS:
            return self._respond_reseller(incoming, params)
        return None, _Response(404, b"Not Found", "not_found", TEXT_TYPE)

    def _take_fault(self, offer_id: str | None) -> Fault | None:
        """Pop the next fault entry for ``offer_id``. An invalid entry is a ValueError."""
        if not offer_id:
            return None
        with self._lock:
            script = self._faults.get(offer_id)
            if not script:
                return None
            entry = list.pop(script, 0)
        return parse_fault(entry)

    # -- official gateway

    def _respond_official(self, incoming: _Incoming, params: dict[str, str], url_path: str, namespace: str, api_name: str, app_key: str) -> tuple[str | None, _Response]:
        if incoming.method != "POST":
            return None, _fake_error(405, "fake.MethodNotAllowed", f"the gateway fake accepts POST only, got {incoming.method}")

        offer_param = OFFER_PARAMS.get((namespace, api_name))
        if offer_param is None:
            # NOTE: the real HTTP status for gw.APIUnsupported is undocumented, so 400 is a guess.
            return None, _gateway_error(400, "gw.APIUnsupported", f"API is not supported: {namespace}:{api_name}")

        offer_id = params.get(offer_param) or None
        try:
            fault = self._take_fault(offer_id)
        except ValueError as error:
            return offer_id, _fake_error(500, "fake.UnknownFault", str(error))

        if fault is not None and fault.name in REPLACING_FAULTS:
            return offer_id, self._official_fault(fault, offer_id)

        response = self._check_official(incoming, params, url_path, (namespace, api_name), app_key, offer_param, offer_id)
        if fault is not None:
            response = self._apply_official_fault(fault, response)
        return offer_id, response

    def _check_official(self, incoming: _Incoming, params: dict[str, str], url_path: str, api: tuple[str, str], app_key: str, offer_param: str, offer_id: str | None) -> _Response:
        if app_key != self.app_key:
            return _gateway_error(401, "gw.AppKeyNotFound", f"AppKey not found: {app_key}")

        signature = params.get("_aop_signature")
        if not signature:
            return _gateway_error(401, "gw.SignatureMissing", "_aop_signature is missing")
        expected = aop_signature(url_path, params, self.app_secret)
        if not hmac.compare_digest(signature.encode("utf-8"), expected.encode("utf-8")):
            return _gateway_error(401, "gw.SignatureInvalid", "Signature is invalid")

        token = params.get("access_token")
        if not token:
            return _gateway_error(401, "gw.AccessTokenInvalid", "access_token is missing")
        if not hmac.compare_digest(token.encode("utf-8"), self.access_token.encode("utf-8")):
            return _gateway_error(401, "gw.AccessTokenInvalid", "access_token is invalid or expired")

        if self._official_bucket is not None and not self._official_bucket.try_take(incoming.arrival):
            return _gateway_error(429, "gw.QosAppFrequencyLimit", "App call frequency exceeds the limit")

        if offer_id is None:
            # The real gateway's response to a missing parameter is undocumented, so this code is the fake's own.
            return _business_error("fake.MissingParameter", f"缺少参数：{offer_param}")

        if api in self.denied_apis or offer_id in self.denied_offers:
            return _gateway_error(403, "gw.APIACLDecline", ACL_MESSAGE)

        return self._saved_product(offer_id)

    def _saved_product(self, offer_id: str) -> _Response:
        path = _saved_path(self.product_dir, offer_id)
        if path is None:
            # The platform documents no not-found code, so isv.product-not-found is the fake's own.
            return _business_error("isv.product-not-found", f"商品不存在：{offer_id}")
        return _Response(200, path.read_bytes(), "ok")

    def _official_fault(self, fault: Fault, offer_id: str | None) -> _Response:
        outcome = f"fault:{fault.entry}"

        if fault.name in STATUS_FAULTS:
            return _status_page(int(fault.name), outcome)
        if fault.name == "retry_after":
            return _status_page(503, outcome, {"Retry-After": str(int(fault.seconds or 0))})
        if fault.name == "reset":
            return _Response(0, b"", outcome, reset=True)
        if fault.name == "qos":
            return _gateway_error(429, "gw.QosAppFrequencyLimit", "App call frequency exceeds the limit", outcome)
        if fault.name == "acl":
            return _gateway_error(403, "gw.APIACLDecline", ACL_MESSAGE, outcome)
        if fault.name == "sig":
            return _gateway_error(401, "gw.SignatureInvalid", "Signature is invalid", outcome)
        if fault.name == "bad_json":
            return _Response(200, _truncated(self._product_body(offer_id)), outcome)
        raise AssertionError(f"fault {fault.entry!r} does not replace the response")

    def _product_body(self, offer_id: str | None) -> bytes:
        path = _saved_path(self.product_dir, offer_id or "")
        if path is None:
            return _business_error("isv.product-not-found", f"商品不存在：{offer_id}").body
        return path.read_bytes()

    @staticmethod
    def _apply_official_fault(fault: Fault, response: _Response) -> _Response:
        outcome = f"fault:{fault.entry}"

        if fault.name == "timeout":
            return replace(response, delay=fault.seconds or 0.0, outcome=outcome)

        # "offline" changes only a successful response. The client sees any error unchanged.
        if response.outcome != "ok":
            return response
        try:
            document = json.loads(response.body)
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("productInfo"), dict):
            return _fake_error(500, "fake.FaultNotApplicable", "fault 'offline' needs a saved body with a productInfo object")

        document["productInfo"]["status"] = "expired"
        return replace(response, body=_json_bytes(document), outcome=outcome)

    # -- reseller

    def _respond_reseller(self, incoming: _Incoming, params: dict[str, str]) -> tuple[str | None, _Response]:
        if incoming.method != "GET":
            return None, _fake_error(405, "fake.MethodNotAllowed", f"the reseller fake accepts GET only, got {incoming.method}")

        offer_id = params.get("num_iid") or None
        try:
            fault = self._take_fault(offer_id)
        except ValueError as error:
            return offer_id, _fake_error(500, "fake.UnknownFault", str(error))

        if fault is not None and fault.name in REPLACING_FAULTS:
            return offer_id, self._reseller_fault(fault, offer_id)

        response = self._check_reseller(incoming, params, offer_id)
        if fault is None:
            return offer_id, response
        if fault.name == "timeout":
            return offer_id, replace(response, delay=fault.seconds or 0.0, outcome=f"fault:{fault.entry}")
        if response.outcome == "ok":
            return offer_id, self._reseller_error(RESELLER_OFFLINE, f"fault:{fault.entry}")
        return offer_id, response

    def _check_reseller(self, incoming: _Incoming, params: dict[str, str], offer_id: str | None) -> _Response:
        key_ok = hmac.compare_digest(params.get("key", "").encode("utf-8"), self.reseller_key.encode("utf-8"))
        secret_ok = hmac.compare_digest(params.get("secret", "").encode("utf-8"), self.reseller_secret.encode("utf-8"))
        if not (key_ok and secret_ok):
            return self._reseller_error(RESELLER_BAD_CREDENTIALS)

        if self._reseller_bucket is not None and not self._reseller_bucket.try_take(incoming.arrival):
            return self._reseller_error(RESELLER_RATE_LIMITED)

        if offer_id is None:
            return self._reseller_error(RESELLER_MISSING_PARAMETER)

        path = _saved_path(self.reseller_dir, offer_id)
        if path is None:
            return self._reseller_error(RESELLER_NOT_FOUND)
        return _Response(200, path.read_bytes(), "ok")

    def _reseller_fault(self, fault: Fault, offer_id: str | None) -> _Response:
        outcome = f"fault:{fault.entry}"

        if fault.name in STATUS_FAULTS:
            return _status_page(int(fault.name), outcome)
        if fault.name == "retry_after":
            return _status_page(503, outcome, {"Retry-After": str(int(fault.seconds or 0))})
        if fault.name == "reset":
            return _Response(0, b"", outcome, reset=True)
        if fault.name == "qos":
            return self._reseller_error(RESELLER_RATE_LIMITED, outcome)
        if fault.name == "sig":
            return self._reseller_error(RESELLER_BAD_CREDENTIALS, outcome)
        if fault.name == "bad_json":
            path = _saved_path(self.reseller_dir, offer_id or "")
            body = path.read_bytes() if path else self._reseller_error(RESELLER_NOT_FOUND).body
            return _Response(200, _truncated(body), outcome)
        return _fake_error(500, "fake.FaultNotApplicable", f"fault {fault.entry!r} applies to the official gateway only")

    def _reseller_error(self, error: tuple[str, str, str], outcome: str | None = None) -> _Response:
        code, reason, detail = error
        request_id = f"fake-{next(self._request_ids):08d}"
        body = {"error_code": code, "reason": reason, "error": detail, "request_id": request_id}
        return _Response(200, _json_bytes(body), outcome or f"reseller:{code}")


def _saved_path(folder: Path | None, offer_id: str) -> Path | None:
    """Return the saved file for ``offer_id``, or None when there is none or the id is not an offer id."""
    if folder is None or not OFFER_ID.fullmatch(offer_id):
        return None
    path = folder / f"{offer_id}.json"
    return path if path.is_file() else None


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

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        # The fake records requests itself; http.server would print each one to stderr.
        pass

    def _serve(self) -> None:
        arrival = time.monotonic()
        body, framing_error = self._read_body()
        target = urlsplit(self.path)
        incoming = _Incoming(self.command, target.path, target.query, self.headers.get("Content-Type", ""), body, arrival, framing_error)

        fake = self.server.fake
        response = fake._handle(incoming)
        if response.reset or not fake._pause(response.delay):
            self.close_connection = True
            self.server.mark_for_reset(self.connection)
            return

        self._send(response)

    def _read_body(self) -> tuple[bytes | None, str | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None, "chunked request bodies are not supported: send Content-Length"

        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b"", None
        if not length_text.isascii() or not length_text.isdigit():
            return None, f"invalid Content-Length {length_text!r}"

        length = int(length_text)
        if length > MAX_BODY_BYTES:
            return None, f"request body of {length} bytes is over the fake's limit of {MAX_BODY_BYTES} bytes"
        return self.rfile.read(length), None

    def _send(self, response: _Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(response.body)
        except ConnectionError:
            # The client gave up first, for example after its own timeout.
            self.close_connection = True
