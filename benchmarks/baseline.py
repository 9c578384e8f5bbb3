"""Hand-written mappers from a raw ``alibaba.product.get`` response to the draft payloads.

This is the code a programmer would write instead of a rule file, for the benchmark's
comparison: plain dict access, Decimal arithmetic and the project's filter functions
(``etl.filters``), which are the library either approach would share. It uses no rule engine,
no JMESPath, no Jinja and no JSON Schema validation, so it checks only what a careful
hand-written mapper checks inline (status, missing cost, the filters' own checks).

Both functions hard-code the default vars of ``rules/douyin.yaml`` and ``rules/taobao.yaml``
and the limits of ``targets/*/target.yaml``. The benchmark compares every payload with the
engine's before timing, so a changed rule file shows up as a difference, not as a wrong
figure. Money is Decimal yuan except where a name says fen; rounding is half up to the fen,
as ``etl.filters.money`` does it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from etl import jsonio
from etl.errors import DataError
from etl.filters import html, skus, tables, text

from benchmarks import ROOT

CDN = "https://cbu01.alicdn.com/"
FEN = Decimal("0.01")

# Default vars of both rule files: retail = cost * MARKUP + PRICE_ADD, in yuan.
MARKUP = Decimal("1.5")
PRICE_ADD = Decimal("0")

TITLE_MAX_WIDTH = 60

# Douyin: vars and target limits.
DOUYIN_MAIN_IMAGES_MAX = 5
DOUYIN_DESCRIPTION_IMAGES_MAX = 50 - 5 - 10  # images_total_max - main_images_max - 10, as the rule writes it
DOUYIN_SPEC_ROWS_MAX = 600
DOUYIN_REDUCE_TYPE = 2
DOUYIN_FREIGHT_ID = 0
DOUYIN_DELIVERY_DELAY_DAY = 2
DEFAULT_SPEC_NAME = "规格"
DEFAULT_SPEC_VALUE = "默认"

# Taobao vars.
TAOBAO_STUFF_STATUS = "new"
TAOBAO_LOCATION_STATE = "浙江"
TAOBAO_LOCATION_CITY = "杭州"


@lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """Load the rule files' tables once, as a hand-written mapper would at start-up."""
    folder = ROOT / "rules" / "tables"
    return {
        "banned_words": text.load_word_list(folder / "banned-words.txt"),
        "douyin_category": tables.load_table(folder / "category-douyin.csv").rows,
        "taobao_category": tables.load_table(folder / "category-taobao.csv").rows,
        "sale_props": tables.load_table(folder / "taobao-sale-props.csv").rows,
    }


def douyin_payload(raw: dict) -> dict:
    """Build the Douyin Shop ``product.addV2`` draft (prices in fen) from one raw response.

    Raises ``DataError`` where the engine reports the offer as failed. When a filter raises it,
    the message key is the engine's. Raises ``ValueError`` for an offer that is not on sale.
    """
    info = _product_info(raw)
    sale = info.get("saleInfo") or {}
    images = _main_images(info)
    rows = _sku_rows(info, sale, in_fen=True)
    detail_images = html.html_images(info.get("description"))
    weight = _weight(info)

    payload: dict[str, Any] = {
        "outer_product_id": str(info["productID"]),
        "product_type": 0,
        "category_leaf_id": _category(info, "douyin_category"),
        "name": _title(info),
        "pic": "|".join(images[:DOUYIN_MAIN_IMAGES_MAX]),
        "description": "|".join((detail_images or images)[:DOUYIN_DESCRIPTION_IMAGES_MAX]),
        "reduce_type": DOUYIN_REDUCE_TYPE,
        "freight_id": DOUYIN_FREIGHT_ID,
        "commit": False,
    }
    if weight is not None:
        payload["weight"] = weight
    payload["weight_unit"] = 0
    payload["delivery_delay_day"] = DOUYIN_DELIVERY_DELAY_DAY
    payload["specs"] = skus.douyin_specs(rows, DEFAULT_SPEC_NAME, DEFAULT_SPEC_VALUE)

    spec_pic = skus.douyin_spec_pic(rows)
    if spec_pic:
        payload["spec_pic"] = spec_pic

    spec_prices = skus.douyin_spec_prices(rows, DEFAULT_SPEC_VALUE, DOUYIN_SPEC_ROWS_MAX)
    payload["spec_prices"] = jsonio.dumps(spec_prices)
    return payload


def taobao_payload(raw: dict) -> dict:
    """Build the Taobao ``taobao.item.add`` payload (prices as yuan text) from one raw response.

    Raises like :func:`douyin_payload`; Taobao's byte limits on the SKU fields raise
    ``sku.taobao_too_long`` from ``etl.filters.skus.taobao_skus``.
    """
    info = _product_info(raw)
    sale = info.get("saleInfo") or {}
    images = _main_images(info)
    rows = _sku_rows(info, sale, in_fen=False)
    sku_fields = skus.taobao_skus(rows, _tables()["sale_props"])
    weight = _weight(info)

    payload: dict[str, Any] = {
        "outer_id": str(info["productID"]),
        "approve_status": "instock",
        "type": "fixed",
        "stuff_status": TAOBAO_STUFF_STATUS,
        "title": _title(info),
        "desc": _taobao_description(info.get("description"), images),
        "cid": _category(info, "taobao_category"),
        "location.state": TAOBAO_LOCATION_STATE,
        "location.city": TAOBAO_LOCATION_CITY,
        # The item price must lie within the SKU price range; the lowest SKU price does.
        "price": f"{min(row['price'] for row in rows):.2f}",
        "num": sum(row["stock"] for row in rows),
    }
    if images:
        payload["pic_path"] = images[0]
    if weight is not None:
        payload["item_weight"] = str(weight)
    if info.get("skuInfos"):
        payload.update(sku_fields)
    return payload


# -- reading the raw response ---------------------------------------------------------------


def _product_info(raw: dict) -> dict:
    info = raw["productInfo"]
    if str(info.get("status", "")).strip().lower() != "published":
        raise ValueError(f"offer {info.get('productID')} is not on sale: status {info.get('status')!r}")
    return info


def _main_images(info: dict) -> list[str]:
    paths = (info.get("image") or {}).get("images") or []
    return [url for url in map(_absolute_url, paths) if url is not None]


def _absolute_url(path: str | None) -> str | None:
    """Resolve an image path against the 1688 CDN; None for a missing or blank path."""
    if path is None or not path.strip():
        return None
    path = path.strip()
    return "https:" + path if path.startswith("//") else urljoin(CDN, path)


def _weight(info: dict) -> Decimal | None:
    weight = (info.get("shippingInfo") or {}).get("unitWeight")
    return None if weight is None else Decimal(weight)


def _title(info: dict) -> str:
    cleaned = text.clean_title(info["subject"], _tables()["banned_words"])
    return text.truncate_width(cleaned, TITLE_MAX_WIDTH)


def _category(info: dict, table: str) -> int:
    key = str(info["categoryID"])
    try:
        return int(_tables()[table][key])
    except KeyError:
        raise DataError("table.unmapped", lookup_key=key) from None


def _taobao_description(detail: str | None, images: list[str]) -> str:
    """Return the cleaned detail HTML, or the main images as HTML when it shows nothing."""
    cleaned = html.clean_html(detail)
    if html.html_text(cleaned).strip() or html.html_images(cleaned):
        return cleaned
    return html.images_html(images)


# -- SKU rows --------------------------------------------------------------------------------


def _sku_rows(info: dict, sale: dict, in_fen: bool) -> list[dict[str, Any]]:
    """Build one row per SKU in the shape the ``etl.filters.skus`` builders take.

    An offer without SKUs gets one row without specs, as the rule files build it.
    """
    sku_infos = info.get("skuInfos") or []
    if not sku_infos:
        return [{"sku_id": "", "specs": [], "price": _retail(_cost(None, sale), in_fen), "stock": sale.get("amountOnSale"), "code": None}]

    return [
        {
            "sku_id": str(sku["skuId"]),
            "specs": [_spec(attribute) for attribute in sku.get("attributes") or []],
            "price": _retail(_cost(sku, sale), in_fen),
            "stock": sku.get("amountOnSale"),
            "code": sku.get("cargoNumber") or sku.get("skuCode") or None,
        }
        for sku in sku_infos
    ]


def _spec(attribute: dict) -> dict[str, Any]:
    return {
        "name": attribute.get("attributeDisplayName") or attribute.get("attributeName"),
        "value": attribute.get("attributeValue") or attribute.get("customValueName"),
        "image": _absolute_url(attribute.get("skuImageUrl")),
    }


def _cost(sku: dict | None, sale: dict) -> Decimal:
    """Return the cost in yuan: SKU dropship price, SKU price, offer dropship price, then the price tier for the minimum order."""
    if sku is not None:
        if sku.get("consignPrice") is not None and sku["consignPrice"] > 0:
            return Decimal(sku["consignPrice"])
        if sku.get("price") is not None:
            return Decimal(sku["price"])

    if sale.get("consignPrice") is not None and sale["consignPrice"] > 0:
        return Decimal(sale["consignPrice"])

    tiers = sale.get("priceRanges") or []
    if not tiers:
        raise DataError("money.no_cost", sku_id=str(sku["skuId"]) if sku else "-")
    return _tier_price(tiers, sale.get("minOrderQuantity") or 1)


def _tier_price(tiers: list[dict], quantity: int) -> Decimal:
    """Return the unit price of the tier with the largest start quantity <= ``quantity`` (the smallest tier below all)."""
    reached = [tier["startQuantity"] for tier in tiers if tier["startQuantity"] <= quantity]
    chosen = max(reached) if reached else min(tier["startQuantity"] for tier in tiers)
    return min(Decimal(tier["price"]) for tier in tiers if tier["startQuantity"] == chosen)


def _retail(cost: Decimal, in_fen: bool) -> Decimal | int:
    """Return cost * MARKUP + PRICE_ADD rounded half up to the fen: Decimal yuan, or int fen when ``in_fen``."""
    price = (cost * MARKUP + PRICE_ADD).quantize(FEN, rounding=ROUND_HALF_UP)
    return int(price * 100) if in_fen else price
