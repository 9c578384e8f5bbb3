from decimal import Decimal, getcontext, localcontext

import pytest

from etl.errors import DataError
from etl.filters.money import (
    markup_for_cost,
    retail_price,
    fen_to_yuan,
    format_yuan,
    price_ending,
    retail,
    round_fen,
    sku_cost,
    tier_price,
    to_decimal,
    yuan_to_fen,
)
from etl.messages import catalog


def raised_key(function, *args, **kwargs):
    with pytest.raises(DataError) as caught:
        function(*args, **kwargs)
    return caught.value.key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.9", Decimal("19.9")),
        (" 0.29 ", Decimal("0.29")),
        ("17.08", Decimal("17.08")),
        ("1,299.00", Decimal("1299.00")),
        ("1,234,567.5", Decimal("1234567.5")),
        ("¥19.9", Decimal("19.9")),
        ("￥ 17.08", Decimal("17.08")),
        ("0", Decimal("0")),
        ("-0", Decimal("0")),
        (".5", Decimal("0.5")),
        ("19.", Decimal("19")),
        ("+3", Decimal("3")),
        (0, Decimal("0")),
        (1990, Decimal("1990")),
        (Decimal("0.29"), Decimal("0.29")),
        (19.9, Decimal("19.9")),
        (0.1, Decimal("0.1")),
    ],
)
def test_to_decimal_accepts(value, expected):
    assert to_decimal(value) == expected


def test_to_decimal_keeps_digits():
    assert str(to_decimal("17.080")) == "17.080"


def test_to_decimal_float_goes_through_repr():
    assert to_decimal(0.1) != Decimal(0.1)


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        None,
        "",
        "   ",
        "¥",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        Decimal("NaN"),
        Decimal("Infinity"),
        float("nan"),
        float("inf"),
        "abc",
        "19.9元元",
        "1e3",
        "1_000",
        "12,34",
        "1,2345.00",
        ",100",
        "１９.９",
        "19.9.9",
        [19.9],
        {"price": 1},
    ],
)
def test_to_decimal_rejects_invalid(value):
    assert raised_key(to_decimal, value) == "money.invalid"


@pytest.mark.parametrize("value", ["-1", " -0.01 ", -5, Decimal("-0.29"), -1.5, "¥-3"])
def test_to_decimal_rejects_negative(value):
    assert raised_key(to_decimal, value) == "money.negative"


def test_to_decimal_error_carries_value():
    with pytest.raises(DataError) as caught:
        to_decimal("abc")
    assert caught.value.params == {"value": "abc"}


def test_data_error_is_value_error():
    with pytest.raises(ValueError):
        to_decimal("abc")


def test_float_trap_is_real():
    assert int(float("19.9") * 100) == 1989


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.9", 1990),
        ("0.29", 29),
        ("17.08", 1708),
        ("0.005", 1),
        ("0.004", 0),
        ("0.015", 2),
        ("0.0149", 1),
        ("1,299.00", 129900),
        ("0", 0),
        (19.9, 1990),
        (0.29, 29),
        (17.08, 1708),
        (7, 700),
        (Decimal("2.675"), 268),
    ],
)
def test_yuan_to_fen(value, expected):
    assert yuan_to_fen(value) == expected


def test_yuan_to_fen_returns_int():
    assert type(yuan_to_fen("19.9")) is int


@pytest.mark.parametrize(("value", "key"), [("", "money.invalid"), ("-1", "money.negative")])
def test_yuan_to_fen_rejects(value, key):
    assert raised_key(yuan_to_fen, value) == key


@pytest.mark.parametrize(
    ("fen", "expected"),
    [(1990, "19.90"), (29, "0.29"), (0, "0.00"), (5, "0.05"), (100000, "1000.00"), ("1010", "10.10")],
)
def test_fen_to_yuan(fen, expected):
    assert str(fen_to_yuan(fen)) == expected


@pytest.mark.parametrize(("fen", "key"), [(-1, "money.negative"), ("10.5", "money.fen_invalid"), (None, "money.invalid")])
def test_fen_to_yuan_rejects(fen, key):
    assert raised_key(fen_to_yuan, fen) == key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.9", "19.90"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),
        ("1.0049", "1.00"),
        ("10", "10.00"),
        (2.675, "2.68"),
    ],
)
def test_round_fen(value, expected):
    assert str(round_fen(value)) == expected


def test_round_fen_rejects_too_many_digits():
    assert raised_key(round_fen, "1" * 70) == "money.invalid"


@pytest.mark.parametrize(
    ("cost", "markup", "add", "expected"),
    [
        ("19.9", 1, 0, "19.90"),
        (0.29, 1.6, 0, "0.46"),
        ("0.29", "1.6", "0", "0.46"),
        ("17.08", 1.5, 0, "25.62"),
        ("17.08", Decimal("1.5"), 0, "25.62"),
        ("10", 1, "0.005", "10.01"),
        ("0.01", "0.5", 0, "0.01"),
        ("0.01", "0.4", 0, "0.00"),
        ("10", 2, 5, "25.00"),
        ("10", 1.2, 0.5, "12.50"),
        ("10", 1, -3, "7.00"),
        ("10", 1, "-10", "0.00"),
        ("0.01", 1, "-0.014", "0.00"),
        ("¥1,299.00", 1.1, 0, "1428.90"),
    ],
)
def test_retail(cost, markup, add, expected):
    assert str(retail(cost, markup, add)) == expected


@pytest.mark.parametrize("cost", ["19.9", "0.29", "17.08", 19.9, 0.29, 17.08])
def test_retail_identity_equals_cost(cost):
    assert retail(cost) == to_decimal(cost)


def test_retail_float_cost_uses_repr():
    # The binary double nearest 1.005 is 1.00499999999999989..., which rounds down to 1.00.
    assert str(retail(1.005)) == "1.01"


def test_retail_ignores_caller_context():
    with localcontext() as context:
        context.prec = 3
        assert str(retail("1234.56", "1.5")) == "1851.84"
    assert getcontext().prec == 28


@pytest.mark.parametrize(
    ("markup", "key"),
    [
        (0, "money.markup_invalid"),
        ("0", "money.markup_invalid"),
        (-1.6, "money.markup_invalid"),
        ("abc", "money.markup_invalid"),
        (None, "money.markup_invalid"),
        (True, "money.markup_invalid"),
        (float("nan"), "money.markup_invalid"),
    ],
)
def test_retail_rejects_markup(markup, key):
    assert raised_key(retail, "10", markup) == key


@pytest.mark.parametrize("add", ["abc", None, True, "NaN"])
def test_retail_rejects_add(add):
    assert raised_key(retail, "10", 1, add) == "money.add_invalid"


def test_retail_rejects_negative_result():
    assert raised_key(retail, "10", 1, "-10.01") == "money.retail_negative"


@pytest.mark.parametrize(("cost", "key"), [("", "money.invalid"), ("-1", "money.negative"), (None, "money.invalid")])
def test_retail_rejects_cost(cost, key):
    assert raised_key(retail, cost, 1.6) == key


def test_retail_negative_zero_prints_as_zero():
    assert format_yuan(retail("0.01", 1, "-0.014")) == "0.00"


@pytest.mark.parametrize(
    ("value", "ending", "expected"),
    [
        ("23.41", "9.9", "29.90"),
        ("23.41", ".99", "23.99"),
        ("24.00", ".99", "24.99"),
        ("23.99", ".99", "23.99"),
        ("29.90", "9.9", "29.90"),
        ("29.91", "9.9", "39.90"),
        ("23.41", "0.99", "30.99"),
        ("23.41", "8", "28.00"),
        ("28", "8", "28.00"),
        ("28.01", "8", "38.00"),
        ("5", "9.9", "9.90"),
        ("0", ".9", "0.90"),
        ("23.41", ".9", "23.90"),
        ("23.95", ".9", "24.90"),
        ("123.45", "99", "199.00"),
        ("23.995", ".99", "24.99"),
        ("23.41", " 9.9 ", "29.90"),
        (23.41, "9.9", "29.90"),
    ],
)
def test_price_ending(value, ending, expected):
    assert str(price_ending(value, ending)) == expected


@pytest.mark.parametrize("ending", ["", ".", "9.", "abc", "9.9a", "-9", ".999", "９", 9.9, 8, None, "9,9"])
def test_price_ending_rejects_ending(ending):
    assert raised_key(price_ending, "23.41", ending) == "money.ending_invalid"


def test_price_ending_rejects_price():
    assert raised_key(price_ending, "-1", "9.9") == "money.negative"


TIERS = [
    {"min_quantity": 10, "price": Decimal("8.50")},
    {"min_quantity": 2, "price": Decimal("9.90")},
    {"min_quantity": 100, "price": Decimal("7.00")},
]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (None, "7.00"),
        (1, "9.90"),
        (0, "9.90"),
        (2, "9.90"),
        (9, "9.90"),
        (10, "8.50"),
        (99, "8.50"),
        (100, "7.00"),
        (5000, "7.00"),
    ],
)
def test_tier_price(quantity, expected):
    assert str(tier_price(TIERS, quantity)) == expected


def test_tier_price_order_does_not_matter():
    assert tier_price(list(reversed(TIERS)), 10) == tier_price(TIERS, 10)


def test_tier_price_equal_minimums_take_lowest():
    tiers = [{"min_quantity": 1, "price": "5.00"}, {"min_quantity": 1, "price": "4.50"}]
    assert str(tier_price(tiers, 1)) == "4.50"


def test_tier_price_parses_text_prices():
    assert str(tier_price([{"min_quantity": 1, "price": "19.9"}], 3)) == "19.9"


def test_tier_price_lowest_is_not_largest_tier():
    # A ladder where a larger quantity costs more still reports the lowest price.
    tiers = [{"min_quantity": 1, "price": "5"}, {"min_quantity": 50, "price": "6"}]
    assert str(tier_price(tiers)) == "5"


@pytest.mark.parametrize("tiers", [[], None, ()])
def test_tier_price_rejects_empty(tiers):
    assert raised_key(tier_price, tiers, 1) == "money.no_tiers"


@pytest.mark.parametrize(
    "tiers",
    [
        "10:9.9",
        {"min_quantity": 1, "price": "1"},
        [{"price": "1"}],
        [{"min_quantity": 1}],
        [{"min_quantity": "1", "price": "1"}],
        [{"min_quantity": True, "price": "1"}],
        [{"min_quantity": -1, "price": "1"}],
        [["1", "9.9"]],
    ],
)
def test_tier_price_rejects_malformed(tiers):
    assert raised_key(tier_price, tiers, 1) == "money.tier_invalid"


def test_tier_price_rejects_bad_price():
    assert raised_key(tier_price, [{"min_quantity": 1, "price": ""}]) == "money.invalid"


@pytest.mark.parametrize("quantity", [-1, "5", 2.5, True])
def test_tier_price_rejects_quantity(quantity):
    assert raised_key(tier_price, TIERS, quantity) == "money.quantity_invalid"


def make_offer(**overrides):
    offer = {
        "offer_id": "639741530227",
        "min_order_quantity": 2,
        "price_tiers": [
            {"min_quantity": 2, "price": Decimal("12.00")},
            {"min_quantity": 50, "price": Decimal("10.00")},
        ],
        "consign_price": None,
        "skus": [],
    }
    offer.update(overrides)
    return offer


@pytest.mark.parametrize(
    ("sku", "offer", "expected"),
    [
        ({"sku_id": "1", "consign_price": Decimal("9.5"), "price": Decimal("8")}, make_offer(consign_price=Decimal("11")), "9.5"),
        ({"sku_id": "1", "consign_price": None, "price": Decimal("8")}, make_offer(consign_price=Decimal("11")), "8"),
        ({"sku_id": "1", "price": Decimal("0")}, make_offer(consign_price=Decimal("11")), "0"),
        ({"sku_id": "1", "consign_price": None, "price": None}, make_offer(consign_price=Decimal("11")), "11"),
        ({"sku_id": "1"}, make_offer(), "12.00"),
        (None, make_offer(consign_price="13.5"), "13.5"),
        (None, make_offer(), "12.00"),
        (None, make_offer(min_order_quantity=60), "10.00"),
        (None, make_offer(min_order_quantity=None), "10.00"),
        ({"sku_id": "1", "price": "17.08"}, make_offer(), "17.08"),
    ],
)
def test_sku_cost_order(sku, offer, expected):
    assert str(sku_cost(sku, offer)) == expected


def test_sku_cost_never_borrows_sibling_price():
    offer = make_offer(
        price_tiers=[],
        skus=[{"sku_id": "1", "price": Decimal("8")}, {"sku_id": "2", "price": None}],
    )
    assert raised_key(sku_cost, offer["skus"][1], offer) == "money.no_cost"


def test_sku_cost_error_names_sku():
    with pytest.raises(DataError) as caught:
        sku_cost({"sku_id": "4471", "price": None}, make_offer(price_tiers=[]))
    assert caught.value.params == {"sku_id": "4471"}


def test_sku_cost_without_sku_or_tiers():
    with pytest.raises(DataError) as caught:
        sku_cost(None, make_offer(price_tiers=[]))
    assert caught.value.params == {"sku_id": "-"}


def test_sku_cost_rejects_empty_price():
    assert raised_key(sku_cost, {"sku_id": "1", "price": ""}, make_offer()) == "money.invalid"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10", "10.00"), ("19.9", "19.90"), (Decimal("0.005"), "0.01"), (0, "0.00"), ("1,299", "1299.00"), (Decimal("1E+3"), "1000.00")],
)
def test_format_yuan(value, expected):
    assert format_yuan(value) == expected


MESSAGE_PARAMS = {
    "money.ranges_not_list": {"value": 5},
    "money.invalid": {"value": "abc"},
    "money.negative": {"value": "-1"},
    "money.fen_invalid": {"value": "10.5"},
    "money.markup_invalid": {"value": 0},
    "money.add_invalid": {"value": "x"},
    "money.retail_negative": {"cost": "1", "markup": 1, "add": -2, "result": Decimal("-1.00")},
    "money.ending_invalid": {"value": 9.9},
    "money.no_tiers": {},
    "money.tier_invalid": {"tier": {"price": 1}},
    "money.quantity_invalid": {"value": -1},
    "money.no_cost": {"sku_id": "4471"},
    "money.ranges_invalid": {"index": 0, "value": "["},
    "money.ranges_unsorted": {"index": 1, "value": {"up_to": 5, "markup": 2}},
}


def test_messages_cover_every_money_key():
    assert {key for key in catalog() if key.startswith("money.")} == set(MESSAGE_PARAMS)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", sorted(MESSAGE_PARAMS))
def test_message_formats(key, lang):
    assert catalog()[key][lang].format(**MESSAGE_PARAMS[key])


def test_message_shows_value():
    assert str(DataError("money.invalid", value="abc")).startswith("invalid price 'abc'")


@pytest.mark.parametrize(("text", "expected"), [("12.50元", Decimal("12.50")), ("¥ 8 元", Decimal("8"))])
def test_to_decimal_trailing_yuan(text, expected):
    assert to_decimal(text) == expected


COST_RANGES = [{"up_to": 10, "markup": 2}, {"up_to": 50, "markup": 1.6}, {"markup": "1.3"}]


@pytest.mark.parametrize(
    ("cost", "expected"),
    [("5", Decimal("2")), ("10", Decimal("2")), ("10.01", Decimal("1.6")), ("50", Decimal("1.6")), ("80", Decimal("1.3"))],
)
def test_markup_for_cost_ranges(cost, expected):
    assert markup_for_cost(cost, COST_RANGES, 9) == expected


def test_markup_for_cost_without_ranges():
    assert markup_for_cost("5", None, "1.5") == Decimal("1.5")


@pytest.mark.parametrize("ranges", [["x"], [{"up_to": 10}], "[", [{"up_to": "abc", "markup": 2}]])
def test_markup_for_cost_bad_ranges(ranges):
    with pytest.raises(DataError) as caught:
        markup_for_cost("5", ranges, 1)

    assert caught.value.key in ("money.ranges_invalid", "money.ranges_not_list", "money.invalid")


@pytest.mark.parametrize(
    ("cost", "expected"),
    [("19.9", Decimal("19.90")), ("0.29", Decimal("0.29")), ("17.08", Decimal("17.08"))],
)
def test_retail_price_defaults_equal_cost(cost, expected):
    assert retail_price(cost) == expected


def test_retail_price_all_options():
    assert retail_price("23.41", "1.5", "0", COST_RANGES, ".9") == Decimal("37.90")


@pytest.mark.parametrize(
    "ranges",
    [[{"up_to": 50, "markup": 2}, {"up_to": 10, "markup": 3}], [{"markup": 2}, {"up_to": 10, "markup": 3}], [{"up_to": 10, "markup": 2}, {"up_to": 10, "markup": 3}]],
)
def test_cost_ranges_must_rise(ranges):
    with pytest.raises(DataError) as caught:
        markup_for_cost("5", ranges, 1)

    assert caught.value.key == "money.ranges_unsorted"
    assert caught.value.params["index"] == 1


def test_sku_cost_zero_dropship_price_means_none():
    offer = make_offer()
    sku = {"sku_id": "1", "consign_price": Decimal("0"), "price": Decimal("12.5")}

    assert sku_cost(sku, offer) == Decimal("12.5")


@pytest.mark.parametrize("value", [5, "2", {"up_to": 10, "markup": 2}])
def test_cost_ranges_not_a_list_is_rejected(value):
    from etl.filters.money import check_cost_ranges

    with pytest.raises(DataError) as raised:
        check_cost_ranges(value)

    assert raised.value.key == "money.ranges_not_list"
