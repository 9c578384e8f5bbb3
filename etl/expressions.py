"""The expression environment for rule files: a Jinja sandbox with vetted filters only.

Rule values written as ``"{{ expr }}"`` are compiled as Jinja *expressions*, so a value keeps its
Python type (a ``Decimal`` stays a ``Decimal``, ``"0123"`` stays a string). Values with text around
``{{ }}`` are rendered as small templates and give strings. Anything else is a literal.

Sandbox limits, and why:
- ``SandboxedEnvironment`` blocks attribute access to internals (``__class__``, ``mro`` ...), because
  rule files come from people who are not engineers and must not be able to run code. Jinja fixed
  sandbox escapes as late as 3.1.6, so the package requires at least that version.
- ``StrictUndefined``: a name or attribute that does not exist raises instead of becoming an empty
  string. The mapper turns that into a "missing" value, which each field handles explicitly.
- Only plain data and the filters in :func:`build_filters` are reachable. Built-in filters that
  work in floats or guess silently (``float``, ``round``, ``format``, ``truncate``) are removed, and
  ``int`` is replaced by a strict version that fails instead of returning 0.
- Source data is passed in as values, never as template text, so a title containing
  ``{{ 7*7 }}`` is only ever a string.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateAssertionError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from etl.errors import DataError

_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<body>.*)\}\}\s*$", re.DOTALL)

# Jinja built-ins analysts may use. Everything else is removed from the sandbox.
_ALLOWED_BUILTIN_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "first", "groupby", "items",
    "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
    "replace", "reverse", "select", "selectattr", "sort", "string", "striptags", "sum",
    "trim", "unique", "upper", "wordcount",
)

# Removed built-ins mapped to what to use instead, for the "did you mean" message.
REPLACED_FILTERS = {
    "float": "to_decimal",
    "round": "round_fen",
    "truncate": "truncate_width",
    "format": "join / ~",
    "wordwrap": "truncate_width",
    "tojson": "encode: json",
    "batch": "map / select",
    "slice": "[start:end]",
}

_ALLOWED_GLOBALS = ("range", "dict")


def strict_int(value: Any) -> int:
    """Convert text or a number to ``int``; unlike Jinja's ``int`` filter it never returns 0 on bad input."""
    if isinstance(value, bool):
        raise DataError("expr.not_int", value=value)

    if isinstance(value, int):
        return value

    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DataError("expr.not_int", value=value) from None

    if number != number.to_integral_value():
        raise DataError("expr.not_int", value=value)

    return int(number)


def build_filters() -> dict[str, Callable]:
    """Return the project's vetted filters by the names rule files use."""
    from etl.filters import html, money, skus, tables, text

    return {
        # money, all Decimal yuan unless the name says fen
        "to_decimal": money.to_decimal,
        "yuan_to_fen": money.yuan_to_fen,
        "fen_to_yuan": money.fen_to_yuan,
        "round_fen": money.round_fen,
        "retail": money.retail,
        "retail_price": money.retail_price,
        "markup_for_cost": money.markup_for_cost,
        "price_ending": money.price_ending,
        "tier_price": money.tier_price,
        "sku_cost": money.sku_cost,
        "format_yuan": money.format_yuan,
        # titles and text, widths in display columns
        "display_width": text.display_width,
        "truncate_width": text.truncate_width,
        "clean_title": text.clean_title,
        "banned_words_in": text.banned_words_in,
        # mapping tables
        "lookup": tables.lookup,
        # detail HTML
        "clean_html": html.clean_html,
        "html_images": html.html_images,
        "html_text": html.html_text,
        "images_html": html.images_html,
        # SKUs and specs
        "spec_dimensions": skus.spec_dimensions,
        "douyin_specs": skus.douyin_specs,
        "douyin_spec_prices": skus.douyin_spec_prices,
        "douyin_spec_pic": skus.douyin_spec_pic,
        "missing_combinations": skus.missing_combinations,
        "taobao_skus": skus.taobao_skus,
        "sum_stock": skus.sum_stock,
        # strict replacement for Jinja's int
        "int": strict_int,
    }


class _DecimalCodeGenerator(CodeGenerator):
    """Write ``Decimal`` constants as a call the compiled template can evaluate."""

    def visit_Const(self, node: nodes.Const, frame) -> None:
        value = node.as_const(frame.eval_ctx)
        if isinstance(value, Decimal):
            self.write(f"environment.decimal_literal({str(value)!r})")
        else:
            super().visit_Const(node, frame)


class RuleSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with decimal literals and ``*`` and ``**`` bounded like its ``range()``.

    A number literal with a fraction in a rule (``cost * 1.2``) is a ``Decimal``, not a float, so
    money arithmetic written in a rule stays exact.

    Jinja caps ``range()`` at ``MAX_RANGE`` (100,000 items) but lets ``'x' * 10**10`` run until
    memory runs out. Repetition is capped at the same size and integer powers at
    :data:`MAX_POWER_BITS`, so a rule typo fails one offer instead of the host.
    """

    code_generator_class = _DecimalCodeGenerator
    intercepted_binops = frozenset(["*", "**", "%"])
    decimal_literal = staticmethod(Decimal)

    def wrap_str_format(self, value: Any):
        # str.format is refused below; Jinja would otherwise hand out a sandboxed wrapper first.
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Padding and formatting methods take a width that can ask for gigabytes.
        if isinstance(obj, str) and attr in _UNBOUNDED_STRING_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def _generate(self, source, name, filename, defer_init=False):
        # Both templates and compile_expression() pass their node tree through here.
        for node in source.find_all(nodes.Const):
            if isinstance(node.value, float):
                node.value = Decimal(repr(node.value))
        return super()._generate(source, name, filename, defer_init=defer_init)

    def call_binop(self, context, operator, left, right):
        if operator == "%" and isinstance(left, str):
            raise SecurityError("the % operator on text is not available; join text with ~")
        if operator == "*":
            _check_repetition(left, right)
            _check_repetition(right, left)
        elif operator == "**":
            _check_power(left, right)
        return super().call_binop(context, operator, left, right)


MAX_POWER_BITS = 4096

_UNBOUNDED_STRING_METHODS = frozenset(["ljust", "rjust", "center", "zfill", "expandtabs", "format", "format_map"])


def _check_repetition(sequence: Any, count: Any) -> None:
    if isinstance(sequence, (str, list, tuple)) and isinstance(count, int) and not isinstance(count, bool):
        if len(sequence) * count > MAX_RANGE:
            raise SecurityError(f"repetition of {len(sequence)} items {count} times exceeds {MAX_RANGE} items")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        if exponent * abs(base).bit_length() > MAX_POWER_BITS:
            raise SecurityError(f"{base} ** {exponent} exceeds {MAX_POWER_BITS} bits")


def build_environment() -> ImmutableSandboxedEnvironment:
    """Create the sandbox used for every rule expression. It keeps no per-run state."""
    env = RuleSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

    env.filters = {name: env.filters[name] for name in _ALLOWED_BUILTIN_FILTERS}
    env.filters.update(build_filters())
    env.globals = {name: env.globals[name] for name in _ALLOWED_GLOBALS}
    return env


def split_expression(text: str) -> str | None:
    """Return the body of ``"{{ body }}"`` when the whole string is one expression, else ``None``."""
    match = _WHOLE_EXPRESSION.match(text)
    if not match:
        return None

    body = match.group("body")
    if "{{" in body or "}}" in body:
        return None

    return body


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@dataclass(frozen=True)
class ParsedExpression:
    """A compiled expression plus its AST for load-time checks."""

    source: str
    ast: nodes.Template
    evaluate: Callable[[Mapping[str, Any]], Any]
    whole: bool  # True for "{{ expr }}" (keeps the type), False for a template (gives a string)


class ExpressionSyntaxError(Exception):
    def __init__(self, detail: str, line: int | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line


def parse(env: ImmutableSandboxedEnvironment, text: str) -> ParsedExpression:
    """Compile ``text`` (a whole ``{{ }}`` expression or a template); raise :class:`ExpressionSyntaxError`."""
    body = split_expression(text)
    try:
        if body is not None:
            ast = env.parse("{{ " + body + " }}")
            compiled = env.compile_expression(body, undefined_to_none=False)
            return ParsedExpression(text, ast, compiled, True)

        ast = env.parse(text)
        template = env.from_string(text)
        return ParsedExpression(text, ast, template.render, False)
    except (TemplateSyntaxError, TemplateAssertionError) as error:
        raise ExpressionSyntaxError(error.message or str(error), error.lineno) from None


def suggest(name: str, candidates) -> str | None:
    """Return the closest candidate to a misspelt ``name``, if one is close enough."""
    matches = difflib.get_close_matches(str(name), [str(item) for item in candidates], n=1, cutoff=0.6)
    return matches[0] if matches else None
