"""Mapping tables that analysts keep as CSV files and edit in Excel.

A table maps the text in a key column (a 1688 category id, say) to the text in a value column
(the target platform's category id). Keys and values stay text: ``"0123"`` keeps its leading
zero. Excel damages such files in known ways (other encodings, ``;`` as the delimiter in some
locales, ids turned into numbers), so :func:`load_table` accepts the harmless variants and
reports the damaging ones with the file and line, all at once. Full-width digits and letters
typed with a Chinese input method are read as their ASCII forms.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from etl.errors import DataError
from etl.notices import notice

# Excel writes "CSV UTF-8" with a BOM, and plain "CSV" in the ANSI code page, which is GBK on
# Chinese Windows. GB18030 is a superset of GBK, so it decodes both GBK and GB2312 files.
ENCODINGS = ("utf-8-sig", "gb18030")

# Candidate delimiters in order of preference when the header contains as many of each.
# Excel uses ";" where the decimal separator is a comma, and tab for "Text (Tab delimited)".
DELIMITERS = (",", ";", "\t")

# Excel shows a long id typed into a General-format cell as 1.22232E+08 and saves it that way,
# and an id that passed through a number column comes back as 122232007.0. The original
# digits are lost in the first case, so the analyst must type the id again.
_SCIENTIFIC_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")
_NUMBER_WITH_ZERO_FRACTION = re.compile(r"[0-9]+\.0+")

# A cell containing a number or an id, which a column name never is.
_NUMBER_CELL = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

# Full-width digits and Latin letters map to their ASCII forms. A Chinese input method types
# them, Excel shows them almost like ASCII, and no id contains them on purpose, so "９９９９"
# is read as "9999" instead of never matching. Other full-width forms, such as the brackets
# in a category name, are left as they are.
_FULL_WIDTH_ALPHANUMERIC = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
_HALF_WIDTH = {code: code - 0xFEE0 for first, last in _FULL_WIDTH_ALPHANUMERIC for code in range(first, last + 1)}


# One bad row: (1-based line, message key, message params).
RowProblem = tuple[int, str, dict[str, Any]]

# One parsed row: (1-based line it starts on, trimmed cells).
Record = tuple[int, list[str]]


@dataclass(frozen=True)
class Table:
    """A loaded mapping table: key text → value text, with the 1-based file line of each key."""

    path: str
    key_column: str
    value_column: str
    rows: Mapping[str, str]
    lines: Mapping[str, int]
    delimiter: str = ","


class TableError(DataError):
    """Error for a table file with bad rows, listing every one of them in ``problems``.

    Each problem is a ``RowProblem``. Its ``params`` contain ``path`` and ``line`` too, so
    each problem renders on its own.
    """

    def __init__(self, path: str, problems: list[RowProblem]) -> None:
        super().__init__("table.invalid", path=path, count=len(problems))
        self.problems = problems

    def render(self, lang: str = "zh") -> str:
        """Render the summary line followed by one indented line per problem."""
        from etl.messages import render

        lines = [super().render(lang)]
        for _line, key, params in self.problems:
            lines.append("  " + render(key, lang, **params))

        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render("en")

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduction passes only ``args`` (the key) back to __init__, which would
        # lose the problems when the error crosses a process boundary.
        return (TableError, (self.params["path"], self.problems))


def load_table(
    path: str | os.PathLike[str],
    key_column: str | None = None,
    value_column: str | None = None,
) -> Table:
    """Load a CSV mapping table with a header row.

    The key column defaults to the first column and the value column to the second. Cells
    are trimmed, full-width digits and letters become ASCII, and blank rows and rows whose
    first cell starts with ``#`` are skipped.

    Raises ``DataError`` for a problem with the whole file (``table.missing``,
    ``table.unreadable``, ``table.encoding``, ``table.empty``, ``table.too_few_columns``,
    ``table.column_missing``) and :class:`TableError` (``table.invalid``) listing every bad
    row otherwise. A header row of numbers (``table.header_is_data``) is reported alone,
    because the other messages would call data values column names.
    """
    name = os.fspath(path)
    text = _decode(_read_bytes(name), name)
    delimiter = _sniff_delimiter(text)

    records, problems = _parse_csv(text, delimiter, name)
    if not records:
        raise DataError("table.empty", path=name)

    header_line, header = records[0]
    if _looks_like_data(header, key_column, value_column):
        problems.append(_header_is_data(header_line, header, key_column, value_column, name, delimiter))
        raise TableError(name, sorted(problems, key=lambda problem: problem[0]))

    key_index, value_index = _column_indexes(header, key_column, value_column, name)

    rows: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, cells in records[1:]:
        problems.extend(_add_row(rows, lines, line, cells, header, key_index, value_index, name))

    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise TableError(name, problems)

    return Table(
        path=name,
        key_column=header[key_index],
        value_column=header[value_index],
        rows=MappingProxyType(rows),
        lines=MappingProxyType(lines),
        delimiter=delimiter,
    )


def lookup(key: str | int | None, table: Table, default: Any = None) -> Any:
    """Return the value text that ``table`` maps ``key`` to.

    An int key is looked up as its decimal text. A str key is trimmed first, and its
    full-width digits and letters become ASCII, as in the table. When the
    key is unmapped, None or blank, ``default`` is returned if it is not None, so its type
    is whatever the rule gave. Otherwise ``DataError`` is raised: ``table.unmapped``, or
    ``table.key_missing`` for a None or blank key. Their params call the key
    ``lookup_key``, because ``DataError.__init__`` already has a parameter named ``key``.

    Returning ``default`` records the notice ``warning.category_unmapped`` with the table's
    file name, the key text ("" for a None or blank key) and the default.
    """
    if not isinstance(table, Table):
        raise DataError("table.not_a_table", type=type(table).__name__)

    text = None if key is None else _key_text(key, table)
    if not text:
        if default is not None:
            _notice_default(table, "", default)
            return default
        raise DataError("table.key_missing", table=table.path)

    value = table.rows.get(text)
    if value is not None:
        return value

    if default is not None:
        _notice_default(table, text, default)
        return default
    raise DataError(
        "table.unmapped",
        table=table.path,
        lookup_key=text,
        key_column=table.key_column,
        value_column=table.value_column,
        delimiter="<Tab>" if table.delimiter == "\t" else table.delimiter,
    )


def _notice_default(table: Table, key: str, default: Any) -> None:
    notice("warning.category_unmapped", table=Path(table.path).name, key=key, default=default)


def _key_text(key: object, table: Table) -> str:
    # bool is an int subclass, but True is never a meaningful id.
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)
    if isinstance(key, str):
        return key.strip().translate(_HALF_WIDTH)

    raise DataError("table.key_type", table=table.path, lookup_key=key, type=type(key).__name__)


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("table.missing", path=path) from None
    except OSError as error:
        raise DataError("table.unreadable", path=path, reason=error.strerror or str(error)) from None


def _decode(data: bytes, path: str) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue

    raise DataError("table.encoding", path=path)


def _is_skipped(cells: list[str]) -> bool:
    """Tell whether a row is blank (Excel saves empty rows as ``,,``) or a ``#`` comment."""
    if not any(cells):
        return True
    return cells[0].startswith("#")


def _sniff_delimiter(text: str) -> str:
    """Return the delimiter that occurs most often in the header line, or ``,`` if none occurs.

    Counting in the header is predictable, unlike ``csv.Sniffer``, which guesses from the
    data rows and can be misled by a ``;`` inside a category name.
    """
    for raw_line in text.splitlines():
        stripped = raw_line.strip()
        is_blank_row = not stripped.strip("".join(DELIMITERS))
        if is_blank_row or stripped.startswith("#"):
            continue

        counts = {delimiter: raw_line.count(delimiter) for delimiter in DELIMITERS}
        best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","

    return ","


def _parse_csv(text: str, delimiter: str, path: str) -> tuple[list[Record], list[RowProblem]]:
    """Split ``text`` into trimmed rows with the 1-based line each starts on.

    Blank and comment rows are left out. A row the csv module rejects (a stray quote, say)
    becomes a ``table.bad_csv`` problem and reading goes on with the next line.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[Record] = []
    problems: list[RowProblem] = []

    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append((line, "table.bad_csv", {"path": path, "line": line, "reason": str(error)}))
            continue

        cells = [cell.strip().translate(_HALF_WIDTH) for cell in row]
        if not _is_skipped(cells):
            records.append((line, cells))

    return records, problems


def _looks_like_data(header: list[str], key_column: str | None, value_column: str | None) -> bool:
    """Tell whether the header row is really a data row because the column-name row was deleted.

    A column named by the rule and present in the header settles it. Otherwise the header
    is data when its first two cells (the default key and value columns) are both numbers,
    which a column name never is.
    """
    named = [column.strip() for column in (key_column, value_column) if column is not None]
    if named and all(column in header for column in named):
        return False

    first_cells = header[:2]
    return all(_NUMBER_CELL.fullmatch(cell) for cell in first_cells)


def _header_is_data(
    line: int,
    header: list[str],
    key_column: str | None,
    value_column: str | None,
    path: str,
    delimiter: str,
) -> RowProblem:
    params = {"path": path, "line": line, "row": delimiter.join(header)}
    named = [column for column in (key_column, value_column) if column is not None]
    if not named:
        return (line, "table.header_is_data", params)

    return (line, "table.header_is_data_named", {**params, "columns": ", ".join(named)})


def _column_indexes(
    header: list[str], key_column: str | None, value_column: str | None, path: str
) -> tuple[int, int]:
    if len(header) < 2 and (key_column is None or value_column is None):
        raise DataError("table.too_few_columns", path=path, columns=header)

    key_index = 0 if key_column is None else _column_index(header, key_column, path)
    value_index = 1 if value_column is None else _column_index(header, value_column, path)
    return key_index, value_index


def _column_index(header: list[str], column: str, path: str) -> int:
    try:
        return header.index(column.strip())
    except ValueError:
        raise DataError("table.column_missing", path=path, column=column, columns=header) from None


def _add_row(
    rows: dict[str, str],
    lines: dict[str, int],
    line: int,
    cells: list[str],
    header: list[str],
    key_index: int,
    value_index: int,
    path: str,
) -> list[RowProblem]:
    """Add one data row to ``rows`` and ``lines``, or return its problems and add nothing."""
    where = {"path": path, "line": line}

    needed = max(key_index, value_index) + 1
    if len(cells) < needed:
        if any("\uff0c" in cell for cell in cells):
            # An input method's full-width comma looks like a separator but is text.
            return [(line, "table.fullwidth_comma", {**where, "cells": len(cells), "needed": needed})]
        if any("\t" in cell for cell in cells):
            # Cells copied from Excel and pasted into a text editor are separated by tabs.
            return [(line, "table.tab_separated", {**where, "cells": len(cells), "needed": needed})]
        return [(line, "table.bad_row", {**where, "cells": len(cells), "needed": needed})]

    key = cells[key_index]
    value = cells[value_index]
    if not key:
        return [(line, "table.empty_key", {**where, "column": header[key_index]})]
    if not value:
        return [(line, "table.empty_value", {**where, "key": key, "column": header[value_index]})]

    problems = []
    for index, cell in ((key_index, key), (value_index, value)):
        if _looks_like_excel_number(cell):
            params = {**where, "column": header[index], "value": cell}
            problems.append((line, "table.excel_number", params))
    if problems:
        return problems

    first_value = rows.get(key)
    if first_value is not None and first_value != value:
        params = {**where, "key": key, "value": value}
        params.update(first_line=lines[key], first_value=first_value)
        return [(line, "table.duplicate_key", params)]

    if first_value is None:
        rows[key] = value
        lines[key] = line
    return []


def _looks_like_excel_number(cell: str) -> bool:
    return bool(_SCIENTIFIC_NUMBER.fullmatch(cell) or _NUMBER_WITH_ZERO_FRACTION.fullmatch(cell))


# Characters that separate words in a line an analyst typed or pasted, so the line likely
# lists several words, although a word list takes one word per line.
_WORD_SEPARATORS = re.compile(r"[,\uff0c\u3001;\uff1b\t]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def check_word_list(path: str | os.PathLike[str]) -> list[RowProblem]:
    """Return warnings about the lines of a word list file, such as the banned-word table.

    A word list takes one word per line, and each line is used whole. So a line containing a
    comma, 、 or ; is one long word that titles rarely contain (``table.words_on_one_line``),
    and a one-character word removes that character from every title
    (``table.single_character_word``). Line numbers count CRLF, CR and LF line breaks, as
    editors do.

    A file that cannot be read or decoded has no warnings here, because loading the list
    reports it.
    """
    name = os.fspath(path)
    try:
        text = _decode(_read_bytes(name), name)
    except DataError:
        return []

    warnings: list[RowProblem] = []
    for line, raw_line in enumerate(_LINE_BREAK.split(text), start=1):
        word = raw_line.strip()
        if not word or word.startswith("#"):
            continue

        where = {"path": name, "line": line, "word": word}
        parts = [part.strip() for part in _WORD_SEPARATORS.split(word) if part.strip()]
        if len(parts) > 1:
            words = {"zh": "、".join(parts), "en": ", ".join(parts)}
            warnings.append((line, "table.words_on_one_line", {**where, "count": len(parts), "words": words}))
        elif len(word) == 1:
            warnings.append((line, "table.single_character_word", where))

    return warnings
