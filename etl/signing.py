"""Request signing schemes, by the name a source or target definition gives.

A scheme turns (gateway, path, business parameters, credentials) into the exact request to send.
The signature is computed over the final parameter set, so what is signed is what is sent.

Every entry of ``SCHEMES`` is called as ``scheme(gateway, path, params, credentials, now=time.time)``
and returns a :class:`SignedRequest`. ``now`` returns Unix seconds. ``path`` means:

- ``aop_hmac_sha1``: the signed AOP URL path ``param2/1/{namespace}/{api}/{app_key}``.
- ``key_secret_query``: the URL path after the gateway, such as ``1688/item_get/``.
- ``douyin_hmac_sha256``: the API method name, such as ``product.addV2``.
- ``top_md5`` and ``top_hmac``: the API method name, such as ``taobao.item.add``. These two also
  take ``files={name: (filename, bytes, content_type)}`` for multipart uploads.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Credentials:
    """Secrets for one platform account. ``repr`` never shows them."""

    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        """Return the values that must never appear in output, logs or errors.

        The app key is an identifier, not a secret. It is masked where it appears as a request
        parameter or in the AOP path, so offer ids that happen to contain it stay readable.
        """
        return tuple(value for value in (self.app_secret, self.access_token) if value)


@dataclass(frozen=True)
class SignedRequest:
    """A request ready to send.

    ``params`` is the query string. ``data`` is a form body, sent multipart when ``files`` is not
    empty. ``body`` is a raw body, used instead of ``data`` when it is not None. ``files`` maps a
    form field to ``(filename, content, content_type)``, the shape ``requests`` takes.
    """

    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, tuple[str, bytes, str]] = field(default_factory=dict)


def aop_signature(url_path: str, params: Mapping[str, str], secret: str) -> str:
    """Sign a 1688 open-platform (AOP) request.

    The message is ``url_path`` followed by the sorted ``key + value`` strings of every parameter
    except the signature itself. The signature is HMAC-SHA1 keyed with the app secret, in
    upper-case hex. Official example: path ``param2/1/system/currentTime/1000000``, secret
    ``test123``, params ``b=2, a=1`` give ``33E54F4F7B989E3E0E912D3FBD2F1A03CA7CCE88``.
    """
    pieces = sorted(str(key) + str(value) for key, value in params.items() if key != "_aop_signature")
    message = url_path + "".join(pieces)
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).hexdigest().upper()


def sign_aop(gateway: str, path: str, params: Mapping[str, str], credentials: Credentials, now: Callable[[], float] = time.time) -> SignedRequest:
    """Build a signed AOP request: form POST to ``{gateway}/{path}`` with ``access_token`` and ``_aop_timestamp``.

    ``path`` is the signed URL path, ``param2/1/{namespace}/{api}/{app_key}``.
    """
    data = {str(key): str(value) for key, value in params.items()}
    if credentials.access_token:
        data["access_token"] = credentials.access_token
    data["_aop_timestamp"] = str(int(now() * 1000))
    data["_aop_signature"] = aop_signature(path, data, credentials.app_secret)
    return SignedRequest("POST", gateway.rstrip("/") + "/" + path, data=data)


def sign_key_secret_query(gateway: str, path: str, params: Mapping[str, str], credentials: Credentials, now: Callable[[], float] = time.time) -> SignedRequest:
    """Build a reseller request: GET with ``key`` and ``secret`` as query parameters (no signature)."""
    query = {"key": credentials.app_key, "secret": credentials.app_secret}
    query.update({str(key): str(value) for key, value in params.items()})
    return SignedRequest("GET", gateway.rstrip("/") + "/" + path, params=query)


# -- Douyin Shop (doudian open platform) -------------------------------------------------------

DOUYIN_HEADERS = {"Content-Type": "application/json", "x-open-no-old-err-code": "1"}

# The official Go SDK builds param_json with Go's encoding/json, HTML escaping off. That encoder
# escapes U+2028 and U+2029 unconditionally, and before Go 1.22 wrote other control characters as
# \u00XX. Writing strings the same way keeps our text equal to the SDK's.
_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def douyin_param_json(params: Mapping[str, Any]) -> str:
    """Serialise business parameters as the doudian ``param_json`` text.

    Object keys are sorted at every depth and the output is compact. Non-ASCII text, ``/``, ``<``,
    ``>`` and ``&`` are written as they are. ``int`` and ``Decimal`` numbers are written exactly,
    never through ``float``. A finite ``float`` is written in its shortest round-trip form. Raises
    TypeError for a key that is not a string or a value of another type, and ValueError for NaN
    or infinity.
    """
    return _douyin_json(params)


def _douyin_json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"param_json cannot contain {value!r}: JSON has no NaN or infinity")
        return repr(value)
    if isinstance(value, str):
        return _douyin_string(value)
    if isinstance(value, Mapping):
        return _douyin_object(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_douyin_json(item) for item in value) + "]"
    raise TypeError(f"param_json cannot contain a {type(value).__name__}: use str, int, Decimal, bool, None, dict or list")


def _douyin_object(value: Mapping[Any, Any]) -> str:
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"param_json object keys must be strings, got {key!r}")

    # Python orders str by code point, which is the byte order of their UTF-8 encoding.
    members = (_douyin_string(key) + ":" + _douyin_json(value[key]) for key in sorted(value))
    return "{" + ",".join(members) + "}"


def _douyin_string(text: str) -> str:
    pieces = ['"']
    for character in text:
        if character in _STRING_ESCAPES:
            pieces.append(_STRING_ESCAPES[character])
        elif character < " ":
            pieces.append(f"\\u{ord(character):04x}")
        elif "\ud800" <= character <= "\udfff":
            # A lone surrogate is not valid UTF-8. Go writes invalid UTF-8 as U+FFFD.
            pieces.append("\\ufffd")
        else:
            pieces.append(character)
    pieces.append('"')
    return "".join(pieces)


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send the number {value!r}: a request parameter must be finite")
    # Fixed-point notation keeps the digits as given: Decimal("1E+2") becomes 100, "19.90" stays "19.90".
    return format(value, "f")


def douyin_signature(app_key: str, app_secret: str, method: str, param_json: str, timestamp: str) -> str:
    """Sign a doudian request: lower-case hex HMAC-SHA256 keyed with the app secret.

    The message is ``app_secret + "app_key" + app_key + "method" + method + "param_json" +
    param_json + "timestamp" + timestamp + "v2" + app_secret``, encoded as UTF-8.
    """
    message = f"{app_secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v2{app_secret}"
    return hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_douyin(gateway: str, method: str, params: Mapping[str, Any], credentials: Credentials, now: Callable[[], float] = time.time) -> SignedRequest:
    """Build a signed doudian request for API ``method``, such as ``product.addV2``.

    The request is a POST to ``{gateway}/product/addV2``, with the system parameters in the query
    string and the ``param_json`` text as the JSON body. The body is the exact text that was signed.
    ``timestamp`` is whole Unix seconds.
    """
    param_json = douyin_param_json(params)
    timestamp = str(int(now()))
    query = {
        "app_key": credentials.app_key,
        "method": method,
        "timestamp": timestamp,
        "v": "2",
        "sign": douyin_signature(credentials.app_key, credentials.app_secret, method, param_json, timestamp),
        "sign_method": "hmac-sha256",
    }
    if credentials.access_token:
        query["access_token"] = credentials.access_token

    url = gateway.rstrip("/") + "/" + method.replace(".", "/")
    return SignedRequest("POST", url, params=query, body=param_json.encode("utf-8"), headers=dict(DOUYIN_HEADERS))


# -- Taobao open platform (TOP) ----------------------------------------------------------------

TOP_SIGN_METHODS = ("md5", "hmac")

# TOP reads timestamps as Beijing time, which has no daylight saving time.
TOP_TIMEZONE = timezone(timedelta(hours=8))


def top_signature(params: Mapping[str, Any], secret: str, sign_method: str) -> str:
    """Sign a TOP request as upper-case hex.

    The message is every parameter except ``sign``, file contents (bytes) and None values, as
    ``key + value`` sorted by key and joined, in UTF-8. ``md5`` hashes ``secret + message + secret`` with MD5, and
    ``hmac`` is HMAC-MD5 of the message keyed with the secret. Raises ValueError for another
    ``sign_method``.
    """
    text_params = {key: value for key, value in params.items() if key != "sign" and value is not None and not _is_file(value)}
    message = "".join(key + _top_text(text_params[key]) for key in sorted(text_params))

    if sign_method == "md5":
        digest = hashlib.md5((secret + message + secret).encode("utf-8")).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.md5).hexdigest()
    else:
        raise ValueError(f"unknown TOP sign_method {sign_method!r}: use one of {', '.join(TOP_SIGN_METHODS)}")
    return digest.upper()


def top_timestamp(unix_seconds: float) -> str:
    """Format a TOP ``timestamp``: "YYYY-MM-DD HH:MM:SS" in UTC+8, whatever the host's time zone."""
    return datetime.fromtimestamp(unix_seconds, TOP_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def sign_top(
    gateway: str,
    method: str,
    params: Mapping[str, Any],
    credentials: Credentials,
    now: Callable[[], float] = time.time,
    sign_method: str = "md5",
    files: Mapping[str, tuple[str, bytes, str]] | None = None,
) -> SignedRequest:
    """Build a signed TOP request for API ``method``, such as ``taobao.item.add``.

    The request is a form POST to ``gateway`` (the ``.../router/rest`` URL) carrying the system
    parameters and the business parameters. It is multipart when ``files`` is given or a parameter
    value is ``bytes``, which becomes a file named after its field. Files are not signed.
    Parameters whose value is None are left out. Booleans are sent as ``true``/``false``.
    """
    if sign_method not in TOP_SIGN_METHODS:
        raise ValueError(f"unknown TOP sign_method {sign_method!r}: use one of {', '.join(TOP_SIGN_METHODS)}")

    upload = dict(files or {})
    data: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (bytes, bytearray)):
            upload[key] = (key, bytes(value), "application/octet-stream")
        else:
            data[key] = _top_text(value)

    data.update({
        "method": method,
        "app_key": credentials.app_key,
        "timestamp": top_timestamp(now()),
        "format": "json",
        "v": "2.0",
        "sign_method": sign_method,
    })
    if credentials.access_token:
        data["session"] = credentials.access_token
    data["sign"] = top_signature(data, credentials.app_secret, sign_method)
    return SignedRequest("POST", gateway, data=data, files=upload)


def _is_file(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray)) or (isinstance(value, tuple) and any(isinstance(part, (bytes, bytearray)) for part in value))


def _top_text(value: Any) -> str:
    """Write one TOP parameter value as text. Money must arrive as Decimal or str, never float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise TypeError(f"TOP parameter value {value!r} is a float: pass a Decimal or a str so the digits stay exact")
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)


SCHEMES = {
    "aop_hmac_sha1": sign_aop,
    "key_secret_query": sign_key_secret_query,
    "douyin_hmac_sha256": sign_douyin,
    "top_md5": partial(sign_top, sign_method="md5"),
    "top_hmac": partial(sign_top, sign_method="hmac"),
}
