"""Request signing: the official AOP example and the shape of signed requests."""

from __future__ import annotations

import hashlib
import hmac

from etl.signing import Credentials, aop_signature, sign_aop, sign_key_secret_query

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
