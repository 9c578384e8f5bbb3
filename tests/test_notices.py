"""Notices: the collector, the filters that raise them, and their path through Rule.map_record."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from etl import jsonio
from etl.filters.tables import load_table, lookup
from etl.filters.text import clean_title, truncate_width
from etl.notices import Notice, collect, collecting, notice
from etl.rules import load_rule

from conftest import ROOT, SAMPLES

TESTS_DATA = Path(__file__).resolve().parent / "data" / "test_preview"
CATEGORY_TABLE = ROOT / "rules" / "tables" / "category-douyin.csv"
BANNED = ("最", "最好", "第一", "全网第一")


def raw_of(folder: Path, offer_id: str):
    return jsonio.loads((folder / f"{offer_id}.json").read_text(encoding="utf-8"))


def collected(function, *args, **kwargs) -> list[tuple]:
    """Call ``function`` inside a collect block; return (key, params) of each notice it raised."""
    with collect() as collector:
        function(*args, **kwargs)
    return [(item.key, dict(item.params)) for item in collector.notices]


# --- the collector -----------------------------------------------------------------------------


def test_notice_without_collector_is_ignored():
    assert notice("warning.banned_words", words=["最"]) is None
    assert collecting() is False


def test_collect_gathers_notices():
    with collect() as collector:
        notice("warning.banned_words", words=["最"])
        active = collecting()

    assert active is True
    assert collector.notices == [Notice("warning.banned_words", None, {"words": ["最"]})]


def test_collect_ends_with_block():
    with collect():
        pass

    assert collecting() is False


def test_notice_takes_collector_field():
    with collect() as collector:
        collector.field = "transform.title"
        notice("warning.banned_words", words=["最"])
        notice("warning.banned_words", field="fields.name", words=["第一"])

    assert [item.field for item in collector.notices] == ["transform.title", "fields.name"]


def test_notice_param_named_key_allowed():
    with collect() as collector:
        notice("warning.category_unmapped", table="t.csv", key="1", default="2")

    assert collector.notices[0].params["key"] == "1"


def test_nested_collect_isolated():
    with collect() as outer:
        notice("warning.banned_words", words=["a"])
        with collect() as inner:
            notice("warning.banned_words", words=["b"])
        notice("warning.banned_words", words=["c"])

    assert [item.params["words"] for item in outer.notices] == [["a"], ["c"]]
    assert [item.params["words"] for item in inner.notices] == [["b"]]


def test_other_thread_not_collected():
    def raise_notice():
        notice("warning.banned_words", words=["x"])

    with collect() as collector:
        thread = threading.Thread(target=raise_notice)
        thread.start()
        thread.join()

    assert collector.notices == []


def test_unique_keeps_first_of_repeats():
    with collect() as collector:
        collector.field = "transform.category_leaf_id"
        notice("warning.category_unmapped", table="t.csv", key="1", default="2")
        collector.field = "review.category_id"
        notice("warning.category_unmapped", table="t.csv", key="1", default="2")
        notice("warning.category_unmapped", table="t.csv", key="3", default="2")

    unique = collector.unique()
    assert [item.field for item in unique] == ["transform.category_leaf_id", "review.category_id"]
    assert [item.params["key"] for item in unique] == ["1", "3"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", "标题里的违禁词已删除：最好、第一；请确认删除后的标题仍然通顺。"),
        ("en", "banned words removed from the title: 最好, 第一; check that the title still reads well."),
    ],
)
def test_notice_render_joins_lists(lang, expected):
    assert Notice("warning.banned_words", None, {"words": ["最好", "第一"]}).render(lang) == expected


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "ellipsis", "expected"),
    [
        ("一二三四五六", 8, "", [("warning.title_truncated", {"cut": "五六", "width": 12, "max_width": 8})]),
        ("abc def ghi", 7, "", [("warning.title_truncated", {"cut": "ghi", "width": 11, "max_width": 7})]),
        ("一二三四五六", 8, "…", [("warning.title_truncated", {"cut": "四五六", "width": 12, "max_width": 8})]),
        ("👩‍❤️‍👨好", 2, "", [("warning.title_truncated", {"cut": "好", "width": 4, "max_width": 2})]),
        ("一二三四", 8, "", []),
        ("", 0, "", []),
    ],
    ids=["cjk", "space-before-cut", "ellipsis", "zwj-emoji", "fits", "empty"],
)
def test_truncate_width_notice(text, width, ellipsis, expected):
    assert collected(truncate_width, text, width, ellipsis) == expected


def test_truncate_width_result_unchanged_by_collect():
    with collect():
        inside = truncate_width("一二三四五六", 8)

    assert inside == truncate_width("一二三四五六", 8) == "一二三四"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("最好的杯子", [("warning.banned_words", {"words": ["最好"]})]),
        ("全网第一 最 保温杯", [("warning.banned_words", {"words": ["全网第一", "最"]})]),
        ("最最好好杯", [("warning.banned_words", {"words": ["最", "最好"]})]),
        ("第\u200b一保温杯", [("warning.banned_words", {"words": ["第一"]})]),
        ("保温杯 500ml", []),
    ],
    ids=["one", "two", "joined-after-removal", "hidden-by-zero-width", "clean"],
)
def test_clean_title_banned_notice(title, expected):
    assert collected(clean_title, title, BANNED) == expected


def test_clean_title_second_pass_word_once():
    # Removing the inner "最好" joins "最" and "好" into "最好", which the second pass removes.
    assert collected(clean_title, "最最好好杯", ("最好",)) == [("warning.banned_words", {"words": ["最好"]})]


@pytest.mark.parametrize(
    ("title", "expected"),
    [("NEW款 杯", ["NEW"]), ("ＮＥＷ款 杯", ["NEW"]), ("New款 new杯", ["New", "new"])],
    ids=["upper", "full-width", "two-spellings"],
)
def test_clean_title_word_as_in_title(title, expected):
    assert collected(clean_title, title, ("new",)) == [("warning.banned_words", {"words": expected})]


def test_clean_title_without_list_no_notice():
    assert collected(clean_title, "最好的杯子", None) == []


@pytest.mark.parametrize(
    ("key", "default", "expected"),
    [
        ("99999999", "20000", [("warning.category_unmapped", {"table": "category-douyin.csv", "key": "99999999", "default": "20000"})]),
        (99999999, 20000, [("warning.category_unmapped", {"table": "category-douyin.csv", "key": "99999999", "default": 20000})]),
        (None, "20000", [("warning.category_unmapped", {"table": "category-douyin.csv", "key": "", "default": "20000"})]),
        ("  ", "20000", [("warning.category_unmapped", {"table": "category-douyin.csv", "key": "", "default": "20000"})]),
        ("1031910", "20001", []),
    ],
    ids=["unmapped-text", "unmapped-int", "none-key", "blank-key", "mapped"],
)
def test_lookup_default_notice(key, default, expected):
    table = load_table(CATEGORY_TABLE)

    assert collected(lookup, key, table, default=default) == expected


def test_lookup_error_without_default_has_no_notice():
    table = load_table(CATEGORY_TABLE)

    with collect() as collector, pytest.raises(ValueError):
        lookup("99999999", table)

    assert collector.notices == []


# --- Rule.map_record ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def douyin_fallback():
    return load_rule(ROOT / "rules" / "douyin.yaml", {"fallback_category_id": "20000"})


def test_mapped_notices_from_each_filter(douyin_fallback):
    mapped = douyin_fallback.apply(raw_of(TESTS_DATA, "690245871199"))

    assert [(item.key, item.field) for item in mapped.notices] == [
        ("warning.banned_words", "transform.title"),
        ("warning.title_truncated", "transform.title"),
        ("warning.category_unmapped", "transform.category_leaf_id"),
    ]


def test_mapped_notice_params(douyin_fallback):
    mapped = douyin_fallback.apply(raw_of(TESTS_DATA, "690245871199"))
    params = {item.key: dict(item.params) for item in mapped.notices}

    assert params["warning.banned_words"] == {"words": ["最好", "全网第一"]}
    assert params["warning.title_truncated"] == {"cut": "电低噪音大容量智能恒温宠物用品", "width": 89, "max_width": 60}
    assert params["warning.category_unmapped"] == {"table": "category-douyin.csv", "key": "99999999", "default": "20000"}


@pytest.mark.parametrize("rule_name", ["douyin", "taobao"])
def test_clean_offer_has_no_notices(rule_name):
    rule = load_rule(ROOT / "rules" / f"{rule_name}.yaml")

    mapped = rule.apply(raw_of(SAMPLES / "product.get", "672839104523"))

    assert mapped.notices == ()


def test_notices_do_not_leak_between_offers(douyin_fallback):
    douyin_fallback.apply(raw_of(TESTS_DATA, "690245871199"))

    mapped = douyin_fallback.apply(raw_of(SAMPLES / "product.get", "672839104523"))

    assert mapped.notices == ()


def test_truncation_notice_keeps_payload():
    raw = raw_of(SAMPLES / "product.get", "741857203396")
    rule = load_rule(ROOT / "rules" / "douyin.yaml")

    mapped = rule.apply(raw)

    assert mapped.payload["name"] == "爆款适用iPhone15 Pro Max手机壳全包防摔磨砂透明壳男女款情侣保"
    assert [item.key for item in mapped.notices] == ["warning.title_truncated"]


def test_review_values_in_mapped(douyin_fallback):
    mapped = douyin_fallback.apply(raw_of(TESTS_DATA, "690245871199"))

    assert mapped.review["title"] == mapped.payload["name"]
    assert mapped.review["category_id"] == 20000
    assert len(mapped.review["images"]) == 5
    assert mapped.review["skus"][1]["price"] == Decimal("67.50")
    assert mapped.review["skus"][1]["stock"] == 0
