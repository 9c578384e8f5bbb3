"""The ids file given to ``etl run --ids FILE``: one 1688 offer per line.

A line contains a bare offer id (6–20 digits) or anything a user copies out of 1688. That is
a PC or mobile detail URL, a ``detail.m.1688.com`` page with ``offerId=``, an agent link that
carries the detail URL URL-encoded, or 1688 app share text around such a URL. Blank lines
and ``#`` comment lines are skipped, and a `` # note`` may follow an entry. A bad line is
reported with its number and never stops the rest of the file. Offer ids stay strings, so
leading zeros survive.

Nothing here touches the network. A short link (``qr.1688.com/s/…``) hides its offer id
behind a redirect, so it is reported instead of resolved.
"""

from __future__ import annotations

import os
import re
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from etl.errors import UsageError

MIN_ID_DIGITS = 6
MAX_ID_DIGITS = 20

_BARE_ID = re.compile(r"[0-9]+")

# An id pasted from an Excel cell in General format: 7.41857E+11 (the digits past the sixth
# are lost) or 741857000123.0 (the cell was a number). Excel keeps 15 significant digits, so
# only an id of up to 15 digits survives the second form intact.
_EXCEL_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")
_EXCEL_ZERO_FRACTION = re.compile(r"([0-9]+)\.0+")
_EXCEL_PRECISION_DIGITS = 15
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# A comment starts at a "#" preceded by whitespace, so a URL fragment ("…html#top") is kept.
_TRAILING_COMMENT = re.compile(r"\s#")

# Characters that editors and web pages leave at the ends of a copied line but that
# str.strip() keeps: BOM, zero-width space, zero-width (non-)joiners and word joiner.
_INVISIBLE_EDGES = "\ufeff\u200b\u200c\u200d\u2060"

# A URL with a scheme, or a scheme-less one whose host is followed by a path. Only printable
# ASCII belongs to the URL, so share text glued to it ("…html复制￥AbC￥") is not swallowed.
_URL = re.compile(
    r"https?://[!-~]+"
    r"|(?<![A-Za-z0-9.-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::[0-9]+)?/[!-~]*"
    r"|(?<![A-Za-z0-9.-])(?:[A-Za-z0-9-]+\.)*1688\.com\b[!-~]*",
    re.IGNORECASE,
)

# Positions of the offer id in a 1688 URL: the detail path, or an offerId query parameter.
_OFFER_PATH = re.compile(r"/offer/([0-9]+)\.html?", re.IGNORECASE)
_OFFER_QUERY_KEYS = {"offerid", "offer_id"}

# Inside an agent or redirect link the 1688 detail URL is URL-encoded ("offer%2F{id}"),
# sometimes twice.
_EMBEDDED_OFFER = re.compile(r"(?:^|[/=])offer/([0-9]+)\.html?|[?&]offer_?id=([0-9]+)", re.IGNORECASE)
_MAX_UNQUOTE_ROUNDS = 3

# Hosts that only redirect: the offer id is known to the server, not to the link text.
_REDIRECT_HOSTS = {"qr.1688.com", "dj.1688.com"}

# 1688 service hosts that are not shop sites. Any other single-label "<name>.1688.com" host
# is a seller's shop domain.
# NOTE: this list comes from URLs seen in use, not from a 1688 specification, so an unlisted
# service host without an offer id is reported as ids.shop_url instead of ids.invalid.
_SERVICE_HOSTS = {
    "1688.com", "www.1688.com", "detail.1688.com", "m.1688.com", "detail.m.1688.com",
    "s.1688.com", "search.1688.com", "login.1688.com", "work.1688.com", "trade.1688.com",
    "air.1688.com", "page.1688.com", "show.1688.com", "cart.1688.com",
}


@dataclass(frozen=True)
class IdLine:
    """One line of an ids file.

    ``line`` is 1-based and ``text`` is the line without its line ending and surrounding
    whitespace. ``offer_id`` is set when the line names an offer. ``key`` is the catalogue
    message of the problem (``ids.invalid``, ``ids.duplicate``, …) or None for a good line,
    and ``params`` fills that message's placeholders.
    """

    line: int
    text: str
    offer_id: str | None
    key: str | None
    params: dict


@dataclass(frozen=True)
class IdsFile:
    """A parsed ids file.

    ``ids`` contains each offer id once, in the order of first appearance. ``problems`` contains
    the lines that name no usable offer, and ``duplicates`` the later repeats of an id
    (key ``ids.duplicate``), both in line order. A file without any id is not an error at
    this level.
    """

    path: str
    ids: Sequence[str]  # a tuple, or OfferIds for a file read by read_ids
    problems: tuple[IdLine, ...]
    duplicates: tuple[IdLine, ...]


@dataclass(frozen=True)
class _Finding:
    """The classification of one URL: an offer id, or a problem key with its params."""

    offer_id: str | None = None
    key: str | None = None
    params: tuple[tuple[str, Any], ...] = ()


# When a line names no offer, the most specific problem among its URLs is reported.
_KEY_PRIORITY = ("ids.short_link", "ids.shop_url", "ids.not_1688", "ids.invalid")


def read_ids(path: str | os.PathLike[str]) -> IdsFile:
    """Read and parse the ids file at ``path``.

    The file is decoded as UTF-8 (with or without BOM) or else as GB18030, the encoding
    Chinese Windows tools save in. Raises ``UsageError`` with ``ids.missing`` when the file
    does not exist, ``ids.unreadable`` when it cannot be read (a directory, no permission)
    and ``ids.encoding`` when it is neither encoding or contains NUL characters (UTF-16).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise UsageError("ids.missing", path=name) from None
    except OSError as error:
        raise UsageError("ids.unreadable", path=name, reason=error.strerror or str(error)) from None

    text = _decode(data, name)
    del data
    return _parse_compact(text, name) or parse_ids(_split_lines(text), path=name)


def parse_ids(lines: Iterable[str], path: str = "<ids>") -> IdsFile:
    """Parse ids-file lines into offer ids, duplicates and problem lines.

    ``lines`` may keep their line endings. The first occurrence of an id wins and a later
    one is listed in ``duplicates`` with the line of the first. ``path`` only appears in
    message parameters.
    """
    ids: list[str] = []
    first_lines: dict[str, int] = {}
    problems: list[IdLine] = []
    duplicates: list[IdLine] = []

    for number, raw in enumerate(lines, start=1):
        entry = _parse_line(raw, number, path)
        if entry is None:
            continue

        if entry.key is not None:
            problems.append(entry)
            continue

        offer_id = entry.offer_id
        if offer_id in first_lines:
            duplicates.append(
                IdLine(
                    line=number,
                    text=entry.text,
                    offer_id=offer_id,
                    key="ids.duplicate",
                    params={"path": path, "line": number, "offer_id": offer_id, "first_line": first_lines[offer_id]},
                )
            )
            continue

        first_lines[offer_id] = number
        ids.append(offer_id)

    return IdsFile(path=path, ids=tuple(ids), problems=tuple(problems), duplicates=tuple(duplicates))


def _parse_compact(text: str, path: str) -> IdsFile | None:
    """Parse like :func:`parse_ids` with ids kept as 8-byte integers, or return None when an id does not fit.

    Parsing 100,000 ids as strings, with a dictionary for finding repeats, peaks at about 17 MiB.
    Here they take 1.2 MiB of arrays plus a sort of their positions to find repeats, about 9 MiB
    at the peak (measured on this machine with a 100,000-line file). Ids with a leading zero or
    more than 19 digits are rare and take the general path.
    """
    values, numbers = array("Q"), array("I")
    problems: list[IdLine] = []
    for number, raw in enumerate(_split_lines(text), start=1):
        entry = _parse_line(raw, number, path)
        if entry is None:
            continue
        if entry.key is not None:
            problems.append(entry)
            continue
        if not _COMPACT_ID.fullmatch(entry.offer_id):
            return None
        values.append(int(entry.offer_id))
        numbers.append(number)

    repeats = _repeats(values)
    first_line = {position: numbers[first] for position, first in repeats.items()}
    first_seen = array("Q", (value for position, value in enumerate(values) if position not in repeats))
    duplicates = _duplicate_lines(text, path, {numbers[position]: (str(values[position]), line) for position, line in first_line.items()})
    return IdsFile(path=path, ids=OfferIds(first_seen), problems=tuple(problems), duplicates=duplicates)


def _repeats(values: array) -> dict[int, int]:
    """Map the position of each repeated value to the position of its first occurrence, by a stable sort of positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    repeats: dict[int, int] = {}
    for previous, position in zip(order, order[1:]):
        if values[previous] == values[position]:
            repeats[position] = repeats.get(previous, previous)
    return repeats


def _duplicate_lines(text: str, path: str, repeated: dict[int, tuple[str, int]]) -> tuple[IdLine, ...]:
    """Build the ``ids.duplicate`` lines for the line numbers in ``repeated`` (number → (offer id, first line))."""
    if not repeated:
        return ()
    found = []
    for number, raw in enumerate(_split_lines(text), start=1):
        if number in repeated:
            offer_id, first = repeated[number]
            entry = _parse_line(raw, number, path)
            params = {"path": path, "line": number, "offer_id": offer_id, "first_line": first}
            found.append(IdLine(line=number, text=entry.text, offer_id=offer_id, key="ids.duplicate", params=params))
    return tuple(found)


class OfferIds(Sequence):
    """Offer ids in file order, stored as unsigned 64-bit integers; a sequence of strings to its users.

    Compares equal to a tuple or list of the same strings.
    """

    def __init__(self, values: array) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(str(value) for value in self._values[index])
        return str(self._values[index])

    def __iter__(self) -> Iterator[str]:
        return map(str, self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (OfferIds, tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OfferIds({tuple(self)!r})"


# Digits without a leading zero that fit an unsigned 64-bit integer (19 digits always do).
_COMPACT_ID = re.compile(r"[1-9][0-9]{0,18}")


def _decode(data: bytes, path: str) -> str:
    """Decode file bytes as UTF-8 (BOM optional) or GB18030, else raise ``ids.encoding``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise UsageError("ids.encoding", path=path) from None

    # UTF-16 text without a BOM (Excel's "Unicode text") can pass as UTF-8 or GB18030, but
    # each of its ASCII characters then comes with a NUL.
    if "\x00" in text:
        raise UsageError("ids.encoding", path=path)

    return text


def _split_lines(text: str) -> list[str]:
    """Split on CRLF, CR and LF only, so line numbers match what an editor shows.

    ``str.splitlines`` would also split on form feeds and U+2028, which shifts numbers.
    """
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _parse_line(raw: str, number: int, path: str) -> IdLine | None:
    """Parse one line, returning None for a blank or comment line."""
    text = raw.strip().strip(_INVISIBLE_EDGES).strip()
    if not text or text.startswith("#"):
        return None

    # NFKC turns full-width digits and letters typed with a Chinese input method into ASCII.
    content = unicodedata.normalize("NFKC", text)
    head = _TRAILING_COMMENT.split(content, maxsplit=1)[0].strip()

    finding = _parse_entry(head)

    # Share text may contain " #topic" before its URL, which the comment rule would cut off.
    if finding.key == "ids.invalid" and head != content:
        whole = _parse_entry(content)
        if whole.offer_id is not None:
            finding = whole

    if finding.offer_id is not None:
        return IdLine(line=number, text=text, offer_id=finding.offer_id, key=None, params={})

    params = {"path": path, "line": number, "text": text, **dict(finding.params)}
    return IdLine(line=number, text=text, offer_id=None, key=finding.key, params=params)


def _parse_entry(content: str) -> _Finding:
    """Find the offer in a line's content (comment already removed)."""
    if _BARE_ID.fullmatch(content):
        return _check_digits(content)

    excel_number = _excel_number(content)
    if excel_number is not None:
        return excel_number

    findings = [_parse_url(url) for url in _URL.findall(content)]
    offer_ids = list(dict.fromkeys(found.offer_id for found in findings if found.offer_id))

    if len(offer_ids) == 1:
        return _Finding(offer_id=offer_ids[0])

    if len(offer_ids) > 1:
        return _Finding(key="ids.several_offers", params=(("offer_ids", ", ".join(offer_ids)),))

    for key in _KEY_PRIORITY:
        for found in findings:
            if found.key == key:
                return found

    return _Finding(key="ids.invalid")


def _excel_number(content: str) -> _Finding | None:
    """Return the problem of an id that Excel turned into a number, or None for other content."""
    if _EXCEL_SCIENTIFIC.fullmatch(content):
        return _Finding(key="ids.excel_scientific")

    match = _EXCEL_ZERO_FRACTION.fullmatch(content)
    if match and MIN_ID_DIGITS <= len(match.group(1)) <= _EXCEL_PRECISION_DIGITS:
        return _Finding(key="ids.excel_zero_fraction", params=(("offer_id", match.group(1)),))

    return None


def _check_digits(digits: str) -> _Finding:
    """Accept a run of digits as an offer id when it has 6–20 digits."""
    if MIN_ID_DIGITS <= len(digits) <= MAX_ID_DIGITS:
        return _Finding(offer_id=digits)
    return _Finding(key="ids.invalid")


def _parse_url(url: str) -> _Finding:
    """Classify one URL: an offer id, or why it names none."""
    has_scheme = url.lower().startswith(("http://", "https://"))
    try:
        parts = urlsplit(url if has_scheme else "https://" + url)
    except ValueError:
        # urlsplit rejects a malformed bracketed IPv6 host such as "http://[x".
        return _Finding(key="ids.invalid")

    host = (parts.hostname or "").lower()
    is_1688 = host == "1688.com" or host.endswith(".1688.com")

    if is_1688:
        found = _offer_id_in_1688_url(parts.path, parts.query)
        if found is not None:
            return found

    embedded = _embedded_offer_id(parts.path, parts.query, parts.fragment, is_1688)
    if embedded is not None:
        return embedded

    if not is_1688:
        return _Finding(key="ids.not_1688", params=(("host", host),))

    if host in _REDIRECT_HOSTS:
        return _Finding(key="ids.short_link", params=(("url", url),))

    if _is_shop_url(host, parts.path, parts.query):
        return _Finding(key="ids.shop_url", params=(("url", url),))

    return _Finding(key="ids.invalid")


def _offer_id_in_1688_url(path: str, query: str) -> _Finding | None:
    """Return the offer id in a 1688 URL's path (``/offer/{id}.html``) or ``offerId`` query."""
    match = _OFFER_PATH.search(path)
    if match:
        return _check_digits(match.group(1))

    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in _OFFER_QUERY_KEYS and _BARE_ID.fullmatch(value):
            return _check_digits(value)

    return None


def _embedded_offer_id(path: str, query: str, fragment: str, is_1688: bool) -> _Finding | None:
    """Return the offer id of a 1688 detail URL carried URL-encoded inside another URL.

    Only the query, the fragment and a percent-encoded path are searched, because the
    plain path of another site ("evil.example/offer/1.html") is that site's own page. Outside
    1688 hosts the decoded text must also mention 1688.
    """
    searched = (path if "%" in path else "") + "?" + query + "#" + fragment
    for _ in range(_MAX_UNQUOTE_ROUNDS):
        searched = unquote(searched)
        match = _EMBEDDED_OFFER.search(searched)
        if match and (is_1688 or "1688" in searched):
            return _check_digits(match.group(1) or match.group(2))
    return None


def _is_shop_url(host: str, path: str, query: str) -> bool:
    """Tell whether a 1688 URL without an offer id points to a seller's shop."""
    if "winport" in host or "winport" in path.lower():
        return True

    if any(name.lower() == "memberid" for name, _ in parse_qsl(query)):
        return True

    if host.startswith("shop") or "/page/offerlist" in path.lower():
        return True

    return host not in _SERVICE_HOSTS and host.count(".") == 2
