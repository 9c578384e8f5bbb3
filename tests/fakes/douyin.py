"""A fake of the Douyin Shop (doudian) open API on 127.0.0.1, for tests of the publishing client.

It responds like the real gateway as the official Go SDK (zsmhub/doudian-sdk copy, 2023)
describes it: ``POST /product/addV2?app_key=&method=product.addV2&timestamp=
&v=2&sign=&sign_method=hmac-sha256&access_token=`` with the ``param_json`` text as the JSON body,
and every response in the envelope ``{code, msg, sub_code, sub_msg, log_id, data}`` with HTTP 200.
It checks signatures with its own code, not with ``etl.signing``, so the client is tested against
an implementation it does not share.

Served paths: ``/product/addV2``, ``/product/editV2``, ``/product/detail``,
``/material/uploadImageSync``, ``/material/queryMaterialDetail``, and ``GET /img/<file>`` for
the images the material center stores (``image_prefix``).

Checks run in this order: route, HTTP method, header ``x-open-no-old-err-code: 1``, JSON
content type, the system parameters being present, ``method`` matching the path, app key, ``v=2``
and the timestamp, which must be within ``max_clock_skew`` seconds of ``clock()``. Then come the
signature over the body text (``hmac-sha256``, or ``md5`` of the same pattern), the body being
valid JSON and canonical (keys sorted at every depth, no whitespace between tokens), the access
token, the rate limit, injected errors and the method's own checks.

Error responses (``code``, ``sub_code``):

    40001 fake.missing-parameter:<name>   a system parameter or the header is missing
    40003 isv.signature-invalid           wrong sign, unknown sign_method, or a body that is not
                                          the canonical text the platform signs
    40003 isv.access-token-expired        a token made stale with ``expire_access_token()``
    40003 isv.access-token-no-existed     an unknown token
    40003 fake.app-key-invalid, fake.timestamp-invalid, fake.method-mismatch, fake.version-invalid
    40004 isv.parameter-invalid:<field>   a business parameter breaks a documented rule; sub_msg
                                          names the field and the value
    40004 isv.parameter-invalid:99        an image URL that is not a material-center image
    40004 fake.url-not-local              uploadImageSync got a URL off 127.0.0.1, which the fake
                                          never fetches
    40004 isv.parameter-invalid:4         product.detail: no product with that out_product_id
    40004 isv.parameter-invalid:2010058   product.detail / editV2: no product with that product_id
    50002 isv.business-failed:2010063     the shop's product limit (``product_limit``) is reached
    50002 isv.business-failed:download-failed   uploadImageSync could not fetch the URL
    60000 isp.traffic-limited             the rate limit is exceeded
    20000 isp.service-error               a random fault (``set_fault_rate``)

Codes and sub-codes follow the doudian error-code table, except those starting with ``fake.``
and the suffixes ``<field>`` and ``download-failed``. Those are the fake's own because no source
gives the real ones. A client should branch on ``code`` and the sub-code prefix.

Product model (``DouyinProduct``): addV2 creates a product with ``check_status`` 1 (not
submitted) when ``commit`` is false, or 2 (waiting for audit) when true, and ``status`` 1
(offline). editV2 with ``commit=false`` on a product never submitted updates it in place. On a
submitted product it saves a draft (``draft_status`` 1) that ``product.detail`` returns only with
``show_draft="true"``. editV2 with ``commit=true`` replaces the data and submits it again. The
platform does not deduplicate: a second addV2 with the same ``outer_product_id`` creates a second
product, and ``duplicates()`` reports it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from .image_cdn import HOST, IMAGE_TYPES, TEXT_TYPE, CallRecord, Incoming, InjectedError, PlatformFake, Reply, image_dimensions, image_format

__all__ = ["CallRecord", "DouyinMaterial", "DouyinProduct", "FakeDouyin"]

ROUTES = {
    "/product/addV2": "product.addV2",
    "/product/editV2": "product.editV2",
    "/product/detail": "product.detail",
    "/material/uploadImageSync": "material.uploadImageSync",
    "/material/queryMaterialDetail": "material.queryMaterialDetail",
}

WRITE_METHODS = frozenset({"product.addV2", "product.editV2", "material.uploadImageSync"})

SUCCESS = 10000

# Only "非法的参数" (40004) and "业务处理失败" (50002) are quoted from sources; the others are the fake's wording.
CODE_MESSAGES = {
    10000: "success",
    20000: "服务暂不可用",
    40001: "缺少必选参数",
    40003: "非法的参数",
    40004: "非法的参数",
    50002: "业务处理失败",
    60000: "调用频率超限",
}

# Sub-code and sub_msg that ``fail_next`` fills in when the test gives only the code.
DEFAULT_SUB_CODES = {
    20000: ("isp.service-error", "服务暂不可用，请稍后重试"),
    40003: ("isv.signature-invalid", "签名校验失败"),
    40004: ("isv.parameter-invalid", "参数不合法"),
    50002: ("isv.business-failed", "业务处理失败"),
    60000: ("isp.traffic-limited", "调用频率超限，请稍后重试"),
}

CHINA_TIME = timezone(timedelta(hours=8))

# Limits of product.addV2 / editV2 from the SDK's field comments.
NAME_MAX_WIDTH = 60
MAIN_IMAGES_MAX = 5
IMAGES_TOTAL_MAX = 50
SPEC_DIMENSIONS_MAX = 3
OUTER_PRODUCT_ID_MAX = 255
MATERIAL_NAME_MAX = 50

# NOTE: the SDK gives 1 MB for a main image (2023) and a newer document 5 MB. The fake takes the larger.
DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024

# Douyin accepts jpg, jpeg and png for product images.
ACCEPTED_IMAGE_FORMATS = ("jpeg", "png")

REQUIRED_ADD_FIELDS = (
    "outer_product_id", "product_type", "category_leaf_id", "name", "pic", "description",
    "reduce_type", "freight_id", "commit", "specs", "spec_prices",
)
INTEGER_FIELDS = (
    "product_type", "category_leaf_id", "reduce_type", "freight_id", "market_price", "discount_price",
    "weight_unit", "delivery_delay_day", "presell_type", "pay_type", "standard_brand_id", "start_sale_type",
)
TEXT_FIELDS = ("outer_product_id", "name", "pic", "description", "specs", "spec_prices", "spec_pic", "mobile")

# Characters Douyin rejects in a name as emoji: pictographs, dingbats, and the joiners and
# selectors that build emoji sequences. NOTE: the fake's own approximation of "no emoji".
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u200D\uFE0F]")

_DIGITS = re.compile(r"[0-9]+")
_INTEGER_LITERAL = re.compile(r"-?(0|[1-9][0-9]*)")

FIRST_PRODUCT_ID = 3_600_000_000_000_000_001
FIRST_SKU_ID = 1_700_000_000_000_000_001
FIRST_SPEC_DETAIL_ID = 1_800_000_000_000_000_001
FIRST_MATERIAL_ID = 7_000_000_000_000_000_001


class _Rejected(Exception):
    """An error response decided while checking a request. ``outcome`` is what the call log records."""

    def __init__(self, code: int, sub_code: str, sub_msg: str, msg: str | None = None, outcome: str = "error") -> None:
        super().__init__(sub_msg)
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.msg = msg or CODE_MESSAGES.get(code, "error")
        self.outcome = outcome


def _invalid(field_name: str, sub_msg: str) -> _Rejected:
    return _Rejected(40004, f"isv.parameter-invalid:{field_name}", sub_msg)


@dataclass
class DouyinProduct:
    """A product the fake stores. ``data`` is the last committed or never-submitted field set,
    ``draft`` the pending fields saved with ``commit=false`` after submission."""

    product_id: int
    outer_product_id: str
    data: dict[str, Any]
    draft: dict[str, Any] | None
    status: int
    check_status: int
    draft_status: int
    create_time: str
    update_time: str
    skus: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_draft(self) -> bool:
        """True while the product has never been submitted for audit (``check_status`` 1)."""
        return self.check_status == 1


@dataclass
class DouyinMaterial:
    """An image in the fake's material center. ``pending_queries`` counts the detail queries left before the audit passes."""

    material_id: str
    folder_id: str
    origin_url: str
    name: str
    body: bytes
    image_format: str
    digest: str
    byte_url: str
    audit_status: int
    pending_queries: int
    create_time: str


@dataclass(frozen=True)
class _Spec:
    name: str
    values: tuple[str, ...]


class _Number:
    """A JSON number kept as its source text, so re-serialising never changes its digits."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class FakeDouyin(PlatformFake):
    """A fake doudian open API on 127.0.0.1. See the module docstring for routes and responses.

    ``max_clock_skew`` is in seconds. ``audit_pending_queries`` makes each new image wait for
    that many ``queryMaterialDetail`` calls with ``audit_status`` 1 and no ``byte_url`` before it
    passes. With ``upload_returns_byte_url`` false, uploadImageSync never returns ``byte_url``, as
    the newer SDK documents; the client must read it from queryMaterialDetail. ``product_limit``
    is the number of live products the shop may hold. ``require_mobile`` makes ``mobile``
    required, as it is for most shops.

    Test controls: ``fail_next``, ``set_fault_rate``, ``set_rate_limit``, ``latency``,
    ``drop_after_accept``, ``expire_access_token``, ``delete_product``, ``issue_image``; records:
    ``calls``, ``calls_to``, ``write_counts``, ``products``, ``products_by_outer_id``,
    ``duplicates``, ``materials``.
    """

    thread_name = "fake-douyin"
    max_body_bytes = 4 << 20
    api_methods = frozenset(ROUTES.values())
    write_methods = WRITE_METHODS

    def __init__(
        self,
        *,
        app_key: str = "fake-douyin-app-key",
        app_secret: str = "fake-douyin-app-secret",
        access_token: str = "fake-douyin-access-token",
        rate_limit: float | None = None,
        burst: int = 1,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        max_clock_skew: float = 600.0,
        audit_pending_queries: int = 0,
        upload_returns_byte_url: bool = True,
        product_limit: int | None = None,
        require_mobile: bool = False,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        download_timeout: float = 5.0,
    ) -> None:
        super().__init__(rate_limit=rate_limit, burst=burst, latency=latency, fault_rate=fault_rate, seed=seed, clock=clock)
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        # NOTE: the real timestamp window is undocumented; 600 s mirrors TOP's ±10 minutes.
        self.max_clock_skew = max_clock_skew
        self.audit_pending_queries = audit_pending_queries
        self.upload_returns_byte_url = upload_returns_byte_url
        self.product_limit = product_limit
        self.require_mobile = require_mobile
        self.max_image_bytes = max_image_bytes
        self.download_timeout = download_timeout

        self._state_lock = threading.RLock()
        self._expired_tokens: set[str] = set()
        self._products: list[DouyinProduct] = []
        self._materials: dict[str, DouyinMaterial] = {}
        self._product_ids = itertools.count(FIRST_PRODUCT_ID)
        self._sku_ids = itertools.count(FIRST_SKU_ID)
        self._spec_detail_ids = itertools.count(FIRST_SPEC_DETAIL_ID)
        self._material_ids = itertools.count(FIRST_MATERIAL_ID)
        self._log_ids = itertools.count(1)

    # -- controls and records

    @property
    def image_prefix(self) -> str:
        """The URL prefix of material-center images, "http://127.0.0.1:<port>/img/"."""
        return self.url + "/img/"

    def expire_access_token(self) -> None:
        """Make the current access token get isv.access-token-expired. Set ``access_token`` to issue a new one."""
        with self._state_lock:
            self._expired_tokens.add(self.access_token)

    def delete_product(self, product_id: int | str) -> None:
        """Delete a product as the shop owner would. product.detail then responds as for a product never created."""
        with self._state_lock:
            self._find_product(int(product_id)).deleted = True

    def issue_image(self, body: bytes, name: str = "image.jpg") -> str:
        """Store an image in the material center without an API call, audit passed, and return its ``byte_url``."""
        kind = image_format(body)
        if kind not in ACCEPTED_IMAGE_FORMATS:
            raise ValueError(f"issue_image takes JPEG or PNG bytes, got {kind or 'unknown bytes'}")
        return self._store_material(body, kind, name, "0", origin_url="", pending=0).byte_url

    @property
    def products(self) -> list[DouyinProduct]:
        """A copy of the list of products, deleted ones included, in creation order."""
        with self._state_lock:
            return list(self._products)

    def products_by_outer_id(self, outer_product_id: str) -> list[DouyinProduct]:
        """Return the live products created with ``outer_product_id``, oldest first."""
        return [product for product in self.products if product.outer_product_id == outer_product_id and not product.deleted]

    def duplicates(self) -> dict[str, int]:
        """Return the outer ids that more than one live product carries, with their product counts."""
        counts: dict[str, int] = {}
        for product in self.products:
            if not product.deleted:
                counts[product.outer_product_id] = counts.get(product.outer_product_id, 0) + 1
        return {outer_id: count for outer_id, count in counts.items() if count > 1}

    @property
    def materials(self) -> list[DouyinMaterial]:
        """A copy of the list of stored images, in upload order."""
        with self._state_lock:
            return list(self._materials.values())

    # -- request handling (server threads)

    def _handle(self, incoming: Incoming) -> Reply:
        if incoming.path.startswith("/img/"):
            return self._serve_image(incoming)

        method = ROUTES.get(incoming.path)
        if method is None:
            return Reply(404, b"Not Found", TEXT_TYPE)
        if incoming.method != "POST":
            return Reply(405, f"{incoming.path} accepts POST only".encode(), TEXT_TYPE, {"Allow": "POST"})

        params: dict[str, Any] = {}
        try:
            params = self._checked_request(incoming, method)
            reply, outcome = self._business(method, params)
        except _Rejected as rejection:
            self._record(incoming.arrival, method, params, rejection.code, rejection.sub_code, rejection.outcome)
            return self._error_reply(rejection)

        self._record(incoming.arrival, method, params, None if outcome == "dropped" else SUCCESS, None, outcome)
        return reply

    def _checked_request(self, incoming: Incoming, method: str) -> dict[str, Any]:
        """Run the gateway checks and return the business parameters, or raise _Rejected."""
        query = dict(parse_qsl(incoming.query, keep_blank_values=True))
        self._check_headers(incoming.headers)
        for name in ("method", "app_key", "v", "timestamp", "sign", "access_token"):
            if not query.get(name):
                raise _Rejected(40001, f"fake.missing-parameter:{name}", f"缺少参数 {name}")

        if query["method"] != method:
            raise _Rejected(40003, "fake.method-mismatch", f"method {query['method']} 与路径 {incoming.path} 不一致")
        if not hmac.compare_digest(query["app_key"].encode(), self.app_key.encode()):
            raise _Rejected(40003, "fake.app-key-invalid", f"app_key 无效：{query['app_key']}")
        if query["v"] != "2":
            raise _Rejected(40003, "fake.version-invalid", f"v 必须为 2，收到 {query['v']}")
        self._check_timestamp(query["timestamp"])

        body_text = self._body_text(incoming.body)
        self._check_signature(query, body_text)
        params = _parse_param_json(body_text)
        self._check_token(query["access_token"])

        if self._rate_limited(incoming.arrival):
            raise _Rejected(60000, "isp.traffic-limited", "调用频率超限，请稍后重试", outcome="rate_limited")
        injected = self._take_injected(method)
        if injected is not None:
            raise self._injected_rejection(injected)
        return params

    @staticmethod
    def _check_headers(headers: dict[str, str]) -> None:
        if headers.get("x-open-no-old-err-code") != "1":
            # Without this header the real gateway responds in its older error-code scheme, which the fake does not emulate.
            raise _Rejected(40001, "fake.missing-parameter:x-open-no-old-err-code", "缺少请求头 x-open-no-old-err-code: 1")
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise _Rejected(40001, "fake.missing-parameter:content-type", f"请求体必须是 application/json，收到 {media_type or '无 Content-Type'}")

    def _check_timestamp(self, text: str) -> None:
        if not _DIGITS.fullmatch(text):
            raise _Rejected(40003, "fake.timestamp-invalid", f"timestamp 必须是 Unix 秒数：{text}")
        skew = abs(self.clock() - int(text))
        if skew > self.max_clock_skew:
            raise _Rejected(40003, "fake.timestamp-invalid", f"timestamp 与服务器时间相差 {skew:.0f} 秒，超过 {self.max_clock_skew:.0f} 秒")

    @staticmethod
    def _body_text(body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("param_json", "请求体不是有效的 UTF-8") from None

    def _check_signature(self, query: dict[str, str], body_text: str) -> None:
        sign_method = query.get("sign_method") or "md5"
        pattern = f"{self.app_secret}app_key{query['app_key']}method{query['method']}param_json{body_text}timestamp{query['timestamp']}v2{self.app_secret}"
        if sign_method == "hmac-sha256":
            expected = hmac.new(self.app_secret.encode("utf-8"), pattern.encode("utf-8"), hashlib.sha256).hexdigest()
        elif sign_method == "md5":
            expected = hashlib.md5(pattern.encode("utf-8")).hexdigest()
        else:
            raise _Rejected(40003, "isv.signature-invalid", f"不支持的 sign_method：{sign_method}")

        if not hmac.compare_digest(query["sign"].encode("utf-8"), expected.encode("utf-8")):
            raise _Rejected(40003, "isv.signature-invalid", "签名校验失败")

    def _check_token(self, token: str) -> None:
        with self._state_lock:
            expired = token in self._expired_tokens
        if expired:
            raise _Rejected(40003, "isv.access-token-expired", "access_token 已过期，请刷新")
        if not hmac.compare_digest(token.encode("utf-8"), self.access_token.encode("utf-8")):
            raise _Rejected(40003, "isv.access-token-no-existed", "access_token 不存在")

    def _injected_rejection(self, injected: InjectedError) -> _Rejected:
        default_sub_code, default_sub_msg = DEFAULT_SUB_CODES.get(injected.code, ("", ""))
        return _Rejected(injected.code, injected.sub_code or default_sub_code, injected.sub_msg or default_sub_msg, injected.msg, outcome="injected")

    def _random_fault(self) -> InjectedError:
        return InjectedError(20000, "isp.service-error", None, "服务暂不可用，请稍后重试")

    def _error_reply(self, rejection: _Rejected) -> Reply:
        return self._envelope(rejection.code, rejection.msg, rejection.sub_code, rejection.sub_msg, {})

    def _envelope(self, code: int, msg: str, sub_code: str, sub_msg: str, data: Any) -> Reply:
        log_id = f"{datetime.now(CHINA_TIME):%Y%m%d%H%M%S}{next(self._log_ids):018X}"
        document = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg, "log_id": log_id, "data": data}
        return Reply(200, json.dumps(document, ensure_ascii=False).encode("utf-8"))

    def _success(self, method: str, data: Any) -> tuple[Reply, str]:
        self._hold_response(method)
        late_error = self._take_after_accept_error(method) if method in self.write_methods else None
        if late_error is not None:
            return self._error_reply(self._injected_rejection(late_error)), "injected"
        if method in self.write_methods and self._take_drop(method):
            return Reply(0, reset=True), "dropped"
        return self._envelope(SUCCESS, CODE_MESSAGES[SUCCESS], "", "", data), "ok"

    def _business(self, method: str, params: dict[str, Any]) -> tuple[Reply, str]:
        if method == "product.addV2":
            return self._success(method, self._add_product(params))
        if method == "product.editV2":
            return self._success(method, self._edit_product(params))
        if method == "product.detail":
            return self._success(method, self._product_detail(params))
        if method == "material.uploadImageSync":
            return self._success(method, self._upload_image(params))
        return self._success(method, self._material_detail(params))

    # -- products

    def _add_product(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = self._checked_product(params)
        now = self._now_text()

        with self._state_lock:
            live = sum(1 for product in self._products if not product.deleted)
            if self.product_limit is not None and live >= self.product_limit:
                raise _Rejected(50002, "isv.business-failed:2010063", f"店铺商品数量已达上限 {self.product_limit}")

            commit = params["commit"]
            product = DouyinProduct(
                product_id=next(self._product_ids),
                outer_product_id=params["outer_product_id"],
                data=dict(params),
                draft=None,
                status=1,
                check_status=2 if commit else 1,
                draft_status=0,
                create_time=now,
                update_time=now,
                skus=self._build_skus(checked),
            )
            self._products.append(product)
        self._count_write("product.addV2")

        return {
            "product_id": product.product_id,
            "out_product_id": 0,
            "outer_product_id": product.outer_product_id,
            "create_time": product.create_time,
            "sku": [dict(sku) for sku in product.skus],
        }

    def _edit_product(self, params: dict[str, Any]) -> dict[str, Any]:
        if "product_id" not in params:
            raise _invalid("product_id", "product_id 不能为空")
        if not isinstance(params.get("commit"), bool):
            raise _invalid("commit", f"commit 必须是布尔值：{params.get('commit')!r}")
        product_id = _product_id(params["product_id"], "product_id")

        with self._state_lock:
            product = self._live_product(product_id)
            base = product.draft if product.draft is not None else product.data
            merged = {**base, **{key: value for key, value in params.items() if key != "product_id"}}
        checked = self._checked_product(merged)

        with self._state_lock:
            self._apply_edit(product, merged, checked)
        self._count_write("product.editV2")
        return {}

    def _apply_edit(self, product: DouyinProduct, merged: dict[str, Any], checked: tuple[list[_Spec], list[dict[str, Any]]]) -> None:
        product.update_time = self._now_text()
        product.outer_product_id = merged["outer_product_id"]

        if merged["commit"]:
            product.data = merged
            product.draft = None
            product.draft_status = 0
            product.check_status = 2
        elif product.is_draft:
            product.data = merged
        else:
            product.draft = merged
            product.draft_status = 1
            return
        product.skus = self._build_skus(checked)

    def _product_detail(self, params: dict[str, Any]) -> dict[str, Any]:
        show_draft = params.get("show_draft", "false")
        if show_draft not in ("true", "false", True, False):
            raise _invalid("show_draft", f"show_draft 必须是 \"true\" 或 \"false\"：{show_draft!r}")
        show_draft = show_draft in ("true", True)

        with self._state_lock:
            if params.get("product_id") not in (None, ""):
                product = self._live_product(_product_id(params["product_id"], "product_id"))
            elif params.get("out_product_id") not in (None, ""):
                product = self._product_by_out_id(str(params["out_product_id"]))
            else:
                raise _invalid("product_id", "product_id 和 out_product_id 不能同时为空")
            return self._detail_data(product, show_draft)

    def _live_product(self, product_id: int) -> DouyinProduct:
        try:
            product = self._find_product(product_id)
        except KeyError:
            product = None
        if product is None or product.deleted:
            raise _Rejected(40004, "isv.parameter-invalid:2010058", "商品不存在或已彻底删除")
        return product

    def _find_product(self, product_id: int) -> DouyinProduct:
        for product in self._products:
            if product.product_id == product_id:
                return product
        raise KeyError(f"no product with id {product_id}")

    def _product_by_out_id(self, out_product_id: str) -> DouyinProduct:
        # NOTE: the sources leave open whether out_product_id finds products created with
        # outer_product_id. The fake matches it and returns the newest of duplicates.
        matches = [product for product in self._products if product.outer_product_id == out_product_id and not product.deleted]
        if not matches:
            raise _Rejected(40004, "isv.parameter-invalid:4", "out_product_id未找到或商品已删除")
        return matches[-1]

    def _detail_data(self, product: DouyinProduct, show_draft: bool) -> dict[str, Any]:
        draft = show_draft and product.draft is not None
        fields = product.draft if draft else product.data
        specs = _parse_specs(fields["specs"])
        # A draft has no SKUs of its own yet, so its rows are shown as sent, with sku_id 0.
        sku_rows = [{**row, "sku_id": 0} for row in json.loads(fields["spec_prices"])] if draft else [_detail_sku(sku) for sku in product.skus]
        return {
            "product_id": product.product_id,
            "product_id_str": str(product.product_id),
            "out_product_id": 0,
            "outer_product_id": fields["outer_product_id"],
            "name": fields["name"],
            "description": "".join(f'<p><img src="{url}" style="max-width:100%;"/></p>' for url in _split(fields["description"], "|")),
            "pic": _split(fields["pic"], "|"),
            "img": _split(fields["pic"], "|")[0],
            "status": product.status,
            "check_status": product.check_status,
            "draft_status": product.draft_status,
            "product_type": fields["product_type"],
            "reduce_type": fields["reduce_type"],
            "freight_id": fields["freight_id"],
            "mobile": fields.get("mobile", ""),
            "market_price": fields.get("market_price", 0),
            "specs": [{"name": spec.name, "values": [{"name": value} for value in spec.values]} for spec in specs],
            "spec_prices": sku_rows,
            "create_time": product.create_time,
            "update_time": product.update_time,
        }

    def _build_skus(self, checked: tuple[list[_Spec], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        specs, rows = checked
        detail_ids = {(index, value): next(self._spec_detail_ids) for index, spec in enumerate(specs) for value in spec.values}

        skus = []
        for row in rows:
            ids = [detail_ids[(index, row[f"spec_detail_name{index + 1}"])] for index in range(len(specs))]
            padded = ids + [0] * (SPEC_DIMENSIONS_MAX - len(ids))
            skus.append({
                "sku_id": next(self._sku_ids),
                "out_sku_id": 0,
                "outer_sku_id": row.get("outer_sku_id", ""),
                "code": row.get("code", ""),
                "spec_detail_id1": padded[0],
                "spec_detail_id2": padded[1],
                "spec_detail_id3": padded[2],
                "spec_detail_ids": ids,
                "price": row["price"],
                "stock_num": row["stock_num"],
            })
        return skus

    # -- product field checks

    def _checked_product(self, params: dict[str, Any]) -> tuple[list[_Spec], list[dict[str, Any]]]:
        """Check a full addV2/editV2 field set and return its specs and spec_prices rows."""
        required = REQUIRED_ADD_FIELDS + (("mobile",) if self.require_mobile else ())
        for name in required:
            # An empty description is allowed: an offer may have no detail images.
            empty = params.get(name) is None or (params.get(name) == "" and name != "description")
            if empty:
                raise _invalid(name, f"{name} 不能为空")
        _check_types(params)

        if len(params["outer_product_id"]) > OUTER_PRODUCT_ID_MAX:
            raise _invalid("outer_product_id", f"outer_product_id 最多 {OUTER_PRODUCT_ID_MAX} 个字符，收到 {len(params['outer_product_id'])} 个")
        _check_name(params["name"])
        for name in ("market_price", "discount_price"):
            if name in params and params[name] < 0:
                raise _invalid(name, f"{name} 以分为单位，不能为负数：{params[name]}")

        specs = _parse_specs(params["specs"])
        rows = _parse_spec_prices(params["spec_prices"], specs)
        self._check_images(params, specs)
        return specs, rows

    def _check_images(self, params: dict[str, Any], specs: list[_Spec]) -> None:
        main_images = _split(params["pic"], "|")
        if not 1 <= len(main_images) <= MAIN_IMAGES_MAX:
            raise _invalid("pic", f"pic 需要 1 到 {MAIN_IMAGES_MAX} 张图片，收到 {len(main_images)} 张")
        detail_images = _split(params["description"], "|")
        spec_images = _split(params.get("spec_pic") or "", ",")
        if len(spec_images) > len(specs[0].values):
            raise _invalid("spec_pic", f"spec_pic 有 {len(spec_images)} 张图片，多于主规格 {specs[0].name} 的 {len(specs[0].values)} 个值")

        total = len(main_images) + len(detail_images) + len(spec_images)
        if total > IMAGES_TOTAL_MAX:
            raise _invalid("pic", f"pic、description 和 spec_pic 共 {total} 张图片，最多 {IMAGES_TOTAL_MAX} 张")

        for field_name, urls in (("pic", main_images), ("description", detail_images), ("spec_pic", spec_images)):
            for url in urls:
                if not self._is_material_url(url):
                    raise _Rejected(40004, "isv.parameter-invalid:99", f"{field_name} 中的图片不是素材中心图片：{url}，请先用 /material/uploadImageSync 上传")

    def _is_material_url(self, url: str) -> bool:
        with self._state_lock:
            return any(material.byte_url == url and material.audit_status == 3 for material in self._materials.values())

    # -- material center

    def _upload_image(self, params: dict[str, Any]) -> dict[str, Any]:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            raise _invalid("url", "url 不能为空（fake 不支持 file_uri）")
        name = params.get("material_name")
        if not isinstance(name, str) or not name:
            raise _invalid("material_name", "material_name 不能为空")
        if len(name) > MATERIAL_NAME_MAX:
            raise _invalid("material_name", f"material_name 最多 {MATERIAL_NAME_MAX} 个字符，收到 {len(name)} 个")
        folder_id = params.get("folder_id", "0")
        if not isinstance(folder_id, str) or not _DIGITS.fullmatch(folder_id):
            raise _invalid("folder_id", f"folder_id 必须是数字字符串：{folder_id!r}")
        need_distinct = params.get("need_distinct", False)
        if not isinstance(need_distinct, bool):
            raise _invalid("need_distinct", f"need_distinct 必须是布尔值：{need_distinct!r}")

        body = self._download(url)
        kind = image_format(body)
        if kind not in ACCEPTED_IMAGE_FORMATS:
            raise _invalid("url", f"图片格式不支持（只支持 jpg、jpeg、png）：{url}")

        material, is_new = self._existing_or_new(body, kind, name, folder_id, url, need_distinct)
        return self._upload_data(material, is_new)

    def _existing_or_new(self, body: bytes, kind: str, name: str, folder_id: str, url: str, need_distinct: bool) -> tuple[DouyinMaterial, bool]:
        digest = hashlib.sha256(body).hexdigest()
        with self._state_lock:
            if need_distinct:
                # The SDK documents deduplication against images whose audit has passed only.
                for material in self._materials.values():
                    if material.digest == digest and material.audit_status == 3:
                        return material, False
            material = self._store_material(body, kind, name, folder_id, url, self.audit_pending_queries)
        self._count_write("material.uploadImageSync")
        return material, True

    def _store_material(self, body: bytes, kind: str, name: str, folder_id: str, origin_url: str, pending: int) -> DouyinMaterial:
        with self._state_lock:
            material_id = str(next(self._material_ids))
            extension = "png" if kind == "png" else "jpg"
            material = DouyinMaterial(
                material_id=material_id,
                folder_id=folder_id,
                origin_url=origin_url,
                name=name,
                body=body,
                image_format=kind,
                digest=hashlib.sha256(body).hexdigest(),
                byte_url=f"{self.image_prefix}{material_id}.{extension}",
                audit_status=1 if pending > 0 else 3,
                pending_queries=pending,
                create_time=self._now_text(),
            )
            self._materials[material_id] = material
            return material

    def _upload_data(self, material: DouyinMaterial, is_new: bool) -> dict[str, Any]:
        passed = material.audit_status == 3
        return {
            "material_id": material.material_id,
            "folder_id": material.folder_id,
            "is_new": is_new,
            "audit_status": material.audit_status,
            "byte_url": material.byte_url if passed and self.upload_returns_byte_url else "",
        }

    def _download(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname != HOST:
            # The fake never sends traffic off this machine, so it fetches from 127.0.0.1 only.
            raise _Rejected(40004, "fake.url-not-local", f"fake 只下载 http://{HOST} 上的图片：{url}")

        # No proxy and no redirects: a redirect could point the fake at another host.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        try:
            with opener.open(url, timeout=self.download_timeout) as response:
                body = response.read(self.max_image_bytes + 1)
        except urllib.error.HTTPError as error:
            raise _Rejected(50002, "isv.business-failed:download-failed", f"图片下载失败：HTTP {error.code}，{url}") from None
        except (urllib.error.URLError, OSError) as error:
            raise _Rejected(50002, "isv.business-failed:download-failed", f"图片下载失败：{error}，{url}") from None

        if len(body) > self.max_image_bytes:
            raise _invalid("url", f"图片大小超过 {self.max_image_bytes} 字节：{url}")
        return body

    def _material_detail(self, params: dict[str, Any]) -> dict[str, Any]:
        material_id = params.get("material_id")
        if not isinstance(material_id, str) or not material_id:
            raise _invalid("material_id", "material_id 不能为空")

        with self._state_lock:
            material = self._materials.get(material_id)
            if material is None:
                raise _invalid("material_id", f"素材不存在：{material_id}")
            if material.pending_queries > 0:
                material.pending_queries -= 1
            elif material.audit_status != 3:
                material.audit_status = 3
            return {"material_info": _material_info(material)}

    def _serve_image(self, incoming: Incoming) -> Reply:
        if incoming.method not in ("GET", "HEAD"):
            return Reply(405, b"Method Not Allowed", TEXT_TYPE, {"Allow": "GET, HEAD"})
        material_id = incoming.path[len("/img/"):].rsplit(".", 1)[0]
        with self._state_lock:
            material = self._materials.get(material_id)
        if material is None or material.byte_url != self.url + incoming.path:
            return Reply(404, b"Not Found", TEXT_TYPE)
        return Reply(200, material.body, IMAGE_TYPES[material.image_format])

    def _now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# -- parsing and checks (pure functions)


def _parse_param_json(text: str) -> dict[str, Any]:
    """Parse the body and check it is the canonical text the platform signs, raising _Rejected."""
    unsorted: list[list[str]] = []

    def object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if any(earlier >= later for earlier, later in zip(keys, keys[1:])):
            unsorted.append(keys)
        return dict(pairs)

    try:
        document = json.loads(text, object_pairs_hook=object_from_pairs, parse_float=_Number, parse_int=_Number, parse_constant=_reject_constant)
    except ValueError as error:
        raise _invalid("param_json", f"param_json 不是有效的 JSON：{error}") from None
    if not isinstance(document, dict):
        raise _invalid("param_json", "param_json 必须是 JSON 对象")

    # The platform signs the recursively key-sorted, compact text; any other text cannot match it.
    if unsorted:
        raise _Rejected(40003, "isv.signature-invalid", f"param_json 的键未按字典序排列：{unsorted[0]}")
    if _has_whitespace_between_tokens(text):
        raise _Rejected(40003, "isv.signature-invalid", "param_json 含有多余空白，必须是紧凑 JSON")
    return _plain(document)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_whitespace_between_tokens(text: str) -> bool:
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in " \t\r\n":
            return True
    return False


def _plain(value: Any) -> Any:
    """Turn parsed numbers into int (integer literals) or Decimal (the rest)."""
    if isinstance(value, _Number):
        return int(value.text) if _INTEGER_LITERAL.fullmatch(value.text) else Decimal(value.text)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _check_types(params: dict[str, Any]) -> None:
    for name in INTEGER_FIELDS:
        if name in params and not _is_int(params[name]):
            raise _invalid(name, f"{name} 必须是整数：{params[name]!r}")
    for name in TEXT_FIELDS:
        if name in params and not isinstance(params[name], str):
            raise _invalid(name, f"{name} 必须是字符串：{params[name]!r}")
    if not isinstance(params.get("commit"), bool):
        raise _invalid("commit", f"commit 必须是布尔值：{params.get('commit')!r}")
    if params["category_leaf_id"] < 1:
        raise _invalid("category_leaf_id", f"category_leaf_id 无效：{params['category_leaf_id']}")
    if params["reduce_type"] not in (1, 2):
        raise _invalid("reduce_type", f"reduce_type 只能是 1 或 2：{params['reduce_type']}")
    if params["freight_id"] < 0:
        raise _invalid("freight_id", f"freight_id 不能为负数：{params['freight_id']}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _display_width(text: str) -> int:
    """Measure ``text`` in display columns: East Asian Wide and Fullwidth count 2, combining marks and format characters 0."""
    width = 0
    for character in text:
        if unicodedata.combining(character) or unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


def _check_name(name: str) -> None:
    width = _display_width(name)
    if width > NAME_MAX_WIDTH:
        raise _invalid("name", f"name 过长：宽度 {width}，最多 {NAME_MAX_WIDTH}（汉字计 2）：{name}")
    emoji = _EMOJI.search(name)
    if emoji:
        raise _invalid("name", f"name 不能含表情符号 {emoji.group()!r}：{name}")


def _split(text: str, separator: str) -> list[str]:
    """Split a list field. An empty field is an empty list. An empty item is kept, so it is rejected as an image URL."""
    if text == "":
        return []
    return text.split(separator)


def _parse_specs(text: str) -> list[_Spec]:
    """Parse ``颜色|红色,黑色^尺码|S,M`` into specs, raising _Rejected for a malformed string."""
    groups = text.split("^")
    if len(groups) > SPEC_DIMENSIONS_MAX:
        raise _invalid("specs", f"specs 最多 {SPEC_DIMENSIONS_MAX} 级规格，收到 {len(groups)} 级：{text}")

    specs = []
    for group in groups:
        name, separator, values_text = group.partition("|")
        values = tuple(values_text.split(","))
        if not separator or not name or "|" in values_text or any(not value for value in values):
            raise _invalid("specs", f"specs 格式应为 规格名|值1,值2^规格名|值1：{text}")
        if len(set(values)) != len(values):
            raise _invalid("specs", f"specs 中规格 {name} 有重复的值：{values_text}")
        specs.append(_Spec(name, values))

    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise _invalid("specs", f"specs 中有重复的规格名：{text}")
    return specs


def _parse_spec_prices(text: str, specs: list[_Spec]) -> list[dict[str, Any]]:
    """Parse the spec_prices JSON string and check it has one row per spec combination."""
    try:
        rows = _plain(json.loads(text, parse_float=_Number, parse_int=_Number, parse_constant=_reject_constant))
    except ValueError as error:
        raise _invalid("spec_prices", f"spec_prices 不是有效的 JSON：{error}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise _invalid("spec_prices", "spec_prices 必须是对象数组的 JSON 字符串")

    expected = math.prod(len(spec.values) for spec in specs)
    if len(rows) != expected:
        raise _invalid("spec_prices", f"spec_prices 有 {len(rows)} 行，规格组合数为 {expected}")

    seen = set()
    for index, row in enumerate(rows, start=1):
        combination = _row_combination(row, index, specs)
        if combination in seen:
            raise _invalid("spec_prices", f"spec_prices 第 {index} 行的规格组合重复：{'/'.join(combination)}")
        seen.add(combination)
        _check_row_numbers(row, index)
    return rows


def _row_combination(row: dict[str, Any], index: int, specs: list[_Spec]) -> tuple[str, ...]:
    combination = []
    for level in range(1, SPEC_DIMENSIONS_MAX + 1):
        value = row.get(f"spec_detail_name{level}", "")
        if level > len(specs):
            if value not in ("", None):
                raise _invalid("spec_prices", f"spec_prices 第 {index} 行 spec_detail_name{level} 应为空，因为只有 {len(specs)} 级规格：{value!r}")
            continue
        spec = specs[level - 1]
        if value not in spec.values:
            raise _invalid("spec_prices", f"spec_prices 第 {index} 行 spec_detail_name{level}={value!r} 不是规格 {spec.name} 的值 {list(spec.values)}")
        combination.append(value)
    return tuple(combination)


def _check_row_numbers(row: dict[str, Any], index: int) -> None:
    price = row.get("price")
    if not _is_int(price) or price < 1:
        raise _invalid("spec_prices", f"spec_prices 第 {index} 行 price 必须是以分为单位的正整数：{price!r}")
    stock = row.get("stock_num")
    if not _is_int(stock) or stock < 0:
        raise _invalid("spec_prices", f"spec_prices 第 {index} 行 stock_num 必须是非负整数：{stock!r}")
    for name in ("code", "outer_sku_id", "supplier_id"):
        if name in row and not isinstance(row[name], str):
            raise _invalid("spec_prices", f"spec_prices 第 {index} 行 {name} 必须是字符串：{row[name]!r}")


def _product_id(value: Any, name: str) -> int:
    """Read a product id sent as a JSON integer or a digit string."""
    if _is_int(value):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise _invalid(name, f"{name} 必须是数字：{value!r}")


def _detail_sku(sku: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku_id": sku["sku_id"],
        "outer_sku_id": sku["outer_sku_id"],
        "code": sku["code"],
        "price": sku["price"],
        "stock_num": sku["stock_num"],
        "spec_detail_ids": list(sku["spec_detail_ids"]),
        "spec_detail_id1": sku["spec_detail_id1"],
        "spec_detail_id2": sku["spec_detail_id2"],
        "spec_detail_id3": sku["spec_detail_id3"],
    }


def _material_info(material: DouyinMaterial) -> dict[str, Any]:
    dimensions = image_dimensions(material.body) or (0, 0)
    passed = material.audit_status == 3 and material.pending_queries == 0
    return {
        "material_id": material.material_id,
        "folder_id": material.folder_id,
        "origin_url": material.origin_url,
        "byte_url": material.byte_url if passed else "",
        # "materil_name" is the SDK's spelling of this response field.
        "materil_name": material.name,
        "material_type": "photo",
        "operate_status": 1,
        "audit_status": 3 if passed else 1,
        "size": len(material.body),
        "photo_info": {"width": dimensions[0], "height": dimensions[1], "format": material.image_format},
        "create_time": material.create_time,
        "update_time": material.create_time,
    }
