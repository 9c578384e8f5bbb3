"""Tests of JSON input and output with exact Decimal money and Chinese kept as text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl import jsonio

DATA = Path(__file__).resolve().parent / "data" / "test_jsonio"


# --- dumps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("19.90"), "19.90"),
        (Decimal("19.9"), "19.9"),
        (Decimal("0.29"), "0.29"),
        (Decimal("17.08"), "17.08"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.50"), "-0.50"),
        (Decimal("123456789012345678901234567890.01"), "123456789012345678901234567890.01"),
    ],
)
def test_dumps_decimal_exact(value, text):
    assert jsonio.dumps(value) == text
    assert jsonio.dumps({"price": value}) == '{"price":' + text + "}"


def test_dumps_decimal_in_nested_structures():
    payload = {"rows": [{"price": Decimal("19.90"), "stock": 3}, {"price": Decimal("0.29"), "stock": 0}]}

    assert jsonio.dumps(payload) == '{"rows":[{"price":19.90,"stock":3},{"price":0.29,"stock":0}]}'


def test_dumps_chinese_not_escaped():
    assert jsonio.dumps({"name": "保温杯", "spec": "颜色|曜石黑"}) == '{"name":"保温杯","spec":"颜色|曜石黑"}'


def test_dumps_compact_by_default():
    assert jsonio.dumps({"a": [1, 2], "b": None}) == '{"a":[1,2],"b":null}'


def test_dumps_indented():
    assert jsonio.dumps({"a": Decimal("1.10")}, indent=2) == '{\n  "a": 1.10\n}'


def test_dumps_tuple_as_list():
    assert jsonio.dumps({"a": (1, Decimal("2.50"))}) == '{"a":[1,2.50]}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_dumps_rejects_non_finite_decimal(value):
    with pytest.raises(ValueError):
        jsonio.dumps({"price": value})


def test_dumps_rejects_unknown_types():
    with pytest.raises(TypeError):
        jsonio.dumps({"when": object()})


# --- strings that look like the internal Decimal marker ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a\x00b",
        "\x00",
        "19.90\x00",
        "\x0019.90\x00",
        "\x00" + "0" * 32 + ":19.90\x00",
        "\x00" + "f" * 32 + ":1\x00",
        "prefix \x00" + "0" * 32 + ":19.90\x00 suffix",
    ],
)
def test_marker_lookalikes_round_trip(text):
    written = jsonio.dumps({"title": text, "price": Decimal("19.90")})

    assert jsonio.loads(written) == {"title": text, "price": Decimal("19.90")}
    assert written.endswith('"price":19.90}')


def test_marker_of_earlier_call_round_trips(monkeypatch):
    # Each dumps() call makes its own random marker, so a string holding an earlier call's
    # marker plus a number stays a string.
    seen = []
    make_marker = jsonio._decimal_marker

    def recording_marker():
        mark = make_marker()
        seen.append(mark)
        return mark

    monkeypatch.setattr(jsonio, "_decimal_marker", recording_marker)
    jsonio.dumps([Decimal("1.00")])
    text = seen[0] + "19.90\x00"

    assert jsonio.loads(jsonio.dumps([text, Decimal("2.50")])) == [text, Decimal("2.50")]


# --- loads ----------------------------------------------------------------------------------


def test_loads_decimal_and_int():
    data = jsonio.loads('{"price": 19.9, "cheap": 0.29, "stock": 860, "big": 1e2, "text": "19.9"}')

    assert data == {"price": Decimal("19.9"), "cheap": Decimal("0.29"), "stock": 860, "big": Decimal("1E+2"), "text": "19.9"}
    assert type(data["price"]) is Decimal
    assert str(data["price"]) == "19.9"
    assert type(data["stock"]) is int
    assert type(data["big"]) is Decimal


def test_loads_keeps_trailing_zeros():
    assert str(jsonio.loads("19.90")) == "19.90"


def test_loads_bytes():
    assert jsonio.loads('{"标题": 17.08}'.encode("utf-8")) == {"标题": Decimal("17.08")}


def test_loads_sample_file_has_no_float():
    data = jsonio.loads((DATA / "prices.json").read_text(encoding="utf-8"))

    assert data["skus"][0]["price"] == Decimal("19.9")
    assert data["skus"][1]["price"] == Decimal("17.08")
    assert data["tiers"] == [[100, Decimal("0.29")], [1000, Decimal("0.27")]]
    assert all(type(sku["price"]) is Decimal for sku in data["skus"])


def test_round_trip_is_byte_exact():
    text = (DATA / "prices.json").read_text(encoding="utf-8").strip()

    assert jsonio.dumps(jsonio.loads(text)) == text


# --- write_atomic ---------------------------------------------------------------------------


def test_write_atomic_leaves_no_temp(tmp_path):
    target = tmp_path / "out" / "672839104523.json"

    jsonio.write_atomic(target, '{"name":"保温杯"}\n')

    assert target.read_text(encoding="utf-8") == '{"name":"保温杯"}\n'
    assert sorted(path.name for path in target.parent.iterdir()) == ["672839104523.json"]


def test_write_atomic_replaces_existing_file(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old old old old", encoding="utf-8")

    jsonio.write_atomic(target, "new")

    assert target.read_text(encoding="utf-8") == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["a.json"]


def test_write_atomic_writes_unix_newlines(tmp_path):
    target = tmp_path / "a.json"

    jsonio.write_atomic(target, "a\nb\n")

    assert target.read_bytes() == b"a\nb\n"


def test_write_atomic_failure_cleans_up(tmp_path):
    target = tmp_path / "a.json"

    with pytest.raises(UnicodeEncodeError):
        jsonio.write_atomic(target, "lone surrogate \udc80")

    assert list(tmp_path.iterdir()) == []
