"""Extraction profiles: JMESPath from one 1688 response shape to the offer record.

A profile is a YAML file (``rules/profiles/<name>.yaml``). It names the response shape's
business-error markers and a ``match`` expression that recognises the shape. Its ``record`` gives
one JMESPath expression per offer-record field, or ``{each: <list>, record: {...}}`` for lists
mapped item by item (SKUs, their specs). Mapping item by item keeps a SKU's price on that SKU: a SKU
without a price gets null, never a neighbour's price.

After extraction the record is coerced by the offer schema (money text to ``Decimal``, digit text
to ``int``, numeric ids to text) and validated. Every failure names the field and SKU index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import jmespath
import jsonschema
from jmespath.exceptions import JMESPathError, ParseError

from etl import jmespath_functions
from etl.errors import DataError, OfferError, Position, Problem, RuleError, field_label
from etl.yamlfile import YamlDocument, load_yaml

PROFILE_KEYS = ("name", "description", "errors", "match", "record")


@lru_cache(maxsize=1)
def offer_schema() -> dict:
    """Load the offer record JSON Schema shipped with the package."""
    text = (resources.files("etl") / "schemas" / "offer.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _offer_fast_check():
    from etl.validate import FastCheck

    return FastCheck(offer_schema())


@lru_cache(maxsize=1)
def _offer_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(offer_schema())


@dataclass(frozen=True)
class FieldExtractor:
    """One record field: a JMESPath expression, or a per-item record over a list."""

    name: str
    source: str
    compiled: Any
    record: tuple["FieldExtractor", ...] | None = None  # set when the field is ``each``


@dataclass(frozen=True)
class ErrorMarker:
    """A business error a 200 response can carry: when ``when`` is truthy, the offer fails with code and message."""

    when: Any
    code: Any
    message: Any
    kind: str = "business"  # "offline" reports the offer as offline instead of as an API error


@dataclass(frozen=True)
class Profile:
    """A compiled extraction profile."""

    name: str
    path: str
    errors: tuple[ErrorMarker, ...]
    match: Any
    match_source: str
    record: tuple[FieldExtractor, ...]

    def extract(self, raw: Any, offer_id: str | None = None) -> dict:
        """Turn one raw response into a validated offer record, or raise :class:`OfferError`."""
        if not isinstance(raw, dict):
            raise OfferError("extract.not_object", step="extract", offer_id=offer_id, found=type(raw).__name__)

        self._check_business_errors(raw, offer_id)
        self._check_shape(raw, offer_id)

        record = _extract_record(self.record, raw, raw, offer_id, prefix="")
        record = coerce_record(record, offer_id)
        _validate_record(record, offer_id)

        if offer_id is not None and record["offer_id"] != offer_id:
            raise OfferError("extract.id_mismatch", step="extract", offer_id=offer_id, field="offer_id", found=record["offer_id"])

        if record["status"].strip().lower() != "published":
            raise OfferError("offer.offline", step="extract", offer_id=offer_id, field="status", status=record["status"])

        return record

    def _check_business_errors(self, raw: dict, offer_id: str | None) -> None:
        for marker in self.errors:
            if not _truthy(jmespath_functions.search(marker.when, raw, raw)):
                continue

            code = jmespath_functions.search(marker.code, raw, raw)
            message = jmespath_functions.search(marker.message, raw, raw)
            if marker.kind == "offline":
                raise OfferError("offer.offline_source", step="source", offer_id=offer_id, code=code, message=message or "")
            raise OfferError("source.business_error", step="source", offer_id=offer_id, code=code, message=message or "")

    def _check_shape(self, raw: dict, offer_id: str | None) -> None:
        if not _truthy(jmespath_functions.search(self.match, raw, raw)):
            raise OfferError("extract.shape_mismatch", step="extract", offer_id=offer_id, profile=self.name, match=self.match_source)


def _truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false."""
    return value not in (None, False, "", [], {})


def _extract_record(fields, data, root, offer_id, prefix) -> dict:
    record = {}

    for field in fields:
        label = prefix + field.name
        try:
            value = jmespath_functions.search(field.compiled, data, root)
        except JMESPathError as error:
            raise OfferError("extract.expression_failed", step="extract", offer_id=offer_id, field=label, detail=str(error)) from None

        if field.record is not None:
            value = _extract_items(field, value, root, offer_id, label)

        record[field.name] = value

    return record


def _extract_items(field, items, root, offer_id, label) -> list:
    if items is None:
        return []

    if not isinstance(items, list):
        raise OfferError("extract.not_list", step="extract", offer_id=offer_id, field=label, found=type(items).__name__)

    return [
        _extract_record(field.record, item, root, offer_id, f"{label}[{index}].")
        for index, item in enumerate(items)
    ]


def coerce_record(record: dict, offer_id: str | None) -> dict:
    """Coerce values to the offer schema's types: ``x-decimal`` to Decimal, integers from text, text from numbers."""
    return _coerce(record, offer_schema(), offer_id, "")


def _coerce(value: Any, schema: Mapping, offer_id, label: str) -> Any:
    if value is None:
        return None

    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])

    if "object" in types and isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: _coerce(item, properties.get(key, {}), offer_id, _join(label, key)) for key, item in value.items()}

    if "array" in types and isinstance(value, list):
        item_schema = schema.get("items", {})
        return [_coerce(item, item_schema, offer_id, f"{label}[{index}]") for index, item in enumerate(value)]

    if schema.get("x-decimal"):
        return _to_decimal(value, offer_id, label)

    if "integer" in types:
        return _to_int(value, offer_id, label)

    if "string" in types and isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))  # an id sent as 1031910.0 is the id 1031910

    if "string" in types and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)

    return value


def _join(label: str, key: str) -> str:
    return f"{label}.{key}" if label else key


def _to_decimal(value: Any, offer_id, label: str) -> Any:
    from etl.filters.money import to_decimal

    if isinstance(value, str) and not value.strip():
        return None

    try:
        return to_decimal(value)
    except DataError as error:
        raise _item_error(error, offer_id, label) from None


def _to_int(value: Any, offer_id, label: str) -> Any:
    if isinstance(value, bool) or isinstance(value, int):
        return value

    if isinstance(value, str) and not value.strip():
        return None

    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise OfferError("extract.not_integer", step="extract", offer_id=offer_id, field=label, value=value) from None

    if not number.is_finite() or number != number.to_integral_value():
        raise OfferError("extract.not_integer", step="extract", offer_id=offer_id, field=label, value=value)

    return int(number)


def _item_error(error: DataError, offer_id, label: str) -> OfferError:
    sku_index = _sku_index(label)
    return OfferError(error.key, step="extract", offer_id=offer_id, field=label, sku_index=sku_index, params=error.params)


def _sku_index(label: str) -> int | None:
    if not label.startswith("skus["):
        return None
    return int(label[5:label.index("]")])


def _validate_record(record: dict, offer_id) -> None:
    if _offer_fast_check()(record):
        return

    errors = sorted(_offer_validator().iter_errors(record), key=lambda error: list(error.absolute_path))
    if not errors:
        return

    from etl.validate import violation_from_schema_error

    label = field_label(errors[0].absolute_path)
    error = OfferError("extract.record_invalid", step="extract", offer_id=offer_id, field=label, sku_index=_sku_index(label), count=len(errors))
    error.violations = [violation_from_schema_error(item) for item in errors]
    raise error


# -- loading ---------------------------------------------------------------------------------


def bundled_profiles_dir() -> Path | None:
    from etl.paths import data_dir

    folder = data_dir("rules") / "profiles"
    return folder if folder.is_dir() else None


def find_profile(name: str, near: Path | None = None) -> Path | None:
    """Find ``<name>.yaml`` in ``near/profiles`` first, then among the bundled profiles."""
    candidates = []
    if near is not None:
        candidates.append(near / "profiles" / f"{name}.yaml")

    bundled = bundled_profiles_dir()
    if bundled is not None:
        candidates.append(bundled / f"{name}.yaml")

    for candidate in candidates:
        if candidate.is_file():
            return candidate

    return None


def available_profiles(near: Path | None = None) -> list[str]:
    names = set()
    for folder in filter(None, [near / "profiles" if near else None, bundled_profiles_dir()]):
        if folder.is_dir():
            names.update(path.stem for path in folder.glob("*.yaml"))
    return sorted(names)


def load_profile(path: str | Path) -> Profile:
    """Compile a profile file; raise :class:`RuleError` listing every problem in it."""
    document = load_yaml(path)
    compiler = _ProfileCompiler(document)
    profile = compiler.compile()
    if compiler.problems:
        raise RuleError(compiler.problems)
    return profile


class _ProfileCompiler:
    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def compile(self) -> Profile | None:
        data = self.document.data
        if not isinstance(data, dict):
            self._problem((), "profile.not_mapping", {})
            return None

        for key in data:
            if key not in PROFILE_KEYS:
                self._unknown_key((key,), key, PROFILE_KEYS)

        errors = tuple(self._error_marker(index, item) for index, item in enumerate(data.get("errors") or []))
        match_source = data.get("match", "@")
        match = self._path(("match",), match_source)
        record = self._record(("record",), data.get("record"), offer_schema())

        return Profile(
            name=str(data.get("name") or Path(self.document.path).stem),
            path=self.document.path,
            errors=errors,
            match=match,
            match_source=str(match_source),
            record=record,
        )

    def _error_marker(self, index: int, item: Any) -> ErrorMarker:
        where = ("errors", index)
        if not isinstance(item, dict) or "when" not in item:
            self._problem(where, "profile.error_marker", {})
            return ErrorMarker(None, None, None)

        kind = item.get("kind", "business")
        if kind not in ("business", "offline"):
            self._problem(where + ("kind",), "profile.error_kind", {"found": kind})

        return ErrorMarker(
            when=self._path(where + ("when",), item["when"]),
            code=self._path(where + ("code",), item.get("code", "`null`")),
            message=self._path(where + ("message",), item.get("message", "`null`")),
            kind=kind,
        )

    def _record(self, where: tuple, spec: Any, schema: Mapping) -> tuple[FieldExtractor, ...]:
        if not isinstance(spec, dict):
            self._problem(where, "profile.record_not_mapping", {})
            return ()

        properties = schema.get("properties", {})
        fields = []
        for name, value in spec.items():
            if name not in properties:
                self._unknown_key(where + (name,), name, properties)
                continue
            fields.append(self._field(where + (name,), name, value, properties[name]))

        for name in schema.get("required", []):
            if name not in spec:
                self._problem(where, "profile.required_field", {"name": name})

        return tuple(fields)

    def _field(self, where: tuple, name: str, value: Any, schema: Mapping) -> FieldExtractor:
        if isinstance(value, dict):
            for key in value:
                if key not in ("each", "record"):
                    self._unknown_key(where + (key,), key, ("each", "record"))

            compiled = self._path(where + ("each",), value.get("each"))
            item_schema = schema.get("items", {})
            record = self._record(where + ("record",), value.get("record"), item_schema)
            return FieldExtractor(name, str(value.get("each")), compiled, record)

        return FieldExtractor(name, str(value), self._path(where, value))

    def _path(self, where: tuple, source: Any) -> Any:
        if not isinstance(source, str) or not source.strip():
            self._problem(where, "profile.expression_missing", {"found": source})
            return None

        try:
            return jmespath_functions.compile_path(source)
        except ParseError as error:
            line, column = self.document.value_marks.get(where, (1, 1))
            offset = error.lex_position if isinstance(error.lex_position, int) and error.lex_position >= 0 else 0
            position = self.document.position_at(line, column + offset + (1 if where in self.document.quoted else 0))
            field = ".".join(str(part) for part in where)
            detail = error.msg if hasattr(error, "msg") else str(error)
            self.problems.append(Problem(position, field, "profile.bad_jmespath", {"expression": source, "detail": detail}))
            return None
        except JMESPathError as error:
            self._problem(where, "profile.bad_jmespath", {"expression": source, "detail": str(error)})
            return None

    def _unknown_key(self, where: tuple, key: Any, allowed) -> None:
        from etl.expressions import suggest

        hint = suggest(key, allowed)
        self.problems.append(
            Problem(self.document.position(where, key=True), ".".join(map(str, where)), "profile.unknown_key",
                    {"key": key, "suggestion": hint or "", "allowed": ", ".join(map(str, allowed))})
        )

    def _problem(self, where: tuple, key: str, params: dict) -> None:
        self.problems.append(Problem(self.document.position(where), ".".join(map(str, where)), key, params))
