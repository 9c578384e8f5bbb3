"""Target platform APIs as data (``targets/<platform>/api.yaml``) and a client that calls them.

The definition names the gateway, the signing scheme, the methods that create, update and look
up a product and upload an image, the values that make a payload a draft or live, and how to
read error codes. :class:`PlatformClient` signs each call, waits for the rate limit, retries
server-side and rate-limit errors with backoff and jitter, fails caller errors at once with the
platform's message, and redacts secrets from everything it raises or logs.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import jmespath
import requests
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from etl import jsonio, signing
from etl.errors import OfferError, UsageError
from etl.fetch import (ENV_CREDENTIALS_FILE, _credentials_section, _inside_repository, _parse, _reason, _retry_after, _Stopped, _Transient,
                       backoff_delay, read_capped, thread_session)
from etl.ratelimit import TokenBucket, paced
from etl.redact import Redactor
from etl.signing import Credentials
from etl.yamlfile import load_yaml

log = logging.getLogger("etl.publish")

API_KEYS = ("scheme", "gateway", "gateway_env", "credentials", "rate_limit", "timeout", "retries", "outer_id_field", "draft", "live",
            "create", "update", "lookup", "images", "error_code", "error_sub_code", "error_message", "success_codes", "transient_codes",
            "rate_limit_codes", "fatal_codes", "advice", "max_response_bytes")
REQUIRED_KEYS = ("scheme", "gateway", "gateway_env", "credentials", "outer_id_field", "draft", "live", "create", "update", "lookup")
SCHEMES = ("douyin_hmac_sha256", "top_md5", "top_hmac")
DEFAULT_SHOP = "default"


@dataclass(frozen=True)
class ImageAudit:
    """A query that returns an uploaded image's address once the platform's audit has passed."""

    method: str
    id_param: str
    image_id: Any  # compiled JMESPath to the image id in the upload response
    platform_url: Any  # compiled JMESPath to the address in the query response
    attempts: int = 5
    interval: float = 2.0  # seconds between queries


@dataclass(frozen=True)
class ImageApi:
    """A platform's image API: the upload method and the payload fields that contain image addresses."""

    method: str
    send: str  # "url": the platform downloads the checked original; "bytes": the image goes up as a file
    params: Mapping[str, Any]
    platform_url: Any  # compiled JMESPath to the re-hosted address in the response
    url_param: str | None = None
    file_param: str | None = None
    name_param: str | None = None
    name_max: int = 50
    own_hosts: tuple[str, ...] = ()
    max_bytes: int = 3 * 1024 * 1024
    list_fields: tuple[tuple[str, str], ...] = ()  # (field, separator)
    optional_fields: tuple[str, ...] = ()  # list fields of detail images, where an image gone from the source is dropped
    html_fields: tuple[str, ...] = ()  # HTML fields; an image gone from the source is dropped from them too
    audit: ImageAudit | None = None  # how to wait for an image that is still under the platform's audit

    def is_own(self, url: str) -> bool:
        """Tell whether ``url`` already points at the platform's own image host (``*.host`` and ``host/path*`` patterns)."""
        address = url.split("://", 1)[-1]
        host = address.split("/", 1)[0].lower()
        return any(fnmatch.fnmatchcase(address if "/" in pattern else host, pattern) for pattern in self.own_hosts)


@dataclass(frozen=True)
class PlatformApi:
    """One platform's publishing API, loaded from ``targets/<platform>/api.yaml``."""

    name: str
    path: str
    scheme: str
    gateway: str
    gateway_env: str
    credential_names: Mapping[str, str]
    rate_limit: float
    timeout: float
    retries: int
    outer_id_field: str
    draft: Mapping[str, Any]
    live: Mapping[str, Any]
    create_method: str
    create_product_id: Any
    update_method: str
    update_id_param: str
    update_not_found_codes: tuple[str, ...]  # codes saying the product to update was deleted on the platform
    lookup_method: str
    lookup_params: Mapping[str, str]
    lookup_product_id: Any
    lookup_live: Any  # compiled JMESPath, true when the found product is live (on sale or submitted); None when unknown
    not_found_codes: tuple[str, ...]
    images: ImageApi | None
    error_code: Any
    error_sub_code: Any  # compiled JMESPath, or None when the platform has one code only
    error_message: Any
    success_codes: tuple[str, ...]
    transient_codes: tuple[str, ...]
    rate_limit_codes: tuple[str, ...]
    fatal_codes: tuple[str, ...]
    advice: Mapping[str, Mapping[str, str]]
    max_response_bytes: int = 20 * 1024 * 1024

    # Each check takes the answer's codes, sub code first (``("isv.invalid-sessionkey", "27")``),
    # and matches when any of them matches a pattern.

    def is_transient(self, codes: tuple[str, ...]) -> bool:
        return _matches(codes, self.transient_codes)

    def is_rate_limit(self, codes: tuple[str, ...]) -> bool:
        return _matches(codes, self.rate_limit_codes)

    def is_fatal(self, codes: tuple[str, ...]) -> bool:
        return _matches(codes, self.fatal_codes)

    def is_not_found(self, codes: tuple[str, ...]) -> bool:
        return _matches(codes, self.not_found_codes)

    def is_deleted(self, codes: tuple[str, ...]) -> bool:
        return _matches(codes, self.update_not_found_codes)

    def advice_for(self, codes: tuple[str, ...]) -> Mapping[str, str] | None:
        for pattern, texts in self.advice.items():
            if any(fnmatch.fnmatchcase(code, pattern) for code in codes):
                return texts
        return None


def _matches(codes: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(code, pattern) for code in codes for pattern in patterns)


def load_platform_api(target_name: str, target_folder: Path, file_name: str | None) -> PlatformApi:
    """Load the API definition a target names; raise :class:`UsageError` when it is missing or incomplete."""
    if not file_name:
        raise UsageError("publish.no_api", target=target_name)

    path = target_folder / file_name
    if not path.is_file():
        raise UsageError("publish.api_file_missing", target=target_name, path=str(path))

    data = load_yaml(path).data
    data = data if isinstance(data, dict) else {}
    unknown = [str(key) for key in data if key not in API_KEYS]
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if unknown or missing or data.get("scheme") not in SCHEMES:
        raise UsageError("publish.bad_api", path=str(path), unknown=", ".join(unknown) or "-", missing=", ".join(missing) or "-",
                         schemes=", ".join(SCHEMES))

    try:
        return _build_api(target_name, path, data)
    except (KeyError, TypeError, ValueError, jmespath.exceptions.JMESPathError) as error:
        raise UsageError("publish.bad_api_value", path=str(path), detail=str(error)) from None


def _build_api(name: str, path: Path, data: Mapping[str, Any]) -> PlatformApi:
    create, update, lookup = data["create"], data["update"], data["lookup"]
    return PlatformApi(
        name=name,
        path=str(path),
        scheme=str(data["scheme"]),
        gateway=str(data["gateway"]),
        gateway_env=str(data["gateway_env"]),
        credential_names={str(key): str(value) for key, value in data["credentials"].items()},
        rate_limit=float(data.get("rate_limit", 5)),
        timeout=float(data.get("timeout", 30)),
        retries=int(data.get("retries", 5)),
        outer_id_field=str(data["outer_id_field"]),
        draft=dict(data["draft"]),
        live=dict(data["live"]),
        create_method=str(create["method"]),
        create_product_id=jmespath.compile(str(create["product_id"])),
        update_method=str(update["method"]),
        update_id_param=str(update["id_param"]),
        update_not_found_codes=tuple(str(code) for code in update.get("not_found_codes") or ()),
        lookup_method=str(lookup["method"]),
        lookup_params={str(key): str(value) for key, value in (lookup.get("params") or {}).items()},
        lookup_product_id=jmespath.compile(str(lookup["product_id"])),
        lookup_live=jmespath.compile(str(lookup["live"])) if lookup.get("live") else None,
        not_found_codes=tuple(str(code) for code in lookup.get("not_found_codes") or ()),
        images=_build_images(data["images"]) if data.get("images") else None,
        error_code=jmespath.compile(str(data.get("error_code", "code"))),
        error_sub_code=jmespath.compile(str(data["error_sub_code"])) if data.get("error_sub_code") else None,
        error_message=jmespath.compile(str(data.get("error_message", "msg"))),
        success_codes=tuple(str(code) for code in data.get("success_codes") or ()),
        transient_codes=tuple(str(code) for code in data.get("transient_codes") or ()),
        rate_limit_codes=tuple(str(code) for code in data.get("rate_limit_codes") or ()),
        fatal_codes=tuple(str(code) for code in data.get("fatal_codes") or ()),
        advice={str(code): dict(texts) for code, texts in (data.get("advice") or {}).items()},
        max_response_bytes=int(data.get("max_response_bytes", 20 * 1024 * 1024)),
    )


def _build_images(data: Mapping[str, Any]) -> ImageApi:
    send = str(data["send"])
    if send not in ("url", "bytes"):
        raise ValueError(f"images.send must be url or bytes, not {send!r}")
    return ImageApi(
        method=str(data["method"]),
        send=send,
        params=dict(data.get("params") or {}),
        platform_url=jmespath.compile(str(data["platform_url"])),
        url_param=data.get("url_param"),
        file_param=data.get("file_param"),
        name_param=data.get("name_param"),
        name_max=int(data.get("name_max", 50)),
        own_hosts=tuple(str(host).lower() for host in data.get("own_hosts") or ()),
        max_bytes=int(data.get("max_bytes", 3 * 1024 * 1024)),
        list_fields=tuple((str(item["field"]), str(item.get("separator", ","))) for item in data.get("list_fields") or ()),
        optional_fields=tuple(str(item["field"]) for item in data.get("list_fields") or () if item.get("optional")),
        html_fields=tuple(str(name) for name in data.get("html_fields") or ()),
        audit=_build_audit(data["audit"]) if data.get("audit") else None,
    )


def _build_audit(data: Mapping[str, Any]) -> ImageAudit:
    return ImageAudit(
        method=str(data["method"]),
        id_param=str(data["id_param"]),
        image_id=jmespath.compile(str(data["image_id"])),
        platform_url=jmespath.compile(str(data["platform_url"])),
        attempts=int(data.get("attempts", 5)),
        interval=float(data.get("interval", 2.0)),
    )


# -- credentials ------------------------------------------------------------------------------


def load_shop_credentials(api: PlatformApi, shop: str | None, file: str | Path | None = None) -> Credentials:
    """Read one shop's credentials; raise :class:`UsageError` saying where to put them when absent.

    Without ``--shop`` the environment variables come first (``ETL_DOUYIN_APP_KEY`` …), then the
    credentials file's platform section (``douyin:``). With ``--shop NAME`` only the file's
    ``douyin/NAME:`` section counts, so one shop's token is never used for another by accident.
    """
    names = api.credential_names
    if shop is None:
        key, secret, token = (os.environ.get(names[part]) for part in ("key", "secret", "token"))
        if key and secret and token:
            return Credentials(key, secret, token)

    section = names["section"] if shop is None else f"{names['section']}/{shop}"
    explicit = file or os.environ.get(ENV_CREDENTIALS_FILE)
    path = Path(explicit) if explicit else Path.home() / ".config" / "etl" / "credentials.yaml"
    if not path.is_file():
        if explicit:
            raise UsageError("fetch.credentials_file_missing", path=str(path))
        if shop is not None:
            raise UsageError("publish.no_shop_credentials", target=api.name, section=section, path=str(path))
        raise UsageError("publish.no_credentials", target=api.name, section=section, key=names["key"], secret=names["secret"],
                         token=names["token"], path=str(path))

    if _inside_repository(path):
        raise UsageError("fetch.credentials_in_repository", path=str(path))

    found = _credentials_section(path, section)
    if isinstance(found, dict) and "access_token" not in found and found.get("session"):
        found = {**found, "access_token": found["session"]}  # Taobao calls its token a session
    if not isinstance(found, dict) or not all(found.get(part) for part in ("app_key", "app_secret", "access_token")):
        raise UsageError("publish.credentials_section", path=str(path), section=section)
    return Credentials(str(found["app_key"]), str(found["app_secret"]), str(found["access_token"]))


# -- the client -------------------------------------------------------------------------------


class PlatformError(OfferError):
    """A platform call failed; ``codes`` are the platform's sub code and code (empty for a transport failure)."""

    def __init__(self, key: str, *, codes: tuple[str, ...] = (), ambiguous: bool = False, transient: bool = False, **params: Any) -> None:
        super().__init__(key, **params)
        self.codes = codes
        self.ambiguous = ambiguous  # the request may have reached the platform and taken effect
        self.transient = transient  # a server-side or rate-limit failure, worth trying again later


@dataclass
class CallStats:
    """Counters per method, read by reports and benchmarks; updated from worker threads."""

    calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def add_retry(self) -> None:
        with self.lock:
            self.retries += 1


class PlatformClient:
    """Call one shop's platform API; thread-safe."""

    def __init__(self, api: PlatformApi, credentials: Credentials, *, gateway: str | None = None, rate: float | None = None,
                 retries: int | None = None, backoff: float = 0.5, max_backoff: float = 30.0, timeout: float | None = None) -> None:
        self.api = api
        self.credentials = credentials
        self.gateway = (gateway or os.environ.get(api.gateway_env) or api.gateway).rstrip("/")
        self.rate = rate or api.rate_limit
        self.stopped = threading.Event()
        self.bucket = TokenBucket(paced(self.rate), sleep=self._sleep)
        self.attempts = 1 + (api.retries if retries is None else retries)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.timeout = timeout or api.timeout
        self.redactor = Redactor(credentials.secrets())
        self.stats = CallStats()
        self.fatal: PlatformError | None = None
        self._local = threading.local()

    def stop(self) -> None:
        self.stopped.set()

    def _sleep(self, seconds: float) -> None:
        if self.stopped.wait(seconds):
            raise _Stopped()

    def pause(self, seconds: float, step: str = "publish") -> None:
        """Wait ``seconds`` between attempts or polls; raise :class:`PlatformError` when the run is interrupted meanwhile."""
        try:
            self._sleep(seconds)
        except _Stopped:
            raise PlatformError("publish.interrupted", step=step, ambiguous=True) from None

    def call(self, method: str, params: Mapping[str, Any], *, offer_id: str, step: str = "publish",
             files: Mapping[str, tuple[str, bytes, str]] | None = None, retry_sent: bool = True) -> Any:
        """Call ``method`` and return the parsed response; raise :class:`PlatformError`.

        With ``retry_sent`` false nothing is retried: a transient failure is raised with
        ``transient`` set, and with ``ambiguous`` set when the platform may have acted on the
        request (timeout, dropped connection, server error), so the caller can look the product
        up instead of creating it twice.
        """
        if self.fatal is not None:
            raise PlatformError("publish.aborted", step=step, offer_id=offer_id, codes=self.fatal.codes, params=dict(self.fatal.params))

        attempts = self.attempts if retry_sent else 1
        retrying = Retrying(stop=stop_after_attempt(attempts), wait=self._wait, sleep=self._sleep,
                            retry=retry_if_exception_type(_Transient), before_sleep=lambda state: self._note_retry(method, offer_id, state),
                            reraise=False)
        try:
            return retrying(self._attempt, method, params, files, offer_id, step)
        except _Stopped:
            raise PlatformError("publish.interrupted", step=step, offer_id=offer_id, ambiguous=True) from None
        except RetryError as error:
            last = error.last_attempt.exception()
            reason = {lang: self.redactor.text(text) for lang, text in last.reason.items()}
            ambiguous = getattr(last, "ambiguous", True)
            key = "publish.unanswered" if ambiguous and not retry_sent else "publish.retries_exhausted"
            log.info("%s for offer %s failed after %d attempt(s): %s", method, offer_id, attempts, reason["en"])
            raise PlatformError(key, step=step, offer_id=offer_id, method=method, attempts=attempts, reason=reason,
                                codes=getattr(last, "codes", ()), ambiguous=ambiguous, transient=True) from None

    def _attempt(self, method: str, params: Mapping[str, Any], files, offer_id: str, step: str) -> Any:
        self.bucket.acquire()
        request = self._sign(method, params, files)
        self.stats.add(method)
        started = time.monotonic()

        try:
            body = request.body if request.body is not None else (request.data or None)
            response = self._http().request(request.method, request.url, params=request.params or None, data=body,
                                            files=request.files or None, headers=request.headers or None, timeout=self.timeout,
                                            allow_redirects=False, stream=True)
            body = self._read_body(offer_id, step, response)
        except (requests.Timeout, requests.ConnectionError) as error:
            key = "fetch.reason.timeout" if isinstance(error, requests.Timeout) else "fetch.reason.connection"
            reason = _reason(key, seconds=f"{self.timeout:g}", kind=f"{type(error).__name__} ({self.api.gateway_env}={_host_of(self.gateway)})")
            failure = _Transient(reason)
            failure.ambiguous = not _never_sent(error)
            raise failure from None
        except requests.RequestException as error:
            raise PlatformError("publish.request_failed", step=step, offer_id=offer_id, detail=self.redactor.text(str(error)),
                                env=self.api.gateway_env) from None

        log.debug("%s %s -> %s in %.0f ms", method, self.redactor.text(response.url), response.status_code, (time.monotonic() - started) * 1000)
        return self._check(method, offer_id, step, response, body)

    def _sign(self, method: str, params: Mapping[str, Any], files):
        if self.api.scheme == "douyin_hmac_sha256":
            return signing.sign_douyin(self.gateway, method, params, self.credentials)
        sign_method = "hmac" if self.api.scheme == "top_hmac" else "md5"
        return signing.sign_top(self.gateway, method, _flat_text(params), self.credentials, sign_method=sign_method, files=files)

    def _read_body(self, offer_id: str, step: str, response: requests.Response) -> bytes:
        limit = self.api.max_response_bytes
        return read_capped(response, limit, lambda: PlatformError("source.response_too_large", step=step, offer_id=offer_id, limit=limit))

    def _check(self, method: str, offer_id: str, step: str, response: requests.Response, body: bytes) -> Any:
        parsed = _parse(body)
        codes, message = self.error_of(parsed)
        retry_after = _retry_after(response.headers.get("Retry-After"))

        if codes and self.api.is_transient(codes):
            limited = self.api.is_rate_limit(codes)
            if limited:
                rate = self.bucket.slow_down()
                log.warning("rate limited (%s); lowering the request rate to %.2f/s", "/".join(codes), rate)
                self.bucket.hold_off(retry_after or 1 / self.bucket.rate)
            elif retry_after:
                self.bucket.hold_off(min(retry_after, 120.0))
            key = "fetch.reason.rate_limited" if limited else "fetch.reason.busy"
            failure = _Transient(_reason(key, code="/".join(codes)), retry_after, limited)
            failure.codes = codes
            # A rate-limit error comes from the gateway before the method runs; a server error may come after it did.
            failure.ambiguous = not limited
            raise failure

        if (response.status_code >= 500 and response.status_code not in (501, 505)) or response.status_code == 429:
            if response.status_code == 429:
                self.bucket.slow_down()
            failure = _Transient(_reason("fetch.reason.http", status=response.status_code), retry_after, response.status_code == 429)
            # 429 refuses the request. A 5xx, even 503, may come from a proxy after the platform acted on it.
            failure.ambiguous = response.status_code != 429
            raise failure

        if 300 <= response.status_code < 400:
            raise PlatformError("publish.redirect", step=step, offer_id=offer_id, status=response.status_code, env=self.api.gateway_env)

        if codes or response.status_code >= 400 or parsed is None:
            self._fail(method, offer_id, step, response.status_code, codes, message, parsed is None)

        self.bucket.recover(paced(self.rate))
        return parsed

    def error_of(self, parsed: Any) -> tuple[tuple[str, ...], str | None]:
        """Return the codes (sub code first) and message of an error response, or ``((), None)`` for success."""
        if not isinstance(parsed, dict):
            return (), None
        code = self.api.error_code.search(parsed)
        if code in (None, "", False) or str(code) in self.api.success_codes:
            return (), None

        sub_code = self.api.error_sub_code.search(parsed) if self.api.error_sub_code is not None else None
        codes = tuple(str(value) for value in (sub_code, code) if value not in (None, "", False))
        message = self.api.error_message.search(parsed)
        return codes, None if message is None else str(message)

    def _fail(self, method: str, offer_id: str, step: str, status: int, codes: tuple[str, ...], message: str | None, unreadable: bool) -> None:
        if unreadable or not codes:
            # Not a response of the platform, which always sends its error envelope: a proxy, a web server or a wrong port.
            raise PlatformError("publish.not_platform_answer", step=step, offer_id=offer_id, method=method, status=status,
                                env=self.api.gateway_env, gateway=_host_of(self.gateway))

        advice = self.api.advice_for(codes)
        error = PlatformError(
            "publish.api_error", step=step, offer_id=offer_id, codes=codes, field=_field_in(codes, message),
            method=method, status=status, error_code="/".join(codes) or "-", message=self.redactor.text(message or ""),
            advice=dict(advice) if advice else {"zh": "请按平台提示修改规则文件或店铺设置", "en": "change the rule file or the shop settings as the platform says"},
        )
        if codes and self.api.is_fatal(codes):
            self.fatal = error
        raise error

    def _wait(self, state) -> float:
        return backoff_delay(state, self.backoff, self.max_backoff)

    def _note_retry(self, method: str, offer_id: str, state) -> None:
        self.stats.add_retry()
        error = state.outcome.exception()
        reason = error.reason["en"] if isinstance(error, _Transient) else str(error)
        log.info("retrying %s for offer %s after attempt %d: %s", method, offer_id, state.attempt_number, self.redactor.text(reason))

    def _http(self) -> requests.Session:
        return thread_session(self._local)


def _flat_text(params: Mapping[str, Any]) -> dict[str, str]:
    """TOP takes every parameter as text: numbers exactly, booleans as true/false, structures as JSON."""
    flat = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flat[name] = "true" if value else "false"
        elif isinstance(value, (int, Decimal, str)):
            flat[name] = str(value)
        else:
            flat[name] = jsonio.dumps(value)
    return flat


def _field_in(codes: tuple[str, ...], message: str | None) -> str | None:
    """Name the payload field a parameter error points at, when the platform's sub code carries one (``isv.invalid-parameter:title``)."""
    for code in codes:
        if ":" in code:
            candidate = code.rsplit(":", 1)[1]
            if candidate and not candidate.isdigit():
                return candidate
    return None


def _host_of(url: str) -> str:
    """Return scheme, host and port of a gateway address, without any path or query that might carry a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _never_sent(error: requests.RequestException) -> bool:
    """Tell whether a transport failure happened before the request left (the connection was never made)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)
