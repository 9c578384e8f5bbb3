"""Filters for an offer's detail HTML: clean it, list its images, extract its text.

The HTML comes from 1688 (the ``desc``/``description`` field of the APIs, or a scraped detail
page). It may be a fragment or a whole document, and it may be broken. Everything here parses
with ``lxml.html`` and cleans with ``lxml_html_clean.Cleaner``. Regular expressions are never
used on the markup.

What :func:`clean_html` keeps, and why:

- Tags: text structure (``p``, ``div``, ``span``, ``br``, tables, lists, headings, ``b`` ...)
  and ``img``. Links (``a``) and ``form`` are unwrapped, keeping their text and children,
  because platforms forbid links to other shops. Scripts, styles, embedded objects, frames,
  media, form controls, ``svg``/``math``, ``noscript`` and image maps are removed with their
  content. ``noscript`` usually contains a fallback copy of a lazy-loaded image that is
  already resolved, and image maps point nowhere once the image is re-hosted. ``embed``,
  ``source``, ``track`` and ``wbr`` are unwrapped instead, because libxml2 parses these void
  elements as containers of the text that follows them.
- Attributes: only ``src``, ``alt``, ``width``, ``height``, ``colspan`` and ``rowspan``.
  ``style``, ``class`` and ``id`` are dropped. They refer to stylesheets that are not copied,
  and inline CSS can load images (``background:url(...)``) that would not be re-hosted.
  The price is that the colours and font sizes of the 1688 layout are lost.
- Images: each ``img`` gets its real address from the lazy-load attributes, made absolute.
  An image whose address is not an absolute http(s) URL after that (``data:``,
  ``javascript:``, empty, or relative without a usable ``base_url``) is removed, because the
  asset stage can re-host only URLs. So every ``img`` in the output has one, and
  :func:`html_images` returns exactly those URLs.
"""

from __future__ import annotations

import html as html_escaping
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml_html_clean import Cleaner

from etl.errors import DataError

# Attributes where lazy-loading scripts keep the real image address while ``src`` shows a
# placeholder, as on 1688 detail pages. The first one present with a value wins.
LAZY_SRC_ATTRIBUTES = (
    "data-lazyload-src",
    "data-src",
    "data-ks-lazyload",
    "data-original",
    "data-tfs-url",
)

KEPT_ATTRIBUTES = frozenset({"src", "alt", "width", "height", "colspan", "rowspan"})

# Removed with all their content. The cleaner adds script, style, link, meta and
# processing instructions itself from its boolean options below.
REMOVED_ELEMENTS = frozenset(
    {
        "iframe", "frame", "frameset", "object", "applet", "param",
        "input", "button", "select", "textarea", "option", "optgroup", "datalist",
        "map", "area", "svg", "math", "canvas", "video", "audio",
        "noscript", "template", "base", "title",
    }
)

# Void elements (no content in HTML) that libxml2 2.14 still parses as containers, so the
# text after them ends up as their children. Unwrapping them removes the tag and keeps that
# text, where removing them with their content would lose it.
_VOID_ELEMENTS_PARSED_AS_CONTAINERS = frozenset({"embed", "source", "track", "keygen", "wbr"})

# Removed but their text and children kept in place.
UNWRAPPED_ELEMENTS = frozenset({"a", "form"}) | _VOID_ELEMENTS_PARSED_AS_CONTAINERS

# Elements that start a new line when rendered, so their text must not run into the
# neighbouring text in html_text.
_BLOCK_ELEMENTS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)

# C0 control characters and DEL, except the ones HTML counts as whitespace (tab, LF, FF, CR).
# HTML forbids them in text, and libxml2 passes them through to the output.
_HTML_WHITESPACE_CONTROLS = (0x09, 0x0A, 0x0C, 0x0D)
_CONTROL_CHARACTERS = dict.fromkeys(
    [code for code in range(0x20) if code not in _HTML_WHITESPACE_CONTROLS] + [0x7F]
)

# Shared by all calls and threads: a Cleaner only reads its options while cleaning.
_CLEANER = Cleaner(
    scripts=True,
    javascript=True,
    comments=True,
    style=True,
    inline_style=True,
    links=True,
    meta=True,
    page_structure=False,
    processing_instructions=True,
    embedded=True,
    frames=True,
    forms=True,
    annoying_tags=True,
    remove_unknown_tags=True,
    safe_attrs_only=True,
    safe_attrs=KEPT_ATTRIBUTES,
    kill_tags=REMOVED_ELEMENTS,
    remove_tags=UNWRAPPED_ELEMENTS,
)


def clean_html(html: str | None, base_url: str = "https:") -> str:
    """Return the detail HTML as a safe fragment for a platform's description field.

    None and "" give "". Relative image addresses are resolved against ``base_url`` with
    ``urljoin``. The default ``"https:"`` only gives protocol-relative addresses
    (``//cbu01.alicdn.com/...``) a scheme. The output has no ``<html>``/``<body>`` wrapper and
    keeps non-ASCII text as characters (``&nbsp;`` becomes U+00A0). Control characters other
    than whitespace are removed. What is kept is listed in the module docstring.

    Raises ``DataError`` (``html.not_text``) for a value that is not a string.
    """
    body = _cleaned_body(html, base_url)
    if body is None:
        return ""

    parts = [html_escaping.escape(body.text or "", quote=False)]
    for child in body:
        parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=True))

    return "".join(parts)


def html_images(html: str | None, base_url: str = "https:") -> list[str]:
    """Return the image URLs that :func:`clean_html` keeps, in document order.

    URLs are absolute http(s) after lazy-load resolution. A URL that appears twice is listed
    once, at its first position. None and "" give [].
    """
    body = _cleaned_body(html, base_url)
    if body is None:
        return []

    urls: list[str] = []
    for image in body.iter("img"):
        url = image.get("src")
        if url not in urls:
            urls.append(url)

    return urls


def images_html(urls: list[str] | None) -> str:
    """Return a description fragment that shows ``urls`` in order, one ``<p><img></p>`` each.

    For offers without a detail description. Only absolute http(s) URLs are kept, the same
    rule :func:`clean_html` applies, and attribute values are escaped by lxml.
    """
    parts = []
    for url in urls or []:
        if not isinstance(url, str) or not _is_web_url(url):
            continue

        paragraph = lxml.html.Element("p")
        etree.SubElement(paragraph, "img", src=url)
        parts.append(etree.tostring(paragraph, encoding="unicode", method="html"))

    return "".join(parts)


def html_text(html: str | None) -> str:
    """Return the visible text of the detail HTML with each whitespace run collapsed to one space.

    Block elements and ``<br>`` separate words, so ``<p>a</p><p>b</p>`` gives "a b". Text of
    removed elements (scripts, styles, the document title) is not included. Meant for
    warnings and previews, not for the payload.
    """
    body = _cleaned_body(html, "https:")
    if body is None:
        return ""

    for element in body.iter(etree.Element):
        if element.tag in _BLOCK_ELEMENTS:
            element.text = " " + (element.text or "")
            element.tail = " " + (element.tail or "")

    return " ".join(body.text_content().split())


def _cleaned_body(html: str | None, base_url: str) -> lxml.html.HtmlElement | None:
    """Parse, resolve image addresses and clean, returning the ``body`` element or None if empty."""
    if html is None:
        return None
    if not isinstance(html, str):
        raise DataError("html.not_text", type=type(html).__name__)
    if not html.strip():
        return None

    body = _parse_body(html.translate(_CONTROL_CHARACTERS))
    if body is None:
        return None

    _resolve_images(body, base_url)
    _CLEANER(body)
    _remove_unhosted_images(body)
    return body


def _parse_body(html: str) -> lxml.html.HtmlElement | None:
    """Parse ``html`` as a document and return its ``body``, or None if it has no content.

    The text is passed as UTF-8 bytes with the encoding fixed, because lxml rejects a str
    that starts with an XML encoding declaration, and a ``<meta charset>`` in the source
    must not change how the already decoded text is read. A lone surrogate (JSON allows
    ``"\\ud800"``) cannot be encoded and becomes ``?``. A fragment ends up inside the
    ``body`` that the parser adds, and a whole document's ``head`` is left out.
    """
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        document = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except etree.ParserError:
        # libxml2 reports "Document is empty" for input with no elements or text, such as
        # a lone comment.
        return None

    return document.find("body")


def _resolve_images(root: lxml.html.HtmlElement, base_url: str) -> None:
    """Move each image's lazy-load address into ``src`` and make ``src`` absolute."""
    for image in root.iter("img"):
        source = _lazy_source(image) or (image.get("src") or "").strip()
        for name in LAZY_SRC_ATTRIBUTES:
            image.attrib.pop(name, None)

        image.set("src", _absolute_url(source, base_url))


def _lazy_source(image: lxml.html.HtmlElement) -> str | None:
    for name in LAZY_SRC_ATTRIBUTES:
        value = (image.get(name) or "").strip()
        if value:
            return value

    return None


def _absolute_url(url: str, base_url: str) -> str:
    """Resolve ``url`` against ``base_url``, or return "" for an empty or malformed address."""
    if not url:
        return ""

    try:
        return urljoin(base_url, url)
    except ValueError:
        # urllib rejects some malformed addresses, such as an unclosed IPv6 bracket.
        return ""


def _remove_unhosted_images(root: lxml.html.HtmlElement) -> None:
    # drop_tree keeps the tail text, unlike getparent().remove().
    for image in list(root.iter("img")):
        if not _is_web_url(image.get("src") or ""):
            image.drop_tree()


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False

    return parts.scheme in ("http", "https") and bool(parts.netloc)
