"""Tests of the YAML loader for analyst-written files: positions, duplicate keys, YAML 1.1 surprises, encodings."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from etl.errors import RuleError
from etl.yamlfile import load_yaml

DATA = Path(__file__).resolve().parent / "data" / "test_yamlfile"


def problems_of(path: str | Path, text: str | None = None) -> list:
    with pytest.raises(RuleError) as caught:
        load_yaml(path, text)
    return caught.value.problems


# --- positions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        (("shop",), 3, 3),  # a block mapping starts at its first key
        (("shop", "name"), 3, 9),
        (("shop", "名称"), 4, 7),
        (("shop", "名称", "颜色"), 4, 12),
        (("shop", "名称", "尺码"), 4, 19),
        (("shop", "skus"), 6, 5),
        (("shop", "skus", 0), 6, 7),
        (("shop", "skus", 0, "code"), 6, 13),
        (("shop", "skus", 0, "sizes"), 7, 14),
        (("shop", "skus", 0, "sizes", 1), 7, 18),
        (("shop", "skus", 1, "price"), 9, 14),
    ],
)
def test_value_positions(path, line, column):
    document = load_yaml(DATA / "positions.yaml")

    position = document.position(path)

    assert (position.line, position.column) == (line, column)


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        (("shop",), 2, 1),
        (("shop", "name"), 3, 3),
        (("shop", "名称"), 4, 3),
        (("shop", "名称", "尺码"), 4, 15),
        (("shop", "skus"), 5, 3),
        (("shop", "skus", 0, "code"), 6, 7),
        (("shop", "skus", 1, "price"), 9, 7),
    ],
)
def test_key_positions(path, line, column):
    document = load_yaml(DATA / "positions.yaml")

    position = document.position(path, key=True)

    assert (position.line, position.column) == (line, column)


def test_position_carries_path_and_source_line():
    document = load_yaml(DATA / "positions.yaml")

    position = document.position(("shop", "skus", 0, "code"))

    assert position.path == str(DATA / "positions.yaml")
    assert position.source_line == '    - code: "0123"'


def test_unknown_path_uses_nearest_parent():
    document = load_yaml(DATA / "positions.yaml")

    position = document.position(("shop", "skus", 1, "no_such_key", 3))

    assert (position.line, position.column) == (8, 7)


def test_data_and_quoted_paths():
    document = load_yaml(DATA / "positions.yaml")

    assert document.data["shop"]["skus"][0]["code"] == "0123"
    assert document.data["shop"]["名称"] == {"颜色": "白", "尺码": "M"}
    assert ("shop", "skus", 0, "code") in document.quoted
    assert ("shop", "skus", 1, "code") not in document.quoted
    assert document.warnings == ()


# --- duplicate keys -------------------------------------------------------------------------


def test_duplicate_keys_all_reported_at_once():
    problems = problems_of(DATA / "duplicates.yaml")

    found = [(p.position.line, p.position.column, p.field, p.key, p.params) for p in problems]

    assert found == [
        (4, 3, "vars.markup", "yaml.duplicate_key", {"key": "markup", "first_line": 3}),
        (10, 7, "fields.spec_prices.map.price", "yaml.duplicate_key", {"key": "price", "first_line": 9}),
        (11, 1, "target", "yaml.duplicate_key", {"key": "target", "first_line": 1}),
        (14, 5, "skus.0.code", "yaml.duplicate_key", {"key": "code", "first_line": 13}),
    ]


def test_duplicate_key_file_and_line():
    problem = problems_of(DATA / "duplicates.yaml")[0]

    assert problem.position.path == str(DATA / "duplicates.yaml")
    assert problem.position.source_line == "  markup: 1.6"
    assert problem.severity == "error"


def test_duplicate_key_message_text():
    problem = problems_of(DATA / "duplicates.yaml")[0]

    assert problem.render("zh") == "键“markup”重复：第 3 行已经写过，这一行的值不会被使用；请删掉其中一行，或给其中一个改名"
    assert problem.render("en") == (
        'key "markup" appears twice: line 3 already has it, so the value on this line is not used; '
        "delete one of them or rename one"
    )


def test_yes_and_true_keys_collide():
    # YAML 1.1 reads both `yes` and `true` as True, so these two keys collide.
    problems = problems_of("inline.yaml", "flags:\n  yes: 1\n  true: 2\n")

    assert [(p.position.line, p.key, p.params["first_line"]) for p in problems] == [(3, "yaml.duplicate_key", 2)]


# --- YAML 1.1 surprises ----------------------------------------------------------------------


SURPRISES = [
    ("no", False, "yaml.ambiguous_bool", {"value": "false"}),
    ("yes", True, "yaml.ambiguous_bool", {"value": "true"}),
    ("on", True, "yaml.ambiguous_bool", {"value": "true"}),
    ("off", False, "yaml.ambiguous_bool", {"value": "false"}),
    ("010", 8, "yaml.leading_zero", {"value": 8, "number": 10}),
    ("0123", 83, "yaml.leading_zero", {"value": 83, "number": 123}),
    ("-010", -8, "yaml.leading_zero", {"value": -8, "number": -10}),
    ("00", 0, "yaml.leading_zero", {"value": 0, "number": 0}),
    ("0x1F", 31, "yaml.ambiguous_number", {"value": 31}),
    ("0b101", 5, "yaml.ambiguous_number", {"value": 5}),
    ("12:30", 750, "yaml.ambiguous_number", {"value": 750}),
    ("1:30.5", 90.5, "yaml.ambiguous_number", {"value": 90.5}),
    ("2024-01-01", datetime.date(2024, 1, 1), "yaml.ambiguous_date", {"value": "2024-01-01"}),
]


@pytest.mark.parametrize(("text", "value", "key", "params"), SURPRISES)
def test_unquoted_surprise_warns(text, value, key, params):
    document = load_yaml("inline.yaml", f"vars:\n  code: {text}\n")

    assert document.data["vars"]["code"] == value
    assert [(w.key, w.severity, w.field) for w in document.warnings] == [(key, "warning", "vars.code")]
    assert document.warnings[0].params == {"text": text, **params}
    assert (document.warnings[0].position.line, document.warnings[0].position.column) == (2, 9)


@pytest.mark.parametrize("quote", ["'", '"'])
@pytest.mark.parametrize("text", [case[0] for case in SURPRISES])
def test_quoted_surprise_does_not_warn(text, quote):
    document = load_yaml("inline.yaml", f"vars:\n  code: {quote}{text}{quote}\n")

    assert document.data["vars"]["code"] == text
    assert document.warnings == ()


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("False", False), ("1.5", 1.5), ("100", 100), ("0", 0), ("示例", "示例"), ("null", None)],
)
def test_plain_scalar_does_not_warn(text, value):
    document = load_yaml("inline.yaml", f"value: {text}\n")

    assert document.data["value"] == value
    assert document.warnings == ()


def test_surprise_in_list_warns():
    document = load_yaml("inline.yaml", "sizes: [S, M]\nflags:\n  - yes\n  - 'no'\n")

    assert [(w.field, w.position.line, w.position.column) for w in document.warnings] == [("flags.0", 3, 5)]


def test_leading_zero_message_offers_both_readings():
    warning = load_yaml("inline.yaml", "freight_id: 010\n").warnings[0]

    assert warning.render("zh") == (
        "未加引号的 010 被 YAML 读成了数字 8（YAML 把以 0 开头的整数当作八进制）。"
        '若本意是数字 10，请去掉开头的 0；若本意是文本，请加英文引号写成 "010"'
    )
    assert warning.render("en") == (
        "unquoted 010 was read by YAML as the number 8 (YAML takes an integer starting with 0 as octal). "
        'If you meant the number 10, drop the leading 0; if you meant text, quote it as "010"'
    )


def test_bool_message_names_true_false():
    warning = load_yaml("inline.yaml", "flag: no\n").warnings[0]

    assert warning.render("zh") == (
        "未加引号的 no 被 YAML 读成了是/否值 false，而不是文本（YAML 把 yes、no、on、off 等词当作 true、false）。"
        '若本意是文本，请加英文引号写成 "no"；若本意是是/否，请写 true 或 false'
    )


def test_date_message_text():
    warning = load_yaml("inline.yaml", "since: 2024-01-01\n").warnings[0]

    assert warning.render("zh") == '未加引号的 2024-01-01 被 YAML 读成了日期，而不是文本。若本意是文本，请加英文引号写成 "2024-01-01"'


# --- syntax and unsupported features --------------------------------------------------------


def test_syntax_error_position():
    problems = problems_of(DATA / "syntax_error.yaml")

    assert len(problems) == 1
    assert problems[0].key == "yaml.syntax_unclosed_bracket"
    assert (problems[0].position.line, problems[0].position.column) == (3, 11)
    assert problems[0].position.source_line == "  markup: [1.5, 2"
    assert problems[0].params == {"open": "[", "close": "]"}


def test_tab_indentation_is_syntax_error():
    problems = problems_of("inline.yaml", "vars:\n\tmarkup: 1.5\n")

    assert [(p.key, p.position.line, p.position.column) for p in problems] == [("yaml.syntax_tab", 2, 1)]


def test_merge_key_rejected():
    problems = problems_of(DATA / "merge_key.yaml")

    assert [(p.key, p.field, p.position.line, p.position.column) for p in problems] == [
        ("yaml.merge_unsupported", "rule", 4, 3)
    ]


def test_complex_key_rejected():
    problems = problems_of("inline.yaml", "? [a, b]\n: 1\n")

    assert [p.key for p in problems] == ["yaml.complex_key"]


# --- files and encodings ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gb18030.yaml", "utf8_bom.yaml"])
def test_encodings_load(name):
    document = load_yaml(DATA / name)

    assert document.data == {"名称": "收纳盒", "类目": "127492006", "规格": ["小号", "大号"]}
    assert document.position(("名称",), key=True).line == 2
    assert document.position(("名称",), key=True).column == 1
    assert document.lines[0] == "# 类目对照"


def test_undecodable_file_rejected():
    problems = problems_of(DATA / "not_text.yaml")

    assert [(p.key, p.params) for p in problems] == [("yaml.encoding", {"path": str(DATA / "not_text.yaml")})]


def test_missing_file_rejected(tmp_path):
    problems = problems_of(tmp_path / "absent.yaml")

    assert [(p.key, p.params) for p in problems] == [("yaml.missing", {"path": str(tmp_path / "absent.yaml")})]


def test_folder_rejected(tmp_path):
    problems = problems_of(tmp_path)

    assert [p.key for p in problems] == ["yaml.not_a_file"]


def test_empty_file_gives_none(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# only a comment\n", encoding="utf-8")

    assert load_yaml(path).data is None


def test_fullwidth_colon_named():
    problems = problems_of("inline.yaml", "target: douyin\nprofile：product.get\nfields: {}\n")

    assert [p.key for p in problems] == ["yaml.syntax_fullwidth_colon"]


def test_unclosed_quote_points_at_quote():
    problems = problems_of("inline.yaml", 'target: "douyin\nfields: {}\n')

    assert [(p.key, p.position.line, p.position.column) for p in problems] == [("yaml.syntax_unclosed_quote", 1, 9)]
    assert problems[0].position.source_line == 'target: "douyin'


# --- syntax errors placed at their cause ----------------------------------------------------


SYNTAX_CULPRITS = [
    ("no space after colon", "target: douyin\nvars:\n  markup:1.8\n  price_add: 0\nfields: {}\n",
     "yaml.syntax_missing_space", 3, 9),
    ("no space after colon before blank line", "vars:\n  price_add: 0\n  markup:1.8\n\nfields: {}\n",
     "yaml.syntax_missing_space", 3, 9),
    ("full-width colon before blank line",
     "vars:\n  default_spec_name: 规格\n  default_spec_value：默认\n\ntables:\n  category: a.csv\n",
     "yaml.syntax_fullwidth_colon", 3, 21),
    ("full-width colon on top-level key", "target: douyin\nprofile：product.get\nfields: {}\n",
     "yaml.syntax_fullwidth_colon", 2, 8),
    ("full-width spaces as indentation", "vars:\n\u3000\u3000markup: 1.5\n  price_add: 0\nfields: {}\n",
     "yaml.syntax_odd_space", 2, 1),
    ("no-break space after colon", "vars:\n  markup:\u00a01.5\n  price_add: 0\nfields: {}\n",
     "yaml.syntax_odd_space", 2, 10),
    ("full-width space after colon on last entry", "vars:\n  a: 1\n  markup:\u30001.5\nfields: {}\n",
     "yaml.syntax_odd_space", 3, 10),
    ("tab as indentation", "vars:\n\tmarkup: 1.5\n", "yaml.syntax_tab", 2, 1),
    ("tab after colon", "vars:\n  markup:\t1.5\n  b: 2\n", "yaml.syntax_tab", 2, 10),
    ("missing closing quote before plain line",
     "fields:\n  name: a\n  pic: \"{{ offer.images[:5] | join('|') }}\n  x: 1\n",
     "yaml.syntax_unclosed_quote", 3, 8),
    ("missing closing quote before quoted line",
     "fields:\n  pic: \"{{ offer.images[:5] | join('|') }}\n  # Images only\n  description: \"{{ detail }}\"\n",
     "yaml.syntax_unclosed_quote", 2, 8),
    ("missing closing quote at end of file", "fields:\n  pic: \"{{ offer.images[:5] | join('|') }}\n",
     "yaml.syntax_unclosed_quote", 2, 8),
    ("missing closing single quote", "fields:\n  name: 'abc\n  x: 1\n", "yaml.syntax_unclosed_quote", 2, 9),
    ("text after closing quote", "fields:\n  name: \"abc\" def\n  b: 1\n", "yaml.syntax_after_quote", 2, 15),
    ("unknown escape in double quotes", "vars:\n  pattern: \"\\d+\"\n", "yaml.syntax_backslash", 2, 13),
    ("value starting with @", "fields:\n  name: @shop\n", "yaml.syntax_reserved_start", 2, 9),
    ("unclosed bracket", "vars:\n  cost_ranges: [1, 2\n  b: 1\n", "yaml.syntax_unclosed_bracket", 2, 16),
    ("key lost its indentation", "vars:\n  markup: 1.5\nprice_add: 0\n  mobile: null\nfields: {}\n",
     "yaml.syntax_indent_less", 3, 1),
    ("key indented too deep", "vars:\n  markup: 1.5\n    price_add: 0\n  x: 1\n", "yaml.syntax_indent_more", 3, 1),
    ("key indented too deep after url",
     "site:\n  url: https://detail.1688.com/offer/1.html\n   name: x\n", "yaml.syntax_indent_more", 3, 1),
    ("key between two levels",
     "fields:\n  spec_prices:\n    each: offer.skus\n    as: sku\n   map:\n      a: 1\n",
     "yaml.syntax_indent_misaligned", 5, 1),
]


@pytest.mark.parametrize(
    ("text", "key", "line", "column"),
    [case[1:] for case in SYNTAX_CULPRITS],
    ids=[case[0] for case in SYNTAX_CULPRITS],
)
def test_syntax_error_at_cause(text, key, line, column):
    problems = problems_of("inline.yaml", text)

    assert [(p.key, p.position.line, p.position.column) for p in problems] == [(key, line, column)]
    assert problems[0].position.source_line == text.splitlines()[line - 1]


def test_missing_space_message_shows_fix():
    problem = problems_of("inline.yaml", "vars:\n  markup:1.8\n  price_add: 0\n")[0]

    assert problem.params == {"written": "markup:1.8", "fixed": "markup: 1.8"}
    assert problem.render("zh") == (
        "冒号后面缺少空格：markup:1.8 要写成 markup: 1.8。没有空格时，YAML 不把它当作“键: 值”，而是一段文字"
    )


def test_fullwidth_colon_message_shows_fix():
    problem = problems_of("inline.yaml", "vars:\n  a: 1\n  default_spec_value：默认\n\nfields: {}\n")[0]

    assert problem.render("zh") == (
        "这里用了中文冒号“：”，YAML 不认：default_spec_value：默认 要写成 default_spec_value: 默认（英文冒号加一个空格）"
    )


@pytest.mark.parametrize(
    ("text", "space"),
    [
        ("vars:\n\u3000\u3000markup: 1.5\n  b: 2\n", "全角空格（U+3000）"),
        ("vars:\n  markup:\u00a01.5\n  b: 2\n", "不换行空格（U+00A0）"),
        ("vars:\n  markup:\u20021.5\n  b: 2\n", "特殊空格（U+2002）"),
    ],
)
def test_odd_space_named(text, space):
    problem = problems_of("inline.yaml", text)[0]

    assert problem.params["space"]["zh"] == space
    assert space in problem.render("zh")


def test_unclosed_quote_message():
    problem = problems_of("inline.yaml", "fields:\n  pic: \"{{ offer.images[:5] | join('|') }}\n  x: 1\n")[0]

    assert problem.render("zh") == "引号没有配对：这个值以英文引号 \" 开头，但这一行没有结束的 \"；请在值的末尾补上 \""


def test_indent_less_message():
    problem = problems_of("inline.yaml", "vars:\n  markup: 1.5\nprice_add: 0\n  mobile: null\n")[0]

    assert problem.params == {"found": 0, "expected": 2}
    assert problem.render("zh").startswith("这一行缩进了 0 个空格，但上一行和下一行都缩进了 2 个空格")


@pytest.mark.parametrize(
    "text",
    [
        "vars:\n  cost_ranges: [{up_to: 10, markup: 2} {up_to: 50}]\n",
        "a: b\n- c\n",
        "key: |x\n  text\n",
    ],
)
def test_generic_syntax_message_in_plain_words(text):
    problem = problems_of("inline.yaml", text)[0]

    assert problem.key == "yaml.syntax"
    assert "<" not in problem.render("zh")
    assert "while" not in problem.render("zh")
    assert "expected" not in problem.render("zh")
    assert problem.params["detail"]["en"] in problem.render("en")


def test_generic_syntax_message_text():
    problem = problems_of("inline.yaml", "vars:\n  cost_ranges: [{up_to: 10, markup: 2} {up_to: 50}]\n")[0]

    assert problem.render("zh") == (
        "YAML 语法错误：方括号 [ ] 要成对，里面的各项之间要用英文逗号分隔。"
        "请检查这一行和上一行：缩进只能用英文空格并且要对齐，冒号后面要有一个空格，引号和括号要成对"
    )
    assert problem.render("en").startswith(
        "YAML syntax error: while parsing a flow sequence expected ',' or ']', but got '{'. Check this line"
    )


# --- invisible spaces in keys and values ----------------------------------------------------


@pytest.mark.parametrize("space", ["\u3000", "\u00a0"])
def test_key_with_invisible_indent_rejected(space):
    problems = problems_of("inline.yaml", f"vars:\n  markup: 1.5\n{space}{space}price_add: 0\n")

    assert [(p.key, p.field, p.position.line, p.position.column) for p in problems] == [
        ("yaml.key_odd_space", "price_add", 3, 1)
    ]
    assert problems[0].params["key"] == "price_add"


def test_value_with_invisible_space_warns():
    document = load_yaml("inline.yaml", "vars:\n  markup: \u00a01.5\n  name: 规格\u3000\n")

    assert document.data["vars"] == {"markup": "\u00a01.5", "name": "规格\u3000"}
    assert [(w.key, w.field, w.severity) for w in document.warnings] == [
        ("yaml.value_odd_space", "vars.markup", "warning"),
        ("yaml.value_odd_space", "vars.name", "warning"),
    ]
    assert document.warnings[0].params["text"] == "1.5"
    assert document.warnings[1].params["text"] == "规格"


def test_value_with_inner_fullwidth_space_does_not_warn():
    document = load_yaml("inline.yaml", "title: 夏季\u3000新款\n")

    assert document.warnings == ()


# --- keep_going: errors of a parsed file as problems ----------------------------------------


def test_keep_going_returns_duplicates_as_problems():
    document = load_yaml(DATA / "duplicates.yaml", keep_going=True)

    found = [(p.position.line, p.field, p.key, p.severity) for p in document.problems]
    assert found == [
        (4, "vars.markup", "yaml.duplicate_key", "error"),
        (10, "fields.spec_prices.map.price", "yaml.duplicate_key", "error"),
        (11, "target", "yaml.duplicate_key", "error"),
        (14, "skus.0.code", "yaml.duplicate_key", "error"),
    ]
    assert document.warnings == ()


def test_keep_going_keeps_first_value():
    document = load_yaml(DATA / "duplicates.yaml", keep_going=True)

    assert document.data["vars"]["markup"] == 1.5
    assert document.data["target"] == "douyin"
    assert document.data["fields"]["spec_prices"]["map"]["price"] == 1
    assert document.position(("vars", "markup"), key=True).line == 3


def test_keep_going_orders_errors_and_warnings():
    document = load_yaml("inline.yaml", "vars:\n  code: 0123\n  code: 1\n  flag: no\n", keep_going=True)

    assert [(p.position.line, p.key) for p in document.problems] == [
        (2, "yaml.leading_zero"),
        (3, "yaml.duplicate_key"),
        (4, "yaml.ambiguous_bool"),
    ]
    assert [w.key for w in document.warnings] == ["yaml.leading_zero", "yaml.ambiguous_bool"]


def test_keep_going_leaves_out_invisible_space_key():
    document = load_yaml("inline.yaml", "vars:\n  markup: 1.5\n\u3000\u3000price_add: 0\n", keep_going=True)

    assert document.data == {"vars": {"markup": 1.5}}
    assert [p.key for p in document.problems] == ["yaml.key_odd_space"]


def test_keep_going_still_raises_syntax_error():
    with pytest.raises(RuleError) as caught:
        load_yaml("inline.yaml", "vars:\n  markup:1.8\n  b: 2\n", keep_going=True)

    assert [p.key for p in caught.value.problems] == ["yaml.syntax_missing_space"]


def test_problems_equal_warnings_without_errors():
    document = load_yaml("inline.yaml", "code: 0123\n")

    assert document.problems == document.warnings


def test_key_lost_indentation_before_comment():
    # A comment after the value changes PyYAML's error to "expected <block end>" on the next line.
    text = "vars:\n  markup: 1.5   # 倍数\nprice_add: 0   # 元\n  cost_ranges: null\nfields: {}\n"

    problems = problems_of("inline.yaml", text)

    assert [(p.key, p.position.line, p.position.column) for p in problems] == [("yaml.syntax_indent_less", 3, 1)]


@pytest.mark.parametrize(
    "line",
    ["  isv.business-failed:2010321*:", "  url: https://detail.1688.com/offer/1.html", "  - 12:30", "  path: C:\\tables"],
)
def test_colon_without_space_that_is_no_culprit(line):
    # Each line is valid YAML; the error comes from the misaligned lines below it.
    problems = problems_of("inline.yaml", f"root:\n{line}\n    a: 1\n   b: 2\n")

    assert problems[0].key != "yaml.syntax_missing_space"
