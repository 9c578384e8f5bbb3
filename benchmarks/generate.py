"""Generate synthetic 1688 offers in the official ``alibaba.product.get`` response shape.

Offer ``index`` depends only on ``(seed, index)``, so a run of 2,000 offers is the first 2,000
offers of a run of 10,000, and every run with the same seed gets the same data. The shape
follows ``samples/product.get``: ``productInfo`` with ``skuInfos``, ``saleInfo.priceRanges`` and
``shippingInfo``. Prices are JSON numbers in yuan with 1 or 2 decimals, and image paths are
relative to the 1688 CDN.

What varies, and why:

- SKU counts from 1 to 200, most of them small, with a long tail. The spec values of 1 to 3
  dimensions are chosen so their Cartesian product (the rows Douyin needs) stays at or below
  600, the Douyin target's ``spec_rows_max``. Combinations are sampled, so large offers have
  gaps that Douyin fills with placeholder rows.
- About 15% of offers have no SKUs and 1 to 3 price tiers instead.
- Some offers and SKUs carry a dropship price (``consignPrice``); some SKUs carry only that.
- Titles of 2 to 40 pieces mix Chinese, ASCII, emoji (ZWJ sequences and flags too),
  full-width letters, zero-width and ideographic spaces and the banned words of
  ``rules/tables/banned-words.txt``, so cleaning and width truncation both do work.
- Category ids come from ``rules/tables/category-douyin.csv``, whose ids the Taobao table maps
  too, so no offer fails for its category.
- Detail HTML has 0 to 6 images, some behind lazy-load attributes, plus text, tables, scripts
  and links; a few offers have no description or a text-only one.

Stock stays below what Taobao's ``num`` allows (999,999) and the first spec dimension has at
most 24 values, so its images fit Douyin's 50-image total beside 5 main and 6 detail images.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from etl import jsonio
from etl.filters.tables import load_table
from etl.filters.text import load_word_list

from benchmarks import ROOT

DEFAULT_SEED = 20240601

FIRST_OFFER_ID = 600000000000
OFFER_ID_STEP = 7919  # a prime, so ids look scattered but never collide

CDN_PLACEHOLDER = "https://img.alicdn.com/tps/i4/TB1placeholder1x1.gif"
CDN = "https://cbu01.alicdn.com/"

MAX_COMBINATIONS = 600
MAX_FIRST_DIMENSION_VALUES = 24
MAX_SKU_STOCK = 2000
MAX_OFFER_STOCK = 200000

# (upper SKU count, cumulative share of SKU offers): most offers are small, a few are large.
SKU_COUNT_BANDS = ((1, 0.12), (6, 0.55), (16, 0.80), (40, 0.92), (100, 0.98), (200, 1.0))
SHARE_WITHOUT_SKUS = 0.15

PRODUCT_WORDS = {
    "T恤": ["纯棉短袖T恤", "宽松圆领打底衫", "重磅纯色体恤", "男女同款上衣", "ins潮牌半袖", "情侣装"],
    "POLO衫": ["商务POLO衫", "翻领短袖", "珠地棉工作服", "企业团体服", "刺绣广告衫"],
    "手机壳": ["iPhone15手机壳", "硅胶防摔保护套", "透明气囊软壳", "磁吸保护壳", "卡通挂绳壳"],
    "收纳盒": ["塑料收纳盒", "桌面整理盒", "带盖储物箱", "抽屉式收纳柜", "分格零件盒"],
    "保温杯": ["316不锈钢保温杯", "大容量水杯", "便携泡茶杯", "商务男女杯", "儿童吸管杯"],
}
MODIFIERS = ["2024新款", "夏季", "加厚", "批发", "代发", "工厂直销", "一件代发", "爆款", "网红", "韩版", "简约",
             "北欧风", "大容量", "便携", "高颜值", "ins", "LOGO定制", "oversize", "100%", "A类", "3C认证"]
EMOJI = ["🔥", "✨", "👍🏻", "👨\u200d👩\u200d👧", "🇨🇳", "❤️", "💯", "⭐", "★", "1️⃣"]
FULL_WIDTH = ["ＰＯＬＯ", "ＬＯＧＯ", "ＩＮＳ", "Ｔ恤", "２０２４", "ＸＬ"]
ODD_PIECES = ["{{ 7*7 }}", "&amp;", "【包邮】", "（现货）", "/", "+"]
SEPARATORS = [" ", " ", "", "", "\u3000", "\u200b"]

SPEC_NAMES = [
    ["颜色", "颜色分类", "款式"],
    ["尺码", "尺寸", "规格", "容量"],
    ["套餐", "材质", "型号"],
]
SPEC_VALUES = {
    0: ["白色", "黑色", "雾霾蓝", "米杏色", "酒红", "藏青", "浅灰", "卡其", "奶油黄", "牛油果绿", "香芋紫", "焦糖色",
        "珍珠白", "曜石黑", "樱花粉", "天空蓝", "墨绿", "砖红", "燕麦色", "咖啡", "姜黄", "薄荷绿", "雾粉", "银灰",
        "白色（加绒）", "黑色 升级款"],
    1: ["S", "M", "L", "XL", "2XL", "3XL", "4XL", "5XL", "均码", "小号", "中号", "大号", "特大号", "500ml", "750ml",
        "1000ml", "iPhone13", "iPhone14", "iPhone15", "iPhone15 Pro", "iPhone15 Pro Max", "36码", "37码", "38码",
        "39码", "40码", "41码", "42码", "43码", "44码", "S/M", "L/XL"],
    2: ["单件", "两件装", "三件装", "带茶隔", "不带茶隔", "标准款", "升级款", "礼盒装", "PP", "ABS", "硅胶", "TPU"],
}
UNITS = ["件", "个", "套", "只"]
ADDRESSES = ["浙江省 金华市", "广东省 广州市", "广东省 深圳市", "江苏省 苏州市", "福建省 泉州市"]
ATTRIBUTES = [("品牌", "其他"), ("货号", "A100"), ("材质", "PP"), ("面料名称", "棉"), ("适用季节", "夏季"),
              ("风格", "简约"), ("产地", "义乌")]
DETAIL_TEXTS = ["面料：100%精梳棉&nbsp;&nbsp;克重：200g<br />洗涤：冷水手洗，不可漂白", "材质：全新PP料，无异味。",
                "温馨提示：不同显示器颜色略有差异", "支持一件代发，48小时内发货。"]


def offer_id(index: int) -> str:
    """Return the offer id of generated offer ``index``, 12 digits as text."""
    return str(FIRST_OFFER_ID + index * OFFER_ID_STEP)


def _categories() -> list[tuple[int, str]]:
    table = load_table(ROOT / "rules" / "tables" / "category-douyin.csv")
    names = _category_names(ROOT / "rules" / "tables" / "category-douyin.csv")
    return [(int(key), names.get(key, "")) for key in table.rows]


def _category_names(path: Path) -> dict[str, str]:
    """Read the ``note`` column (the category's Chinese name) that load_table does not keep."""
    names = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]:
        cells = line.split(",")
        if len(cells) >= 3:
            names[cells[0].strip()] = cells[2].strip()
    return names


class OfferGenerator:
    """Build offer ``index`` for a seed; tables are read once per generator."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        self.categories = _categories()
        self.banned_words = list(load_word_list(ROOT / "rules" / "tables" / "banned-words.txt"))

    def offer(self, index: int) -> dict[str, Any]:
        """Return the raw response of offer ``index``, with Decimal prices as jsonio would parse them."""
        rng = random.Random(f"{self.seed}:{index}")
        category_id, category_name = rng.choice(self.categories)
        has_skus = rng.random() >= SHARE_WITHOUT_SKUS

        sale_info = _sale_info(rng, has_skus)
        info: dict[str, Any] = {
            "productID": int(offer_id(index)),
            "productType": "wholesale",
            "categoryID": category_id,
            "categoryName": category_name,
            "attributes": _attributes(rng),
            "groupID": [],
            "status": "published",
            "subject": self._title(rng, category_name),
        }

        description = _description(rng)
        if description is not None:
            info["description"] = description

        info.update({
            "language": "CHINESE",
            "periodOfValidity": 365,
            "bizType": 1,
            "pictureAuth": False,
            "image": {"images": [_image_path(rng) for _ in range(rng.randint(1, 8))], "isWatermark": False,
                      "isWatermarkFrame": False, "watermarkPosition": ""},
        })

        if has_skus:
            info["skuInfos"] = _sku_infos(rng, _sku_count(rng), sale_info)
            sale_info["amountOnSale"] = sum(sku["amountOnSale"] for sku in info["skuInfos"])

        info["saleInfo"] = sale_info
        info["shippingInfo"] = _shipping_info(rng)

        return {
            "productInfo": info,
            "bizGroupInfos": [],
            "createTime": f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}151858000+0800",
            "lastUpdateTime": "20250817150455000+0800",
        }

    def _title(self, rng: random.Random, category_name: str) -> str:
        """Join 2 to 40 pieces. About 37% of titles are still wider than 60 display columns after cleaning."""
        words = PRODUCT_WORDS.get(category_name) or [category_name or "商品"]
        pieces = [rng.choice(words), rng.choice(words)]
        for _ in range(rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 20, 38])):
            roll = rng.random()
            if roll < 0.45:
                pieces.append(rng.choice(MODIFIERS))
            elif roll < 0.60:
                pieces.append(rng.choice(words))
            elif roll < 0.72:
                pieces.append(rng.choice(self.banned_words))
            elif roll < 0.84:
                pieces.append(rng.choice(EMOJI))
            elif roll < 0.94:
                pieces.append(rng.choice(FULL_WIDTH))
            else:
                pieces.append(rng.choice(ODD_PIECES))

        rng.shuffle(pieces)
        return "".join(piece + rng.choice(SEPARATORS) for piece in pieces).strip()


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    """Return a random price in yuan with 1 or 2 decimals, such as 19.9, 20.0 or 17.08."""
    fen = rng.randint(round(low * 100), round(high * 100))
    if rng.random() < 0.4:
        fen = fen // 10 * 10 or 10
    return _yuan(fen)


def _yuan(fen: int) -> Decimal:
    """Write fen as yuan the way a JSON encoder of doubles does: 20.0, 19.9, 17.08."""
    if fen % 10 == 0:
        return Decimal(fen // 10).scaleb(-1)
    return Decimal(fen).scaleb(-2)


def _image_path(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))
    return f"img/ibank/O1CN01{letters}_!!{rng.randint(10 ** 12, 10 ** 13 - 1)}-0-cib.jpg"


def _attributes(rng: random.Random) -> list[dict[str, Any]]:
    chosen = rng.sample(ATTRIBUTES, rng.randint(1, 5))
    return [
        {"attributeID": rng.randint(100, 10 ** 9), "attributeName": name, "valueID": rng.randint(10 ** 6, 10 ** 8),
         "value": value, "isCustom": rng.random() < 0.3}
        for name, value in chosen
    ]


def _sale_info(rng: random.Random, has_skus: bool) -> dict[str, Any]:
    minimum = rng.choice([1, 1, 2, 2, 3, 5, 10, 100])
    base = _price(rng, 0.2, 180)
    tiers = [{"startQuantity": minimum, "price": base}]
    if not has_skus:
        for start in sorted(rng.sample([20, 50, 200, 1000, 5000], rng.randint(0, 2))):
            if start > minimum:
                tiers.append({"startQuantity": start, "price": max(_yuan(int(tiers[-1]["price"] * 90)), Decimal("0.1"))})

    sale = {
        "supportOnlineTrade": True, "mixWholeSale": True, "saleType": "normal", "priceAuth": False,
        "priceRanges": tiers,
        "amountOnSale": rng.randint(0, MAX_OFFER_STOCK),
        "unit": rng.choice(UNITS),
        "minOrderQuantity": minimum,
        "batchNumber": 1,
        "quoteType": 1 if has_skus else 0,
    }
    if rng.random() < 0.3:
        sale["consignPrice"] = _yuan(int(base * 100) + rng.randint(50, 500))
    sale.update({"deliveryLimit": 2, "invReduceType": "1"})
    return sale


def _shipping_info(rng: random.Random) -> dict[str, Any]:
    shipping: dict[str, Any] = {"freightTemplateID": rng.randint(10 ** 7, 10 ** 9)}
    if rng.random() < 0.9:
        shipping["unitWeight"] = Decimal(rng.randint(5, 3000)).scaleb(-3).normalize()
    shipping.update({"handlingTime": 48, "sendGoodsAddressText": rng.choice(ADDRESSES)})
    return shipping


def _sku_count(rng: random.Random) -> int:
    roll = rng.random()
    lower = 1
    for upper, share in SKU_COUNT_BANDS:
        if roll < share:
            return rng.randint(lower, upper)
        lower = upper + 1
    return SKU_COUNT_BANDS[-1][0]


def _dimension_sizes(rng: random.Random, count: int) -> list[int]:
    """Choose how many values each spec dimension has, so the product is >= count and <= 600.

    The product is often larger than ``count``: 1688 sellers leave combinations out, and
    Douyin then needs a placeholder row for each missing one.
    """
    if count <= 2 or (count <= 8 and rng.random() < 0.6):
        return [count] if rng.random() < 0.8 else [1, count]

    sparsity = rng.choice([1, 1, 1, 1.2, 1.5, 2, 3])
    target = min(MAX_COMBINATIONS, math.ceil(count * sparsity))
    if count <= 24 or rng.random() < 0.6:
        first = rng.randint(2, min(MAX_FIRST_DIMENSION_VALUES, max(2, target // 2)))
        sizes = [first, math.ceil(target / first)]
    else:
        first = rng.randint(2, 6)
        second = rng.randint(2, 8)
        sizes = [first, second, math.ceil(target / (first * second))]

    while math.prod(sizes) > MAX_COMBINATIONS:
        largest = sizes.index(max(sizes))
        sizes[largest] -= 1
    return sizes


def _dimension_values(rng: random.Random, position: int, size: int) -> list[str]:
    pool = SPEC_VALUES[position]
    if size <= len(pool):
        return rng.sample(pool, size)
    return rng.sample(pool, len(pool)) + [f"款式{number}" for number in range(1, size - len(pool) + 1)]


def _sku_infos(rng: random.Random, count: int, sale_info: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = _dimension_sizes(rng, count)
    names = [rng.choice(SPEC_NAMES[position]) for position in range(len(sizes))]
    values = [_dimension_values(rng, position, size) for position, size in enumerate(sizes)]
    combinations = _sample_combinations(rng, sizes, min(count, math.prod(sizes)))

    with_images = rng.random() < 0.6
    images = {value: _image_path(rng) for value in values[0]} if with_images else {}
    base = sale_info["priceRanges"][0]["price"]
    step = _price(rng, 0, 8) if rng.random() < 0.5 else Decimal(0)
    with_consign = rng.random() < 0.3
    consign_only = with_consign and rng.random() < 0.2
    code_style = rng.choice(["none", "code", "zero"])

    skus = []
    for number, combination in enumerate(combinations):
        attributes = [
            {"attributeID": 3216 + position, "attValueID": rng.randint(10 ** 7, 10 ** 9),
             "attributeValue": values[position][choice],
             "skuImageUrl": images.get(values[position][choice], "") if position == 0 else "",
             "attributeDisplayName": names[position], "attributeName": names[position]}
            for position, choice in enumerate(combination)
        ]
        price = _yuan(int(base * 100) + int(step * 100) * combination[-1])
        sku: dict[str, Any] = {"attributes": attributes, "cargoNumber": _cargo_number(code_style, number),
                               "amountOnSale": rng.randint(0, MAX_SKU_STOCK)}
        if not consign_only:
            sku["price"] = price
        if with_consign:
            sku["consignPrice"] = _yuan(int(price * 100) + 300)
        sku["skuId"] = rng.randint(4 * 10 ** 12, 6 * 10 ** 12)
        sku["specId"] = "%032x" % rng.getrandbits(128)
        skus.append(sku)
    return skus


def _sample_combinations(rng: random.Random, sizes: list[int], count: int) -> list[tuple[int, ...]]:
    """Pick ``count`` distinct value combinations, kept in matrix order as 1688 lists them."""
    total = math.prod(sizes)
    chosen = sorted(rng.sample(range(total), count))
    combinations = []
    for flat in chosen:
        combination = []
        for size in reversed(sizes):
            flat, remainder = divmod(flat, size)
            combination.append(remainder)
        combinations.append(tuple(reversed(combination)))
    return combinations


def _cargo_number(style: str, number: int) -> str:
    if style == "code":
        return f"SKU-{number:03d}"
    if style == "zero":
        return f"0{number:03d}"
    return ""


def _description(rng: random.Random) -> str | None:
    """Return detail HTML, or None (no ``description`` key) for about 4% of offers."""
    roll = rng.random()
    if roll < 0.04:
        return None

    parts = ['<div id="offer-template-0"></div><div style="width:790px;margin:0 auto;font-size:14px;">']
    image_count = 0 if roll < 0.07 else rng.randint(1, 6)
    for _ in range(image_count):
        parts.append(_detail_image(rng))
    parts.append(f"<p>{rng.choice(DETAIL_TEXTS)}</p>")

    if rng.random() < 0.3:
        parts.append("<table border=\"1\"><tr><td>尺码</td><td>衣长(cm)</td></tr><tr><td>M</td><td>68</td></tr></table>")
    if rng.random() < 0.3:
        parts.append("<script type=\"text/javascript\">var t = new Image(); t.src = \"https://track.example.com/p.gif\";</script>")
    if rng.random() < 0.3:
        parts.append("<p>更多款式请看<a href=\"https://example-factory.1688.com/page/offerlist.htm\">本店全部商品</a></p>")

    parts.append("</div>")
    return "".join(parts)


def _detail_image(rng: random.Random) -> str:
    url = CDN + _image_path(rng)
    form = rng.random()
    if form < 0.5:
        return f'<p><img src="{url}" alt="" /></p>'
    if form < 0.8:
        return f'<p><img src="{CDN_PLACEHOLDER}" data-lazyload-src="{url}" alt="" /></p>'
    return f'<p><img data-src="{url}" width="790" /></p>'


def generate_texts(count: int, seed: int = DEFAULT_SEED, start: int = 0) -> Iterable[tuple[str, str]]:
    """Yield ``(offer_id, response JSON text)`` for offers ``start`` to ``start + count - 1``."""
    generator = OfferGenerator(seed)
    for index in range(start, start + count):
        yield offer_id(index), jsonio.dumps(generator.offer(index))


def write_offers(folder: Path, count: int, seed: int = DEFAULT_SEED) -> list[str]:
    """Write ``folder/<offer_id>.json`` for the first ``count`` offers and return their ids.

    A file that already exists with the same text is left alone, so a folder can be reused
    by a later run with the same seed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for identifier, text in generate_texts(count, seed):
        path = folder / f"{identifier}.json"
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        ids.append(identifier)
    return ids


def write_ids(path: Path, ids: Iterable[str]) -> Path:
    """Write an ids file for ``etl run --ids``, one bare offer id per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(identifier + "\n" for identifier in ids), encoding="utf-8")
    return path


def describe(raws: list[dict[str, Any]]) -> dict[str, Any]:
    """Summarise generated offers: SKU counts, dimensions, spec rows, titles, for the results file."""
    sku_counts = []
    dimensions = {0: 0, 1: 0, 2: 0, 3: 0}
    combinations = []
    title_lengths = []
    for raw in raws:
        info = raw["productInfo"]
        skus = info.get("skuInfos") or []
        sku_counts.append(len(skus))
        title_lengths.append(len(info["subject"]))
        if not skus:
            dimensions[0] += 1
            continue

        dimensions[len(skus[0]["attributes"])] += 1
        values = [set() for _ in skus[0]["attributes"]]
        for sku in skus:
            for position, attribute in enumerate(sku["attributes"]):
                values[position].add(attribute["attributeValue"])
        combinations.append(math.prod(len(found) for found in values))

    with_skus = sorted(count for count in sku_counts if count)
    return {
        "offers": len(raws),
        "offers_without_skus": dimensions[0],
        "offers_by_spec_dimensions": {str(key): value for key, value in dimensions.items() if key},
        "skus_total": sum(sku_counts),
        "skus_per_offer_mean": round(sum(sku_counts) / max(len(raws), 1), 2),
        "skus_per_offer_median": with_skus[len(with_skus) // 2] if with_skus else 0,
        "skus_per_offer_max": max(sku_counts, default=0),
        "offers_over_50_skus": sum(1 for count in sku_counts if count > 50),
        "spec_rows_max": max(combinations, default=0),
        "title_length_max": max(title_lengths, default=0),
    }
