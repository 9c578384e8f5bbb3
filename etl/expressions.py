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

import copy
import difflib
import operator
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Callable, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateAssertionError
from jinja2.optimizer import Optimizer
from jinja2.parser import Parser
from jinja2.runtime import Context, missing, str_join
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

    def getattr(self, obj: Any, attribute: str) -> Any:
        # A plain dict or mapping proxy whose type has no attribute of this name can only give
        # the key, which is what the sandbox's getattr falls back to, so skip its failed
        # getattr() and the AttributeError it costs. Every other case goes through the sandbox.
        kind = type(obj)
        if (kind is dict or kind is MappingProxyType) and attribute not in _MAPPING_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

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

# Every attribute name that getattr() finds on a dict or a mapping proxy instance, dunders included.
_MAPPING_ATTRIBUTES = frozenset(dir({})) | frozenset(dir(MappingProxyType({})))

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
    """Compile ``text`` (a whole ``{{ }}`` expression or a template); raise :class:`ExpressionSyntaxError`.

    ``evaluate(scope)`` takes the names visible to the expression as a mapping (Jinja globals
    such as ``range`` are added behind them) and returns the value, or a string for a template.
    """
    body = split_expression(text)
    try:
        if body is not None:
            ast = env.parse("{{ " + body + " }}")
            return ParsedExpression(text, ast, _compile_whole(env, body), True)

        ast = env.parse(text)
        template = env.from_string(text)
        # Blocks need the context Template.render builds; rule values never contain one.
        evaluate = template.render if template.blocks else TemplateEvaluator(template)
        return ParsedExpression(text, ast, evaluate, False)
    except (TemplateSyntaxError, TemplateAssertionError) as error:
        raise ExpressionSyntaxError(error.message or str(error), error.lineno) from None


def _compile_whole(env: ImmutableSandboxedEnvironment, body: str) -> Callable[[Mapping[str, Any]], Any]:
    """Compile the body of ``{{ body }}`` as ``Environment.compile_expression`` does.

    The Jinja template is always built, so a rule gets the same load-time errors as before. It
    evaluates only expressions that :class:`_ClosureCompiler` does not cover.
    """
    assignment = nodes.Assign(nodes.Name("result", "store"), _parse_expression(env, body), lineno=1)
    template = env.from_string(nodes.Template([assignment], lineno=1))

    # Building the template changed its tree in place, so the closures start from a new parse.
    try:
        return _ClosureCompiler(env).compile_expression(_parse_expression(env, body))
    except _Unsupported:
        return ExpressionEvaluator(template)


def _parse_expression(env: ImmutableSandboxedEnvironment, body: str) -> nodes.Expr:
    parser = Parser(env, body, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    expression.set_environment(env)
    return expression


# -- evaluation ------------------------------------------------------------------------------
#
# Jinja's own entry points (Template.render, compile_expression) build a Context per call by
# copying the variables and the globals into a new dict, which cost more than most rule
# expressions themselves. The evaluators below run the same generated code (so every
# attribute access, call and intercepted operator still goes through the sandbox's getattr,
# getitem, call and call_binop) with a Context that reads the caller's mapping in place.


class ScopeContext(Context):
    """A Jinja context that reads names from the mapper's scope without copying it.

    ``scope`` is the mapping of names for one evaluation, and the environment's globals
    (``range``, ``dict``) come after it. The compiled code reads it only through
    :meth:`resolve_or_missing`, and stores its result in ``vars``.
    """

    def __init__(self, environment, scope: Mapping[str, Any], eval_ctx: nodes.EvalContext) -> None:
        # Context.__init__ is skipped on purpose: it copies the globals and blocks on every call.
        self.parent = scope
        self.vars = {}
        self.environment = environment
        self.eval_ctx = eval_ctx
        self.exported_vars = set()
        self.name = None
        self.globals_keys = _NO_NAMES
        self.blocks = {}

    def resolve_or_missing(self, key: str) -> Any:
        value = self.parent.get(key, missing)
        if value is missing:
            return self.environment.globals.get(key, missing)
        return value


_NO_NAMES: frozenset[str] = frozenset()


class ExpressionEvaluator:
    """Evaluate a compiled ``{{ expr }}`` against a scope mapping; the value keeps its type.

    One ``EvalContext`` serves every call. Only statements (``{% autoescape %}``) change an
    eval context, and an expression cannot contain one.
    """

    __slots__ = ("_environment", "_root", "_eval_ctx")

    def __init__(self, template) -> None:
        self._environment = template.environment
        self._root = template.root_render_func
        self._eval_ctx = nodes.EvalContext(template.environment, template.name)

    def __call__(self, scope: Mapping[str, Any]) -> Any:
        context = ScopeContext(self._environment, scope, self._eval_ctx)
        for _ in self._root(context):
            pass
        return context.vars["result"]


class TemplateEvaluator:
    """Render a compiled template (text around ``{{ }}``) against a scope mapping to a string."""

    __slots__ = ("_environment", "_root", "_name")

    def __init__(self, template) -> None:
        self._environment = template.environment
        self._root = template.root_render_func
        self._name = template.name

    def __call__(self, scope: Mapping[str, Any]) -> str:
        # A template may hold statements that change the eval context, so each call gets its own.
        eval_ctx = nodes.EvalContext(self._environment, self._name)
        context = ScopeContext(self._environment, scope, eval_ctx)
        return self._environment.concat(self._root(context))


# -- closures ----------------------------------------------------------------------------------
#
# Most rule expressions are names, attributes, filters, tests, conditions and literals. For
# those, _ClosureCompiler builds one small Python function per AST node that does what the
# code Jinja generates for that node does. Attribute and item access goes through the
# sandbox's getattr and getitem, calls through its call() and intercepted operators through
# call_binop. Filters and tests are called directly, with the same injected first argument.
# Before that, the tree gets the Decimal constants and the constant folding of Jinja's code
# generation. A node type or form not covered raises _Unsupported, and the whole expression
# then runs as the Jinja template.

Scope = Mapping[str, Any]
Evaluate = Callable[[Scope], Any]

_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda left, right: left in right,
    "notin": lambda left, right: left not in right,
}

_BINARY_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "**": operator.pow,
    "%": operator.mod,
}

_UNARY_OPERATORS: dict[str, Callable[[Any], Any]] = {"not": operator.not_, "-": operator.neg, "+": operator.pos}

_IMMUTABLE_CONSTANTS = (str, int, float, bool, type(None), Decimal)


class _Unsupported(Exception):
    """The expression uses a node or form that only the Jinja template evaluates."""


def _plain_call(function: Callable, value: Evaluate, arguments: tuple[Evaluate, ...]) -> Evaluate:
    """Call a filter or test that takes no injected argument with up to two arguments, without building a list."""
    if not arguments:
        return lambda scope: function(value(scope))

    if len(arguments) == 1:
        (argument,) = arguments
        return lambda scope: function(value(scope), argument(scope))

    first, second = arguments
    return lambda scope: function(value(scope), first(scope), second(scope))


class _ClosureCompiler:
    def __init__(self, env: ImmutableSandboxedEnvironment) -> None:
        self.env = env
        self.eval_ctx = nodes.EvalContext(env, None)

    def compile_expression(self, expression: nodes.Expr) -> Evaluate:
        """Prepare the tree as Jinja's code generation does, then compile it."""
        for node in [expression, *expression.find_all(nodes.Const)]:
            if isinstance(node, nodes.Const) and isinstance(node.value, float):
                node.value = Decimal(repr(node.value))  # what RuleSandbox._generate does
        optimized = Optimizer(self.env).visit(expression, self.eval_ctx)
        return self.compile(optimized)

    def compile(self, node: nodes.Node) -> Evaluate:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node)

    def context(self, scope: Scope) -> ScopeContext:
        """Build the context that ``call``, ``call_binop`` and context filters take."""
        return ScopeContext(self.env, scope, self.eval_ctx)

    # -- values ----------------------------------------------------------------------------

    def _Const(self, node: nodes.Const) -> Evaluate:
        value = node.value
        if isinstance(value, _IMMUTABLE_CONSTANTS):
            return lambda scope: value
        # Jinja writes the constant's repr into the code, so each evaluation gets a new list or dict.
        return lambda scope: copy.deepcopy(value)

    def _Name(self, node: nodes.Name) -> Evaluate:
        # "self" is the template reference in Jinja's generated code, not a scope name.
        if node.ctx != "load" or node.name == "self":
            raise _Unsupported("name")

        name = node.name
        environment = self.env
        globals_ = environment.globals

        def evaluate(scope):
            value = scope.get(name, missing)
            if value is missing:
                value = globals_.get(name, missing)
                if value is missing:
                    return environment.undefined(name=name)
            return value

        return evaluate

    def _List(self, node: nodes.List) -> Evaluate:
        items = tuple(self.compile(item) for item in node.items)
        return lambda scope: [item(scope) for item in items]

    def _Tuple(self, node: nodes.Tuple) -> Evaluate:
        if node.ctx != "load":
            raise _Unsupported("tuple")
        items = tuple(self.compile(item) for item in node.items)
        return lambda scope: tuple([item(scope) for item in items])

    def _Dict(self, node: nodes.Dict) -> Evaluate:
        pairs = tuple((self.compile(pair.key), self.compile(pair.value)) for pair in node.items)
        return lambda scope: {key(scope): value(scope) for key, value in pairs}

    # -- access ----------------------------------------------------------------------------

    def _Getattr(self, node: nodes.Getattr) -> Evaluate:
        parent = self.compile(node.node)
        attribute = node.attr
        getattr_ = self.env.getattr
        return lambda scope: getattr_(parent(scope), attribute)

    def _Getitem(self, node: nodes.Getitem) -> Evaluate:
        parent = self.compile(node.node)
        if isinstance(node.arg, nodes.Slice):
            return self._slice(parent, node.arg)

        argument = self.compile(node.arg)
        getitem = self.env.getitem
        return lambda scope: getitem(parent(scope), argument(scope))

    def _slice(self, parent: Evaluate, node: nodes.Slice) -> Evaluate:
        # Jinja writes obj[start:stop:step] directly: slices bypass the sandbox's getitem.
        parts = tuple(None if part is None else self.compile(part) for part in (node.start, node.stop, node.step))

        start_of, stop_of, step_of = parts

        def evaluate(scope):
            value = parent(scope)
            start = None if start_of is None else start_of(scope)
            stop = None if stop_of is None else stop_of(scope)
            step = None if step_of is None else step_of(scope)
            return value[start:stop:step]

        return evaluate

    # -- operators -------------------------------------------------------------------------

    def _CondExpr(self, node: nodes.CondExpr) -> Evaluate:
        if node.expr2 is None:
            raise _Unsupported("if without else")  # Jinja returns a positioned Undefined
        test, then, otherwise = self.compile(node.test), self.compile(node.expr1), self.compile(node.expr2)
        return lambda scope: then(scope) if test(scope) else otherwise(scope)

    def _And(self, node: nodes.And) -> Evaluate:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda scope: left(scope) and right(scope)

    def _Or(self, node: nodes.Or) -> Evaluate:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda scope: left(scope) or right(scope)

    def _binary(self, node: nodes.BinExpr) -> Evaluate:
        left, right = self.compile(node.left), self.compile(node.right)
        symbol = node.operator
        if symbol in self.env.intercepted_binops:
            call_binop = self.env.call_binop
            return lambda scope: call_binop(self.context(scope), symbol, left(scope), right(scope))

        function = _BINARY_OPERATORS[symbol]
        return lambda scope: function(left(scope), right(scope))

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Pow = _Mod = _binary

    def _unary(self, node: nodes.UnaryExpr) -> Evaluate:
        if self.env.intercepted_unops:
            raise _Unsupported("intercepted unary operator")
        operand = self.compile(node.node)
        function = _UNARY_OPERATORS[node.operator]
        return lambda scope: function(operand(scope))

    _Not = _Neg = _Pos = _unary

    def _Compare(self, node: nodes.Compare) -> Evaluate:
        first = self.compile(node.expr)
        steps = tuple((_COMPARISONS[operand.op], self.compile(operand.expr)) for operand in node.ops)
        if len(steps) == 1:
            compare, right = steps[0]
            return lambda scope: compare(first(scope), right(scope))

        def evaluate(scope):
            # A chain such as a < b < c works like Python's: each operand once, stop at the first false.
            left = first(scope)
            result = True
            for compare, right_of in steps:
                right = right_of(scope)
                result = compare(left, right)
                if not result:
                    return result
                left = right
            return result

        return evaluate

    def _Concat(self, node: nodes.Concat) -> Evaluate:
        # autoescape is off, so Jinja joins with str_join.
        parts = tuple(self.compile(part) for part in node.nodes)
        return lambda scope: str_join([part(scope) for part in parts])

    # -- filters, tests and calls ------------------------------------------------------------

    def _Filter(self, node: nodes.Filter) -> Evaluate:
        return self._filter_or_test(node, self.env.filters.get(node.name))

    def _Test(self, node: nodes.Test) -> Evaluate:
        return self._filter_or_test(node, self.env.tests.get(node.name))

    def _filter_or_test(self, node: nodes.Filter | nodes.Test, function: Callable | None) -> Evaluate:
        if function is None or node.node is None:
            raise _Unsupported("filter")

        value = self.compile(node.node)
        arguments, keywords = self._signature(node)
        passed = getattr(function, "jinja_pass_arg", None)
        first = self._passed_argument(passed.name if passed is not None else None)

        if first is None and not keywords and len(arguments) <= 2:
            return _plain_call(function, value, arguments)

        def evaluate(scope):
            leading = () if first is None else (first(scope),)
            return function(*leading, value(scope), *[argument(scope) for argument in arguments],
                            **{name: keyword(scope) for name, keyword in keywords})

        return evaluate

    def _passed_argument(self, kind: str | None) -> Evaluate | None:
        """Return what a filter marked ``pass_context``, ``pass_eval_context`` or ``pass_environment`` gets first."""
        if kind is None:
            return None
        if kind == "context":
            return self.context
        if kind == "eval_context":
            eval_ctx = self.eval_ctx
            return lambda scope: eval_ctx
        if kind == "environment":
            environment = self.env
            return lambda scope: environment
        raise _Unsupported(kind)

    def _Call(self, node: nodes.Call) -> Evaluate:
        function = self.compile(node.node)
        arguments, keywords = self._signature(node)
        call = self.env.call

        def evaluate(scope):
            target = function(scope)
            return call(self.context(scope), target, *[argument(scope) for argument in arguments],
                        **{name: keyword(scope) for name, keyword in keywords})

        return evaluate

    def _signature(self, node: nodes.Call | nodes.Filter | nodes.Test) -> tuple[tuple[Evaluate, ...], tuple[tuple[str, Evaluate], ...]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("*args or **kwargs")
        arguments = tuple(self.compile(argument) for argument in node.args)
        keywords = tuple((keyword.key, self.compile(keyword.value)) for keyword in node.kwargs)
        return arguments, keywords


def suggest(name: str, candidates) -> str | None:
    """Return the closest candidate to a misspelt ``name``, if one is close enough."""
    matches = difflib.get_close_matches(str(name), [str(item) for item in candidates], n=1, cutoff=0.6)
    return matches[0] if matches else None
