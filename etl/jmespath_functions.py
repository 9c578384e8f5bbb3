"""Generic JMESPath functions for extraction profiles, and Decimal-aware type checks.

Raw responses are parsed with Decimal numbers. Stock jmespath type-checks by Python type name and
would call a ``Decimal`` "unknown", so :class:`ProfileFunctions` treats it as a number.
"""

from __future__ import annotations

import contextvars
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin

import jmespath
from jmespath import functions

# The whole raw response being extracted, for root() inside projections.
_ROOT: contextvars.ContextVar[Any] = contextvars.ContextVar("etl_jmespath_root", default=None)


class ProfileFunctions(functions.Functions):
    """Stock JMESPath functions plus ``to_decimal``, ``split``, ``split_max``, ``get``, ``root`` and ``url_join``."""

    def _get_allowed_pytypes(self, types):
        allowed, subtypes = super()._get_allowed_pytypes(types)
        if "float" in allowed:
            allowed = list(allowed) + ["Decimal"]
        subtypes = [list(group) + ["Decimal"] if "float" in group else group for group in subtypes]
        return allowed, subtypes

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

        return urljoin(base, path)


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


def compile_path(expression: str):
    """Compile a JMESPath expression, as plain lookups when it is a dotted path."""
    if _DOTTED.match(expression):
        return DottedPath(expression)
    return jmespath.compile(expression)


def search(compiled, data: Any, root: Any) -> Any:
    """Evaluate a compiled JMESPath expression with ``root()`` bound to ``root``."""
    token = _ROOT.set(root)
    try:
        return compiled.search(data, options=OPTIONS)
    finally:
        _ROOT.reset(token)
