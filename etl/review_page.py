"""``review.html``: one self-contained page on which a person reviews every offer of a run.

The page carries its own CSS and one small script, both allowed by a Content-Security-Policy
that lists their SHA-256 hashes, so nothing else runs: no script from elsewhere, no inline event
handler, no script in the offers' detail HTML. Every value taken from a review entry is
untrusted (titles, SKU specs and messages come from 1688 sellers) and is HTML-escaped. The
detail HTML, already sanitised by ``clean_html``, is shown in an ``<iframe sandbox>`` without
``allow-scripts``, so a script that slipped through the sanitiser still cannot run. Trusted Types
limit the page script to that one place where text becomes HTML. An image address is used only
when it starts with ``http://`` or ``https://``.

The detail iframe is built by the page script when the reader opens an offer's detail, so a page
without JavaScript shows every card but no detail.

Entries arrive one at a time and may number 100,000, so :class:`ReviewPageWriter` renders each
card at once and appends it to one of three spool files beside the page: failed offers, offers
with warnings or changes, then the rest. ``close`` writes the header, which needs the run's
counts, and joins the spools into a temporary file that replaces the page in one rename.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import shutil
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from etl.messages import render

# Groups in page order. "attention" contains the offers with warnings or changes.
GROUPS = ("failed", "attention", "rest")

STATUSES = ("ok", "failed", "created", "updated", "unchanged", "skipped")

# Per group past "failed", cards after this many are written compact (id, title, price range),
# which keeps a page of a very large run loadable in a browser. Failed offers are always in full.
FULL_CARD_LIMIT = 2000

SUMMARY_COUNTS = ("total", "ok", "failed", "created", "updated", "unchanged", "warnings")

# A SKU table with more rows than this starts collapsed.
OPEN_SKU_ROWS = 8

_MARKER = "\x00{}\x00"

PAGE_STYLE = """\
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--card:#fff;--red:#cf222e;--red-bg:#ffebe9;\
--amber:#9a6700;--amber-bg:#fff8c5;--green:#1a7f37;--green-bg:#dafbe1;--blue:#0969da;--blue-bg:#ddf4ff}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);\
font:14px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif}
header.run{padding:16px 24px 8px}
h1{font-size:20px;margin:0 0 4px}
.meta{color:var(--muted);margin:0 0 8px;display:flex;flex-wrap:wrap;gap:4px 16px}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 0;padding:0;list-style:none}
.counts li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:4px 10px}
.counts b{font-size:16px;margin-left:6px}
.interrupted{background:var(--amber-bg);color:var(--amber);border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
nav.filters{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;\
padding:10px 24px;background:rgba(246,248,250,.96);border-bottom:1px solid var(--line)}
nav.filters label{display:flex;align-items:center;gap:6px}
nav.filters input[type=search]{width:18em;max-width:100%}
nav.filters select,nav.filters input[type=search]{font:inherit;padding:3px 6px;border:1px solid var(--line);border-radius:6px}
#shown{margin-left:auto;color:var(--muted)}
main{padding:8px 24px 24px}
h2.group{font-size:16px;margin:16px 0 8px}
.empty{color:var(--muted);padding:24px 0}
article.offer{display:grid;grid-template-columns:128px minmax(0,1fr);gap:12px 16px;background:var(--card);\
border:1px solid var(--line);border-left:4px solid var(--line);border-radius:6px;padding:12px 16px;margin:0 0 12px}
article.st-failed{border-left-color:var(--red)}
article.warned{border-left-color:#d4a72c}
article.compact{grid-template-columns:minmax(0,1fr);padding:6px 12px;margin-bottom:6px}
.head{grid-column:1/-1;display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px}
.head h3{font-size:15px;margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.head .aside{color:var(--muted)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;line-height:20px;font-weight:600;\
background:var(--bg);color:var(--muted);border:1px solid var(--line)}
.badge.st-failed{background:var(--red-bg);color:var(--red);border-color:#ffcecb}
.badge.st-ok,.badge.st-created{background:var(--green-bg);color:var(--green);border-color:#aceebb}
.badge.st-updated{background:var(--blue-bg);color:var(--blue);border-color:#b6e3ff}
.thumb{position:relative;width:128px;height:128px;border:1px solid var(--line);border-radius:4px;background:var(--bg);\
overflow:hidden;display:flex;align-items:center;justify-content:center;text-align:center;color:var(--muted);font-size:12px;padding:6px}
.thumb img{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#fff}
.thumb img.broken{display:none}
.thumb .count{position:absolute;right:4px;bottom:4px;background:rgba(31,35,40,.7);color:#fff;border-radius:4px;padding:0 4px}
.body{min-width:0;display:flex;flex-direction:column;gap:8px}
.box{border-radius:6px;padding:6px 10px}
.failure{background:var(--red-bg);border:1px solid #ffcecb}
.failure .where{color:var(--red);font-weight:600}
.warnings{background:var(--amber-bg);border:1px solid #f2e19b}
.changes{background:var(--blue-bg);border:1px solid #b6e3ff}
.box ul{margin:2px 0 0;padding-left:20px}
.label{color:var(--muted);font-weight:600}
code,.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:var(--muted)}
table.fields{border-collapse:collapse;width:100%}
table.fields th{width:1%;text-align:left;color:var(--muted);font-weight:600;padding:1px 12px 1px 0;vertical-align:top;white-space:nowrap}
table.fields td{padding:1px 0;overflow-wrap:anywhere}
.width{margin-left:8px;color:var(--muted);white-space:nowrap}
.width.over,.unmapped{color:var(--amber);background:var(--amber-bg);border-radius:4px;padding:0 4px}
.arrow{color:var(--muted);padding:0 4px}
details>summary{cursor:pointer;color:var(--blue)}
table.skus{border-collapse:collapse;margin-top:4px;min-width:50%}
table.skus th,table.skus td{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left}
table.skus td.num,table.skus th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.below td{background:var(--red-bg)}
tr.below .note,td.nostock{color:var(--red)}
tr.failed-row td{outline:1px solid var(--red)}
iframe.detail{display:block;width:100%;height:360px;border:1px solid var(--line);border-radius:4px;background:#fff;resize:vertical;margin-top:4px}
.none{color:var(--muted)}
"""

# Style of each detail iframe. Its hash is in the page's policy, which a srcdoc iframe inherits.
DETAIL_STYLE = "body{margin:8px;font:14px/1.5 sans-serif;color:#1f2328}img{max-width:100%;height:auto}"

PAGE_SCRIPT = """\
"use strict";
var DETAIL_HEAD = DETAIL_HEAD_JSON;
document.addEventListener("error", function (event) {
  var target = event.target;
  if (target instanceof HTMLImageElement) { target.classList.add("broken"); }
}, true);
// The only HTML string the page turns into a document is an offer's detail, and it goes into
// an iframe whose empty sandbox attribute (set first) forbids scripts, forms and navigation.
var detailPolicy = window.trustedTypes ?
  window.trustedTypes.createPolicy("review-detail", { createHTML: function (text) { return text; } }) : null;
document.addEventListener("toggle", function (event) {
  var details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open || details.dataset.srcdoc === undefined ||
      details.querySelector("iframe")) { return; }
  var frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.className = "detail";
  frame.title = details.dataset.frameTitle || "";
  var html = DETAIL_HEAD + details.dataset.srcdoc;
  frame.srcdoc = detailPolicy ? detailPolicy.createHTML(html) : html;
  details.appendChild(frame);
}, true);
document.addEventListener("DOMContentLoaded", function () {
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.offer"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var texts = cards.map(function (card) {
    var titles = card.querySelectorAll(".title");
    var text = card.dataset.id || "";
    for (var i = 0; i < titles.length; i++) { text += " " + titles[i].textContent; }
    return text.toLowerCase();
  });
  var status = document.getElementById("filter-status");
  var warned = document.getElementById("filter-warned");
  var search = document.getElementById("filter-search");
  var shownCount = document.getElementById("shown-count");
  var empty = document.getElementById("no-match");
  var timer = 0;
  function apply() {
    var selected = status.value;
    var onlyWarned = warned.checked;
    var query = search.value.trim().toLowerCase();
    var count = 0;
    cards.forEach(function (card, i) {
      var visible = (!selected || card.dataset.status === selected) &&
        (!onlyWarned || card.dataset.warned === "1") &&
        (!query || texts[i].indexOf(query) !== -1);
      card.hidden = !visible;
      if (visible) { count++; }
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector("article.offer:not([hidden])");
    });
    shownCount.textContent = String(count);
    empty.hidden = count !== 0;
  }
  status.addEventListener("change", apply);
  warned.addEventListener("change", apply);
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  });
  apply();
});
""".replace("DETAIL_HEAD_JSON", json.dumps(f"<!DOCTYPE html><style>{DETAIL_STYLE}</style>"))


def _source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# Meta-delivered policy: frame-ancestors, report-uri and sandbox are ignored there (with a
# console error), so they are left out. Offer images come from the source CDN or the platform,
# so any http(s) host is allowed for images only.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "img-src http: https: data:",
    f"style-src {_source_hash(PAGE_STYLE)} {_source_hash(DETAIL_STYLE)}",
    f"script-src {_source_hash(PAGE_SCRIPT)}",
    "base-uri 'none'",
    "form-action 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types review-detail",
])


def escape(value: Any) -> str:
    """Escape any value for HTML text and quoted attributes; ``None`` becomes an empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def image_url(url: Any) -> str | None:
    """Return ``url`` if it is an http(s) address a page may load as an image, else ``None``.

    Rejects ``javascript:``, ``data:``, protocol-relative ``//host`` and anything with a
    control character or whitespace, which browsers strip before reading the scheme.
    """
    if not isinstance(url, str):
        return None
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        return None

    lowered = url.lower()
    if lowered.startswith("http://") and len(url) > len("http://"):
        return url
    if lowered.startswith("https://") and len(url) > len("https://"):
        return url
    return None


def entry_group(entry: dict[str, Any]) -> str:
    """Return the page group of an entry: ``failed``, ``attention`` (warnings or changes) or ``rest``."""
    if entry.get("status") == "failed" or entry.get("error"):
        return "failed"
    if entry.get("warnings") or entry.get("changes"):
        return "attention"
    return "rest"


class ReviewPageWriter:
    """Write ``review.html`` from review entries added one by one, in bounded memory.

    ``title_info`` and the ``summary`` given to :meth:`close` are merged (the summary wins) and
    may contain ``rule``, ``target``, ``started_at``, ``finished_at`` (ISO 8601 text),
    ``duration_seconds``, ``interrupted`` and the counts ``total``, ``ok``, ``failed``,
    ``created``, ``updated``, ``unchanged`` and ``warnings``. A missing key is not shown.

    Spool files named ``.<page name>.<group>.*.part`` sit beside the page until :meth:`close`
    or :meth:`abort` removes them. Used as a context manager, an exception aborts the page.
    """

    def __init__(self, path: str | Path, lang: str, title_info: dict[str, Any] | None = None,
                 full_card_limit: int = FULL_CARD_LIMIT) -> None:
        self.path = Path(path)
        self.lang = lang
        self.title_info = dict(title_info or {})
        self.full_card_limit = full_card_limit
        self.group_counts = {group: 0 for group in GROUPS}
        self.status_counts: dict[str, int] = {}
        self.warned = 0
        self._spools: dict[str, Any] = {}
        self._closed = False

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            for group in GROUPS:
                self._spools[group] = tempfile.NamedTemporaryFile(
                    "w", encoding="utf-8", newline="\n", dir=self.path.parent,
                    prefix=f".{self.path.name}.{group}.", suffix=".part", delete=False,
                )
        except BaseException:
            self._remove_spools()
            raise

    def __enter__(self) -> ReviewPageWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.abort()

    @property
    def spool_paths(self) -> list[Path]:
        return [Path(spool.name) for spool in self._spools.values()]

    def add(self, entry: dict[str, Any]) -> None:
        """Render one review entry into its group's spool file. The entry itself is not kept."""
        if self._closed:
            raise RuntimeError("the review page is already closed")

        group = entry_group(entry)
        compact = group != "failed" and self.group_counts[group] >= self.full_card_limit
        card = _Card(entry, self.lang).html(compact)
        self._spools[group].write(card)

        self.group_counts[group] += 1
        status = str(entry.get("status") or "")
        self.status_counts[status] = self.status_counts.get(status, 0) + 1
        if entry.get("warnings"):
            self.warned += 1

    def close(self, summary: dict[str, Any] | None = None) -> Path:
        """Write the page atomically, remove the spool files and return the page's path."""
        if self._closed:
            raise RuntimeError("the review page is already closed")

        info = {**self.title_info, **(summary or {})}
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            for spool in self._spools.values():
                spool.close()
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as page:
                self._write_page(page, info)
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        finally:
            self._closed = True
            self._remove_spools()
        return self.path

    def abort(self) -> None:
        """Remove the spool files without writing the page. An existing page stays as it was."""
        self._closed = True
        self._remove_spools()

    def _write_page(self, page, info: dict[str, Any]) -> None:
        page.write(_page_start(info, self.lang))
        page.write(_run_header(info, self.lang))
        page.write(_filter_bar(self.status_counts, self.warned, self.lang))
        page.write("<main>\n")

        total = sum(self.group_counts.values())
        if total == 0:
            page.write(f'<p class="empty">{_text(self.lang, "review.run_empty")}</p>\n')

        for group in GROUPS:
            count = self.group_counts[group]
            if not count:
                continue
            page.write(f'<section class="group g-{group}">\n<h2 class="group">{_text(self.lang, "review.group." + group, count=count)}</h2>\n')
            if group != "failed" and count > self.full_card_limit:
                note = _text(self.lang, "review.group.compact", count=count - self.full_card_limit)
                page.write(f'<p class="none">{note}</p>\n')
            with open(self._spools[group].name, encoding="utf-8") as spool:
                shutil.copyfileobj(spool, page)
            page.write("</section>\n")

        page.write(f'<p class="empty" id="no-match" hidden>{_text(self.lang, "review.filter.no_match")}</p>\n')
        page.write("</main>\n</body>\n</html>\n")

    def _remove_spools(self) -> None:
        for spool in self._spools.values():
            spool.close()
            Path(spool.name).unlink(missing_ok=True)


def write_review_page(path: str | Path, entries: Iterable[dict[str, Any]], summary: dict[str, Any], lang: str) -> Path:
    """Write ``review.html`` for ``entries``, which may be a generator, in one call."""
    with ReviewPageWriter(path, lang, summary) as writer:
        for entry in entries:
            writer.add(entry)
        return writer.close(summary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- text from the catalogue -----------------------------------------------------------------


def _text(lang: str, key: str, **params: Any) -> str:
    """Render a catalogue message with ``params`` as plain values, HTML-escaped as a whole."""
    return escape(render(key, lang, **params))


def _markup(lang: str, key: str, **fragments: str) -> str:
    """Render a catalogue message whose placeholders take ready HTML ``fragments``.

    The message is rendered with markers in place of the fragments, escaped, and then the
    markers are replaced, so the catalogue text is escaped and the fragments are not.
    """
    markers = {name: _MARKER.format(index) for index, name in enumerate(fragments)}
    text = escape(render(key, lang, **markers))
    for name, marker in markers.items():
        text = text.replace(marker, fragments[name])
    return text


def _value(value: Any, css: str = "v") -> str:
    return f'<span class="{css}">{escape(value)}</span>'


def _money_text(value: Any) -> str:
    """Return escaped ``¥12.30`` for an amount in yuan, or a dash when there is none."""
    return f"¥{escape(value)}" if value not in (None, "") else "—"


def _yuan(value: Any) -> str:
    return f'<span class="v">{_money_text(value)}</span>'


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# -- the page around the cards ---------------------------------------------------------------


def _page_start(info: dict[str, Any], lang: str) -> str:
    target = info.get("target") or ""
    title = _text(lang, "review.page_title", target=target) if target else _text(lang, "review.heading")
    html_lang = "en" if lang == "en" else "zh-CN"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f"<style>{PAGE_STYLE}</style>\n"
        f"<script>{PAGE_SCRIPT}</script>\n"
        "</head>\n<body>\n"
    )


def _run_header(info: dict[str, Any], lang: str) -> str:
    meta = []
    for field, key in (("rule", "review.meta.rule"), ("target", "review.meta.target"),
                       ("started_at", "review.meta.started"), ("finished_at", "review.meta.finished")):
        if info.get(field) not in (None, ""):
            meta.append(f"<span>{_markup(lang, key, value=_value(info[field], 'code'))}</span>")

    duration = _decimal(info.get("duration_seconds"))
    if duration is not None and duration.is_finite():
        meta.append(f"<span>{_text(lang, 'review.meta.duration', seconds=f'{duration:.1f}')}</span>")

    counts = [
        f'<li class="c-{name}">{_text(lang, "review.count." + name)}<b>{escape(info[name])}</b></li>'
        for name in SUMMARY_COUNTS if info.get(name) is not None
    ]

    parts = [f'<header class="run">\n<h1>{_text(lang, "review.heading")}</h1>\n']
    if meta:
        parts.append(f'<p class="meta">{"".join(meta)}</p>\n')
    if info.get("interrupted"):
        parts.append(f'<p class="interrupted">{_text(lang, "review.meta.interrupted")}</p>\n')
    if counts:
        parts.append(f'<ul class="counts">{"".join(counts)}</ul>\n')
    parts.append("</header>\n")
    return "".join(parts)


def _filter_bar(status_counts: dict[str, int], warned: int, lang: str) -> str:
    total = sum(status_counts.values())
    ordered = [status for status in STATUSES if status in status_counts]
    ordered += sorted(status for status in status_counts if status not in STATUSES)

    options = [f'<option value="">{_text(lang, "review.filter.all", count=total)}</option>']
    for status in ordered:
        label = _status_label(status, lang)
        options.append(f'<option value="{escape(status)}">{escape(label)} ({status_counts[status]})</option>')

    shown_count = _markup(lang, "review.filter.shown", shown=f'<span id="shown-count">{total}</span>', total=str(total))
    return (
        '<nav class="filters">\n'
        f'<label>{_text(lang, "review.filter.status")} <select id="filter-status">{"".join(options)}</select></label>\n'
        f'<label><input type="checkbox" id="filter-warned"> {_text(lang, "review.filter.warned", count=warned)}</label>\n'
        f'<label>{_text(lang, "review.filter.search")} <input type="search" id="filter-search" autocomplete="off" '
        f'placeholder="{_text(lang, "review.filter.search_hint")}"></label>\n'
        f'<span id="shown">{shown_count}</span>\n'
        "</nav>\n"
    )


def _status_label(status: str, lang: str) -> str:
    return render(f"review.status.{status}", lang) if status in STATUSES else status


# -- one offer card --------------------------------------------------------------------------


class _Card:
    """The HTML of one offer, read leniently from the entry because a failed offer may lack parts."""

    def __init__(self, entry: dict[str, Any], lang: str) -> None:
        self.entry = entry
        self.lang = lang
        self.offer_id = str(entry.get("offer_id") or "")
        self.status = str(entry.get("status") or "")
        self.error = _dict(entry.get("error"))
        self.warnings = _list(entry.get("warnings"))

    def html(self, compact: bool = False) -> str:
        classes = ["offer", "st-" + _css_name(self.status)]
        if self.warnings:
            classes.append("warned")
        if compact:
            classes.append("compact")

        attributes = (
            f'class="{" ".join(classes)}" data-status="{escape(self.status)}" '
            f'data-id="{escape(self.offer_id)}" data-warned="{1 if self.warnings else 0}"'
        )
        body = self._compact_body() if compact else self._full_body()
        return f"<article {attributes}>\n{self._head()}{body}</article>\n"

    def _head(self) -> str:
        badge = f'<span class="badge st-{_css_name(self.status)}">{escape(_status_label(self.status, self.lang))}</span>'
        parts = [badge, f"<h3>{escape(self.offer_id)}</h3>"]

        product_id = self.entry.get("product_id")
        if product_id not in (None, ""):
            parts.append(f'<span class="aside">{_markup(self.lang, "review.product_id", id=_value(product_id, "code"))}</span>')
        output = self.entry.get("output")
        if output not in (None, ""):
            parts.append(f'<span class="aside">{_markup(self.lang, "review.output", path=_value(output, "code"))}</span>')
        return f'<div class="head">{"".join(parts)}</div>\n'

    def _compact_body(self) -> str:
        title = _dict(self.entry.get("title"))
        prices = [_decimal(sku.get("price")) for sku in _list(self.entry.get("skus")) if isinstance(sku, dict)]
        prices = [price for price in prices if price is not None]

        parts = [f'<span class="title">{escape(title.get("after") or title.get("before") or "")}</span>']
        if prices:
            low, high = min(prices), max(prices)
            price_range = f"¥{low}" if low == high else f"¥{low} – ¥{high}"
            parts.append(f'<span class="aside num">{escape(price_range)}</span>')
        return f'<div class="head">{" ".join(parts)}</div>\n'

    def _full_body(self) -> str:
        sections = [
            self._failure(),
            self._warnings(),
            self._changes(),
            self._fields(),
            self._skus(),
            self._detail(),
        ]
        return self._thumb() + '<div class="body">\n' + "".join(sections) + "</div>\n"

    def _thumb(self) -> str:
        images = _list(self.entry.get("images"))
        count = f'<span class="count">{_text(self.lang, "review.image.count", count=len(images))}</span>' if len(images) > 1 else ""
        if not images:
            return f'<div class="thumb">{_text(self.lang, "review.image.none")}</div>\n'

        url = image_url(images[0])
        if url is None:
            return f'<div class="thumb">{_text(self.lang, "review.image.invalid")}{count}</div>\n'

        alt = _text(self.lang, "review.image.alt", offer_id=self.offer_id)
        return (
            f'<div class="thumb">{alt}<img src="{escape(url)}" alt="{alt}" loading="lazy" decoding="async" '
            f'width="128" height="128">{count}</div>\n'
        )

    def _failure(self) -> str:
        if not self.error:
            return ""

        where = []
        for field, key in (("step", "review.failure.step"), ("field", "review.failure.field"), ("code", "review.failure.code")):
            if self.error.get(field) not in (None, ""):
                where.append(_markup(self.lang, key, value=_value(self.error[field], "code")))
        if self.error.get("sku_index") is not None:
            where.append(_text(self.lang, "review.failure.sku", index=self.error["sku_index"]))

        message = escape(self.error.get("message") or "")
        return (
            f'<div class="box failure"><span class="label">{_text(self.lang, "review.failure.label")}</span> '
            f'<span class="where">{" · ".join(where)}</span><div>{message}</div></div>\n'
        )

    def _warnings(self) -> str:
        if not self.warnings:
            return ""

        items = []
        for warning in self.warnings:
            warning = _dict(warning)
            code = f' <span class="code">{escape(warning.get("code"))}</span>' if warning.get("code") else ""
            field = f' <span class="code">[{escape(warning.get("field"))}]</span>' if warning.get("field") else ""
            items.append(f"<li>{escape(warning.get('message') or '')}{field}{code}</li>")

        label = _text(self.lang, "review.warnings.label", count=len(self.warnings))
        return f'<div class="box warnings"><span class="label">{label}</span><ul>{"".join(items)}</ul></div>\n'

    def _changes(self) -> str:
        changes = _list(self.entry.get("changes"))
        if not changes:
            return ""

        items = [f"<li>{self._change(_dict(change))}</li>" for change in changes]
        label = _text(self.lang, "review.changes.label", count=len(changes))
        return f'<div class="box changes"><span class="label">{label}</span><ul>{"".join(items)}</ul></div>\n'

    def _change(self, change: dict[str, Any]) -> str:
        kind = str(change.get("kind") or "")
        sku = _value(change.get("sku") or "")
        if kind == "price":
            return _markup(self.lang, "review.change.price", sku=sku, old=_yuan(change.get("from")), new=_yuan(change.get("to")))
        if kind in ("sku_added", "sku_removed"):
            return _markup(self.lang, f"review.change.{kind}", sku=sku)
        if kind == "stock":
            return _markup(self.lang, "review.change.stock", sku=sku, old=_value(change.get("from")), new=_value(change.get("to")))
        if kind in ("title", "category"):
            return _markup(self.lang, f"review.change.{kind}", old=_value(change.get("from")), new=_value(change.get("to")))
        return _markup(self.lang, "review.change.other", kind=_value(kind, "code"),
                       old=_value(change.get("from")), new=_value(change.get("to")))

    def _fields(self) -> str:
        rows = []
        title = _dict(self.entry.get("title"))
        if title:
            rows.append(self._row("review.title.before", f'<span class="title">{escape(title.get("before") or "")}</span>'))
            rows.append(self._row("review.title.after", f'<span class="title">{escape(title.get("after") or "")}</span>{self._width(title)}'))

        category = _dict(self.entry.get("category"))
        if category:
            rows.append(self._row("review.category.label", self._category(category)))

        if not rows:
            return ""
        return f'<table class="fields">{"".join(rows)}</table>\n'

    def _row(self, key: str, cell: str) -> str:
        return f"<tr><th>{_text(self.lang, key)}</th><td>{cell}</td></tr>"

    def _width(self, title: dict[str, Any]) -> str:
        width, max_width = title.get("width"), title.get("max_width")
        if width is None:
            return ""

        over = isinstance(width, int) and isinstance(max_width, int) and width > max_width
        width_text = f"{width}/{max_width}" if max_width is not None else str(width)
        label = _text(self.lang, "review.title.width", width=width_text)
        return f'<span class="width{" over" if over else ""}">{label}</span>'

    def _category(self, category: dict[str, Any]) -> str:
        source = escape(category.get("source_name") or "")
        if category.get("source_id") not in (None, ""):
            source += f' <span class="code">{escape(category["source_id"])}</span>'

        target = f'<span class="code">{escape(category.get("target_id"))}</span>' if category.get("target_id") not in (None, "") else ""
        if category.get("mapped") is False:
            # No target at all means the offer failed on the category; a target means a fallback was used.
            key = "review.category.unmapped" if target else "review.category.missing"
            target += f' <span class="unmapped">{_text(self.lang, key)}</span>'
        return f'{source}<span class="arrow">→</span>{target}'

    def _skus(self) -> str:
        skus = [sku for sku in _list(self.entry.get("skus")) if isinstance(sku, dict)]
        if not skus:
            return ""

        failed_index = self.error.get("sku_index")
        rows = [self._sku_row(sku, index == failed_index) for index, sku in enumerate(skus)]
        header = "".join(
            f'<th{" class=num" if key != "specs" else ""}>{_text(self.lang, "review.skus." + key)}</th>'
            for key in ("specs", "cost", "price", "stock")
        )
        opened = " open" if len(skus) <= OPEN_SKU_ROWS else ""
        summary = _text(self.lang, "review.skus.label", count=len(skus))
        return (
            f"<details{opened}><summary>{summary}</summary>"
            f'<table class="skus"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table></details>\n'
        )

    def _sku_row(self, sku: dict[str, Any], failed: bool) -> str:
        cost, price = _decimal(sku.get("cost")), _decimal(sku.get("price"))
        below = cost is not None and price is not None and price < cost
        stock = sku.get("stock")

        classes = [name for name, wanted in (("below", below), ("failed-row", failed)) if wanted]
        row_class = f' class="{" ".join(classes)}"' if classes else ""
        note = f' <span class="note">{_text(self.lang, "review.skus.below_cost")}</span>' if below else ""
        stock_class = "num nostock" if stock == 0 else "num"
        return (
            f"<tr{row_class}><td>{escape(sku.get('specs') or '')}</td>"
            f'<td class="num">{_money_text(sku.get("cost"))}</td>'
            f'<td class="num">{_money_text(sku.get("price"))}{note}</td>'
            f'<td class="{stock_class}">{escape(stock)}</td></tr>'
        )

    def _detail(self) -> str:
        detail = self.entry.get("detail_html")
        if not isinstance(detail, str) or not detail.strip():
            return ""

        # The page script builds the sandboxed iframe only when the reader opens this element:
        # an iframe per card, even a lazy one, makes a page of a few hundred offers load slowly.
        frame_title = _text(self.lang, "review.detail.frame_title", offer_id=self.offer_id)
        return (
            f'<details class="detail" data-frame-title="{frame_title}" data-srcdoc="{escape(detail)}">'
            f'<summary>{_text(self.lang, "review.detail.label")}</summary></details>\n'
        )


def _css_name(status: str) -> str:
    """Return a status as a CSS class name suffix, with ``other`` for an unknown status."""
    return status if status in STATUSES else "other"
