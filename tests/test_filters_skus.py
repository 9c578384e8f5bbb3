"""Tests of the SKU filters that build Douyin ``specs``/``spec_prices`` and Taobao ``sku_*`` fields."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from etl.errors import DataError
from etl.filters.skus import (
    douyin_spec_pic,
    douyin_spec_prices,
    douyin_specs,
    missing_combinations,
    spec_dimensions,
    sum_stock,
    taobao_skus,
)

CATALOG = yaml.safe_load(
    (Path(__file__).parent.parent / "etl" / "catalog" / "filters_skus.yaml").read_text(encoding="utf-8")
)


def spec(name, value, image=None):
    return {"name": name, "value": value, "image": image}


def row(specs, price, stock=5, code=None, sku_id=None):
    return {"specs": specs, "price": price, "stock": stock, "code": code, "sku_id": sku_id}


def raises(key, function, *args, **kwargs) -> DataError:
    """Call ``function`` and return the DataError it raises, after checking its key and messages."""
    with pytest.raises(DataError) as caught:
        function(*args, **kwargs)

    error = caught.value
    assert error.key == key
    # str.format directly, because messages.render hides a missing placeholder behind a fallback.
    for language in ("zh", "en"):
        assert CATALOG[key][language].format(**error.params)
    return error


def spec_price(name1, name2, name3, price, stock, code, outer_sku_id):
    return {
        "spec_detail_name1": name1,
        "spec_detail_name2": name2,
        "spec_detail_name3": name3,
        "price": price,
        "stock_num": stock,
        "code": code,
        "outer_sku_id": outer_sku_id,
    }


# Rows are deliberately out of product order, and the missing combination 红/M has a
# neighbour (红/S, 2190 fen) cheaper than the highest price (白/M, 2590 fen).
TWO_DIMENSIONS_FEN = [
    row([spec("颜色", "白", "https://img/w.jpg"), spec("尺码", "M")], 2590, 1, "W-M", "101"),
    row([spec("颜色", "红", "https://img/r.jpg"), spec("尺码", "S")], 2190, 2, None, "102"),
    row([spec("颜色", "白"), spec("尺码", "S")], 1990, 3, "W-S", "103"),
]

NO_SPECS_FEN = [row([], 990, 12, "X1", "201")]

THREE_DIMENSIONS_FEN = [
    row([spec("颜色", "白"), spec("尺码", "S"), spec("款式", "长袖")], 1000, 1, "a", "1"),
    row([spec("颜色", "白"), spec("尺码", "S"), spec("款式", "短袖")], 1100, 2, "b", "2"),
    row([spec("颜色", "黑"), spec("尺码", "S"), spec("款式", "长袖")], 1200, 3, "c", "3"),
    row([spec("颜色", "黑"), spec("尺码", "S"), spec("款式", "短袖")], 1300, 4, "d", "4"),
]


def with_yuan(rows, prices):
    return [{**item, "price": price} for item, price in zip(rows, prices)]


# --- spec_dimensions -----------------------------------------------------------------------------


def test_dimensions_first_appearance_order():
    assert spec_dimensions(TWO_DIMENSIONS_FEN) == [("颜色", ["白", "红"]), ("尺码", ["M", "S"])]


def test_dimensions_no_specs():
    assert spec_dimensions(NO_SPECS_FEN) == []


def test_dimensions_three_levels():
    assert spec_dimensions(THREE_DIMENSIONS_FEN) == [
        ("颜色", ["白", "黑"]),
        ("尺码", ["S"]),
        ("款式", ["长袖", "短袖"]),
    ]


def test_dimensions_four_rejected():
    rows = [row([spec("a", "1"), spec("b", "1"), spec("c", "1"), spec("d", "1")], 100, sku_id="9")]

    error = raises("sku.too_many_dimensions", spec_dimensions, rows)

    assert error.params == {"sku_index": 0, "sku_id": "9", "count": 4, "names": ["a", "b", "c", "d"], "limit": 3}


@pytest.mark.parametrize(
    "second_specs, found",
    [
        ([spec("颜色", "红"), spec("尺寸", "S")], ["颜色", "尺寸"]),
        ([spec("尺码", "S"), spec("颜色", "红")], ["尺码", "颜色"]),
        ([spec("颜色", "红")], ["颜色"]),
        ([], []),
    ],
    ids=["other-name", "other-order", "fewer", "none"],
)
def test_dimensions_names_differ(second_specs, found):
    rows = [
        row([spec("颜色", "白"), spec("尺码", "S")], 100, sku_id="1"),
        row([spec("颜色", "白"), spec("尺码", "M")], 100, sku_id="2"),
        row(second_specs, 100, sku_id="3"),
    ]

    error = raises("sku.spec_names_differ", spec_dimensions, rows)

    assert error.params == {"sku_index": 2, "sku_id": "3", "expected": ["颜色", "尺码"], "found": found}


def test_dimensions_duplicate_combination():
    rows = [
        row([spec("颜色", "白"), spec("尺码", "S")], 100, sku_id="1"),
        row([spec("颜色", "白"), spec("尺码", "M")], 100, sku_id="2"),
        row([spec("颜色", "白"), spec("尺码", "S")], 120, sku_id="3"),
    ]

    error = raises("sku.duplicate_combination", spec_dimensions, rows)

    assert error.params == {
        "sku_index": 2,
        "sku_id": "3",
        "first_index": 0,
        "first_sku_id": "1",
        "values": ["白", "S"],
    }


def test_dimensions_several_rows_without_specs():
    rows = [row([], 100, sku_id="1"), row([], 100, sku_id="2")]

    error = raises("sku.several_rows_without_specs", spec_dimensions, rows)

    assert error.params == {"sku_index": 1, "sku_id": "2", "count": 2}


@pytest.mark.parametrize(
    "specs, field",
    [
        ([spec("颜色", "")], "specs[0].value"),
        ([spec("颜色", " \u3000")], "specs[0].value"),
        ([spec("颜色", None)], "specs[0].value"),
        ([spec("颜色", "白"), spec("", "S")], "specs[1].name"),
        ([spec("颜色", "白"), {"value": "S"}], "specs[1].name"),
    ],
    ids=["empty-value", "blank-value", "none-value", "empty-name", "missing-name"],
)
def test_dimensions_empty_spec(specs, field):
    error = raises("sku.empty_spec", spec_dimensions, [row(specs, 100, sku_id="7")])

    assert error.params == {"sku_index": 0, "sku_id": "7", "field": field}


def test_dimensions_value_not_text():
    rows = [row([spec("尺码", 38)], 100, sku_id="7")]

    error = raises("sku.field_not_text", spec_dimensions, rows)

    assert error.params == {"sku_index": 0, "sku_id": "7", "field": "specs[0].value", "type": "int", "value": 38}


def test_dimensions_spec_name_repeated():
    rows = [row([spec("颜色", "白"), spec("颜色", "红")], 100, sku_id="7")]

    error = raises("sku.spec_name_repeated", spec_dimensions, rows)

    assert error.params == {"sku_index": 0, "sku_id": "7", "name": "颜色"}


@pytest.mark.parametrize("rows, type_name", [([], "list"), (None, "NoneType"), ("abc", "str")])
def test_dimensions_no_rows(rows, type_name):
    error = raises("sku.no_rows", spec_dimensions, rows)

    assert error.params == {"type": type_name}


def test_dimensions_row_not_dict():
    error = raises("sku.row_invalid", spec_dimensions, [row([], 100), "row"])

    assert error.params == {"sku_index": 1, "type": "str"}


@pytest.mark.parametrize("specs, type_name", [(None, "NoneType"), ("颜色:白", "str"), (["颜色"], "list")])
def test_dimensions_specs_invalid(specs, type_name):
    error = raises("sku.specs_invalid", spec_dimensions, [row(specs, 100, sku_id="7")])

    assert error.params == {"sku_index": 0, "sku_id": "7", "type": type_name}


# --- Douyin ------------------------------------------------------------------------------------


def test_douyin_two_dimensions_specs():
    assert douyin_specs(TWO_DIMENSIONS_FEN) == "颜色|白,红^尺码|M,S"


def test_douyin_two_dimensions_fills_missing():
    assert douyin_spec_prices(TWO_DIMENSIONS_FEN) == [
        spec_price("白", "M", "", 2590, 1, "W-M", "101"),
        spec_price("白", "S", "", 1990, 3, "W-S", "103"),
        spec_price("红", "M", "", 2590, 0, "", ""),
        spec_price("红", "S", "", 2190, 2, "", "102"),
    ]


def test_douyin_missing_combinations():
    assert missing_combinations(TWO_DIMENSIONS_FEN) == [("红", "M")]


def test_douyin_one_sku():
    rows = [row([spec("颜色", "白", "https://img/w.jpg")], 1500, 8, "0123", "301")]

    assert douyin_specs(rows) == "颜色|白"
    assert douyin_spec_prices(rows) == [spec_price("白", "", "", 1500, 8, "0123", "301")]
    assert douyin_spec_pic(rows) == "https://img/w.jpg"
    assert missing_combinations(rows) == []


def test_douyin_no_specs():
    assert douyin_specs(NO_SPECS_FEN) == "规格|默认"
    assert douyin_spec_prices(NO_SPECS_FEN) == [spec_price("默认", "", "", 990, 12, "X1", "201")]
    assert douyin_spec_pic(NO_SPECS_FEN) == ""
    assert missing_combinations(NO_SPECS_FEN) == []


def test_douyin_no_specs_custom_defaults():
    assert douyin_specs(NO_SPECS_FEN, "款式", "均码|通用") == "款式|均码｜通用"
    assert douyin_spec_prices(NO_SPECS_FEN, "均码|通用") == [spec_price("均码｜通用", "", "", 990, 12, "X1", "201")]


@pytest.mark.parametrize("parameter, arguments", [("default_name", ("", "默认")), ("default_value", ("规格", " "))])
def test_douyin_default_invalid(parameter, arguments):
    error = raises("sku.douyin_default_invalid", douyin_specs, NO_SPECS_FEN, *arguments)

    assert error.params["parameter"] == parameter


def test_douyin_three_dimensions():
    assert douyin_specs(THREE_DIMENSIONS_FEN) == "颜色|白,黑^尺码|S^款式|长袖,短袖"
    assert douyin_spec_prices(THREE_DIMENSIONS_FEN) == [
        spec_price("白", "S", "长袖", 1000, 1, "a", "1"),
        spec_price("白", "S", "短袖", 1100, 2, "b", "2"),
        spec_price("黑", "S", "长袖", 1200, 3, "c", "3"),
        spec_price("黑", "S", "短袖", 1300, 4, "d", "4"),
    ]
    assert missing_combinations(THREE_DIMENSIONS_FEN) == []


def test_douyin_three_dimensions_several_missing():
    rows = [
        row([spec("a", "1"), spec("b", "x"), spec("c", "p")], 300, 1, None, "s1"),
        row([spec("a", "2"), spec("b", "y"), spec("c", "q")], 500, 1, None, "s2"),
    ]

    assert missing_combinations(rows) == [
        ("1", "x", "q"),
        ("1", "y", "p"),
        ("1", "y", "q"),
        ("2", "x", "p"),
        ("2", "x", "q"),
        ("2", "y", "p"),
    ]
    assert [entry["price"] for entry in douyin_spec_prices(rows)] == [300, 500, 500, 500, 500, 500, 500, 500]
    assert [entry["stock_num"] for entry in douyin_spec_prices(rows)] == [1, 0, 0, 0, 0, 0, 0, 1]


def test_douyin_separators_full_width():
    rows = [
        row([spec("颜色|款式", "红^白"), spec("尺码", "大,小")], 100, 1, "c,1", "1"),
        row([spec("颜色|款式", "黑"), spec("尺码", "大,小")], 100, 1, None, "2"),
    ]

    assert douyin_specs(rows) == "颜色｜款式|红＾白,黑^尺码|大，小"
    assert douyin_spec_prices(rows) == [
        spec_price("红＾白", "大，小", "", 100, 1, "c,1", "1"),
        spec_price("黑", "大，小", "", 100, 1, "", "2"),
    ]


def test_douyin_separator_collision():
    rows = [row([spec("尺码", "S,M")], 100, sku_id="1"), row([spec("尺码", "S，M")], 100, sku_id="2")]

    for builder in (douyin_specs, douyin_spec_prices):
        error = raises("sku.separator_collision", builder, rows)
        assert error.params == {"first": "S,M", "second": "S，M", "text": "S，M"}


@pytest.mark.parametrize("price", [Decimal("19.90"), 19.9, "1990"], ids=["decimal", "float", "str"])
def test_douyin_price_not_fen(price):
    rows = [row([spec("颜色", "白")], 1990, sku_id="1"), row([spec("颜色", "红")], price, sku_id="2")]

    error = raises("sku.price_not_fen", douyin_spec_prices, rows)

    assert error.params == {"sku_index": 1, "sku_id": "2", "type": type(price).__name__, "value": price}


def test_douyin_price_bool_rejected():
    error = raises("sku.price_not_fen", douyin_spec_prices, [row([], True, sku_id="1")])

    assert error.params["type"] == "bool"


def test_douyin_price_missing():
    error = raises("sku.price_missing", douyin_spec_prices, [row([], None, sku_id="1")])

    assert error.params == {"sku_index": 0, "sku_id": "1"}


@pytest.mark.parametrize("price", [0, -100])
def test_douyin_price_not_positive(price):
    error = raises("sku.price_not_positive", douyin_spec_prices, [row([], price, sku_id="1")])

    assert error.params == {"sku_index": 0, "sku_id": "1", "value": price}


def test_douyin_stock_missing():
    rows = [row([spec("颜色", "白")], 100, 1, sku_id="1"), row([spec("颜色", "红")], 100, None, sku_id="2")]

    error = raises("sku.stock_missing", douyin_spec_prices, rows)

    assert error.params == {"sku_index": 1, "sku_id": "2"}


@pytest.mark.parametrize("stock", [-1, "5", 2.0, False], ids=["negative", "str", "float", "bool"])
def test_douyin_stock_invalid(stock):
    error = raises("sku.stock_invalid", douyin_spec_prices, [row([], 100, stock, sku_id="1")])

    assert error.params == {"sku_index": 0, "sku_id": "1", "type": type(stock).__name__, "value": stock}


@pytest.mark.parametrize("field, value", [("code", 123), ("sku_id", 4527316341981)])
def test_douyin_code_not_text(field, value):
    item = row([], 100, sku_id="1")
    item[field] = value

    error = raises("sku.field_not_text", douyin_spec_prices, [item])

    assert error.params["field"] == field
    assert error.params["value"] == value


def test_douyin_spec_pic_all_images():
    rows = [
        row([spec("颜色", "白"), spec("尺码", "S")], 100),
        row([spec("颜色", "白", "https://img/w.jpg"), spec("尺码", "M")], 100),
        row([spec("颜色", "红", "https://img/r.jpg"), spec("尺码", "S")], 100),
        row([spec("颜色", "红", "https://img/other.jpg"), spec("尺码", "M")], 100),
    ]

    assert douyin_spec_pic(rows) == "https://img/w.jpg,https://img/r.jpg"


def test_douyin_spec_pic_value_without_image():
    assert douyin_spec_pic(TWO_DIMENSIONS_FEN[1:]) == ""


def test_douyin_spec_pic_image_on_second_dimension_ignored():
    rows = [row([spec("颜色", "白"), spec("尺码", "S", "https://img/s.jpg")], 100)]

    assert douyin_spec_pic(rows) == ""


def test_douyin_spec_pic_comma_rejected():
    rows = [row([spec("颜色", "白", "https://img/a,b.jpg")], 100, sku_id="1")]

    error = raises("sku.image_has_comma", douyin_spec_pic, rows)

    assert error.params == {"sku_index": 0, "sku_id": "1", "value": "https://img/a,b.jpg"}


# --- Taobao ------------------------------------------------------------------------------------


def test_taobao_alignment_empty_outer_id():
    rows = with_yuan(TWO_DIMENSIONS_FEN, [Decimal("25.9"), Decimal("21.90"), Decimal("19")])

    assert taobao_skus(rows) == {
        "sku_properties": "-1:-1;-2:-3,-1:-2;-2:-4,-1:-1;-2:-4",
        "sku_prices": "25.90,21.90,19.00",
        "sku_quantities": "1,2,3",
        "sku_outer_ids": "W-M,,W-S",
        "property_alias": "-1:-1:白;-1:-2:红;-2:-3:M;-2:-4:S",
    }


def test_taobao_alias_first_dimension():
    rows = with_yuan(TWO_DIMENSIONS_FEN, [Decimal("25.90")] * 3)

    result = taobao_skus(rows, {"颜色": "1627207", "材质": "20000"})

    assert result["sku_properties"] == "1627207:-1;-1:-3,1627207:-2;-1:-4,1627207:-1;-1:-4"
    assert result["property_alias"] == "1627207:-1:白;1627207:-2:红;-1:-3:M;-1:-4:S"


def test_taobao_alias_second_dimension():
    rows = with_yuan(TWO_DIMENSIONS_FEN, [Decimal("25.90")] * 3)

    result = taobao_skus(rows, {"尺码": 20509})

    assert result["sku_properties"] == "-1:-1;20509:-3,-1:-2;20509:-4,-1:-1;20509:-4"
    assert result["property_alias"] == "-1:-1:白;-1:-2:红;20509:-3:M;20509:-4:S"


def test_taobao_one_sku():
    rows = [row([spec("颜色", "白")], Decimal("15.00"), 8, "0123", "301")]

    assert taobao_skus(rows) == {
        "sku_properties": "-1:-1",
        "sku_prices": "15.00",
        "sku_quantities": "8",
        "sku_outer_ids": "0123",
        "property_alias": "-1:-1:白",
    }


def test_taobao_no_specs_empty():
    rows = with_yuan(NO_SPECS_FEN, [Decimal("9.90")])

    assert taobao_skus(rows) == {
        "sku_properties": "",
        "sku_prices": "",
        "sku_quantities": "",
        "sku_outer_ids": "",
        "property_alias": "",
    }


def test_taobao_no_specs_price_still_checked():
    error = raises("sku.price_not_yuan", taobao_skus, NO_SPECS_FEN)

    assert error.params == {"sku_index": 0, "sku_id": "201", "type": "int", "value": 990}


def test_taobao_three_dimensions():
    rows = with_yuan(THREE_DIMENSIONS_FEN, [Decimal("10"), Decimal("11"), Decimal("12"), Decimal("13")])

    assert taobao_skus(rows) == {
        "sku_properties": "-1:-1;-2:-3;-3:-4,-1:-1;-2:-3;-3:-5,-1:-2;-2:-3;-3:-4,-1:-2;-2:-3;-3:-5",
        "sku_prices": "10.00,11.00,12.00,13.00",
        "sku_quantities": "1,2,3,4",
        "sku_outer_ids": "a,b,c,d",
        "property_alias": "-1:-1:白;-1:-2:黑;-2:-3:S;-3:-4:长袖;-3:-5:短袖",
    }


def test_taobao_separators_full_width():
    rows = [
        row([spec("规格", "a:b;c,d")], Decimal("1.00"), 1, "A", "1"),
        row([spec("规格", "a：b")], Decimal("2.00"), 1, "B", "2"),
    ]

    assert taobao_skus(rows)["property_alias"] == "-1:-1:a：b；c，d;-1:-2:a：b"


@pytest.mark.parametrize(
    "price, key",
    [
        (1990, "sku.price_not_yuan"),
        (19.9, "sku.price_not_yuan"),
        ("19.90", "sku.price_not_yuan"),
        (Decimal("NaN"), "sku.price_not_yuan"),
        (Decimal("0"), "sku.price_not_positive"),
        (Decimal("-1.00"), "sku.price_not_positive"),
        (Decimal("19.905"), "sku.price_too_precise"),
        (Decimal("100000000.01"), "sku.taobao_price_out_of_range"),
    ],
)
def test_taobao_price_rejected(price, key):
    rows = [row([spec("颜色", "白")], Decimal("1.00"), sku_id="1"), row([spec("颜色", "红")], price, sku_id="2")]

    error = raises(key, taobao_skus, rows)

    assert error.params["sku_index"] == 1
    assert error.params["sku_id"] == "2"


def test_taobao_price_at_maximum():
    rows = [row([spec("颜色", "白")], Decimal("100000000.00"))]

    assert taobao_skus(rows)["sku_prices"] == "100000000.00"


def test_taobao_trailing_zeros_accepted():
    rows = [row([spec("颜色", "白")], Decimal("19.9000"))]

    assert taobao_skus(rows)["sku_prices"] == "19.90"


def test_taobao_outer_id_comma_rejected():
    rows = [row([spec("颜色", "白")], Decimal("1.00"), code="A,1", sku_id="1")]

    error = raises("sku.taobao_outer_id_has_comma", taobao_skus, rows)

    assert error.params == {"sku_index": 0, "sku_id": "1", "value": "A,1"}


@pytest.mark.parametrize("pid", ["abc", "-5", "0", 0, True, None, "１２"], ids=repr)
def test_taobao_alias_pid_invalid(pid):
    rows = [row([spec("颜色", "白")], Decimal("1.00"))]

    error = raises("sku.taobao_pid_invalid", taobao_skus, rows, {"颜色": pid})

    assert error.params == {"name": "颜色", "value": pid}


def test_taobao_alias_pid_repeated():
    rows = [row([spec("颜色", "白"), spec("颜色分类", "白")], Decimal("1.00"))]

    error = raises("sku.taobao_pid_repeated", taobao_skus, rows, {"颜色": "1627207", "颜色分类": 1627207})

    assert error.params == {"pid": "1627207", "first": "颜色", "second": "颜色分类"}


def test_taobao_property_alias_at_limit():
    # "-1:-1:" is 6 bytes, 168 CJK characters are 504 bytes and "a" is 1: 511 bytes in all.
    rows = [row([spec("款式", "长" * 168 + "a")], Decimal("1.00"))]

    assert len(taobao_skus(rows)["property_alias"].encode("utf-8")) == 511


def test_taobao_property_alias_too_long():
    rows = [row([spec("款式", "长" * 168 + "ab")], Decimal("1.00"))]

    error = raises("sku.taobao_too_long", taobao_skus, rows)

    assert error.params == {"field": "property_alias", "size": 512, "limit": 511}


def test_taobao_sku_properties_too_long():
    # 10 colors x 10 sizes: color vids -1..-10, size vids -11..-20. A SKU reads "-1:-c;-2:-s",
    # 12 bytes, or 13 for color -10: 90 * 12 + 10 * 13 + 99 commas = 1309 bytes.
    rows = [
        row([spec("颜色", f"c{color}"), spec("尺码", f"s{size}")], Decimal("1.00"))
        for color in range(10)
        for size in range(10)
    ]

    error = raises("sku.taobao_too_long", taobao_skus, rows)

    assert error.params == {"field": "sku_properties", "size": 1309, "limit": 512}


# --- sum_stock ---------------------------------------------------------------------------------


def test_sum_stock_rows():
    assert sum_stock(TWO_DIMENSIONS_FEN) == 6


def test_sum_stock_zero():
    assert sum_stock([row([], 100, 0)]) == 0


def test_sum_stock_missing():
    rows = [row([], 100, 1, sku_id="1"), row([], 100, None, sku_id="2")]

    error = raises("sku.stock_missing", sum_stock, rows)

    assert error.params == {"sku_index": 1, "sku_id": "2"}


# --- catalogue ---------------------------------------------------------------------------------


def test_catalog_keys_have_both_languages():
    for key, texts in CATALOG.items():
        assert key.startswith("sku."), key
        assert set(texts) == {"zh", "en"}, key


def test_error_renders_chinese_by_default():
    error = raises("sku.price_missing", douyin_spec_prices, [row([], None, sku_id="1")])

    assert error.render() == "第 0 行 SKU（从 0 计，sku_id '1'）没有价格。请检查规则里价格的取值路径，或为缺价的 SKU 设默认价"


def test_douyin_spec_prices_combination_cap():
    rows = [
        {"sku_id": str(index), "specs": [{"name": "颜色", "value": f"c{index}"}, {"name": "尺码", "value": f"s{index}"}], "price": 100, "stock": 1, "code": None}
        for index in range(30)
    ]

    with pytest.raises(DataError) as caught:
        douyin_spec_prices(rows, max_rows=600)

    assert caught.value.key == "sku.too_many_combinations"
    assert caught.value.params == {"count": 900, "rows": 30, "limit": 600}


def test_douyin_spec_prices_under_cap():
    rows = [
        {"sku_id": str(index), "specs": [{"name": "颜色", "value": f"c{index}"}], "price": 100, "stock": 1, "code": None}
        for index in range(3)
    ]

    assert len(douyin_spec_prices(rows, max_rows=3)) == 3


def test_taobao_skus_four_dimensions():
    rows = [
        {
            "sku_id": "1",
            "specs": [{"name": name, "value": "a"} for name in ("颜色", "尺码", "款式", "材质")],
            "price": Decimal("10.00"),
            "stock": 5,
            "code": None,
        }
    ]

    result = taobao_skus(rows)

    assert result["sku_properties"] == "-1:-1;-2:-2;-3:-3;-4:-4"
    assert result["sku_quantities"] == "5"
