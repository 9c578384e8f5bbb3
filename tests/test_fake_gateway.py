"""The fake 1688 gateway and reseller, driven over HTTP with requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from fakes.gateway_1688 import Fake1688, RequestRecord, aop_signature, parse_fault

PRODUCT_GET = ("com.alibaba.product", "alibaba.product.get", "productID")
CROSS_PRODUCT_INFO = ("com.alibaba.product", "alibaba.cross.productInfo", "productId")
FENXIAO_PRODUCT_INFO = ("com.alibaba.fenxiao", "alibaba.fenxiao.productInfo.get", "offerId")

OFFER = "610000000001"
OTHER_OFFER = "610000000002"
MISSING_OFFER = "619999999999"

# Unsorted keys, indentation, Chinese text and a trailing newline, so any re-serialisation shows.
PRODUCT_BODY = (
    '{\n  "productInfo": {"subject": "夏季 T恤 男", "productID": 610000000001, "status": "published",\n'
    '    "saleInfo": {"priceRanges": [{"startQuantity": 2, "price": 19.90}]}},\n  "success": true\n}\n'
).encode("utf-8")
OTHER_BODY = b'{"productInfo": {"productID": 610000000002, "status": "published"}}'
RESELLER_BODY = (
    '{"item": {"num_iid": "610000000001", "title": "夏季 T恤 男", "price": "19.90"},\n'
    ' "error": "", "reason": "", "error_code": "0000", "api_info": "today:5 max:200", "request_id": "gw-1"}'
).encode("utf-8")

TIMEOUT = 2.0


@pytest.fixture
def product_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "products"
    folder.mkdir()
    (folder / f"{OFFER}.json").write_bytes(PRODUCT_BODY)
    (folder / f"{OTHER_OFFER}.json").write_bytes(OTHER_BODY)
    (tmp_path / "secret.json").write_bytes(b'{"outside": true}')
    return folder


@pytest.fixture
def reseller_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "reseller"
    folder.mkdir()
    (folder / f"{OFFER}.json").write_bytes(RESELLER_BODY)
    return folder


@pytest.fixture
def fake(product_dir: Path, reseller_dir: Path):
    with Fake1688(product_dir=product_dir, reseller_dir=reseller_dir) as server:
        yield server


def official_path(api: tuple[str, str, str], app_key: str) -> str:
    namespace, name, _ = api
    return f"param2/1/{namespace}/{name}/{app_key}"


def signed_params(fake: Fake1688, offer_id: str, api: tuple[str, str, str] = PRODUCT_GET, **overrides: str | None) -> dict[str, str]:
    """Build a correctly signed form for ``api``. An override of None removes that parameter."""
    params = {api[2]: offer_id, "access_token": fake.access_token, "_aop_timestamp": "1700000000000"}
    if api == PRODUCT_GET:
        params["webSite"] = "1688"
    params["_aop_signature"] = aop_signature(official_path(api, fake.app_key), params, fake.app_secret)

    for name, value in overrides.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params


def post_official(fake: Fake1688, params: dict[str, str], api: tuple[str, str, str] = PRODUCT_GET, app_key: str | None = None, timeout: float = TIMEOUT) -> requests.Response:
    path = official_path(api, app_key or fake.app_key)
    return requests.post(f"{fake.url}/openapi/{path}", data=params, timeout=timeout)


def get_offer(fake: Fake1688, offer_id: str = OFFER, timeout: float = TIMEOUT) -> requests.Response:
    return post_official(fake, signed_params(fake, offer_id), timeout=timeout)


def get_item(fake: Fake1688, num_iid: str = OFFER, timeout: float = TIMEOUT, **overrides: str) -> requests.Response:
    params = {"key": fake.reseller_key, "secret": fake.reseller_secret, "num_iid": num_iid, "lang": "zh-CN", **overrides}
    return requests.get(f"{fake.url}/1688/item_get/", params=params, timeout=timeout)


def gateway_body(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "error_message": message, "exception": message}


# -- signature


def test_signature_official_example():
    signature = aop_signature("param2/1/system/currentTime/1000000", {"b": "2", "a": "1"}, "test123")

    assert signature == "33E54F4F7B989E3E0E912D3FBD2F1A03CA7CCE88"


def test_signature_sorts_key_value_strings():
    # Sorting "az" and "ab1" as strings puts "ab1" first. Sorting by key would put "a" first.
    params = {"a": "z", "ab": "1", "_aop_signature": "ignored"}
    expected = hmac.new(b"s", b"param2/1/ns/api/k" + b"ab1az", hashlib.sha1).hexdigest().upper()

    assert aop_signature("param2/1/ns/api/k", params, "s") == expected


def test_signature_by_key_order_rejected(fake: Fake1688):
    params = {"productID": OFFER, "access_token": fake.access_token, "a": "z", "ab": "1"}
    url_path = official_path(PRODUCT_GET, fake.app_key)
    by_key = "".join(key + params[key] for key in sorted(params))
    by_key_signature = hmac.new(fake.app_secret.encode(), (url_path + by_key).encode(), hashlib.sha1).hexdigest().upper()

    rejected = post_official(fake, params | {"_aop_signature": by_key_signature})
    accepted = post_official(fake, params | {"_aop_signature": aop_signature(url_path, params, fake.app_secret)})

    assert rejected.status_code == 401
    assert rejected.json()["error_code"] == "gw.SignatureInvalid"
    assert accepted.status_code == 200


def test_signature_lower_case_hex_rejected(fake: Fake1688):
    params = signed_params(fake, OFFER)
    params["_aop_signature"] = params["_aop_signature"].lower()

    response = post_official(fake, params)

    assert response.status_code == 401
    assert response.json()["error_code"] == "gw.SignatureInvalid"


# -- official gateway: success


@pytest.mark.parametrize("api", [PRODUCT_GET, CROSS_PRODUCT_INFO, FENXIAO_PRODUCT_INFO], ids=lambda api: api[1])
def test_official_returns_saved_bytes(fake: Fake1688, api: tuple[str, str, str]):
    response = post_official(fake, signed_params(fake, OFFER, api), api)

    assert response.status_code == 200
    assert response.content == PRODUCT_BODY
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_official_unicode_parameter_signed(fake: Fake1688):
    params = signed_params(fake, OFFER)
    params["scene"] = "铺货 & more"
    params["_aop_signature"] = aop_signature(official_path(PRODUCT_GET, fake.app_key), params, fake.app_secret)

    response = post_official(fake, params)

    assert response.status_code == 200
    assert fake.requests[-1].params["scene"] == "铺货 & more"


def test_official_keep_alive_session(fake: Fake1688):
    with requests.Session() as session:
        url = f"{fake.url}/openapi/{official_path(PRODUCT_GET, fake.app_key)}"
        first = session.post(url, data=signed_params(fake, OFFER), timeout=TIMEOUT)
        second = session.post(url, data=signed_params(fake, OTHER_OFFER), timeout=TIMEOUT)

    assert first.content == PRODUCT_BODY
    assert second.content == OTHER_BODY


# -- official gateway: errors


OFFICIAL_ERRORS = [
    pytest.param({"app_key": "other-key"}, 401, gateway_body("gw.AppKeyNotFound", "AppKey not found: other-key"), id="unknown-app-key"),
    pytest.param({"_aop_signature": None}, 401, gateway_body("gw.SignatureMissing", "_aop_signature is missing"), id="missing-signature"),
    pytest.param({"_aop_signature": ""}, 401, gateway_body("gw.SignatureMissing", "_aop_signature is missing"), id="empty-signature"),
    pytest.param({"_aop_signature": "0" * 40}, 401, gateway_body("gw.SignatureInvalid", "Signature is invalid"), id="wrong-signature"),
    pytest.param({"productID": OTHER_OFFER}, 401, gateway_body("gw.SignatureInvalid", "Signature is invalid"), id="changed-parameter"),
    pytest.param({"extra": "1"}, 401, gateway_body("gw.SignatureInvalid", "Signature is invalid"), id="unsigned-parameter"),
    pytest.param({"access_token": None}, 401, gateway_body("gw.SignatureInvalid", "Signature is invalid"), id="token-removed-after-signing"),
]


@pytest.mark.parametrize(("changes", "status", "body"), OFFICIAL_ERRORS)
def test_official_error(fake: Fake1688, changes: dict[str, str | None], status: int, body: dict[str, str]):
    changes = dict(changes)
    app_key = changes.pop("app_key", None)
    response = post_official(fake, signed_params(fake, OFFER, **changes), app_key=app_key)

    assert response.status_code == status
    assert response.json() == body
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_official_signature_with_wrong_secret(fake: Fake1688):
    params = signed_params(fake, OFFER, _aop_signature=None)
    params["_aop_signature"] = aop_signature(official_path(PRODUCT_GET, fake.app_key), params, "wrong-secret")

    response = post_official(fake, params)

    assert response.status_code == 401
    assert response.json() == gateway_body("gw.SignatureInvalid", "Signature is invalid")


@pytest.mark.parametrize(("token", "message"), [
    (None, "access_token is missing"),
    ("expired-token", "access_token is invalid or expired"),
])
def test_official_bad_access_token(fake: Fake1688, token: str | None, message: str):
    params = {"productID": OFFER}
    if token is not None:
        params["access_token"] = token
    params["_aop_signature"] = aop_signature(official_path(PRODUCT_GET, fake.app_key), params, fake.app_secret)

    response = post_official(fake, params)

    assert response.status_code == 401
    assert response.json() == gateway_body("gw.AccessTokenInvalid", message)


@pytest.mark.parametrize("api", [
    ("com.alibaba.product", "alibaba.product.simple.get", "productID"),
    ("com.alibaba.fenxiao", "alibaba.product.get", "productID"),
], ids=["unknown-name", "wrong-namespace"])
def test_official_unsupported_api(fake: Fake1688, api: tuple[str, str, str]):
    response = post_official(fake, signed_params(fake, OFFER, api), api)

    assert response.status_code == 400
    assert response.json() == gateway_body("gw.APIUnsupported", f"API is not supported: {api[0]}:{api[1]}")


@pytest.mark.parametrize("denied", [
    {"denied_apis": {"alibaba.product.get"}},
    {"denied_apis": {"com.alibaba.product/alibaba.product.get"}},
    {"denied_apis": {"com.alibaba.product:alibaba.product.get"}},
    {"denied_offers": {OFFER}},
], ids=["api-name", "slash-form", "colon-form", "offer"])
def test_official_acl_decline(product_dir: Path, denied: dict[str, set[str]]):
    with Fake1688(product_dir=product_dir, **denied) as fake:
        response = get_offer(fake)

    assert response.status_code == 403
    assert response.json() == gateway_body("gw.APIACLDecline", "AppKey is not allowed(acl)")


def test_official_acl_leaves_other_apis(product_dir: Path):
    with Fake1688(product_dir=product_dir, denied_apis={"alibaba.product.get"}) as fake:
        response = post_official(fake, signed_params(fake, OFFER, FENXIAO_PRODUCT_INFO), FENXIAO_PRODUCT_INFO)

    assert response.status_code == 200
    assert response.content == PRODUCT_BODY


def test_denied_api_typo_rejected():
    with pytest.raises(ValueError, match="denied API 'alibaba.product.gett' is not served"):
        Fake1688(denied_apis={"alibaba.product.gett"})


@pytest.mark.parametrize("offer_id", [MISSING_OFFER, "../secret", "６１００"], ids=["missing-file", "path-traversal", "fullwidth-digits"])
def test_official_missing_offer(fake: Fake1688, offer_id: str):
    response = get_offer(fake, offer_id)

    assert response.status_code == 200
    assert response.json() == {"success": False, "errorCode": "isv.product-not-found", "errorMessage": f"商品不存在：{offer_id}"}


def test_official_no_product_dir():
    with Fake1688() as fake:
        response = get_offer(fake)

    assert response.json()["errorCode"] == "isv.product-not-found"


def test_official_missing_offer_parameter(fake: Fake1688):
    params = signed_params(fake, OFFER)
    del params["productID"]
    params["_aop_signature"] = aop_signature(official_path(PRODUCT_GET, fake.app_key), params, fake.app_secret)

    response = post_official(fake, params)

    assert response.status_code == 200
    assert response.json() == {"success": False, "errorCode": "fake.MissingParameter", "errorMessage": "缺少参数：productID"}


def test_official_get_method_rejected(fake: Fake1688):
    response = requests.get(f"{fake.url}/openapi/{official_path(PRODUCT_GET, fake.app_key)}", params=signed_params(fake, OFFER), timeout=TIMEOUT)

    assert response.status_code == 405
    assert response.json()["error_code"] == "fake.MethodNotAllowed"


def test_official_json_body_rejected(fake: Fake1688):
    url = f"{fake.url}/openapi/{official_path(PRODUCT_GET, fake.app_key)}"
    response = requests.post(url, json=signed_params(fake, OFFER), timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["error_code"] == "fake.BadRequest"
    assert "application/x-www-form-urlencoded" in response.json()["error_message"]


def test_official_chunked_body_rejected(fake: Fake1688):
    url = f"{fake.url}/openapi/{official_path(PRODUCT_GET, fake.app_key)}"
    chunks = (piece.encode() for piece in ["productID=", OFFER])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    response = requests.post(url, data=chunks, headers=headers, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.json()["error_message"] == "chunked request bodies are not supported: send Content-Length"


def test_unknown_path_not_found(fake: Fake1688):
    response = requests.get(f"{fake.url}/openapi/param2/1/only-two/parts", timeout=TIMEOUT)

    assert response.status_code == 404
    assert fake.requests[-1].outcome == "not_found"


# -- server-side rate limit


def test_rate_limit_rejects_second_request(product_dir: Path):
    # One request a second: the second request comes well within the second even on a busy machine.
    with Fake1688(product_dir=product_dir, rate_limit=1) as fake:
        first = get_offer(fake)
        second = get_offer(fake)
        time.sleep(1.05)
        third = get_offer(fake)

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json() == gateway_body("gw.QosAppFrequencyLimit", "App call frequency exceeds the limit")
    assert third.status_code == 200


def test_rate_limit_burst(product_dir: Path):
    with Fake1688(product_dir=product_dir, rate_limit=0.01, burst=3) as fake:
        statuses = [get_offer(fake).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_rate_limit_counts_only_authenticated(product_dir: Path):
    with Fake1688(product_dir=product_dir, rate_limit=1) as fake:
        rejected = post_official(fake, signed_params(fake, OFFER, _aop_signature="0" * 40))
        accepted = get_offer(fake)

    assert rejected.status_code == 401
    assert accepted.status_code == 200


def test_rate_limit_concurrent_requests(product_dir: Path):
    with Fake1688(product_dir=product_dir, rate_limit=0.01, burst=2) as fake:
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = sorted(pool.map(lambda _: get_offer(fake).status_code, range(10)))

    assert statuses == [200] * 2 + [429] * 8
    assert len(fake.requests) == 10


@pytest.mark.parametrize(("settings", "match"), [
    ({"rate_limit": 0}, "rate_limit"),
    ({"rate_limit": -1.0}, "rate_limit"),
    ({"rate_limit": float("inf")}, "rate_limit"),
    ({"rate_limit": 1.0, "burst": 0}, "burst"),
    ({"latency": -0.1}, "latency"),
])
def test_settings_validated(settings: dict[str, float], match: str):
    with pytest.raises(ValueError, match=match):
        Fake1688(**settings)


# -- fault scripts: official gateway


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_fault_status(fake: Fake1688, status: str):
    fake.faults[OFFER] = [status]

    faulted = get_offer(fake)
    after = get_offer(fake)

    assert faulted.status_code == int(status)
    assert faulted.headers["Content-Type"].startswith("text/html")
    assert status in faulted.text
    assert after.content == PRODUCT_BODY
    assert fake.requests[-2].outcome == f"fault:{status}"


def test_fault_timeout(fake: Fake1688):
    fake.faults[OFFER] = ["timeout:0.4"]

    with pytest.raises(requests.exceptions.ReadTimeout):
        get_offer(fake, timeout=0.1)
    after = get_offer(fake)

    assert after.content == PRODUCT_BODY
    assert fake.requests_for(OFFER)[0].outcome == "fault:timeout:0.4"
    assert fake.requests_for(OFFER)[0].status == 200


def test_fault_timeout_answers_late(fake: Fake1688):
    fake.faults[OFFER] = ["timeout:0.2"]

    started = time.monotonic()
    response = get_offer(fake)
    elapsed = time.monotonic() - started

    assert response.content == PRODUCT_BODY
    assert elapsed >= 0.2


def test_fault_reset(fake: Fake1688):
    fake.faults[OFFER] = ["reset"]

    with pytest.raises(requests.exceptions.ConnectionError):
        get_offer(fake)
    after = get_offer(fake)

    assert after.content == PRODUCT_BODY
    assert fake.requests_for(OFFER)[0].status == 0
    assert fake.requests_for(OFFER)[0].outcome == "fault:reset"


def test_fault_reset_sends_tcp_reset(fake: Fake1688):
    fake.faults[OFFER] = ["reset"]
    form = "&".join(f"{key}={value}" for key, value in signed_params(fake, OFFER).items())
    path = f"/openapi/{official_path(PRODUCT_GET, fake.app_key)}"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n{form}"
    ).encode("ascii")
    port = urlsplit(fake.url).port

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        with pytest.raises(ConnectionResetError):
            connection.recv(1024)


def test_fault_qos(fake: Fake1688):
    fake.faults[OFFER] = ["qos"]

    response = get_offer(fake)

    assert response.status_code == 429
    assert response.json() == gateway_body("gw.QosAppFrequencyLimit", "App call frequency exceeds the limit")


def test_fault_retry_after(fake: Fake1688):
    fake.faults[OFFER] = ["retry_after:3"]

    response = get_offer(fake)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert fake.requests[-1].outcome == "fault:retry_after:3"


def test_fault_acl(fake: Fake1688):
    fake.faults[OFFER] = ["acl"]

    response = get_offer(fake)

    assert response.status_code == 403
    assert response.json() == gateway_body("gw.APIACLDecline", "AppKey is not allowed(acl)")


def test_fault_bad_json(fake: Fake1688):
    fake.faults[OFFER] = ["bad_json"]

    response = get_offer(fake)

    assert response.status_code == 200
    assert PRODUCT_BODY.startswith(response.content)
    assert len(response.content) < len(PRODUCT_BODY.rstrip())
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_fault_offline(fake: Fake1688):
    fake.faults[OFFER] = ["offline"]

    offline = get_offer(fake)
    after = get_offer(fake)

    assert offline.status_code == 200
    assert offline.json()["productInfo"]["status"] == "expired"
    assert offline.json()["productInfo"]["subject"] == "夏季 T恤 男"
    assert after.json()["productInfo"]["status"] == "published"


def test_fault_offline_leaves_errors(fake: Fake1688):
    fake.faults[OFFER] = ["offline"]

    response = post_official(fake, signed_params(fake, OFFER, _aop_signature="0" * 40))

    assert response.status_code == 401
    assert fake.faults[OFFER] == []


def test_fault_sig_despite_correct_signature(fake: Fake1688):
    fake.faults[OFFER] = ["sig"]

    response = get_offer(fake)

    assert response.status_code == 401
    assert response.json() == gateway_body("gw.SignatureInvalid", "Signature is invalid")


def test_fault_script_consumed_in_order(fake: Fake1688):
    fake.faults[OFFER] = ["503", "qos", "acl"]

    statuses = [get_offer(fake).status_code for _ in range(4)]

    assert statuses == [503, 429, 403, 200]
    assert fake.faults[OFFER] == []


def test_fault_only_for_its_offer(fake: Fake1688):
    fake.faults[OFFER] = ["503"]

    other = get_offer(fake, OTHER_OFFER)

    assert other.content == OTHER_BODY
    assert fake.faults[OFFER] == ["503"]


@pytest.mark.parametrize("entry", ["504", "boom", "timeout", "timeout:", "timeout:soon", "timeout:-1", "timeout:nan", "retry_after:1.5", "reset:1", "qos:"])
def test_fault_unknown_entry_rejected(fake: Fake1688, entry: str):
    with pytest.raises(ValueError, match="fault"):
        fake.faults[OFFER] = [entry]
    with pytest.raises(ValueError, match="fault"):
        parse_fault(entry)


def test_fault_rejected_on_every_mutation(fake: Fake1688):
    fake.faults[OFFER] = ["503"]
    script = fake.faults[OFFER]

    with pytest.raises(ValueError):
        script.append("boom")
    with pytest.raises(ValueError):
        script.extend(["500", "boom"])
    with pytest.raises(ValueError):
        script.insert(0, "boom")
    with pytest.raises(ValueError):
        script[0] = "boom"
    with pytest.raises(ValueError):
        script += ["boom"]
    with pytest.raises(ValueError):
        fake.faults = {OFFER: ["boom"]}
    with pytest.raises(ValueError):
        fake.faults.update({OFFER: ["boom"]})
    with pytest.raises(ValueError):
        fake.faults |= {OFFER: ["boom"]}
    assert fake.faults[OFFER] == ["503"]


def test_fault_script_shape_rejected(fake: Fake1688):
    with pytest.raises(TypeError, match="offer id as a string"):
        fake.faults[int(OFFER)] = ["503"]
    with pytest.raises(TypeError, match="write \\['503'\\]"):
        fake.faults[OFFER] = "503"


def test_fault_assignment_replaces_scripts(fake: Fake1688):
    fake.faults = {OFFER: ["502"]}
    fake.faults.setdefault(OTHER_OFFER, []).append("503")

    assert get_offer(fake).status_code == 502
    assert get_offer(fake, OTHER_OFFER).status_code == 503


def test_fault_entry_parsed():
    assert parse_fault("timeout:0.25").seconds == 0.25
    assert parse_fault("retry_after:7").seconds == 7.0
    assert parse_fault("offline").seconds is None


# -- reseller


def test_reseller_returns_saved_bytes(fake: Fake1688):
    response = get_item(fake)

    assert response.status_code == 200
    assert response.content == RESELLER_BODY
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_reseller_path_without_slash(fake: Fake1688):
    params = {"key": fake.reseller_key, "secret": fake.reseller_secret, "num_iid": OFFER}
    response = requests.get(f"{fake.url}/1688/item_get", params=params, timeout=TIMEOUT)

    assert response.content == RESELLER_BODY


RESELLER_ERRORS = [
    pytest.param({"key": "wrong"}, ("4001", "key或secret错误", "invalid key"), id="wrong-key"),
    pytest.param({"secret": "wrong"}, ("4001", "key或secret错误", "invalid key"), id="wrong-secret"),
    pytest.param({"num_iid": MISSING_OFFER}, ("2000", "商品不存在或已下架", "item not found"), id="missing-file"),
    pytest.param({"num_iid": "../secret"}, ("2000", "商品不存在或已下架", "item not found"), id="path-traversal"),
    pytest.param({"num_iid": ""}, ("4002", "缺少参数：num_iid", "missing num_iid"), id="missing-num-iid"),
]


@pytest.mark.parametrize(("overrides", "expected"), RESELLER_ERRORS)
def test_reseller_error(fake: Fake1688, overrides: dict[str, str], expected: tuple[str, str, str]):
    response = get_item(fake, **overrides)
    body = response.json()

    assert response.status_code == 200
    assert (body["error_code"], body["reason"], body["error"]) == expected
    assert body["request_id"].startswith("fake-")
    assert set(body) == {"error_code", "reason", "error", "request_id"}


def test_reseller_request_ids_differ(fake: Fake1688):
    first = get_item(fake, key="wrong").json()["request_id"]
    second = get_item(fake, key="wrong").json()["request_id"]

    assert first != second


def test_reseller_rate_limit(reseller_dir: Path):
    with Fake1688(reseller_dir=reseller_dir, rate_limit=0.5) as fake:
        first = get_item(fake)
        second = get_item(fake)

    assert first.content == RESELLER_BODY
    assert second.status_code == 200
    assert (second.json()["error_code"], second.json()["reason"]) == ("4005", "调用频率超限")


def test_reseller_rate_limit_separate_from_gateway(product_dir: Path, reseller_dir: Path):
    with Fake1688(product_dir=product_dir, reseller_dir=reseller_dir, rate_limit=1) as fake:
        official = get_offer(fake)
        reseller = get_item(fake)

    assert official.status_code == 200
    assert reseller.content == RESELLER_BODY


@pytest.mark.parametrize(("entry", "code", "reason"), [
    ("qos", "4005", "调用频率超限"),
    ("offline", "2000", "商品已下架"),
    ("sig", "4001", "key或secret错误"),
])
def test_reseller_fault_envelope(fake: Fake1688, entry: str, code: str, reason: str):
    fake.faults[OFFER] = [entry]

    faulted = get_item(fake)
    after = get_item(fake)

    assert faulted.status_code == 200
    assert (faulted.json()["error_code"], faulted.json()["reason"]) == (code, reason)
    assert after.content == RESELLER_BODY
    assert fake.requests_for(OFFER)[0].outcome == f"fault:{entry}"


def test_reseller_fault_transport(fake: Fake1688):
    fake.faults[OFFER] = ["503", "retry_after:2", "reset", "timeout:0.4", "bad_json"]

    unavailable = get_item(fake)
    retry_later = get_item(fake)
    with pytest.raises(requests.exceptions.ConnectionError):
        get_item(fake)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_item(fake, timeout=0.1)
    truncated = get_item(fake)

    assert unavailable.status_code == 503
    assert retry_later.headers["Retry-After"] == "2"
    assert RESELLER_BODY.startswith(truncated.content)
    assert len(truncated.content) < len(RESELLER_BODY)


def test_reseller_fault_acl_not_applicable(fake: Fake1688):
    fake.faults[OFFER] = ["acl"]

    response = get_item(fake)

    assert response.status_code == 500
    assert response.json()["error_code"] == "fake.FaultNotApplicable"


# -- records


def test_records_every_request(fake: Fake1688):
    before = time.monotonic()
    get_offer(fake)
    post_official(fake, signed_params(fake, OTHER_OFFER, _aop_signature="0" * 40))
    get_item(fake, key="wrong")
    after = time.monotonic()

    records = fake.requests

    assert [record.outcome for record in records] == ["ok", "gw.SignatureInvalid", "reseller:4001"]
    assert [record.status for record in records] == [200, 401, 200]
    assert [record.offer_id for record in records] == [OFFER, OTHER_OFFER, OFFER]
    assert [record.method for record in records] == ["POST", "POST", "GET"]
    assert records[0].path == f"/openapi/{official_path(PRODUCT_GET, fake.app_key)}"
    assert records[2].path == "/1688/item_get/"
    assert records[0].params == signed_params(fake, OFFER)
    assert records[2].params["key"] == "wrong"
    assert all(before <= record.time <= after for record in records)
    assert records[0].time <= records[1].time <= records[2].time
    assert isinstance(records[0], RequestRecord)


def test_records_for_offer(fake: Fake1688):
    get_offer(fake)
    get_offer(fake, OTHER_OFFER)
    get_item(fake)

    records = fake.requests_for(OFFER)

    assert [record.path.split("/")[1] for record in records] == ["openapi", "1688"]


def test_records_unsupported_api_without_offer(fake: Fake1688):
    api = ("com.alibaba.product", "alibaba.product.simple.get", "productID")
    post_official(fake, signed_params(fake, OFFER, api), api)

    assert fake.requests[-1].offer_id is None
    assert fake.requests[-1].outcome == "gw.APIUnsupported"


def test_records_rate_window(product_dir: Path):
    with Fake1688(product_dir=product_dir, rate_limit=2) as fake:
        for _ in range(3):
            get_offer(fake)
        accepted = [record for record in fake.requests if record.status == 200]

    assert fake.max_requests_in_window(1.0) == 3
    assert len(accepted) == 1
    with pytest.raises(ValueError, match="window"):
        fake.max_requests_in_window(0.0)


def test_latency_delays_answers(product_dir: Path):
    with Fake1688(product_dir=product_dir, latency=0.15) as fake:
        started = time.monotonic()
        response = get_offer(fake)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.15


# -- lifecycle and binding


def test_binds_loopback_only(fake: Fake1688):
    address = urlsplit(fake.url)

    assert address.hostname == "127.0.0.1"
    assert address.port


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux routes all of 127.0.0.0/8 to the loopback device")
def test_other_loopback_address_refused(fake: Fake1688):
    port = urlsplit(fake.url).port

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=TIMEOUT).close()


def test_stop_frees_port(product_dir: Path):
    fake = Fake1688(product_dir=product_dir).start()
    port = urlsplit(fake.url).port
    fake.stop()
    fake.stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    with pytest.raises(RuntimeError, match="not running"):
        fake.url


def test_stop_with_open_keep_alive(fake: Fake1688):
    session = requests.Session()
    session.post(f"{fake.url}/openapi/{official_path(PRODUCT_GET, fake.app_key)}", data=signed_params(fake, OFFER), timeout=TIMEOUT)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 1.0
    session.close()


def test_start_twice_rejected(fake: Fake1688):
    with pytest.raises(RuntimeError, match="already running"):
        fake.start()


def test_missing_folder_rejected(tmp_path: Path):
    with pytest.raises(ValueError, match="is not a folder"):
        Fake1688(product_dir=tmp_path / "nope")
