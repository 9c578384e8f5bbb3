"""Read YAML written by people, keeping where every value came from.

PyYAML reads YAML 1.1, where ``no`` is false, ``010`` is 8, ``12:30`` is 750 and a duplicate key
silently wins. This loader keeps the values PyYAML gives but rejects duplicate keys and records a
warning wherever an unquoted value was read as a boolean, number or date that an analyst likely
meant as text. Every value's position is kept so errors can point at the line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from etl.errors import Position, Problem, RuleError

PathKey = tuple  # a path of mapping keys and list indices from the document root

_BOOL_WORDS = {"true", "false"}
_SURPRISING_INT = re.compile(r"^[-+]?(0[0-9_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)$")


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data, and the position of every value and key by path."""

    path: str
    data: Any
    lines: tuple[str, ...]
    value_marks: Mapping[PathKey, tuple[int, int]]
    key_marks: Mapping[PathKey, tuple[int, int]]
    warnings: tuple[Problem, ...]
    quoted: frozenset  # paths whose scalar was written in quotes

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """Return the 1-based position of the value (or its key) at ``path``, nearest known parent otherwise."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)

        while probe not in marks and probe:
            probe = probe[:-1]

        line, column = marks.get(probe, (1, 1))
        return self.position_at(line, column)

    def position_at(self, line: int, column: int) -> Position:
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Position(self.path, line, column, source)


def load_yaml(path: str | Path, text: str | None = None) -> YamlDocument:
    """Parse ``path`` (or ``text`` named as ``path``) into a :class:`YamlDocument`.

    Raises :class:`RuleError` listing every duplicate key, or the syntax error that stops parsing.
    """
    path = str(path)
    if text is None:
        text = _read_text(path)

    lines = tuple(text.splitlines())
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise RuleError([_syntax_problem(path, lines, error)]) from None

    builder = _Builder(path, lines)
    data = builder.build(root, ()) if root is not None else None
    if builder.errors:
        raise RuleError(builder.errors)

    return YamlDocument(
        path=path,
        data=data,
        lines=lines,
        value_marks=MappingProxyType(builder.value_marks),
        key_marks=MappingProxyType(builder.key_marks),
        warnings=tuple(builder.warnings),
        quoted=frozenset(builder.quoted),
    )


def _read_text(path: str) -> str:
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RuleError([Problem(Position(path), "", "yaml.missing", {"path": path})]) from None
    except IsADirectoryError:
        raise RuleError([Problem(Position(path), "", "yaml.not_a_file", {"path": path})]) from None

    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass

    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise RuleError([Problem(Position(path), "", "yaml.encoding", {"path": path})]) from None


def _syntax_problem(path: str, lines: tuple[str, ...], error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    if lines and line > len(lines):
        line, column = len(lines), len(lines[-1]) + 1  # PyYAML reports an unclosed quote past the end

    source = lines[line - 1] if 0 < line <= len(lines) else None
    detail = " ".join(part for part in (error.context, error.problem) if part)
    return Problem(Position(path, line, column, source), "", _syntax_key(lines, line), {"detail": detail})


def _syntax_key(lines: tuple[str, ...], line: int) -> str:
    """Pick the syntax message, naming the usual culprits an input method leaves on or before ``line``."""
    nearby = lines[max(line - 2, 0): line]
    if any("\uff1a" in text for text in nearby):
        return "yaml.syntax_fullwidth_colon"
    if any("\t" in text[: len(text) - len(text.lstrip())] for text in nearby):
        return "yaml.syntax_tab"
    return "yaml.syntax"


class _Builder:
    """Turn a composed node tree into plain data, recording marks, duplicates and surprises."""

    def __init__(self, path: str, lines: tuple[str, ...]) -> None:
        self.path = path
        self.lines = lines
        self.constructor = SafeConstructor()
        self.value_marks: dict[PathKey, tuple[int, int]] = {}
        self.key_marks: dict[PathKey, tuple[int, int]] = {}
        self.quoted: set[PathKey] = set()
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def build(self, node: Node, path: PathKey) -> Any:
        self.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)

        if isinstance(node, MappingNode):
            return self._mapping(node, path)

        if isinstance(node, SequenceNode):
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]

        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict:
        result: dict = {}
        first_seen: dict[Any, int] = {}

        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.errors.append(self._problem(key_node, path, "yaml.merge_unsupported", {}))
                continue

            try:
                key = self.constructor.construct_object(key_node, deep=True)
            except yaml.YAMLError:
                self.errors.append(self._problem(key_node, path, "yaml.bad_tag", {"tag": key_node.tag}))
                continue
            if isinstance(key, (list, dict)):
                self.errors.append(self._problem(key_node, path, "yaml.complex_key", {}))
                continue

            if key in first_seen:
                params = {"key": key, "first_line": first_seen[key]}
                self.errors.append(self._problem(key_node, path + (key,), "yaml.duplicate_key", params))
                continue

            first_seen[key] = key_node.start_mark.line + 1
            self.key_marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, path + (key,))

        return result

    def _scalar(self, node: ScalarNode, path: PathKey) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            # An unknown tag such as !secret; the value itself is not repeated in the message.
            self.errors.append(self._problem(node, path, "yaml.bad_tag", {"tag": node.tag}))
            return None

        if node.style in ("'", '"', "|", ">"):
            self.quoted.add(path)
            return value

        surprise = _surprise(node.value, value)
        if surprise:
            params = {"text": node.value, "value": value, "kind": surprise}
            self.warnings.append(self._problem(node, path, "yaml.ambiguous_scalar", params, severity="warning"))

        return value

    def _problem(self, node: Node, path: PathKey, key: str, params: dict, severity: str = "error") -> Problem:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        field = ".".join(str(part) for part in path)
        return Problem(Position(self.path, line, column, source), field, key, params, severity)


def _surprise(text: str, value: Any) -> str | None:
    """Name the YAML 1.1 reading that likely differs from what a person meant, if any."""
    if isinstance(value, bool) and text.lower() not in _BOOL_WORDS:
        return "bool"

    if isinstance(value, (int, float)) and not isinstance(value, bool) and _SURPRISING_INT.match(text):
        return "number"

    if isinstance(value, float) and ":" in text:
        return "number"

    if type(value).__name__ in ("date", "datetime"):
        return "date"

    return None
