"""Tests of the detail-HTML filters: ``clean_html``, ``html_images`` and ``html_text``."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
import yaml

from etl.errors import DataError
from etl.filters.html import LAZY_SRC_ATTRIBUTES, clean_html, html_images, html_text

SAMPLE = Path("/work/shared/reference/samples/1688_onebound_item_get_639741530227.desc.html")
CDN = "https://cbu01.alicdn.com/img/ibank/"

CATALOG = yaml.safe_load(
    (Path(__file__).parent.parent / "etl" / "catalog" / "filters_tables_html.yaml").read_text(encoding="utf-8")
)

# Inputs that each exercise a different trap, used by the property tests at the end.
HARD_CASES = [
    '<p>前<script>alert("x")</script>后</p>',
    '<div onclick="steal()" style="color:red" class="c" id="i">文字</div>',
    '<a href="https://other.shop/x">店铺</a>尾',
    '<a href="javascript:alert(1)">点我</a>',
    "<p><b>unclosed",
    "<html><head><title>标题</title><style>p{color:red}</style></head><body><p>正文</p></body></html>",
    '<img data-src="//cbu01.alicdn.com/a.jpg" src="//g.alicdn.com/s.gif"><img src="data:image/gif;base64,R0lGOD">尾',
    '<img src="https://x.cn/1.jpg"><p><img src="https://x.cn/1.jpg"></p>',
    '<p><img src="https://x.cn/m.jpg" usemap="#m"><map name="m"><area href="https://other.shop"></map>图后</p>',
    "{{ 7*7 }} {% raw %}x{% endraw %}",
    "<p>&nbsp;中文&amp;&lt;b&gt;</p>",
    '<iframe src="https://x.cn"></iframe>框后<object data="x">内</object>对象后',
]


def image_sources(fragment: str) -> list[str]:
    if not fragment:
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [image.get("src") for image in root.iter("img")]


# --- the real 1688 sample ------------------------------------------------------------------


@pytest.fixture
def sample() -> str:
    if not SAMPLE.exists():
        pytest.skip(f"sample not available: {SAMPLE}")
    return SAMPLE.read_text(encoding="utf-8")


def test_sample_cleaned_structure(sample):
    cleaned = clean_html(sample)

    assert not cleaned.startswith("<html")
    assert "<body" not in cleaned
    assert "<map" not in cleaned
    assert "usemap" not in cleaned
    assert "offer-template" not in cleaned
    assert "&#" not in cleaned
    assert "工作服 厂服 工衣 polo衫" in cleaned


def test_sample_keeps_every_image(sample):
    cleaned = clean_html(sample)

    assert cleaned.count("<img") == 20
    assert '<img alt="1_15" height="1292" src="' + CDN in cleaned
    assert 'width="787"' in cleaned


def test_sample_nbsp_is_text(sample):
    assert "<p>\u00a0</p>" in clean_html(sample)


def test_sample_images(sample):
    images = html_images(sample)

    assert len(images) == 19
    assert images[0] == CDN + "O1CN01iWAeFQ1W6xsnlmn2S_!!2207146052740-0-cib.jpg"
    assert images[2] == CDN + "O1CN01qCE1tY1W6xsnPPJjX_!!2207146052740-0-cib.jpg"
    assert images[-1] == CDN + "O1CN014pKT5l1W6xsvXBMiQ_!!2207146052740-0-cib.jpg"


def test_sample_text(sample):
    assert html_text(sample) == (
        "工作服 厂服 工衣 polo衫 广东工作服定制 深圳工作服定制 纯棉polo衫定做 印logo 绣花 "
        "东莞polo衫定制 全棉翻领T恤衫定制 北京polo衫定制"
    )


# --- empty and invalid input ---------------------------------------------------------------


@pytest.mark.parametrize("html", [None, "", "   \n\t", "<!-- only a comment -->", "<head><title>t</title></head>"])
def test_empty_input(html):
    assert clean_html(html) == ""
    assert html_images(html) == []
    assert html_text(html) == ""


@pytest.mark.parametrize("html", [b"<p>x</p>", 12, ["<p>x</p>"], {"desc": "<p>x</p>"}])
def test_not_text_rejected(html):
    for function in (clean_html, html_images, html_text):
        with pytest.raises(DataError) as caught:
            function(html)
        assert caught.value.key == "html.not_text"
        assert caught.value.params == {"type": type(html).__name__}


def test_not_text_message_in_catalogue():
    for lang in ("zh", "en"):
        assert "list" in CATALOG["html.not_text"][lang].format(type="list")


# --- lazy-loaded images --------------------------------------------------------------------


@pytest.mark.parametrize("attribute", LAZY_SRC_ATTRIBUTES)
def test_lazy_attribute_becomes_src(attribute):
    html = f'<img src="https://g.alicdn.com/s.gif" {attribute}="//cbu01.alicdn.com/img/ibank/a.jpg">'

    assert clean_html(html) == f'<img src="{CDN}a.jpg">'


def test_lazy_attribute_order():
    html = (
        '<img data-tfs-url="https://x.cn/5.jpg" data-original="https://x.cn/4.jpg" '
        'data-ks-lazyload="https://x.cn/3.jpg" data-src="https://x.cn/2.jpg" '
        'data-lazyload-src="https://x.cn/1.jpg">'
    )

    assert html_images(html) == ["https://x.cn/1.jpg"]
    assert "data-" not in clean_html(html)


def test_lazy_attribute_empty_skipped():
    html = '<img data-lazyload-src="  " data-src="https://x.cn/2.jpg" src="https://x.cn/s.gif">'

    assert html_images(html) == ["https://x.cn/2.jpg"]


def test_lazy_attribute_absent_keeps_src():
    assert html_images('<img src=" https://x.cn/1.jpg ">') == ["https://x.cn/1.jpg"]


@pytest.mark.parametrize(
    ("src", "base_url", "expected"),
    [
        ("//cbu01.alicdn.com/a.jpg", "https:", ["https://cbu01.alicdn.com/a.jpg"]),
        ("http://cbu01.alicdn.com/a.jpg", "https:", ["http://cbu01.alicdn.com/a.jpg"]),
        ("/img/a.jpg", "https://detail.1688.com/offer/1.html", ["https://detail.1688.com/img/a.jpg"]),
        ("a.jpg", "https://detail.1688.com/offer/1.html", ["https://detail.1688.com/offer/a.jpg"]),
        ("/img/a.jpg", "https:", []),
        ("a.jpg", "https:", []),
        ("data:image/png;base64,iVBORw0KGgo=", "https:", []),
        ("javascript:alert(1)", "https:", []),
        ("ftp://x.cn/a.jpg", "https:", []),
        ("http://[bad/a.jpg", "https:", []),
        ("", "https:", []),
    ],
)
def test_image_addresses(src, base_url, expected):
    html = f'<p>前<img src="{src}">后</p>'

    assert html_images(html, base_url) == expected
    assert image_sources(clean_html(html, base_url)) == expected


def test_image_without_src_removed():
    assert clean_html("<p>前<img alt='x'>后</p>") == "<p>前后</p>"


def test_data_uri_dropped_keeps_tail():
    html = '<img src="data:image/gif;base64,R0lGODlh">说明'

    assert clean_html(html) == "说明"
    assert html_images(html) == []


def test_duplicate_images_listed_once():
    html = '<img src="https://x.cn/1.jpg"><img src="//x.cn/2.jpg"><img data-src="https://x.cn/1.jpg">'

    assert html_images(html) == ["https://x.cn/1.jpg", "https://x.cn/2.jpg"]
    assert clean_html(html).count("https://x.cn/1.jpg") == 2


def test_image_map_removed():
    html = '<p><img src="https://x.cn/m.jpg" usemap="#m"><map name="m"><area href="https://o.cn"></map>图后</p>'

    assert clean_html(html) == '<p><img src="https://x.cn/m.jpg">图后</p>'


# --- removed elements keep their tail ------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>前<script>alert(1)</script>后</p>", "<p>前后</p>"),
        ("<script>alert(1)</script>开头后", "开头后"),
        ("<p>前<style>p{}</style>后</p>", "<p>前后</p>"),
        ('<p>前<iframe src="https://x.cn">框</iframe>后</p>', "<p>前后</p>"),
        ('<p>前<object data="x.swf"><param name="a">内</object>后</p>', "<p>前后</p>"),
        ('<p>前<embed src="x.swf">后<b>粗</b></p>', "<p>前后<b>粗</b></p>"),
        ('<p>前<embed src="x.swf"></embed>后</p>', "<p>前后</p>"),
        ('<p>前<source src="x.mp4">后</p>', "<p>前后</p>"),
        ('<p>前<track src="x.vtt">后</p>', "<p>前后</p>"),
        ("<p>前<keygen>后</p>", "<p>前后</p>"),
        ("<p>长单<wbr>词</p>", "<p>长单词</p>"),
        ('<picture><source srcset="https://x.cn/1.webp"><img src="https://x.cn/1.jpg"></picture>尾', '<img src="https://x.cn/1.jpg">尾'),
        ('<p>前<link rel="stylesheet" href="x.css">后</p>', "<p>前后</p>"),
        ('<p>前<meta name="a" content="b">后</p>', "<p>前后</p>"),
        ('<p>前<input name="q">后<button>按钮</button>尾</p>', "<p>前后尾</p>"),
        ('<form action="https://o.cn">表单<select><option>1</option></select>内</form>', "表单内"),
        ('<p>前<video src="https://x.cn/v.mp4">视频</video>后</p>', "<p>前后</p>"),
        ("<p>前<svg><script>alert(1)</script></svg>后</p>", "<p>前后</p>"),
        ('<p>前<noscript><img src="https://x.cn/1.jpg"></noscript>后</p>', "<p>前后</p>"),
        ("<p>前<!-- 注释 -->后</p>", "<p>前后</p>"),
    ],
)
def test_removed_element_keeps_tail(html, expected):
    assert clean_html(html) == expected


# --- attributes and links ------------------------------------------------------------------


def test_event_attributes_removed():
    html = '<p onclick="steal()" onmouseover="x()">文字<img src="https://x.cn/1.jpg" onerror="x()"></p>'

    assert clean_html(html) == '<p>文字<img src="https://x.cn/1.jpg"></p>'


def test_style_class_id_removed():
    html = '<div style="color:red;background:url(https://o.cn/bg.jpg)" class="c" id="i">文字</div>'

    assert clean_html(html) == "<div>文字</div>"


def test_kept_attributes():
    html = (
        '<table border="1" width="750"><tr><td colspan="2" rowspan="1" style="x">格</td></tr></table>'
        '<img src="https://x.cn/1.jpg" alt="图" width="790" height="300" title="t" srcset="a 2x">'
    )

    assert clean_html(html) == (
        '<table width="750"><tr><td colspan="2" rowspan="1">格</td></tr></table>'
        '<img src="https://x.cn/1.jpg" alt="图" width="790" height="300">'
    )


def test_link_unwrapped_keeps_text():
    html = '<p>去<a href="https://other.shop" target="_blank">店铺</a>看看</p>'

    assert clean_html(html) == "<p>去店铺看看</p>"


def test_link_unwrapped_keeps_children():
    html = '<a href="https://other.shop"><img src="https://x.cn/1.jpg"><b>粗</b></a>尾'

    assert clean_html(html) == '<img src="https://x.cn/1.jpg"><b>粗</b>尾'


def test_javascript_link_removed():
    cleaned = clean_html('<a href="javascript:alert(1)" onclick="x()">点我</a>')

    assert cleaned == "点我"
    assert "javascript" not in cleaned


def test_javascript_url_in_style_removed():
    cleaned = clean_html('<p style="background:url(javascript:alert(1))">字</p>')

    assert "javascript" not in cleaned


# --- text handling -------------------------------------------------------------------------


def test_chinese_not_entities():
    cleaned = clean_html("<p>纯棉 T恤 ©️ 😀</p>")

    assert cleaned == "<p>纯棉 T恤 ©️ 😀</p>"


def test_entities_decoded_and_markup_escaped():
    assert clean_html("<p>&nbsp;&#20013;&amp;&lt;b&gt;</p>") == "<p>\u00a0中&amp;&lt;b&gt;</p>"


def test_leading_text_escaped():
    assert clean_html("a &lt; b &amp; c<br>d") == "a &lt; b &amp; c<br>d"


@pytest.mark.parametrize("text", ["{{ 7*7 }}", "{% raw %}x{% endraw %}", "{# c #}", "${price}"])
def test_template_syntax_verbatim(text):
    assert clean_html(f"<p>{text}</p>") == f"<p>{text}</p>"
    assert html_text(text) == text


def test_broken_html():
    assert clean_html("<p><b>unclosed") == "<p><b>unclosed</b></p>"


def test_stray_closing_tags():
    assert clean_html("</div>文字</p></b>") == "文字"


def test_full_document():
    html = (
        '<!DOCTYPE html><html><head><meta charset="gbk"><title>标题</title>'
        "<style>p{color:red}</style><script>var a=1;</script></head>"
        "<body><p>正文</p></body></html>"
    )

    assert clean_html(html) == "<p>正文</p>"
    assert html_text(html) == "正文"


def test_xml_declaration_accepted():
    assert clean_html('<?xml version="1.0" encoding="gbk"?><p>中文</p>') == "<p>中文</p>"


def test_lone_surrogate_replaced():
    # json.loads('"\\ud800"') returns a str that UTF-8 cannot encode.
    assert clean_html("<p>前\ud800后</p>") == "<p>前?后</p>"


def test_control_characters_removed():
    assert clean_html("<p>a\x00b\x01c\x1fd\x7fe</p>") == "<p>abcde</p>"


def test_html_whitespace_controls_kept():
    assert clean_html("<pre>a\tb\nc\x0cd</pre>") == "<pre>a\tb\nc\x0cd</pre>"


def test_unknown_tags_unwrapped():
    assert clean_html("<p>前<o:p>内</o:p><custom-tag>定</custom-tag>后</p>") == "<p>前内定后</p>"


# --- html_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>a</p><p>b</p>", "a b"),
        ("a<br>b", "a b"),
        ("<b>粗</b>体", "粗体"),
        ("<div>x<p>y</p>z</div>", "x y z"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("<p>&nbsp; 多　个\n\t空白 </p>", "多 个 空白"),
        ("<p>前<script>alert(1)</script>后</p>", "前后"),
        ('<a href="https://o.cn">店铺</a>', "店铺"),
        ('<img src="https://x.cn/1.jpg" alt="图片说明">', ""),
    ],
)
def test_html_text(html, expected):
    assert html_text(html) == expected


# --- properties over the hard cases --------------------------------------------------------


@pytest.mark.parametrize("html", HARD_CASES)
def test_clean_html_idempotent(html):
    once = clean_html(html)

    assert clean_html(once) == once


@pytest.mark.parametrize("html", HARD_CASES)
def test_images_match_cleaned_html(html):
    sources = image_sources(clean_html(html))

    assert html_images(html) == list(dict.fromkeys(sources))


@pytest.mark.parametrize("html", HARD_CASES)
def test_cleaned_html_has_no_active_content(html):
    cleaned = clean_html(html).lower()

    for fragment in ("<script", "<style", "<iframe", "<object", "<a ", "href=", "onclick", "javascript:", "<html", "<body"):
        assert fragment not in cleaned, fragment
