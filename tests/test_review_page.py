"""The review page: escaping, order, languages and streaming on the HTML, then in headless Chromium.

The browser tests drive Debian's ``chromium`` through Playwright (launched with
``executable_path``, never a downloaded browser). They skip when either is missing, unless
``ETL_REQUIRE_BROWSER=1``, which makes them fail instead. Offer images come from a server on
127.0.0.1 started by the tests; nothing else is contacted.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import re
import shutil
import struct
import tempfile
import threading
import tracemalloc
import zlib
from pathlib import Path

import lxml.html
import pytest

from etl import review_page
from etl.review_page import ReviewPageWriter, entry_group, image_url, write_review_page

CHROMIUM = "/usr/bin/chromium"

# The tests must not reach the network, so the browser's own background traffic is switched off.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LOCAL_IMAGE = "http://127.0.0.1:9/img/main.png"  # never fetched by the HTML-only tests

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ATTRIBUTE = '" onerror=alert(1) x="'


# --- entries --------------------------------------------------------------------------------


def make_entry(offer_id: str, status: str = "ok", **changes) -> dict:
    """Build a complete review entry of status ``status``, with ``changes`` replacing its fields."""
    entry = {
        "offer_id": offer_id,
        "status": status,
        "product_id": None,
        "output": f"out/{offer_id}.json",
        "error": None,
        "title": {"before": "2024夏季新款韩版碎花连衣裙女装中长款", "after": "夏季新款碎花连衣裙女装中长款", "width": 28, "max_width": 60},
        "images": [LOCAL_IMAGE],
        "category": {"source_id": "1031910", "source_name": "连衣裙", "target_id": "20000", "mapped": True},
        "skus": [
            {"specs": "颜色:红色 / 尺码:S", "cost": "12.30", "price": "18.90", "stock": 5},
            {"specs": "颜色:红色 / 尺码:M", "cost": "12.30", "price": "18.90", "stock": 0},
        ],
        "detail_html": "<p>纯棉面料，透气舒适。</p>",
        "warnings": [],
        "changes": [],
    }
    entry.update(changes)
    return entry


def failed_entry(offer_id: str) -> dict:
    return {
        "offer_id": offer_id,
        "status": "failed",
        "product_id": None,
        "output": None,
        "error": {"step": "map", "field": "category_leaf_id", "sku_index": None, "code": "table.no_row",
                  "message": "类目表 category.csv 里没有 1031910 这一行"},
        "title": {"before": "连衣裙", "after": "连衣裙", "width": 6, "max_width": 60},
        "warnings": [],
        "changes": [],
    }


def warned_entry(offer_id: str) -> dict:
    return make_entry(
        offer_id,
        "updated",
        product_id="3700000001",
        title={"before": "最好的2024夏季新款韩版碎花连衣裙女装中长款显瘦气质", "after": "2024夏季新款韩版碎花连衣裙", "width": 58, "max_width": 60},
        category={"source_id": "1031910", "source_name": "连衣裙", "target_id": "99999", "mapped": False},
        skus=[
            {"specs": "颜色:红色 / 尺码:S", "cost": "12.30", "price": "19.90", "stock": 5},
            {"specs": "颜色:蓝色 / 尺码:M", "cost": "22.00", "price": "19.90", "stock": 3},
        ],
        warnings=[
            {"code": "warning.banned_words", "message": "标题里的违禁词已删除：最好", "field": "title"},
            {"code": "warning.below_cost", "message": "SKU 颜色:蓝色 / 尺码:M 的售价 19.90 低于成本 22.00", "field": "skus"},
        ],
        changes=[
            {"kind": "price", "sku": "颜色:红色 / 尺码:S", "from": "18.90", "to": "19.90"},
            {"kind": "sku_added", "sku": "颜色:蓝色 / 尺码:M"},
            {"kind": "sku_removed", "sku": "颜色:绿色 / 尺码:L"},
            {"kind": "title", "from": "旧标题", "to": "2024夏季新款韩版碎花连衣裙"},
            {"kind": "stock", "sku": "颜色:红色 / 尺码:S", "from": 5, "to": 0},
            {"kind": "category", "from": "20000", "to": "99999"},
        ],
    )


SUMMARY = {
    "total": 3, "ok": 1, "failed": 1, "created": 0, "updated": 1, "unchanged": 0, "warnings": 1,
    "rule": "rules/douyin.yaml", "target": "douyin", "started_at": "2024-06-01T08:00:00+00:00", "duration_seconds": 12.5,
}


def write_page(tmp_path: Path, entries: list[dict], lang: str = "zh", **writer_options) -> str:
    path = tmp_path / "review.html"
    with ReviewPageWriter(path, lang, {"target": "douyin"}, **writer_options) as writer:
        for entry in entries:
            writer.add(entry)
        writer.close(SUMMARY)
    return path.read_text(encoding="utf-8")


def cards(page: str) -> list:
    return lxml.html.document_fromstring(page).xpath("//article")


def card_ids(page: str) -> list[str]:
    return [card.get("data-id") for card in cards(page)]


# --- escaping -------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [HOSTILE_TITLE, HOSTILE_ATTRIBUTE, "</textarea><img src=x onerror=alert(1)>"])
def test_hostile_title_is_escaped(tmp_path, hostile):
    entry = make_entry("1", title={"before": hostile, "after": hostile, "width": 10, "max_width": 60})

    page = write_page(tmp_path, [entry])
    document = lxml.html.document_fromstring(page)
    handlers = [name for element in document.iter() for name in element.attrib if name.lower().startswith("on")]

    assert len(document.xpath("//script")) == 1
    assert handlers == []
    assert document.xpath("//article//span[@class='title']")[0].text == hostile
    assert html_escaped(hostile) in page


def html_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")


@pytest.mark.parametrize(
    "field",
    ["specs", "warning", "error", "change", "offer_id", "product_id", "category", "output"],
)
def test_hostile_values_escaped_everywhere(tmp_path, field):
    hostile = HOSTILE_TITLE + HOSTILE_ATTRIBUTE
    entry = make_entry("1")
    if field == "specs":
        entry["skus"][0]["specs"] = hostile
    elif field == "warning":
        entry["warnings"] = [{"code": hostile, "message": hostile, "field": hostile}]
    elif field == "error":
        entry["status"] = "failed"
        entry["error"] = {"step": hostile, "field": hostile, "sku_index": 0, "code": hostile, "message": hostile}
    elif field == "change":
        entry["changes"] = [{"kind": "price", "sku": hostile, "from": hostile, "to": hostile}, {"kind": hostile, "from": hostile, "to": hostile}]
    elif field == "category":
        entry["category"] = {"source_id": hostile, "source_name": hostile, "target_id": hostile, "mapped": False}
    else:
        entry[field] = hostile

    page = write_page(tmp_path, [entry])
    document = lxml.html.document_fromstring(page)
    handlers = [name for element in document.iter() for name in element.attrib if name.lower().startswith("on")]

    assert "<script>alert" not in page
    assert len(document.xpath("//script")) == 1
    assert handlers == []
    assert hostile in document.text_content() or hostile in cards(page)[0].get("data-id")


def test_detail_html_kept_escaped_for_frame(tmp_path):
    detail = '<p>详情 "引号" &amp; 符号</p><script>parent.pwned = 1</script>'

    page = write_page(tmp_path, [make_entry("1", detail_html=detail)])
    details = lxml.html.document_fromstring(page).xpath("//details[@class='detail']")[0]

    assert detail in details.get("data-srcdoc")
    assert details.get("open") is None
    assert details.xpath(".//iframe") == []
    assert "<script>parent" not in page


def test_empty_detail_has_no_details(tmp_path):
    page = write_page(tmp_path, [make_entry("1", detail_html="")])

    assert lxml.html.document_fromstring(page).xpath("//details[@class='detail']") == []


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cdn.example.test/a.jpg", "https://cdn.example.test/a.jpg"),
        ("http://127.0.0.1:8000/a.png", "http://127.0.0.1:8000/a.png"),
        ("HTTPS://CDN.EXAMPLE.TEST/A.JPG", "HTTPS://CDN.EXAMPLE.TEST/A.JPG"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//cdn.example.test/a.jpg", None),
        ("ftp://cdn.example.test/a.jpg", None),
        ("https://", None),
        ("https://cdn.example.test/a b.jpg", None),
        ("https://cdn.example.test/a.jpg\n", None),
        ("", None),
        (None, None),
        (123, None),
    ],
)
def test_image_url(url, expected):
    assert image_url(url) == expected


def test_javascript_image_not_used(tmp_path):
    entry = make_entry("1", images=["javascript:alert(1)", "https://cdn.example.test/b.jpg"])

    page = write_page(tmp_path, [entry])
    thumb = lxml.html.document_fromstring(page).xpath("//div[@class='thumb']")[0]

    assert "javascript:" not in page
    assert thumb.xpath(".//img") == []
    assert "主图地址无效" in thumb.text_content()


def test_main_image_is_lazy_with_alt(tmp_path):
    page = write_page(tmp_path, [make_entry("620000000001")])
    image = lxml.html.document_fromstring(page).xpath("//div[@class='thumb']/img")[0]

    assert image.get("src") == LOCAL_IMAGE
    assert image.get("loading") == "lazy"
    assert image.get("alt") == "商品 620000000001 的主图"


def test_offer_without_images_shows_placeholder(tmp_path):
    page = write_page(tmp_path, [make_entry("1", images=[])])
    thumb = lxml.html.document_fromstring(page).xpath("//div[@class='thumb']")[0]

    assert thumb.text_content() == "没有主图"


# --- security policy ------------------------------------------------------------------------


def csp_of(page: str) -> dict[str, list[str]]:
    meta = lxml.html.document_fromstring(page).xpath("//meta[@http-equiv='Content-Security-Policy']")[0]
    directives = {}
    for part in meta.get("content").split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def test_policy_allows_only_own_inline_code(tmp_path):
    page = write_page(tmp_path, [make_entry("1")])
    document = lxml.html.document_fromstring(page)
    policy = csp_of(page)

    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == [source_hash(document.xpath("//script")[0].text)]
    assert source_hash(document.xpath("//style")[0].text) in policy["style-src"]
    assert policy["img-src"] == ["http:", "https:", "data:"]
    assert policy["form-action"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_policy_comes_before_style_and_script(tmp_path):
    page = write_page(tmp_path, [make_entry("1")])

    assert page.index("Content-Security-Policy") < page.index("<style>") < page.index("<script>")


def test_page_loads_nothing_external(tmp_path):
    page = write_page(tmp_path, [make_entry("1")])
    document = lxml.html.document_fromstring(page)

    assert document.xpath("//link") == []
    assert document.xpath("//script[@src]") == []
    assert document.xpath("//form") == []
    assert "@import" not in page
    assert "url(" not in page


# --- order, groups and contents -------------------------------------------------------------


def test_failures_come_first(tmp_path):
    entries = [make_entry("ok-1"), warned_entry("warn-1"), failed_entry("fail-1"), make_entry("ok-2"), failed_entry("fail-2"),
               make_entry("changed-1", changes=[{"kind": "title", "from": "a", "to": "b"}])]

    page = write_page(tmp_path, entries)

    assert card_ids(page) == ["fail-1", "fail-2", "warn-1", "changed-1", "ok-1", "ok-2"]


@pytest.mark.parametrize(
    ("entry", "group"),
    [
        (make_entry("1"), "rest"),
        (make_entry("1", "unchanged"), "rest"),
        (failed_entry("1"), "failed"),
        (make_entry("1", "ok", error={"step": "load", "message": "x"}), "failed"),
        (warned_entry("1"), "attention"),
        (make_entry("1", changes=[{"kind": "sku_added", "sku": "x"}]), "attention"),
    ],
)
def test_entry_group(entry, group):
    assert entry_group(entry) == group


def test_group_headings_count_offers(tmp_path):
    page = write_page(tmp_path, [failed_entry("f"), warned_entry("w"), make_entry("a"), make_entry("b")])
    headings = [heading.text_content() for heading in lxml.html.document_fromstring(page).xpath("//h2")]

    assert headings == ["失败（1）", "有提醒或变化（1）", "其他（2）"]


def test_empty_group_has_no_section(tmp_path):
    page = write_page(tmp_path, [make_entry("a")])

    assert len(lxml.html.document_fromstring(page).xpath("//section")) == 1


def test_failure_names_step_field_and_code(tmp_path):
    entry = failed_entry("1")
    entry["error"]["sku_index"] = 2

    page = write_page(tmp_path, [entry])
    failure = lxml.html.document_fromstring(page).xpath("//div[@class='box failure']")[0].text_content()

    assert "步骤 map" in failure
    assert "字段 category_leaf_id" in failure
    assert "代码 table.no_row" in failure
    assert "第 2 行 SKU（从 0 计）" in failure
    assert "类目表 category.csv 里没有 1031910 这一行" in failure


def test_failed_entry_without_parts_renders(tmp_path):
    entry = {"offer_id": "1", "status": "failed", "error": {"step": "source", "message": "接口超时"}}

    page = write_page(tmp_path, [entry])
    card = cards(page)[0]

    assert card.get("data-status") == "failed"
    assert "接口超时" in card.text_content()
    assert card.xpath(".//table") == []


def test_title_width_shown_and_over_limit_marked(tmp_path):
    entries = [make_entry("fits"), make_entry("over", title={"before": "a", "after": "b", "width": 62, "max_width": 60})]

    page = write_page(tmp_path, entries)
    widths = {card.get("data-id"): card.xpath(".//span[contains(@class,'width')]")[0] for card in cards(page)}

    assert widths["fits"].text_content() == "宽度 28/60"
    assert widths["fits"].get("class") == "width"
    assert widths["over"].text_content() == "宽度 62/60"
    assert widths["over"].get("class") == "width over"


def test_unmapped_category_is_marked(tmp_path):
    page = write_page(tmp_path, [warned_entry("1")])
    category = cards(page)[0].xpath(".//table[@class='fields']//tr[th='类目']/td")[0]

    assert category.text_content() == "连衣裙 1031910→99999 未映射，用了默认类目"
    assert category.xpath(".//span[@class='unmapped']")


def test_sku_table_marks_below_cost_and_no_stock(tmp_path):
    page = write_page(tmp_path, [warned_entry("1", ), make_entry("2")])
    rows = {card.get("data-id"): card.xpath(".//table[@class='skus']/tbody/tr") for card in cards(page)}

    assert [row.get("class") for row in rows["1"]] == [None, "below"]
    assert rows["1"][1].text_content() == "颜色:蓝色 / 尺码:M¥22.00¥19.90 低于成本3"
    assert rows["2"][1].xpath("./td")[3].get("class") == "num nostock"


def test_failed_sku_row_is_marked(tmp_path):
    entry = make_entry("1", "failed", error={"step": "transform", "field": "price", "sku_index": 1, "code": "money.invalid", "message": "价格无效"})

    page = write_page(tmp_path, [entry])
    rows = cards(page)[0].xpath(".//table[@class='skus']/tbody/tr")

    assert [row.get("class") for row in rows] == [None, "failed-row"]


def test_long_sku_table_starts_collapsed(tmp_path):
    skus = [{"specs": f"尺码:{size}", "cost": "1.00", "price": "2.00", "stock": 1} for size in range(20)]

    page = write_page(tmp_path, [make_entry("long", skus=skus), make_entry("short")])
    details = {card.get("data-id"): card.xpath(".//details[table]")[0] for card in cards(page)}

    assert details["long"].get("open") is None
    assert details["short"].get("open") is not None


def test_warnings_listed(tmp_path):
    page = write_page(tmp_path, [warned_entry("1")])
    items = [item.text_content() for item in cards(page)[0].xpath(".//div[@class='box warnings']//li")]

    assert items == [
        "标题里的违禁词已删除：最好 [title] warning.banned_words",
        "SKU 颜色:蓝色 / 尺码:M 的售价 19.90 低于成本 22.00 [skus] warning.below_cost",
    ]


def test_changes_listed(tmp_path):
    page = write_page(tmp_path, [warned_entry("1")])
    items = [item.text_content() for item in cards(page)[0].xpath(".//div[@class='box changes']//li")]

    assert items == [
        "售价 颜色:红色 / 尺码:S：¥18.90 → ¥19.90",
        "新增 SKU 颜色:蓝色 / 尺码:M",
        "删除 SKU 颜色:绿色 / 尺码:L",
        "标题：旧标题 → 2024夏季新款韩版碎花连衣裙",
        "库存 颜色:红色 / 尺码:S：5 → 0",
        "目标类目：20000 → 99999",
    ]


def test_unknown_change_kind_listed(tmp_path):
    entry = make_entry("1", changes=[{"kind": "video", "from": "a.mp4", "to": "b.mp4"}])

    page = write_page(tmp_path, [entry])
    items = [item.text_content() for item in cards(page)[0].xpath(".//div[@class='box changes']//li")]

    assert items == ["video 变化：a.mp4 → b.mp4"]


def test_product_id_and_output_shown(tmp_path):
    page = write_page(tmp_path, [warned_entry("1")])
    head = cards(page)[0].xpath("./div[@class='head']")[0].text_content()

    assert "平台商品 ID：3700000001" in head
    assert "输出文件：out/1.json" in head


def test_summary_header(tmp_path):
    page = write_page(tmp_path, [make_entry("1")])
    document = lxml.html.document_fromstring(page)
    counts = [item.text_content() for item in document.xpath("//ul[@class='counts']/li")]

    assert counts == ["总数3", "成功1", "失败1", "新建0", "更新1", "未变化0", "有提醒1"]
    assert document.xpath("//p[@class='meta']")[0].text_content() == (
        "规则：rules/douyin.yaml目标平台：douyin开始：2024-06-01T08:00:00+00:00用时 12.5 秒"
    )
    assert document.xpath("//title")[0].text == "铺货审核 · douyin"


def test_interrupted_run_is_flagged(tmp_path):
    path = write_review_page(tmp_path / "review.html", [make_entry("1")], {"interrupted": True}, "zh")

    page = path.read_text(encoding="utf-8")

    assert "运行被中断" in page


def test_status_filter_lists_present_statuses(tmp_path):
    page = write_page(tmp_path, [failed_entry("f"), make_entry("a"), make_entry("b", "created"), make_entry("c", "strange")])
    options = [(option.get("value"), option.text) for option in lxml.html.document_fromstring(page).xpath("//select/option")]

    assert options == [("", "全部 (4)"), ("ok", "成功 (1)"), ("failed", "失败 (1)"), ("created", "已新建 (1)"), ("strange", "strange (1)")]


def test_unknown_status_gets_neutral_class(tmp_path):
    page = write_page(tmp_path, [make_entry("1", 'x" onclick="y')])
    card = cards(page)[0]

    assert card.get("class") == "offer st-other"
    assert card.get("data-status") == 'x" onclick="y'


def test_run_without_offers(tmp_path):
    page = write_page(tmp_path, [])

    assert "这次运行没有处理任何商品。" in page
    assert cards(page) == []


# --- languages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "html_lang", "heading", "label", "search"),
    [
        ("zh", "zh-CN", "铺货审核", "失败原因", "商品 ID 或标题"),
        ("en", "en", "Listing review", "Failure", "offer id or title"),
    ],
)
def test_page_language(tmp_path, lang, html_lang, heading, label, search):
    page = write_page(tmp_path, [failed_entry("1"), warned_entry("2")], lang=lang)
    document = lxml.html.document_fromstring(page)

    assert document.get("lang") == html_lang
    assert document.xpath("//h1")[0].text == heading
    assert document.xpath("//div[@class='box failure']/span[@class='label']")[0].text == label
    assert document.xpath("//input[@id='filter-search']")[0].get("placeholder") == search


def test_english_changes(tmp_path):
    page = write_page(tmp_path, [warned_entry("1")], lang="en")
    items = [item.text_content() for item in cards(page)[0].xpath(".//div[@class='box changes']//li")]

    assert items[0] == "Price of 颜色:红色 / 尺码:S: ¥18.90 → ¥19.90"
    assert items[1] == "SKU added: 颜色:蓝色 / 尺码:M"


# --- streaming and files --------------------------------------------------------------------


def test_spool_files_exist_while_adding(tmp_path):
    path = tmp_path / "review.html"
    writer = ReviewPageWriter(path, "zh", {})

    # Enough cards to pass the spool files' write buffers, so the HTML is on disk, not in memory.
    for index in range(50):
        writer.add(failed_entry(f"f{index}"))
        writer.add(make_entry(str(index)))
    spools = sorted(tmp_path.glob(".review.html.*.part"))
    spooled = {name: Path(spool).stat().st_size for name, spool in zip(review_page.GROUPS, writer.spool_paths)}
    writer.close({})

    assert len(spools) == 3
    assert spooled["failed"] > 0
    assert spooled["attention"] == 0
    assert spooled["rest"] > 0
    assert list(tmp_path.iterdir()) == [path]


def test_page_appears_only_on_close(tmp_path):
    path = tmp_path / "review.html"
    writer = ReviewPageWriter(path, "zh", {})
    writer.add(make_entry("1"))

    assert not path.exists()
    writer.close({})
    assert path.exists()


def test_error_removes_spools_and_keeps_old_page(tmp_path):
    path = tmp_path / "review.html"
    path.write_text("old page", encoding="utf-8")

    with pytest.raises(KeyboardInterrupt):
        with ReviewPageWriter(path, "zh", {}) as writer:
            writer.add(make_entry("1"))
            raise KeyboardInterrupt

    assert path.read_text(encoding="utf-8") == "old page"
    assert list(tmp_path.iterdir()) == [path]


def test_failed_close_keeps_old_page(tmp_path, monkeypatch):
    path = tmp_path / "review.html"
    path.write_text("old page", encoding="utf-8")
    writer = ReviewPageWriter(path, "zh", {})
    writer.add(make_entry("1"))

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(review_page, "_run_header", broken)
    with pytest.raises(OSError):
        writer.close({})

    assert path.read_text(encoding="utf-8") == "old page"
    assert list(tmp_path.iterdir()) == [path]


def test_closed_writer_rejects_entries(tmp_path):
    writer = ReviewPageWriter(tmp_path / "review.html", "zh", {})
    writer.close({})

    with pytest.raises(RuntimeError):
        writer.add(make_entry("1"))


def test_page_mode_follows_umask(tmp_path):
    path = write_review_page(tmp_path / "review.html", [], {}, "zh")
    mask = os.umask(0)
    os.umask(mask)

    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_entries_are_not_kept_in_memory(tmp_path):
    # 3,000 entries with a 4 KB detail each make a page of over 10 MB. If the writer kept
    # the entries or their HTML, the traced peak would grow with them.
    detail = "<p>" + "纯棉面料透气舒适" * 170 + "</p>"

    def entries():
        for index in range(3000):
            yield make_entry(str(index), detail_html=detail)

    tracemalloc.start()
    try:
        path = write_review_page(tmp_path / "review.html", entries(), {}, "zh")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert path.stat().st_size > 10_000_000
    assert peak < 3_000_000


def test_cards_past_limit_are_compact(tmp_path):
    entries = [make_entry(str(index)) for index in range(5)] + [failed_entry(f"f{index}") for index in range(3)]

    page = write_page(tmp_path, entries, full_card_limit=2)
    compact = [card.get("data-id") for card in cards(page) if "compact" in card.get("class").split()]

    assert compact == ["2", "3", "4"]
    assert "本组最后 3 个商品只显示 ID、标题和价格" in page


def test_compact_card_shows_price_range(tmp_path):
    entry = make_entry("2", skus=[{"specs": "a", "cost": "1.00", "price": "18.90", "stock": 1},
                                  {"specs": "b", "cost": "1.00", "price": "25.00", "stock": 1}])

    page = write_page(tmp_path, [make_entry("1"), entry], full_card_limit=1)

    assert cards(page)[1].text_content().strip().endswith("¥18.90 – ¥25.00")


def generated_entries(count: int, image: str = LOCAL_IMAGE) -> list[dict]:
    """Build ``count`` entries with 5 SKUs and a detail of five images, every 10th with a warning."""
    entries = []
    for index in range(count):
        offer_id = str(620000000000 + index)
        skus = [{"specs": f"颜色:色{index % 7} / 尺码:{size}", "cost": "12.30", "price": "18.90", "stock": 5} for size in "S M L XL XXL".split()]
        detail = "<p>纯棉面料，透气舒适，做工精细。</p>" + "".join(f'<img src="http://127.0.0.1:9/detail/{index}-{n}.jpg">' for n in range(5))
        warnings = [{"code": "warning.title_truncated", "message": "标题超过 60 个宽度单位，已截掉：显瘦气质", "field": "title"}] if index % 10 == 0 else []
        entries.append(make_entry(offer_id, skus=skus, detail_html=detail, warnings=warnings, images=[f"{image}?offer={index}"] * 5))
    return entries


def test_thousand_offers_page_size(tmp_path):
    path = write_review_page(tmp_path / "review.html", generated_entries(1000), SUMMARY, "zh")

    assert path.stat().st_size < 3_000_000


# --- the browser ----------------------------------------------------------------------------


def browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: pip install '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = browser_missing_reason()
    if reason:
        if os.environ.get("ETL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ETL_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)

    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="etl-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1280, "height": 900}, offline=False,
            )
            yield context
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """Encode a solid-colour RGB PNG with a darker diagonal, so it is visibly an image."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(channel // 2 for channel in colour) if abs(x - y) < 3 else bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _compression, _filter, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8
            assert interlace == 0
            assert colour_type in (2, 6)
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length

    raw = zlib.decompress(compressed)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - upper_left
                nearest = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up), (abs(estimate - upper_left), 2, upper_left))[2]
                line[i] = (line[i] + nearest) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


class ImageServer(http.server.ThreadingHTTPServer):
    """Serves PNGs under /img/ on 127.0.0.1 and records every requested path."""

    daemon_threads = True

    def __init__(self, images: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), ImageHandler)
        self.images = images
        self.requested: list[str] = []

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/img/{name}"


class ImageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requested.append(self.path)
        name = self.path.removeprefix("/img/").partition("?")[0]
        body = self.server.images.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def image_server():
    server = ImageServer({"red.png": png(160, 160, (214, 69, 65)), "blue.png": png(160, 120, (52, 120, 198)),
                          "green.png": png(120, 160, (46, 160, 67))})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class PageWatch:
    """Console messages, script errors, failed requests and dialogs of one page."""

    def __init__(self, page) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: self.console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", lambda request: self.failed_requests.append(request.url))
        page.on("response", lambda response: self.failed_requests.append(response.url) if response.status >= 400 else None)
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def open_page(browser, path: Path):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(path.as_uri(), wait_until="load")
    return page, watch


def three_offers(server: ImageServer) -> list[dict]:
    return [
        make_entry("620000000003", images=[server.url("green.png"), server.url("red.png")]),
        warned_entry("620000000002") | {"images": [server.url("blue.png")]},
        failed_entry("620000000001") | {"images": [server.url("red.png")]},
    ]


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all("article.offer:not([hidden])", "cards => cards.map(card => card.dataset.id)")


def wait_for_images(page) -> list[int]:
    """Scroll every main image into view (they are lazy) and return their natural widths."""
    return page.evaluate(
        """async () => {
            const images = Array.from(document.querySelectorAll(".thumb img"));
            for (const image of images) {
                image.scrollIntoView();
                if (!image.complete) {
                    await new Promise(done => { image.addEventListener("load", done); image.addEventListener("error", done); });
                }
            }
            window.scrollTo(0, 0);
            return images.map(image => image.naturalWidth);
        }"""
    )


def test_browser_page_loads_cleanly(browser, image_server, tmp_path):
    path = write_review_page(tmp_path / "review.html", three_offers(image_server), SUMMARY, "zh")

    page, watch = open_page(browser, path)
    widths = wait_for_images(page)
    page.close()

    assert watch.console_errors == []
    assert watch.page_errors == []
    assert watch.failed_requests == []
    assert widths == [160, 160, 120]


def test_browser_screenshot_shows_offers(browser, image_server, tmp_path):
    path = write_review_page(tmp_path / "review.html", three_offers(image_server), SUMMARY, "zh")
    page, watch = open_page(browser, path)
    wait_for_images(page)

    shot = page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    ids = visible_ids(page)
    warnings = page.locator("article[data-id='620000000002'] .warnings li").all_inner_texts()
    failure = page.locator("article.st-failed .failure").inner_text()
    page.close()
    width, height, rows = decode_png(shot)
    colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 7 * (len(row) // width))}

    assert ids == ["620000000001", "620000000002", "620000000003"]
    assert warnings[0].startswith("标题里的违禁词已删除：最好")
    assert "类目表 category.csv 里没有 1031910 这一行" in failure
    assert width == 1280
    assert height > 900
    assert len(colours) > 50
    assert watch.console_errors == []


def test_browser_filters_by_status(browser, image_server, tmp_path):
    path = write_review_page(tmp_path / "review.html", three_offers(image_server), SUMMARY, "zh")
    page, _watch = open_page(browser, path)

    page.select_option("#filter-status", "failed")
    only_failed = visible_ids(page)
    headings = page.locator("h2.group:visible").all_inner_texts()
    page.select_option("#filter-status", "ok")
    only_ok = visible_ids(page)
    page.select_option("#filter-status", "")
    page.check("#filter-warned")
    only_warned = visible_ids(page)
    shown_count = page.inner_text("#shown-count")
    page.close()

    assert only_failed == ["620000000001"]
    assert headings == ["失败（1）"]
    assert only_ok == ["620000000003"]
    assert only_warned == ["620000000002"]
    assert shown_count == "1"


def test_browser_search_by_id_and_title(browser, image_server, tmp_path):
    path = write_review_page(tmp_path / "review.html", three_offers(image_server), SUMMARY, "zh")
    page, _watch = open_page(browser, path)

    page.fill("#filter-search", "620000000003")
    page.wait_for_function("() => document.getElementById('shown-count').textContent === '1'")
    by_id = visible_ids(page)
    page.fill("#filter-search", "韩版碎花")
    page.wait_for_function("() => document.getElementById('shown-count').textContent === '2'")
    by_title = visible_ids(page)
    page.fill("#filter-search", "no such offer")
    page.wait_for_function("() => document.getElementById('shown-count').textContent === '0'")
    no_match = page.is_visible("#no-match")
    page.close()

    assert by_id == ["620000000003"]
    assert by_title == ["620000000002", "620000000003"]
    assert no_match


def test_browser_runs_nothing_from_source(browser, image_server, tmp_path):
    detail = ('<p>详情</p><script>parent.pwned = "detail"; alert("detail")</script>'
              '<img src="x" onerror="parent.pwned = \'onerror\'">')
    hostile = make_entry("1", title={"before": HOSTILE_TITLE, "after": HOSTILE_ATTRIBUTE, "width": 1, "max_width": 60},
                         images=["javascript:window.pwned='image'"], detail_html=detail,
                         warnings=[{"code": "x", "message": "<img src=x onerror=alert(2)>", "field": "title"}])
    path = write_review_page(tmp_path / "review.html", [hostile], SUMMARY, "zh")
    page, watch = open_page(browser, path)

    page.click("article summary >> text=详情")
    page.wait_for_timeout(300)
    pwned = page.evaluate("typeof window.pwned")
    title = page.locator("article .title").first.inner_text()
    page.close()

    assert pwned == "undefined"
    assert watch.dialogs == []
    assert title == HOSTILE_TITLE
    assert watch.page_errors == []


def test_browser_detail_opens_in_sandboxed_frame(browser, image_server, tmp_path):
    detail = f'<p>纯棉面料</p><img src="{image_server.url("blue.png")}"><script>window.ran = 1</script>'
    entry = make_entry("1", detail_html=detail, images=[image_server.url("red.png")])
    path = write_review_page(tmp_path / "review.html", [entry], SUMMARY, "zh")
    page, watch = open_page(browser, path)

    frames_before = page.locator("iframe").count()
    page.click("details.detail summary")
    page.wait_for_function("() => document.querySelector('iframe') !== null")
    sandbox = page.get_attribute("iframe", "sandbox")
    frame = page.frame_locator("iframe")
    text = frame.locator("p").inner_text()
    image_width = frame.locator("img").evaluate("image => image.complete ? image.naturalWidth : new Promise(done => image.onload = () => done(image.naturalWidth))")
    page.close()

    assert frames_before == 0
    assert sandbox == ""
    assert text == "纯棉面料"
    assert image_width == 160
    assert watch.page_errors == []
    assert watch.failed_requests == []
    # The only console error allowed is Chromium reporting the detail's script as blocked.
    assert all("sandboxed" in message for message in watch.console_errors)


def test_browser_broken_image_shows_placeholder(browser, image_server, tmp_path):
    entry = make_entry("1", images=[image_server.url("missing.png")])
    path = write_review_page(tmp_path / "review.html", [entry], SUMMARY, "zh")
    page, watch = open_page(browser, path)

    wait_for_images(page)
    broken = page.eval_on_selector(".thumb img", "image => image.classList.contains('broken')")
    placeholder = page.inner_text(".thumb")
    page.close()

    assert broken
    assert placeholder == "商品 1 的主图"
    assert watch.failed_requests == [image_server.url("missing.png")]
    assert watch.page_errors == []
    assert all("Failed to load resource" in message for message in watch.console_errors)


def test_browser_thousand_offers(browser, image_server, tmp_path):
    path = write_review_page(tmp_path / "review.html", generated_entries(1000, image_server.url("red.png")), SUMMARY, "zh")
    requested_before = len(image_server.requested)
    page, watch = open_page(browser, path)

    page.fill("#filter-search", "620000000500")
    page.wait_for_function("() => document.getElementById('shown-count').textContent === '1'")
    found = visible_ids(page)
    page.fill("#filter-search", "")
    page.check("#filter-warned")
    page.wait_for_function("() => document.getElementById('shown-count').textContent === '100'")
    requested = len(image_server.requested) - requested_before
    page.close()

    assert found == ["620000000500"]
    assert watch.console_errors == []
    assert watch.page_errors == []
    assert requested < 100  # lazy images: only those near the viewport load


@pytest.mark.parametrize(("target_id", "text"), [(None, "类目表里没有这一行"), ("20000", "未映射，用了默认类目")])
def test_unmapped_category_text(tmp_path, target_id, text):
    entry = {"offer_id": "1001", "status": "failed" if target_id is None else "ok",
             "category": {"source_id": "99999999", "source_name": "宠物饮水机", "target_id": target_id, "mapped": False},
             "warnings": [], "changes": []}

    page = write_review_page(tmp_path / "review.html", [entry], {"total": 1}, "zh").read_text(encoding="utf-8")

    assert text in page
