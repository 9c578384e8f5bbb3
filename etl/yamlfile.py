"""Read YAML written by people, keeping where every value came from.

PyYAML reads YAML 1.1, where ``no`` is false, ``010`` is 8, ``12:30`` is 750 and a duplicate key
silently wins. This loader keeps the values PyYAML gives but rejects duplicate keys and records a
warning wherever an unquoted value was read as a boolean, number or date that an analyst likely
meant as text. Every value's position is kept so errors can point at the line and column.

A syntax error is reported where its cause most likely is, often a line or two above the place
where PyYAML gave up. The causes recognised are a colon without a space after it, a full-width
colon, a full-width or no-break space, a tab, an unpaired quote or bracket, and a line indented
wrongly.
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
# Integers that YAML 1.1 reads in another base: 010 is octal 8, 0x10 is 16, 0b10 is 2. Base 60
# ("12:30" is 750) is recognised by its colon.
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_OTHER_BASE = re.compile(r"^[-+]?0(x[0-9a-fA-F_]+|b[01_]+)$")


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
    # Everything found that did not stop loading, in file order: the warnings, and with
    # ``keep_going`` the errors (duplicate keys and the like) too.
    problems: tuple[Problem, ...] = ()

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


def load_yaml(path: str | Path, text: str | None = None, *, keep_going: bool = False) -> YamlDocument:
    """Parse ``path`` (or ``text`` named as ``path``) into a :class:`YamlDocument`.

    Raises :class:`RuleError` for a file that cannot be read or parsed, and for the errors of
    a parsed file: duplicate keys, keys containing invisible spaces, merge keys, unknown tags
    and complex keys, all listed at once. With ``keep_going`` the errors of a parsed file are
    returned in ``YamlDocument.problems`` instead, so a caller can go on checking the rest:
    a duplicate key keeps its first value, and the other offending entries are left out.
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
    if builder.errors and not keep_going:
        raise RuleError(builder.errors)

    found = sorted(builder.errors + builder.warnings, key=lambda problem: (problem.position.line, problem.position.column))
    return YamlDocument(
        path=path,
        data=data,
        lines=lines,
        value_marks=MappingProxyType(builder.value_marks),
        key_marks=MappingProxyType(builder.key_marks),
        warnings=tuple(builder.warnings),
        quoted=frozenset(builder.quoted),
        problems=tuple(found),
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


# -- syntax errors ----------------------------------------------------------------------------

# Characters that look like a space, or like nothing, in an editor but that YAML does not
# take as white space, so they break indentation and the space after a colon.
_ODD_SPACE_CHARS = "\u00a0\u1680\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff"
_ODD_SPACE = re.compile(f"[{_ODD_SPACE_CHARS}]")
# PyYAML strips ASCII spaces from the ends of a plain value, so a match here contains an odd space.
_ODD_SPACE_EDGE = re.compile(f"^[ {_ODD_SPACE_CHARS}]+|[ {_ODD_SPACE_CHARS}]+$")
_ODD_SPACE_NAMES = {
    "\u3000": {"zh": "全角空格（U+3000）", "en": "a full-width space (U+3000)"},
    "\u00a0": {"zh": "不换行空格（U+00A0）", "en": "a no-break space (U+00A0)"},
    "\u200b": {"zh": "零宽空格（U+200B）", "en": "a zero-width space (U+200B)"},
    "\ufeff": {"zh": "零宽不换行空格（U+FEFF）", "en": "a zero-width no-break space (U+FEFF)"},
}

# The start of a line: indentation made of anything space-like, then any "- " list markers.
_LEADING = re.compile(f"[ \t{_ODD_SPACE_CHARS}]*")
_LIST_MARKERS = re.compile(r"(?:-[ ]+)*")

# A block-mapping entry as people type it: a key up to the first ASCII or full-width colon.
_ENTRY = re.compile(r"(?P<key>[^\s#'\"\[\]{}:,\uff1a-][^:\uff1a#]*?|-[^\s:\uff1a#][^:\uff1a#]*?)(?P<colon>[:\uff1a])")

# PyYAML's message for a character that cannot start a plain value. It writes a tab as the two
# characters \t, which this leaves to the tab check.
_RESERVED_START = re.compile(r"found character '([^\\])' that cannot start any token")

# How many non-blank lines, counting back from the line where PyYAML stopped, may hold the cause.
_SCAN_LINES = 4

# PyYAML's problem texts in plain words, matched by substring in this order. The English
# message keeps PyYAML's own text.
_PLAIN_PROBLEMS = (
    ("mapping values are not allowed here",
     "这里不能再出现“键: 值”，常见原因是上一行的冒号后缺少空格，或这一行比上一行多缩进了"),
    ("could not find expected ':'", "这一行或上一行缺少英文冒号“:”"),
    ("expected <block end>", "缩进没有对齐"),
    ("sequence entries are not allowed here", "这里不能出现列表项“- ”，请检查缩进"),
    ("mapping keys are not allowed here", "这里不能出现键，请检查缩进"),
    ("expected ',' or ']'", "方括号 [ ] 要成对，里面的各项之间要用英文逗号分隔"),
    ("expected ',' or '}'", "花括号 { } 要成对，里面的各项之间要用英文逗号分隔；若值以 {{ 开头，请给整个值加英文引号"),
    ("invalid indentation or unclosed", "缩进不对，或方括号 [ 、花括号 { 没有配对"),
    ("found unexpected end of stream", "文件在引号或括号配对之前就结束了"),
    ("found character '\\t'", "这里有 Tab；YAML 只能用英文空格"),
    ("that cannot start any token", "值不能以这个字符开头，请给整个值加英文引号"),
    ("alias", "以 * 或 & 开头的值要加英文引号"),
    ("anchor", "以 * 或 & 开头的值要加英文引号"),
    ("tag", "以 ! 开头的值要加英文引号"),
    ("expected a comment or a line break", "这一行的末尾有多余的内容"),
)


@dataclass(frozen=True)
class _Culprit:
    """The likely cause of a syntax error: a 1-based line and column, and its message."""

    line: int
    column: int
    key: str
    params: dict


def _syntax_problem(path: str, lines: tuple[str, ...], error: yaml.MarkedYAMLError) -> Problem:
    """Turn PyYAML's syntax error into a problem placed at its likely cause."""
    line, column = _error_position(lines, error)

    culprit = _find_culprit(lines, error, line)
    if culprit is None:
        raw = " ".join(part for part in (error.context, error.problem) if part)
        culprit = _Culprit(line, column, "yaml.syntax", {"detail": {"zh": _plain_problem(error), "en": raw}})

    source = lines[culprit.line - 1] if 0 < culprit.line <= len(lines) else None
    return Problem(Position(path, culprit.line, culprit.column, source), "", culprit.key, culprit.params)


def _error_position(lines: tuple[str, ...], error: yaml.MarkedYAMLError) -> tuple[int, int]:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    if lines and line > len(lines):
        line, column = len(lines), len(lines[-1]) + 1  # PyYAML reports an unclosed quote past the end
    return line, column


def _plain_problem(error: yaml.MarkedYAMLError) -> str:
    text = f"{error.context or ''} {error.problem or ''}"
    for fragment, plain in _PLAIN_PROBLEMS:
        if fragment in text:
            return plain
    return "无法解析这里"


def _find_culprit(lines: tuple[str, ...], error: yaml.MarkedYAMLError, line: int) -> _Culprit | None:
    """Find the usual cause of ``error`` at or a few lines before ``line``, the line PyYAML stopped on.

    The nearest line with a suspect wins, because PyYAML stops at the first line that cannot
    continue what the suspect began.
    """
    culprit = _quoted_scalar_culprit(lines, error) or _flow_culprit(lines, error) or _reserved_start_culprit(error)
    if culprit is not None:
        return culprit

    for number in _content_lines_back(lines, line):
        culprit = _line_culprit(lines[number - 1], number)
        if culprit is not None:
            return culprit

    return _indentation_culprit(lines, error, line)


def _content_lines_back(lines: tuple[str, ...], line: int) -> list[int]:
    """List up to ``_SCAN_LINES`` non-blank, non-comment line numbers from ``line`` backwards."""
    found = []
    for number in range(min(line, len(lines)), 0, -1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            found.append(number)
        if len(found) == _SCAN_LINES:
            break
    return found


def _quoted_scalar_culprit(lines: tuple[str, ...], error: yaml.MarkedYAMLError) -> _Culprit | None:
    """Place an unclosed quote at the quote itself, and a bad escape at its backslash."""
    mark = error.context_mark
    if mark is None or "quoted scalar" not in (error.context or ""):
        return None

    problem = error.problem or ""
    text = lines[mark.line] if mark.line < len(lines) else ""
    if problem.startswith(("found unexpected end of stream", "found unexpected document separator")):
        quote = text[mark.column] if mark.column < len(text) else '"'
        return _Culprit(mark.line + 1, mark.column + 1, "yaml.syntax_unclosed_quote", {"quote": quote})

    problem_mark = error.problem_mark
    if problem.startswith("found unknown escape character") and problem_mark is not None:
        escaped = lines[problem_mark.line][problem_mark.column:problem_mark.column + 1] if problem_mark.line < len(lines) else ""
        return _Culprit(problem_mark.line + 1, problem_mark.column, "yaml.syntax_backslash", {"escape": "\\" + escaped})

    return None


def _flow_culprit(lines: tuple[str, ...], error: yaml.MarkedYAMLError) -> _Culprit | None:
    """Place a [ or { that its line never closes at the bracket itself."""
    mark = error.context_mark
    if mark is None or not (error.context or "").startswith("while parsing a flow") or mark.line >= len(lines):
        return None

    text = lines[mark.line]
    opening = text[mark.column:mark.column + 1]
    closing = {"[": "]", "{": "}"}.get(opening)
    if closing is None or _closes(text[mark.column:], opening, closing):
        return None

    return _Culprit(mark.line + 1, mark.column + 1, "yaml.syntax_unclosed_bracket", {"open": opening, "close": closing})


def _reserved_start_culprit(error: yaml.MarkedYAMLError) -> _Culprit | None:
    """Name the character, such as @ or `, that YAML reserves and that starts an unquoted value."""
    match = _RESERVED_START.search(error.problem or "")
    mark = error.problem_mark
    if match is None or mark is None:
        return None
    return _Culprit(mark.line + 1, mark.column + 1, "yaml.syntax_reserved_start", {"char": match.group(1)})


def _closes(text: str, opening: str, closing: str) -> bool:
    """Tell whether the bracket that starts ``text`` is closed in it, ignoring quoted parts."""
    depth = 0
    quote = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return True
    return False


def _line_culprit(text: str, number: int) -> _Culprit | None:
    """Return the first suspect on one line: odd space or tab in the indentation, then a bad entry."""
    leading = _LEADING.match(text).group()
    odd = _ODD_SPACE.search(leading)
    if odd:
        return _odd_space(number, odd.start(), odd.group(), "indentation")
    if "\t" in leading:
        return _Culprit(number, leading.index("\t") + 1, "yaml.syntax_tab", {})

    start = len(leading) + len(_LIST_MARKERS.match(text, len(leading)).group())
    entry = _ENTRY.match(text, start)
    if entry is None:
        return _value_culprit(text, start, number) if start > len(leading) else None

    return _entry_culprit(text, entry, number)


def _entry_culprit(text: str, entry: re.Match, number: int) -> _Culprit | None:
    """Check a ``key: value`` line: the key, the colon, the character after it, and a quoted value."""
    key = entry.group("key").rstrip()
    colon = entry.start("colon")
    after = text[colon + 1:colon + 2]

    odd = _ODD_SPACE.search(text, entry.start("key"), colon)
    if odd:
        return _odd_space(number, odd.start(), odd.group(), "key")

    if entry.group("colon") == "\uff1a":
        return _Culprit(number, colon + 1, "yaml.syntax_fullwidth_colon", _rewrite(text, entry))
    if _ODD_SPACE.fullmatch(after):
        return _odd_space(number, colon + 1, after, "colon")
    if after == "\t":
        return _Culprit(number, colon + 2, "yaml.syntax_tab", {})
    if after not in ("", " ") and _needs_space(key, text[colon + 1:]):
        return _Culprit(number, colon + 1, "yaml.syntax_missing_space", _rewrite(text, entry))

    return _value_culprit(text, colon + 1, number)


def _needs_space(key: str, rest: str) -> bool:
    """Tell whether ``key:rest`` is a key missing its space, rather than a URL, time, path or longer key."""
    if rest.startswith(("//", "\\")):
        return False

    # In "a:b: c" and "a:b:" the first colon belongs to the key "a:b".
    before_comment = rest.split(" #", 1)[0].rstrip()
    if before_comment.endswith(":") or ": " in before_comment:
        return False

    return not (key.isdigit() and rest[:1].isdigit())


def _rewrite(text: str, entry: re.Match) -> dict:
    """Show an entry as written and as it should read, with the value cut to fit one message."""
    key = entry.group("key").rstrip()
    value = text[entry.end():].split(" #", 1)[0].strip()
    value = value if len(value) <= 30 else value[:29] + "…"
    return {"written": f"{key}{entry.group('colon')}{value}", "fixed": f"{key}: {value}"}


def _value_culprit(text: str, start: int, number: int) -> _Culprit | None:
    """Check a value beginning at ``start`` for an unpaired quote or text after its closing quote."""
    offset = len(text) - len(text[start:].lstrip(" "))
    value = text[offset:]
    if value[:1] not in ("'", '"'):
        return None

    end = _closing_quote(value)
    if end is None:
        return _Culprit(number, offset + 1, "yaml.syntax_unclosed_quote", {"quote": value[0]})

    rest = value[end + 1:].strip()
    if rest and not rest.startswith("#"):
        shown = rest if len(rest) <= 30 else rest[:29] + "…"
        column = offset + end + 2 + (len(value[end + 1:]) - len(value[end + 1:].lstrip()))
        return _Culprit(number, column, "yaml.syntax_after_quote", {"rest": shown})

    return None


def _closing_quote(value: str) -> int | None:
    """Return the index of the quote that closes the one ``value`` starts with, or None."""
    quote = value[0]
    index = 1
    while index < len(value):
        char = value[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and value[index + 1:index + 2] == "'":
                index += 2  # '' is a quote inside a single-quoted value
                continue
            return index
        index += 1
    return None


def _space_name(char: str) -> dict:
    """Name an invisible space character in both languages, with its code point."""
    return _ODD_SPACE_NAMES.get(char) or {
        "zh": f"特殊空格（U+{ord(char):04X}）",
        "en": f"a special space character (U+{ord(char):04X})",
    }


def _odd_space(number: int, index: int, char: str, where: str) -> _Culprit:
    places = {
        "indentation": {"zh": "缩进里", "en": "in the indentation"},
        "key": {"zh": "键里", "en": "in the key"},
        "colon": {"zh": "冒号后面", "en": "after the colon"},
    }
    return _Culprit(number, index + 1, "yaml.syntax_odd_space", {"space": _space_name(char), "where": places[where]})


def _indentation_culprit(lines: tuple[str, ...], error: yaml.MarkedYAMLError, line: int) -> _Culprit | None:
    """Name the line whose indentation breaks the mapping, for the two errors a wrong indent gives.

    A line indented deeper than a ``key: value`` line above it means one of the two is wrong:
    the upper line when the line above it again has the deeper indent (it lost its
    indentation), else the lower one. "expected <block end>" on a line indented less than the
    line above but aligned with no level above means the line is misaligned.
    """
    problem = error.problem or ""
    if not problem.startswith(("mapping values are not allowed here", "expected <block end>")):
        return None

    numbers = _content_lines_back(lines, line)
    if len(numbers) < 2 or numbers[0] != line:
        return None

    current, previous = numbers[0], numbers[1]
    indent, previous_indent = _indent(lines[current - 1]), _indent(lines[previous - 1])

    if indent > previous_indent:
        if not _has_inline_value(lines[previous - 1]):
            return None
        if len(numbers) > 2 and _indent(lines[numbers[2] - 1]) == indent:
            return _Culprit(previous, 1, "yaml.syntax_indent_less", {"found": previous_indent, "expected": indent})
        return _Culprit(current, 1, "yaml.syntax_indent_more", {"found": indent, "expected": previous_indent})

    if problem.startswith("expected <block end>") and indent < previous_indent:
        return _Culprit(current, 1, "yaml.syntax_indent_misaligned", {"found": indent, "previous": previous_indent})

    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _has_inline_value(text: str) -> bool:
    """Tell whether a line is ``key: value`` with the value on the same line, so it opens no block."""
    entry = _ENTRY.match(text, _indent(text))
    if entry is None or entry.group("colon") != ":":
        return False
    value = text[entry.end():].strip()
    return bool(value) and not value.startswith(("#", "|", ">", "&", "!"))


# -- building data from nodes ------------------------------------------------------------------


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

            if isinstance(key, str) and _ODD_SPACE.search(key):
                self.errors.append(self._odd_space_key(key_node, path, key))
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
        if surprise is not None:
            key, params = surprise
            self.warnings.append(self._problem(node, path, key, params, severity="warning"))

        edge = _ODD_SPACE_EDGE.search(node.value)
        if edge and isinstance(value, str):
            space = edge.group().strip(" ")[0]
            params = {"text": _ODD_SPACE_EDGE.sub("", node.value), "space": _space_name(space)}
            self.warnings.append(self._problem(node, path, "yaml.value_odd_space", params, severity="warning"))

        return value

    def _odd_space_key(self, node: ScalarNode, path: PathKey, key: str) -> Problem:
        """Build the error for a key containing an invisible space, which a full-width indent produces."""
        char = _ODD_SPACE.search(key).group()
        visible_key = _ODD_SPACE.sub("", key).strip()
        params = {"key": visible_key, "space": _space_name(char)}
        return self._problem(node, path + (visible_key,), "yaml.key_odd_space", params)

    def _problem(self, node: Node, path: PathKey, key: str, params: dict, severity: str = "error") -> Problem:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        field = ".".join(str(part) for part in path)
        return Problem(Position(self.path, line, column, source), field, key, params, severity)


def _surprise(text: str, value: Any) -> tuple[str, dict] | None:
    """Return the warning key and params for a YAML 1.1 reading a person likely did not mean, if any."""
    if isinstance(value, bool) and text.lower() not in _BOOL_WORDS:
        return "yaml.ambiguous_bool", {"text": text, "value": "true" if value else "false"}

    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if is_number and _LEADING_ZERO.match(text):
        # YAML 1.1 reads 010 as octal 8; the decimal reading is what "drop the zero" gives.
        decimal = int(text.replace("_", ""), 10)
        return "yaml.leading_zero", {"text": text, "value": value, "number": decimal}

    if is_number and (_OTHER_BASE.match(text) or ":" in text):
        return "yaml.ambiguous_number", {"text": text, "value": value}

    if type(value).__name__ in ("date", "datetime"):
        return "yaml.ambiguous_date", {"text": text, "value": value.isoformat()}

    return None
