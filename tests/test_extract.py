"""Tests of the extraction profiles: saved 1688 responses in, validated offer records out."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest

from etl import jsonio
from etl.errors import OfferError, RuleError
from etl.extract import Profile, load_profile, offer_schema

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PROFILES_DIR = ROOT / "rules" / "profiles"
DATA = Path(__file__).resolve().parent / "data" / "test_extract"
SHAPES = ("product.get", "item_get")

# Offers in samples/ that must fail, per response shape: (message key, step, field).
FAILING = {
    "655718290347": {
        "product.get": ("offer.offline", "extract", "status"),
        "item_get": ("offer.offline_source", "source", None),
    },
    "681124097753": {
        "product.get": ("offer.offline", "extract", "status"),
        "item_get": ("offer.offline_source", "source", None),
    },
    "703386614920": {
        "product.get": ("source.business_error", "source", None),
        "item_get": ("source.business_error", "source", None),
    },
}

SAMPLE_CASES = [(shape, path) for shape in SHAPES for path in sorted((SAMPLES / shape).glob("*.json"))]
OK_CASES = [(shape, path) for shape, path in SAMPLE_CASES if path.stem not in FAILING]


@lru_cache(maxsize=None)
def profile(shape: str) -> Profile:
    return load_profile(PROFILES_DIR / f"{shape}.yaml")


def raw_sample(shape: str, offer_id: str) -> dict:
    return jsonio.loads((SAMPLES / shape / f"{offer_id}.json").read_text(encoding="utf-8"))


def extract(shape: str, offer_id: str) -> dict:
    return profile(shape).extract(raw_sample(shape, offer_id), offer_id)


def extract_error(shape: str, raw, offer_id: str | None = None) -> OfferError:
    with pytest.raises(OfferError) as caught:
        profile(shape).extract(raw, offer_id)
    return caught.value


def floats_in(value, path: str = "") -> list[str]:
    """Return the paths of every float inside ``value``."""
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in floats_in(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in floats_in(item, f"{path}[{index}]")]
    return []


# --- every sample ---------------------------------------------------------------------------


def test_every_sample_is_classified():
    assert len(SAMPLE_CASES) == 24
    assert len(OK_CASES) == 18


@pytest.mark.parametrize(("shape", "path"), OK_CASES, ids=lambda case: getattr(case, "stem", case))
def test_ok_sample_gives_valid_record(shape, path):
    record = extract(shape, path.stem)

    assert record["offer_id"] == path.stem
    assert record["status"] == "published"
    assert list(jsonschema.Draft202012Validator(offer_schema()).iter_errors(record)) == []
    assert floats_in(record) == []


@pytest.mark.parametrize(("shape", "path"), OK_CASES, ids=lambda case: getattr(case, "stem", case))
def test_money_fields_are_decimal(shape, path):
    record = extract(shape, path.stem)

    amounts = [tier["price"] for tier in record["price_tiers"]]
    amounts += [sku[key] for sku in record["skus"] for key in ("price", "consign_price") if sku.get(key) is not None]
    amounts += [record[key] for key in ("consign_price", "weight_kg") if record.get(key) is not None]

    assert amounts
    assert all(type(amount) is Decimal for amount in amounts)


@pytest.mark.parametrize(
    ("shape", "offer_id"), [(shape, offer_id) for offer_id in FAILING for shape in SHAPES]
)
def test_failing_sample_error(shape, offer_id):
    key, step, field = FAILING[offer_id][shape]

    error = extract_error(shape, raw_sample(shape, offer_id), offer_id)

    assert (error.key, error.step, error.field, error.offer_id) == (key, step, field, offer_id)


def test_offline_params():
    error = extract_error("product.get", raw_sample("product.get", "655718290347"), "655718290347")

    assert error.params == {"status": "expired"}
    assert error.render("zh") == "商品不在售（状态 expired，不是 published），没有处理"
    assert error.render("en") == "offer not on sale (status expired, not published); not mapped"


@pytest.mark.parametrize(
    ("shape", "offer_id", "code", "message"),
    [
        ("item_get", "655718290347", "2000", "商品已下架"),
        ("item_get", "681124097753", "2000", "商品不存在或已删除"),
        ("item_get", "703386614920", "4004", "获取商品数据失败：该商品暂不支持接口查询"),
        ("product.get", "703386614920", "isv.product-not-found", "商品不存在或不属于当前授权账号：703386614920"),
    ],
)
def test_business_error_params(shape, offer_id, code, message):
    error = extract_error(shape, raw_sample(shape, offer_id), offer_id)

    assert error.params == {"code": code, "message": message}


def test_business_error_text():
    error = extract_error("item_get", raw_sample("item_get", "703386614920"))

    assert error.render("zh").startswith("1688 接口返回业务错误 4004：获取商品数据失败：该商品暂不支持接口查询。请在 1688 上确认")
    assert error.render("en").startswith("the 1688 API returned business error 4004: 获取商品数据失败：该商品暂不支持接口查询. Check on 1688")


def test_reseller_offline_text():
    error = extract_error("item_get", raw_sample("item_get", "655718290347"))

    assert error.key == "offer.offline_source"
    assert error.render("zh") == "商品已下架或已删除（接口返回 2000：商品已下架），跳过"


@pytest.mark.parametrize("offer_id", sorted({path.stem for _, path in OK_CASES}))
def test_both_shapes_agree(offer_id):
    first = extract("product.get", offer_id)
    second = extract("item_get", offer_id)

    for key in ("offer_id", "title", "category_id", "images", "min_order_quantity", "stock", "unit", "attributes"):
        assert first[key] == second[key], key
    assert [sku["sku_id"] for sku in first["skus"]] == [sku["sku_id"] for sku in second["skus"]]
    assert [sku["specs"] for sku in first["skus"]] == [sku["specs"] for sku in second["skus"]]
    assert [sku["stock"] for sku in first["skus"]] == [sku["stock"] for sku in second["skus"]]
    assert first["price_tiers"] == second["price_tiers"]


# --- exact values ---------------------------------------------------------------------------


def test_product_get_prices_keep_source_digits():
    record = extract("product.get", "672839104523")

    assert [str(sku["price"]) for sku in record["skus"]] == ["19.9", "19.9", "21.5", "19.9", "19.9", "21.5", "19.9", "19.9"]
    assert str(record["skus"][0]["consign_price"]) == "23.9"
    assert record["price_tiers"] == [{"min_quantity": 2, "price": Decimal("19.9")}]


def test_item_get_prices_keep_source_text():
    record = extract("item_get", "672839104523")

    assert [str(sku["price"]) for sku in record["skus"][:3]] == ["19.90", "19.90", "21.50"]


@pytest.mark.parametrize("shape", SHAPES)
def test_one_sku_offer(shape):
    record = extract(shape, "698310457726")

    assert len(record["skus"]) == 1
    assert record["skus"][0]["price"] == Decimal("17.08")
    assert str(record["skus"][0]["price"]) == "17.08"
    assert {"name": "货号", "value": "0123"} in record["attributes"]
    assert record["skus"][0]["specs"][0]["name"] == "颜色"
    assert record["skus"][0]["specs"][0]["value"] == "曜石黑"


def test_product_get_code_keeps_leading_zero():
    record = extract("product.get", "698310457726")

    assert record["skus"][0]["code"] == "0123"
    assert record["skus"][0]["consign_price"] == Decimal("19.5")
    assert record["consign_price"] == Decimal("19.5")
    assert str(record["weight_kg"]) == "0.38"


@pytest.mark.parametrize("shape", SHAPES)
def test_offer_without_skus(shape):
    record = extract(shape, "715204938861")

    assert record["skus"] == []
    assert [(tier["min_quantity"], str(tier["price"]).rstrip("0")) for tier in record["price_tiers"]] == [
        (100, "0.29"),
        (1000, "0.27"),
        (5000, "0.25"),
    ]
    assert record["min_order_quantity"] == 100


def test_item_get_ladder_keeps_text():
    record = extract("item_get", "715204938861")

    assert [str(tier["price"]) for tier in record["price_tiers"]] == ["0.29", "0.27", "0.25"]


def test_item_get_specs_and_images():
    record = extract("item_get", "672839104523")

    first = record["skus"][0]
    assert [(spec["name"], spec["value"]) for spec in first["specs"]] == [("颜色", "白色"), ("尺码", "M")]
    assert first["specs"][0]["image"] == (
        "https://cbu01.alicdn.com/img/ibank/O1CN01DeM1zHnqYJO6zWnrec26_!!2212345678901-0-cib.jpg"
    )
    assert first["specs"][1]["image"] is None


def test_product_get_relative_images_made_absolute():
    record = extract("product.get", "672839104523")

    assert record["images"][0] == "https://cbu01.alicdn.com/img/ibank/O1CN011HD7s2xhChrKFqpnzucq_!!2212345678901-0-cib.jpg"
    assert all(image.startswith("https://cbu01.alicdn.com/img/ibank/") for image in record["images"])


def test_template_text_in_title_kept_verbatim():
    record = extract("product.get", "684092175530")

    assert "{{ 7*7 }}" in record["title"]
    assert "{% raw %}" in record["title"]
    assert {"name": "货号", "value": "{{ sku }}"} in record["attributes"]


# --- SKU order and per-SKU prices ------------------------------------------------------------


@pytest.mark.parametrize(("shape", "path"), OK_CASES, ids=lambda case: getattr(case, "stem", case))
def test_sku_order_and_prices_follow_source(shape, path):
    raw = raw_sample(shape, path.stem)
    record = extract(shape, path.stem)

    if shape == "product.get":
        source = raw["productInfo"].get("skuInfos") or []
        ids = [str(sku["skuId"]) for sku in source]
        prices = [None if sku.get("price") is None else Decimal(str(sku["price"])) for sku in source]
    else:
        source = raw["item"]["skus"]["sku"] if raw["item"].get("skus") else []
        ids = [sku["sku_id"] for sku in source]
        prices = [Decimal(sku["price"]) if sku.get("price") else None for sku in source]

    assert [sku["sku_id"] for sku in record["skus"]] == ids
    assert [sku["price"] for sku in record["skus"]] == prices


def test_skus_without_price_get_none():
    # The SKUs of offer 736620459081 carry only a dropship price, and none takes another SKU's price.
    record = extract("product.get", "736620459081")

    assert [sku["price"] for sku in record["skus"]] == [None] * 6
    assert [str(sku["consign_price"]) for sku in record["skus"]] == ["14.8", "16.8", "14.8", "16.8", "14.8", "16.8"]


@pytest.mark.parametrize(
    ("shape", "remove"),
    [
        ("product.get", lambda raw: [raw["productInfo"]["skuInfos"][1].pop(key) for key in ("price", "consignPrice")]),
        ("item_get", lambda raw: raw["item"]["skus"]["sku"][1].pop("price")),
    ],
)
def test_missing_sku_price_is_none(shape, remove):
    raw = raw_sample(shape, "672839104523")
    remove(raw)

    record = profile(shape).extract(raw)

    assert record["skus"][1]["price"] is None
    assert record["skus"][1].get("consign_price") is None
    assert record["skus"][0]["price"] == Decimal("19.9")
    assert record["skus"][2]["price"] == Decimal("21.5")


# --- bad prices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "value", "key"),
    [
        ("product.get", -1, "money.negative"),
        ("product.get", Decimal("-0.5"), "money.negative"),
        ("product.get", "abc", "money.invalid"),
        ("product.get", True, "money.invalid"),
        ("product.get", "NaN", "money.invalid"),
        ("item_get", "-2.00", "money.negative"),
        ("item_get", "十元", "money.invalid"),
        ("item_get", "1e3", "money.invalid"),
    ],
)
def test_bad_sku_price_names_sku(shape, value, key):
    raw = raw_sample(shape, "672839104523")
    if shape == "product.get":
        raw["productInfo"]["skuInfos"][2]["price"] = value
    else:
        raw["item"]["skus"]["sku"][2]["price"] = value

    error = extract_error(shape, raw, "672839104523")

    assert error.key == key
    assert error.step == "extract"
    assert error.field == "skus[2].price"
    assert error.sku_index == 2
    assert error.offer_id == "672839104523"
    assert error.params == {"value": value}


def test_negative_price_text():
    raw = raw_sample("item_get", "672839104523")
    raw["item"]["skus"]["sku"][2]["price"] = "-2.00"

    error = extract_error("item_get", raw)

    assert error.render("zh") == "价格为负数：'-2.00'。价格不能小于 0；请检查该商品的来源数据。"
    assert error.render("en") == "negative price '-2.00': a price cannot be below 0; check the offer's source data."


def test_bad_tier_price_no_sku_index():
    raw = raw_sample("product.get", "715204938861")
    raw["productInfo"]["saleInfo"]["priceRanges"][1]["price"] = "免费"

    error = extract_error("product.get", raw)

    assert (error.key, error.field, error.sku_index) == ("money.invalid", "price_tiers[1].price", None)


def test_fractional_stock_rejected():
    raw = raw_sample("product.get", "672839104523")
    raw["productInfo"]["skuInfos"][4]["amountOnSale"] = Decimal("2.5")

    error = extract_error("product.get", raw)

    assert (error.key, error.field, error.params) == ("extract.not_integer", "skus[4].stock", {"value": Decimal("2.5")})


# --- wrong response ---------------------------------------------------------------------------


def test_product_get_body_mismatches_item_get():
    error = extract_error("item_get", raw_sample("product.get", "672839104523"), "672839104523")

    assert (error.key, error.step) == ("extract.shape_mismatch", "extract")
    assert error.params == {"profile": "item_get", "match": "item.num_iid"}
    assert error.render("zh") == (
        "返回内容不符合提取配置 item_get（item.num_iid 为空）；若是另一种接口的返回，请用 --profile 选择对应配置"
    )
    assert error.render("en") == (
        "the response does not fit extraction profile item_get (item.num_iid is empty); "
        "if it comes from another API, choose its profile with --profile"
    )


def test_item_get_body_mismatches_product_get():
    error = extract_error("product.get", raw_sample("item_get", "672839104523"), "672839104523")

    assert (error.key, error.params) == ("extract.shape_mismatch", {"profile": "product.get", "match": "productInfo"})


def test_another_offers_file_mismatches():
    error = extract_error("product.get", raw_sample("product.get", "672839104523"), "698310457726")

    assert (error.key, error.step, error.field) == ("extract.id_mismatch", "extract", "offer_id")
    assert error.offer_id == "698310457726"
    assert error.params == {"found": "672839104523"}


@pytest.mark.parametrize(("raw", "found"), [([1, 2], "list"), ("text", "str"), (None, "NoneType")])
def test_non_object_response(raw, found):
    error = extract_error("product.get", raw)

    assert (error.key, error.params) == ("extract.not_object", {"found": found})


def test_invalid_record_names_field():
    raw = raw_sample("product.get", "672839104523")
    raw["productInfo"]["subject"] = ""

    error = extract_error("product.get", raw)

    assert (error.key, error.field, error.params["count"]) == ("extract.record_invalid", "title", 1)


# --- profile files ---------------------------------------------------------------------------


def test_bundled_profiles_load():
    assert profile("product.get").name == "product.get"
    assert profile("item_get").name == "item_get"


def test_broken_profile_reports_every_problem():
    with pytest.raises(RuleError) as caught:
        load_profile(DATA / "broken_profile.yaml")

    found = [(p.key, p.field, p.position.line) for p in caught.value.problems]
    assert found == [
        ("profile.unknown_key", "matches", 3),
        ("profile.bad_jmespath", "record.title", 6),
        ("profile.unknown_key", "record.titel", 7),
        ("profile.required_field", "record", 5),
    ]
    assert caught.value.problems[2].params["suggestion"] == "title"


# --- reference responses -----------------------------------------------------------------------


def test_reference_onebound_item_get(reference_samples):
    raw = jsonio.loads((reference_samples / "1688_onebound_item_get_639741530227.json").read_text(encoding="utf-8"))

    record = profile("item_get").extract(raw, "639741530227")

    assert record["offer_id"] == "639741530227"
    assert record["category_id"] == "122232007"
    assert record["stock"] == 55876
    assert len(record["skus"]) == 56
    assert all(sku["price"] == Decimal("39.00") for sku in record["skus"])
    assert str(record["skus"][0]["price"]) == "39.00"
    assert [(spec["name"], spec["value"]) for spec in record["skus"][0]["specs"]] == [("색깔", "하얀"), ("크기", "S")]
    assert list(jsonschema.Draft202012Validator(offer_schema()).iter_errors(record)) == []
    assert floats_in(record) == []


def test_reference_doc_example(reference_samples):
    # The official documentation's example response uses placeholder values, among them
    # saleInfo.amountOnSale = 1.23. Offer stock is a whole number of pieces, so the profile
    # rejects the example at that field instead of truncating 1.23 to 1.
    raw = jsonio.loads((reference_samples / "1688_alibaba_product_get_doc_example.json").read_text(encoding="utf-8"))

    error = extract_error("product.get", raw)

    assert (error.key, error.step, error.field, error.sku_index) == ("extract.not_integer", "extract", "stock", None)
    assert error.params == {"value": Decimal("1.23")}


def test_reference_doc_example_next_placeholder(reference_samples):
    # With the stock made whole, the next placeholders fail. The example's only SKU has an
    # empty attribute name and value, which the offer schema rejects for that SKU.
    raw = jsonio.loads((reference_samples / "1688_alibaba_product_get_doc_example.json").read_text(encoding="utf-8"))
    raw["productInfo"]["saleInfo"]["amountOnSale"] = 123

    error = extract_error("product.get", raw)

    assert (error.key, error.field, error.sku_index) == ("extract.record_invalid", "skus[0].specs[0].name", 0)
    assert error.params["count"] == 2
    assert [(item.field, item.key) for item in error.violations] == [
        ("skus[0].specs[0].name", "validate.minLength"),
        ("skus[0].specs[0].value", "validate.minLength"),
    ]
    assert error.render("zh").endswith("skus[0].specs[0].name 太短：0 个字符，至少 1 个；skus[0].specs[0].value 太短：0 个字符，至少 1 个")
