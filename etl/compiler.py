"""Compile the ``transform`` and ``fields`` sections of a rule file into mapping nodes.

Every expression is parsed and checked before any offer runs: unknown names, filters, tests and
record attributes are reported with the file, line and field, all at once, with a "did you
mean" where a known name is close.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from jinja2 import nodes

from etl import expressions
from etl.errors import Problem, field_label
from etl.mapping import EachNode, Expression, Field, ListNode, Literal, Node, ObjectNode
from etl.yamlfile import YamlDocument

# Quotes an input method types in place of ", which YAML keeps as part of the text.
_CURLY_QUOTES = ("\u201c", "\u201d", "\u2018", "\u2019", "\uff02")

DIRECTIVE_KEYS = ("expr", "each", "as", "map", "if_missing", "default", "when", "encode")
IF_MISSING = ("error", "omit", "default")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Scope:
    """Names visible to an expression and, where known, the JSON Schema of each value."""

    schemas: dict[str, Any] = field(default_factory=dict)

    def child(self, name: str, schema: Any) -> "Scope":
        schemas = dict(self.schemas)
        schemas[name] = schema
        schemas["index"] = {"type": "integer"}
        return Scope(schemas)


class Compiler:
    """Compile rule values at YAML paths, collecting problems instead of stopping at the first."""

    def __init__(self, document: YamlDocument, env) -> None:
        self.document = document
        self.env = env
        self.problems: list[Problem] = []
        self._text: tuple[tuple, str] | None = None  # the expression being checked, to point at a name in it

    # -- values ----------------------------------------------------------------------------

    def value(self, where: tuple, raw: Any, scope: Scope) -> Field:
        """Compile one rule value (literal, expression, template, object, list or directive)."""
        label = field_label(where)

        if isinstance(raw, dict) and ("expr" in raw or "each" in raw):
            return self._directive(where, raw, scope)

        return Field(self._node(where, raw, scope), label)

    def _node(self, where: tuple, raw: Any, scope: Scope) -> Node:
        label = field_label(where)

        if isinstance(raw, str):
            return self.expression(where, raw, scope)

        if isinstance(raw, dict):
            self._check_directive_typos(where, raw)
            items = tuple((str(key), self.value(where + (key,), item, scope)) for key, item in raw.items())
            return ObjectNode(items, label)

        if isinstance(raw, list):
            return ListNode(tuple(self.value(where + (index,), item, scope) for index, item in enumerate(raw)), label)

        return Literal(raw, label)

    def _check_directive_typos(self, where: tuple, raw: dict) -> None:
        """Report a key of a plain mapping that looks like a misspelt ``each`` or ``expr``, which would turn the field into an object."""
        keys = [str(key) for key in raw]
        if not any(key in ("as", "map") for key in keys):
            return
        for key in keys:
            if key not in DIRECTIVE_KEYS and difflib.get_close_matches(key, ("each", "expr"), n=1, cutoff=0.6):
                self.unknown(where + (key,), "rule.unknown_directive_key", key, DIRECTIVE_KEYS, at_key=True)

    def _directive(self, where: tuple, raw: dict, scope: Scope) -> Field:
        label = field_label(where)
        for key in raw:
            if key not in DIRECTIVE_KEYS:
                self.unknown(where + (key,), "rule.unknown_directive_key", key, DIRECTIVE_KEYS, at_key=True)

        if_missing = raw.get("if_missing", "default" if "default" in raw else "error")
        if if_missing not in IF_MISSING:
            self.problem(where + ("if_missing",), "rule.bad_if_missing", {"found": if_missing, "allowed": ", ".join(IF_MISSING)})

        encode = raw.get("encode")
        if encode not in (None, "json"):
            self.problem(where + ("encode",), "rule.bad_encode", {"found": encode})

        when = None
        if "when" in raw:
            when = self.expression(where + ("when",), _as_expression(raw["when"]), scope)

        if "each" in raw:
            node = self._each(where, raw, scope)
        else:
            node = self._node(where + ("expr",), raw["expr"], scope)

        return Field(node, label, if_missing=if_missing, default=raw.get("default"), when=when, encode=encode)

    def _each(self, where: tuple, raw: dict, scope: Scope) -> EachNode:
        label = field_label(where)
        name = raw.get("as", "item")
        if not isinstance(name, str) or not IDENTIFIER.match(name) or name in scope.schemas:
            self.problem(where + ("as",), "rule.bad_item_name", {"found": name})
            name = "item"

        if "map" not in raw:
            self.problem(where, "rule.each_without_map", {})

        if not isinstance(raw["each"], str):
            self.problem(where + ("each",), "rule.each_not_expression", {"found": raw["each"]})

        items = self.expression(where + ("each",), _as_expression(raw["each"]), scope)
        item_schema = self.schema_of_items(where + ("each",), raw["each"], scope)
        body = self.value(where + ("map",), raw.get("map"), scope.child(name, item_schema))
        return EachNode(items, name, body, label)

    # -- expressions -----------------------------------------------------------------------

    def expression(self, where: tuple, text: Any, scope: Scope) -> Node:
        """Compile a string value: literal text, a whole ``{{ expr }}`` or a template."""
        label = field_label(where)
        if not isinstance(text, str) or not expressions.is_template(text):
            self._warn_curly_quotes(where, text)
            return Literal(text, label)

        try:
            parsed_ast = self.env.parse(_jinja_source(text))
        except Exception as error:  # TemplateSyntaxError; Jinja raises no other type here
            self.problem(where, "rule.bad_expression", {"detail": syntax_detail(getattr(error, "message", None) or str(error))})
            return Literal(None, label)

        before = len(self.problems)
        self._text = (where, text)
        self._check_statements(where, parsed_ast)
        self._check_ast(where, parsed_ast, scope)
        self._text = None
        if len(self.problems) > before:
            return Literal(None, label)

        self._warn_curly_quotes(where, text)

        try:
            parsed = expressions.parse(self.env, text)
        except expressions.ExpressionSyntaxError as error:
            self.problem(where, "rule.bad_expression", {"detail": error.detail})
            return Literal(None, label)

        return Expression(text, parsed.evaluate, label)

    def _warn_curly_quotes(self, where: tuple, text: Any) -> None:
        if isinstance(text, str) and (text[:1] in _CURLY_QUOTES or text[-1:] in _CURLY_QUOTES):
            self.problem(where, "rule.curly_quotes", {"text": text}, severity="warning")

    def _check_statements(self, where: tuple, tree: nodes.Template) -> None:
        """Reject ``{% %}`` statements: a rule value is an expression or text, and loops could run unbounded."""
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                self.problem(where, "rule.statement", {"tag": type(node).__name__.lower()})
                return

    def _check_ast(self, where: tuple, tree: nodes.Template, scope: Scope) -> None:
        # Each unknown name, filter or test is reported once per expression, however often it is used.
        names = {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}
        for name in sorted(names - set(scope.schemas) - set(self.env.globals)):
            self.unknown(where, "rule.unknown_name", name, list(scope.schemas) + list(self.env.globals))

        filters = {node.name for node in tree.find_all(nodes.Filter)}
        for name in sorted(filters - set(self.env.filters)):
            replacement = expressions.REPLACED_FILTERS.get(name)
            if replacement:
                position = self._position_of_name(where, name) or self.document.position(where)
                self.problems.append(Problem(position, field_label(where), "rule.removed_filter", {"name": name, "replacement": replacement}))
            else:
                self.unknown(where, "rule.unknown_filter", name, self.env.filters)

        tests = {node.name for node in tree.find_all(nodes.Test)}
        for name in sorted(tests - set(self.env.tests)):
            self.unknown(where, "rule.unknown_test", name, self.env.tests)

        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            self.resolve(where, node, scope)

    def resolve(self, where: tuple, node: nodes.Node, scope: Scope, report: bool = True) -> Any:
        """Return the JSON Schema of an expression's value where it is known, reporting unknown attributes."""
        if isinstance(node, nodes.Name):
            return scope.schemas.get(node.name)

        if isinstance(node, nodes.Getattr):
            return self._attribute(where, node.node, node.attr, scope, report)

        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str):
                return self._attribute(where, node.node, node.arg.value, scope, report)
            parent = self.resolve(where, node.node, scope, report=False)
            return parent.get("items") if isinstance(parent, dict) else None

        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
            return self.resolve(where, node.node, scope, report=False)

        return None

    def _attribute(self, where, parent_node, name, scope, report) -> Any:
        parent = self.resolve(where, parent_node, scope, report=False)
        if not isinstance(parent, dict):
            return None

        properties = parent.get("properties")
        if properties is None:
            return None

        if name in properties:
            return properties[name]

        if report and parent.get("additionalProperties") is False:
            owner = _describe(parent_node)
            self.unknown(where, "rule.unknown_attribute", name, properties, owner=owner)
        return None

    def schema_of_items(self, where: tuple, text: Any, scope: Scope) -> Any:
        """Return the item schema of the list an ``each`` iterates, when the names make it known."""
        if not isinstance(text, str):
            return None
        try:
            tree = self.env.parse(_jinja_source(_as_expression(text)))
        except Exception:  # syntax errors are reported when the expression itself compiles
            return None

        outputs = list(tree.find_all(nodes.Output))
        if len(outputs) != 1 or len(outputs[0].nodes) != 1:
            return None

        schema = self.resolve(where, outputs[0].nodes[0], scope, report=False)
        return schema.get("items") if isinstance(schema, dict) else None

    # -- problems --------------------------------------------------------------------------

    def problem(self, where: tuple, key: str, params: dict, severity: str = "error") -> None:
        self.problems.append(Problem(self.document.position(where), field_label(where), key, params, severity))

    def unknown(self, where: tuple, key: str, name: Any, candidates, at_key: bool = False, **extra) -> None:
        hint = expressions.suggest(name, list(candidates))
        params = {"name": name, "suggestion": hint or "", **extra}
        if at_key:
            position = self.document.position(where, key=True)
        else:
            position = self._position_of_name(where, str(name)) or self.document.position(where)
        self.problems.append(Problem(position, field_label(where), key, params))

    def _position_of_name(self, where: tuple, name: str):
        """Point at ``name`` inside a one-line expression value, so the caret sits under the misspelling."""
        if self._text is None or self._text[0] != where or where not in self.document.value_marks:
            return None

        text = self._text[1]
        match = re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", text)
        if match is None or "\n" in text[: match.start()]:
            return None

        line, column = self.document.value_marks[where]
        quote = 1 if where in self.document.quoted else 0
        source = self.document.lines[line - 1] if 0 < line <= len(self.document.lines) else ""
        if source[column - 1 + quote: column - 1 + quote + match.end()] != text[: match.end()]:
            return None  # block scalars and escapes shift the text; keep the value's own position
        return self.document.position_at(line, column + quote + match.start())


def schema_of_node(node: Node) -> Any:
    """Infer the JSON Schema shape of a compiled transform, so later expressions can be checked."""
    inner = node.node if isinstance(node, Field) else node
    if isinstance(inner, ObjectNode):
        return {"type": "object", "properties": {key: schema_of_node(value) or {} for key, value in inner.items}, "additionalProperties": False}

    if isinstance(inner, EachNode):
        return {"type": "array", "items": schema_of_node(inner.body) or {}}

    return None


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_describe(node.node)}[]"
    return "value"


# Full-width characters an analyst types with a Chinese input method, and their ASCII forms.
_FULL_WIDTH = {"｜": "|", "（": "(", "）": ")", "，": ",", "：": ":", "“": '"', "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]",
               "｛": "{", "｝": "}", "＋": "+", "－": "-", "＊": "*", "／": "/", "．": ".", "　": " "}
_UNEXPECTED_CHAR = re.compile(r"unexpected char '(.)'")


def syntax_detail(message: str) -> dict[str, str]:
    """Turn Jinja's syntax error into advice in both languages, naming the usual causes in plain words."""
    found = _UNEXPECTED_CHAR.search(message)
    if found and found.group(1) in _FULL_WIDTH:
        char, ascii_char = found.group(1), _FULL_WIDTH[found.group(1)]
        return {"zh": f"表达式里有中文符号“{char}”，请改成英文的 {ascii_char}（关掉中文输入法再输入）",
                "en": f"the expression contains the full-width character '{char}'; type the ASCII '{ascii_char}' instead"}
    if "unexpected '}'" in message or "unexpected end of template" in message:
        return {"zh": "表达式没有正确结束：要用两个 }} 结束，括号和引号要成对",
                "en": f"the expression does not end properly: close it with }}}} and pair every bracket and quote ({message})"}
    return {"zh": f"无法理解这个表达式，请检查括号、引号和符号是否都是英文且成对（{message}）", "en": message}


def _as_expression(text: Any) -> Any:
    """``each`` and ``when`` are always expressions, so ``{{ }}`` around them is optional."""
    if isinstance(text, str) and not expressions.is_template(text):
        return "{{ " + text + " }}"
    return text


def _jinja_source(text: str) -> str:
    body = expressions.split_expression(text)
    return "{{ " + body + " }}" if body is not None else text
