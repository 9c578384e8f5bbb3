"""Tests of load-time rule checking: every mistake found in one pass, each with file, line, column and a hint."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from etl.errors import RuleError, UsageError
from etl.rules import load_rule

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "test_rule_errors"


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    """Return a copy of ``rules/`` with ``targets/`` beside it, so broken rules can use the real tables."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "targets", tmp_path / "targets")
    return tmp_path / "rules"


def line_of(path, text: str) -> int:
    """Return the 1-based number of the line of ``path`` that starts with ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def add_fixture(rules_dir: Path, name: str, folder: str = "") -> Path:
    destination = rules_dir / folder / name
    shutil.copyfile(DATA / name, destination)
    return destination


def edited_douyin(rules_dir: Path, old: str, new: str) -> Path:
    """Write a copy of the bundled Douyin rule with ``old`` replaced by ``new`` once."""
    text = (rules_dir / "douyin.yaml").read_text(encoding="utf-8")
    assert old in text
    path = rules_dir / "edited.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems_of(path: Path, **options) -> list:
    with pytest.raises(RuleError) as caught:
        load_rule(path, **options)
    return caught.value.problems


def summary(problems) -> list[tuple]:
    """Return (line, column, field, key) of each problem, sorted by position."""
    return sorted((p.position.line, p.position.column, p.field, p.key) for p in problems)


def find(problems, key: str, field: str):
    matches = [p for p in problems if p.key == key and p.field == field]
    assert len(matches) == 1, [(p.key, p.field) for p in problems]
    return matches[0]


# --- many mistakes in one file -----------------------------------------------------------------


def test_all_errors_reported_at_once(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    found = sorted((p.position.line, p.field, p.key) for p in problems)
    assert found == [
        (10, "transform.title", "rule.unknown_attribute"),
        (11, "transform.cost", "rule.unknown_attribute"),
        (12, "transform.fen", "rule.unknown_filter"),
        (13, "transform.rounded", "rule.removed_filter"),
        (14, "transform.as_float", "rule.removed_filter"),
        (15, "transform.mystery", "rule.unknown_name"),
        (16, "transform.broken", "rule.bad_expression"),
        (21, "transform.sku_rows.map.price", "rule.unknown_attribute"),
        (23, "fields", "rule.required_field_unset"),
        (23, "fields", "rule.required_field_unset"),
        (26, "fields.nmae", "rule.unknown_field"),
    ]


@pytest.mark.parametrize(
    ("key", "field", "name"),
    [
        ("rule.unknown_attribute", "transform.title", "titel"),
        ("rule.unknown_attribute", "transform.cost", "markupp"),
        ("rule.unknown_filter", "transform.fen", "yuan_to_fenn"),
        ("rule.unknown_name", "transform.mystery", "nosuch_name"),
        ("rule.unknown_attribute", "transform.sku_rows.map.price", "prise"),
        ("rule.unknown_field", "fields.nmae", "nmae"),
    ],
)
def test_unknown_name_column_points_at_name(rules_dir, key, field, name):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), key, field)

    assert problem.position.column == problem.position.source_line.index(name) + 1


@pytest.mark.parametrize(
    ("field", "column"),
    [("transform.rounded", 49), ("transform.as_float", 31)],
)
def test_removed_filter_points_at_filter(rules_dir, field, column):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    assert {p.position.column for p in problems if p.field == field} == {column}


@pytest.mark.parametrize(
    ("field", "column"),
    [("transform.broken", 11), ("fields", 3)],
)
def test_other_problems_point_at_value(rules_dir, field, column):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    assert {p.position.column for p in problems if p.field == field} == {column}


def test_every_problem_names_the_rule_file(rules_dir):
    path = add_fixture(rules_dir, "many_errors.yaml")

    problems = problems_of(path)

    assert {p.position.path for p in problems} == {str(path)}
    assert all(p.severity == "error" for p in problems)


def test_problem_keeps_source_line(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    problem = find(problems, "rule.unknown_filter", "transform.fen")
    assert problem.position.source_line == '  fen: "{{ offer.price_tiers | tier_price | yuan_to_fenn }}"'


def test_misspelt_var_suggests_declared_var(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.unknown_attribute", "transform.cost")

    assert problem.params == {"name": "markupp", "suggestion": "markup", "owner": "vars"}
    assert problem.render("zh") == "vars 没有属性 'markupp'（是不是要写 markup？）"
    assert problem.render("en") == "vars has no attribute 'markupp' (did you mean markup?)"


def test_misspelt_filter_suggests_filter(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.unknown_filter", "transform.fen")

    assert problem.params == {"name": "yuan_to_fenn", "suggestion": "yuan_to_fen"}
    assert problem.render("zh") == "没有名为 'yuan_to_fenn' 的过滤器（是不是要写 yuan_to_fen？）"
    assert problem.render("en") == "no filter named 'yuan_to_fenn' (did you mean yuan_to_fen?)"


@pytest.mark.parametrize(
    ("field", "name", "replacement"),
    [("transform.rounded", "round", "round_fen"), ("transform.as_float", "float", "to_decimal")],
)
def test_removed_filter_names_replacement(rules_dir, field, name, replacement):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.removed_filter", field)

    assert problem.params == {"name": name, "replacement": replacement}


def test_removed_filter_text(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.removed_filter", "transform.rounded")

    assert problem.render("zh") == "过滤器 'round' 不可用（会有浮点误差或静默出错），请改用 round_fen"
    assert problem.render("en") == "filter 'round' is not available (it works in floats or fails silently); use round_fen"


def test_unknown_name(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.unknown_name", "transform.mystery")

    assert problem.params == {"name": "nosuch_name", "suggestion": ""}
    assert problem.render("en") == "undefined name 'nosuch_name'"


def test_unknown_offer_attribute(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.unknown_attribute", "transform.title")

    assert problem.params == {"name": "titel", "suggestion": "title", "owner": "offer"}


def test_unknown_sku_attribute_inside_each(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    problem = find(problems, "rule.unknown_attribute", "transform.sku_rows.map.price")
    assert problem.params == {"name": "prise", "suggestion": "price", "owner": "sku"}
    assert problem.render("en") == "sku has no attribute 'prise' (did you mean price?)"


def test_bad_jinja_syntax(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.bad_expression", "transform.broken")

    assert problem.params["detail"]["en"] == "expected token 'name', got 'end of print statement'"
    assert "括号、引号" in problem.params["detail"]["zh"]


@pytest.mark.parametrize(("old", "new", "hint"), [
    ('name: "{{ title }}"', 'name: "{{ title }"', "两个 }}"),
    ("offer.detail_html | html_images", "offer.detail_html ｜ html_images", "中文符号“｜”"),
])
def test_expression_syntax_hint_in_chinese(rules_dir, old, new, hint):
    problems = problems_of(edited_douyin(rules_dir, old, new))

    problem = next(p for p in problems if p.key == "rule.bad_expression")
    assert hint in problem.render("zh")


def test_misspelt_each_is_named(rules_dir):
    problems = problems_of(edited_douyin(rules_dir, "    each: offer.skus or [none]", "    eachh: offer.skus or [none]"))

    problem = next(p for p in problems if p.key == "rule.unknown_directive_key")
    assert problem.field == "transform.sku_rows.eachh"
    assert "each" in problem.render("zh")


def test_unknown_target_field_with_suggestion(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "many_errors.yaml")), "rule.unknown_field", "fields.nmae")

    assert problem.params == {"name": "nmae", "target": "douyin", "suggestion": "name"}
    assert problem.render("zh") == "douyin 没有字段 'nmae'（是不是要写 name？）"
    assert problem.render("en") == "douyin has no field 'nmae' (did you mean name?)"


def test_required_target_fields_never_set(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    unset = sorted(p.params["name"] for p in problems if p.key == "rule.required_field_unset")
    assert unset == ["freight_id", "name"]
    assert {p.position.line for p in problems if p.key == "rule.required_field_unset"} == {23}


def test_required_field_text(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "many_errors.yaml"))

    problem = next(p for p in problems if p.key == "rule.required_field_unset" and p.params["name"] == "freight_id")
    assert problem.render("zh") == "douyin 的必填字段 freight_id 没有在 fields 里设置"
    assert problem.render("en") == "required douyin field freight_id is never set under fields"


# --- sections, target and profile ---------------------------------------------------------


def test_unknown_section_target_and_profile(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "sections.yaml"))

    assert summary(problems) == [
        (1, 9, "target", "rule.unknown_target"),
        (2, 10, "profile", "rule.unknown_profile"),
        (5, 1, "tranform", "rule.unknown_section"),
    ]


def test_unknown_section_params(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "sections.yaml")), "rule.unknown_section", "tranform")

    assert problem.params["suggestion"] == "transform"
    assert problem.params["allowed"] == "target, profile, description, vars, tables, transform, fields, review"


def test_unknown_target_params(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "sections.yaml")), "rule.unknown_target", "target")

    assert problem.params == {"name": "douyn", "suggestion": "douyin", "allowed": "douyin, taobao"}
    assert problem.render("en") == "target 'douyn' not found (did you mean douyin?); available: douyin, taobao"


def test_unknown_profile_params(rules_dir):
    problem = find(problems_of(add_fixture(rules_dir, "sections.yaml")), "rule.unknown_profile", "profile")

    assert problem.params == {"name": "product.gett", "suggestion": "product.get", "allowed": "item_get, product.get"}


def test_unknown_profile_option_is_usage_error(rules_dir):
    with pytest.raises(UsageError) as caught:
        load_rule(rules_dir / "douyin.yaml", profile="itemget")

    assert caught.value.key == "rule.unknown_profile"
    assert caught.value.params == {"name": "itemget", "suggestion": "item_get", "allowed": "item_get, product.get"}


def test_yaml_duplicate_key_is_the_only_problem(rules_dir):
    path = edited_douyin(rules_dir, "  price_add: 0 ", "  markup: 2\n  price_add: 0 ")

    problems = problems_of(path)

    assert [(p.key, p.field, p.position.line, p.params["first_line"]) for p in problems] == [
        ("yaml.duplicate_key", "vars.markup", 12, 11)
    ]


def test_yaml_warning_listed_with_errors(rules_dir):
    problems = problems_of(add_fixture(rules_dir, "ambiguous_vars.yaml"))

    warning = find(problems, "yaml.leading_zero", "vars.code_prefix")
    assert warning.severity == "warning"
    assert (warning.position.line, warning.position.column) == (5, 16)
    assert any(p.severity == "error" for p in problems)


def test_yaml_warning_alone_loads(rules_dir):
    path = edited_douyin(rules_dir, "  price_add: 0 ", "  code_prefix: 0123\n  price_add: 0 ")

    rule = load_rule(path)

    assert [(w.key, w.field) for w in rule.warnings] == [("yaml.leading_zero", "vars.code_prefix")]
    assert rule.vars["code_prefix"] == 83


# --- directives ----------------------------------------------------------------------------


def test_unknown_directive_key(rules_dir):
    path = edited_douyin(rules_dir, "    encode: json\n", "    encode: json\n    iff_missing: omit\n")

    problem = find(problems_of(path), "rule.unknown_directive_key", "fields.spec_prices.iff_missing")

    assert problem.params == {"name": "iff_missing", "suggestion": "if_missing"}
    assert problem.position.line == line_of(path, "    iff_missing: omit")


def test_unknown_directive_key_points_at_key(rules_dir):
    path = edited_douyin(rules_dir, "    encode: json\n", "    encode: json\n    iff_missing: omit\n")

    problem = find(problems_of(path), "rule.unknown_directive_key", "fields.spec_prices.iff_missing")

    assert (problem.position.line, problem.position.column) == (line_of(path, "    iff_missing: omit"), 5)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("    encode: json\n", "    encode: json\n    iff_missing: omit\n", "rule.unknown_directive_key"),
        ("    encode: json\n", "    encode: json\n    if_missing: maybe\n", "rule.bad_if_missing"),
        ("    encode: json\n", "    encode: yaml\n", "rule.bad_encode"),
    ],
    ids=["unknown key", "bad if_missing", "bad encode"],
)
def test_directive_mistake_reported_once(rules_dir, old, new, key):
    problems = problems_of(edited_douyin(rules_dir, old, new))

    assert [p.key for p in problems] == [key]


def test_unknown_name_reported_once_per_expression(rules_dir):
    path = edited_douyin(rules_dir, '  title: "{{', '  probe: "{{ nosuch if nosuch else 1 }}"\n  title: "{{')

    problems = problems_of(path)

    assert [(p.key, p.field) for p in problems] == [("rule.unknown_name", "transform.probe")]


def test_each_without_map(rules_dir):
    path = edited_douyin(rules_dir, "    as: sku\n    map:\n", "    as: sku\n    mapp:\n")

    problems = problems_of(path)

    assert find(problems, "rule.each_without_map", "transform.sku_rows").position.line == line_of(path, "    each: offer.skus or [none]")
    assert find(problems, "rule.unknown_directive_key", "transform.sku_rows.mapp").params["suggestion"] == "map"


def test_reserved_transform_name(rules_dir):
    path = edited_douyin(rules_dir, '  title: "{{', '  offer: 1\n  title: "{{')

    problems = problems_of(path)

    assert summary(problems) == [(line_of(path, "  offer: 1"), 10, "transform.offer", "rule.reserved_name")]


def test_var_outside_schema_range(rules_dir):
    path = edited_douyin(rules_dir, "  markup: 1.5 ", "  markup: 0 ")

    problems = problems_of(path)

    assert summary(problems) == [(line_of(path, "  markup: 0 "), 11, "vars.markup", "validate.exclusiveMinimum")]
    assert problems[0].render("zh") == "vars.markup 必须大于 0，实际是 0"


# --- tables --------------------------------------------------------------------------------


def test_excel_damaged_table_position(rules_dir):
    csv_path = add_fixture(rules_dir, "excel_damaged.csv", "tables")
    path = edited_douyin(rules_dir, "tables/category-douyin.csv", "tables/excel_damaged.csv")

    problems = [p for p in problems_of(path) if p.key.startswith("table.")]

    found = [(p.position.path, p.position.line, p.field, p.key, p.params["value"]) for p in problems]
    assert found == [
        (str(csv_path), 3, "tables.category", "table.excel_number", "1.22232E+08"),
        (str(csv_path), 5, "tables.category", "table.excel_number", "127492006.0"),
    ]
    assert problems[0].position.source_line == "1.22232E+08,20001,POLO衫"


def test_table_and_expression_errors_reported_together(rules_dir):
    csv_path = add_fixture(rules_dir, "excel_damaged.csv", "tables")
    path = edited_douyin(rules_dir, "tables/category-douyin.csv", "tables/excel_damaged.csv")
    path.write_text(path.read_text(encoding="utf-8").replace("| yuan_to_fen }}", "| yuan_to_fenn }}"), encoding="utf-8")

    problems = problems_of(path)

    found = sorted((p.position.path, p.key) for p in problems if p.key != "rule.unknown_name")
    misspelt = path.read_text(encoding="utf-8").count("| yuan_to_fenn }}")
    assert misspelt >= 1
    assert found == sorted(
        [(str(csv_path), "table.excel_number")] * 2 + [(str(path), "rule.unknown_filter")] * misspelt
    )


def test_missing_table_file(rules_dir):
    path = edited_douyin(rules_dir, "tables/category-douyin.csv", "tables/absent.csv")

    problem = find(problems_of(path), "table.missing", "tables.category")

    assert (problem.position.line, problem.position.column) == (line_of(path, "  category: tables/absent.csv"), 13)
    assert problem.params == {"path": str(rules_dir / "tables" / "absent.csv")}


@pytest.mark.parametrize("replacement", ["tables/absent.csv", "tables/excel_damaged.csv"])
def test_failed_table_name_still_declared(rules_dir, replacement):
    add_fixture(rules_dir, "excel_damaged.csv", "tables")
    path = edited_douyin(rules_dir, "tables/category-douyin.csv", replacement)

    problems = problems_of(path)

    assert [p.key for p in problems if p.key == "rule.unknown_name"] == []


# --- --set overrides ---------------------------------------------------------------------------


def test_set_undeclared_var_is_usage_error(rules_dir):
    with pytest.raises(UsageError) as caught:
        load_rule(rules_dir / "douyin.yaml", {"markupp": "2"})

    error = caught.value
    assert error.key == "rule.unknown_var_override"
    assert error.params["name"] == "markupp"
    assert error.params["suggestion"] == "markup"
    assert error.params["allowed"].startswith("markup, price_add, cost_ranges, price_ending")


def test_set_undeclared_var_text():
    with pytest.raises(UsageError) as caught:
        load_rule(ROOT / "rules" / "taobao.yaml", {"markupp": "2"})

    allowed = "markup, price_add, cost_ranges, price_ending, fallback_category_id, stuff_status, location_state, location_city"
    assert caught.value.render("zh") == (
        f"--set 的变量 'markupp' 在规则的 vars 里没有声明（是不是要写 markup？）；已声明：{allowed}"
    )
    assert caught.value.render("en") == (
        f"--set names 'markupp', which the rule's vars do not declare (did you mean markup?); declared: {allowed}"
    )


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "", "1,5"])
def test_set_non_number_markup(rules_dir, value):
    with pytest.raises(UsageError) as caught:
        load_rule(rules_dir / "douyin.yaml", {"markup": value})

    assert caught.value.key == "rule.bad_override"
    assert caught.value.params == {"name": "markup", "value": value, "expected": {"zh": "数字，例如 1.8", "en": "a number such as 1.8"}}


def test_set_non_number_markup_text(rules_dir):
    with pytest.raises(UsageError) as caught:
        load_rule(rules_dir / "douyin.yaml", {"markup": "abc"})

    assert caught.value.render("zh") == "--set markup=abc 的值不对，应为数字，例如 1.8"
    assert caught.value.render("en") == "--set markup=abc: the value must be a number such as 1.8"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_set_markup_outside_schema_range(rules_dir, value):
    with pytest.raises(UsageError):
        load_rule(rules_dir / "douyin.yaml", {"markup": value})


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("markup", "2", Decimal("2")),
        ("markup", "1.25", Decimal("1.25")),
        ("price_add", "0.5", Decimal("0.5")),
        ("price_add", "3", 3),
        ("fallback_category_id", "20000", "20000"),
        ("fallback_category_id", "null", None),
        ("mobile", "13800000000", "13800000000"),
        ("compare_at_markup", "1.3", Decimal("1.3")),
    ],
)
def test_set_declared_var(rules_dir, name, text, value):
    rule = load_rule(rules_dir / "douyin.yaml", {name: text})

    assert rule.vars[name] == value
    assert type(rule.vars[name]) is type(value)


# --- structure messages in plain words ---------------------------------------------------------


def test_bad_var_name_points_at_key(rules_dir):
    path = edited_douyin(rules_dir, "  price_add: 0 ", "  加价: 1\n  price_add: 0 ")

    problem = find(problems_of(path), "rule.bad_name", "vars.加价")

    assert (problem.position.line, problem.position.column) == (line_of(path, "  加价: 1"), 3)
    assert problem.render("zh") == "名字 '加价' 不合法：只能用英文字母、数字和下划线，且不能以数字开头"


@pytest.mark.parametrize(
    ("old", "new", "key", "field", "zh"),
    [
        (
            "  markup: 1.5 ", '  markup: "1.5倍" ', "rule.bad_type", "vars.markup",
            "vars.markup 应为数字，但写成了文本 1.5倍",
        ),
        (
            "  mobile: null ", "  mobile: 13800138000 ", "rule.needs_quotes", "vars.mobile",
            'vars.mobile 应为文本，但 YAML 把未加引号的 13800138000 读成了数字 13800138000，不是文本；'
            '请给它加英文引号："13800138000"',
        ),
        (
            "  price_ending: null ", "  price_ending: .9 ", "rule.needs_quotes", "vars.price_ending",
            'vars.price_ending 应为文本，但 YAML 把未加引号的 .9 读成了数字 0.9，不是文本；请给它加英文引号：".9"',
        ),
        (
            "  price_ending: null ", '  price_ending: "9.99x" ', "rule.bad_pattern", "vars.price_ending",
            'vars.price_ending 的写法不对：应为形如 ".9" 或 "9.9" 的价格尾数：数字，最多两位小数，要加英文引号，'
            "但写成了 9.99x",
        ),
        (
            "  mobile: null ", '  mobile: "138 0013 8000" ', "rule.bad_pattern", "vars.mobile",
            'vars.mobile 的写法不对：应为5 到 20 个数字或 -，例如 "13800138000" 或 "0571-88886666"，要加英文引号，'
            "但写成了 138 0013 8000",
        ),
        (
            "  compare_at_markup: null ", "  compare_at_markup: abc ", "rule.bad_type", "vars.compare_at_markup",
            "vars.compare_at_markup 应为数字或空 (null)，但写成了文本 abc",
        ),
        (
            "  cost_ranges: null ", "  cost_ranges: [{up_to: 10, markup: false}] ", "rule.bad_type",
            "vars.cost_ranges.0.markup", "vars.cost_ranges[0].markup 应为数字，但写成了是/否值 false",
        ),
        (
            "  cost_ranges: null ", "  cost_ranges: [{up_to: 10}] ", "rule.key_missing", "vars.cost_ranges.0",
            "vars.cost_ranges[0] 缺少必需的键 markup，请补上",
        ),
    ],
    ids=["text for number", "phone as number", "price ending as number", "bad price ending", "bad phone",
         "text for number or null", "false for number", "missing markup"],
)
def test_structure_message_plain_words(rules_dir, old, new, key, field, zh):
    path = edited_douyin(rules_dir, old, new)

    problem = find(problems_of(path), key, field)

    assert problem.render("zh") == zh
    assert problem.position.line == line_of(path, new.rstrip().split(":")[0] + ":")


def test_needs_quotes_english_text(rules_dir):
    path = edited_douyin(rules_dir, "  mobile: null ", "  mobile: 13800138000 ")

    problem = find(problems_of(path), "rule.needs_quotes", "vars.mobile")

    assert problem.render("en") == (
        'vars.mobile must be text, but YAML read the unquoted 13800138000 as 13800138000 (a number), not as text; '
        'put it in quotes: "13800138000"'
    )


def test_bad_type_english_text(rules_dir):
    path = edited_douyin(rules_dir, "  cost_ranges: null ", "  cost_ranges: [{up_to: 10, markup: false}] ")

    problem = find(problems_of(path), "rule.bad_type", "vars.cost_ranges.0.markup")

    assert problem.render("en") == "vars.cost_ranges[0].markup must be a number, found false (true/false)"


def test_vars_written_as_text_names_colon(rules_dir):
    text = (rules_dir / "douyin.yaml").read_text(encoding="utf-8")
    start, end = text.index("vars:\n"), text.index("\ntables:")
    path = rules_dir / "edited.yaml"
    path.write_text(text[:start] + "vars:\n  markup:1.8\n" + text[end:], encoding="utf-8")

    problem = find(problems_of(path), "rule.bad_type", "vars")

    assert problem.position.line == line_of(path, "  markup:1.8")
    assert problem.render("zh") == (
        "vars 应为键值表，但写成了文本 markup:1.8。看起来是冒号写错了：markup:1.8 要写成 markup: 1.8（英文冒号加一个空格）"
    )


def test_list_value_points_at_key(rules_dir):
    path = edited_douyin(rules_dir, "  markup: 1.5 ", "  markup:\n    - 1.5\n ")

    problem = find(problems_of(path), "rule.bad_type", "vars.markup")

    assert (problem.position.line, problem.position.column) == (line_of(path, "  markup:"), 3)
    assert problem.render("zh") == "vars.markup 应为数字，但写成了列表 [1.5]"


def test_table_path_without_csv(rules_dir):
    path = edited_douyin(rules_dir, "tables/category-douyin.csv", "tables/category-douyin.xlsx")

    problem = find(problems_of(path), "rule.bad_pattern", "tables.category")

    assert problem.position.line == line_of(path, "  category: tables/category-douyin.xlsx")
    assert problem.render("zh") == (
        "tables.category 的写法不对：应为以 .csv（对照表）或 .txt（词表）结尾的文件路径，但写成了 tables/category-douyin.xlsx"
    )


def test_table_mapping_with_misspelt_key(rules_dir):
    path = edited_douyin(rules_dir, "  category: tables/category-douyin.csv", "  category: {pathh: tables/category-douyin.csv}")

    problem = find(problems_of(path), "rule.unknown_key", "tables.category.pathh")

    assert problem.params["suggestion"] == "path"


def test_missing_section_named(rules_dir):
    path = rules_dir / "edited.yaml"
    path.write_text("target: douyin\nprofile: product.get\n", encoding="utf-8")

    problem = find(problems_of(path), "rule.section_missing", "")

    assert problem.params == {"name": "fields"}
    assert problem.render("zh") == "缺少必需的部分 fields；规则文件至少要有 target、profile 和 fields"


def test_structure_messages_show_no_schema_internals(rules_dir):
    path = edited_douyin(rules_dir, "  price_add: 0 ", "  加价: 1\n  price_add: 0 ")
    edits = [
        ("  markup: 1.5 ", "  markup: [1] "),
        ("  price_ending: null ", "  price_ending: abc "),
        ("  mobile: null ", "  mobile: false "),
        ("  compare_at_markup: null ", "  compare_at_markup: {a: 1} "),
        ("  cost_ranges: null ", "  cost_ranges: [{up_to: 10, markup: false}, {upto: 3, markup: 2}] "),
    ]
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")

    texts = [p.render("zh") for p in problems_of(path) if p.key.startswith(("rule.", "validate."))]

    assert texts
    for text in texts:
        for internal in ("^", "$", "'number'", "['", "False", "True", "None", "Decimal", "is not of type"):
            assert internal not in text, text


def test_every_schema_pattern_described():
    from etl.rules import _PATTERN_HELP, rule_schema

    def patterns(node):
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "pattern" and isinstance(value, str):
                    yield value
                else:
                    yield from patterns(value)
        elif isinstance(node, list):
            for item in node:
                yield from patterns(item)

    found = set(patterns(rule_schema()))

    assert found
    assert found <= set(_PATTERN_HELP)


# --- problems reported together with the compile step --------------------------------------------


def test_duplicate_key_reported_with_compile_errors(rules_dir):
    path = edited_douyin(rules_dir, "  price_add: 0 ", "  markup: 2\n  price_add: 0 ")
    path.write_text(path.read_text(encoding="utf-8").replace("offer.title |", "offer.titel |", 1), encoding="utf-8")

    problems = problems_of(path)

    assert [(p.key, p.field) for p in problems if p.key == "yaml.duplicate_key"] == [("yaml.duplicate_key", "vars.markup")]
    assert find(problems, "rule.unknown_attribute", "transform.title").params["name"] == "titel"


def test_banned_words_line_warned(rules_dir):
    with open(rules_dir / "tables" / "banned-words.txt", "a", encoding="utf-8") as handle:
        handle.write("爆款，高级感\n")

    rule = load_rule(rules_dir / "douyin.yaml")

    assert "table.words_on_one_line" in [w.key for w in rule.warnings]
