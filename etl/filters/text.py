"""Text filters for product titles: display width, truncation, cleaning and banned words.

Widths are display columns as a terminal or a platform's title counter shows them: a character
of East Asian Width Wide (W) or Fullwidth (F) takes 2 columns, zero-width characters and
combining marks take 0, and others take 1. Width is measured per grapheme cluster (regex
``\\X``) with ``wcwidth.wcswidth``, so an emoji ZWJ sequence or a flag counts once, as 2.

Source titles are data: nothing here evaluates them, so ``{{ 7*7 }}`` stays as written.
"""

from __future__ import annotations

import html

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any

import regex
from wcwidth import wcswidth

from etl.errors import DataError
from etl.notices import collecting, notice

_GRAPHEME = regex.compile(r"\X")
_WHITESPACE_RUN = re.compile(r"\s+")

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
_VARIATION_SELECTOR_16 = "\ufe0f"
_ZWJ = "\u200d"

# Full-width ASCII forms U+FF01..U+FF5E map to U+0021..U+007E, and the ideographic space
# U+3000 to an ASCII space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}

# A grapheme cluster is an emoji when it contains one of these. Pictographs in the BMP that
# render as text by default (©, ®, ™, ☀, ♥, ✔, ↔) count only with U+FE0F after them.
# NOTE: neither platform documents which symbols it rejects, so text-style symbols such as
# ★, ♥ and ✔ are kept and may still be rejected.
_EMOJI_MARK = regex.compile(
    r"[\p{Emoji_Presentation}\p{Regional_Indicator}\p{Emoji_Modifier}\u20e3\U000e0020-\U000e007f]"
)
_SUPPLEMENTARY_PICTOGRAPH = regex.compile(r"(?=[\U0001f000-\U0001ffff])\p{Extended_Pictographic}")
_PICTOGRAPH = regex.compile(r"\p{Extended_Pictographic}")
_EMOJI_BASE = regex.compile(r"\p{Emoji}")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _require_text(value: Any) -> str:
    if not isinstance(value, str):
        raise DataError("text.not_text", value=value)
    return value


def _cluster_width(cluster: str) -> int:
    # wcswidth returns -1 for a cluster with a control character. clean_title removes
    # those characters, so they count 0 here and a title measures the same before and after.
    return max(wcswidth(cluster), 0)


def display_width(text: str) -> int:
    """Return the width of ``text`` in display columns.

    Each grapheme cluster counts ``wcwidth.wcswidth(cluster)``: 2 for East Asian Wide and
    Fullwidth characters and for emoji, 0 for zero-width characters, 1 for others. A cluster
    containing a control character (wcswidth -1) counts 0. Ambiguous-width characters such as
    "·" or "①" count 1. Raises ``text.not_text`` unless text is a str.
    """
    # NOTE: whether Taobao's title counter also counts ambiguous-width characters as 2 is
    # unverified.
    _require_text(text)
    return sum(_cluster_width(cluster) for cluster in _GRAPHEME.findall(text))


def _cut_to_width(text: str, width: int) -> str:
    """Return the longest prefix of whole grapheme clusters whose width is <= width."""
    used = 0
    end = 0
    for match in _GRAPHEME.finditer(text):
        used += _cluster_width(match[0])
        if used > width:
            break
        end = match.end()
    return text[:end]


def truncate_width(text: str, width: int, ellipsis: str = "") -> str:
    """Shorten ``text`` to at most ``width`` display columns without cutting a grapheme cluster.

    Text that fits is returned unchanged. Otherwise the result is the longest prefix of whole
    clusters that fits together with ``ellipsis``, with trailing whitespace stripped, and then
    the ellipsis. An ellipsis wider than ``width`` is left out, and the text is cut to
    ``width`` alone. Raises ``text.width_invalid`` unless width is an int >= 0.

    When it cuts, it records the notice ``warning.title_truncated`` with the text cut off
    (``cut``), the width before (``width``) and the limit (``max_width``).
    """
    _require_text(text)
    _require_text(ellipsis)
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise DataError("text.width_invalid", value=width)

    text_width = display_width(text)
    if text_width <= width:
        return text

    marker_width = display_width(ellipsis)
    if marker_width > width:
        prefix, marker = _cut_to_width(text, width).rstrip(), ""
    else:
        prefix, marker = _cut_to_width(text, width - marker_width).rstrip(), ellipsis

    if collecting():
        cut = text[len(prefix):]
        notice("warning.title_truncated", cut=cut.strip() or cut, width=text_width, max_width=width)
    return prefix + marker


def _is_emoji(cluster: str) -> bool:
    if _EMOJI_MARK.search(cluster) or _SUPPLEMENTARY_PICTOGRAPH.search(cluster):
        return True

    if _VARIATION_SELECTOR_16 in cluster and _EMOJI_BASE.match(cluster):
        return True
    return _ZWJ in cluster and _PICTOGRAPH.search(cluster) is not None


def _is_invisible(char: str) -> bool:
    """Tell whether ``char`` is a zero-width, control (Cc) or format (Cf) character."""
    return char in _ZERO_WIDTH or unicodedata.category(char) in ("Cc", "Cf")


def _clean_cluster(cluster: str, strip_emoji: bool) -> str:
    if _is_emoji(cluster):
        # An emoji kept as a whole keeps its ZWJ and tag characters, which are Cf.
        return "" if strip_emoji else cluster

    characters = []
    for char in cluster:
        # Line breaks and tabs are Cc, but they separate words, so they become spaces.
        if char.isspace():
            characters.append(" ")
        elif _is_invisible(char) or (strip_emoji and char == _VARIATION_SELECTOR_16):
            continue
        else:
            characters.append(char)
    return "".join(characters)


def _normalize(text: str, strip_emoji: bool) -> str:
    """Apply every clean_title step except banned-word removal and the final strip."""
    half_width = text.translate(_HALF_WIDTH)
    clusters = (_clean_cluster(cluster, strip_emoji) for cluster in _GRAPHEME.findall(half_width))
    return _WHITESPACE_RUN.sub(" ", "".join(clusters))


def _normalize_words(banned_words: Iterable[str] | None) -> tuple[tuple[str, str], ...]:
    """Pair each banned word with its normalized form, dropping words that normalize to "".

    None is an empty list, so a rule without a banned-word table can still call clean_title.
    """
    if banned_words is None:
        return ()

    if isinstance(banned_words, str) or not isinstance(banned_words, Iterable):
        raise DataError("text.not_text", value=banned_words)

    pairs = []
    for word in banned_words:
        normalized = _normalize(_require_text(word), strip_emoji=False).strip()
        if normalized:
            pairs.append((word, normalized))
    return tuple(pairs)


# The cache only saves recompiling the same word list for every offer in a batch.
@lru_cache(maxsize=16)
def _banned_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, because an alternation takes the first alternative that matches, so
    # "最低价" must come before "最". re.ASCII limits IGNORECASE to the letters A-Z.
    ordered = sorted(set(words), key=lambda word: (-len(word), word))
    alternation = "|".join(re.escape(word) for word in ordered)
    return re.compile(alternation, re.IGNORECASE | re.ASCII)


def _remove_banned(text: str, words: tuple[str, ...], removed: list[str] | None = None) -> str:
    """Remove every banned word, appending each removed occurrence to ``removed`` when given."""
    if not words:
        return text

    pattern = _banned_pattern(words)
    # Removing a word can join its neighbours into another banned word ("最最好好" without
    # "最好" is "最好"), so repeat until nothing changes. Each pass removes at least one
    # character, so the loop ends.
    while True:
        cleaned = pattern.sub("", text)
        if cleaned == text:
            return cleaned
        if removed is not None:
            removed.extend(pattern.findall(text))
        text = cleaned


def clean_title(text: str, banned_words: Iterable[str] | None = (), strip_emoji: bool = True) -> str:
    """Clean a product title for Taobao and Douyin, in this order.

    0. HTML character references are decoded (``&amp;`` → ``&``, ``&#8482;`` → ``™``), because
       some APIs send titles HTML-escaped and the platforms would show the escape literally.
    1. Full-width ASCII forms (U+FF01..U+FF5E) become half-width, and U+3000 becomes a space.
    2. Zero-width characters (U+200B..U+200D, U+2060, U+FEFF, U+180E) and other control and
       format characters are removed. Tabs and line breaks become spaces.
    3. With ``strip_emoji``, whole emoji grapheme clusters are removed, because both platforms
       reject emoji in titles: pictographs with emoji presentation, ZWJ sequences, keycaps,
       flags, skin tones, and any character followed by U+FE0F. Without it, an emoji cluster
       is kept whole, ZWJ included.
    4. Each banned word is removed. A–Z match case-insensitively, other letters exactly, and
       at any position the longest banned word wins. Words are normalized by steps 1 and 2
       first, and removal repeats until no banned word is left.
    5. Runs of whitespace become one space, and the ends are stripped.

    Template syntax such as ``{{ 7*7 }}`` is kept verbatim. Raises ``text.not_text`` unless
    text and every banned word are str.

    When banned words were removed, it records the notice ``warning.banned_words`` with
    ``words``: each removed text once, in order of removal, as it reads after steps 1 to 3
    (so "ＮＥＷ" is reported as "NEW").
    """
    _require_text(text)
    words = tuple(normalized for _, normalized in _normalize_words(banned_words))

    removed: list[str] | None = [] if collecting() else None
    cleaned = _remove_banned(_normalize(html.unescape(text), strip_emoji), words, removed)
    if removed:
        notice("warning.banned_words", words=list(dict.fromkeys(removed)))

    return _WHITESPACE_RUN.sub(" ", cleaned).strip()


def banned_words_in(text: str, banned_words: Iterable[str] | None) -> list[str]:
    """List the banned words that occur in ``text``, in list order, each once, as spelt in the list.

    The text is searched after clean_title's steps 1 to 3 (emoji removed) with the same
    matching rules, so a word hidden by a zero-width space or written in full-width letters is
    found. A word inside a longer banned word is reported too: "最低价" reports "最" as well.
    """
    _require_text(text)
    haystack = _normalize(text, strip_emoji=True).translate(_ASCII_LOWER)

    found: list[str] = []
    for word, normalized in _normalize_words(banned_words):
        if word not in found and normalized.translate(_ASCII_LOWER) in haystack:
            found.append(word)
    return found


def _decode_word_list(data: bytes, path: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError("text.word_list_encoding", path=path)


def load_word_list(path: str | PathLike[str]) -> tuple[str, ...]:
    """Read a word list file with one word per line, such as a banned-word table.

    The file is UTF-8 (with or without a BOM) or GB18030, tried in that order with strict
    decoding. Whitespace around each line is stripped, blank lines and lines starting with
    "#" are skipped, and a repeated word is kept once at its first position.

    Raises ``text.word_list_missing`` for a missing file, ``text.word_list_unreadable`` for
    another read error, and ``text.word_list_encoding`` when neither encoding decodes it.
    """
    path_text = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("text.word_list_missing", path=path_text) from None
    except OSError as error:
        raise DataError("text.word_list_unreadable", path=path_text, reason=error.strerror) from None

    words: dict[str, None] = {}
    for line in _decode_word_list(data, path_text).splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.setdefault(word)
    return tuple(words)
