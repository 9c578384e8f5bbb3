"""Request signing schemes, by the name a source or target definition gives.

A scheme turns (gateway, path, business parameters, credentials) into the exact request to send.
The signature is computed over the final parameter set, so what is signed is what is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping


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
    """A request ready to send: ``data`` is a form body, ``params`` the query string."""

    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)


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


SCHEMES = {
    "aop_hmac_sha1": sign_aop,
    "key_secret_query": sign_key_secret_query,
}
