"""The load-time money-unit check: yuan filters on fen values and the reverse are rule errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from etl.errors import RuleError
from etl.rules import load_rule


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "targets", tmp_path / "targets")
    return tmp_path / "rules"


def edited(rules_dir: Path, rule: str, old: str, new: str) -> Path:
    text = (rules_dir / f"{rule}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = rules_dir / "edited.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def unit_problems(path: Path) -> list:
    try:
        load_rule(path)
    except RuleError as error:
        return [problem for problem in error.problems if problem.key.startswith("units.")]
    return []


@pytest.mark.parametrize("rule", ["douyin", "taobao"])
def test_bundled_rules_pass(rules_dir, rule):
    assert unit_problems(rules_dir / f"{rule}.yaml") == []


def test_double_conversion_in_one_expression(rules_dir):
    path = edited(rules_dir, "douyin", "retail_price(vars.markup, vars.price_add, vars.cost_ranges, vars.price_ending) | yuan_to_fen }}",
                  "retail_price(vars.markup, vars.price_add, vars.cost_ranges, vars.price_ending) | yuan_to_fen | yuan_to_fen }}")

    problems = unit_problems(path)

    assert [(problem.key, problem.field) for problem in problems] == [("units.yuan_filter_on_fen", "transform.sku_rows.map.price")]
    assert problems[0].params == {"filter": "yuan_to_fen"}
    assert problems[0].position.line > 0


def test_fen_list_item_converted_again(rules_dir):
    path = edited(rules_dir, "douyin", "| max | fen_to_yuan | retail(vars.compare_at_markup) | yuan_to_fen }}",
                  "| max | retail(vars.compare_at_markup) | yuan_to_fen }}")

    problems = unit_problems(path)

    assert [problem.key for problem in problems] == ["units.yuan_filter_on_fen"]
    assert problems[0].params == {"filter": "retail"}
    assert problems[0].field == "fields.market_price.expr"


def test_fen_transform_name_converted_again(rules_dir):
    path = edited(rules_dir, "douyin", "  detail_images:", '  top_price: "{{ offer.skus[0] | sku_cost(offer) | yuan_to_fen }}"\n'
                  '  top_price_text: "{{ top_price | format_yuan }}"\n  detail_images:')

    problems = unit_problems(path)

    assert [(problem.key, problem.field) for problem in problems] == [("units.yuan_filter_on_fen", "transform.top_price_text")]


def test_each_item_attribute_converted_again(rules_dir):
    path = edited(rules_dir, "douyin", '"price": row.price | fen_to_yuan', '"price": row.price | round_fen')

    problems = unit_problems(path)

    assert [problem.key for problem in problems] == ["units.yuan_filter_on_fen"]
    assert problems[0].params == {"filter": "round_fen"}


def test_fen_filter_on_yuan_value(rules_dir):
    path = edited(rules_dir, "taobao", "| min | format_yuan }}", "| min | fen_to_yuan | format_yuan }}")

    problems = unit_problems(path)

    assert [problem.key for problem in problems] == ["units.fen_filter_on_yuan"]
    assert problems[0].params == {"filter": "fen_to_yuan"}


def test_text_around_expression_is_not_a_unit(rules_dir):
    path = edited(rules_dir, "douyin", '  detail_images:', '  price_note: "价格 {{ offer.skus[0] | sku_cost(offer) | yuan_to_fen }} 分"\n'
                  '  detail_images:')

    assert unit_problems(path) == []


def test_unknown_unit_is_not_flagged(rules_dir):
    path = edited(rules_dir, "douyin", '  detail_images:', '  some_number: "{{ vars.price_add | yuan_to_fen }}"\n  detail_images:')

    assert unit_problems(path) == []


def test_message_says_what_to_do(rules_dir):
    path = edited(rules_dir, "douyin", "| max | fen_to_yuan | retail(vars.compare_at_markup) | yuan_to_fen }}",
                  "| max | retail(vars.compare_at_markup) | yuan_to_fen }}")

    problem = unit_problems(path)[0]

    assert "fen_to_yuan" in problem.render("zh")
    assert "100" in problem.render("en")
