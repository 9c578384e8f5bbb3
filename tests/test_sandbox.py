"""Security tests of rule expressions: source text is never a template, and the sandbox blocks internals."""

from __future__ import annotations

import json
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from etl import jsonio
from etl.errors import OfferError, RuleError
from etl.rules import load_rule

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

TEMPLATE_TITLE = "定制POLO衫印logo {{ 7*7 }} 企业团体工作服 {% raw %} 翻领短袖"


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "targets", tmp_path / "targets")
    return tmp_path / "rules"


def raw_sample(shape: str, offer_id: str) -> dict:
    return jsonio.loads((SAMPLES / shape / f"{offer_id}.json").read_text(encoding="utf-8"))


def probe_rule(rules_dir: Path, expression: str):
    """Load the bundled Douyin rule with one extra first transform, ``probe: <expression>``."""
    text = (rules_dir / "douyin.yaml").read_text(encoding="utf-8")
    # A JSON string is a valid double-quoted YAML scalar, whatever quotes the expression contains.
    text = text.replace("\ntransform:\n", "\ntransform:\n  probe: " + json.dumps(expression, ensure_ascii=False) + "\n", 1)
    path = rules_dir / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rule(path)


def probe(rules_dir: Path, expression: str, offer_id: str = "698310457726", record_changes: dict | None = None):
    """Return the value of ``expression`` for one sample offer."""
    rule = probe_rule(rules_dir, expression)
    record = rule.profile.extract(raw_sample("product.get", offer_id), offer_id)
    record = {**record, **(record_changes or {})}
    return rule.map_record(record, offer_id).transforms["probe"]


def probe_error(rules_dir: Path, expression: str) -> OfferError:
    with pytest.raises(OfferError) as caught:
        probe(rules_dir, expression)
    return caught.value


def load_problems(rules_dir: Path, expression: str) -> list[tuple[str, str]]:
    with pytest.raises(RuleError) as caught:
        probe_rule(rules_dir, expression)
    return [(problem.key, problem.params.get("name")) for problem in caught.value.problems if problem.severity == "error"]


# --- source text is never evaluated ----------------------------------------------------------


@pytest.mark.parametrize("shape", ["product.get", "item_get"])
@pytest.mark.parametrize(("rule", "field"), [("douyin", "name"), ("taobao", "title")])
def test_template_title_passes_through_verbatim(shape, rule, field):
    mapped = load_rule(ROOT / "rules" / f"{rule}.yaml", profile=shape).apply(raw_sample(shape, "684092175530"))

    assert mapped.payload[field] == TEMPLATE_TITLE


def test_template_text_in_detail_html_kept():
    mapped = load_rule(ROOT / "rules" / "taobao.yaml").apply(raw_sample("product.get", "684092175530"))

    assert "企业定制 {{ 7*7 }} 工作服 {% raw %} 请以实物为准 {% endraw %}" in mapped.payload["desc"]
    assert "49" not in mapped.payload["desc"]


def test_template_attribute_value_kept(rules_dir):
    value = probe(rules_dir, "{{ offer.attributes | selectattr('name', 'equalto', '货号') | map(attribute='value') | first }}", "684092175530")

    assert value == "{{ sku }}"


@pytest.mark.parametrize(
    "title",
    [
        "{{ 7*7 }}",
        "{% raw %}",
        "{% endraw %}{{ 7*7 }}",
        "{# comment",
        "{{ offer.__class__ }}",
        "{% for x in range(10**9) %}{% endfor %}",
    ],
)
def test_template_title_is_plain_text(rules_dir, title):
    assert probe(rules_dir, "{{ offer.title }}", record_changes={"title": title}) == title


@pytest.mark.parametrize("title", ["{{ 7*7 }}", "{% raw %}", "}}{{"])
def test_template_title_inside_template(rules_dir, title):
    assert probe(rules_dir, "标题：{{ offer.title }}！", record_changes={"title": title}) == f"标题：{title}！"


# --- types survive -----------------------------------------------------------------------------


def test_code_stays_text(rules_dir):
    assert probe(rules_dir, "{{ offer.skus[0].code }}") == "0123"


def test_decimal_stays_decimal(rules_dir):
    value = probe(rules_dir, "{{ offer.price_tiers[0].price }}")

    assert type(value) is Decimal
    assert str(value) == "17.08"


def test_text_template_gives_text(rules_dir):
    assert probe(rules_dir, "货号-{{ offer.skus[0].code }}") == "货号-0123"
    assert probe(rules_dir, "{{ 1 }}{{ 2 }}") == "12"


# --- the sandbox -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ["{{ offer.__class__ }}", "{{ offer['__class__'] }}", "{{ offer.__init__ }}", "{{ offer.update({'a': 1}) }}"],
)
def test_offer_internals_rejected_at_load(rules_dir, expression):
    assert load_problems(rules_dir, expression)[0][0] == "rule.unknown_attribute"


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("{{ os.system('id') }}", "os"),
        ("{{ __import__('os') }}", "__import__"),
        ("{{ self }}", "self"),
        ("{{ config }}", "config"),
        ("{{ cycler(1, 2) }}", "cycler"),
        ("{{ lipsum() }}", "lipsum"),
        ("{{ namespace(a=1) }}", "namespace"),
        ("{{ joiner() }}", "joiner"),
    ],
)
def test_globals_not_available(rules_dir, expression, name):
    assert load_problems(rules_dir, expression) == [("rule.unknown_name", name)]


@pytest.mark.parametrize(
    ("expression", "key", "name"),
    [
        ("{{ offer | attr('__class__') }}", "rule.unknown_filter", "attr"),
        ("{{ '%s' | format(offer) }}", "rule.removed_filter", "format"),
        ("{{ offer | tojson }}", "rule.removed_filter", "tojson"),
        ("{{ offer.title | safe }}", "rule.unknown_filter", "safe"),
    ],
)
def test_unsafe_builtin_filters_not_available(rules_dir, expression, key, name):
    assert load_problems(rules_dir, expression) == [(key, name)]


@pytest.mark.parametrize(
    "expression",
    [
        "{{ offer.title.__class__.__mro__ }}",
        "{{ ''.__class__.mro() }}",
        "{{ dict.mro() }}",
        "{{ offer.skus.append(1) }}",
        "{{ '{0.__class__}'.format(offer) }}",
        "x{{ offer.title.__class__ }}",
    ],
)
def test_sandbox_blocks_internals_at_run_time(rules_dir, expression):
    error = probe_error(rules_dir, expression)

    assert (error.key, error.step, error.field) == ("map.sandbox", "transform", "transform.probe")
    assert "unsafe" in error.params["detail"]


@pytest.mark.parametrize(
    "expression",
    [
        "{{ offer.title.__class__ }}",
        "{{ vars.markup.__class__ }}",
        "{{ range.__globals__ }}",
        "{{ offer.title.upper.__globals__ }}",
        "{{ offer.title.__class__.__base__.__subclasses__() }}",
    ],
)
def test_internals_never_returned(rules_dir, expression):
    with pytest.raises((OfferError, SecurityError)):
        probe(rules_dir, expression)


@pytest.mark.parametrize("expression", ["{{ offer.title.__class__ }}", "{{ vars.markup.__class__ }}", "{{ range.__globals__ }}"])
def test_unsafe_attribute_result_is_offer_error(rules_dir, expression):
    error = probe_error(rules_dir, expression)

    assert error.key == "map.sandbox"


@pytest.mark.parametrize(
    ("expression", "tag"),
    [("{% include '/etc/passwd' %}", "include"), ("{% import 'macros' as m %}", "import"), ("{% extends 'base' %}", "extends"),
     ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "for")],
)
def test_statements_rejected_at_load(rules_dir, expression, tag):
    with pytest.raises(RuleError) as caught:
        probe_rule(rules_dir, expression)

    keys = [(problem.key, problem.params.get("tag")) for problem in caught.value.problems]
    assert ("rule.statement", tag) in keys


# --- resource abuse ----------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["{{ range(10**9) | list | length }}", "{{ range(100001) | list }}", "{{ range(0, 10**12, 2) | list }}"])
def test_huge_range_fails_fast(rules_dir, expression):
    started = time.monotonic()

    error = probe_error(rules_dir, expression)

    assert time.monotonic() - started < 10
    assert (error.key, error.field) == ("map.expression_failed", "transform.probe")
    assert "MAX_RANGE (100000)" in error.params["detail"]


def test_range_up_to_limit_allowed(rules_dir):
    assert probe(rules_dir, "{{ range(100000) | list | length }}") == 100000


def test_huge_repetition_fails(rules_dir):
    # 10**8 characters keep this test cheap; the same expression with 10**10 needs 10 GB.
    with pytest.raises(OfferError):
        probe(rules_dir, "{{ ('x' * 10**8) | length }}")


# --- the strict int filter ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["'abc'", "''", "'1.5'", "true", "none"])
def test_int_filter_fails_on_bad_input(rules_dir, text):
    error = probe_error(rules_dir, "{{ " + text + " | int }}")

    assert (error.key, error.step, error.field) == ("expr.not_int", "transform", "transform.probe")


def test_int_filter_text(rules_dir):
    error = probe_error(rules_dir, "{{ 'abc' | int }}")

    assert error.params == {"value": "abc"}
    assert error.render("zh") == "'abc' 不是整数"
    assert error.render("en") == "'abc' is not a whole number"


@pytest.mark.parametrize(("text", "value"), [("'12'", 12), ("' 7 '", 7), ("'2.0'", 2), ("3", 3)])
def test_int_filter_accepts_whole_numbers(rules_dir, text, value):
    assert probe(rules_dir, "{{ " + text + " | int }}") == value


@pytest.mark.parametrize(
    "expression",
    ["{{ 'a'.ljust(1000000000) }}", "{{ '%0999999999d' % 1 }}", "{{ '{:>999999999}'.format(1) }}", "{{ 'a'.center(10**9) }}", "{{ '1'.zfill(10**9) }}"],
)
def test_unbounded_text_methods_fail_fast(rules_dir, expression):
    started = time.monotonic()

    error = probe_error(rules_dir, expression)

    assert time.monotonic() - started < 5
    assert error.key == "map.sandbox"
