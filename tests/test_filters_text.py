import pytest

from etl.errors import DataError
from etl.filters.text import banned_words_in, clean_title, display_width, load_word_list, truncate_width
from etl.messages import catalog

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧, one cluster of 5 code points
FLAG_CN = "\U0001f1e8\U0001f1f3"  # 🇨🇳
HEART = "\u2764\ufe0f"  # ❤️, a text-default pictograph with VS16
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣
E_ACUTE = "e\u0301"  # e + COMBINING ACUTE ACCENT


def raised_key(function, *args, **kwargs):
    with pytest.raises(DataError) as caught:
        function(*args, **kwargs)
    return caught.value.key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("中文", 4),
        ("ＡＢＣ", 6),
        ("\u3000", 2),
        ("中a\U0001f600", 5),
        (FAMILY, 2),
        (FLAG_CN, 2),
        (FLAG_CN + "\U0001f1fa\U0001f1f8", 4),
        (HEART, 2),
        (KEYCAP_ONE, 2),
        ("\U0001f44d\U0001f3fd", 2),
        (E_ACUTE, 1),
        ("caf" + E_ACUTE, 4),
        ("\u200b", 0),
        ("a\u200bb", 2),
        ("a\x07b", 2),
        ("\r\n", 0),
        ("{{ 7*7 }}", 9),
    ],
)
def test_display_width(text, expected):
    assert display_width(text) == expected


def test_display_width_rejects_none():
    assert raised_key(display_width, None) == "text.not_text"


def test_truncate_cjk_straddling_limit():
    title = "A" * 59 + "中" * 5 + "B"
    assert display_width(title) == 70
    assert truncate_width(title, 60) == "A" * 59


REAL_TITLE = "2024夏季新款纯棉短袖T恤男士宽松圆领半袖上衣潮流百搭打底衫 M大码加肥2件"


def test_truncate_real_title_to_60():
    assert display_width(REAL_TITLE) == 70
    assert truncate_width(REAL_TITLE, 60) == "2024夏季新款纯棉短袖T恤男士宽松圆领半袖上衣潮流百搭打底衫 M"


def test_truncate_real_title_width():
    # "大" would take columns 60 and 61, so the cut leaves 59 columns.
    assert display_width(truncate_width(REAL_TITLE, 60)) == 59


def test_truncate_family_exactly_at_limit():
    title = "中" * 29 + FAMILY + "x"
    assert display_width(title) == 61
    assert truncate_width(title, 60) == "中" * 29 + FAMILY


def test_truncate_family_straddling_limit():
    assert truncate_width("A" * 59 + FAMILY + "B", 60) == "A" * 59


def test_truncate_never_leaves_dangling_zwj():
    for width in range(0, 8):
        result = truncate_width("ab" + FAMILY + FAMILY, width)
        assert not result.endswith("\u200d"), width


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        (E_ACUTE * 5, 3, E_ACUTE * 3),
        ("caf" + E_ACUTE + "s", 4, "caf" + E_ACUTE),
        ("AAA" + FLAG_CN + "\U0001f1fa\U0001f1f8", 6, "AAA" + FLAG_CN),
        ("AAA" + FLAG_CN, 4, "AAA"),
        ("a" + HEART + "b", 2, "a"),
        ("a" + HEART + "b", 3, "a" + HEART),
        ("a" + KEYCAP_ONE + "b", 2, "a"),
        ("ab\u200bcd", 2, "ab\u200b"),
        ("hello world", 6, "hello"),
        ("中\u3000文字", 4, "中"),
        ("abc", 0, ""),
    ],
)
def test_truncate_whole_clusters(text, width, expected):
    assert truncate_width(text, width) == expected


@pytest.mark.parametrize(
    ("text", "width"),
    [("abc  ", 10), ("abc  ", 5), ("中文", 4), ("", 0), (FAMILY, 2)],
)
def test_truncate_fitting_text_unchanged(text, width):
    assert truncate_width(text, width) == text


@pytest.mark.parametrize(
    ("text", "width", "ellipsis", "expected"),
    [
        ("中文标题很长", 8, "…", "中文标…"),
        ("中文标题很长", 8, "……", "中文标……"),
        ("中文标题很长", 12, "…", "中文标题很长"),
        ("hello world", 7, "…", "hello…"),
        ("hello world", 8, "...", "hello..."),
        ("abcdef", 2, "......", "ab"),
        ("abcdef", 3, "...", "..."),
    ],
)
def test_truncate_with_ellipsis(text, width, ellipsis, expected):
    assert truncate_width(text, width, ellipsis) == expected


@pytest.mark.parametrize("width", [-1, "60", 6.0, True, None])
def test_truncate_rejects_width(width):
    assert raised_key(truncate_width, "abc", width) == "text.width_invalid"


def test_truncate_rejects_none_text():
    assert raised_key(truncate_width, None, 60) == "text.not_text"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("ｔ恤！（新款）", "t恤!(新款)"),
        ("新款\u3000连衣裙", "新款 连衣裙"),
        ("连\u200b衣\u200c裙\u200d\u2060\ufeff\u180e", "连衣裙"),
        ("红色\x07连衣裙\x00", "红色连衣裙"),
        ("\u202e红色\u202c连衣裙\u00ad", "红色连衣裙"),
        ("红色\n连衣裙\t夏", "红色 连衣裙 夏"),
        ("  a \t\r\n b  ", "a b"),
        ("a\u00a0b", "a b"),
        ("\U0001f525爆款" + FAMILY + "连衣裙" + FLAG_CN + HEART + KEYCAP_ONE, "爆款连衣裙"),
        ("\U0001f44d\U0001f3fd好评", "好评"),
        ("⌚手表✅", "手表"),
        ("\U0001f56f蜡烛", "蜡烛"),
        ("★正品★ © ™", "★正品★ © ™"),
        ("♥ 爱心", "♥ 爱心"),
        ("\u2665\ufe0f 爱心", "爱心"),
        ("中\ufe0f国", "中国"),
        ("caf" + E_ACUTE, "caf" + E_ACUTE),
        ("{{ 7*7 }} 连衣裙 {% raw %}", "{{ 7*7 }} 连衣裙 {% raw %}"),
        ("{%- endraw %}{# note #}", "{%- endraw %}{# note #}"),
        ("", ""),
    ],
)
def test_clean_title(text, expected):
    assert clean_title(text) == expected


def test_clean_title_keeps_emoji_whole_when_asked():
    assert clean_title("爆款" + FAMILY + " " + FLAG_CN, strip_emoji=False) == "爆款" + FAMILY + " " + FLAG_CN


def test_clean_title_removes_zero_width_when_keeping_emoji():
    assert clean_title("连\u200b衣裙" + HEART, strip_emoji=False) == "连衣裙" + HEART


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("全网最低价 第一品牌", ["最", "最低价", "第一"], "全网 品牌"),
        ("全网最低价", ["最", "最低价"], "全网"),
        ("全网最低价", ["最低价", "最"], "全网"),
        ("最好的最新款", ["最"], "好的新款"),
        ("Best Seller NO.1 t恤", ["no.1"], "Best Seller t恤"),
        ("ＮＯ．１ t恤", ["no.1"], "t恤"),
        ("no1 t恤", ["ＮＯ１"], "t恤"),
        ("café", ["CAFÉ"], "café"),
        ("CAFÉ", ["cafÉ"], ""),
        ("最\u200b低价包邮", ["最低价"], "包邮"),
        ("最最好好", ["最好"], ""),
        ("最\U0001f525好", ["最好"], ""),
        ("国家级 认证", ["国家级"], "认证"),
        ("abc", ["", "  "], "abc"),
        ("a.c abc", ["a.c"], "abc"),
        ("价格{{ 7*7 }}", ["7*7"], "价格{{ }}"),
    ],
)
def test_clean_title_banned_words(text, words, expected):
    assert clean_title(text, words) == expected


def test_clean_title_none_word_list():
    assert clean_title("全网最低价", None) == "全网最低价"


def test_banned_words_in_none_word_list():
    assert banned_words_in("全网最低价", None) == []


def test_clean_title_accepts_tuple_from_word_list():
    assert clean_title("全网最低价", ("最低价",)) == "全网"


@pytest.mark.parametrize(
    ("text", "words"),
    [(None, ()), (123, ()), ("abc", "最"), ("abc", 5), ("abc", ["最", 1]), ("abc", [None])],
)
def test_clean_title_rejects_non_text(text, words):
    assert raised_key(clean_title, text, words) == "text.not_text"


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        ("全网最低价 第一品牌", ["第一", "最低价", "最", "国家级"], ["第一", "最低价", "最"]),
        ("全网最低价", ["最", "最"], ["最"]),
        ("no.1 款", ["NO.1"], ["NO.1"]),
        ("ＮＯ．１ 款", ["no.1"], ["no.1"]),
        ("最\u200b低价", ["最低价"], ["最低价"]),
        ("普通连衣裙", ["最", "第一"], []),
        ("café", ["CAFÉ"], []),
        ("abc", [""], []),
    ],
)
def test_banned_words_in(text, words, expected):
    assert banned_words_in(text, words) == expected


def test_banned_words_in_rejects_none():
    assert raised_key(banned_words_in, None, ["最"]) == "text.not_text"


def test_load_word_list_utf8(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_text("最\n第一\n\n# 注释行\n  国家级  \n最\n\t\nC#语言\n", encoding="utf-8")
    assert load_word_list(path) == ("最", "第一", "国家级", "C#语言")


def test_load_word_list_utf8_bom(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "最\r\n第一\r\n".encode("utf-8"))
    assert load_word_list(path) == ("最", "第一")


def test_load_word_list_gb18030(tmp_path):
    raw = "# 广告法禁用词\r\n最低价\r\n国家级\r\n全网第一\r\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    path = tmp_path / "banned-gb.txt"
    path.write_bytes(raw)
    assert load_word_list(path) == ("最低价", "国家级", "全网第一")


def test_load_word_list_accepts_str_path(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_text("最\n", encoding="utf-8")
    assert load_word_list(str(path)) == ("最",)


def test_load_word_list_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert load_word_list(path) == ()


def test_load_word_list_rejects_utf16(tmp_path):
    path = tmp_path / "banned-utf16.txt"
    path.write_bytes("最低价\n".encode("utf-16"))
    with pytest.raises(DataError) as caught:
        load_word_list(path)
    assert caught.value.key == "text.word_list_encoding"
    assert caught.value.params == {"path": str(path)}


def test_load_word_list_missing(tmp_path):
    path = tmp_path / "absent.txt"
    with pytest.raises(DataError) as caught:
        load_word_list(path)
    assert caught.value.key == "text.word_list_missing"
    assert caught.value.params == {"path": str(path)}


def test_load_word_list_directory(tmp_path):
    assert raised_key(load_word_list, tmp_path) == "text.word_list_unreadable"


def test_loaded_words_clean_title(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_bytes("最\n最低价\n".encode("gb18030"))
    assert clean_title("全网最低价连衣裙", load_word_list(path)) == "全网连衣裙"


MESSAGE_PARAMS = {
    "text.not_text": {"value": None},
    "text.width_invalid": {"value": -1},
    "text.word_list_missing": {"path": "tables/banned.txt"},
    "text.word_list_unreadable": {"path": "tables", "reason": "Is a directory"},
    "text.word_list_encoding": {"path": "tables/banned.txt"},
}


def test_messages_cover_every_text_key():
    assert {key for key in catalog() if key.startswith("text.")} == set(MESSAGE_PARAMS)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", sorted(MESSAGE_PARAMS))
def test_message_formats(key, lang):
    assert catalog()[key][lang].format(**MESSAGE_PARAMS[key])


def test_message_shows_path():
    error = DataError("text.word_list_missing", path="tables/banned.txt")
    assert str(error) == "word list file not found: tables/banned.txt; check the path in the rule file's tables."


@pytest.mark.parametrize(
    ("title", "expected"),
    [("T恤 &amp; 短裤", "T恤 & 短裤"), ("商标&#8482;", "商标™"), ("尺寸&lt;10cm", "尺寸<10cm"), ("A&B", "A&B")],
)
def test_clean_title_decodes_html_references(title, expected):
    assert clean_title(title) == expected
