"""SKU filters: the SKU parts of Douyin Shop ``product.addV2`` and Taobao ``taobao.item.add`` payloads.

Every filter takes ``rows``, a list with one dict per sellable SKU, built by the rule file::

    {"specs": [{"name": "颜色", "value": "白", "image": "https://..." or None}, ...],
     "price": int fen (Douyin) or Decimal yuan (Taobao),
     "stock": int, "code": str or None, "sku_id": str or None}

``specs`` has at most 3 entries, and an offer without SKUs arrives as one row with ``specs: []``.
Rows are numbered from 0, and every error about one row carries ``sku_index`` and ``sku_id``.

Separator characters inside spec names and values would corrupt the platforms' text formats, so
the builders replace them with their full-width forms:

- Douyin ``specs`` and ``spec_prices``: ``|`` → ``｜``, ``^`` → ``＾``, ``,`` → ``，``. Both builders
  apply the same replacement, so the values in ``spec_prices`` match the ``specs`` string.
- Taobao ``property_alias``: ``,`` → ``，``, ``;`` → ``；``, ``:`` → ``：``.

All functions are pure and raise :class:`etl.errors.DataError` for a bad row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product
from math import prod
from typing import Any

from etl.errors import DataError

# Douyin's `specs` format allows at most 3 levels. spec_dimensions applies the limit for every
# target, so one rule's rows fit both platforms.
MAX_DIMENSIONS = 3

DOUYIN_FULL_WIDTH = str.maketrans({"|": "｜", "^": "＾", ",": "，"})
TAOBAO_FULL_WIDTH = str.maketrans({",": "，", ";": "；", ":": "："})

# Limits from the taobao.item.add parameter documentation, counted in UTF-8 bytes.
TAOBAO_SKU_PROPERTIES_MAX_BYTES = 512
TAOBAO_PROPERTY_ALIAS_MAX_BYTES = 511

# The documented taobao.item.add price range is 0 to 100000000 yuan, with two decimals.
TAOBAO_PRICE_MAX = Decimal("100000000")
CENT = Decimal("0.01")

Dimension = tuple[str, list[str]]


@dataclass(frozen=True)
class _SpecTable:
    """The checked spec part of the rows: dimension names, values per dimension, one combination per row."""

    names: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    combinations: tuple[tuple[str, ...], ...]


# --- reading and checking rows ---------------------------------------------------------------


def _check_row_list(rows: Any) -> None:
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise DataError("sku.no_rows", type=type(rows).__name__)

    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError("sku.row_invalid", sku_index=index, type=type(row).__name__)


def _read_spec_text(row: Mapping, index: int, position: int, key: str) -> str:
    """Return ``specs[position][key]`` of a row, rejecting non-text and blank values."""
    field = f"specs[{position}].{key}"
    text = row["specs"][position].get(key)

    if text is None or (isinstance(text, str) and not text.strip()):
        raise DataError("sku.empty_spec", sku_index=index, sku_id=row.get("sku_id"), field=field)

    if not isinstance(text, str):
        raise DataError(
            "sku.field_not_text",
            sku_index=index,
            sku_id=row.get("sku_id"),
            field=field,
            type=type(text).__name__,
            value=text,
        )

    return text


def _read_row_specs(row: Mapping, index: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the spec names and values of one row, in the row's order."""
    specs = row.get("specs")
    if not isinstance(specs, list) or not all(isinstance(spec, Mapping) for spec in specs):
        raise DataError(
            "sku.specs_invalid", sku_index=index, sku_id=row.get("sku_id"), type=type(specs).__name__
        )

    names = tuple(_read_spec_text(row, index, position, "name") for position in range(len(specs)))
    values = tuple(_read_spec_text(row, index, position, "value") for position in range(len(specs)))

    if len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise DataError("sku.spec_name_repeated", sku_index=index, sku_id=row.get("sku_id"), name=repeated)

    return names, values


def _check_dimension_names(
    names: tuple[str, ...], expected: tuple[str, ...] | None, row: Mapping, index: int, max_dimensions: int | None
) -> None:
    """Check row 0 (``expected`` is None) against the dimension limit and later rows against row 0's names."""
    sku_id = row.get("sku_id")

    if expected is None:
        if max_dimensions is not None and len(names) > max_dimensions:
            raise DataError(
                "sku.too_many_dimensions",
                sku_index=index,
                sku_id=sku_id,
                count=len(names),
                names=list(names),
                limit=max_dimensions,
            )
        return

    if names != expected:
        raise DataError(
            "sku.spec_names_differ",
            sku_index=index,
            sku_id=sku_id,
            expected=list(expected),
            found=list(names),
        )


def _read_spec_table(rows: Any, max_dimensions: int | None = MAX_DIMENSIONS) -> _SpecTable:
    """Check the spec part of every row and collect the dimensions.

    All rows must have the same spec names in the same order, at most ``max_dimensions`` of them
    (Douyin allows 3, Taobao sets no such limit), and no two rows the same combination of values. Rows without specs mean an offer without SKUs, which must
    have exactly one row.
    """
    _check_row_list(rows)

    expected: tuple[str, ...] | None = None
    values: list[dict[str, None]] = []
    first_row_of: dict[tuple[str, ...], int] = {}
    combinations: list[tuple[str, ...]] = []

    for index, row in enumerate(rows):
        names, combination = _read_row_specs(row, index)
        _check_dimension_names(names, expected, row, index, max_dimensions)

        if expected is None:
            expected = names
            # dicts keep insertion order, so each dimension's values stay in first-appearance order
            values = [{} for _ in names]

        if combination in first_row_of:
            _raise_duplicate(rows, first_row_of[combination], index, combination)

        first_row_of[combination] = index
        combinations.append(combination)
        for dimension, value in enumerate(combination):
            values[dimension].setdefault(value, None)

    return _SpecTable(
        names=expected or (),
        values=tuple(tuple(found) for found in values),
        combinations=tuple(combinations),
    )


def spec_dimensions(rows: Any) -> list[Dimension]:
    """Return the spec dimensions of the rows: each name with its values, in first-appearance order.

    Names follow the order within a row's specs, and values the order of the rows. Raises
    ``DataError`` when rows disagree on names (``sku.spec_names_differ``), have more than 3
    (``sku.too_many_dimensions``), repeat a combination (``sku.duplicate_combination``) or have an
    empty name or value (``sku.empty_spec``). An offer without specs has no dimensions.
    """
    table = _read_spec_table(rows)
    return [(name, list(values)) for name, values in zip(table.names, table.values)]


def _raise_duplicate(rows: Sequence, first_index: int, index: int, combination: tuple[str, ...]) -> None:
    if not combination:
        raise DataError(
            "sku.several_rows_without_specs",
            sku_index=index,
            sku_id=rows[index].get("sku_id"),
            count=len(rows),
        )

    raise DataError(
        "sku.duplicate_combination",
        sku_index=index,
        sku_id=rows[index].get("sku_id"),
        first_index=first_index,
        first_sku_id=rows[first_index].get("sku_id"),
        values=list(combination),
    )


def _read_optional_text(row: Mapping, index: int, field: str) -> str:
    """Return a text field that may be missing (``code``, ``sku_id``), with ``""`` for None."""
    text = row.get(field)
    if text is None:
        return ""

    # An int here has already lost the leading zeros of a code like "0123", so it is rejected
    # rather than converted.
    if not isinstance(text, str):
        raise DataError(
            "sku.field_not_text",
            sku_index=index,
            sku_id=row.get("sku_id"),
            field=field,
            type=type(text).__name__,
            value=text,
        )

    return text


def _read_stock(row: Mapping, index: int) -> int:
    """Return the row's stock, an int >= 0 (pieces)."""
    stock = row.get("stock")
    if stock is None:
        raise DataError("sku.stock_missing", sku_index=index, sku_id=row.get("sku_id"))

    # bool is a subclass of int, and True is never a stock count.
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        raise DataError(
            "sku.stock_invalid",
            sku_index=index,
            sku_id=row.get("sku_id"),
            type=type(stock).__name__,
            value=stock,
        )

    return stock


# --- Douyin ------------------------------------------------------------------------------------


def _read_price_fen(row: Mapping, index: int) -> int:
    """Return the row's Douyin price, an int > 0 in fen."""
    price = row.get("price")
    sku_id = row.get("sku_id")

    if price is None:
        raise DataError("sku.price_missing", sku_index=index, sku_id=sku_id)

    if isinstance(price, bool) or not isinstance(price, int):
        raise DataError(
            "sku.price_not_fen", sku_index=index, sku_id=sku_id, type=type(price).__name__, value=price
        )

    if price <= 0:
        raise DataError("sku.price_not_positive", sku_index=index, sku_id=sku_id, value=price)

    return price


def _to_douyin_text(text: str) -> str:
    return text.translate(DOUYIN_FULL_WIDTH)


def _check_douyin_default(parameter: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DataError("sku.douyin_default_invalid", parameter=parameter, value=value)


def _check_no_collision(texts: Sequence[str]) -> None:
    """Raise if two different texts become the same text after the full-width replacement.

    Douyin identifies a SKU by its value texts, so ``"S,M"`` and ``"S，M"`` in one dimension would
    become one value.
    """
    original_of: dict[str, str] = {}
    for text in texts:
        replaced = _to_douyin_text(text)
        if replaced in original_of and original_of[replaced] != text:
            raise DataError(
                "sku.separator_collision", first=original_of[replaced], second=text, text=replaced
            )
        original_of[replaced] = text


def _check_douyin_collisions(table: _SpecTable) -> None:
    _check_no_collision(table.names)
    for values in table.values:
        _check_no_collision(values)


def _douyin_dimensions(table: _SpecTable, default_name: str, default_value: str) -> list[Dimension]:
    """Return the dimensions as Douyin text, or the one default dimension for an offer without specs."""
    if not table.names:
        _check_douyin_default("default_name", default_name)
        _check_douyin_default("default_value", default_value)
        return [(_to_douyin_text(default_name), [_to_douyin_text(default_value)])]

    _check_douyin_collisions(table)
    return [
        (_to_douyin_text(name), [_to_douyin_text(value) for value in values])
        for name, values in zip(table.names, table.values)
    ]


def douyin_specs(rows: Any, default_name: str = "规格", default_value: str = "默认") -> str:
    """Build Douyin's ``specs`` string, such as ``颜色|白,红^尺码|S,M``.

    Dimensions are separated by ``^``, a name from its values by ``|`` and values by ``,``, in
    first-appearance order. An offer without specs gives ``<default_name>|<default_value>``.
    Separator characters inside names and values become their full-width forms.
    """
    table = _read_spec_table(rows)
    dimensions = _douyin_dimensions(table, default_name, default_value)

    return "^".join(f"{name}|{','.join(values)}" for name, values in dimensions)


def douyin_spec_prices(rows: Any, default_value: str = "默认", max_rows: int | None = None) -> list[dict[str, Any]]:
    """Build Douyin's ``spec_prices`` list, one dict per combination of the dimensions.

    Combinations follow the order of the ``specs`` string, with the first dimension changing
    slowest. Each dict has ``spec_detail_name1..3`` (``""`` for unused levels), ``price`` (int,
    fen), ``stock_num``, ``code`` and ``outer_sku_id`` (the row's ``sku_id``), with ``""`` for a
    missing code or sku_id. Douyin needs a dict for every combination, so a combination that
    1688 does not sell gets stock 0 and the highest price of the real rows, which keeps it
    unsellable without advertising a lower price. An offer without specs gives one dict for
    ``default_value``. With ``max_rows``, an offer whose combinations outnumber it fails
    (``sku.too_many_combinations``) before any row is built, because sparse SKUs over long
    value lists multiply: 60 SKUs with 60 values in each of 3 dimensions make 216,000 rows.
    """
    table = _read_spec_table(rows)
    prices = [_read_price_fen(row, index) for index, row in enumerate(rows)]
    stocks = [_read_stock(row, index) for index, row in enumerate(rows)]
    codes = [_read_optional_text(row, index, "code") for index, row in enumerate(rows)]
    sku_ids = [_read_optional_text(row, index, "sku_id") for index, row in enumerate(rows)]

    if not table.names:
        _check_douyin_default("default_value", default_value)
        return [_spec_price((_to_douyin_text(default_value),), prices[0], stocks[0], codes[0], sku_ids[0])]

    _check_douyin_collisions(table)
    combinations = prod(len(values) for values in table.values)
    if max_rows is not None and combinations > max_rows:
        raise DataError("sku.too_many_combinations", count=combinations, rows=len(rows), limit=max_rows)

    row_of = {combination: index for index, combination in enumerate(table.combinations)}
    highest_price = max(prices)
    spec_prices = []

    for combination in product(*table.values):
        texts = tuple(_to_douyin_text(value) for value in combination)
        index = row_of.get(combination)

        if index is None:
            spec_prices.append(_spec_price(texts, highest_price, 0, "", ""))
        else:
            spec_prices.append(_spec_price(texts, prices[index], stocks[index], codes[index], sku_ids[index]))

    return spec_prices


def _spec_price(texts: tuple[str, ...], price: int, stock: int, code: str, sku_id: str) -> dict[str, Any]:
    padded = texts + ("",) * (MAX_DIMENSIONS - len(texts))
    return {
        "spec_detail_name1": padded[0],
        "spec_detail_name2": padded[1],
        "spec_detail_name3": padded[2],
        "price": price,
        "stock_num": stock,
        "code": code,
        "outer_sku_id": sku_id,
    }


def missing_combinations(rows: Any) -> list[tuple[str, ...]]:
    """Return the combinations that :func:`douyin_spec_prices` fills in, as 1688 value texts.

    The order is that of ``spec_prices``. An offer without specs has none.
    """
    table = _read_spec_table(rows)
    if not table.names:
        return []

    sold = set(table.combinations)
    return [combination for combination in product(*table.values) if combination not in sold]


def douyin_spec_pic(rows: Any) -> str:
    """Build Douyin's ``spec_pic``: the images of the first dimension's values, comma-separated.

    Each value takes the first image found on a row with that value. The result is ``""`` when
    the offer has no specs or any value of the first dimension has no image, because Douyin
    pairs images with values by position.
    """
    table = _read_spec_table(rows)
    if not table.names:
        return ""

    image_of: dict[str, str] = {}
    for index, row in enumerate(rows):
        value = table.combinations[index][0]
        image = _read_image(row, index)
        if image and value not in image_of:
            image_of[value] = image

    if any(value not in image_of for value in table.values[0]):
        return ""

    return ",".join(image_of[value] for value in table.values[0])


def _read_image(row: Mapping, index: int) -> str:
    """Return the image URL of the row's first spec, ``""`` if it has none."""
    image = row["specs"][0].get("image")
    if image is None:
        return ""

    if not isinstance(image, str):
        raise DataError(
            "sku.field_not_text",
            sku_index=index,
            sku_id=row.get("sku_id"),
            field="specs[0].image",
            type=type(image).__name__,
            value=image,
        )

    # A comma would split one URL into two, and escaping it could make the URL point elsewhere.
    if "," in image:
        raise DataError("sku.image_has_comma", sku_index=index, sku_id=row.get("sku_id"), value=image)

    return image.strip()


# --- Taobao ------------------------------------------------------------------------------------


def _read_price_yuan(row: Mapping, index: int) -> str:
    """Return the row's Taobao price as yuan text with two decimals, such as ``"10.00"``."""
    price = row.get("price")
    sku_id = row.get("sku_id")

    if price is None:
        raise DataError("sku.price_missing", sku_index=index, sku_id=sku_id)

    # Only Decimal is accepted: an int is most likely fen from yuan_to_fen, and a float or a
    # string has skipped the money filters that round to whole fen.
    if not isinstance(price, Decimal) or not price.is_finite():
        raise DataError(
            "sku.price_not_yuan", sku_index=index, sku_id=sku_id, type=type(price).__name__, value=price
        )

    if price <= 0:
        raise DataError("sku.price_not_positive", sku_index=index, sku_id=sku_id, value=price)

    if price > TAOBAO_PRICE_MAX:
        raise DataError(
            "sku.taobao_price_out_of_range", sku_index=index, sku_id=sku_id, value=price, limit=TAOBAO_PRICE_MAX
        )

    if price != price.quantize(CENT):
        raise DataError("sku.price_too_precise", sku_index=index, sku_id=sku_id, value=price)

    return f"{price:.2f}"


def _read_taobao_outer_id(row: Mapping, index: int) -> str:
    code = _read_optional_text(row, index, "code")

    # A comma would shift every later SKU's outer id by one place, and rewriting the code would
    # break matching with the 1688 SKU.
    if "," in code:
        raise DataError("sku.taobao_outer_id_has_comma", sku_index=index, sku_id=row.get("sku_id"), value=code)

    return code


def _taobao_pids(names: tuple[str, ...], aliases: Mapping | None) -> list[str]:
    """Return one Taobao property id per dimension.

    A dimension named in ``aliases`` gets that pid. The others get seller-custom pids -1, -2, …,
    numbered in dimension order over the dimensions without an alias.
    """
    aliases = aliases or {}
    pids: list[str] = []
    dimension_of: dict[str, str] = {}
    next_custom = -1

    for name in names:
        if name in aliases:
            pid = _check_taobao_pid(name, aliases[name])
        else:
            pid = str(next_custom)
            next_custom -= 1

        if pid in dimension_of:
            raise DataError("sku.taobao_pid_repeated", pid=pid, first=dimension_of[pid], second=name)

        dimension_of[pid] = name
        pids.append(pid)

    return pids


def _check_taobao_pid(name: str, pid: Any) -> str:
    """Return an alias pid as text after checking that it is a positive integer, as Taobao's property ids are."""
    if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
        return str(pid)

    if isinstance(pid, str) and pid.isascii() and pid.isdigit() and int(pid) > 0:
        return pid

    raise DataError("sku.taobao_pid_invalid", name=name, value=pid)


def _check_taobao_size(field: str, text: str, limit: int) -> None:
    size = len(text.encode("utf-8"))
    if size > limit:
        raise DataError("sku.taobao_too_long", field=field, size=size, limit=limit)


def taobao_skus(rows: Any, aliases: Mapping | None = None) -> dict[str, str]:
    """Build the SKU parameters of ``taobao.item.add``.

    Returns ``sku_properties``, ``sku_prices``, ``sku_quantities``, ``sku_outer_ids`` and
    ``property_alias``. The first four list the rows in the same order, because Taobao pairs them
    by position. SKUs are separated by ``,`` and the ``pid:vid`` pairs of one SKU by ``;``.
    Prices must be Decimal yuan and come out with two decimals (``"10.00"``). An outer id is the
    row's code, and a row without one keeps its empty slot (``"A1,,B2"``).

    ``aliases`` maps a 1688 spec name to a Taobao property id, e.g. ``{"颜色": "1627207"}``.
    Dimensions without an alias get seller-custom pids (see :func:`_taobao_pids`). Values get
    seller-custom vids -1, -2, … numbered across the whole offer, and ``property_alias`` lists
    ``pid:vid:<1688 value text>`` for each, so the Taobao item shows the 1688 value texts.

    NOTE: a seller-custom pid carries no property name here, so Taobao does not see the 1688
    spec name (颜色, 尺码) of a dimension without an alias.

    Taobao items without SKUs send no ``sku_*`` fields, so an offer without specs gives five
    empty strings and the rule omits the fields. Its row is still checked.
    """
    table = _read_spec_table(rows, max_dimensions=None)
    prices = [_read_price_yuan(row, index) for index, row in enumerate(rows)]
    stocks = [_read_stock(row, index) for index, row in enumerate(rows)]
    outer_ids = [_read_taobao_outer_id(row, index) for index, row in enumerate(rows)]

    if not table.names:
        return dict.fromkeys(
            ("sku_properties", "sku_prices", "sku_quantities", "sku_outer_ids", "property_alias"), ""
        )

    pids = _taobao_pids(table.names, aliases)
    vid_of, property_alias = _taobao_custom_values(pids, table.values)
    sku_properties = ",".join(
        ";".join(f"{pid}:{vid_of[dimension, value]}" for dimension, (pid, value) in enumerate(zip(pids, combination)))
        for combination in table.combinations
    )

    _check_taobao_size("sku_properties", sku_properties, TAOBAO_SKU_PROPERTIES_MAX_BYTES)
    _check_taobao_size("property_alias", property_alias, TAOBAO_PROPERTY_ALIAS_MAX_BYTES)

    return {
        "sku_properties": sku_properties,
        "sku_prices": ",".join(prices),
        "sku_quantities": ",".join(str(stock) for stock in stocks),
        "sku_outer_ids": ",".join(outer_ids),
        "property_alias": property_alias,
    }


def _taobao_custom_values(
    pids: list[str], values: tuple[tuple[str, ...], ...]
) -> tuple[dict[tuple[int, str], int], str]:
    """Number every value with a negative vid and build the matching ``property_alias`` string."""
    vid_of: dict[tuple[int, str], int] = {}
    aliases: list[str] = []
    next_vid = -1

    for dimension, (pid, dimension_values) in enumerate(zip(pids, values)):
        for value in dimension_values:
            vid_of[dimension, value] = next_vid
            aliases.append(f"{pid}:{next_vid}:{value.translate(TAOBAO_FULL_WIDTH)}")
            next_vid -= 1

    return vid_of, ";".join(aliases)


def sum_stock(rows: Any) -> int:
    """Return the total stock of all rows in pieces, the value Taobao's ``num`` must equal."""
    _check_row_list(rows)
    return sum(_read_stock(row, index) for index, row in enumerate(rows))
