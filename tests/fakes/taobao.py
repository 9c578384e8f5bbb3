"""A fake of the Taobao open platform (TOP) router on 127.0.0.1, for tests of the publishing client.

It responds like ``/router/rest`` as the TOP SDKs (bububa/opentaobao v1.4.6, the 2013 PHP
TopSDK) describe it. Parameters arrive in the query string, a
form body or a multipart body (files are multipart parts with a file name). Every response is HTTP
200 JSON: ``{"<method>_response": {..., "request_id": ...}}`` on success, where ``<method>`` is
the method name without "taobao." and with "_" for ".", or
``{"error_response": {"code", "msg", "sub_code", "sub_msg", "request_id"}}``. It checks the
signature with its own code, not with ``etl.signing``.

Methods: ``taobao.item.add``, ``taobao.item.update``, ``taobao.items.custom.get``,
``taobao.picture.upload``. ``GET /imgextra/<file>`` serves the uploaded pictures
(``image_prefix``).

Checks run in this order, each with its TOP error code: route, method name (21 missing, 22
unknown), format (23), app key (28, 29) and timestamp (30, 31). The timestamp "YYYY-MM-DD
HH:MM:SS" is read as UTC+8 and must be within ``max_clock_skew`` seconds of ``clock()``. Then come
version 2.0 (32, 33, 34), the signature with ``md5`` or ``hmac`` over every parameter except
``sign`` and files (24, 25), session (26, 27), rate limit (7), injected errors, and the method's
own checks:

    40 Missing required arguments:<field>            a required business parameter is missing
    41 Invalid arguments, isv.invalid-parameter:<f>  a value of the wrong type or format
    15 Remote service error, isv.invalid-parameter:<f>   a documented limit is broken (title
                                                      width, price range, num = sum of SKU
                                                      quantities, aligned SKU lists, desc length,
                                                      images not from the fake's picture space)
    15 Remote service error, isp.remote-service-error     a random fault (``set_fault_rate``)
    7  App Call Limited, accesscontrol.limited-by-app-access-count   the rate limit

Codes and messages come from the TOP error-code list. Sub-codes starting with ``fake.`` and the
choice between 41 and 15 for a given check are the fake's own, because no source pins them down.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, Callable
from urllib.parse import parse_qsl

from .image_cdn import IMAGE_TYPES, TEXT_TYPE, CallRecord, Incoming, InjectedError, PlatformFake, Reply, image_dimensions, image_format

__all__ = ["CallRecord", "FakeTaobao", "TaobaoItem", "TaobaoPicture"]

ROUTER_PATH = "/router/rest"
PICTURE_PATH = "/imgextra/"

API_METHODS = frozenset({"taobao.item.add", "taobao.item.update", "taobao.items.custom.get", "taobao.picture.upload"})
WRITE_METHODS = frozenset({"taobao.item.add", "taobao.item.update", "taobao.picture.upload"})

BEIJING_TIME = timezone(timedelta(hours=8))
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

CODE_MESSAGES = {
    7: "App Call Limited",
    15: "Remote service error",
    21: "Missing method",
    22: "Invalid method",
    23: "Invalid format",
    24: "Missing signature",
    25: "Invalid signature",
    26: "Missing session",
    27: "Invalid session",
    28: "Missing app key",
    29: "Invalid app Key",
    30: "Missing timestamp",
    31: "Invalid timestamp",
    32: "Missing version",
    33: "Invalid version",
    34: "Unsupported version",
    40: "Missing required arguments",
    41: "Invalid arguments",
}

RATE_LIMIT_SUB_CODE = "accesscontrol.limited-by-app-access-count"

# Sub-code and sub_msg that ``fail_next`` fills in when the test gives only the code.
DEFAULT_SUB_CODES = {
    7: (RATE_LIMIT_SUB_CODE, "This ban will last for 1 more seconds"),
    15: ("isp.remote-service-error", "远程服务错误，请稍后重试"),
    27: ("invalid-sessionkey", "session 无效或已过期"),
}

# Limits of taobao.item.add from the TOP SDK request class and Item model.
TITLE_MAX_WIDTH = 60
DESC_MIN_EXCLUSIVE = 5
DESC_MAX_EXCLUSIVE = 25000
PRICE_MAX = Decimal("100000000")
NUM_MAX = 999999
OUTER_ID_MAX_BYTES = 512
SKU_PROPERTIES_MAX_BYTES = 512
ITEM_IMAGE_MAX_BYTES = 500 * 1024
PICTURE_MAX_BYTES = 3 * 1024 * 1024
CUSTOM_GET_MAX_IDS = 40

ITEM_IMAGE_FORMATS = ("jpeg", "gif")
PICTURE_FORMATS = ("jpeg", "png", "gif")

REQUIRED_ADD_FIELDS = ("num", "price", "type", "stuff_status", "title", "desc", "location.state", "location.city", "cid", "outer_id")
ENUM_FIELDS = {
    "type": ("fixed", "auction"),
    "stuff_status": ("new", "second", "unused"),
    "approve_status": ("onsale", "instock"),
    "freight_payer": ("seller", "buyer"),
}
INTEGER_FIELDS = ("num", "cid", "postage_id", "sub_stock")

# Fields taobao.items.custom.get can return, from the Item model.
ITEM_FIELDS = ("num_iid", "outer_id", "title", "approve_status", "price", "num", "cid", "desc", "pic_url", "created", "modified", "type", "stuff_status")

_PRICE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
_INTEGER = re.compile(r"-?[0-9]+")
_SKU_PROPERTY = re.compile(r"[^:;,]+:[^:;,]+")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")

FIRST_NUM_IID = 700_000_000_001
FIRST_PICTURE_ID = 90_000_000_001


class _Rejected(Exception):
    """An error response decided while checking a request. ``outcome`` is what the call log records."""

    def __init__(self, code: int, sub_code: str | None = None, sub_msg: str | None = None, msg: str | None = None, outcome: str = "error") -> None:
        super().__init__(sub_msg or msg)
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.msg = msg or CODE_MESSAGES.get(code, "Remote service error")
        self.outcome = outcome


def _missing(field_name: str) -> _Rejected:
    return _Rejected(40, msg=f"Missing required arguments:{field_name}")


def _bad_format(field_name: str, sub_msg: str) -> _Rejected:
    return _Rejected(41, f"isv.invalid-parameter:{field_name}", sub_msg, f"Invalid arguments:{field_name}")


def _over_limit(field_name: str, sub_msg: str) -> _Rejected:
    return _Rejected(15, f"isv.invalid-parameter:{field_name}", sub_msg)


@dataclass
class TaobaoItem:
    """An item the fake stores. ``fields`` are the last accepted text parameters."""

    num_iid: int
    outer_id: str
    approve_status: str
    fields: dict[str, str]
    created: str
    modified: str
    image: bytes | None = None
    deleted: bool = False

    @property
    def in_warehouse(self) -> bool:
        """True while the item is kept in the warehouse (``approve_status`` instock), the Taobao draft."""
        return self.approve_status == "instock"


@dataclass
class TaobaoPicture:
    """A picture in the fake's picture space."""

    picture_id: int
    picture_category_id: int
    picture_path: str
    title: str
    body: bytes
    image_format: str
    created: str


class FakeTaobao(PlatformFake):
    """A fake TOP router on 127.0.0.1. See the module docstring for methods and responses.

    ``session`` is the valid session key (the seller's access token). ``max_clock_skew`` is in
    seconds (TOP documents ±10 minutes).

    Test controls: ``fail_next``, ``set_fault_rate``, ``set_rate_limit``, ``latency``,
    ``drop_after_accept``, ``expire_session``, ``delete_item``, ``add_picture``; records:
    ``calls``, ``calls_to``, ``write_counts``, ``items``, ``items_by_outer_id``, ``duplicates``,
    ``pictures``.
    """

    thread_name = "fake-taobao"
    # Large enough to receive, and then reject, a picture over the 3 MB limit.
    max_body_bytes = 8 << 20
    api_methods = API_METHODS
    write_methods = WRITE_METHODS

    def __init__(
        self,
        *,
        app_key: str = "fake-top-app-key",
        app_secret: str = "fake-top-app-secret",
        session: str = "fake-top-session",
        rate_limit: float | None = None,
        burst: int = 1,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        max_clock_skew: float = 600.0,
    ) -> None:
        super().__init__(rate_limit=rate_limit, burst=burst, latency=latency, fault_rate=fault_rate, seed=seed, clock=clock)
        self.app_key = app_key
        self.app_secret = app_secret
        self.session = session
        self.max_clock_skew = max_clock_skew

        self._state_lock = threading.RLock()
        self._expired_sessions: set[str] = set()
        self._items: list[TaobaoItem] = []
        self._pictures: dict[str, TaobaoPicture] = {}
        self._num_iids = itertools.count(FIRST_NUM_IID)
        self._picture_ids = itertools.count(FIRST_PICTURE_ID)
        self._request_ids = itertools.count(1)

    # -- controls and records

    @property
    def gateway(self) -> str:
        """The router URL, "http://127.0.0.1:<port>/router/rest"."""
        return self.url + ROUTER_PATH

    @property
    def image_prefix(self) -> str:
        """The URL prefix of picture-space images, "http://127.0.0.1:<port>/imgextra/"."""
        return self.url + PICTURE_PATH

    def expire_session(self) -> None:
        """Make the current session get 27 Invalid session. Set ``session`` to issue a new one."""
        with self._state_lock:
            self._expired_sessions.add(self.session)

    def delete_item(self, num_iid: int | str) -> None:
        """Delete an item as the seller would. items.custom.get no longer returns it."""
        with self._state_lock:
            for item in self._items:
                if item.num_iid == int(num_iid):
                    item.deleted = True
                    return
        raise KeyError(f"no item with num_iid {num_iid}")

    def add_picture(self, body: bytes, title: str = "picture.jpg") -> str:
        """Store a picture in the picture space without an API call and return its ``picture_path``."""
        kind = image_format(body)
        if kind not in PICTURE_FORMATS:
            raise ValueError(f"add_picture takes JPEG, PNG or GIF bytes, got {kind or 'unknown bytes'}")
        return self._store_picture(body, kind, 0, title).picture_path

    @property
    def items(self) -> list[TaobaoItem]:
        """A copy of the list of items, deleted ones included, in creation order."""
        with self._state_lock:
            return list(self._items)

    def items_by_outer_id(self, outer_id: str) -> list[TaobaoItem]:
        """Return the live items created with ``outer_id``, oldest first."""
        return [item for item in self.items if item.outer_id == outer_id and not item.deleted]

    def duplicates(self) -> dict[str, int]:
        """Return the outer ids that more than one live item carries, with their item counts."""
        counts: dict[str, int] = {}
        for item in self.items:
            if not item.deleted:
                counts[item.outer_id] = counts.get(item.outer_id, 0) + 1
        return {outer_id: count for outer_id, count in counts.items() if count > 1}

    @property
    def pictures(self) -> list[TaobaoPicture]:
        """A copy of the list of stored pictures, in upload order."""
        with self._state_lock:
            return list(self._pictures.values())

    # -- request handling (server threads)

    def _handle(self, incoming: Incoming) -> Reply:
        if incoming.path.startswith(PICTURE_PATH):
            return self._serve_picture(incoming)
        if incoming.path != ROUTER_PATH:
            return Reply(404, b"Not Found", TEXT_TYPE)
        if incoming.method not in ("GET", "POST"):
            return Reply(405, f"{ROUTER_PATH} accepts GET and POST".encode(), TEXT_TYPE, {"Allow": "GET, POST"})

        method: str | None = None
        logged: dict[str, Any] = {}
        try:
            params, files = _request_parameters(incoming)
            method = params.get("method") or None
            logged = _loggable(params, files)
            self._check_system(incoming, params)
            reply, outcome = self._business(method, params, files)
        except _Rejected as rejection:
            self._record(incoming.arrival, method, logged, rejection.code, rejection.sub_code, rejection.outcome)
            return self._error_reply(rejection)

        self._record(incoming.arrival, method, logged, None, None, outcome)
        return reply

    def _check_system(self, incoming: Incoming, params: dict[str, str]) -> None:
        """Run the router checks, raising _Rejected for the first one that fails."""
        method = params.get("method")
        if not method:
            raise _Rejected(21)
        if method not in self.api_methods:
            raise _Rejected(22, sub_msg=f"the fake serves {', '.join(sorted(self.api_methods))}, not {method}")
        if params.get("format", "json") != "json":
            raise _Rejected(23, "fake.format-unsupported", f"the fake serves format=json only, got {params['format']}")

        if not params.get("app_key"):
            raise _Rejected(28)
        if not hmac.compare_digest(params["app_key"].encode("utf-8"), self.app_key.encode("utf-8")):
            raise _Rejected(29)
        self._check_timestamp(params.get("timestamp"))
        _check_version(params.get("v"))
        self._check_signature(params)
        self._check_session(params.get("session"))

        if self._rate_limited(incoming.arrival):
            raise _Rejected(7, RATE_LIMIT_SUB_CODE, "This ban will last for 1 more seconds", outcome="rate_limited")
        injected = self._take_injected(method)
        if injected is not None:
            raise self._injected_rejection(injected)

    def _check_timestamp(self, text: str | None) -> None:
        if not text:
            raise _Rejected(30)
        try:
            sent = datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=BEIJING_TIME).timestamp()
        except ValueError:
            raise _Rejected(31, sub_msg=f"timestamp must be {TIMESTAMP_FORMAT} in UTC+8, got {text!r}") from None
        skew = abs(self.clock() - sent)
        if skew > self.max_clock_skew:
            raise _Rejected(31, sub_msg=f"timestamp {text} (UTC+8) is {skew:.0f} s away from the server time, over {self.max_clock_skew:.0f} s")

    def _check_signature(self, params: dict[str, str]) -> None:
        sign_method = params.get("sign_method") or "md5"
        signed = {key: value for key, value in params.items() if key != "sign"}
        message = "".join(key + signed[key] for key in sorted(signed))

        if sign_method == "md5":
            expected = hashlib.md5((self.app_secret + message + self.app_secret).encode("utf-8")).hexdigest().upper()
        elif sign_method == "hmac":
            expected = hmac.new(self.app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.md5).hexdigest().upper()
        else:
            # NOTE: TOP may accept hmac-sha256 too, but its exact form is unverified, so the fake rejects it.
            raise _Rejected(25, "fake.sign-method-unsupported", f"the fake checks sign_method md5 and hmac only, got {sign_method}")

        if not params.get("sign"):
            raise _Rejected(24)
        if not hmac.compare_digest(params["sign"].encode("utf-8"), expected.encode("utf-8")):
            raise _Rejected(25)

    def _check_session(self, session: str | None) -> None:
        if not session:
            raise _Rejected(26)
        with self._state_lock:
            expired = session in self._expired_sessions
        if expired or not hmac.compare_digest(session.encode("utf-8"), self.session.encode("utf-8")):
            raise _Rejected(27, "invalid-sessionkey", "session 无效或已过期")

    def _random_fault(self) -> InjectedError:
        return InjectedError(15, "isp.remote-service-error", None, "远程服务错误，请稍后重试")

    def _injected_rejection(self, injected: InjectedError) -> _Rejected:
        default_sub_code, default_sub_msg = DEFAULT_SUB_CODES.get(injected.code, (None, None))
        return _Rejected(injected.code, injected.sub_code or default_sub_code, injected.sub_msg or default_sub_msg, injected.msg, outcome="injected")

    def _error_reply(self, rejection: _Rejected) -> Reply:
        error: dict[str, Any] = {"code": rejection.code, "msg": rejection.msg}
        if rejection.sub_code:
            error["sub_code"] = rejection.sub_code
        if rejection.sub_msg:
            error["sub_msg"] = rejection.sub_msg
        error["request_id"] = self._request_id()
        return _json_reply({"error_response": error})

    def _request_id(self) -> str:
        return f"fake{next(self._request_ids):010x}"

    def _success(self, method: str, body: dict[str, Any]) -> tuple[Reply, str]:
        self._hold_response(method)
        late_error = self._take_after_accept_error(method) if method in self.write_methods else None
        if late_error is not None:
            return self._error_reply(self._injected_rejection(late_error)), "injected"
        if method in self.write_methods and self._take_drop(method):
            return Reply(0, reset=True), "dropped"
        wrapper = method.removeprefix("taobao.").replace(".", "_") + "_response"
        return _json_reply({wrapper: {**body, "request_id": self._request_id()}}), "ok"

    def _business(self, method: str, params: dict[str, str], files: dict[str, bytes]) -> tuple[Reply, str]:
        if method == "taobao.item.add":
            return self._success(method, self._add_item(params, files))
        if method == "taobao.item.update":
            return self._success(method, self._update_item(params, files))
        if method == "taobao.items.custom.get":
            return self._success(method, self._items_by_outer_ids(params))
        return self._success(method, self._upload_picture(params, files))

    # -- items

    def _add_item(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
        fields = _business_fields(params)
        for name in REQUIRED_ADD_FIELDS:
            if not fields.get(name):
                raise _missing(name)
        self._check_item(fields, files.get("image"))

        now = self._now_text()
        with self._state_lock:
            item = TaobaoItem(next(self._num_iids), fields["outer_id"], fields.get("approve_status", "onsale"), fields, now, now, files.get("image"))
            self._items.append(item)
        self._count_write("taobao.item.add")
        return {"item": {"num_iid": item.num_iid, "created": item.created}}

    def _update_item(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
        fields = _business_fields(params)
        if not fields.get("num_iid"):
            raise _missing("num_iid")
        if not _INTEGER.fullmatch(fields["num_iid"]):
            raise _bad_format("num_iid", f"num_iid must be a number, got {fields['num_iid']!r}")
        num_iid = int(fields.pop("num_iid"))

        with self._state_lock:
            item = self._live_item(num_iid)
            merged = {**item.fields, **fields}
        self._check_item(merged, files.get("image"))

        with self._state_lock:
            item.fields = merged
            item.outer_id = merged["outer_id"]
            item.approve_status = merged.get("approve_status", item.approve_status)
            item.modified = self._now_text()
            if "image" in files:
                item.image = files["image"]
        self._count_write("taobao.item.update")
        return {"item": {"num_iid": item.num_iid, "modified": item.modified}}

    def _live_item(self, num_iid: int) -> TaobaoItem:
        for item in self._items:
            if item.num_iid == num_iid and not item.deleted:
                return item
        # NOTE: the real sub_code for an unknown num_iid is not in our sources.
        raise _Rejected(15, "isv.item-not-exist", f"商品不存在：{num_iid}")

    def _items_by_outer_ids(self, params: dict[str, str]) -> dict[str, Any]:
        outer_ids_text = params.get("outer_id")
        if not outer_ids_text:
            raise _missing("outer_id")
        fields_text = params.get("fields")
        if not fields_text:
            raise _missing("fields")
        if params.get("simplify") == "true":
            raise _Rejected(41, "fake.simplify-unsupported", "the fake returns the non-simplified shape only", "Invalid arguments:simplify")

        outer_ids = [outer_id for outer_id in outer_ids_text.split(",") if outer_id]
        if len(outer_ids) > CUSTOM_GET_MAX_IDS:
            raise _bad_format("outer_id", f"outer_id takes at most {CUSTOM_GET_MAX_IDS} ids, got {len(outer_ids)}")
        requested_fields = [name for name in fields_text.split(",") if name in ITEM_FIELDS]

        with self._state_lock:
            found = [item for item in self._items if item.outer_id in outer_ids and not item.deleted]
            listed = [self._item_fields(item, requested_fields) for item in found]
        # No match is a success without "items".
        return {"items": {"item": listed}} if listed else {}

    def _item_fields(self, item: TaobaoItem, requested_fields: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "num_iid": item.num_iid,
            "outer_id": item.outer_id,
            "approve_status": item.approve_status,
            "created": item.created,
            "modified": item.modified,
            "num": int(item.fields["num"]),
            "cid": int(item.fields["cid"]),
            "pic_url": item.fields.get("pic_path", ""),
        }
        for name in ("title", "price", "desc", "type", "stuff_status"):
            values[name] = item.fields[name]
        return {name: values[name] for name in requested_fields}

    def _check_item(self, fields: dict[str, str], image: bytes | None) -> None:
        """Check a full item field set against the documented limits, raising _Rejected."""
        _check_formats(fields)
        _check_title(fields["title"])
        _check_desc_length(fields["desc"])
        if len(fields["outer_id"].encode("utf-8")) > OUTER_ID_MAX_BYTES:
            raise _over_limit("outer_id", f"outer_id 最多 {OUTER_ID_MAX_BYTES} 字节")
        _check_skus(fields)
        self._check_item_images(fields, image)

    def _check_item_images(self, fields: dict[str, str], image: bytes | None) -> None:
        if "pic_path" in fields and not self._is_picture_url(fields["pic_path"]):
            raise _over_limit("pic_path", f"pic_path 必须是图片空间的图片（先调用 taobao.picture.upload）：{fields['pic_path']}")
        for url in _image_urls(fields["desc"]):
            if not self._is_picture_url(url):
                raise _over_limit("desc", f"desc 中的图片必须来自图片空间（先调用 taobao.picture.upload）：{url}")

        if image is not None:
            if image_format(image) not in ITEM_IMAGE_FORMATS:
                raise _over_limit("image", "image 只支持 JPG 和 GIF")
            if len(image) > ITEM_IMAGE_MAX_BYTES:
                raise _over_limit("image", f"image 最大 {ITEM_IMAGE_MAX_BYTES} 字节，收到 {len(image)} 字节")

    def _is_picture_url(self, url: str) -> bool:
        with self._state_lock:
            return any(picture.picture_path == url for picture in self._pictures.values())

    # -- picture space

    def _upload_picture(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
        category_text = params.get("picture_category_id")
        if not category_text:
            raise _missing("picture_category_id")
        if not _INTEGER.fullmatch(category_text):
            raise _bad_format("picture_category_id", f"picture_category_id must be a number, got {category_text!r}")
        if "img" not in files:
            raise _missing("img")
        title = params.get("image_input_title")
        if not title:
            raise _missing("image_input_title")

        body = files["img"]
        if len(body) > PICTURE_MAX_BYTES:
            raise _over_limit("img", f"图片最大 3M（{PICTURE_MAX_BYTES} 字节），收到 {len(body)} 字节")
        kind = image_format(body)
        if kind not in PICTURE_FORMATS:
            raise _over_limit("img", "img 不是 JPG、PNG 或 GIF 图片")

        picture = self._store_picture(body, kind, int(category_text), params.get("title") or title)
        self._count_write("taobao.picture.upload")
        return {"picture": _picture_fields(picture)}

    def _store_picture(self, body: bytes, kind: str, category_id: int, title: str) -> TaobaoPicture:
        with self._state_lock:
            picture_id = next(self._picture_ids)
            extension = {"jpeg": "jpg", "png": "png", "gif": "gif"}[kind]
            name = f"{picture_id}.{extension}"
            picture = TaobaoPicture(picture_id, category_id, self.image_prefix + name, title, body, kind, self._now_text())
            self._pictures[name] = picture
            return picture

    def _serve_picture(self, incoming: Incoming) -> Reply:
        if incoming.method not in ("GET", "HEAD"):
            return Reply(405, b"Method Not Allowed", TEXT_TYPE, {"Allow": "GET, HEAD"})
        with self._state_lock:
            picture = self._pictures.get(incoming.path[len(PICTURE_PATH):])
        if picture is None:
            return Reply(404, b"Not Found", TEXT_TYPE)
        return Reply(200, picture.body, IMAGE_TYPES[picture.image_format])

    def _now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), BEIJING_TIME).strftime(TIMESTAMP_FORMAT)


# -- parsing and checks (pure functions)


def _json_reply(document: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(document, ensure_ascii=False).encode("utf-8"))


def _request_parameters(incoming: Incoming) -> tuple[dict[str, str], dict[str, bytes]]:
    """Merge query and body parameters. Multipart parts with a file name are files. A later repeat wins."""
    try:
        params = dict(parse_qsl(incoming.query, keep_blank_values=True, encoding="utf-8", errors="strict"))
    except UnicodeDecodeError:
        raise _Rejected(41, "fake.bad-request", "the query string is not valid UTF-8") from None
    files: dict[str, bytes] = {}
    if not incoming.body:
        return params, files

    content_type = incoming.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        if media_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(incoming.body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"))
        elif media_type == "multipart/form-data":
            fields, files = _parse_multipart(content_type, incoming.body)
            params.update(fields)
        else:
            raise _Rejected(41, "fake.bad-request", f"the body must be a form or multipart, got {content_type or 'no Content-Type'}")
    except UnicodeDecodeError:
        raise _Rejected(41, "fake.bad-request", "a form value is not valid UTF-8") from None
    return params, files


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _Rejected(41, "fake.bad-request", "the multipart body has no parts: check the boundary")

    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = payload
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def _loggable(params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
    logged: dict[str, Any] = {key: value for key, value in params.items() if key not in ("sign", "session")}
    for name, body in files.items():
        logged[name] = f"<file, {len(body)} bytes>"
    return logged


def _business_fields(params: dict[str, str]) -> dict[str, str]:
    system = ("method", "app_key", "session", "timestamp", "format", "v", "sign_method", "sign", "partner_id", "target_app_key", "simplify")
    return {key: value for key, value in params.items() if key not in system}


def _check_version(version: str | None) -> None:
    if not version:
        raise _Rejected(32)
    if not re.fullmatch(r"[0-9]+\.[0-9]+", version):
        raise _Rejected(33)
    if version != "2.0":
        raise _Rejected(34, sub_msg=f"the fake serves v=2.0, got {version}")


def _check_formats(fields: dict[str, str]) -> None:
    for name in INTEGER_FIELDS:
        if name in fields and not _INTEGER.fullmatch(fields[name]):
            raise _bad_format(name, f"{name} 必须是整数：{fields[name]!r}")
    for name, allowed in ENUM_FIELDS.items():
        if name in fields and fields[name] not in allowed:
            raise _bad_format(name, f"{name} 只能是 {'、'.join(allowed)}：{fields[name]!r}")
    if not _PRICE.fullmatch(fields["price"]):
        raise _bad_format("price", f"price 以元为单位，最多两位小数：{fields['price']!r}")

    num = int(fields["num"])
    if not 0 <= num <= NUM_MAX:
        raise _over_limit("num", f"num 必须在 0 到 {NUM_MAX} 之间：{num}")
    price = Decimal(fields["price"])
    if not Decimal(0) < price <= PRICE_MAX:
        raise _over_limit("price", f"price 必须大于 0 且不超过 {PRICE_MAX}：{fields['price']}")


def _display_width(text: str) -> int:
    """Measure ``text`` in display columns: East Asian Wide and Fullwidth count 2, combining marks and format characters 0."""
    width = 0
    for character in text:
        if unicodedata.combining(character) or unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


def _check_title(title: str) -> None:
    width = _display_width(title)
    if width > TITLE_MAX_WIDTH:
        raise _over_limit("title", f"title 过长：宽度 {width}，最多 {TITLE_MAX_WIDTH}（汉字计 2）：{title}")


def _check_desc_length(desc: str) -> None:
    if not DESC_MIN_EXCLUSIVE < len(desc) < DESC_MAX_EXCLUSIVE:
        raise _over_limit("desc", f"desc 长度必须大于 {DESC_MIN_EXCLUSIVE} 且小于 {DESC_MAX_EXCLUSIVE} 个字符，收到 {len(desc)} 个")


def _check_skus(fields: dict[str, str]) -> None:
    """Check the sku_* lists are aligned, num is their quantity sum and price lies in their price range."""
    present = [name for name in ("sku_properties", "sku_prices", "sku_quantities") if fields.get(name)]
    if not present:
        return
    for name in ("sku_properties", "sku_prices", "sku_quantities"):
        if name not in present:
            raise _over_limit(name, f"{name} 不能为空，因为 {present[0]} 已给出")

    properties = fields["sku_properties"].split(",")
    prices = fields["sku_prices"].split(",")
    quantities = fields["sku_quantities"].split(",")
    outer_ids = fields["sku_outer_ids"].split(",") if "sku_outer_ids" in fields else None
    counts = {"sku_properties": len(properties), "sku_prices": len(prices), "sku_quantities": len(quantities)}
    if outer_ids is not None:
        counts["sku_outer_ids"] = len(outer_ids)
    if len(set(counts.values())) != 1:
        described = "，".join(f"{name} {count} 项" for name, count in counts.items())
        raise _over_limit("sku_properties", f"SKU 列表长度不一致：{described}")

    _check_sku_properties(fields["sku_properties"], properties)
    sku_prices = _sku_prices(prices)
    sku_quantities = _sku_quantities(quantities)

    total = sum(sku_quantities)
    if int(fields["num"]) != total:
        raise _over_limit("num", f"num={fields['num']} 必须等于 sku_quantities 之和 {total}")
    price = Decimal(fields["price"])
    if not min(sku_prices) <= price <= max(sku_prices):
        raise _over_limit("price", f"price={fields['price']} 必须在 SKU 价格范围 {min(sku_prices)}–{max(sku_prices)} 之内")


def _check_sku_properties(text: str, properties: list[str]) -> None:
    if len(text.encode("utf-8")) > SKU_PROPERTIES_MAX_BYTES:
        raise _over_limit("sku_properties", f"sku_properties 最多 {SKU_PROPERTIES_MAX_BYTES} 字节")
    for index, entry in enumerate(properties, start=1):
        pairs = entry.split(";")
        if not all(_SKU_PROPERTY.fullmatch(pair) for pair in pairs):
            raise _over_limit("sku_properties", f"sku_properties 第 {index} 项应为 pid:vid;pid:vid：{entry!r}")
    if len(set(properties)) != len(properties):
        raise _over_limit("sku_properties", "sku_properties 有重复的 SKU")


def _sku_prices(prices: list[str]) -> list[Decimal]:
    for index, text in enumerate(prices, start=1):
        if not _PRICE.fullmatch(text) or Decimal(text) <= 0:
            raise _over_limit("sku_prices", f"sku_prices 第 {index} 项应为以元为单位、最多两位小数的正数：{text!r}")
    return [Decimal(text) for text in prices]


def _sku_quantities(quantities: list[str]) -> list[int]:
    for index, text in enumerate(quantities, start=1):
        if not text.isascii() or not text.isdigit():
            raise _over_limit("sku_quantities", f"sku_quantities 第 {index} 项应为非负整数：{text!r}")
    return [int(text) for text in quantities]


class _ImageReferences(HTMLParser):
    """Collect every image URL an HTML fragment loads: img sources, lazy-load attributes, backgrounds and CSS url()."""

    SOURCE_ATTRIBUTES = ("src", "data-src", "data-lazyload-src", "data-ks-lazyload", "background")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if name in self.SOURCE_ATTRIBUTES and (tag == "img" or name == "background"):
                self.urls.append(value.strip())
            elif name == "style":
                self.urls.extend(match.strip() for match in _CSS_URL.findall(value))

    handle_startendtag = handle_starttag


def _image_urls(html: str) -> list[str]:
    parser = _ImageReferences()
    parser.feed(html)
    parser.close()
    return parser.urls


def _picture_fields(picture: TaobaoPicture) -> dict[str, Any]:
    width, height = image_dimensions(picture.body) or (0, 0)
    return {
        "picture_id": picture.picture_id,
        "picture_category_id": picture.picture_category_id,
        "picture_path": picture.picture_path,
        "title": picture.title,
        "sizes": len(picture.body),
        "pixel": f"{width}x{height}",
        "status": "unfroze",
        "deleted": "unDeleted",
        "created": picture.created,
        "modified": picture.created,
    }
