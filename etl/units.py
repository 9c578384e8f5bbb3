"""A load-time check of money units in a rule file: no yuan filter on a value already in fen, and the reverse.

The offer record contains yuan; ``yuan_to_fen`` turns yuan into whole fen and ``fen_to_yuan`` back.
A rule that converts twice (``price | yuan_to_fen`` where ``price`` is already fen) would send
prices 100 times too high, and nothing at run time detects it. So every expression is read once,
without running it, and the unit of each value is followed through filters, transform names and
``each`` items. Values of unknown unit are left alone, so they raise no false alarm.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError

from etl import expressions
from etl.errors import Problem, field_label

FEN, YUAN = "fen", "yuan"

# Filters whose result has a known unit.
RESULT_UNIT = {"yuan_to_fen": FEN, "fen_to_yuan": YUAN, "retail": YUAN, "retail_price": YUAN, "tier_price": YUAN, "sku_cost": YUAN,
               "round_fen": YUAN, "price_ending": YUAN}
# Filters that expect their input in yuan, and the one that expects fen.
YUAN_INPUT = ("yuan_to_fen", "retail", "retail_price", "round_fen", "price_ending", "format_yuan", "markup_for_cost")
FEN_INPUT = ("fen_to_yuan",)
# Filters that pass their input's unit through (a list of prices stays prices).
KEEPS_UNIT = ("max", "min", "sum", "first", "last", "list", "sort", "unique", "abs", "int", "reverse")

_PARSER = Environment()


def check_money_units(document, transforms: Mapping[str, Any], fields: Mapping[str, Any], review: Mapping[str, Any]) -> list[Problem]:
    """Return an error for each money filter applied to a value in the other unit, with the rule field's position."""
    checker = _Checker(document)
    for name, value in transforms.items():
        checker.names[str(name)] = checker.unit_of(("transform", name), value, {})
    for section, values in (("fields", fields), ("review", review)):
        for name, value in values.items():
            checker.unit_of((section, name), value, {})
    return checker.problems


class _Checker:
    def __init__(self, document) -> None:
        self.document = document
        self.names: dict[str, Any] = {}  # transform name → unit, or {field: unit} for the items of an each list
        self.problems: list[Problem] = []

    def unit_of(self, where: tuple, value: Any, scope: Mapping[str, Any]) -> Any:
        """Check one rule value and return its unit: FEN, YUAN, {item field: unit} for an each list, or None."""
        if isinstance(value, str):
            return self._expression_unit(where, value, scope)
        if not isinstance(value, dict):
            return None

        if "each" in value:
            items = self._expression_unit(where + ("each",), _as_expression(value["each"]), scope)
            inner = dict(scope)
            inner[str(value.get("as", "item"))] = items if isinstance(items, dict) else {}
            body = value.get("map")
            if isinstance(body, dict):
                return {str(name): self.unit_of(where + ("map", name), item, inner) for name, item in body.items()}
            self.unit_of(where + ("map",), body, inner)
            return None

        if "expr" in value:
            return self._expression_unit(where + ("expr",), value["expr"], scope)

        for name, item in value.items():
            self.unit_of(where + (name,), item, scope)
        return None

    def _expression_unit(self, where: tuple, text: str, scope: Mapping[str, Any]) -> Any:
        if not isinstance(text, str) or not expressions.is_template(text):
            return None
        try:
            tree = _PARSER.parse(text)
        except TemplateSyntaxError:
            return None  # the compiler reports syntax errors

        outputs = [node for output in tree.find_all(nodes.Output) for node in output.nodes if not isinstance(node, nodes.TemplateData)]
        units = [self._node_unit(where, node, scope) for node in outputs]

        # Only a bare "{{ expression }}" keeps its value's unit; text around it makes a string.
        body = tree.body
        bare = len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1 and len(outputs) == 1
        return units[0] if bare else None

    def _node_unit(self, where: tuple, node: nodes.Node, scope: Mapping[str, Any]) -> Any:
        if isinstance(node, nodes.Filter):
            return self._filter_unit(where, node, scope)
        if isinstance(node, nodes.Name):
            return scope.get(node.name, self.names.get(node.name))
        if isinstance(node, nodes.Getattr):
            owner = self._node_unit(where, node.node, scope)
            return owner.get(node.attr) if isinstance(owner, dict) else None
        if isinstance(node, nodes.CondExpr):
            for part in (node.test, node.expr1, node.expr2):
                if part is not None:
                    self._node_unit(where, part, scope)
            return None

        for child in node.iter_child_nodes():
            self._node_unit(where, child, scope)
        return None

    def _filter_unit(self, where: tuple, node: nodes.Filter, scope: Mapping[str, Any]) -> Any:
        source = self._node_unit(where, node.node, scope) if node.node is not None else None
        for argument in _arguments(node):
            self._node_unit(where, argument, scope)

        if source == FEN and node.name in YUAN_INPUT:
            self._problem(where, "units.yuan_filter_on_fen", node.name)
        elif source == YUAN and node.name in FEN_INPUT:
            self._problem(where, "units.fen_filter_on_yuan", node.name)

        if node.name in RESULT_UNIT:
            return RESULT_UNIT[node.name]
        if node.name in KEEPS_UNIT:
            return source
        if node.name == "map" and isinstance(source, dict):
            return source.get(_attribute_argument(node))
        return None

    def _problem(self, where: tuple, key: str, filter_name: str) -> None:
        self.problems.append(Problem(self.document.position(where), field_label(where), key, {"filter": filter_name}))


def _arguments(node: nodes.Filter) -> Iterator[nodes.Node]:
    yield from node.args
    for keyword in node.kwargs:
        yield keyword.value


def _attribute_argument(node: nodes.Filter) -> str | None:
    for keyword in node.kwargs:
        if keyword.key == "attribute" and isinstance(keyword.value, nodes.Const):
            return str(keyword.value.value)
    return None


def _as_expression(text: Any) -> Any:
    if isinstance(text, str) and not expressions.is_template(text):
        return "{{ " + text + " }}"
    return text
