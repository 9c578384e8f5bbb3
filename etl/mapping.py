"""Runtime nodes of a compiled rule: evaluate ``transform`` and ``fields`` for one offer.

A node evaluates against a context (``offer``, ``vars``, ``target``, tables and earlier transform
results) and returns a value or :data:`MISSING`. Missing is not null: ``None`` is a value that
the source gave; :data:`MISSING` means a name or attribute did not exist, and each field's
``if_missing`` decides whether that is an error (the default), an omission or a default value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from jinja2 import Undefined
from jinja2.exceptions import SecurityError, UndefinedError

from etl import jsonio
from etl.errors import DataError, OfferError


class _Missing:
    """The value of an expression whose name or attribute does not exist."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


@dataclass(frozen=True)
class Missing:
    """A missing value with the reason, so the ``if_missing: error`` message names what was missing."""

    reason: str


class Node:
    """Base of compiled rule values."""

    label: str = ""

    def evaluate(self, context: Mapping[str, Any], offer_id: str | None) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Literal(Node):
    value: Any
    label: str = ""

    def evaluate(self, context, offer_id):
        return self.value


@dataclass(frozen=True)
class Expression(Node):
    """A Jinja expression or template from the rule file."""

    source: str
    function: Callable[..., Any]
    label: str = ""

    def evaluate(self, context, offer_id):
        try:
            value = self.function(context)
        except UndefinedError as error:
            return Missing(str(error.message or error))
        except DataError as error:
            sku_index = error.params.get("sku_index", context.get("index"))
            raise OfferError(error.key, step="transform", offer_id=offer_id, field=self.label, sku_index=sku_index, params=error.params) from None
        except SecurityError as error:
            raise OfferError("map.sandbox", step="transform", offer_id=offer_id, field=self.label, detail=str(error)) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
            raise OfferError("map.expression_failed", step="transform", offer_id=offer_id, field=self.label,
                             sku_index=context.get("index"), expression=self.source, detail=f"{type(error).__name__}: {error}") from None

        if isinstance(value, Undefined):
            return self._missing(value, offer_id)

        return value

    def _missing(self, value: Undefined, offer_id) -> Missing:
        """Turn an undefined result into :class:`Missing`, unless the sandbox blocked the access."""
        try:
            value._fail_with_undefined_error()
        except UndefinedError as error:
            return Missing(str(error.message or error))
        except SecurityError as error:
            raise OfferError("map.sandbox", step="transform", offer_id=offer_id, field=self.label, detail=str(error)) from None
        return Missing("undefined")


@dataclass(frozen=True)
class Field(Node):
    """A value with its missing policy, optional condition and encoding."""

    node: Node
    label: str
    if_missing: str = "error"  # error | omit | default
    default: Any = None
    when: Node | None = None
    encode: str | None = None  # None | "json"

    def evaluate(self, context, offer_id):
        if self.when is not None:
            condition = self.when.evaluate(context, offer_id)
            if isinstance(condition, Missing) or not condition:
                return MISSING

        value = self.node.evaluate(context, offer_id)
        if isinstance(value, Missing) or value is MISSING:
            value = self._on_missing(value, context, offer_id)
            if value is MISSING:
                return MISSING

        if self.encode == "json":
            value = jsonio.dumps(value)

        return value

    def _on_missing(self, value, context, offer_id):
        if self.if_missing == "omit":
            return MISSING

        if self.if_missing == "default":
            return self.default

        reason = value.reason if isinstance(value, Missing) else ""
        raise OfferError("map.missing", step="transform", offer_id=offer_id, field=self.label, sku_index=context.get("index"), reason=reason)


@dataclass(frozen=True)
class ObjectNode(Node):
    items: tuple[tuple[str, Node], ...]
    label: str = ""

    def evaluate(self, context, offer_id):
        result = {}
        for key, node in self.items:
            value = node.evaluate(context, offer_id)
            if value is not MISSING:
                result[key] = value
        return result


@dataclass(frozen=True)
class ListNode(Node):
    items: tuple[Node, ...]
    label: str = ""

    def evaluate(self, context, offer_id):
        values = (node.evaluate(context, offer_id) for node in self.items)
        return [value for value in values if value is not MISSING]


@dataclass(frozen=True)
class EachNode(Node):
    """Map every item of a list: ``each`` gives the list, ``as`` names the item, ``body`` builds one entry.

    One item gives a one-element list, never a scalar. Inside, ``index`` is the 0-based position.
    """

    items: Node
    name: str
    body: Node
    label: str = ""

    def evaluate(self, context, offer_id):
        items = self.items.evaluate(context, offer_id)
        if isinstance(items, Missing):
            return items

        if items is None:
            items = []

        if not isinstance(items, (list, tuple)):
            raise OfferError("map.each_not_list", step="transform", offer_id=offer_id, field=self.label, found=type(items).__name__)

        # One scope dict serves every item because only the item and its index change. The
        # body's results contain values read from the scope, never the dict itself.
        scope = dict(context)
        results = []
        for index, item in enumerate(items):
            scope[self.name] = item
            scope["index"] = index
            value = self.body.evaluate(scope, offer_id)
            if value is not MISSING:
                results.append(value)

        return results
