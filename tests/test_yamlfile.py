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

    assert problem.render("zh") == "键 'markup' 重复（第一次出现在第 3 行），YAML 会静默丢弃其中一个；请删掉或改名"
    assert problem.render("en") == (
        "key 'markup' appears twice (first on line 3); YAML would silently drop one, so delete or rename it"
    )


def test_yes_and_true_keys_collide():
    # YAML 1.1 reads both `yes` and `true` as True, so these two keys collide.
    problems = problems_of("inline.yaml", "flags:\n  yes: 1\n  true: 2\n")

    assert [(p.position.line, p.key, p.params["first_line"]) for p in problems] == [(3, "yaml.duplicate_key", 2)]


# --- YAML 1.1 surprises ----------------------------------------------------------------------


SURPRISES = [
    ("no", False, "bool"),
    ("yes", True, "bool"),
    ("on", True, "bool"),
    ("off", False, "bool"),
    ("010", 8, "number"),
    ("0123", 83, "number"),
    ("12:30", 750, "number"),
    ("2024-01-01", datetime.date(2024, 1, 1), "date"),
]


@pytest.mark.parametrize(("text", "value", "kind"), SURPRISES)
def test_unquoted_surprise_warns(text, value, kind):
    document = load_yaml("inline.yaml", f"vars:\n  code: {text}\n")

    assert document.data["vars"]["code"] == value
    assert [(w.key, w.severity, w.field) for w in document.warnings] == [("yaml.ambiguous_scalar", "warning", "vars.code")]
    assert document.warnings[0].params == {"text": text, "value": value, "kind": kind}
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


def test_ambiguous_scalar_message_text():
    warning = load_yaml("inline.yaml", "category_id: 0123\n").warnings[0]

    assert warning.render("zh") == '未加引号的 0123 被 YAML 读成了 83（number）；若本意是文本，请加引号写成 "0123"'
    assert warning.render("en") == 'unquoted 0123 was read by YAML as 83 (number); if you meant text, quote it as "0123"'


# --- syntax and unsupported features --------------------------------------------------------


def test_syntax_error_position():
    problems = problems_of(DATA / "syntax_error.yaml")

    assert len(problems) == 1
    assert problems[0].key == "yaml.syntax"
    assert (problems[0].position.line, problems[0].position.column) == (4, 12)
    assert problems[0].position.source_line == "  price_add: 0"
    assert problems[0].params == {"detail": "while parsing a flow sequence expected ',' or ']', but got ':'"}


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


def test_unclosed_quote_points_inside_file():
    problems = problems_of("inline.yaml", 'target: "douyin\nfields: {}\n')

    assert [(p.key, p.position.line) for p in problems] == [("yaml.syntax", 2)]
    assert problems[0].position.source_line == "fields: {}"
