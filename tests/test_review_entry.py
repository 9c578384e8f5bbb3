"""The review entry (build_entry, snapshot, diff) and the rule's ``review`` section behind it."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from etl import jsonio
from etl.cli import main
from etl.errors import OfferError, RuleError
from etl.notices import Notice
from etl.review_entry import build_entry, diff, image_limit, snapshot, specs_text
from etl.rules import REVIEW_PARTS, load_rule, rule_schema

from conftest import ROOT, SAMPLES

TESTS_DATA = Path(__file__).resolve().parent / "data" / "test_preview"
DOUYIN_LIMITS = {"title_max_width": 60, "main_images_max": 5}
RECORD = {
    "offer_id": "620000000001",
    "title": "最好的连衣裙 夏季",
    "category_id": "1031910",
    "category_name": "连衣裙",
    "images": ["https://cbu01.alicdn.com/img/ibank/1.jpg"],
    "detail_html": '<p onclick="x()">面料<script>alert(1)</script></p>',
}
SKU = {"specs": [{"name": "颜色", "value": "红色"}, {"name": "尺码", "value": "S"}], "cost": Decimal("12.3"), "price": Decimal("18.9"), "stock": 5}


def mapped_of(record=RECORD, review=None, notices=(), error=None):
    return SimpleNamespace(record=record, review=review, notices=tuple(notices), error=error)


def review_of(**parts):
    review = {"title": "连衣裙 夏季", "category_id": 20000, "images": list(RECORD["images"]), "skus": [dict(SKU)]}
    review.update(parts)
    return review


def warning_codes(entry) -> list[tuple[str, str]]:
    return [(warning["code"], warning["field"]) for warning in entry["warnings"]]


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    """Return a copy of ``rules/`` with ``targets/`` beside it, for edited rule files."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "targets", tmp_path / "targets")
    return tmp_path / "rules"


def edited(rules_dir: Path, name: str, old: str, new: str) -> Path:
    text = (rules_dir / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = rules_dir / "edited.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- build_entry --------------------------------------------------------------------------------


def test_entry_keys_in_contract_order():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert list(entry) == ["offer_id", "status", "product_id", "output", "error", "title", "images", "category",
                           "skus", "detail_html", "warnings", "changes"]


def test_entry_is_plain_json():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert json.loads(json.dumps(entry, ensure_ascii=False)) == entry


def test_entry_title():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert entry["title"] == {"before": "最好的连衣裙 夏季", "after": "连衣裙 夏季", "width": 11, "max_width": 60}


def test_entry_category():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert entry["category"] == {"source_id": "1031910", "source_name": "连衣裙", "target_id": "20000", "mapped": True}


def test_entry_category_unmapped_from_notice():
    notice = Notice("warning.category_unmapped", "transform.category_leaf_id", {"table": "c.csv", "key": "1031910", "default": "20000"})

    entry = build_entry("620000000001", "ok", mapped_of(review=review_of(), notices=[notice]), limits=DOUYIN_LIMITS)

    assert entry["category"]["mapped"] is False


def test_entry_skus_as_yuan_text():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert entry["skus"] == [{"specs": "颜色:红色 / 尺码:S", "cost": "12.30", "price": "18.90", "stock": 5}]


def test_entry_images_and_ids():
    entry = build_entry("620000000001", "created", mapped_of(review=review_of()), output="out/620000000001.json",
                        product_id="3600000001", limits=DOUYIN_LIMITS)

    assert entry["images"] == ["https://cbu01.alicdn.com/img/ibank/1.jpg"]
    assert entry["output"] == "out/620000000001.json"
    assert entry["product_id"] == "3600000001"
    assert entry["status"] == "created"
    assert entry["changes"] == []


def test_entry_detail_html_sanitised():
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of()), limits=DOUYIN_LIMITS)

    assert entry["detail_html"] == "<p>面料</p>"


def test_entry_without_detail_html():
    record = {**RECORD, "detail_html": None}

    entry = build_entry("620000000001", "ok", mapped_of(record=record, review=review_of()), limits=DOUYIN_LIMITS)

    assert entry["detail_html"] == ""


@pytest.mark.parametrize(
    ("sku", "record_images", "expected"),
    [
        ({}, 1, []),
        ({"stock": 0}, 1, [("warning.sku_no_stock", "review.skus[0].stock")]),
        ({"price": Decimal("12.29")}, 1, [("warning.below_cost", "review.skus[0].price")]),
        ({"price": Decimal("12.30")}, 1, []),
        ({"price": Decimal("12.295")}, 1, []),
        ({"stock": None}, 1, []),
        ({}, 5, []),
        ({}, 6, [("warning.images_over_limit", "offer.images")]),
        ({"stock": 0, "price": Decimal("1")}, 7, [("warning.sku_no_stock", "review.skus[0].stock"),
                                                  ("warning.below_cost", "review.skus[0].price"),
                                                  ("warning.images_over_limit", "offer.images")]),
    ],
    ids=["clean", "no-stock", "below-cost", "at-cost", "rounds-to-cost", "stock-unknown", "images-at-limit",
         "images-over-limit", "all-three"],
)
def test_entry_computed_warnings(sku, record_images, expected):
    record = {**RECORD, "images": [f"https://cbu01.alicdn.com/img/ibank/{n}.jpg" for n in range(record_images)]}
    review = review_of(skus=[{**SKU, **sku}])

    entry = build_entry("620000000001", "ok", mapped_of(record=record, review=review), limits=DOUYIN_LIMITS)

    assert warning_codes(entry) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", "SKU“颜色:红色 / 尺码:S”售价 1.00 元低于成本 12.30 元；请检查加价设置（markup、price_add、cost_ranges）。"),
        ("en", "SKU “颜色:红色 / 尺码:S” sells at 1.00 yuan, below its cost of 12.30 yuan; check the markup settings (markup, price_add, cost_ranges)."),
    ],
)
def test_entry_warning_message_in_language(lang, expected):
    review = review_of(skus=[{**SKU, "price": Decimal("1")}])

    entry = build_entry("620000000001", "ok", mapped_of(review=review), lang=lang, limits=DOUYIN_LIMITS)

    assert entry["warnings"][0]["message"] == expected


def test_entry_sku_without_specs_named_by_position():
    review = review_of(skus=[{"specs": [], "cost": Decimal("1"), "price": Decimal("2"), "stock": 0}])

    entry = build_entry("620000000001", "ok", mapped_of(review=review), lang="en", limits=DOUYIN_LIMITS)

    assert entry["skus"][0]["specs"] == ""
    assert "SKU “#1” has stock 0" in entry["warnings"][0]["message"]


def test_entry_notices_rendered_first():
    notice = Notice("warning.title_truncated", "transform.title", {"cut": "夏季", "width": 64, "max_width": 60})
    review = review_of(skus=[{**SKU, "stock": 0}])

    entry = build_entry("620000000001", "ok", mapped_of(review=review, notices=[notice]), lang="en", limits=DOUYIN_LIMITS)

    assert entry["warnings"][0] == {
        "code": "warning.title_truncated",
        "message": "the title is 64 columns wide, over the limit of 60, so “夏季” was cut off the end; "
                   "check that the shortened title still reads well, or rewrite it.",
        "field": "transform.title",
    }
    assert entry["warnings"][1]["code"] == "warning.sku_no_stock"


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ({"images": "https://a/1.jpg"}, "review.images"),
        ({"skus": {"specs": "x"}}, "review.skus"),
        ({"skus": ["row"]}, "review.skus[0]"),
        ({"skus": [{**SKU, "price": "abc"}]}, "review.skus[0].price"),
        ({"skus": [{**SKU, "stock": "5"}]}, "review.skus[0].stock"),
        ({"skus": [{**SKU, "specs": 7}]}, "review.skus[0].specs"),
    ],
    ids=["images-not-list", "skus-not-list", "row-not-mapping", "price-not-money", "stock-not-int", "specs-not-text"],
)
def test_entry_invalid_review_value_warns(parts, field):
    entry = build_entry("620000000001", "ok", mapped_of(review=review_of(**parts)), limits=DOUYIN_LIMITS)

    assert ("warning.review_value_invalid", field) in warning_codes(entry)


def test_entry_failed_offer_has_error():
    error = OfferError("table.unmapped", step="transform", offer_id="620000000001", field="transform.category_leaf_id",
                       table="c.csv", lookup_key="1031910", key_column="a", value_column="b", delimiter=",")

    entry = build_entry("620000000001", "failed", mapped_of(review=None), error=error, lang="en", limits=DOUYIN_LIMITS)

    assert entry["error"]["step"] == "transform"
    assert entry["error"]["field"] == "transform.category_leaf_id"
    assert entry["error"]["sku_index"] is None
    assert entry["error"]["code"] == "table.unmapped"
    assert "1031910" in entry["error"]["message"]
    assert entry["title"]["after"] is None
    assert "skus" not in entry
    assert "images" not in entry


def test_entry_error_taken_from_trace():
    error = OfferError("offer.offline", step="extract", offer_id="620000000001", field="status", status="expired")

    entry = build_entry("620000000001", "failed", mapped_of(record=None, error=error))

    assert entry["error"]["code"] == "offer.offline"
    assert "title" not in entry
    assert "category" not in entry
    assert entry["detail_html"] == ""


def test_entry_with_nothing_computed():
    entry = build_entry("620000000001", "skipped")

    assert entry["error"] is None
    assert entry["warnings"] == []
    assert "title" not in entry


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([{"name": "颜色", "value": "红色"}, {"name": "尺码", "value": "S"}], "颜色:红色 / 尺码:S"),
        ([{"name": "颜色", "value": "红色", "image": None}], "颜色:红色"),
        ([{"name": "", "value": "红色"}], "红色"),
        ("颜色:红色", "颜色:红色"),
        ([], ""),
        (None, ""),
        ([{"name": "颜色"}], None),
        (7, None),
    ],
)
def test_specs_text(specs, expected):
    assert specs_text(specs) == expected


@pytest.mark.parametrize(
    ("limits", "expected"),
    [({"main_images_max": 5}, 5), ({"item_images_max": 5}, 5), ({"title_max_width": 60}, None), ({"main_images_max": True}, None)],
)
def test_image_limit(limits, expected):
    assert image_limit(limits) == expected


# --- snapshot and diff ------------------------------------------------------------------------------


def entry_with(title="连衣裙", category="20000", skus=(("颜色:红色", "18.90", 5),)):
    return {
        "title": {"before": "x", "after": title, "width": 6, "max_width": 60},
        "category": {"source_id": "1", "source_name": "y", "target_id": category, "mapped": True},
        "skus": [{"specs": specs, "cost": "1.00", "price": price, "stock": stock} for specs, price, stock in skus],
    }


def test_snapshot_shape():
    assert snapshot(entry_with()) == {"title": "连衣裙", "category": "20000", "skus": {"颜色:红色": {"price": "18.90", "stock": 5}}}


def test_snapshot_duplicate_specs_numbered():
    entry = entry_with(skus=(("", "1.00", 1), ("", "2.00", 2), ("", "3.00", 3)))

    assert list(snapshot(entry)["skus"]) == ["", " #2", " #3"]


def test_snapshot_of_failed_entry():
    assert snapshot({"offer_id": "1", "error": {}}) == {"title": None, "category": None, "skus": None}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (entry_with(), entry_with(), []),
        (entry_with(skus=(("颜色:红色", "18.9", 5),)), entry_with(skus=(("颜色:红色", "18.90", 5),)), []),
        (entry_with(), entry_with(skus=(("颜色:红色", "19.90", 5),)),
         [{"kind": "price", "sku": "颜色:红色", "from": "18.90", "to": "19.90"}]),
        (entry_with(), entry_with(skus=(("颜色:红色", "18.90", 0),)),
         [{"kind": "stock", "sku": "颜色:红色", "from": 5, "to": 0}]),
        (entry_with(), entry_with(skus=(("颜色:红色", "18.90", 5), ("颜色:蓝色", "18.90", 5))),
         [{"kind": "sku_added", "sku": "颜色:蓝色"}]),
        (entry_with(skus=(("颜色:红色", "18.90", 5), ("颜色:绿色", "18.90", 5))), entry_with(),
         [{"kind": "sku_removed", "sku": "颜色:绿色"}]),
        (entry_with(), entry_with(title="连衣裙 新款"), [{"kind": "title", "from": "连衣裙", "to": "连衣裙 新款"}]),
        (entry_with(), entry_with(category="20001"), [{"kind": "category", "from": "20000", "to": "20001"}]),
        (entry_with(skus=(("a", "1.00", 1), ("b", "1.00", 1))),
         entry_with(title="t2", category="2", skus=(("c", "1.00", 1), ("a", "2.00", 0))),
         [{"kind": "title", "from": "连衣裙", "to": "t2"},
          {"kind": "category", "from": "20000", "to": "2"},
          {"kind": "sku_added", "sku": "c"},
          {"kind": "price", "sku": "a", "from": "1.00", "to": "2.00"},
          {"kind": "stock", "sku": "a", "from": 1, "to": 0},
          {"kind": "sku_removed", "sku": "b"}]),
        (entry_with(skus=(("a", None, 1),)), entry_with(skus=(("a", "1.00", 1),)),
         [{"kind": "price", "sku": "a", "from": None, "to": "1.00"}]),
    ],
    ids=["same", "same-price-other-digits", "price", "stock", "sku-added", "sku-removed", "title", "category",
         "everything", "price-now-known"],
)
def test_diff(old, new, expected):
    assert diff(snapshot(old), snapshot(new)) == expected


def test_diff_first_run_empty():
    assert diff(None, snapshot(entry_with())) == []


def test_diff_skips_parts_missing_in_failed_run():
    failed = snapshot({"offer_id": "1"})

    assert diff(failed, snapshot(entry_with())) == []
    assert diff(snapshot(entry_with()), failed) == []


def test_diff_snapshot_survives_json():
    stored = json.loads(json.dumps(snapshot(entry_with())))

    assert diff(stored, snapshot(entry_with(skus=(("颜色:红色", "19.90", 5),))))[0]["kind"] == "price"


# --- the rule's review section ---------------------------------------------------------------------------


@pytest.mark.parametrize("rule_name", ["douyin", "taobao"])
def test_bundled_review_entry(rule_name):
    rule = load_rule(ROOT / "rules" / f"{rule_name}.yaml")
    mapped = rule.apply(jsonio.loads((SAMPLES / "product.get" / "698310457726.json").read_text(encoding="utf-8")))

    entry = build_entry(mapped.offer_id, "ok", mapped, limits=rule.target.limits)

    assert entry["title"]["after"] == mapped.transforms["title"]
    assert entry["title"]["max_width"] == 60
    assert entry["category"]["mapped"] is True
    assert len(entry["skus"]) == 1
    assert entry["skus"][0]["cost"] == "19.50"
    assert entry["skus"][0]["price"] == "29.25"
    assert entry["images"][0].startswith("https://cbu01.alicdn.com/")


def test_douyin_review_price_in_yuan_matches_fen_payload():
    rule = load_rule(ROOT / "rules" / "douyin.yaml")
    mapped = rule.apply(jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8")))
    fen = [row["price"] for row in mapped.transforms["sku_rows"]]

    entry = build_entry(mapped.offer_id, "ok", mapped, limits=rule.target.limits)

    assert [Decimal(sku["price"]) * 100 for sku in entry["skus"]] == fen
    assert set(fen) <= {row["price"] for row in json.loads(mapped.payload["spec_prices"])}


def test_douyin_review_images_match_payload():
    rule = load_rule(ROOT / "rules" / "douyin.yaml")
    mapped = rule.apply(jsonio.loads((SAMPLES / "product.get" / "741857203396.json").read_text(encoding="utf-8")))

    assert "|".join(mapped.review["images"]) == mapped.payload["pic"]


def test_review_parts_match_schema():
    assert REVIEW_PARTS == tuple(rule_schema()["properties"]["review"]["properties"])


def test_rule_without_review_section(rules_dir):
    text = (rules_dir / "douyin.yaml").read_text(encoding="utf-8")
    path = rules_dir / "edited.yaml"
    path.write_text(text[: text.index("\nreview:")] + "\n", encoding="utf-8")
    rule = load_rule(path)

    mapped = rule.apply(jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8")))

    assert rule.review is None
    assert mapped.review is None


@pytest.mark.parametrize(
    ("old", "new", "field", "key"),
    [
        ('  title: "{{ title }}"\n  category_id', '  title: "{{ titel }}"\n  category_id', "review.title", "rule.unknown_name"),
        ("row.price | fen_to_yuan", "row.price | fen_to_yaun", "review.skus.map", "rule.unknown_filter"),
        ("row.stock}", "row.stok}", "review.skus.map", "rule.unknown_attribute"),
        ('  category_id: "{{ category_leaf_id }}"', '  category: "{{ category_leaf_id }}"', "review.category", "rule.unknown_key"),
        ("    each: sku_rows", "    each: sku_rowz", "review.skus.each", "rule.unknown_name"),
    ],
    ids=["name", "filter", "attribute", "part", "each"],
)
def test_review_section_checked_at_load(rules_dir, old, new, field, key):
    with pytest.raises(RuleError) as caught:
        load_rule(edited(rules_dir, "douyin", old, new))

    assert [(problem.field, problem.key) for problem in caught.value.problems] == [(field, key)]


def test_review_unknown_part_suggestion(rules_dir):
    path = edited(rules_dir, "douyin", '  category_id: "{{ category_leaf_id }}"', '  categoryid: "{{ category_leaf_id }}"')

    with pytest.raises(RuleError) as caught:
        load_rule(path)

    assert caught.value.problems[0].params["suggestion"] == "category_id"


def test_review_unknown_name_suggestion(rules_dir):
    with pytest.raises(RuleError) as caught:
        load_rule(edited(rules_dir, "douyin", '  title: "{{ title }}"\n  category_id', '  title: "{{ titel }}"\n  category_id'))

    assert caught.value.problems[0].params["suggestion"] == "title"


def test_check_command_reports_review_error(rules_dir, capsys):
    path = edited(rules_dir, "taobao", '  skus: "{{ sku_rows }}"', '  skus: "{{ sku_row }}"')

    status = main(["check", str(path), "--lang", "en"])

    err = capsys.readouterr().err
    assert status == 2
    assert "[review.skus]" in err
    assert "sku_row" in err
    assert "did you mean sku_rows?" in err


def test_review_failure_is_notice_not_error(rules_dir):
    rule = load_rule(edited(rules_dir, "douyin", '  title: "{{ title }}"\n  category_id', '  title: "{{ title | int }}"\n  category_id'))
    raw = jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8"))

    mapped = rule.apply(raw)

    assert "title" not in mapped.review
    assert "skus" in mapped.review
    assert [(item.key, item.field, item.params["part"]) for item in mapped.notices] == [("warning.review_failed", "review.title", "title")]
    assert "expr.not_int" not in mapped.notices[0].render("en")


def test_review_failure_message():
    notice = Notice("warning.review_failed", "review.title", {"part": "title", "reason": {"zh": "原因", "en": "reason"}})

    assert notice.render("en") == "review part “title” could not be computed: reason. The payload is not affected; check the rule's review section."


# --- Rule.trace ------------------------------------------------------------------------------------------


def test_trace_of_ok_offer():
    rule = load_rule(ROOT / "rules" / "douyin.yaml")
    raw = jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8"))

    trace = rule.trace(raw, "672839104523")

    assert trace.error is None
    assert trace.payload == rule.apply(raw).payload
    assert trace.review is not None


def test_trace_keeps_transforms_before_failure():
    rule = load_rule(ROOT / "rules" / "douyin.yaml")
    raw = jsonio.loads((SAMPLES / "product.get" / "690245871136.json").read_text(encoding="utf-8"))

    trace = rule.trace(raw, "690245871136")

    assert trace.error.key == "table.unmapped"
    assert list(trace.transforms) == ["title"]
    assert trace.record["category_id"] == "99999999"
    assert trace.payload is None
    assert trace.review is None


def test_trace_of_extract_failure():
    rule = load_rule(ROOT / "rules" / "douyin.yaml")
    raw = jsonio.loads((SAMPLES / "product.get" / "655718290347.json").read_text(encoding="utf-8"))

    trace = rule.trace(raw, "655718290347")

    assert trace.error.key == "offer.offline"
    assert trace.record is None
    assert trace.transforms == {}


def test_trace_of_validation_failure_has_payload_and_review(rules_dir):
    rule = load_rule(edited(rules_dir, "douyin", "  product_type: 0", "  product_type: 7"))
    raw = jsonio.loads((SAMPLES / "product.get" / "672839104523.json").read_text(encoding="utf-8"))

    trace = rule.trace(raw, "672839104523")

    assert trace.error.step == "validate"
    assert trace.payload["product_type"] == 7
    assert trace.review["title"] == trace.transforms["title"]
