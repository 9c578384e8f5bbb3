"""Fetch raw offers from a 1688 API: signed, rate-limited, retried, optionally cached.

A source definition (``rules/sources/<name>.yaml``) describes one API as data: gateway, path,
signing scheme, id parameter, where error codes sit, which codes are transient, the rate limit
and advice per permanent error. :class:`HttpSource` turns it into ``fetch(offer_id)``:

- every request waits for a token from one bucket per source, so no second has more requests
  than the rate allows;
- timeouts, connection errors, HTTP 5xx and 429 and the definition's transient codes are
  retried with exponential backoff and jitter, honouring ``Retry-After``;
- signature, permission and parameter errors fail the offer at once, with the definition's
  advice;
- secrets never leave this module unredacted.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import jmespath
import requests
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from etl import jsonio
from etl.errors import OfferError, UsageError
from etl.paths import data_dir
from etl.ratelimit import TokenBucket, paced
from etl.redact import Redactor
from etl.signing import SCHEMES, Credentials
from etl.yamlfile import load_yaml

log = logging.getLogger("etl.fetch")

SOURCE_KEYS = ("name", "description", "profile", "scheme", "gateway", "gateway_env", "credentials", "path", "params", "id_param",
               "rate_limit", "timeout", "retries", "error_code", "error_message", "success_codes", "transient_codes",
               "rate_limit_codes", "fatal_codes", "advice", "default", "max_response_bytes")

# Environment variables and credentials-file section of the official 1688 app, the default.
OFFICIAL_CREDENTIALS = {"key": "ETL_1688_APP_KEY", "secret": "ETL_1688_APP_SECRET", "token": "ETL_1688_ACCESS_TOKEN", "section": "1688"}

MAX_RETRY_AFTER = 120.0  # seconds; a longer pause request fails the offer instead of freezing the run

ENV_CREDENTIALS_FILE = "ETL_CREDENTIALS_FILE"


# -- source definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceDefinition:
    """One 1688 API described as data."""

    name: str
    path: str
    profile: str
    scheme: str
    gateway: str
    url_path: str
    params: Mapping[str, str]
    id_param: str
    rate_limit: float
    timeout: float
    retries: int
    error_code: Any
    error_message: Any
    success_codes: tuple[str, ...]
    transient_codes: tuple[str, ...]
    advice: Mapping[str, Mapping[str, str]]
    default: bool = False  # the source chosen for its profile when --api is not given
    gateway_env: str = "ETL_1688_GATEWAY"  # environment variable that replaces ``gateway``
    credentials: Mapping[str, str] = field(default_factory=lambda: dict(OFFICIAL_CREDENTIALS))
    fatal_codes: tuple[str, ...] = ()  # codes that stop every later request of the run (bad key, secret, token)
    rate_limit_codes: tuple[str, ...] = ()  # transient codes that mean "too fast", which lower the request rate
    max_response_bytes: int = 20 * 1024 * 1024

    def is_rate_limit(self, code: str) -> bool:
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.rate_limit_codes)

    def is_fatal(self, code: str) -> bool:
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.fatal_codes)

    def is_transient(self, code: str) -> bool:
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.transient_codes)

    def advice_for(self, code: str) -> Mapping[str, str] | None:
        for pattern, texts in self.advice.items():
            if fnmatch.fnmatchcase(code, pattern):
                return texts
        return None


def source_folders(near: Path | None = None) -> list[Path]:
    folders = [near / "sources"] if near is not None else []
    folders.append(data_dir("rules") / "sources")
    return [folder for folder in folders if folder.is_dir()]


def available_sources(near: Path | None = None) -> list[str]:
    names = set()
    for folder in source_folders(near):
        names.update(path.stem for path in folder.glob("*.yaml"))
    return sorted(names)


def find_source(name: str | None, profile: str, near: Path | None = None) -> SourceDefinition:
    """Load the source named ``name``, or the first one whose profile is ``profile``; raise UsageError."""
    candidates = []
    for folder in source_folders(near):
        candidates.extend(sorted(folder.glob("*.yaml")))

    if name is not None:
        for path in candidates:
            if path.stem == name:
                return load_source(path)
        from etl.expressions import suggest

        known = available_sources(near)
        raise UsageError("fetch.unknown_source", name=name, suggestion=suggest(name, known) or "", allowed=", ".join(known))

    matching = [definition for definition in map(load_source, candidates) if definition.profile == profile]
    for definition in sorted(matching, key=lambda item: not item.default):
        return definition
    raise UsageError("fetch.no_source_for_profile", profile=profile, allowed=", ".join(available_sources(near)))


def load_source(path: str | Path) -> SourceDefinition:
    """Load a source definition; a missing or invalid field is a :class:`UsageError` naming the file."""
    document = load_yaml(path)
    data = document.data if isinstance(document.data, dict) else {}
    unknown = [key for key in data if key not in SOURCE_KEYS]
    required = ["name", "profile", "scheme", "gateway", "path", "id_param"]
    if data.get("scheme") != "aop_hmac_sha1":
        # Only the official 1688 gateway may use the official app's variables by default.
        required += ["credentials", "gateway_env"]
    missing = [key for key in required if key not in data]
    if unknown or missing or data.get("scheme") not in SCHEMES:
        raise UsageError("fetch.bad_source", path=str(path), unknown=", ".join(map(str, unknown)) or "-",
                         missing=", ".join(missing) or "-", schemes=", ".join(SCHEMES))

    return SourceDefinition(
        name=str(data["name"]),
        path=str(path),
        profile=str(data["profile"]),
        scheme=str(data["scheme"]),
        gateway=str(data["gateway"]),
        url_path=str(data["path"]),
        params={str(key): str(value) for key, value in (data.get("params") or {}).items()},
        id_param=str(data["id_param"]),
        rate_limit=float(data.get("rate_limit", 1)),
        timeout=float(data.get("timeout", 20)),
        retries=int(data.get("retries", 5)),
        error_code=jmespath.compile(str(data.get("error_code", "error_code"))),
        error_message=jmespath.compile(str(data.get("error_message", "error_message"))),
        success_codes=tuple(str(code) for code in data.get("success_codes") or ()),
        transient_codes=tuple(str(code) for code in data.get("transient_codes") or ()),
        advice={str(code): dict(texts) for code, texts in (data.get("advice") or {}).items()},
        default=bool(data.get("default", False)),
        gateway_env=str(data.get("gateway_env", "ETL_1688_GATEWAY")),
        credentials={**OFFICIAL_CREDENTIALS, **{str(k): str(v) for k, v in (data.get("credentials") or {}).items()}},
        fatal_codes=tuple(str(code) for code in data.get("fatal_codes") or ()),
        rate_limit_codes=tuple(str(code) for code in data.get("rate_limit_codes") or ()),
        max_response_bytes=int(data.get("max_response_bytes", 20 * 1024 * 1024)),
    )


# -- credentials ------------------------------------------------------------------------------


def load_credentials(definition: SourceDefinition, file: str | Path | None = None) -> Credentials | None:
    """Read the source's credentials from the environment, else from a credentials file outside the repository.

    Each source names its variables and file section (the official app: ``ETL_1688_APP_KEY``,
    ``ETL_1688_APP_SECRET``, ``ETL_1688_ACCESS_TOKEN`` and section ``1688``), so one platform's
    secret is never sent to another. The file (``--credentials``, ``ETL_CREDENTIALS_FILE`` or
    ``~/.config/etl/credentials.yaml``) contains ``"1688": {app_key: ..., app_secret: ...,
    access_token: ...}``. Returns ``None`` when neither gives a key and secret.
    """
    names = definition.credentials
    key, secret = os.environ.get(names["key"]), os.environ.get(names["secret"])
    if key and secret:
        return Credentials(key, secret, os.environ.get(names["token"]) or None)

    explicit = file or os.environ.get(ENV_CREDENTIALS_FILE)
    path = Path(explicit) if explicit else Path.home() / ".config" / "etl" / "credentials.yaml"
    if not path.is_file():
        if explicit:
            raise UsageError("fetch.credentials_file_missing", path=str(path))
        return None

    if _inside_repository(path):
        raise UsageError("fetch.credentials_in_repository", path=str(path))

    section = _credentials_section(path, names["section"])
    if not isinstance(section, dict) or not section.get("app_key") or not section.get("app_secret"):
        raise UsageError("fetch.credentials_file_invalid", path=str(path), section=names["section"])
    return Credentials(str(section["app_key"]), str(section["app_secret"]), str(section.get("access_token") or "") or None)


def _credentials_section(path: Path, name: str) -> Any:
    """Read one section of a credentials file; a broken file is reported without echoing its lines."""
    from etl.errors import RuleError

    try:
        data = load_yaml(path).data
    except RuleError:
        raise UsageError("fetch.credentials_file_invalid", path=str(path), section=name) from None

    if not isinstance(data, dict):
        return None
    # YAML reads an unquoted 1688: as the number 1688.
    return data.get(name, data.get(int(name)) if name.isdigit() else None)


def _inside_repository(path: Path) -> bool:
    """Tell whether ``path`` lies in a git work tree, where a credentials file could be committed by accident."""
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return True
    return False


# -- fetching ---------------------------------------------------------------------------------


def _reason(key: str, **params: Any) -> dict[str, str]:
    """Render a retry reason in both languages, for logs (English) and the offer's final message."""
    from etl.messages import render

    return {lang: render(key, lang, **params) for lang in ("zh", "en")}


class _Transient(Exception):
    """A failure worth retrying; ``reason`` is ``{"zh": ..., "en": ...}``, ``retry_after`` the server's pause in seconds."""

    def __init__(self, reason: dict[str, str], retry_after: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(reason["en"])
        self.reason = reason
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class _Stopped(Exception):
    """The run is being interrupted; waiting stops at once."""


@dataclass
class FetchStats:
    """Counters the progress display reads; updated from worker threads."""

    requests: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests_made: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.requests += requests_made
            self.retries += retries


class HttpSource:
    """Fetch raw responses for offer ids from one API; thread-safe."""

    def __init__(self, definition: SourceDefinition, credentials: Credentials, *, gateway: str | None = None,
                 rate: float | None = None, timeout: float | None = None, retries: int | None = None,
                 backoff: float = 0.5, max_backoff: float = 30.0, session: requests.Session | None = None) -> None:
        self.definition = definition
        self.credentials = credentials
        self.gateway = (gateway or os.environ.get(definition.gateway_env) or definition.gateway).rstrip("/")
        self.stopped = threading.Event()
        self.rate = rate or definition.rate_limit
        self.bucket = TokenBucket(paced(self.rate), sleep=self._sleep)
        self.timeout = timeout or definition.timeout
        self.attempts = 1 + (definition.retries if retries is None else retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.redactor = Redactor(credentials.secrets())
        self.stats = FetchStats()
        self.fatal: OfferError | None = None  # set by a bad key, secret or token; later offers fail without a request
        self._local = threading.local()
        self._session = session

    def stop(self) -> None:
        """Make waiting requests give up at once, for Ctrl-C."""
        self.stopped.set()

    def _sleep(self, seconds: float) -> None:
        if self.stopped.wait(seconds):
            raise _Stopped()

    def fetch(self, offer_id: str) -> Any:
        """Return the parsed response for ``offer_id``; raise :class:`OfferError` (step ``source``)."""
        return jsonio.loads(self.fetch_bytes(offer_id))

    def fetch_bytes(self, offer_id: str) -> bytes:
        """Return the raw response body for ``offer_id`` exactly as received."""
        if self.fatal is not None:
            raise OfferError("source.aborted", step="source", offer_id=offer_id, params=dict(self.fatal.params))

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda state: self._note_retry(offer_id, state),
            reraise=False,
        )
        try:
            return retrying(self._attempt, offer_id)
        except _Stopped:
            raise OfferError("source.interrupted", step="source", offer_id=offer_id) from None
        except RetryError as error:
            last = error.last_attempt.exception()
            reason = last.reason if isinstance(last, _Transient) else {"zh": str(last), "en": str(last)}
            key = "source.rate_limited" if isinstance(last, _Transient) and last.rate_limited else "source.retries_exhausted"
            reason = {lang: self.redactor.text(text) for lang, text in reason.items()}
            raise OfferError(key, step="source", offer_id=offer_id, attempts=self.attempts, reason=reason,
                             rate=f"{self.bucket.rate:g}") from None

    def _attempt(self, offer_id: str) -> bytes:
        self.bucket.acquire()
        request = self._sign(offer_id)
        started = time.monotonic()
        self.stats.add(requests_made=1)

        try:
            # Redirects are not followed: a signed request must never be replayed to another host.
            response = self._http().request(request.method, request.url, params=request.params or None,
                                            data=request.data or None, timeout=self.timeout, allow_redirects=False, stream=True)
            body = self._read_body(offer_id, response)
        except requests.Timeout:
            raise _Transient(_reason("fetch.reason.timeout", seconds=f"{self.timeout:g}")) from None
        except requests.ConnectionError as error:
            raise _Transient(_reason("fetch.reason.connection", kind=type(error).__name__)) from None
        except requests.RequestException as error:
            raise OfferError("source.request_failed", step="source", offer_id=offer_id,
                             detail=self.redactor.text(str(error))) from None

        log.debug("%s %s -> %s in %.0f ms", request.method, self.redactor.text(response.url), response.status_code,
                  (time.monotonic() - started) * 1000)
        return self._check(offer_id, response, body)

    def _read_body(self, offer_id: str, response: requests.Response) -> bytes:
        limit = self.definition.max_response_bytes
        return read_capped(response, limit, lambda: OfferError("source.response_too_large", step="source", offer_id=offer_id, limit=limit))

    def _check(self, offer_id: str, response: requests.Response, body: bytes) -> bytes:
        parsed = _parse(body)
        code, message = self._error_of(parsed)
        retry_after = _retry_after(response.headers.get("Retry-After"))

        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            raise OfferError("source.retry_after_too_long", step="source", offer_id=offer_id, seconds=f"{retry_after:g}")

        if code is not None and self.definition.is_transient(code):
            limited = self.definition.is_rate_limit(code)
            if limited:
                # The server reported "too fast", so every worker slows down, not only this one.
                rate = self.bucket.slow_down()
                log.warning("rate limited (%s); lowering the request rate to %.2f/s", code, rate)
                self.bucket.hold_off(retry_after or 1 / self.bucket.rate)
            elif retry_after:
                self.bucket.hold_off(retry_after)
            key = "fetch.reason.rate_limited" if limited else "fetch.reason.busy"
            raise _Transient(_reason(key, code=code), retry_after, rate_limited=limited)

        if response.status_code >= 500 or response.status_code == 429:
            if retry_after:
                self.bucket.hold_off(retry_after)
            if response.status_code == 429:
                self.bucket.slow_down()
            raise _Transient(_reason("fetch.reason.http", status=response.status_code), retry_after, rate_limited=response.status_code == 429)

        if 300 <= response.status_code < 400:
            raise OfferError("source.redirect", step="source", offer_id=offer_id, status=response.status_code,
                             location=self.redactor.text(response.headers.get("Location", "-")), env=self.definition.gateway_env)

        if response.status_code >= 400 or (code is not None and self.definition.advice_for(code) is not None):
            self._fail_permanently(offer_id, response.status_code, code, message)

        if parsed is None:
            raise _Transient(_reason("fetch.reason.bad_json"))

        self.bucket.recover(paced(self.rate))
        return body

    def _fail_permanently(self, offer_id: str, status: int, code: str | None, message: str | None) -> None:
        advice = self.definition.advice_for(code) if code else None
        error = OfferError(
            "source.api_error",
            step="source",
            offer_id=offer_id,
            status=status,
            code=code or "-",
            message=self.redactor.text(message or ""),
            advice=dict(advice) if advice else {"zh": "请检查接口定义和请求参数", "en": "check the source definition and the request parameters"},
        )
        if code and self.definition.is_fatal(code):
            self.fatal = error
        raise error

    def error_of(self, parsed: Any) -> tuple[str | None, str | None]:
        """Return the (code, message) of an error response, or (None, None) for data."""
        return self._error_of(parsed)

    def _error_of(self, parsed: Any) -> tuple[str | None, str | None]:
        if not isinstance(parsed, dict):
            return None, None

        code = self.definition.error_code.search(parsed)
        if code in (None, "", False) or str(code) in self.definition.success_codes:
            return None, None

        message = self.definition.error_message.search(parsed)
        return str(code), None if message is None else str(message)

    def _sign(self, offer_id: str):
        definition = self.definition
        params = dict(definition.params)
        params[definition.id_param] = offer_id
        path = definition.url_path.format(app_key=self.credentials.app_key)
        return SCHEMES[definition.scheme](self.gateway, path, params, self.credentials)

    def _wait(self, state) -> float:
        return backoff_delay(state, self.backoff, self.max_backoff)

    def _note_retry(self, offer_id: str, state) -> None:
        self.stats.add(retries=1)
        error = state.outcome.exception()
        reason = error.reason["en"] if isinstance(error, _Transient) else str(error)
        log.info("retrying offer %s after attempt %d: %s", offer_id, state.attempt_number, self.redactor.text(reason))

    def _http(self) -> requests.Session:
        return self._session if self._session is not None else thread_session(self._local)


def read_capped(response: requests.Response, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """Read a streamed body of at most ``limit`` bytes and close it; raise ``too_large()`` beyond, instead of exhausting memory."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def backoff_delay(state, backoff: float, max_backoff: float) -> float:
    """Return tenacity's wait before the next attempt: exponential backoff with full jitter, never shorter than a server's Retry-After."""
    error = state.outcome.exception()
    ceiling = min(max_backoff, backoff * 2 ** (state.attempt_number - 1))
    delay = random.uniform(0, ceiling)
    if isinstance(error, _Transient) and error.retry_after:
        delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER))
    return delay


def thread_session(local: threading.local) -> requests.Session:
    """Return this thread's HTTP session, made on first use, ignoring proxies from the environment."""
    session = getattr(local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # proxies from the environment must not see signed requests by surprise
        local.session = session
    return session


def _business_failure(raw: Any) -> bool:
    """Recognise the AOP business-error bodies that carry no error code field of their own."""
    return isinstance(raw, dict) and (raw.get("success") in (False, "false") or (isinstance(raw.get("result"), dict) and raw["result"].get("success") is False))


def _parse(body: bytes) -> Any:
    try:
        return jsonio.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


# -- cache ------------------------------------------------------------------------------------


class CachedSource:
    """Serve ``DIR/<offer_id>.json`` when younger than ``max_age`` seconds, else fetch and save it."""

    def __init__(self, source: HttpSource, folder: str | Path, max_age: float) -> None:
        self.source = source
        # One subfolder per API, because each API returns a different body for the same offer id.
        self.folder = Path(folder) / source.definition.name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_age = max_age
        self.hits = 0
        self.redactor = source.redactor

    def stop(self) -> None:
        self.source.stop()

    def fetch(self, offer_id: str) -> Any:
        path = self.folder / f"{offer_id}.json"
        if path.is_file() and time.time() - path.stat().st_mtime <= self.max_age:
            self.hits += 1
            return jsonio.loads(path.read_bytes().decode("utf-8-sig"))

        body = self.source.fetch_bytes(offer_id)
        raw = jsonio.loads(body.decode("utf-8-sig"))
        code, _ = self.source.error_of(raw)
        # An error response (quota, balance, offline) may change soon, so it is not cached.
        if code is None and not _business_failure(raw):
            save_raw(path, body)
        return raw


def save_raw(path: Path, body: bytes) -> None:
    """Write a response body byte for byte, atomically, so ``--source`` replays exactly what arrived.

    The temporary file has a unique name, so two runs sharing a cache folder never collide.
    """
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
