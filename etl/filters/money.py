"""Money filters for rule expressions: parse prices, apply markups, round, pick price tiers.

Every amount is a ``decimal.Decimal`` in yuan unless the function name says fen; fen amounts
are ``int``. Arithmetic never goes through binary floats because ``int(float("19.9") * 100)``
is 1989. A float that arrives anyway (a YAML var such as ``markup: 1.6``) is converted through
its shortest ``repr``, so ``1.6`` becomes exactly ``Decimal("1.6")``.

Rounding is always ROUND_HALF_UP to the fen (0.01 yuan). All arithmetic uses this module's own
decimal contexts, so a caller that changed the thread's decimal context cannot change a price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any

from etl.errors import DataError

FEN = Decimal("0.01")

# Sums and products must be exact. Inexact is trapped, so a result that needs more than
# 60 digits raises instead of being rounded silently.
_EXACT = Context(prec=60, traps=[InvalidOperation, Inexact, Overflow])

# Quantizing rounds by design, so this context traps only invalid operations, which is
# how quantize reports a value with more than 60 digits.
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])

_CURRENCY_SIGNS = ("¥", "￥")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_GROUPED_NUMBER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_ENDING = re.compile(r"(?P<integer>[0-9]*)(?:\.(?P<fraction>[0-9]{1,2}))?")


def _parse_text(text: str) -> Decimal | None:
    """Parse a price written as text, or return None when it is not a plain decimal number.

    Accepted: surrounding whitespace, one leading ¥ or ￥, one trailing 元, thousands commas in
    groups of three, an optional sign. Rejected: exponents, underscores, non-ASCII digits, "NaN",
    "Infinity".
    """
    stripped = text.strip()
    if stripped.startswith(_CURRENCY_SIGNS):
        stripped = stripped[1:].lstrip()
    if stripped.endswith("元"):
        stripped = stripped[:-1].rstrip()

    if "," in stripped:
        if not _GROUPED_NUMBER.fullmatch(stripped):
            return None
        stripped = stripped.replace(",", "")

    if not _PLAIN_NUMBER.fullmatch(stripped):
        return None
    return Decimal(stripped)


def _parse_number(value: Any) -> Decimal | None:
    """Convert str, int, Decimal or float to a finite signed Decimal, or return None.

    bool is rejected although it subclasses int, because ``True`` as a price is a rule mistake.
    """
    if type(value) is Decimal:
        number = value  # the usual case: source numbers arrive as Decimal, so test it first
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, str):
        number = _parse_text(value)
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        return None

    if number is None or not number.is_finite():
        return None

    # "-0" and "-0.00" are zero, not negative prices.
    return number.copy_abs() if number.is_zero() else number


def to_decimal(value: Any) -> Decimal:
    """Convert a price in yuan to a non-negative Decimal, keeping every digit given.

    Accepts str ("19.9", " 0.29 ", "1,299.00", "¥17.08"), int, Decimal and float (through
    ``repr``). Raises DataError ``money.invalid`` for bool, None, "", NaN, Infinity and
    non-numeric text, and ``money.negative`` for a value below zero.
    """
    number = _parse_number(value)
    if number is None:
        raise DataError("money.invalid", value=value)

    if number < 0:
        raise DataError("money.negative", value=value)
    return number


def _quantize_fen(number: Decimal, original: Any) -> Decimal:
    try:
        return number.quantize(FEN, rounding=ROUND_HALF_UP, context=_ROUNDING)
    except InvalidOperation:
        raise DataError("money.invalid", value=original) from None


def round_fen(value: Any) -> Decimal:
    """Round a yuan amount half up to the fen and return it with exactly two decimals."""
    return _quantize_fen(to_decimal(value), value)


def yuan_to_fen(value: Any) -> int:
    """Convert yuan (anything ``to_decimal`` accepts) to whole fen, rounding half up.

    "19.9" gives 1990, "0.005" gives 1 and "0.004" gives 0.
    """
    return int(round_fen(value).scaleb(2, context=_EXACT))


def fen_to_yuan(fen: Any) -> Decimal:
    """Convert whole fen to yuan with exactly two decimals: 1990 gives Decimal("19.90").

    ``fen`` is normally an int. Text or a Decimal with a whole value is accepted too, because
    some sources send fen as text. Raises ``money.fen_invalid`` for a fraction of a fen.
    """
    if type(fen) is int and fen >= 0:
        return Decimal(fen).scaleb(-2, context=_EXACT)  # the usual case, which needs none of the checks below

    number = to_decimal(fen)
    if number != number.to_integral_value():
        raise DataError("money.fen_invalid", value=fen)

    return Decimal(int(number)).scaleb(-2, context=_EXACT)


def _parse_markup(markup: Any) -> Decimal:
    number = _parse_number(markup)
    if number is None or number <= 0:
        raise DataError("money.markup_invalid", value=markup)
    return number


def _parse_add(add: Any) -> Decimal:
    number = _parse_number(add)
    if number is None:
        raise DataError("money.add_invalid", value=add)
    return number


def retail(cost: Any, markup: Any = 1, add: Any = 0) -> Decimal:
    """Compute the retail price ``cost * markup + add`` in yuan, rounded half up to the fen.

    ``cost`` and ``add`` are yuan and ``markup`` is a factor. Each accepts str, int, Decimal or
    a float converted through ``repr``. ``add`` may be negative (a discount). The product and
    sum are exact, and only the result is rounded: 0.29 * 1.6 = 0.464 gives 0.46.

    Raises ``money.markup_invalid`` unless markup > 0, ``money.add_invalid`` for a non-numeric
    add, and ``money.retail_negative`` when the result is below zero.
    """
    base = to_decimal(cost)
    factor = _parse_markup(markup)
    extra = _parse_add(add)

    try:
        exact = _EXACT.add(_EXACT.multiply(base, factor), extra)
    except DecimalException:
        raise DataError("money.invalid", value=cost) from None

    price = _quantize_fen(exact, cost)
    if price < 0:
        raise DataError("money.retail_negative", cost=cost, markup=markup, add=add, result=price)

    # A result such as -0.004 rounds to -0.00, which is zero and must print as "0.00".
    return price.copy_abs() if price.is_zero() else price


def markup_for_cost(cost: Any, ranges: Any, default: Any = 1) -> Decimal:
    """Pick the markup for a cost from analyst-defined cost ranges, or ``default`` outside them.

    ``ranges`` is a list such as ``[{"up_to": 10, "markup": 2}, {"up_to": 50, "markup": 1.6}]``,
    read in order: the first range whose ``up_to`` (yuan, inclusive) is at least the cost wins, and
    a range without ``up_to`` matches every cost. ``None`` or an empty list gives ``default``.
    Raises ``money.ranges_invalid`` for a range that is not such a mapping.
    """
    base = to_decimal(cost)
    for item in check_cost_ranges(ranges):
        limit = item.get("up_to")
        if limit is None or base <= to_decimal(limit):
            return _parse_markup(item["markup"])

    return _parse_markup(default)


def check_cost_ranges(ranges: Any) -> list:
    """Return ``ranges`` as a list after checking its form and that ``up_to`` rises from range to range.

    An unsorted list would let a later, wider range never match, so it is rejected
    (``money.ranges_unsorted``), as is a range after one without ``up_to``.
    """
    if ranges is not None and not isinstance(ranges, (list, tuple)):
        raise DataError("money.ranges_not_list", value=ranges)

    checked = []
    previous = None
    for index, item in enumerate(ranges or []):
        if not isinstance(item, Mapping) or "markup" not in item or set(item) - {"up_to", "markup"}:
            raise DataError("money.ranges_invalid", index=index, value=item)

        _parse_markup(item["markup"])
        limit = item.get("up_to")
        if previous == "open" or (limit is not None and previous is not None and to_decimal(limit) <= previous):
            raise DataError("money.ranges_unsorted", index=index, value=item)

        previous = "open" if limit is None else to_decimal(limit)
        checked.append(item)
    return checked


def retail_price(cost: Any, markup: Any = 1, add: Any = 0, cost_ranges: Any = None, ending: Any = None) -> Decimal:
    """Compute a retail price with every pricing option a rule can switch on, in yuan.

    The markup comes from ``cost_ranges`` when given (see :func:`markup_for_cost`), else
    ``markup``. Then ``cost * markup + add`` is rounded half up to the fen (:func:`retail`), and
    rounded up to the price ``ending`` when one is given (:func:`price_ending`). With the options
    left at ``None``, ``markup=1`` and ``add=0`` the result equals the cost.
    """
    factor = markup_for_cost(cost, cost_ranges, markup)
    price = retail(cost, factor, add)
    return price if ending is None else price_ending(price, ending)


def _parse_ending(ending: Any) -> tuple[Decimal, int]:
    """Return the ending's value and the number of integer places it fixes."""
    if not isinstance(ending, str):
        raise DataError("money.ending_invalid", value=ending)

    match = _ENDING.fullmatch(ending.strip())
    if match is None or not (match["integer"] or match["fraction"]):
        raise DataError("money.ending_invalid", value=ending)

    return Decimal(match[0]), len(match["integer"])


def price_ending(value: Any, ending: str) -> Decimal:
    """Round a yuan price up to the nearest price that ends in the digits of ``ending``.

    ``ending`` is text of ASCII digits with an optional point and at most two decimals, such as
    "9.9", ".99", "0.99" or "8". Its digits are aligned on the decimal point and fix those
    places of the result. The result is the smallest price >= value of the form
    ``n * 10**k + ending``, where n >= 0 is an integer and k is the number of digits before the
    ending's point. Examples with value 23.41: "9.9" gives 29.90, ".99" gives 23.99, "0.99"
    gives 30.99 and "8" gives 28.00. 24.00 with ".99" gives 24.99, and 29.90 with "9.9" stays
    29.90. The result has exactly two decimals.

    ``ending`` must be a string because YAML reads an unquoted 9.9 or .99 as a float, and a
    float cannot tell ".99" from "0.99". Raises ``money.ending_invalid`` for anything else.
    """
    price = to_decimal(value)
    tail, integer_places = _parse_ending(ending)

    try:
        distance = _EXACT.subtract(price, tail).scaleb(-integer_places, context=_EXACT)
        steps = max(distance.to_integral_value(rounding=ROUND_CEILING), Decimal(0))
        result = _EXACT.add(steps.scaleb(integer_places, context=_EXACT), tail)
    except DecimalException:
        raise DataError("money.invalid", value=value) from None

    return _quantize_fen(result, value)


def _parse_count(count: Any) -> int | None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return None
    return count


def _parse_tiers(tiers: Any) -> list[tuple[int, Decimal]]:
    if tiers is None:
        raise DataError("money.no_tiers")

    if isinstance(tiers, (str, bytes)) or not isinstance(tiers, Sequence):
        raise DataError("money.tier_invalid", tier=tiers)

    if not tiers:
        raise DataError("money.no_tiers")

    ladder = []
    for tier in tiers:
        if not isinstance(tier, Mapping) or "price" not in tier:
            raise DataError("money.tier_invalid", tier=tier)

        min_quantity = _parse_count(tier.get("min_quantity"))
        if min_quantity is None:
            raise DataError("money.tier_invalid", tier=tier)

        ladder.append((min_quantity, to_decimal(tier["price"])))
    return ladder


def tier_price(tiers: Any, quantity: int | None = None) -> Decimal:
    """Return the unit price in yuan for buying ``quantity`` pieces from a wholesale ladder.

    ``tiers`` is a list of ``{"min_quantity": int, "price": yuan}`` in any order. With a
    quantity, the tier with the greatest ``min_quantity <= quantity`` applies. A quantity below
    every tier gets the tier with the smallest ``min_quantity``, because that is the least a
    buyer can order. With ``quantity=None`` the result is the lowest price of all tiers.
    Tiers with equal ``min_quantity`` give their lowest price, so the order never matters.

    Raises ``money.no_tiers`` for an empty list, ``money.tier_invalid`` for a malformed tier and
    ``money.quantity_invalid`` unless quantity is None or an int >= 0.
    """
    ladder = _parse_tiers(tiers)
    if quantity is None:
        return min(price for _, price in ladder)

    count = _parse_count(quantity)
    if count is None:
        raise DataError("money.quantity_invalid", value=quantity)

    reached = [min_quantity for min_quantity, _ in ladder if min_quantity <= count]
    chosen = max(reached) if reached else min(min_quantity for min_quantity, _ in ladder)
    return min(price for min_quantity, price in ladder if min_quantity == chosen)


def sku_cost(sku: Mapping[str, Any] | None, offer: Mapping[str, Any]) -> Decimal:
    """Return the cost basis in yuan of one SKU row, from the first source that is not None.

    The order is:

    1. ``sku["consign_price"]``, the SKU's dropship (代发) price;
    2. ``sku["price"]``, the SKU's wholesale price;
    3. ``offer["consign_price"]``, the offer's dropship price;
    4. ``tier_price(offer["price_tiers"], offer["min_order_quantity"])``.

    ``sku`` is None for an offer without SKUs, which starts at step 3. A SKU without a price
    never takes another SKU's price. Raises ``money.no_cost`` when no step has a price, and
    ``money.invalid`` or ``money.negative`` when the price found is unusable.
    """
    if sku is not None:
        # A dropship price of 0 means the seller set none, so the next step applies.
        consign_price = _positive_or_none(sku.get("consign_price"))
        if consign_price is not None:
            return consign_price
        if sku.get("price") is not None:
            return to_decimal(sku["price"])

    consign_price = _positive_or_none(offer.get("consign_price"))
    if consign_price is not None:
        return consign_price

    if offer.get("price_tiers"):
        return tier_price(offer["price_tiers"], offer.get("min_order_quantity"))

    sku_id = sku.get("sku_id") if sku is not None else None
    raise DataError("money.no_cost", sku_id=sku_id or "-")


def _positive_or_none(value: Any) -> Decimal | None:
    """Return ``to_decimal(value)`` when it is above zero, None for None or zero; raise like ``to_decimal``."""
    if value is None:
        return None
    number = to_decimal(value)
    return number if number > 0 else None


def format_yuan(value: Any) -> str:
    """Format a yuan amount as text with exactly two decimals, such as "10.00" (Taobao sku_prices)."""
    return format(round_fen(value), "f")
