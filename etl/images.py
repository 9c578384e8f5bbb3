"""Download source images safely and point detail HTML at their re-hosted copies.

Offer images live on Alibaba's CDN, and Taobao and Douyin reject product fields and
descriptions that point there. So before a draft is published, the publisher downloads each
image with :class:`ImageFetcher`, uploads it to the platform and rewrites the detail HTML with
:func:`rewrite_html_images`. Image addresses come from seller data, so every download is
treated as a request chosen by an outsider:

- only http(s) URLs without ``user:password@``, on hosts the :class:`ImagePolicy` allows;
- every address the host resolves to must be public (not loopback, private, link-local,
  multicast, reserved or unspecified), unless the policy allows private addresses;
- the connection goes to the address that was checked, not to a second DNS answer, so a name
  that resolves differently between the check and the connection (DNS rebinding) cannot reach
  an internal address;
- redirects are followed by hand, at most :data:`MAX_REDIRECTS`, and each hop is checked again;
- the size, the declared content type and the magic bytes are checked;
- no ``Referer`` header is sent, because the 1688 CDN returns 403 for a foreign ``Referer``;
- errors show URLs with user info and query values replaced by ``***``.
"""

from __future__ import annotations

import hashlib
import html as html_escaping
import ipaddress
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from lxml import etree
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from etl.errors import DataError, UsageError

# The parser and the lazy-load resolution of clean_html, so that rewriting finds the same
# image addresses that html_images lists.
from etl.filters.html import LAZY_SRC_ATTRIBUTES, _absolute_url, _lazy_source, _parse_body, html_images

log = logging.getLogger("etl.images")

ENV_HOSTS = "ETL_IMAGE_HOSTS"
ENV_ALLOW_PRIVATE = "ETL_IMAGE_ALLOW_PRIVATE"

# Every alicdn.com name belongs to Alibaba's image and static-file CDN, and 1688 detail HTML
# mixes several of them (cbu01 for 1688 uploads, img for Taobao-hosted pictures). The address
# check still applies to each of them.
DEFAULT_HOSTS = ("*.alicdn.com", "global-img-cdn.1688.com")

# NOTE: the platforms give their image limits in "MB" without saying whether that is 10**6 or
# 2**20 bytes. The publisher passes the platform's own limit, so this default is a fallback.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

IMAGE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

MASK = "***"

_CHUNK_BYTES = 64 * 1024
_MAX_SHOWN_URL = 300  # characters of a URL shown in a message, because a data: URL can be megabytes

# Non-standard names some servers send for JPEG.
_CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}

# Headers a caller's session may carry that must not reach the CDN.
_DROPPED_HEADERS = ("Referer", "Cookie", "Authorization")


# -- original image URLs ------------------------------------------------------------------------

_IMAGE_EXTENSION = r"\.(?:jpe?g|png|gif|webp)"

# "X.jpg_400x400.jpg", "X.jpg_400x400q90.jpg", "X.jpg_b.jpg", "X.jpg_.webp": the CDN derives a
# resized or re-encoded copy by appending to the original's name.
_SUFFIX_AFTER_EXTENSION = re.compile(rf"({_IMAGE_EXTENSION})_[a-z0-9]*{_IMAGE_EXTENSION}$", re.IGNORECASE)

# "X.460x460xz.jpg", "X.220x220.jpg": thumbnails of older 1688 uploads, named X.jpg originally.
_DOTTED_SIZE = re.compile(rf"\.\d+x\d+[a-z0-9]*({_IMAGE_EXTENSION})$", re.IGNORECASE)

# "X_120x120.jpg" with no extension before the size.
# NOTE: the original is assumed to have the thumbnail's extension. No sample shows this form.
_UNDERSCORE_SIZE = re.compile(rf"_\d+x\d+[a-z0-9]*({_IMAGE_EXTENSION})$", re.IGNORECASE)

_CACHE_BUSTER = "__r__"


def original_url(url: str) -> str:
    """Return the address of the full-size original behind a 1688 or alicdn image URL.

    Size and format suffixes (``.jpg_400x400.jpg``, ``_120x120.jpg``, ``.460x460xz.jpg``,
    ``.jpg_.webp``, ``.jpg_b.jpg`` and chains of them) and the ``__r__`` query parameter are
    removed, on ``alicdn.com`` and ``1688.com`` hosts only. A protocol-relative
    ``//host/...`` gets ``https:``. Surrounding whitespace is removed. Anything else, including
    URLs of other hosts, is returned unchanged.
    """
    text = url.strip()
    if text.startswith("//"):
        text = "https:" + text

    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not _is_alibaba_cdn(parts.hostname):
        return text

    path = _strip_size_suffixes(parts.path)
    query = "&".join(pair for pair in parts.query.split("&") if pair.partition("=")[0] != _CACHE_BUSTER)
    if path == parts.path and query == parts.query:
        return text

    return urlunsplit(parts._replace(path=path, query=query))


def _is_alibaba_cdn(host: str | None) -> bool:
    if not host:
        return False

    host = host.rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in ("alicdn.com", "1688.com"))


def _strip_size_suffixes(path: str) -> str:
    """Remove one suffix at a time from the end, always trying the patterns in order.

    The order matters: in ``X.png_400x400.jpg`` the suffix after ``.png`` must go whole,
    before the ``_400x400.jpg`` pattern could turn it into ``X.png.jpg``.
    """
    while True:
        for pattern in (_SUFFIX_AFTER_EXTENSION, _DOTTED_SIZE, _UNDERSCORE_SIZE):
            shorter = pattern.sub(r"\1", path)
            if shorter != path:
                path = shorter
                break
        else:
            return path


def redact_url(url: str) -> str:
    """Return ``url`` fit for messages and logs.

    User info and each query value become ``***`` (parameter names stay), the fragment is
    dropped and the path is kept. A result longer than 300 characters is cut and ends in "…".
    Works on text that is not a valid URL too.
    """
    text = str(url).partition("#")[0]
    base, question, query = text.partition("?")

    scheme, slashes, rest = base.partition("//")
    if slashes:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            authority = MASK + "@" + authority.rpartition("@")[2]
        base = scheme + slashes + authority + slash + path

    redacted_url = base
    if question:
        redacted_url += "?" + "&".join(_masked_pair(pair) for pair in query.split("&"))

    if len(redacted_url) > _MAX_SHOWN_URL:
        redacted_url = redacted_url[: _MAX_SHOWN_URL - 1] + "…"
    return redacted_url


def _masked_pair(pair: str) -> str:
    if not pair:
        return pair

    name, equals, _ = pair.partition("=")
    return f"{name}={MASK}" if equals else MASK


# -- policy -------------------------------------------------------------------------------------

_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*")

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class ImagePolicy:
    """The rules a download must pass: hosts, schemes, addresses, size, types and time limits.

    An entry of ``hosts`` is an exact host name (``cbu01.alicdn.com``), an IP address, or
    ``*.domain``, which matches every name below ``domain`` at any depth
    (``a.b.domain``) but not ``domain`` itself. Entries are normalised to lower case without a
    trailing dot, and an invalid entry raises ``UsageError`` (``image.bad_host_entry``).
    ``allow_private`` turns the address check off, for a mirror on an internal network or a
    test server on 127.0.0.1.
    """

    hosts: tuple[str, ...] = DEFAULT_HOSTS
    max_bytes: int = DEFAULT_MAX_BYTES
    content_types: frozenset[str] = IMAGE_CONTENT_TYPES
    allow_private: bool = False
    schemes: tuple[str, ...] = ("https", "http")
    timeout: float = 10.0  # seconds to connect, and the longest silence while reading
    download_timeout: float = 60.0  # seconds for one whole response, checked between reads

    def __post_init__(self) -> None:
        if isinstance(self.hosts, str):
            raise TypeError("ImagePolicy.hosts must be a sequence of host names, not one string")
        if not isinstance(self.max_bytes, int) or self.max_bytes <= 0:
            raise ValueError(f"ImagePolicy.max_bytes must be a positive number of bytes, not {self.max_bytes!r}")
        if not self.timeout > 0 or not self.download_timeout > 0:
            raise ValueError("ImagePolicy timeouts must be positive numbers of seconds")

        object.__setattr__(self, "hosts", tuple(_host_pattern(entry) for entry in self.hosts))
        object.__setattr__(self, "content_types", frozenset(kind.lower() for kind in self.content_types))
        object.__setattr__(self, "schemes", tuple(scheme.lower() for scheme in self.schemes))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, platform_max_bytes: int | None = None) -> ImagePolicy:
        """Build the policy from ``ETL_IMAGE_HOSTS``, ``ETL_IMAGE_ALLOW_PRIVATE`` and the platform's size limit.

        ``ETL_IMAGE_HOSTS`` is a comma-separated list that replaces :data:`DEFAULT_HOSTS`.
        Spaces and empty entries are ignored, and a value with no entries keeps the default.
        ``ETL_IMAGE_ALLOW_PRIVATE`` is ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/
        ``off``/empty. ``platform_max_bytes`` is the platform's upload limit in bytes, None for
        :data:`DEFAULT_MAX_BYTES`. ``environ`` defaults to ``os.environ``. Raises
        ``UsageError`` for a bad host entry or flag value.
        """
        environ = os.environ if environ is None else environ
        settings: dict[str, Any] = {"allow_private": _flag(environ.get(ENV_ALLOW_PRIVATE))}

        entries = [entry.strip() for entry in environ.get(ENV_HOSTS, "").split(",")]
        entries = [entry for entry in entries if entry]
        if entries:
            settings["hosts"] = tuple(entries)

        if platform_max_bytes is not None:
            settings["max_bytes"] = platform_max_bytes

        return cls(**settings)

    def allows_host(self, host: str) -> bool:
        """Tell whether ``host`` (a name or IP address, any case) matches one of ``hosts``."""
        name = _normal_host(host)
        for pattern in self.hosts:
            if pattern.startswith("*."):
                if name.endswith(pattern[1:]):
                    return True
            elif name == pattern:
                return True

        return False


def _flag(value: str | None) -> bool:
    word = (value or "").strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False

    raise UsageError("image.bad_allow_private", value=value, env=ENV_ALLOW_PRIVATE)


def _host_pattern(entry: str) -> str:
    """Normalise one ``hosts`` entry, raising ``UsageError`` for one that is not a host name, IP address or ``*.domain``."""
    text = str(entry).strip().lower()
    address = _ip_literal(text)
    if address is not None:
        return address

    text = text.rstrip(".")
    wildcard = text.startswith("*.")
    name = text[2:] if wildcard else text

    # A wildcard needs at least two labels after it, so "*.com" cannot allow a whole top-level domain.
    valid = bool(_HOST_NAME.fullmatch(name)) and (not wildcard or "." in name)
    if not valid:
        raise UsageError("image.bad_host_entry", entry=str(entry).strip(), env=ENV_HOSTS)

    return text


def _ip_literal(text: str) -> str | None:
    """Return the canonical form of an IP address written as ``1.2.3.4``, ``::1`` or ``[::1]``, else None."""
    try:
        return ipaddress.ip_address(text.strip("[]")).compressed
    except ValueError:
        return None


def _normal_host(host: str) -> str:
    text = host.strip().lower()
    return _ip_literal(text) or text.rstrip(".")


# -- the address check --------------------------------------------------------------------------

Resolver = Callable[..., list]

# Kinds of non-public addresses, as shown in messages.
_KIND_TEXT = {
    "unspecified": {"zh": "未指定", "en": "unspecified"},
    "loopback": {"zh": "回环", "en": "loopback"},
    "link_local": {"zh": "链路本地", "en": "link-local"},
    "multicast": {"zh": "组播", "en": "multicast"},
    "reserved": {"zh": "保留", "en": "reserved"},
    "private": {"zh": "私有网络", "en": "private"},
    "non_public": {"zh": "非公网", "en": "non-public"},
}

# IPv6 prefix of NAT64 (RFC 6052), whose last 32 bits are an IPv4 address that a NAT64
# gateway connects to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class _Target:
    """A URL that passed :func:`check_url`, with the address to connect to."""

    url: str
    scheme: str
    host: str  # ASCII, lower case, no trailing dot
    port: int | None  # the port written in the URL, None for the scheme's default
    path: str  # path and query as written, for the request line
    address: str

    def pinned_url(self) -> str:
        """Return the URL with the checked address in place of the host name."""
        address = self.address.replace("%", "%25")
        netloc = f"[{address}]" if ":" in address else address
        if self.port is not None:
            netloc += f":{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"

    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def check_url(url: str, policy: ImagePolicy, resolve: Resolver = socket.getaddrinfo) -> str:
    """Check that ``url`` may be downloaded under ``policy`` and return the IP address to connect to.

    The checks, in order: the URL parses and has a host, the scheme is one of
    ``policy.schemes``, there is no ``user:password@``, the host is allowed, and every address
    ``resolve`` (same signature as ``socket.getaddrinfo``) returns for the host is public.
    IPv4 addresses inside IPv6 ones (``::ffff:127.0.0.1``, 6to4, NAT64) are checked as IPv4.
    Numeric hosts such as ``2130706433`` or ``0177.0.0.1`` are checked as the resolver reads
    them. Disallowed hosts are rejected before any DNS look-up. Returns the first address.

    Raises ``DataError``: ``image.url_invalid``, ``image.scheme_not_allowed``,
    ``image.credentials_in_url``, ``image.host_not_allowed``, ``image.host_unresolved`` or
    ``image.address_not_public``.
    """
    return _check(url, policy, resolve).address


def _check(url: str, policy: ImagePolicy, resolve: Resolver) -> _Target:
    redacted_url = redact_url(url)
    if not isinstance(url, str):
        raise DataError("image.url_invalid", url=redacted_url)

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise DataError("image.url_invalid", url=redacted_url) from None

    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        raise DataError("image.scheme_not_allowed", url=redacted_url, scheme=parts.scheme, allowed=", ".join(policy.schemes))

    if "@" in parts.netloc:
        raise DataError("image.credentials_in_url", url=redacted_url)

    host = _url_host(parts.hostname)
    if host is None:
        raise DataError("image.url_invalid", url=redacted_url)

    if not policy.allows_host(host):
        raise DataError("image.host_not_allowed", host=host, url=redacted_url, env=ENV_HOSTS, allowed=", ".join(policy.hosts))

    default_port = 443 if scheme == "https" else 80
    address = _public_address(host, port or default_port, policy, resolve)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    return _Target(url=url, scheme=scheme, host=host, port=port, path=path, address=address)


def _url_host(hostname: str | None) -> str | None:
    """Return the URL's host as ASCII without a trailing dot, or None if it is missing or malformed."""
    if not hostname:
        return None

    address = _ip_literal(hostname)
    if address is not None:
        return address

    try:
        ascii_name = hostname.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None

    return ascii_name if _HOST_NAME.fullmatch(ascii_name) else None


def _public_address(host: str, port: int, policy: ImagePolicy, resolve: Resolver) -> str:
    try:
        answers = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise DataError("image.host_unresolved", host=host, reason=reason) from None

    addresses = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer[4][0]))
        except (ValueError, IndexError, TypeError):
            raise DataError("image.host_unresolved", host=host, reason=repr(answer)) from None
    if not addresses:
        raise DataError("image.host_unresolved", host=host, reason="no addresses")

    # Every address is checked, not only the one used, because a name that mixes public and
    # internal addresses is a sign of an attack.
    if not policy.allow_private:
        for address in addresses:
            kind = _non_public_kind(address)
            if kind is not None:
                raise DataError("image.address_not_public", host=host, address=str(address), kind=_KIND_TEXT[kind],
                                env=ENV_ALLOW_PRIVATE)

    return str(addresses[0])


def _non_public_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Name the kind of a non-public address (a key of ``_KIND_TEXT``), or return None for a public one."""
    address = _embedded_ipv4(address) or address
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non_public"  # for example 100.64.0.0/10, shared by carrier-grade NAT

    return None


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that an IPv4-mapped, 6to4 or NAT64 IPv6 address leads to."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)

    return None


# -- fetching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedImage:
    """One downloaded image that passed the policy."""

    url: str  # the URL given to ImageFetcher.fetch
    original_url: str  # the URL downloaded: original_url(url), before any redirect
    content: bytes = field(repr=False)
    content_type: str  # the declared type, confirmed by the magic bytes
    sha256: str  # hex digest of content


def sniff_image_type(content: bytes) -> str | None:
    """Return the MIME type that ``content``'s magic bytes show (JPEG, PNG, GIF or WebP), or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"

    return None


class _Transient(Exception):
    """A failure worth another attempt: a timeout, a connection error or HTTP 5xx."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class _PinnedAddressAdapter(HTTPAdapter):
    """A transport that verifies TLS against the ``Host`` header's name instead of the URL's host.

    :class:`ImageFetcher` puts the checked IP address into the URL, so urllib3 connects to
    that address without a DNS look-up of its own, and sends the real name in the ``Host``
    header. For https this adapter makes that name the TLS server name (SNI) and so the name
    the certificate must match. It relies on ``build_connection_pool_key_attributes``, which
    requests added in 2.32. The pool key includes the server name, so connections are never
    shared between names.
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = _header_host_name(request.headers.get("Host"))
        if host_params.get("scheme") == "https" and name:
            pool_kwargs["server_hostname"] = name

        return host_params, pool_kwargs


def _header_host_name(value: str | None) -> str | None:
    """Return the name in a ``Host`` header value, without the port and IPv6 brackets."""
    if not value:
        return None
    if value.startswith("["):
        return value[1:].partition("]")[0]

    return value.partition(":")[0]


class ImageFetcher:
    """A downloader of images that pass an :class:`ImagePolicy`, safe to share between threads.

    ``session`` is an optional ``requests.Session``. The fetcher mounts its address-pinning
    adapter on it for ``http://`` and ``https://``, and uses its ``headers`` (except
    ``Referer``, ``Cookie`` and ``Authorization``), ``verify`` and ``cert``. The session's
    cookies, auth and proxies are not used, because a proxy would make its own DNS look-up.
    Without a session, each thread gets its own. ``resolve`` is passed to :func:`check_url`.
    ``attempts`` counts the first try, and the waits between attempts are random, up to
    ``backoff * 2**n`` seconds and at most ``max_backoff``.
    """

    def __init__(self, policy: ImagePolicy, session: requests.Session | None = None, *, resolve: Resolver = socket.getaddrinfo,
                 attempts: int = 3, backoff: float = 0.5, max_backoff: float = 4.0) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts!r}")

        self.policy = policy
        self.resolve = resolve
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._shared_session = session
        self._local = threading.local()
        if session is not None:
            _mount_pinning_adapter(session)

    def fetch(self, url: str) -> FetchedImage:
        """Download the original of image ``url`` (see :func:`original_url`) and check it.

        Timeouts, connection errors and HTTP 5xx are tried again, up to ``attempts`` in all.
        Raises ``DataError`` with an ``image.*`` key for anything that fails, and never
        returns an image that broke the policy.
        """
        source = original_url(url)
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            content, content_type = retrying(self._download, source)
        except _Transient as error:
            raise DataError(error.key, **error.params, attempts=self.attempts) from None

        digest = hashlib.sha256(content).hexdigest()
        return FetchedImage(url=url, original_url=source, content=content, content_type=content_type, sha256=digest)

    def _download(self, url: str) -> tuple[bytes, str]:
        """Make one attempt: check, request and follow redirects, then read and check the image."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = _check(current, self.policy, self.resolve)
            response = self._send(target)
            try:
                location = _redirect_location(response, target)
                if location is None:
                    return self._read_image(response, target)
            finally:
                response.close()

            try:
                current = urljoin(current, location)
            except ValueError:
                raise DataError("image.url_invalid", url=redact_url(location)) from None

        raise DataError("image.too_many_redirects", url=redact_url(url), limit=MAX_REDIRECTS)

    def _send(self, target: _Target) -> requests.Response:
        session = self._session()
        request = requests.Request("GET", target.pinned_url(), headers=self._headers(session, target)).prepare()
        redacted_url = redact_url(target.url)

        try:
            # proxies={} keeps the connection direct, to the checked address.
            return session.send(request, stream=True, timeout=self.policy.timeout, allow_redirects=False, proxies={},
                                verify=session.verify, cert=session.cert)
        except requests.Timeout:
            raise _Transient("image.timeout", url=redacted_url, seconds=f"{self.policy.timeout:g}") from None
        except requests.exceptions.SSLError:
            raise DataError("image.tls_failed", url=redacted_url, host=target.host) from None
        except requests.ConnectionError as error:
            raise _Transient("image.connection_failed", url=redacted_url, kind=_failure_kind(error)) from None
        except requests.RequestException as error:
            raise DataError("image.request_failed", url=redacted_url, kind=_failure_kind(error)) from None

    def _headers(self, session: requests.Session, target: _Target) -> CaseInsensitiveDict:
        headers = CaseInsensitiveDict(session.headers)
        for name in _DROPPED_HEADERS:
            headers.pop(name, None)

        headers["Host"] = target.host_header()
        headers["Accept"] = ", ".join(sorted(self.policy.content_types))
        # Images are compressed already. Asking for the bytes as stored also makes
        # Content-Length the image's size.
        headers["Accept-Encoding"] = "identity"
        return headers

    def _read_image(self, response: requests.Response, target: _Target) -> tuple[bytes, str]:
        redacted_url = redact_url(target.url)
        _check_status(response.status_code, redacted_url)

        declared = _declared_type(response.headers.get("Content-Type"))
        if declared not in self.policy.content_types:
            raise DataError("image.type_not_allowed", url=redacted_url, content_type=declared,
                            allowed=", ".join(sorted(self.policy.content_types)))

        length = _content_length(response.headers.get("Content-Length"))
        if length is not None and length > self.policy.max_bytes:
            raise DataError("image.too_large", url=redacted_url, size=length, limit=self.policy.max_bytes)

        content = self._read_body(response, redacted_url)
        detected = sniff_image_type(content)
        if detected is None:
            raise DataError("image.not_an_image", url=redacted_url, content_type=declared)
        if detected != declared:
            raise DataError("image.type_mismatch", url=redacted_url, content_type=declared, detected=detected)

        return content, detected

    def _read_body(self, response: requests.Response, redacted_url: str) -> bytes:
        """Read at most ``max_bytes + 1`` bytes, failing past ``max_bytes`` or ``download_timeout``."""
        limit = self.policy.max_bytes
        deadline = time.monotonic() + self.policy.download_timeout
        chunks: list[bytes] = []
        size = 0

        while True:
            # read1 returns after one read from the socket, so a server that sends a byte at a
            # time cannot hold the loop past the deadline check.
            chunk = self._read_chunk(response, min(_CHUNK_BYTES, limit + 1 - size), redacted_url)
            if not chunk:
                break

            size += len(chunk)
            if size > limit:
                raise DataError("image.body_too_large", url=redacted_url, limit=limit)
            chunks.append(chunk)

            if time.monotonic() > deadline:
                raise DataError("image.download_timeout", url=redacted_url, seconds=f"{self.policy.download_timeout:g}")

        return b"".join(chunks)

    def _read_chunk(self, response: requests.Response, size: int, redacted_url: str) -> bytes:
        try:
            return response.raw.read1(size, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise _Transient("image.timeout", url=redacted_url, seconds=f"{self.policy.timeout:g}") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise _Transient("image.connection_failed", url=redacted_url, kind=_failure_kind(error)) from None

    def _session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session

        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc from the environment
            _mount_pinning_adapter(session)
            self._local.session = session

        return session

    def _log_retry(self, state) -> None:
        error = state.outcome.exception()
        log.info("retrying image %s after attempt %d: %s", error.params.get("url"), state.attempt_number, error.key)


def _mount_pinning_adapter(session: requests.Session) -> None:
    adapter = _PinnedAddressAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def _redirect_location(response: requests.Response, target: _Target) -> str | None:
    """Return where a redirect points, or None when the response is not a redirect."""
    if response.status_code not in REDIRECT_STATUSES:
        return None

    location = response.headers.get("Location")
    if not location:
        raise DataError("image.redirect_without_location", url=redact_url(target.url), status=response.status_code)

    return location.strip()


def _check_status(status: int, redacted_url: str) -> None:
    if status >= 500:
        raise _Transient("image.server_error", url=redacted_url, status=status)
    if status in (404, 410):
        raise DataError("image.not_found", url=redacted_url, status=status)
    if status != 200:
        raise DataError("image.http_error", url=redacted_url, status=status)


def _declared_type(value: str | None) -> str:
    kind = (value or "").partition(";")[0].strip().lower()
    return _CONTENT_TYPE_ALIASES.get(kind, kind)


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _failure_kind(error: BaseException) -> str:
    """Name the innermost cause of a transport error, such as ``ConnectionRefusedError``.

    Only the class name is used, because the error's text can repeat the URL with its query.
    """
    current = error
    for _ in range(10):
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError wraps the real failure
        following = reason if isinstance(reason, BaseException) else current.__cause__ or current.__context__
        if following is None:
            break
        current = following

    return type(current).__name__


# -- detail HTML --------------------------------------------------------------------------------


def html_image_urls(html: str | None) -> list[str]:
    """Return the originals (:func:`original_url`) of the images that ``clean_html`` keeps.

    The order is the document order, each URL once at its first position, so two sizes of the
    same image give one entry. None and "" give [].
    """
    return list(dict.fromkeys(original_url(url) for url in html_images(html)))


def rewrite_html_images(html: str | None, mapping: Mapping[str, str]) -> str:
    """Point every ``img`` of ``html`` at its re-hosted copy from ``mapping``.

    Each image's address is the first non-empty lazy-load attribute (``data-lazyload-src``,
    ``data-src``, ``data-ks-lazyload``, ``data-original``, ``data-tfs-url``), else ``src``.
    ``mapping`` is looked up by its :func:`original_url` first, then by the address as
    written. A found image gets ``src`` set to the mapped URL and loses its lazy-load
    attributes and ``srcset``. An image that is not found is removed and its tail text is kept,
    because the platform rejects addresses on the source CDN. Text, including Chinese, is kept
    as characters. The input should be ``clean_html`` output, because this function does not
    sanitise anything else. None and "" give "". Raises ``DataError`` (``html.not_text``) for a
    value that is not a string.
    """
    if html is None:
        return ""
    if not isinstance(html, str):
        raise DataError("html.not_text", type=type(html).__name__)
    if not html.strip():
        return ""

    body = _parse_body(html)
    if body is None:
        return ""

    for image in list(body.iter("img")):
        platform_url = _mapped_url(image, mapping)
        if platform_url is None:
            image.drop_tree()  # keeps the tail text, unlike getparent().remove()
            continue

        for name in (*LAZY_SRC_ATTRIBUTES, "srcset"):
            image.attrib.pop(name, None)
        image.set("src", platform_url)

    return _inner_html(body)


def _mapped_url(image, mapping: Mapping[str, str]) -> str | None:
    address = _lazy_source(image) or (image.get("src") or "").strip()
    if not address:
        return None

    absolute = _absolute_url(address, "https:")
    for key in dict.fromkeys((original_url(absolute), absolute, address)):
        if key and mapping.get(key):
            return mapping[key]

    return None


def _inner_html(element) -> str:
    """Serialise an element's content without the element's own tag, keeping non-ASCII text as characters."""
    parts = [html_escaping.escape(element.text or "", quote=False)]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))

    return "".join(parts)

