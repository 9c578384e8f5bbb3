"""The fast expression evaluators give what Jinja's own compiled expressions give, errors included."""

from __future__ import annotations

import re
from decimal import Decimal
from types import MappingProxyType

import pytest
from jinja2.exceptions import UndefinedError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from etl import expressions

ENV = expressions.build_environment()


def scope() -> dict:
    """A scope shaped like the mapper's: an offer record, read-only vars, a target view, a SKU row."""
    return {
        "offer": {
            "title": "纯棉T恤 {{ 7*7 }}",
            "images": ["https://a/1.jpg", "https://a/2.jpg", "https://a/3.jpg"],
            "skus": [{"price": Decimal("19.9"), "code": "0123"}, {"price": Decimal("5"), "code": None}],
            "items": "a key that is also a dict method",
            "weight_kg": None,
            "stock": 7,
        },
        "vars": MappingProxyType({"markup": Decimal("1.5"), "mobile": None, "names": ["x", "y"]}),
        "target": {"limits": {"title_max_width": 60, "main_images_max": 2}},
        "sku": {"sku_id": "42", "specs": [], "stock": 3},
        "empty": None,
        "number": 3,
        "text": "abc",
    }


def outcome(function, names: dict) -> tuple:
    """The result as (kind, type name, value or message), so values and errors compare alike."""
    try:
        value = function(names)
    except Exception as error:  # each evaluator must raise what the other raises
        return ("error", type(error).__name__, str(error))

    if isinstance(value, Undefined):
        try:
            value._fail_with_undefined_error()
        except Exception as error:  # the undefined value's own error: message and type
            return ("undefined", type(value).__name__, type(error).__name__, str(error))
    # Bound methods differ only in the address of the scope object they were read from.
    return ("value", type(value).__name__, re.sub(r"0x[0-9a-f]+", "0x", repr(value)))


def jinja_outcome(body: str, names: dict) -> tuple:
    compiled = ENV.compile_expression(body, undefined_to_none=False)
    return outcome(lambda mapping: compiled(**mapping), names)


EXPRESSIONS = [
    # names and paths
    "offer", "missing_name", "offer.title", "offer.missing", "offer.missing.deeper", "offer.items",
    "offer.images[0]", "offer.images[-1]", "offer.images[9]", "offer['title']", "offer.skus[1].code",
    "vars.markup", "vars.missing", "vars.keys", "target.limits.title_max_width", "empty.attribute",
    "range", "text.upper", "text.upper()",
    # slices
    "offer.images[:target.limits.main_images_max]", "offer.images[1:]", "offer.images[::-1]", "offer.images[:number - 1]",
    # conditions and logic
    "sku.sku_id if sku else ''", "sku.specs if sku else []", "empty.sku_id if empty else offer.stock",
    "offer.skus or [none]", "empty or offer.missing", "sku and sku.stock", "not sku", "not empty",
    "offer.weight_kg is not none", "offer.weight_kg is none", "missing_name is defined", "vars.mobile is none",
    "1 < number < 5", "1 < number < 2", "number == 3", "number != 3", "'a' in text", "'z' not in text",
    "number > 'a'",
    # arithmetic, literals and the sandbox's intercepted operators
    "number + 1", "number - 1.5", "number / 2", "number // 2", "-number", "+number", "1.5 * number",
    "vars.markup * 2", "2 ** number", "number % 2", "'%s' % text", "text * 3", "'x' * 1000000", "2 ** 100000",
    "[1, 2.5, number]", "(number, text)", "{'a': number, 'b': [text]}", "[]", "{}", "[none]",
    "text ~ number ~ 'z'", "none", "true", "0.1",
    # filters: project filters, Jinja built-ins with injected arguments, keyword arguments
    "offer.title | upper", "offer.title | truncate_width(target.limits.title_max_width)", "offer.title | truncate_width(4)",
    "offer.images | join('|')", "offer.images | length > 0", "offer.skus | map(attribute='price') | max",
    "offer.skus | map(attribute='code') | select | list", "offer.skus | selectattr('code') | list",
    "offer.skus | map(attribute='price') | sum", "vars.names | join(', ')", "missing_name | default('d')",
    "offer.missing | default(3)", "sku | sku_cost(offer)", "offer.skus[0] | sku_cost(offer) | retail_price(vars.markup)", "'19.9' | yuan_to_fen", "number | yuan_to_fen | fen_to_yuan",
    "offer.title | int", "sku.stock | int", "text | replace('b', 'x') | upper",
    # calls through the sandbox
    "range(number) | list", "dict(a=number)", "text.startswith('a')", "text.format(1)", "offer.title.__class__",
    "text.__class__.__mro__", "offer.skus.append", "offer.images.pop()", "offer.items()",
]


@pytest.mark.parametrize("body", EXPRESSIONS)
def test_expression_matches_jinja(body):
    parsed = expressions.parse(ENV, "{{ " + body + " }}")

    assert outcome(parsed.evaluate, scope()) == jinja_outcome(body, scope())


@pytest.mark.parametrize("body", ["offer.title", "sku.sku_id if sku else ''", "sku | sku_cost(offer)", "offer.skus | map(attribute='price') | max",
                                  "1.5 * number", "range(number) | list", "{'a': number}"])
def test_common_expressions_use_closures(body):
    parsed = expressions.parse(ENV, "{{ " + body + " }}")

    assert not isinstance(parsed.evaluate, expressions.ExpressionEvaluator)


@pytest.mark.parametrize("body", ["sku.sku_id if sku", "text | replace(*['b', 'x'])", "self"])
def test_uncovered_forms_run_as_jinja(body):
    parsed = expressions.parse(ENV, "{{ " + body + " }}")

    assert isinstance(parsed.evaluate, expressions.ExpressionEvaluator)
    assert outcome(parsed.evaluate, scope()) == jinja_outcome(body, scope())


def test_if_without_else_is_undefined():
    parsed = expressions.parse(ENV, "{{ sku.sku_id if empty }}")

    assert isinstance(parsed.evaluate(scope()), Undefined)


def test_list_literal_is_new_each_time():
    parsed = expressions.parse(ENV, "{{ [none] }}")

    first = parsed.evaluate(scope())
    first.append(1)

    assert parsed.evaluate(scope()) == [None]


@pytest.mark.parametrize("text", ["{{ offer.title }} / {{ number }}", "总价 {{ number * 2 }} 元", "{{ missing_name }} x", "{# note #}{{ text }}"])
def test_template_matches_jinja_render(text):
    parsed = expressions.parse(ENV, text)

    assert outcome(parsed.evaluate, scope()) == outcome(ENV.from_string(text).render, scope())


def test_undefined_attribute_message_names_attribute():
    parsed = expressions.parse(ENV, "{{ offer.missing }}")

    with pytest.raises(UndefinedError, match="missing"):
        parsed.evaluate(scope())._fail_with_undefined_error()


ATTRIBUTE_NAMES = sorted(set(dir({})) | set(dir(MappingProxyType({}))) | set(dir(type)) | set(dir(object))
                         | {"title", "price", "items", "keys", "values", "get", "copy", "mro", "__dict__", "__weakref__", "", "0"})


class DictSubclass(dict):
    title = "class attribute"


@pytest.mark.parametrize("mapping", [{"title": 1, "items": 2, "mro": 3, "__dict__": 4}, MappingProxyType({"title": 1, "keys": 2}),
                                     DictSubclass(title=1, price=2)], ids=["dict", "mappingproxy", "dict-subclass"])
def test_getattr_shortcut_matches_sandbox(mapping):
    reference = ImmutableSandboxedEnvironment()
    for name in ATTRIBUTE_NAMES:
        mine, theirs = ENV.getattr(mapping, name), reference.getattr(mapping, name)
        if isinstance(theirs, Undefined):
            assert type(mine) is ENV.undefined, name
            assert mine._undefined_name == theirs._undefined_name, name
            assert mine._undefined_exception is theirs._undefined_exception, name
        else:
            assert mine == theirs, name


def test_scope_context_sets_every_context_attribute():
    template = ENV.from_string("{{ 1 }}")
    real = template.new_context({})
    fast = expressions.ScopeContext(ENV, {}, real.eval_ctx)

    assert set(vars(fast)) == set(vars(real))
    assert isinstance(fast, Context)


def test_scope_context_reads_scope_before_globals():
    context = expressions.ScopeContext(ENV, {"range": "shadowed", "x": 1}, None)

    assert context.resolve_or_missing("x") == 1
    assert context.resolve_or_missing("range") == "shadowed"
    assert expressions.ScopeContext(ENV, {}, None).resolve_or_missing("range") is ENV.globals["range"]
