"""Tests of payload validation and of applying whole rules: cross-field checks, mapping semantics, prices."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

from etl import jsonio
from etl.errors import OfferError
from etl.rules import Rule, load_rule
from etl.targets import Target, load_target
from etl.validate import validate_payload

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data" / "test_validate"

FAILING_SAMPLES = {"655718290347", "681124097753", "703386614920"}
OK_OFFERS = sorted(path.stem for path in (SAMPLES / "product.get").glob("*.json") if path.stem not in FAILING_SAMPLES)

# Offer 690245871136 has a category that the bundled tables do not map, so these runs set a fallback.
FALLBACK = {"fallback_category_id": "20000"}


@lru_cache(maxsize=None)
def target(name: str) -> Target:
    return load_target(ROOT / "targets" / name / "target.yaml")


def valid_payload(name: str) -> dict:
    return jsonio.loads((DATA / f"{name}_valid.json").read_text(encoding="utf-8"))


def violations_of(name: str, payload: dict) -> list[tuple[str, str]]:
    return [(violation.field, violation.key) for violation in validate_payload(payload, target(name))]


def raw_sample(shape: str, offer_id: str) -> dict:
    return jsonio.loads((SAMPLES / shape / f"{offer_id}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def bundled_rule(name: str, shape: str, overrides: tuple = ()) -> Rule:
    return load_rule(ROOT / "rules" / f"{name}.yaml", dict(overrides), shape)


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "targets", tmp_path / "targets")
    return tmp_path / "rules"


def douyin_with(rules_dir: Path, transform: str = "", fields: str = "", replace: tuple[str, str] | None = None) -> Rule:
    """Load the bundled Douyin rule with extra ``transform`` and ``fields`` entries (YAML text) added first."""
    text = (rules_dir / "douyin.yaml").read_text(encoding="utf-8")
    text = text.replace("\ntransform:\n", "\ntransform:\n" + transform, 1)
    text = text.replace("\nfields:\n", "\nfields:\n" + fields, 1)
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)

    path = rules_dir / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rule(path)


# --- the fixture payloads -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["douyin", "taobao"])
def test_valid_payload_has_no_violation(name):
    assert validate_payload(valid_payload(name), target(name)) == []


# --- Douyin ------------------------------------------------------------------------------------


def test_title_over_60_columns():
    payload = valid_payload("douyin")
    payload["name"] = "测" * 30 + "a"

    violations = validate_payload(payload, target("douyin"))

    assert [(v.field, v.key) for v in violations] == [("name", "validate.x-maxDisplayWidth")]
    assert violations[0].params["found"] == 61
    assert violations[0].params["limit"] == 60
    assert violations[0].render("zh") == "name 显示宽度 61 超过上限 60（汉字算 2）；请用 truncate_width 截断"
    assert violations[0].render("en") == (
        "name has display width 61, over the limit 60 (a Chinese character counts 2); truncate it with truncate_width"
    )


@pytest.mark.parametrize("title", ["测" * 30, "a" * 60, "测" * 29 + "ab"])
def test_title_of_exactly_60_columns_passes(title):
    payload = valid_payload("douyin")
    payload["name"] = title

    assert violations_of("douyin", payload) == []


def test_pic_with_six_images():
    payload = valid_payload("douyin")
    payload["pic"] = "|".join(f"https://cbu01.alicdn.com/img/ibank/{index}.jpg" for index in range(6))

    violations = validate_payload(payload, target("douyin"))

    assert [(v.field, v.key, v.params["limit"]) for v in violations] == [("pic", "validate.x-splitMaxItems", 5)]
    assert violations[0].render("en") == "pic allows at most 5 items, found 6; take only the first 5 in the rule"


def test_pic_with_five_images_passes():
    payload = valid_payload("douyin")
    payload["pic"] = "|".join(f"https://cbu01.alicdn.com/img/ibank/{index}.jpg" for index in range(5))

    assert violations_of("douyin", payload) == []


def rows_of(payload: dict) -> list[dict]:
    return json.loads(payload["spec_prices"], parse_float=Decimal)


def with_rows(payload: dict, rows: list[dict]) -> dict:
    return {**payload, "spec_prices": jsonio.dumps(rows)}


def test_spec_prices_row_missing():
    payload = valid_payload("douyin")

    violations = validate_payload(with_rows(payload, rows_of(payload)[:3]), target("douyin"))

    assert [(v.field, v.key, v.params) for v in violations] == [
        ("spec_prices", "check.spec_rows_count", {"found": 3, "expected": 4}),
        ("spec_prices", "check.spec_rows_mismatch", {"unknown": "-", "missing": "黑色/L"}),
    ]


def test_spec_prices_row_with_unknown_value():
    payload = valid_payload("douyin")
    rows = rows_of(payload)
    rows[1]["spec_detail_name2"] = "XL"

    violations = validate_payload(with_rows(payload, rows), target("douyin"))

    assert [(v.key, v.params) for v in violations] == [
        ("check.spec_rows_mismatch", {"unknown": "白色/XL", "missing": "白色/L"})
    ]
    assert violations[0].render("zh") == "规格价格与规格不一致：多出的组合 白色/XL；缺少的组合 白色/L"
    assert violations[0].render("en") == (
        "spec_prices does not match specs: extra combinations 白色/XL; missing combinations 白色/L"
    )


def test_spec_prices_duplicate_row():
    payload = valid_payload("douyin")
    rows = rows_of(payload)
    rows[3] = dict(rows[0])

    assert violations_of("douyin", with_rows(payload, rows)) == [("spec_prices", "check.spec_rows_mismatch")]


def test_specs_string_malformed():
    payload = valid_payload("douyin")
    payload["specs"] = "颜色|白色,黑色^尺码"

    assert violations_of("douyin", payload) == [
        ("specs", "validate.pattern"),
        ("specs", "check.specs_format"),
    ]


def test_price_in_yuan_where_fen_required():
    payload = valid_payload("douyin")
    payload["spec_prices"] = payload["spec_prices"].replace('"price":2985', '"price":29.85', 1)

    violations = validate_payload(payload, target("douyin"))

    assert [(v.field, v.key) for v in violations] == [("spec_prices[0].price", "validate.type")]
    assert violations[0].params["limit"] == "integer"
    assert violations[0].params["found"] == "number"


def test_price_zero_fen_rejected():
    payload = valid_payload("douyin")
    payload["spec_prices"] = payload["spec_prices"].replace('"price":3225', '"price":0', 1)

    assert violations_of("douyin", payload) == [("spec_prices[3].price", "validate.minimum")]


def test_spec_prices_not_json():
    payload = valid_payload("douyin")
    payload["spec_prices"] = "[{'price': 1}]"

    assert violations_of("douyin", payload) == [("spec_prices", "validate.other")]


@pytest.mark.parametrize(("text", "field"), [("5", "spec_prices"), ("[1]", "spec_prices[0]"), ('["白色"]', "spec_prices[0]")])
def test_spec_prices_json_of_wrong_shape(text, field):
    payload = valid_payload("douyin")
    payload["spec_prices"] = text

    assert (field, "validate.type") in violations_of("douyin", payload)


def test_images_total_over_50():
    payload = valid_payload("douyin")
    payload["description"] = "|".join(f"https://cbu01.alicdn.com/img/ibank/d{index}.jpg" for index in range(47))

    violations = validate_payload(payload, target("douyin"))

    assert [(v.key, v.params) for v in violations] == [
        ("check.max_items_total", {"fields": "pic, description, spec_pic", "found": 51, "limit": 50})
    ]


def test_douyin_missing_required_and_unknown_field():
    payload = valid_payload("douyin")
    del payload["commit"]
    payload["nmae"] = "x"

    violations = validate_payload(payload, target("douyin"))

    assert sorted(v.key for v in violations) == ["validate.required", "validate.unknown_field"]
    assert next(v for v in violations if v.key == "validate.required").params == {"field": "commit"}
    assert "nmae" in next(v for v in violations if v.key == "validate.unknown_field").params["detail"]


def test_douyin_all_violations_listed_at_once():
    payload = valid_payload("douyin")
    payload["name"] = "测" * 31
    payload["pic"] = "|".join(f"https://cbu01.alicdn.com/img/ibank/{index}.jpg" for index in range(6))
    payload["commit"] = "false"
    rows = rows_of(payload)
    rows[0]["price"] = Decimal("29.85")
    payload = with_rows(payload, rows[:3])

    assert sorted(violations_of("douyin", payload)) == [
        ("commit", "validate.type"),
        ("name", "validate.x-maxDisplayWidth"),
        ("pic", "validate.x-splitMaxItems"),
        ("spec_prices", "check.spec_rows_count"),
        ("spec_prices", "check.spec_rows_mismatch"),
        ("spec_prices[0].price", "validate.type"),
    ]


# --- Taobao ------------------------------------------------------------------------------------


def test_taobao_misaligned_sku_lists():
    payload = valid_payload("taobao")
    payload["sku_outer_ids"] = "T200-WH-M,T200-WH-L,T200-BK-M"

    violations = validate_payload(payload, target("taobao"))

    assert [(v.field, v.key) for v in violations] == [
        ("sku_properties,sku_prices,sku_quantities,sku_outer_ids", "check.same_count")
    ]
    assert violations[0].params == {"detail": "sku_properties=4, sku_prices=4, sku_quantities=4, sku_outer_ids=3"}


def test_taobao_empty_outer_ids_count():
    payload = valid_payload("taobao")
    payload["sku_outer_ids"] = ",,,"

    assert violations_of("taobao", payload) == []


def test_taobao_num_not_sum_of_quantities():
    payload = valid_payload("taobao")
    payload["num"] = 2000

    violations = validate_payload(payload, target("taobao"))

    assert [(v.field, v.key) for v in violations] == [("num", "check.sum_equals")]
    assert violations[0].params == {"field": "num", "found": 2000, "expected": 2080, "parts": "sku_quantities"}
    assert violations[0].render("zh") == "num 是 2000，但应等于 sku_quantities 之和 2080"
    assert violations[0].render("en") == "num is 2000 but must equal the sum of sku_quantities, 2080"


@pytest.mark.parametrize(("price", "low_ok"), [("29.84", False), ("32.26", False), ("29.85", True), ("32.25", True), ("30", True)])
def test_taobao_price_within_sku_range(price, low_ok):
    payload = valid_payload("taobao")
    payload["price"] = price

    violations = validate_payload(payload, target("taobao"))

    if low_ok:
        assert violations == []
    else:
        assert [(v.field, v.key) for v in violations] == [("price", "check.price_within")]
        assert violations[0].params == {"field": "price", "found": Decimal(price), "low": Decimal("29.85"), "high": Decimal("32.25")}


def test_taobao_price_outside_range_text():
    payload = valid_payload("taobao")
    payload["price"] = "19.90"

    violation = validate_payload(payload, target("taobao"))[0]

    assert violation.render("zh") == "price 为 19.90，必须在 SKU 价格范围 29.85–32.25 之内"
    assert violation.render("en") == "price is 19.90; it must lie within the SKU price range 29.85-32.25"


def test_taobao_price_as_decimal_rejected():
    payload = valid_payload("taobao")
    payload["price"] = Decimal("29.85")

    assert violations_of("taobao", payload) == [("price", "validate.type")]


def test_taobao_all_violations_listed_at_once():
    payload = valid_payload("taobao")
    payload["title"] = "测" * 31
    payload["num"] = 1
    payload["price"] = "99.00"
    payload["sku_prices"] = "29.85,29.85,32.25"
    payload["desc"] = "短"

    assert sorted(violations_of("taobao", payload)) == [
        ("desc", "validate.minLength"),
        ("num", "check.sum_equals"),
        ("price", "check.price_within"),
        ("sku_properties,sku_prices,sku_quantities,sku_outer_ids", "check.same_count"),
        ("title", "validate.x-maxDisplayWidth"),
    ]


# --- through a rule --------------------------------------------------------------------------


def test_rule_without_truncation_fails_validation(rules_dir):
    rule = douyin_with(rules_dir, replace=(" | truncate_width(target.limits.title_max_width)", ""))

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "741857203396"), "741857203396")

    error = caught.value
    assert (error.key, error.step, error.field, error.offer_id) == ("validate.failed", "validate", "name", "741857203396")
    assert [(v.field, v.key) for v in error.violations] == [("name", "validate.x-maxDisplayWidth")]
    assert error.params["count"] == 1


def test_rule_lists_every_violation(rules_dir):
    rule = douyin_with(
        rules_dir,
        replace=("offer.images[:target.limits.main_images_max]", "(offer.images * 2)"),
        fields='  presell_type: 7\n',
    )

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "672839104523"))

    assert sorted((v.field, v.key) for v in caught.value.violations) == [
        ("pic", "validate.x-splitMaxItems"),
        ("presell_type", "validate.enum"),
    ]
    assert caught.value.params["count"] == 2


def test_rule_wrong_spec_prices_shape(rules_dir):
    rule = douyin_with(rules_dir, replace=("{{ sku_rows | douyin_spec_prices(vars.default_spec_value, target.limits.spec_rows_max) }}", "{{ [1] }}"))

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "672839104523"))

    assert caught.value.key == "validate.failed"


# --- mapping semantics --------------------------------------------------------------------------


MISSING_PROBES = """\
  t_omit:
    expr: "{{ offer.images[99] }}"
    if_missing: omit
  t_default:
    expr: "{{ offer.images[99] }}"
    default: no-image.jpg
  t_default_explicit:
    expr: "{{ offer.images[99] }}"
    if_missing: default
  t_present:
    expr: "{{ offer.images[0] }}"
    default: no-image.jpg
  t_null:
    expr: "{{ offer.detail_html }}"
    default: no-detail
  t_when_false:
    expr: "{{ 1 }}"
    when: false
  t_when_true:
    expr: "{{ 2 }}"
    when: offer.skus | length > 0
  t_when_missing:
    expr: "{{ 3 }}"
    when: offer.images[99]
  t_json:
    expr: "{{ {'title': offer.title, 'tiers': offer.price_tiers} }}"
    encode: json
"""

FIELD_PROBES = """\
  presell_type:
    expr: 1
    when: false
  pay_type:
    expr: "{{ offer.images[99] }}"
    if_missing: omit
  standard_brand_id:
    expr: "{{ offer.images[99] }}"
    if_missing: default
    default: 0
  start_sale_type:
    expr: "{{ 0 }}"
    when: offer.skus
"""


@pytest.fixture
def probe_rule(rules_dir) -> Rule:
    return douyin_with(rules_dir, transform=MISSING_PROBES, fields=FIELD_PROBES)


def test_if_missing_omit(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "729463018854"))

    assert "t_omit" not in mapped.transforms


def test_if_missing_default(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "729463018854"))

    assert mapped.transforms["t_default"] == "no-image.jpg"
    assert mapped.transforms["t_default_explicit"] is None
    assert mapped.transforms["t_present"] == mapped.record["images"][0]


def test_null_is_a_value_not_missing(probe_rule):
    # Offer 729463018854 has no description key, so detail_html is null and the default does not apply.
    mapped = probe_rule.apply(raw_sample("product.get", "729463018854"))

    assert mapped.record["detail_html"] is None
    assert "t_null" in mapped.transforms
    assert mapped.transforms["t_null"] is None


def test_when_condition(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "729463018854"))

    assert "t_when_false" not in mapped.transforms
    assert mapped.transforms["t_when_true"] == 2
    assert "t_when_missing" not in mapped.transforms


def test_encode_json_is_compact(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "698310457726"))

    assert mapped.transforms["t_json"] == (
        '{"title":"316不锈钢保温杯500ml 商务礼品杯 可定制刻字logo","tiers":[{"min_quantity":1,"price":17.08}]}'
    )


def test_field_directives_in_payload(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "672839104523"))

    assert "presell_type" not in mapped.payload
    assert "pay_type" not in mapped.payload
    assert mapped.payload["standard_brand_id"] == 0
    assert mapped.payload["start_sale_type"] == 0


def test_field_when_without_skus(probe_rule):
    mapped = probe_rule.apply(raw_sample("product.get", "715204938861"))

    assert "start_sale_type" not in mapped.payload


def test_if_missing_error_is_default(rules_dir):
    rule = douyin_with(rules_dir, transform='  t_error: "{{ offer.images[99] }}"\n')

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "672839104523"))

    error = caught.value
    assert (error.key, error.step, error.field, error.offer_id) == ("map.missing", "transform", "transform.t_error", "672839104523")
    assert "99" in error.params["reason"]


def test_missing_inside_each_names_sku(rules_dir):
    rule = douyin_with(
        rules_dir,
        transform='  t_each:\n    each: offer.skus\n    as: sku\n    map:\n      second: "{{ sku.specs[1].value }}"\n',
    )

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "729463018854"))

    assert (caught.value.key, caught.value.field, caught.value.sku_index) == ("map.missing", "transform.t_each.map.second", 0)


@pytest.mark.parametrize("name", ["douyin", "taobao"])
def test_null_category_without_fallback_fails_offer(name):
    rule = bundled_rule(name, "product.get")

    with pytest.raises(OfferError) as caught:
        rule.apply(raw_sample("product.get", "690245871136"), "690245871136")

    assert (caught.value.key, caught.value.step) == ("table.unmapped", "transform")


@pytest.mark.parametrize("shape", ["product.get", "item_get"])
def test_one_sku_offer_one_row(shape):
    mapped = bundled_rule("douyin", shape).apply(raw_sample(shape, "698310457726"))

    rows = json.loads(mapped.payload["spec_prices"])
    assert isinstance(rows, list)
    assert len(rows) == 1
    assert rows[0]["spec_detail_name1"] == "曜石黑"
    assert len(mapped.transforms["sku_rows"]) == 1
    assert mapped.payload["specs"] == "颜色|曜石黑"


def test_one_sku_offer_keeps_code_text():
    mapped = bundled_rule("douyin", "product.get").apply(raw_sample("product.get", "698310457726"))

    assert json.loads(mapped.payload["spec_prices"])[0]["code"] == "0123"
    assert bundled_rule("taobao", "product.get").apply(raw_sample("product.get", "698310457726")).payload["sku_outer_ids"] == "0123"


def test_unsold_combination_gets_unsellable_row():
    # Offer 672839104523 sells 3 colours × 3 sizes except 雾霾蓝/XL, and Douyin needs a row for it too.
    mapped = bundled_rule("douyin", "product.get").apply(raw_sample("product.get", "672839104523"))

    fillers = douyin_filler_rows(mapped)
    assert [(row["spec_detail_name1"], row["spec_detail_name2"], row["stock_num"]) for row in fillers] == [("雾霾蓝", "XL", 0)]
    assert fillers[0]["price"] == max(douyin_prices(mapped).values())
    assert len(douyin_prices(mapped)) == 8


def test_spec_prices_is_compact_json():
    mapped = bundled_rule("douyin", "product.get").apply(raw_sample("product.get", "698310457726"))

    assert mapped.payload["spec_prices"] == (
        '[{"spec_detail_name1":"曜石黑","spec_detail_name2":"","spec_detail_name3":"",'
        '"price":2925,"stock_num":3200,"code":"0123","outer_sku_id":"4780275062206"}]'
    )


# --- retail prices -----------------------------------------------------------------------------


def expected_cost(record: dict, sku: dict | None) -> Decimal:
    """Return the cost basis in yuan: SKU dropship price, SKU price, offer dropship price, then the ladder at the MOQ."""
    if sku is not None:
        for key in ("consign_price", "price"):
            if sku.get(key) is not None:
                return sku[key]

    if record.get("consign_price") is not None:
        return record["consign_price"]

    ladder = sorted((tier["min_quantity"], tier["price"]) for tier in record["price_tiers"])
    reached = [price for quantity, price in ladder if quantity <= record["min_order_quantity"]]
    return reached[-1] if reached else ladder[0][1]


def fen(yuan: Decimal) -> int:
    assert yuan.as_tuple().exponent >= -2, yuan
    return int(yuan * 100)


def douyin_prices(mapped) -> dict[str, int]:
    """Return the fen price of each real spec_prices row by SKU id ("" for an offer without SKUs)."""
    rows = json.loads(mapped.payload["spec_prices"])
    if not mapped.record["skus"]:
        return {row["outer_sku_id"]: row["price"] for row in rows}
    return {row["outer_sku_id"]: row["price"] for row in rows if row["outer_sku_id"]}


def douyin_filler_rows(mapped) -> list[dict]:
    """Return the rows Douyin needs for spec combinations that the offer does not sell."""
    if not mapped.record["skus"]:
        return []
    return [row for row in json.loads(mapped.payload["spec_prices"]) if not row["outer_sku_id"]]


def expected_by_sku(record: dict) -> dict[str, Decimal]:
    if not record["skus"]:
        return {"": expected_cost(record, None)}
    return {sku["sku_id"]: expected_cost(record, sku) for sku in record["skus"]}


RETAIL_CASES = [(shape, offer_id) for shape in ("product.get", "item_get") for offer_id in OK_OFFERS]


@pytest.mark.parametrize(("shape", "offer_id"), RETAIL_CASES)
def test_douyin_markup_one_retail_equals_cost(shape, offer_id):
    rule = bundled_rule("douyin", shape, (("markup", "1"), ("price_add", "0"), *FALLBACK.items()))

    mapped = rule.apply(raw_sample(shape, offer_id), offer_id)

    expected = {sku_id: fen(cost) for sku_id, cost in expected_by_sku(mapped.record).items()}
    assert douyin_prices(mapped) == expected
    # A combination 1688 does not sell is listed unsellable at the highest real price.
    assert all(row["stock_num"] == 0 and row["price"] == max(expected.values()) for row in douyin_filler_rows(mapped))
    assert [row["cost"] for row in mapped.transforms["sku_rows"]] == list(expected_by_sku(mapped.record).values())


@pytest.mark.parametrize(("shape", "offer_id"), RETAIL_CASES)
def test_taobao_markup_one_retail_equals_cost(shape, offer_id):
    rule = bundled_rule("taobao", shape, (("markup", "1"), ("price_add", "0"), *FALLBACK.items()))

    mapped = rule.apply(raw_sample(shape, offer_id), offer_id)

    costs = list(expected_by_sku(mapped.record).values())
    texts = [f"{fen(cost) // 100}.{fen(cost) % 100:02d}" for cost in costs]
    if mapped.record["skus"]:
        assert mapped.payload["sku_prices"].split(",") == texts
    else:
        assert "sku_prices" not in mapped.payload
    assert mapped.payload["price"] == min(texts, key=Decimal)


@pytest.mark.parametrize(("shape", "offer_id"), RETAIL_CASES)
def test_markup_two_doubles_douyin(shape, offer_id):
    once = bundled_rule("douyin", shape, (("markup", "1"), *FALLBACK.items())).apply(raw_sample(shape, offer_id))
    twice = bundled_rule("douyin", shape, (("markup", "2"), *FALLBACK.items())).apply(raw_sample(shape, offer_id))

    assert douyin_prices(twice) == {sku_id: 2 * price for sku_id, price in douyin_prices(once).items()}


@pytest.mark.parametrize(("shape", "offer_id"), RETAIL_CASES)
def test_markup_two_doubles_taobao(shape, offer_id):
    once = bundled_rule("taobao", shape, (("markup", "1"), *FALLBACK.items())).apply(raw_sample(shape, offer_id))
    twice = bundled_rule("taobao", shape, (("markup", "2"), *FALLBACK.items())).apply(raw_sample(shape, offer_id))

    assert Decimal(twice.payload["price"]) == 2 * Decimal(once.payload["price"])
    if "sku_prices" in once.payload:
        doubled = [2 * Decimal(part) for part in once.payload["sku_prices"].split(",")]
        assert [Decimal(part) for part in twice.payload["sku_prices"].split(",")] == doubled


@pytest.mark.parametrize(
    ("offer_id", "fen_price"),
    [("672839104523", 3585), ("715204938861", 44), ("698310457726", 2925)],
)
def test_default_markup_rounds_half_up(offer_id, fen_price):
    # Lowest cost × 1.5, rounded half up: 23.9 (the dropship price) gives 35.85, 0.29 gives 0.435 → 0.44,
    # and 19.5 gives 29.25.
    mapped = bundled_rule("douyin", "product.get").apply(raw_sample("product.get", offer_id))

    assert min(douyin_prices(mapped).values()) == fen_price
