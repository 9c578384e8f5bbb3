"""Generic JMESPath functions for extraction profiles, and Decimal-aware type checks.

Raw responses are parsed with Decimal numbers. Stock jmespath type-checks by Python type name and
would call a ``Decimal`` "unknown", so :class:`ProfileFunctions` treats it as a number.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterator
from urllib.parse import urljoin

import jmespath
from jmespath import functions
from jmespath.visitor import TreeInterpreter

# The whole raw response being extracted, for root() inside projections.
_ROOT: contextvars.ContextVar[Any] = contextvars.ContextVar("etl_jmespath_root", default=None)


class ProfileFunctions(functions.Functions):
    """Stock JMESPath functions plus ``to_decimal``, ``split``, ``split_max``, ``get``, ``root`` and ``url_join``."""

    def __init__(self) -> None:
        super().__init__()
        self._pytypes_by_signature: dict[tuple[str, ...], tuple[list, list]] = {}

    def _get_allowed_pytypes(self, types):
        # Called for every argument of every call, so the result is kept per signature.
        key = tuple(types)
        found = self._pytypes_by_signature.get(key)
        if found is None:
            allowed, subtypes = super()._get_allowed_pytypes(types)
            if "float" in allowed:
                allowed = list(allowed) + ["Decimal"]
            subtypes = [list(group) + ["Decimal"] if "float" in group else group for group in subtypes]
            found = self._pytypes_by_signature[key] = (allowed, subtypes)
        return found

    @functions.signature({"types": ["string", "number", "null"]})
    def _func_to_decimal(self, value):
        """Text or number to Decimal; null and empty text to null. Bad text stays text so validation names it."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None

        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return value

    @functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
    def _func_split(self, text, separator):
        """``split(text, sep)``; null or empty text gives an empty list."""
        if text is None or text == "":
            return []

        return text.split(separator)

    @functions.signature({"types": ["string", "null"]}, {"types": ["string"]}, {"types": ["number"]})
    def _func_split_max(self, text, separator, max_splits):
        """``split_max(text, sep, n)`` splits at most ``n`` times, so the last part may contain ``sep``."""
        if text is None or text == "":
            return []

        return text.split(separator, int(max_splits))

    @functions.signature({"types": []}, {"types": ["string", "number"]})
    def _func_get(self, mapping, key):
        """Look up a computed key in an object; null when absent or when ``mapping`` is not an object.

        PHP-backed APIs encode an empty map as ``[]``, so a list here means "no entries".
        """
        if not isinstance(mapping, dict):
            return None
        return mapping.get(str(key))

    @functions.signature()
    def _func_root(self):
        """Return the whole response, so a projection over SKUs can read a top-level table."""
        return _ROOT.get()

    @functions.signature({"types": ["string"]}, {"types": ["string", "null"]})
    def _func_url_join(self, base, path):
        """Resolve a relative image path against ``base``; absolute URLs stay, ``//host`` gets https."""
        if path is None or not path.strip():
            return None

        path = path.strip()
        if path.startswith("//"):
            return "https:" + path

        if _SITE_ROOT.fullmatch(base) and _PLAIN_RELATIVE_PATH.fullmatch(path):
            return base + path  # what urljoin gives for these forms, without its parsing

        return urljoin(base, path)


# A base URL that is only a lower-case http(s) scheme, a host and "/", and a relative path of
# ASCII segments without ".", ".." or empty segments and without ":", ";", "?", "#" or
# whitespace. urljoin(base, path) is then base + path (checked against urljoin in the tests).
_SITE_ROOT = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?/")
_PLAIN_RELATIVE_PATH = re.compile(r"(?:(?!\.\.?(?:/|$))[A-Za-z0-9_.~!$&'()*+,=@%-]+/)*(?!\.\.?$)[A-Za-z0-9_.~!$&'()*+,=@%-]+")

OPTIONS = jmespath.Options(custom_functions=ProfileFunctions())

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class DottedPath:
    """A JMESPath expression that is only ``a.b.c``, evaluated as plain dictionary lookups.

    Same result as JMESPath: a missing key, or a step into something that is not an object,
    gives null. Most profile fields are such paths, and skipping the interpreter for them
    roughly halves extraction time.
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.keys = tuple(expression.split("."))

    def search(self, data: Any, options: Any = None) -> Any:
        for key in self.keys:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data


class CompiledPath:
    """A JMESPath expression compiled once into nested Python functions, one per AST node.

    Each function follows the matching ``visit_*`` method of jmespath 1.1's ``TreeInterpreter``,
    so the result is the interpreter's, without its per-node dispatch. Functions are called
    through :data:`OPTIONS`, with their type checks. ``search`` ignores ``options`` for that
    reason. Comparisons and node types not listed in ``_NODE_COMPILERS`` are handed to the
    interpreter itself.
    """

    def __init__(self, expression: str, parsed: dict) -> None:
        self.expression = expression
        self._evaluate = _compile_node(parsed)

    def search(self, data: Any, options: Any = None) -> Any:
        return self._evaluate(data)


def compile_path(expression: str):
    """Compile a JMESPath expression, as plain lookups when it is a dotted path; raise ``ParseError``."""
    if _DOTTED.match(expression):
        return DottedPath(expression)
    return CompiledPath(expression, jmespath.compile(expression).parsed)


def search(compiled, data: Any, root: Any) -> Any:
    """Evaluate a compiled JMESPath expression with ``root()`` bound to ``root``."""
    token = _ROOT.set(root)
    try:
        return compiled.search(data, options=OPTIONS)
    finally:
        _ROOT.reset(token)


@contextlib.contextmanager
def bound_root(root: Any) -> Iterator[None]:
    """Bind ``root()`` to ``root`` for every search inside the block, so one offer binds it once."""
    token = _ROOT.set(root)
    try:
        yield
    finally:
        _ROOT.reset(token)


# -- compiling AST nodes -----------------------------------------------------------------------

Evaluate = Callable[[Any], Any]


def _is_false(value: Any) -> bool:
    # JMESPath falsiness: equality checks, because 0 is true in JMESPath but false in Python.
    return value == "" or value == [] or value == {} or value is None or value is False


def _compile_node(node: dict) -> Evaluate:
    compile_function = _NODE_COMPILERS.get(node["type"])
    if compile_function is None:
        return _interpreted(node)
    return compile_function(node)


def _interpreted(node: dict) -> Evaluate:
    # A TreeInterpreter keeps nothing between calls but a cache of its visit methods, so one
    # instance serves every call, from any thread.
    interpreter = TreeInterpreter(OPTIONS)

    def evaluate(value):
        return interpreter.visit(node, value)
    return evaluate


def _compile_field(node: dict) -> Evaluate:
    key = node["value"]

    def evaluate(value):
        if type(value) is dict:
            return value.get(key)
        try:
            return value.get(key)
        except AttributeError:
            return None
    return evaluate


def _compile_chain(node: dict) -> Evaluate:
    """``subexpression``, ``index_expression`` and ``pipe``: each child reads the previous result, None included."""
    steps = tuple(_compile_node(child) for child in node["children"])

    def evaluate(value):
        for step in steps:
            value = step(value)
        return value
    return evaluate


def _compile_current(node: dict) -> Evaluate:
    return _identity


def _identity(value: Any) -> Any:
    return value


def _compile_literal(node: dict) -> Evaluate:
    constant = node["value"]
    return lambda value: constant


def _compile_or(node: dict) -> Evaluate:
    left, right = (_compile_node(child) for child in node["children"])

    def evaluate(value):
        matched = left(value)
        if _is_false(matched):
            matched = right(value)
        return matched

    if all(child["type"] == "field" for child in node["children"]):
        return _or_of_fields(node["children"][0]["value"], node["children"][1]["value"], evaluate)
    return evaluate


def _or_of_fields(first: str, second: str, general: Evaluate) -> Evaluate:
    """``a || b`` for two keys, the most common profile expression, read from a dict directly."""
    def evaluate(value):
        if type(value) is not dict:
            return general(value)
        matched = value.get(first)
        if matched == "" or matched == [] or matched == {} or matched is None or matched is False:
            matched = value.get(second)
        return matched
    return evaluate


def _compile_and(node: dict) -> Evaluate:
    left, right = (_compile_node(child) for child in node["children"])

    def evaluate(value):
        matched = left(value)
        if _is_false(matched):
            return matched
        return right(value)
    return evaluate


def _compile_function(node: dict) -> Evaluate:
    name = node["value"]
    arguments = tuple(_compile_node(child) for child in node["children"])
    functions = OPTIONS.custom_functions
    call_function = functions.call_function
    allowed = _simple_signature(functions, name, len(arguments))

    if allowed is None:
        def evaluate(value):
            return call_function(name, [argument(value) for argument in arguments])
        return evaluate

    function = functions.FUNCTION_TABLE[name]["function"]
    if len(arguments) == 2:
        return _two_argument_call(name, function, arguments, allowed)

    def evaluate_checked(value):
        values = [argument(value) for argument in arguments]
        for item, type_names in zip(values, allowed):
            if type_names is not None and type(item).__name__ not in type_names:
                return call_function(name, values)  # raises the interpreter's JMESPathTypeError
        return function(functions, *values)
    return evaluate_checked


def _two_argument_call(name: str, function: Callable, arguments: tuple[Evaluate, ...], allowed: tuple) -> Evaluate:
    """Compile a checked call of a two-argument function, such as ``url_join(base, path)``, without an argument list."""
    functions = OPTIONS.custom_functions
    first_of, second_of = arguments
    first_types, second_types = allowed

    def evaluate(value):
        first, second = first_of(value), second_of(value)
        if (first_types is not None and type(first).__name__ not in first_types) or (
            second_types is not None and type(second).__name__ not in second_types
        ):
            return functions.call_function(name, [first, second])  # raises the interpreter's JMESPathTypeError
        return function(functions, first, second)
    return evaluate


def _simple_signature(functions: ProfileFunctions, name: str, count: int) -> tuple[frozenset[str] | None, ...] | None:
    """Return per argument the Python type names a function accepts (None for any type).

    That is all ``Functions.call_function`` checks for a function with a fixed number of
    arguments and no typed array elements. For any other function, an unknown name or a
    wrong argument count, return None so that every call goes through ``call_function``.
    """
    spec = functions.FUNCTION_TABLE.get(name)
    if spec is None:
        return None

    signature = spec["signature"]
    if len(signature) != count or any(argument.get("variadic") for argument in signature):
        return None

    allowed = []
    for argument in signature:
        if not argument["types"]:
            allowed.append(None)
            continue
        type_names, subtypes = functions._get_allowed_pytypes(argument["types"])
        if subtypes:
            return None
        allowed.append(frozenset(type_names))
    return tuple(allowed)


def _compile_projection(node: dict) -> Evaluate:
    base_of, project = (_compile_node(child) for child in node["children"])

    def evaluate(value):
        base = base_of(value)
        if not isinstance(base, list):
            return None
        collected = []
        for element in base:
            current = project(element)
            if current is not None:
                collected.append(current)
        return collected
    return evaluate


def _compile_flatten(node: dict) -> Evaluate:
    base_of = _compile_node(node["children"][0])

    def evaluate(value):
        base = base_of(value)
        if not isinstance(base, list):
            return None
        merged = []
        for element in base:
            if isinstance(element, list):
                merged.extend(element)
            else:
                merged.append(element)
        return merged
    return evaluate


def _compile_index(node: dict) -> Evaluate:
    position = node["value"]

    def evaluate(value):
        if not isinstance(value, list):
            return None
        try:
            return value[position]
        except IndexError:
            return None
    return evaluate


def _compile_multi_select_dict(node: dict) -> Evaluate:
    pairs = tuple((child["value"], _compile_node(child["children"][0])) for child in node["children"])

    def evaluate(value):
        if value is None:
            return None
        return {key: pair(value) for key, pair in pairs}
    return evaluate


def _compile_multi_select_list(node: dict) -> Evaluate:
    items = tuple(_compile_node(child) for child in node["children"])

    def evaluate(value):
        if value is None:
            return None
        return [item(value) for item in items]
    return evaluate


_NODE_COMPILERS: dict[str, Callable[[dict], Evaluate]] = {
    "field": _compile_field,
    "subexpression": _compile_chain,
    "index_expression": _compile_chain,
    "pipe": _compile_chain,
    "current": _compile_current,
    "identity": _compile_current,
    "literal": _compile_literal,
    "or_expression": _compile_or,
    "and_expression": _compile_and,
    "function_expression": _compile_function,
    "projection": _compile_projection,
    "flatten": _compile_flatten,
    "index": _compile_index,
    "multi_select_dict": _compile_multi_select_dict,
    "multi_select_list": _compile_multi_select_list,
}
