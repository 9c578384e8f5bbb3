"""Tests of the CSV mapping tables (``load_table``) and the ``lookup`` filter."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from etl.errors import DataError
from etl.filters.tables import Table, TableError, check_word_list, load_table, lookup

CATALOG = yaml.safe_load(
    (Path(__file__).parent.parent / "etl" / "catalog" / "filters_tables_html.yaml").read_text(encoding="utf-8")
)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "category.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def render_zh(key: str, params: dict) -> str:
    from etl.messages import render

    return render(key, "zh", **params)


def problems_of(path: Path) -> list[tuple[int, str]]:
    with pytest.raises(TableError) as caught:
        load_table(path)
    return [(line, key) for line, key, _params in caught.value.problems]


# --- decoding and delimiters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "gb18030", "gbk"],
)
def test_load_table_encodings(tmp_path, encoding):
    path = write(tmp_path, "1688类目,抖音类目\n122232007,女装/连衣裙\n", encoding)

    table = load_table(path)

    assert table.key_column == "1688类目"
    assert table.value_column == "抖音类目"
    assert dict(table.rows) == {"122232007": "女装/连衣裙"}


def test_load_table_bom_not_in_header(tmp_path):
    path = write(tmp_path, "id,target\n1,2\n", "utf-8-sig")

    table = load_table(path, key_column="id", value_column="target")

    assert table.key_column == "id"


def test_load_table_utf16_rejected(tmp_path):
    # Excel's "Unicode Text" export is UTF-16 with a BOM, which is neither supported encoding.
    path = write(tmp_path, "id\tcategory\n1\t2\n", "utf-16")

    with pytest.raises(DataError) as caught:
        load_table(path)

    assert caught.value.key == "table.encoding"
    assert caught.value.params == {"path": str(path)}


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("id,target\n1,a;b\n", ","),
        ("id;target\n1;a,b\n", ";"),
        ("id\ttarget\n1\ta,b;c\n", "\t"),
        ("# comment, with; delimiters\nid;target\n1;a,b\n", ";"),
        ("\t\t\nid;target\n1;a,b\n", ";"),
    ],
)
def test_load_table_delimiters(tmp_path, text, delimiter):
    table = load_table(write(tmp_path, text))

    assert table.delimiter == delimiter
    assert table.rows["1"] == text.splitlines()[-1].split(delimiter, 1)[1]


def test_load_table_keeps_text(tmp_path):
    path = write(tmp_path, "code,target\n0123,007\n  42 , 50011740 \n")

    table = load_table(path)

    assert table.rows["0123"] == "007"
    assert table.rows["42"] == "50011740"
    assert "123" not in table.rows


def test_load_table_crlf_and_quoted_cells(tmp_path):
    path = write(tmp_path, 'id,target\r\n"1","a, b"\r\n2,"x\r\ny"\r\n3,c\r\n')

    table = load_table(path)

    assert table.rows["1"] == "a, b"
    assert table.rows["2"] == "x\r\ny"
    assert table.lines["3"] == 5


def test_load_table_skips_blank_and_comment_rows(tmp_path):
    text = "# mapping for Douyin\n\nid,target\n,,\n1,a\n#2,b\n  # 3,c\n\n4,d\n"

    table = load_table(write(tmp_path, text))

    assert dict(table.rows) == {"1": "a", "4": "d"}
    assert dict(table.lines) == {"1": 5, "4": 9}


def test_load_table_extra_cells_ignored(tmp_path):
    table = load_table(write(tmp_path, "id,target,note\n1,a,女装\n2,b\n"))

    assert dict(table.rows) == {"1": "a", "2": "b"}


def test_load_table_header_only(tmp_path):
    table = load_table(write(tmp_path, "id,target\n"))

    assert dict(table.rows) == {}


# --- columns -------------------------------------------------------------------------------


def test_load_table_named_columns(tmp_path):
    path = write(tmp_path, "名称,淘宝类目,抖音类目\n连衣裙,50010850,20000\n")

    table = load_table(path, key_column="抖音类目", value_column="名称")

    assert table.key_column == "抖音类目"
    assert table.value_column == "名称"
    assert dict(table.rows) == {"20000": "连衣裙"}


def test_load_table_column_missing(tmp_path):
    path = write(tmp_path, "id,taobao\n1,2\n")

    with pytest.raises(DataError) as caught:
        load_table(path, value_column="douyin")

    assert caught.value.key == "table.column_missing"
    assert caught.value.params == {"path": str(path), "column": "douyin", "columns": ["id", "taobao"]}


def test_load_table_one_column(tmp_path):
    # A pipe is not a supported delimiter, so the whole line is one column.
    path = write(tmp_path, "id|target\n1|2\n")

    with pytest.raises(DataError) as caught:
        load_table(path)

    assert caught.value.key == "table.too_few_columns"
    assert caught.value.params["columns"] == ["id|target"]


# --- whole-file errors ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", ",,\n"])
def test_load_table_empty(tmp_path, text):
    path = write(tmp_path, text)

    with pytest.raises(DataError) as caught:
        load_table(path)

    assert caught.value.key == "table.empty"


def test_load_table_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"

    with pytest.raises(DataError) as caught:
        load_table(path)

    assert caught.value.key == "table.missing"
    assert caught.value.params == {"path": str(path)}


def test_load_table_directory(tmp_path):
    with pytest.raises(DataError) as caught:
        load_table(tmp_path)

    assert caught.value.key == "table.unreadable"


# --- row problems --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "key"),
    [
        ("1.22232E+08,50010850", "table.excel_number"),
        ("1.22232e08,50010850", "table.excel_number"),
        ("122232007.0,50010850", "table.excel_number"),
        ("122232007,5.0011E+07", "table.excel_number"),
        ("122232007,50010850.00", "table.excel_number"),
        ("122232007", "table.bad_row"),
        (",50010850", "table.empty_key"),
        ("122232007,", "table.empty_value"),
        ("122232007,  ", "table.empty_value"),
        ('"12"3,50010850', "table.bad_csv"),
    ],
)
def test_load_table_row_problem(tmp_path, row, key):
    path = write(tmp_path, f"id,target\n{row}\n")

    assert problems_of(path) == [(2, key)]


@pytest.mark.parametrize("cell", ["1.5", "12.30", "E100", "1e", "0x10", "0123"])
def test_load_table_decimal_like_text_accepted(tmp_path, cell):
    table = load_table(write(tmp_path, f"id,target\n{cell},a\n"))

    assert table.rows[cell] == "a"


def test_load_table_excel_number_params(tmp_path):
    path = write(tmp_path, "1688类目,抖音类目\n1.22232E+08,20000\n")

    with pytest.raises(TableError) as caught:
        load_table(path)

    assert caught.value.problems[0][2] == {
        "path": str(path),
        "line": 2,
        "column": "1688类目",
        "value": "1.22232E+08",
    }


def test_load_table_duplicate_key(tmp_path):
    path = write(tmp_path, "id,target\n1,a\n2,b\n1,c\n")

    with pytest.raises(TableError) as caught:
        load_table(path)

    line, key, params = caught.value.problems[0]
    assert (line, key) == (4, "table.duplicate_key")
    assert params["first_line"] == 2
    assert params["first_value"] == "a"
    assert params["value"] == "c"


def test_load_table_same_row_twice_accepted(tmp_path):
    table = load_table(write(tmp_path, "id,target\n1,a\n 1 , a \n"))

    assert dict(table.rows) == {"1": "a"}
    assert table.lines["1"] == 2


def test_load_table_collects_all_problems(tmp_path):
    text = (
        "id,target\n"  # 1
        "1,a\n"  # 2
        "1.2E+08,b\n"  # 3
        "\n"  # 4
        "3\n"  # 5
        "4,\n"  # 6
        "1,z\n"  # 7
        "# 8,ignored\n"  # 8
        ",x\n"  # 9
        "5.0,6.0\n"  # 10
        '"7"x,y\n'  # 11
        "8,ok\n"  # 12
    )

    assert problems_of(write(tmp_path, text)) == [
        (3, "table.excel_number"),
        (5, "table.bad_row"),
        (6, "table.empty_value"),
        (7, "table.duplicate_key"),
        (9, "table.empty_key"),
        (10, "table.excel_number"),
        (10, "table.excel_number"),
        (11, "table.bad_csv"),
    ]


def test_table_error_summary(tmp_path):
    path = write(tmp_path, "id,target\n1,\n2,\n")

    with pytest.raises(TableError) as caught:
        load_table(path)

    assert caught.value.key == "table.invalid"
    assert caught.value.params == {"path": str(path), "count": 2}
    assert isinstance(caught.value, DataError)


def test_table_error_render_lists_problems(tmp_path):
    path = write(tmp_path, "id,target\n1,\n1.5E+3,x\n")

    with pytest.raises(TableError) as caught:
        load_table(path)
    lines = caught.value.render("zh").splitlines()

    assert lines[0] == f"映射表 {path} 有 2 处错误，改正后再运行："
    assert lines[1].startswith("  第 2 行：键“1”")
    assert lines[2].startswith("  第 3 行：“id”列的“1.5E+3”已被 Excel 转成了数字")


def test_table_error_str_is_english(tmp_path):
    path = write(tmp_path, "id,target\n1,\n")

    with pytest.raises(TableError) as caught:
        load_table(path)

    assert str(caught.value).splitlines() == [
        f"mapping table {path} has 1 error(s); fix them and run again:",
        '  line 2: key "1" has no value in column "target". Fill in the target value or delete the row.',
    ]


def test_table_error_pickles(tmp_path):
    path = write(tmp_path, "id,target\n1,\n")
    with pytest.raises(TableError) as caught:
        load_table(path)

    copy = pickle.loads(pickle.dumps(caught.value))

    assert copy.problems == caught.value.problems
    assert copy.params == caught.value.params


# --- Table object --------------------------------------------------------------------------


def test_table_is_immutable(tmp_path):
    table = load_table(write(tmp_path, "id,target\n1,a\n"))

    with pytest.raises(TypeError):
        table.rows["2"] = "b"  # type: ignore[index]
    with pytest.raises(TypeError):
        table.lines["2"] = 3  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.path = "other.csv"  # type: ignore[misc]


def test_table_path_is_str(tmp_path):
    path = write(tmp_path, "id,target\n1,a\n")

    assert load_table(path).path == str(path)


# --- lookup --------------------------------------------------------------------------------


@pytest.fixture
def category(tmp_path) -> Table:
    return load_table(write(tmp_path, "1688类目,抖音类目\n122232007,20000\n0123,30000\n"))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("122232007", "20000"),
        (122232007, "20000"),
        ("  122232007 ", "20000"),
        ("0123", "30000"),
    ],
)
def test_lookup_found(category, key, expected):
    assert lookup(key, category) == expected


@pytest.mark.parametrize(("key", "default"), [("999", 1), (123, 0), ("999", "x"), (None, 7), ("", 5)])
def test_lookup_default(category, key, default):
    assert lookup(key, category, default=default) == default


def test_lookup_default_keeps_type(category):
    assert lookup("999", category, default=0) == 0
    assert isinstance(lookup("999", category, default=0), int)


def test_lookup_int_misses_leading_zero(category):
    with pytest.raises(DataError) as caught:
        lookup(123, category)

    assert caught.value.key == "table.unmapped"


def test_lookup_unmapped(category):
    with pytest.raises(DataError) as caught:
        lookup(" 999 ", category)

    assert caught.value.key == "table.unmapped"
    assert caught.value.params == {
        "table": category.path,
        "lookup_key": "999",
        "key_column": "1688类目",
        "value_column": "抖音类目",
        "delimiter": ",",
    }


def test_lookup_unmapped_message_hint(category):
    with pytest.raises(DataError) as caught:
        lookup(999, category)
    zh = caught.value.render("zh")
    en = caught.value.render("en")

    assert category.path in zh
    assert "999,目标 id" in zh
    assert "fallback_category_id" in zh
    assert "999,<target id>" in en
    assert "fallback_category_id" in en


@pytest.mark.parametrize(("text", "row"), [("id;target\n1;a\n", "9;<target id>"), ("id\ttarget\n1\ta\n", "9<Tab><target id>")])
def test_lookup_unmapped_hint_delimiter(tmp_path, text, row):
    table = load_table(write(tmp_path, text))

    with pytest.raises(DataError) as caught:
        lookup("9", table)

    assert row in caught.value.render("en")


@pytest.mark.parametrize("key", [None, "", "  "])
def test_lookup_missing_key(category, key):
    with pytest.raises(DataError) as caught:
        lookup(key, category)

    assert caught.value.key == "table.key_missing"
    assert caught.value.params == {"table": category.path}


@pytest.mark.parametrize("key", [True, 1.0, 122232007.0, ["122232007"], {"id": 1}])
def test_lookup_key_type(category, key):
    with pytest.raises(DataError) as caught:
        lookup(key, category)

    assert caught.value.key == "table.key_type"
    assert caught.value.params["type"] == type(key).__name__


@pytest.mark.parametrize("table", ["tables/category.csv", {"1": "2"}, None])
def test_lookup_not_a_table(table):
    with pytest.raises(DataError) as caught:
        lookup("1", table)  # type: ignore[arg-type]

    assert caught.value.key == "table.not_a_table"


def test_lookup_as_sandboxed_filter(category):
    env = ImmutableSandboxedEnvironment()
    env.filters["lookup"] = lookup
    expression = env.compile_expression("offer.category_id | lookup(category, default=fallback)")

    assert expression(offer={"category_id": 122232007}, category=category, fallback=None) == "20000"
    assert expression(offer={"category_id": "0123"}, category=category, fallback=None) == "30000"
    assert expression(offer={"category_id": "1"}, category=category, fallback=50) == 50


# --- catalogue -----------------------------------------------------------------------------


def raised_errors(tmp_path: Path) -> list[DataError]:
    """Raise one error of every kind the module has and return them."""
    category = load_table(write(tmp_path, "id,target\n1,a\n", name="ok.csv"))
    calls = [
        lambda: load_table(tmp_path / "missing.csv"),
        lambda: load_table(write(tmp_path, "id,target\n1，a\n", name="fullwidth.csv")),
        lambda: load_table(tmp_path),
        lambda: load_table(write(tmp_path, "a,b\n", "utf-16", "u16.csv")),
        lambda: load_table(write(tmp_path, "", name="empty.csv")),
        lambda: load_table(write(tmp_path, "a\n", name="one.csv")),
        lambda: load_table(write(tmp_path, "a,b\n", name="two.csv"), key_column="c"),
        lambda: load_table(
            write(tmp_path, 'id,target\n1\n,a\n2,\n3E+5,b\n4,c\n4,d\n"5"x,e\n6\tf\n', name="bad.csv")
        ),
        lambda: load_table(write(tmp_path, "1031910,20000\n", name="headless.csv")),
        lambda: load_table(write(tmp_path, "1031910,20000\n", name="headless_named.csv"), "id", "target"),
        lambda: lookup("9", category),
        lambda: lookup(None, category),
        lambda: lookup(1.5, category),
        lambda: lookup("1", "ok.csv"),  # type: ignore[arg-type]
    ]

    errors = []
    for call in calls:
        with pytest.raises(DataError) as caught:
            call()
        errors.append(caught.value)
    return errors


def test_catalogue_covers_raised_errors(tmp_path):
    messages = []
    for error in raised_errors(tmp_path):
        messages.append((error.key, error.params))
        for _line, key, params in getattr(error, "problems", []):
            messages.append((key, params))

    for _line, key, params in check_word_list(write(tmp_path, "爆款，高级感\n最\n", name="words.txt")):
        messages.append((key, params))

    keys = {key for key, _params in messages}
    assert keys == {name for name in CATALOG if name.startswith("table.")}
    for key, params in messages:
        for lang in ("zh", "en"):
            assert CATALOG[key][lang].format(**params), (key, lang)


def test_fullwidth_comma_row_named(tmp_path):
    path = tmp_path / "category.csv"
    path.write_text("1688_category_id,douyin_category_leaf_id\n1031910，20000\n", encoding="utf-8")

    with pytest.raises(TableError) as caught:
        load_table(path)

    assert [(line, key) for line, key, _ in caught.value.problems] == [(2, "table.fullwidth_comma")]


# --- full-width digits and letters ---------------------------------------------------------


def test_fullwidth_digits_read_as_ascii(tmp_path):
    table = load_table(write(tmp_path, "1688_category_id,douyin_category_leaf_id\n９９９９９９９９,２００００\n"))

    assert dict(table.rows) == {"99999999": "20000"}
    assert lookup("99999999", table) == "20000"
    assert lookup(99999999, table) == "20000"


def test_fullwidth_letters_read_as_ascii(tmp_path):
    table = load_table(write(tmp_path, "code,target\nＡｂ１２,ｘ\n"))

    assert dict(table.rows) == {"Ab12": "x"}


def test_fullwidth_lookup_key_read_as_ascii(tmp_path):
    table = load_table(write(tmp_path, "id,target\n1031910,20000\n"))

    assert lookup("１０３１９１０", table) == "20000"


def test_other_fullwidth_forms_kept(tmp_path):
    table = load_table(write(tmp_path, "id,name\n1,连衣裙（长款）\n"))

    assert table.rows["1"] == "连衣裙（长款）"


def test_fullwidth_and_ascii_key_duplicate(tmp_path):
    path = write(tmp_path, "id,target\n1031910,20000\n１０３１９１０,30000\n")

    assert problems_of(path) == [(3, "table.duplicate_key")]


# --- a deleted header row ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1031910,20000,T恤\n122232007,20001,POLO衫\n",
        "1031910,20000\n",
        "1.03191E+06,20000\n",
        "# 类目对照\n1031910;20000\n",
    ],
)
def test_header_row_that_is_data(tmp_path, text):
    path = write(tmp_path, text)
    line = 2 if text.startswith("#") else 1

    assert problems_of(path) == [(line, "table.header_is_data")]


def test_header_is_data_message(tmp_path):
    path = write(tmp_path, "1031910,20000,T恤\n")

    with pytest.raises(TableError) as caught:
        load_table(path)
    _line, key, params = caught.value.problems[0]

    assert params == {"path": str(path), "line": 1, "row": "1031910,20000,T恤"}
    assert render_zh(key, params) == (
        "第 1 行“1031910,20000,T恤”是数据，不是列名：映射表的第一行必须是列名"
        "（例如 1688_category_id,douyin_category_leaf_id），数据从第二行开始。请在文件最上面插入一行列名。"
    )


def test_header_is_data_names_rule_columns(tmp_path):
    path = write(tmp_path, "1031910,20000\n")

    with pytest.raises(TableError) as caught:
        load_table(path, key_column="1688_category_id", value_column="douyin_category_leaf_id")
    line, key, params = caught.value.problems[0]

    assert (line, key) == (1, "table.header_is_data_named")
    assert params["columns"] == "1688_category_id, douyin_category_leaf_id"


@pytest.mark.parametrize(
    "header",
    ["1688_category_id,douyin_category_leaf_id", "1688,抖音", "id,20000", "1688类目,抖音类目"],
)
def test_header_with_names_accepted(tmp_path, header):
    table = load_table(write(tmp_path, f"{header}\n1031910,20000\n"))

    assert table.rows["1031910"] == "20000"


def test_named_columns_in_numeric_header_accepted(tmp_path):
    table = load_table(write(tmp_path, "1688,2024\n1031910,20000\n"), key_column="1688", value_column="2024")

    assert table.rows["1031910"] == "20000"


# --- rows separated by tabs ----------------------------------------------------------------


def test_tab_separated_rows_named(tmp_path):
    path = write(tmp_path, "1688_category_id,douyin_category_leaf_id,note\n1031910\t20000\tT恤\n122232007,20001\n")

    with pytest.raises(TableError) as caught:
        load_table(path)
    line, key, params = caught.value.problems[0]

    assert [(line, key) for line, key, _ in caught.value.problems] == [(2, "table.tab_separated")]
    assert params == {"path": str(path), "line": 2, "cells": 1, "needed": 2}
    assert "请用英文逗号分隔；或在 Excel 中用“另存为 → CSV UTF-8（逗号分隔）”" in render_zh(key, params)


def test_tab_separated_file_still_accepted(tmp_path):
    table = load_table(write(tmp_path, "id\ttarget\n1031910\t20000\n"))

    assert table.rows["1031910"] == "20000"


# --- word lists ----------------------------------------------------------------------------


def test_word_list_several_words_on_line(tmp_path):
    path = write(tmp_path, "# 违禁词\n最佳\n爆款，高级感\n正品、特价;秒杀\n", name="banned.txt")

    warnings = check_word_list(path)

    assert [(line, key) for line, key, _ in warnings] == [(3, "table.words_on_one_line"), (4, "table.words_on_one_line")]
    assert warnings[0][2] == {
        "path": str(path),
        "line": 3,
        "word": "爆款，高级感",
        "count": 2,
        "words": {"zh": "爆款、高级感", "en": "爆款, 高级感"},
    }
    assert warnings[1][2]["count"] == 3


def test_word_list_message_text(tmp_path):
    path = write(tmp_path, "爆款，高级感\n", name="banned.txt")

    _line, key, params = check_word_list(path)[0]

    assert render_zh(key, params) == (
        "第 1 行“爆款，高级感”里有逗号、顿号或分号，看起来是 2 个词写在了一行。词表每行只写一个词，整行才算一个词，"
        "所以只有标题里原样出现“爆款，高级感”时才会删掉。请改成每行一个词：爆款、高级感。"
    )


@pytest.mark.parametrize("word", ["最", "A", "赠"])
def test_word_list_single_character(tmp_path, word):
    path = write(tmp_path, f"最佳\n{word}\n", name="banned.txt")

    assert check_word_list(path) == [(2, "table.single_character_word", {"path": str(path), "line": 2, "word": word})]


@pytest.mark.parametrize(
    "text",
    ["最佳\n第一\n", "# 注释，带逗号\n国家级\n", "\n  \n", "全网第一  \n"],
)
def test_word_list_without_warnings(tmp_path, text):
    assert check_word_list(write(tmp_path, text, name="banned.txt")) == []


def test_word_list_line_numbers_crlf(tmp_path):
    path = write(tmp_path, "最佳\r\n\r\n爆款,高级感\r\n", name="banned.txt")

    assert [line for line, _key, _params in check_word_list(path)] == [3]


def test_word_list_gb18030(tmp_path):
    path = write(tmp_path, "爆款，高级感\n", "gb18030", name="banned.txt")

    assert [key for _line, key, _params in check_word_list(path)] == ["table.words_on_one_line"]


def test_word_list_unreadable_gives_no_warnings(tmp_path):
    assert check_word_list(tmp_path / "absent.txt") == []
