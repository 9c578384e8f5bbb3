"""Tests for the ids file: every accepted offer form, every rejected one, and file decoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.errors import UsageError
from etl.ids import IdLine, parse_ids, read_ids
from etl.messages import catalog, render

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

ACCEPTED = [
    ("bare id", "623456789012", "623456789012"),
    ("bare id in spaces", "  623456789012\t", "623456789012"),
    ("shortest id", "123456", "123456"),
    ("longest id", "12345678901234567890", "12345678901234567890"),
    ("leading zeros kept", "0012345678", "0012345678"),
    ("full-width digits", "６２３４５６７８９０１２", "623456789012"),
    ("bare id with comment", "623456789012 # 白色款", "623456789012"),
    ("bare id with tab comment", "623456789012\t#note", "623456789012"),
    ("detail url", "https://detail.1688.com/offer/623456789012.html", "623456789012"),
    (
        "detail url with spm",
        "https://detail.1688.com/offer/623456789012.html?spm=a26352.13672862.offerlist.3.5f1c1e62",
        "623456789012",
    ),
    ("detail url over http", "http://detail.1688.com/offer/623456789012.html", "623456789012"),
    ("detail url without scheme", "detail.1688.com/offer/623456789012.html", "623456789012"),
    ("detail url upper-case scheme", "HTTPS://DETAIL.1688.COM/offer/623456789012.HTML", "623456789012"),
    ("detail url with fragment", "https://detail.1688.com/offer/623456789012.html#desc", "623456789012"),
    ("detail url with comment", "https://detail.1688.com/offer/623456789012.html  # 主推", "623456789012"),
    ("mobile url", "https://m.1688.com/offer/623456789012.html", "623456789012"),
    ("mobile url without scheme", "m.1688.com/offer/623456789012.html?sk=consign", "623456789012"),
    (
        "mobile page with offerId",
        "https://detail.m.1688.com/page/index.html?offerId=623456789012&spm=a26g8.7664812.0.0",
        "623456789012",
    ),
    (
        "offerId not first parameter",
        "https://detail.m.1688.com/page/index.html?sk=consign&offerId=623456789012",
        "623456789012",
    ),
    (
        "agent link encoded once",
        "https://www.agent.example/item?url=https%3A%2F%2Fdetail.1688.com%2Foffer%2F623456789012.html",
        "623456789012",
    ),
    (
        "agent link encoded twice",
        "https://www.agent.example/go?u=https%253A%252F%252Fdetail.1688.com%252Foffer%252F623456789012.html",
        "623456789012",
    ),
    (
        "agent link encoded in path",
        "https://www.agent.example/item/https%3A%2F%2Fdetail.1688.com%2Foffer%2F623456789012.html",
        "623456789012",
    ),
    (
        "agent link with offerId",
        "https://www.agent.example/item?platform=1688&offerId=623456789012",
        "623456789012",
    ),
    (
        "1688 page with encoded offer path",
        "https://m.1688.com/page/share.html?target=offer%2F623456789012.html",
        "623456789012",
    ),
    (
        "1688 redirect with encoded target",
        "https://dj.1688.com/ci_bb?a=1&f=https%3A%2F%2Fdetail.1688.com%2Foffer%2F623456789012.html",
        "623456789012",
    ),
    (
        "share text",
        "【淘宝】夏季纯棉T恤 https://m.1688.com/offer/623456789012.html 复制￥AbC￥打开手机1688",
        "623456789012",
    ),
    (
        "share text glued to url",
        "【1688】夏季纯棉T恤打开https://m.1688.com/offer/623456789012.html复制￥AbC￥",
        "623456789012",
    ),
    (
        "share text with hashtag",
        "推荐 #爆款 https://m.1688.com/offer/623456789012.html 复制￥AbC￥",
        "623456789012",
    ),
    ("leading BOM", "\ufeff623456789012", "623456789012"),
    ("zero-width space around", "\u200b623456789012\u200b", "623456789012"),
    ("line ending kept", "623456789012\r\n", "623456789012"),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED])
def test_accepted_form(text, expected):
    parsed = parse_ids([text])

    assert parsed.ids == (expected,)
    assert parsed.problems == ()


REJECTED = [
    ("short link", "https://qr.1688.com/s/AbCd1234", "ids.short_link"),
    ("short link in share text", "【1688】好物 https://qr.1688.com/s/AbCd1234 复制￥AbC￥", "ids.short_link"),
    ("redirect without target", "https://dj.1688.com/ci_bb?a=1&e=XyZ", "ids.short_link"),
    ("winport shop", "https://winport.m.1688.com/page/index.html?memberId=b2b-2212345678901a1b2", "ids.shop_url"),
    ("shop offer list", "https://shop1234567890.1688.com/page/offerlist.htm", "ids.shop_url"),
    ("shop domain", "https://example-factory.1688.com/", "ids.shop_url"),
    ("taobao item", "https://item.taobao.com/item.htm?id=623456789012", "ids.not_1688"),
    ("taobao short link", "https://m.tb.cn/h.5AbCdEf?tk=AbC", "ids.not_1688"),
    ("look-alike host", "https://detail.evil1688.com/offer/623456789012.html", "ids.not_1688"),
    ("other site offer path", "https://www.agent.example/offer/623456789012.html?from=1688", "ids.not_1688"),
    ("other site offerId", "https://www.agent.example/item?offerId=623456789012", "ids.not_1688"),
    ("five digits", "12345", "ids.invalid"),
    ("twenty-one digits", "123456789012345678901", "ids.invalid"),
    ("id with text", "623456789012 白色款", "ids.invalid"),
    ("id glued to comment", "623456789012#白色款", "ids.invalid"),
    ("word", "hello", "ids.invalid"),
    ("detail url short id", "https://detail.1688.com/offer/12345.html", "ids.invalid"),
    ("search page", "https://s.1688.com/selloffer/offer_search.htm?keywords=T%D0%F4", "ids.invalid"),
    ("broken ipv6 host", "https://[x", "ids.invalid"),
    ("excel scientific notation", "7.41857E+11", "ids.excel_scientific"),
    ("excel scientific lower case", "6.23457e+11", "ids.excel_scientific"),
    ("excel scientific full-width", "７.４１８５７Ｅ＋１１", "ids.excel_scientific"),
    ("excel scientific with comment", "7.41857E+11  # 白色款", "ids.excel_scientific"),
    ("excel zero fraction", "623456789012.0", "ids.excel_zero_fraction"),
    ("excel zero fraction sixteen digits", "1234567890123456.0", "ids.invalid"),
    ("decimal that is no id", "623456789012.5", "ids.invalid"),
    (
        "two offers on one line",
        "https://m.1688.com/offer/623456789012.html https://m.1688.com/offer/623456789013.html",
        "ids.several_offers",
    ),
]


@pytest.mark.parametrize(("text", "key"), [case[1:] for case in REJECTED], ids=[case[0] for case in REJECTED])
def test_rejected_form(text, key):
    parsed = parse_ids([text])

    assert parsed.ids == ()
    assert [problem.key for problem in parsed.problems] == [key]


def test_repeated_url_counts_once():
    parsed = parse_ids(["https://m.1688.com/offer/623456789012.html 或 detail.1688.com/offer/623456789012.html"])

    assert parsed.ids == ("623456789012",)


def test_blank_and_comment_lines_skipped():
    lines = ["", "   ", "# 夏季上新", "  # indented comment", "\ufeff", "623456789012", "\t"]

    parsed = parse_ids(lines)

    assert parsed.ids == ("623456789012",)
    assert parsed.problems == ()
    assert parsed.duplicates == ()


def test_problem_line_fields():
    parsed = parse_ids(["623456789012", "", "  https://qr.1688.com/s/AbCd1234  "], path="batch.txt")

    assert parsed.problems == (
        IdLine(
            line=3,
            text="https://qr.1688.com/s/AbCd1234",
            offer_id=None,
            key="ids.short_link",
            params={
                "path": "batch.txt",
                "line": 3,
                "text": "https://qr.1688.com/s/AbCd1234",
                "url": "https://qr.1688.com/s/AbCd1234",
            },
        ),
    )


def test_excel_scientific_message():
    parsed = parse_ids(["623456789012", "7.41857E+11"], path="batch.txt")

    problem = parsed.problems[0]
    assert (problem.line, problem.key) == (2, "ids.excel_scientific")
    assert problem.params == {"path": "batch.txt", "line": 2, "text": "7.41857E+11"}
    assert render(problem.key, "zh", **problem.params) == (
        "batch.txt 第 2 行的 7.41857E+11 是 Excel 把商品 ID 变成的科学计数法，原来的数字已经丢失，无法还原。"
        "请在 Excel 中把这一列的单元格格式设为“文本”，再把商品 ID 重新粘贴进来"
    )
    assert render(problem.key, "en", **problem.params) == (
        "batch.txt line 2: 7.41857E+11 is an offer id that Excel turned into scientific notation, and its original "
        "digits are lost. In Excel, format the column as Text and paste the offer ids again"
    )


def test_excel_zero_fraction_names_id():
    parsed = parse_ids(["623456789012.00"], path="batch.txt")

    problem = parsed.problems[0]
    assert problem.params["offer_id"] == "623456789012"
    assert "写成 623456789012" in render(problem.key, "zh", **problem.params)


def test_not_1688_names_host():
    parsed = parse_ids(["https://item.taobao.com/item.htm?id=623456789012"])

    assert parsed.problems[0].params["host"] == "item.taobao.com"


def test_invalid_lines_do_not_stop_rest():
    lines = ["hello", "623456789012", "https://qr.1688.com/s/AbCd1234", "623456789013", "12345", "623456789014"]

    parsed = parse_ids(lines)

    assert parsed.ids == ("623456789012", "623456789013", "623456789014")
    assert [problem.line for problem in parsed.problems] == [1, 3, 5]
    assert [problem.key for problem in parsed.problems] == ["ids.invalid", "ids.short_link", "ids.invalid"]


def test_duplicates_keep_first():
    lines = [
        "623456789012",
        "https://detail.1688.com/offer/623456789013.html",
        "",
        "https://m.1688.com/offer/623456789012.html",
        "623456789013 # again",
        "623456789012",
    ]

    parsed = parse_ids(lines, path="batch.txt")

    assert parsed.ids == ("623456789012", "623456789013")
    assert [entry.line for entry in parsed.duplicates] == [4, 5, 6]
    assert [entry.offer_id for entry in parsed.duplicates] == ["623456789012", "623456789013", "623456789012"]
    assert {entry.key for entry in parsed.duplicates} == {"ids.duplicate"}
    assert [entry.params["first_line"] for entry in parsed.duplicates] == [1, 2, 1]
    assert parsed.problems == ()


def test_ids_stay_strings_with_zeros():
    parsed = parse_ids(["0123456789", "123456789"])

    assert parsed.ids == ("0123456789", "123456789")


def test_no_valid_id_is_not_error():
    parsed = parse_ids(["# nothing yet", "", "hello"])

    assert parsed.ids == ()
    assert len(parsed.problems) == 1


def test_read_crlf_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes(b"623456789012\r\n# comment\r\n\r\nhello\r\n623456789013\r\n")

    parsed = read_ids(path)

    assert parsed.ids == ("623456789012", "623456789013")
    assert [problem.line for problem in parsed.problems] == [4]
    assert parsed.problems[0].text == "hello"
    assert parsed.path == str(path)


def test_read_cr_only_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes(b"623456789012\rhello\r623456789013")

    parsed = read_ids(path)

    assert parsed.ids == ("623456789012", "623456789013")
    assert [problem.line for problem in parsed.problems] == [2]


def test_read_line_separator_not_a_break(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("623456789012\n# a\u2028b\x0cc\nhello\n", encoding="utf-8")

    parsed = read_ids(path)

    assert [problem.line for problem in parsed.problems] == [3]


def test_read_utf8_bom_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes("623456789012\n# 注释\n623456789013\n".encode("utf-8-sig"))

    parsed = read_ids(path)

    assert parsed.ids == ("623456789012", "623456789013")
    assert parsed.problems == ()


def test_read_gb18030_file(tmp_path):
    path = tmp_path / "ids.txt"
    text = "# 夏季上新\n【1688】纯棉T恤 https://m.1688.com/offer/623456789012.html 复制￥AbC￥\n店铺首页\n"
    path.write_bytes(text.encode("gb18030"))

    parsed = read_ids(path)

    assert parsed.ids == ("623456789012",)
    assert [problem.text for problem in parsed.problems] == ["店铺首页"]


def test_read_undecodable_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes(b"623456789012\n\xff\xff\x80\n")

    with pytest.raises(UsageError) as caught:
        read_ids(path)

    assert caught.value.key == "ids.encoding"
    assert caught.value.params == {"path": str(path)}


def test_read_utf16_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes("623456789012\r\n".encode("utf-16-le"))

    with pytest.raises(UsageError) as caught:
        read_ids(path)

    assert caught.value.key == "ids.encoding"


def test_read_missing_file(tmp_path):
    path = tmp_path / "nope.txt"

    with pytest.raises(UsageError) as caught:
        read_ids(path)

    assert caught.value.key == "ids.missing"
    assert caught.value.params == {"path": str(path)}


def test_read_directory(tmp_path):
    with pytest.raises(UsageError) as caught:
        read_ids(tmp_path)

    assert caught.value.key == "ids.unreadable"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_problem_messages_render(lang):
    lines = [
        "hello",
        "https://qr.1688.com/s/AbCd1234",
        "https://winport.m.1688.com/page/index.html?memberId=b2b-1",
        "https://item.taobao.com/item.htm?id=1",
        "m.1688.com/offer/623456789012.html detail.1688.com/offer/623456789013.html",
        "623456789014",
        "623456789014",
        "7.41857E+11",
        "623456789015.0",
    ]
    parsed = parse_ids(lines, path="batch.txt")

    keys = {entry.key for entry in parsed.problems + parsed.duplicates}
    assert keys == {
        "ids.invalid", "ids.short_link", "ids.shop_url", "ids.not_1688", "ids.several_offers", "ids.duplicate",
        "ids.excel_scientific", "ids.excel_zero_fraction",
    }

    for entry in parsed.problems + parsed.duplicates:
        text = render(entry.key, lang, **entry.params)
        assert entry.key in catalog()
        assert "batch.txt" in text
        assert str(entry.line) in text
        assert "{" not in text


@pytest.mark.parametrize("key", ["ids.missing", "ids.unreadable", "ids.encoding"])
def test_file_messages_in_both_languages(key):
    texts = catalog()[key]

    assert texts["zh"]
    assert texts["en"]


@pytest.mark.parametrize("profile", ["product.get", "item_get"])
def test_sample_ids_files(profile):
    folder = SAMPLES / profile
    path = SAMPLES / "ids.txt" if profile == "product.get" else folder / "ids.txt"

    parsed = read_ids(path)

    assert parsed.problems == ()
    assert len(parsed.duplicates) == 1
    assert len(parsed.ids) >= 11
    for offer_id in parsed.ids:
        assert (folder / f"{offer_id}.json").is_file(), offer_id


@pytest.mark.parametrize("profile", ["product.get", "item_get"])
def test_sample_ids_files_cover_folder(profile):
    folder = SAMPLES / profile
    path = SAMPLES / "ids.txt" if profile == "product.get" else folder / "ids.txt"

    listed = set(read_ids(path).ids)
    saved = {file.stem for file in folder.glob("*.json")}

    assert listed == saved


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*/*.json")), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_sample_json_parses(path):
    document = json.loads(path.read_text(encoding="utf-8"))

    assert isinstance(document, dict)


MISSING = object()

# (file under samples/, path into the JSON, expected value): each row pins one case that
# samples/README.md promises, so editing a sample cannot drop a case silently.
SAMPLE_FACTS = [
    ("product.get/672839104523.json", ("productInfo", "saleInfo", "quoteType"), 1),
    ("product.get/672839104523.json", ("productInfo", "skuInfos", 0, "price"), 19.9),
    ("product.get/672839104523.json", ("productInfo", "skuInfos", 0, "consignPrice"), 23.9),
    ("product.get/672839104523.json", ("productInfo", "skuInfos", 4, "attributes", 1, "skuImageUrl"), ""),
    ("product.get/672839104523.json", ("productInfo", "skuInfos", 5, "amountOnSale"), 0),
    ("product.get/715204938861.json", ("productInfo", "skuInfos"), MISSING),
    ("product.get/715204938861.json", ("productInfo", "saleInfo", "quoteType"), 0),
    ("product.get/715204938861.json", ("productInfo", "saleInfo", "priceRanges", 0, "price"), 0.29),
    ("product.get/698310457726.json", ("productInfo", "skuInfos", 0, "price"), 17.08),
    ("product.get/698310457726.json", ("productInfo", "skuInfos", 0, "cargoNumber"), "0123"),
    ("product.get/729463018854.json", ("productInfo", "description"), MISSING),
    ("product.get/655718290347.json", ("productInfo", "status"), "expired"),
    ("product.get/681124097753.json", ("productInfo", "status"), "member deleted"),
    ("product.get/703386614920.json", ("success",), False),
    ("product.get/690245871136.json", ("productInfo", "categoryID"), 99999999),
    ("product.get/736620459081.json", ("productInfo", "skuInfos", 0, "price"), MISSING),
    ("item_get/672839104523.json", ("item", "price"), "19.90"),
    ("item_get/672839104523.json", ("item", "skus", "sku", 5, "quantity"), "0"),
    ("item_get/715204938861.json", ("item", "price"), "0.29"),
    ("item_get/715204938861.json", ("item", "skus", "sku"), []),
    ("item_get/698310457726.json", ("item", "price"), "17.08"),
    ("item_get/729463018854.json", ("item", "desc"), ""),
    ("item_get/655718290347.json", ("reason",), "商品已下架"),
    ("item_get/703386614920.json", ("error_code",), "4004"),
    ("item_get/690245871136.json", ("item", "cid"), "99999999"),
]


def _dig(document, path):
    for step in path:
        if isinstance(step, int):
            document = document[step]
        elif step not in document:
            return MISSING
        else:
            document = document[step]
    return document


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    SAMPLE_FACTS,
    ids=[f"{name}:{'.'.join(map(str, path))}" for name, path, _ in SAMPLE_FACTS],
)
def test_sample_keeps_case(name, path, expected):
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))

    assert _dig(document, path) == expected


@pytest.mark.parametrize("profile", ["product.get", "item_get"])
def test_sample_sku_grid_has_gap(profile):
    document = json.loads((SAMPLES / profile / "672839104523.json").read_text(encoding="utf-8"))

    if profile == "product.get":
        rows = document["productInfo"]["skuInfos"]
        combos = {tuple(attribute["attributeValue"] for attribute in row["attributes"]) for row in rows}
    else:
        rows = document["item"]["skus"]["sku"]
        combos = {tuple(part.split(":")[3] for part in row["properties_name"].split(";")) for row in rows}

    assert len(rows) == 8
    assert ("雾霾蓝", "XL") not in combos


@pytest.mark.parametrize("profile", ["product.get", "item_get"])
def test_sample_hard_titles(profile):
    def title(offer_id):
        document = json.loads((SAMPLES / profile / f"{offer_id}.json").read_text(encoding="utf-8"))
        return document["productInfo"]["subject"] if profile == "product.get" else document["item"]["title"]

    long_title = title("741857203396")
    template_title = title("684092175530")

    assert "\u200b" in long_title
    assert "\ufeff" in long_title
    assert "ｉＰｈｏｎｅ" in long_title
    assert "{{ 7*7 }}" in template_title
    assert "{% raw %}" in template_title


@pytest.mark.parametrize("profile", ["product.get", "item_get"])
def test_sample_detail_html_traps(profile):
    document = json.loads((SAMPLES / profile / "672839104523.json").read_text(encoding="utf-8"))
    html = document["productInfo"]["description"] if profile == "product.get" else document["item"]["desc"]

    assert "data-lazyload-src=" in html
    assert "<script" in html
    assert 'href="https://www.example.com/contact"' in html


COMPACT_CASES = [
    ["623456789012", "https://detail.1688.com/offer/623456789013.html", "", "# comment", "623456789012", "not an id",
     "623456789013  # again", "623456789014", "623456789012"],
    ["623456789012"],
    ["", "# only comments"],
    ["0623456789012", "623456789012", "0623456789012"],  # a leading zero takes the general path
]


@pytest.mark.parametrize("lines", COMPACT_CASES)
def test_read_ids_matches_parse_ids(tmp_path, lines):
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    read = read_ids(path)
    parsed = parse_ids(lines, path=str(path))

    assert read.ids == parsed.ids
    assert read.problems == parsed.problems
    assert read.duplicates == parsed.duplicates


def test_read_ids_keeps_ids_as_text(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("623456789012\n623456789013\n", encoding="utf-8")

    ids = read_ids(path).ids

    assert list(ids) == ["623456789012", "623456789013"]
    assert ids[1] == "623456789013"
    assert ids[:1] == ("623456789012",)
    assert len(ids) == 2
