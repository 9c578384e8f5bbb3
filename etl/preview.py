"""Preview one offer: apply a rule to one saved response and show every step's result.

:func:`preview_offer` reads ``DIR/<offer_id>.json`` through :class:`etl.sources.ReplaySource`,
runs :meth:`etl.rules.Rule.trace` and builds the review entry. It writes no file and opens no
network connection. :func:`render_text` turns the result into a terminal view, warnings first,
and :func:`render_json` into one JSON document for programs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Union

import click

from etl import jsonio
from etl.errors import OfferError, UsageError
from etl.filters.text import display_width
from etl.messages import render
from etl.review_entry import build_entry, specs_text
from etl.rules import Rule, Trace

LIST_ITEMS_SHOWN = 5  # list items shown before a "…and N more" line
SKU_ROWS_SHOWN = 5
LINE_WIDTH = 160  # display columns of one shortened value line
PAYLOAD_TEXT_MAX = 200  # characters of a payload string before it is shortened
UNKNOWN_IDS_SHOWN = 10  # saved ids listed when --id names none of them

# C0 and C1 control characters except the line break. ESC (\x1b) and CSI (\x9b) start terminal
# commands, so text from source data must not reach the terminal with them.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Preview:
    """The outcome of previewing one offer: the rule's trace and the review entry built from it."""

    rule: Rule
    offer_id: str
    source: Path
    trace: Trace
    entry: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.trace.error is not None


def default_source(rule: Rule) -> Path:
    """Return the samples folder of the rule's extraction profile: ``./samples/<profile>`` when it exists, else the bundled one.

    This mirrors how a rule name resolves to ``./rules/<name>.yaml`` first, so an analyst's own
    edited samples beside their rules are the ones previewed.
    """
    from etl.paths import data_dir

    local = Path("samples") / rule.profile.name
    if local.is_dir():
        return local.resolve()
    return data_dir("samples") / rule.profile.name


def preview_offer(rule: Rule, offer_id: str, source: str | Path | None = None, lang: str = "zh") -> Preview:
    """Apply ``rule`` to the saved response of ``offer_id`` in ``source`` (default: :func:`default_source`).

    Raises :class:`UsageError` when the folder is missing (``source.folder_missing``) or contains
    no ``<offer_id>.json`` (``preview.unknown_id``, listing the ids it does contain). A failing
    offer raises nothing, and its error is in ``Preview.trace.error``.
    """
    from etl.sources import ReplaySource

    folder = Path(source) if source is not None else default_source(rule)
    replay = ReplaySource(folder)
    if not (folder / f"{offer_id}.json").is_file():
        raise _unknown_id(folder, offer_id)

    try:
        raw = replay.fetch(offer_id)
    except OfferError as error:
        trace = Trace(offer_id, error=error)
    else:
        trace = rule.trace(raw, offer_id)

    status = "failed" if trace.error is not None else "ok"
    entry = build_entry(offer_id, status, trace, lang=lang, limits=rule.target.limits)
    return Preview(rule, offer_id, folder, trace, entry)


def _unknown_id(folder: Path, offer_id: str) -> UsageError:
    saved = sorted(path.stem for path in folder.glob("*.json") if path.is_file())
    if not saved:
        return UsageError("preview.unknown_id_empty", folder=str(folder), offer_id=offer_id)

    shown = ", ".join(saved[:UNKNOWN_IDS_SHOWN])
    if len(saved) > UNKNOWN_IDS_SHOWN:
        shown = {lang: render("preview.more_ids", lang, ids=shown) for lang in ("zh", "en")}
    return UsageError("preview.unknown_id", folder=str(folder), offer_id=offer_id, count=len(saved), ids=shown)


# -- JSON ---------------------------------------------------------------------------------------


def render_json(preview: Preview) -> str:
    """Return one JSON document with the record, transforms, payload, review entry and warnings.

    Decimal amounts are written with their exact digits. ``record`` and ``payload`` are null when
    the offer failed before them.
    """
    trace = preview.trace
    document = {
        "offer_id": preview.offer_id,
        "status": preview.entry["status"],
        "rule": preview.rule.path,
        "target": preview.rule.target.name,
        "profile": preview.rule.profile.name,
        "source": str(preview.source),
        "error": preview.entry["error"],
        "warnings": preview.entry["warnings"],
        "record": trace.record,
        "transforms": trace.transforms,
        "payload": trace.payload,
        "entry": preview.entry,
    }
    return jsonio.dumps(document, indent=2)


# -- terminal view ------------------------------------------------------------------------------


def render_text(preview: Preview, lang: str) -> str:
    """Return the terminal view: a header, the warnings, a review summary, then record, transforms and payload.

    Control characters from source data are shown as escapes such as ``\\x1b``, so a title
    cannot send commands to the terminal. Styles are ANSI codes from ``click.style``, which
    ``click.echo`` removes when the output is not a terminal. A failed offer's error line is not
    included, because the CLI prints it the way ``etl run`` does.
    """
    lines = []
    for line in _text_lines(preview, lang):
        text, style = (line, None) if isinstance(line, str) else line
        text = _CONTROL_CHARACTER.sub(lambda match: f"\\x{ord(match[0]):02x}", text)
        lines.append(click.style(text, **style) if style else text)
    return "\n".join(lines)


# A line of the view: plain text, or text with click.style keyword arguments.
Line = Union[str, tuple[str, dict[str, Any]]]


def _styled(text: str, **style: Any) -> Line:
    return text, style


def _text_lines(preview: Preview, lang: str) -> Iterator[Line]:
    rule, trace = preview.rule, preview.trace
    yield _styled(render("preview.heading.offer", lang, offer_id=preview.offer_id, rule=rule.path,
                         target=rule.target.label.get(lang, rule.target.name), profile=rule.profile.name,
                         source=str(preview.source)), bold=True)
    yield ""
    yield from _warning_lines(preview.entry["warnings"], lang)

    if preview.failed:
        yield ""
        yield _styled(render("preview.heading.computed_before_failure", lang), fg="red")

    review_lines = list(_review_lines(preview.entry, lang))
    if review_lines:
        yield ""
        yield _heading(render("preview.heading.review", lang))
        yield from review_lines

    yield ""
    yield _heading(render("preview.heading.record", lang))
    if trace.record is None:
        yield _indent(render("preview.not_reached", lang))
    else:
        yield from _record_lines(trace.record, lang)

    yield ""
    yield _heading(render("preview.heading.transforms", lang))
    yield from _transform_lines(trace, rule, lang)

    yield ""
    yield _heading(render("preview.heading.payload", lang, target=rule.target.label.get(lang, rule.target.name)))
    if trace.payload is None:
        yield _indent(render("preview.not_reached", lang))
    else:
        yield jsonio.dumps(_shortened_strings(trace.payload, lang), indent=2)

    if not preview.failed:
        yield ""
        yield _styled(render("preview.ok", lang, offer_id=preview.offer_id), fg="green")


def _heading(text: str) -> Line:
    return _styled(f"── {text} ──", bold=True)


def _indent(text: str, level: int = 1) -> str:
    return "  " * level + text


def _warning_lines(warnings: list[dict[str, Any]], lang: str) -> Iterator[Line]:
    if not warnings:
        yield _styled(render("preview.no_warnings", lang), fg="green")
        return

    yield _styled(render("preview.heading.warnings", lang, count=len(warnings)), fg="yellow", bold=True)
    for warning in warnings:
        field = f"[{warning['field']}] " if warning.get("field") else ""
        yield _styled(_indent(f"⚠ {field}{warning['message']}"), fg="yellow")


def _label_row(label_key: str, value: Any, lang: str) -> str:
    label = render(label_key, lang)
    return _indent(f"{label}：{value}" if lang == "zh" else f"{label}: {value}")


def _review_lines(entry: Mapping[str, Any], lang: str) -> Iterator[str]:
    """Show what the reviewer checks: the title as sent with its width, the category mapping, SKU prices in yuan."""
    none = render("preview.record.none", lang)
    title = entry.get("title")
    if title is not None and title.get("after") is not None:
        yield _label_row("preview.record.title", render("preview.review.title", lang, title=title["after"], width=title["width"],
                                                         max_width=_or_none(title["max_width"], none)), lang)

    category = entry.get("category")
    if category is not None and category.get("target_id") is not None:
        source = " ".join(str(part) for part in (category.get("source_id"), category.get("source_name")) if part) or none
        mapped = "" if category["mapped"] else render("preview.review.category_unmapped", lang)
        yield _label_row("preview.record.category", f"{source} → {category['target_id']}{mapped}", lang)

    if "images" in entry:
        yield _label_row("preview.record.images", render("preview.record.image_count", lang, count=len(entry["images"])), lang)

    skus = entry.get("skus")
    if skus is None:
        return
    yield _label_row("preview.record.skus", render("preview.record.sku_count", lang, count=len(skus)), lang)
    for sku in skus[:SKU_ROWS_SHOWN]:
        line = render("preview.review.sku_row", lang, specs=sku["specs"] or none, cost=_or_none(sku["cost"], none),
                      price=_or_none(sku["price"], none), stock=_or_none(sku["stock"], none))
        yield _indent(_shorten_line(line), 2)
    if len(skus) > SKU_ROWS_SHOWN:
        yield _indent(render("preview.more", lang, count=len(skus) - SKU_ROWS_SHOWN), 2)


def _record_lines(record: Mapping[str, Any], lang: str) -> Iterator[str]:
    """Show the record's key fields: title, category, prices, SKUs and image count, not a raw dump."""
    none = render("preview.record.none", lang)

    def row(label_key: str, value: Any) -> str:
        return _label_row(label_key, value, lang)

    category = " ".join(str(part) for part in (record.get("category_id"), record.get("category_name")) if part)
    tiers = [render("preview.record.price_tier", lang, quantity=tier["min_quantity"], price=tier["price"])
             for tier in record.get("price_tiers") or []]
    separator = "；" if lang == "zh" else "; "
    detail = record.get("detail_html") or ""

    yield row("preview.record.title", record.get("title"))
    yield row("preview.record.category", category or none)
    yield row("preview.record.status", record.get("status"))
    yield row("preview.record.min_order", record.get("min_order_quantity"))
    yield row("preview.record.price_tiers", separator.join(tiers) or none)
    yield row("preview.record.consign_price", _or_none(record.get("consign_price"), none))
    yield row("preview.record.stock", _or_none(record.get("stock"), none))
    yield row("preview.record.images", render("preview.record.image_count", lang, count=len(record.get("images") or [])))
    yield row("preview.record.detail", render("preview.record.detail_length", lang, count=len(detail)))

    skus = record.get("skus") or []
    yield row("preview.record.skus", render("preview.record.sku_count", lang, count=len(skus)))
    for sku in skus[:SKU_ROWS_SHOWN]:
        line = render("preview.record.sku_row", lang, specs=specs_text(sku.get("specs")) or none,
                      price=_or_none(sku.get("price"), none), consign_price=_or_none(sku.get("consign_price"), none),
                      stock=_or_none(sku.get("stock"), none))
        yield _indent(_shorten_line(line), 2)
    if len(skus) > SKU_ROWS_SHOWN:
        yield _indent(render("preview.more", lang, count=len(skus) - SKU_ROWS_SHOWN), 2)


def _or_none(value: Any, none: str) -> Any:
    return none if value is None else value


def _transform_lines(trace: Trace, rule: Rule, lang: str) -> Iterator[str]:
    """Show each transform's value in rule order; lists show their first items and a count of the rest."""
    if trace.record is None:
        yield _indent(render("preview.not_reached", lang))
        return

    failed_field = trace.error.field if trace.error is not None else None
    for name, node in rule.transforms:
        if name not in trace.transforms:
            reason = "preview.failed_here" if node.label == failed_field else "preview.not_reached"
            yield _indent(f"{name}: " + render(reason, lang))
            continue

        value = trace.transforms[name]
        if not isinstance(value, (list, tuple)):
            yield _indent(_shorten_line(f"{name}: {_compact(value)}"))
            continue

        yield _indent(f"{name}: " + render("preview.list_count", lang, count=len(value)))
        for item in value[:LIST_ITEMS_SHOWN]:
            yield _indent(_shorten_line(_compact(item)), 2)
        if len(value) > LIST_ITEMS_SHOWN:
            yield _indent(render("preview.more", lang, count=len(value) - LIST_ITEMS_SHOWN), 2)


def _compact(value: Any) -> str:
    """Write a value as one line of JSON, falling back to ``repr`` for a type JSON cannot hold."""
    try:
        return jsonio.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _shorten_line(text: str, width: int = LINE_WIDTH) -> str:
    """Cut ``text`` to ``width`` display columns, ending in "…" when something was cut."""
    from etl.filters.text import truncate_width

    if display_width(text) <= width:
        return text
    return truncate_width(text, width, "…")


def _shortened_strings(value: Any, lang: str) -> Any:
    """Copy a payload with every string longer than PAYLOAD_TEXT_MAX characters shortened, for display only."""
    if isinstance(value, str) and len(value) > PAYLOAD_TEXT_MAX:
        return value[:PAYLOAD_TEXT_MAX] + render("preview.shortened", lang, count=len(value))
    if isinstance(value, Mapping):
        return {key: _shortened_strings(item, lang) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shortened_strings(item, lang) for item in value]
    return value
