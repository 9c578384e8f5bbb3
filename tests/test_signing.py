"""Request signing: the official AOP example, Douyin and TOP vectors, and the shape of signed requests."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal

import pytest

from etl.signing import (
    SCHEMES,
    Credentials,
    aop_signature,
    douyin_param_json,
    douyin_signature,
    sign_aop,
    sign_douyin,
    sign_key_secret_query,
    sign_top,
    top_signature,
    top_timestamp,
)

CREDENTIALS = Credentials("1000000", "test123", "token-abc")


def test_aop_official_example():
    signature = aop_signature("param2/1/system/currentTime/1000000", {"b": "2", "a": "1"}, "test123")

    assert signature == "33E54F4F7B989E3E0E912D3FBD2F1A03CA7CCE88"


def test_aop_sorts_key_value_strings_not_keys():
    # The official rule sorts the joined key+value strings, which differs from sorting by key
    # when one key is a prefix of another: "a"+"1x" = "a1x" sorts before "ab"+"z" = "abz".
    params = {"ab": "z", "a": "1x"}
    message = "p" + "".join(sorted(["abz", "a1x"]))
    expected = hmac.new(b"s", message.encode(), hashlib.sha1).hexdigest().upper()

    assert aop_signature("p", params, "s") == expected


def test_aop_signature_ignores_itself():
    params = {"a": "1"}

    assert aop_signature("p", {**params, "_aop_signature": "OLD"}, "s") == aop_signature("p", params, "s")


def test_aop_chinese_values_signed_as_utf8():
    message = "p" + "k值"
    expected = hmac.new(b"s", message.encode("utf-8"), hashlib.sha1).hexdigest().upper()

    assert aop_signature("p", {"k": "值"}, "s") == expected


def test_sign_aop_request_shape():
    request = sign_aop("https://gw.example/openapi/", "param2/1/ns/api/1000000", {"productID": "123"}, CREDENTIALS, now=lambda: 1700000000.5)

    assert request.method == "POST"
    assert request.url == "https://gw.example/openapi/param2/1/ns/api/1000000"
    assert request.data["access_token"] == "token-abc"
    assert request.data["_aop_timestamp"] == "1700000000500"
    assert request.data["_aop_signature"] == aop_signature("param2/1/ns/api/1000000", {k: v for k, v in request.data.items() if k != "_aop_signature"}, "test123")


def test_sign_key_secret_query_shape():
    request = sign_key_secret_query("https://reseller.example", "1688/item_get/", {"num_iid": "123"}, CREDENTIALS)

    assert request.method == "GET"
    assert request.url == "https://reseller.example/1688/item_get/"
    assert dict(request.params) == {"key": "1000000", "secret": "test123", "num_iid": "123"}


def test_credentials_repr_hides_secrets():
    assert "test123" not in repr(CREDENTIALS)
    assert "token-abc" not in repr(CREDENTIALS)


# -- Douyin Shop ------------------------------------------------------------------------------

DOUYIN = Credentials("douyin-key", "douyin-secret", "douyin-token")


def test_douyin_signature_known_vector():
    # Built by hand from the documented formula, not by the function under test.
    message = "douyin-secret" "app_keydouyin-key" "methodproduct.detail" 'param_json{"product_id":"1"}' "timestamp1700000000" "v2" "douyin-secret"
    expected = hmac.new(b"douyin-secret", message.encode("utf-8"), hashlib.sha256).hexdigest()

    signature = douyin_signature("douyin-key", "douyin-secret", "product.detail", '{"product_id":"1"}', "1700000000")

    assert signature == expected
    assert signature == signature.lower()
    assert len(signature) == 64


def test_douyin_signature_chinese_param_json_as_utf8():
    param_json = '{"name":"夏季T恤"}'
    message = "s" "app_keyk" "methodm" "param_json" + param_json + "timestamp1" "v2" "s"
    expected = hmac.new(b"s", message.encode("utf-8"), hashlib.sha256).hexdigest()

    assert douyin_signature("k", "s", "m", param_json, "1") == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"b": 1, "a": 2}, '{"a":2,"b":1}', id="top-level-sorted"),
        pytest.param({"z": {"y": 1, "x": {"d": 1, "c": 2}}, "a": []}, '{"a":[],"z":{"x":{"c":2,"d":1},"y":1}}', id="nested-sorted"),
        pytest.param({"l": [{"b": 1, "a": 2}]}, '{"l":[{"a":2,"b":1}]}', id="dict-in-list-sorted"),
        pytest.param({"name": "夏季 T恤"}, '{"name":"夏季 T恤"}', id="chinese-not-escaped"),
        pytest.param({"u": "http://a/b?c=1&d=<e>"}, '{"u":"http://a/b?c=1&d=<e>"}', id="slash-html-not-escaped"),
        pytest.param({"q": 'say "hi"\\'}, '{"q":"say \\"hi\\"\\\\"}', id="quote-backslash-escaped"),
        pytest.param({"t": "a\nb"}, '{"t":"a\\nb"}', id="newline-escaped"),
        pytest.param({"t": "a\u2028b\u2029"}, '{"t":"a\\u2028b\\u2029"}', id="line-separators-escaped-like-go"),
        pytest.param({"t": "a\x08\x0c\x1f"}, '{"t":"a\\u0008\\u000c\\u001f"}', id="control-characters-escaped-like-go"),
        pytest.param({"t": "a\ud800"}, '{"t":"a\\ufffd"}', id="lone-surrogate-replaced"),
        pytest.param({"p": Decimal("19.90")}, '{"p":19.90}', id="decimal-digits-kept"),
        pytest.param({"p": Decimal("1E+2")}, '{"p":100}', id="decimal-exponent-fixed-point"),
        pytest.param({"p": Decimal("0.10000000000000000555")}, '{"p":0.10000000000000000555}', id="decimal-not-through-float"),
        pytest.param({"n": 9223372036854775807}, '{"n":9223372036854775807}', id="int64-exact"),
        pytest.param({"t": True, "f": False, "n": None}, '{"f":false,"n":null,"t":true}', id="bool-and-null"),
        pytest.param({"w": 0.5}, '{"w":0.5}', id="float-shortest"),
        pytest.param({}, "{}", id="empty"),
    ],
)
def test_douyin_param_json(params, expected):
    assert douyin_param_json(params) == expected


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({1: "x"}, TypeError, id="int-key"),
        pytest.param({"s": {1, 2}}, TypeError, id="set-value"),
        pytest.param({"f": float("nan")}, ValueError, id="nan"),
        pytest.param({"d": Decimal("Infinity")}, ValueError, id="decimal-infinity"),
    ],
)
def test_douyin_param_json_rejects(params, error):
    with pytest.raises(error):
        douyin_param_json(params)


def test_sign_douyin_request_shape():
    request = sign_douyin("https://gw.example/", "product.addV2", {"name": "T恤", "commit": False}, DOUYIN, now=lambda: 1700000000.9)

    assert request.method == "POST"
    assert request.url == "https://gw.example/product/addV2"
    assert dict(request.params) == {
        "app_key": "douyin-key",
        "method": "product.addV2",
        "timestamp": "1700000000",
        "v": "2",
        "sign": request.params["sign"],
        "sign_method": "hmac-sha256",
        "access_token": "douyin-token",
    }
    assert request.headers["x-open-no-old-err-code"] == "1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == '{"commit":false,"name":"T恤"}'.encode("utf-8")


def test_sign_douyin_body_is_signed_text():
    request = sign_douyin("https://gw.example", "product.addV2", {"b": {"d": Decimal("1.10"), "c": "中"}, "a": 1}, DOUYIN, now=lambda: 1700000000)
    body_text = request.body.decode("utf-8")
    message = "douyin-secret" "app_keydouyin-key" "methodproduct.addV2" "param_json" + body_text + "timestamp1700000000" "v2" "douyin-secret"
    expected = hmac.new(b"douyin-secret", message.encode("utf-8"), hashlib.sha256).hexdigest()

    assert request.params["sign"] == expected
    assert body_text == douyin_param_json({"a": 1, "b": {"c": "中", "d": Decimal("1.10")}})


def test_sign_douyin_without_token_omits_it():
    request = sign_douyin("https://gw.example", "product.detail", {}, Credentials("k", "s"), now=lambda: 1)

    assert "access_token" not in request.params


# -- Taobao open platform (TOP) ---------------------------------------------------------------

TOP = Credentials("top-key", "top-secret", "top-session")


def test_top_md5_known_vector():
    params = {"method": "taobao.item.add", "title": "夏季T恤", "app_key": "top-key"}
    message = "app_keytop-key" "methodtaobao.item.add" "title夏季T恤"
    expected = hashlib.md5(("top-secret" + message + "top-secret").encode("utf-8")).hexdigest().upper()

    assert top_signature(params, "top-secret", "md5") == expected


def test_top_hmac_known_vector():
    params = {"b": "2", "a": "1"}
    expected = hmac.new(b"top-secret", b"a1b2", hashlib.md5).hexdigest().upper()

    assert top_signature(params, "top-secret", "hmac") == expected


def test_top_signature_sorts_by_key():
    # TOP sorts by key and then joins. Sorting the joined strings instead would put "ab1" before "azz".
    params = {"ab": "1", "a": "zz"}
    expected = hashlib.md5(b"s" + b"azzab1" + b"s").hexdigest().upper()

    assert top_signature(params, "s", "md5") == expected


def test_top_signature_skips_sign_files_and_none():
    params = {"a": "1", "sign": "OLD", "img": b"\xff\xd8\xff", "image": ("a.jpg", b"\xff\xd8", "image/jpeg"), "empty": None}

    assert top_signature(params, "s", "md5") == top_signature({"a": "1"}, "s", "md5")


def test_top_signature_unknown_method():
    with pytest.raises(ValueError, match="hmac-sha256"):
        top_signature({}, "s", "hmac-sha256")


def test_sign_top_request_shape():
    request = sign_top("https://top.example/router/rest", "taobao.item.add", {"title": "T恤", "price": Decimal("19.90"), "num": 3, "skip": None, "flag": True}, TOP, now=lambda: 1700000000)

    assert request.method == "POST"
    assert request.url == "https://top.example/router/rest"
    assert request.data["method"] == "taobao.item.add"
    assert request.data["app_key"] == "top-key"
    assert request.data["session"] == "top-session"
    assert request.data["timestamp"] == "2023-11-15 06:13:20"
    assert request.data["format"] == "json"
    assert request.data["v"] == "2.0"
    assert request.data["sign_method"] == "md5"
    assert request.data["price"] == "19.90"
    assert request.data["num"] == "3"
    assert request.data["flag"] == "true"
    assert "skip" not in request.data
    assert request.files == {}


def test_sign_top_signature_covers_sent_fields():
    request = sign_top("https://top.example/router/rest", "taobao.items.custom.get", {"outer_id": "1,2", "fields": "num_iid"}, TOP, now=lambda: 1700000000, sign_method="hmac")
    fields = {key: value for key, value in request.data.items() if key != "sign"}
    message = "".join(key + fields[key] for key in sorted(fields))
    expected = hmac.new(b"top-secret", message.encode("utf-8"), hashlib.md5).hexdigest().upper()

    assert request.data["sign"] == expected


def test_sign_top_files_are_multipart_and_unsigned():
    image = b"\xff\xd8\xff\xe0" + b"0" * 10
    request = sign_top("https://top.example/router/rest", "taobao.picture.upload", {"picture_category_id": 0, "image_input_title": "a.jpg", "img": image}, TOP, now=lambda: 1700000000)
    fields = {key: value for key, value in request.data.items() if key != "sign"}
    expected = hashlib.md5(("top-secret" + "".join(key + fields[key] for key in sorted(fields)) + "top-secret").encode("utf-8")).hexdigest().upper()

    assert request.files == {"img": ("img", image, "application/octet-stream")}
    assert "img" not in request.data
    assert request.data["sign"] == expected


def test_sign_top_rejects_float_money():
    with pytest.raises(TypeError, match="Decimal"):
        sign_top("https://top.example/router/rest", "taobao.item.add", {"price": 19.9}, TOP, now=lambda: 0)


@pytest.fixture
def new_york_time(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_top_timestamp_is_utc8_in_other_zone(new_york_time):
    # 2024-07-01 00:00:00 UTC: 20:00 the day before in New York (EDT), 08:00 in Beijing.
    instant = 1719792000
    assert time.localtime(instant).tm_hour == 20

    request = sign_top("https://top.example/router/rest", "taobao.item.add", {}, TOP, now=lambda: instant)

    assert request.data["timestamp"] == "2024-07-01 08:00:00"


def test_top_timestamp_is_utc8_in_winter(new_york_time):
    # 2024-01-15 23:30:00 UTC: 18:30 in New York (EST), 07:30 the next day in Beijing.
    assert top_timestamp(1705361400) == "2024-01-16 07:30:00"


def test_schemes_registered():
    assert SCHEMES["douyin_hmac_sha256"] is sign_douyin
    assert SCHEMES["top_md5"]("https://t/router/rest", "m", {}, TOP, now=lambda: 0).data["sign_method"] == "md5"
    assert SCHEMES["top_hmac"]("https://t/router/rest", "m", {}, TOP, now=lambda: 0).data["sign_method"] == "hmac"
