"""The shortcuts in ``to_decimal``, ``fen_to_yuan`` and ``sku_cost`` keep their results and errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl.errors import DataError
from etl.filters import money
from etl.filters.money import fen_to_yuan, sku_cost, to_decimal


def result(function, *args):
    try:
        return ("value", str(function(*args)))
    except DataError as error:
        return ("error", error.key, error.params)


@pytest.mark.parametrize("value", [Decimal("19.90"), Decimal("0.00"), Decimal("-0"), Decimal("1E+2"), Decimal("-3"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_to_decimal_of_decimal(value):
    if value.is_nan() or value.is_infinite():
        with pytest.raises(DataError) as caught:
            to_decimal(value)
        assert caught.value.key == "money.invalid"
    elif value < 0:
        with pytest.raises(DataError) as caught:
            to_decimal(value)
        assert caught.value.key == "money.negative"
    else:
        assert str(to_decimal(value)) == str(value.copy_abs() if value.is_zero() else value)


@pytest.mark.parametrize(("sku", "offer", "expected"), [
    ({"consign_price": Decimal("3"), "price": Decimal("2")}, {}, ("value", "3")),
    ({"consign_price": Decimal("0"), "price": Decimal("2")}, {}, ("value", "2")),
    ({"consign_price": "abc", "price": Decimal("2")}, {}, ("error", "money.invalid", {"value": "abc"})),
    ({"consign_price": None, "price": None}, {"consign_price": Decimal("4")}, ("value", "4")),
    (None, {"consign_price": Decimal("0"), "price_tiers": [{"min_quantity": 1, "price": "9.9"}], "min_order_quantity": 1}, ("value", "9.9")),
    (None, {"consign_price": "-1"}, ("error", "money.negative", {"value": "-1"})),
    ({"sku_id": "7"}, {}, ("error", "money.no_cost", {"sku_id": "7"})),
])
def test_sku_cost_order(sku, offer, expected):
    assert result(sku_cost, sku, offer) == expected


@pytest.mark.parametrize("fen", [0, 1, 1990, 123456789, -1, 10 ** 70, True])
def test_fen_to_yuan_of_int(fen):
    def long_way(value):
        number = to_decimal(value)
        return Decimal(int(number)).scaleb(-2, context=money._EXACT)

    assert result(fen_to_yuan, fen) == result(long_way, fen)
