"""The review entry of one offer: what a person checks before a draft goes on sale.

An entry is plain JSON data (str, int, bool, None, lists and dicts): money as yuan text with two
decimals ("12.30"), widths as display columns. ``etl preview`` prints it, the review page renders
it, and the state store keeps its :func:`snapshot` so a later run can list what changed with
:func:`diff`.

Entry keys, in order: ``offer_id``, ``status``, ``product_id``, ``output``, ``error``, ``title``,
``images``, ``category``, ``skus``, ``detail_html``, ``warnings``, ``changes``. A failed offer
lacks the parts that were not reached: ``title`` needs the offer record, ``images`` and ``skus``
need the rule's ``review`` section, ``category`` needs either.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from etl.errors import DataError, OfferError, field_label
from etl.filters.html import clean_html
from etl.filters.money import round_fen
from etl.filters.text import display_width
from etl.notices import Notice

if TYPE_CHECKING:
    from etl.rules import Mapped, Trace

# Douyin's target names its main-image limit main_images_max, Taobao's item_images_max.
IMAGE_LIMIT_NAMES = ("main_images_max", "item_images_max")

SPEC_SEPARATOR = " / "


def build_entry(
    offer_id: str,
    status: str,
    mapped: Mapped | Trace | None = None,
    error: OfferError | None = None,
    lang: str = "zh",
    output: str | None = None,
    product_id: str | None = None,
    limits: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the review entry of one offer.

    ``mapped`` is a :class:`etl.rules.Mapped` or :class:`etl.rules.Trace` (anything with
    ``record``, ``review`` and ``notices``), or None when nothing was computed. ``error``
    defaults to the trace's error. ``limits`` are the target's limits (``title_max_width``, the
    main-image limit). Messages are rendered in ``lang``. ``changes`` is always empty here,
    because only the caller knows the previous run's snapshot.
    """
    if error is None:
        error = getattr(mapped, "error", None)
    record = getattr(mapped, "record", None)
    review = getattr(mapped, "review", None) or {}
    notices: Sequence[Notice] = getattr(mapped, "notices", ())
    limits = limits or {}
    warnings = [_notice_warning(item, lang) for item in notices]

    entry: dict[str, Any] = {
        "offer_id": offer_id,
        "status": status,
        "product_id": product_id,
        "output": output,
        "error": _error(error, lang),
    }

    if record is not None:
        entry["title"] = _title(record, review, limits)

    if "images" in review:
        entry["images"] = _images(review["images"], warnings, lang)

    if record is not None or "category_id" in review:
        entry["category"] = _category(record, review, notices)

    if "skus" in review:
        entry["skus"] = _skus(review["skus"], warnings, lang)
        warnings.extend(_sku_warnings(entry["skus"], lang))

    if record is not None:
        warnings.extend(_image_warnings(record, limits, lang))

    entry["detail_html"] = _detail_html(record)
    entry["warnings"] = warnings
    entry["changes"] = []
    return entry


# -- parts ------------------------------------------------------------------------------------


def _error(error: OfferError | None, lang: str) -> dict[str, Any] | None:
    if error is None:
        return None
    return {
        "step": error.step,
        "field": error.field,
        "sku_index": error.sku_index,
        "code": error.key,
        "message": error.render(lang),
    }


def _title(record: Mapping[str, Any], review: Mapping[str, Any], limits: Mapping[str, Any]) -> dict[str, Any]:
    """Return the title before (the 1688 record's) and after (the review's), with the after text's width."""
    after = review.get("title")
    if not isinstance(after, str):
        after = None
    return {
        "before": record.get("title"),
        "after": after,
        "width": display_width(after) if after is not None else None,
        "max_width": limits.get("title_max_width"),
    }


def _images(value: Any, warnings: list[dict], lang: str) -> list[str]:
    if isinstance(value, (list, tuple)) and all(isinstance(url, str) for url in value):
        return list(value)

    warnings.append(_invalid_value("review.images", value, "list_of_text", lang))
    return []


def _category(record: Mapping[str, Any] | None, review: Mapping[str, Any], notices: Sequence[Notice]) -> dict[str, Any]:
    target = review.get("category_id")
    return {
        "source_id": record.get("category_id") if record is not None else None,
        "source_name": record.get("category_name") if record is not None else None,
        "target_id": None if target is None else str(target),
        # Unmapped: the table had no row (a fallback was used) or no target category came out at all.
        "mapped": target is not None and not any(item.key == "warning.category_unmapped" for item in notices),
    }


def _skus(rows: Any, warnings: list[dict], lang: str) -> list[dict[str, Any]]:
    """Normalise the review's SKU rows: specs as text, money as 2-decimal yuan text, stock as int."""
    if not isinstance(rows, (list, tuple)):
        warnings.append(_invalid_value("review.skus", rows, "list", lang))
        return []

    skus = []
    for index, row in enumerate(rows):
        where = ("review", "skus", index)
        if not isinstance(row, Mapping):
            warnings.append(_invalid_value(field_label(where), row, "mapping", lang))
            continue

        skus.append({
            "specs": _specs_text(row.get("specs"), where, warnings, lang),
            "cost": _yuan_text(row.get("cost"), where + ("cost",), warnings, lang),
            "price": _yuan_text(row.get("price"), where + ("price",), warnings, lang),
            "stock": _stock(row.get("stock"), where + ("stock",), warnings, lang),
        })
    return skus


def specs_text(specs: Any) -> str | None:
    """Write SKU specs as "颜色:红色 / 尺码:S". Text stays as it is, and None and [] give "".

    Returns None for a value that is neither text nor a list of ``{name, value}`` mappings.
    """
    if specs is None:
        return ""
    if isinstance(specs, str):
        return specs
    if not isinstance(specs, (list, tuple)):
        return None

    parts = []
    for spec in specs:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("value"), str):
            return None
        name = spec.get("name")
        parts.append(f"{name}:{spec['value']}" if name else spec["value"])
    return SPEC_SEPARATOR.join(parts)


def _specs_text(specs: Any, where: tuple, warnings: list[dict], lang: str) -> str:
    text = specs_text(specs)
    if text is None:
        warnings.append(_invalid_value(field_label(where + ("specs",)), specs, "specs", lang))
        return ""
    return text


def _yuan_text(value: Any, where: tuple, warnings: list[dict], lang: str) -> str | None:
    """Return a yuan amount as text with two decimals, rounded half up, or None for None."""
    if value is None:
        return None
    try:
        return str(round_fen(value))
    except DataError:
        warnings.append(_invalid_value(field_label(where), value, "yuan", lang))
        return None


def _stock(value: Any, where: tuple, warnings: list[dict], lang: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    warnings.append(_invalid_value(field_label(where), value, "integer", lang))
    return None


def _detail_html(record: Mapping[str, Any] | None) -> str:
    """Return the record's detail HTML after ``clean_html``, or "" when there is none."""
    if record is None:
        return ""
    try:
        return clean_html(record.get("detail_html"))
    except DataError:
        return ""  # a record that passed the offer schema has text or None here


# -- warnings -----------------------------------------------------------------------------------


def _warning(key: str, field: str | None, lang: str, **params: Any) -> dict[str, Any]:
    return _notice_warning(Notice(key, field, params), lang)


def _notice_warning(item: Notice, lang: str) -> dict[str, Any]:
    return {"code": item.key, "message": item.render(lang), "field": item.field}


def _invalid_value(field: str, value: Any, expected: str, lang: str) -> dict[str, Any]:
    from etl.messages import render

    expected_text = render(f"warning.expected.{expected}", lang)
    return _warning("warning.review_value_invalid", field, lang, value=_short_repr(value), expected=expected_text)


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sku_label(sku: Mapping[str, Any], index: int) -> str:
    return sku["specs"] or f"#{index + 1}"


def _sku_warnings(skus: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Warn about SKUs without stock and SKUs priced below cost."""
    warnings = []
    for index, sku in enumerate(skus):
        where = ("review", "skus", index)
        if sku["stock"] == 0:
            warnings.append(_warning("warning.sku_no_stock", field_label(where + ("stock",)), lang, sku=_sku_label(sku, index)))

        cost, price = sku["cost"], sku["price"]
        if cost is not None and price is not None and Decimal(price) < Decimal(cost):
            warnings.append(_warning("warning.below_cost", field_label(where + ("price",)), lang,
                                     sku=_sku_label(sku, index), cost=cost, price=price))
    return warnings


def image_limit(limits: Mapping[str, Any]) -> int | None:
    """Return the target's main-image limit, or None when its limits name none."""
    for name in IMAGE_LIMIT_NAMES:
        value = limits.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _image_warnings(record: Mapping[str, Any], limits: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    limit = image_limit(limits)
    images = record.get("images") or []
    if limit is None or len(images) <= limit:
        return []
    return [_warning("warning.images_over_limit", "offer.images", lang, count=len(images), limit=limit)]


# -- changes between runs -------------------------------------------------------------------------


def snapshot(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return the parts of an entry that :func:`diff` compares across runs, as plain JSON data.

    ``{"title": after text, "category": target id, "skus": {specs text: {"price", "stock"}}}``.
    A part the entry lacks is None, and :func:`diff` does not compare it. SKUs with the same
    specs text (or several without specs) get a " #2", " #3" ... suffix after the first.
    """
    title = entry.get("title") or {}
    category = entry.get("category") or {}
    skus = entry.get("skus")

    by_specs = None
    if skus is not None:
        by_specs = {}
        for sku in skus:
            by_specs[_unique_key(by_specs, sku["specs"])] = {"price": sku["price"], "stock": sku["stock"]}

    return {"title": title.get("after"), "category": category.get("target_id"), "skus": by_specs}


def _unique_key(existing: Mapping[str, Any], key: str) -> str:
    if key not in existing:
        return key
    number = 2
    while f"{key} #{number}" in existing:
        number += 1
    return f"{key} #{number}"


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """List what changed from the ``old`` snapshot to the ``new`` one, as the entry's ``changes``.

    Order: title, category, then SKUs in the new order (``sku_added``, or ``price`` and ``stock``
    changes), then ``sku_removed`` in the old order. Prices are compared as Decimal, so "18.9"
    and "18.90" are equal. A part that is None in either snapshot is not compared, and a missing
    snapshot (first run) gives no changes.
    """
    if old is None or new is None:
        return []

    changes = []
    for kind in ("title", "category"):
        before, after = old.get(kind), new.get(kind)
        if before is not None and after is not None and before != after:
            changes.append({"kind": kind, "from": before, "to": after})

    old_skus, new_skus = old.get("skus"), new.get("skus")
    if old_skus is None or new_skus is None:
        return changes

    for specs, sku in new_skus.items():
        previous = old_skus.get(specs)
        if previous is None:
            changes.append({"kind": "sku_added", "sku": specs})
            continue
        if not _same_money(previous.get("price"), sku.get("price")):
            changes.append({"kind": "price", "sku": specs, "from": previous.get("price"), "to": sku.get("price")})
        if previous.get("stock") != sku.get("stock"):
            changes.append({"kind": "stock", "sku": specs, "from": previous.get("stock"), "to": sku.get("stock")})

    for specs in old_skus:
        if specs not in new_skus:
            changes.append({"kind": "sku_removed", "sku": specs})
    return changes


def _same_money(before: Any, after: Any) -> bool:
    if before is None or after is None:
        return before is after
    try:
        return Decimal(str(before)) == Decimal(str(after))
    except InvalidOperation:
        return before == after
