"""Extraction profiles: JMESPath from one 1688 response shape to the offer record.

A profile is a YAML file (``rules/profiles/<name>.yaml``). It names the response shape's
business-error markers and a ``match`` expression that recognises the shape. Its ``record`` gives
one JMESPath expression per offer-record field, or ``{each: <list>, record: {...}}`` for lists
mapped item by item (SKUs, their specs). Mapping item by item keeps a SKU's price on that SKU: a SKU
without a price gets null, never a neighbour's price.

Each value is coerced by the offer schema as it is extracted (money text to ``Decimal``, digit
text to ``int``, numeric ids to text), and the record is then validated. Every failure names the
field and SKU index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

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
    _extract_fields: Callable[[Any], dict] = field(init=False, repr=False, compare=False)
    _extract_coerced: Callable[[Any], dict] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_extract_fields", _record_extractor(self.record))
        object.__setattr__(self, "_extract_coerced", _record_extractor(self.record, offer_schema()))

    def extract(self, raw: Any, offer_id: str | None = None) -> dict:
        """Turn one raw response into a validated offer record, or raise :class:`OfferError`."""
        if not isinstance(raw, dict):
            raise OfferError("extract.not_object", step="extract", offer_id=offer_id, found=type(raw).__name__)

        with jmespath_functions.bound_root(raw):
            self._check_business_errors(raw, offer_id)
            self._check_shape(raw, offer_id)
            try:
                record = self._extract_coerced(raw)
            except _FieldFailure:
                record = self._extract_then_coerce(raw, offer_id)

        _validate_record(record, offer_id)

        if offer_id is not None and record["offer_id"] != offer_id:
            raise OfferError("extract.id_mismatch", step="extract", offer_id=offer_id, field="offer_id", found=record["offer_id"])

        if record["status"].strip().lower() != "published":
            raise OfferError("offer.offline", step="extract", offer_id=offer_id, field="status", status=record["status"])

        return record

    def _extract_then_coerce(self, raw: dict, offer_id: str | None) -> dict:
        """Extract, then coerce, in two passes, and raise the first failure they find.

        ``extract`` coerces each value as it extracts it. When that fails, this pass finds the
        error to report, because an extraction failure anywhere comes before a coercion failure.
        """
        try:
            record = self._extract_fields(raw)
        except _FieldFailure as failure:
            raise failure.offer_error(offer_id) from None
        return coerce_record(record, offer_id)

    def _check_business_errors(self, raw: dict, offer_id: str | None) -> None:
        for marker in self.errors:
            if not _truthy(marker.when.search(raw)):
                continue

            code = marker.code.search(raw)
            message = marker.message.search(raw)
            if marker.kind == "offline":
                raise OfferError("offer.offline_source", step="source", offer_id=offer_id, code=code, message=message or "")
            raise OfferError("source.business_error", step="source", offer_id=offer_id, code=code, message=message or "")

    def _check_shape(self, raw: dict, offer_id: str | None) -> None:
        if not _truthy(self.match.search(raw)):
            raise OfferError("extract.shape_mismatch", step="extract", offer_id=offer_id, profile=self.name, match=self.match_source)


def _truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false."""
    return value not in (None, False, "", [], {})


# -- extracting and coercing -----------------------------------------------------------------
#
# Both steps run as functions compiled once per profile, and they build no field labels while
# they work. A failure raises _FieldFailure, each enclosing object or list adds its key or
# index on the way out, and only then is the label ("skus[3].specs[0].image") written.


class _FieldFailure(Exception):
    """A failure at one value of the record. ``path`` gathers keys and indexes, innermost first."""

    def __init__(self, make_error: Callable[[str | None, str], OfferError]) -> None:
        super().__init__()
        self.make_error = make_error
        self.path: list[str | int] = []

    def offer_error(self, offer_id: str | None) -> OfferError:
        return self.make_error(offer_id, _label(reversed(self.path)))


def _label(parts) -> str:
    label = ""
    for part in parts:
        label = f"{label}[{part}]" if isinstance(part, int) else _join(label, part)
    return label


def _record_extractor(extractors: tuple[FieldExtractor, ...], schema: Mapping | None = None) -> Callable[[Any], dict]:
    """Compile ``extractors`` into a function from one object of the response to a record dict.

    With ``schema`` (the record's JSON Schema) each value is coerced as ``coerce_record`` would
    coerce it, right after it is extracted.
    """
    properties = schema.get("properties", {}) if schema is not None else None
    steps = tuple(_extract_step(extractor, None if properties is None else properties.get(extractor.name, {}))
                  for extractor in extractors)

    def extract(data: Any) -> dict:
        record = {}
        for name, search, items, coerce in steps:
            try:
                value = search(data)
            except JMESPathError as error:
                failure = _FieldFailure(_expression_failed(str(error)))
                failure.path.append(name)
                raise failure from None

            try:
                if items is not None:
                    value = items(value)
                if coerce is not None:
                    value = coerce(value)
            except _FieldFailure as failure:
                failure.path.append(name)
                raise

            record[name] = value
        return record

    return extract


def _extract_step(extractor: FieldExtractor, schema: Mapping | None) -> tuple:
    """Return ``(name, search, items, coerce)`` for one field; ``schema`` is None when nothing is coerced.

    An ``each`` field over a list of objects coerces inside each item, which is what coercing
    the whole list afterwards would do.
    """
    search = _search_of(extractor)
    if extractor.record is None:
        return extractor.name, search, None, None if schema is None else _coercer(schema)

    item_schema = schema.get("items", {}) if schema is not None else {}
    if schema is not None and "array" in _types(schema) and "object" in _types(item_schema):
        return extractor.name, search, _items_extractor(extractor.record, item_schema), None

    return extractor.name, search, _items_extractor(extractor.record), None if schema is None else _coercer(schema)


def _search_of(extractor: FieldExtractor) -> Callable[[Any], Any]:
    # A profile whose expression did not compile is rejected with RuleError before it can run.
    return _no_value if extractor.compiled is None else extractor.compiled.search


def _no_value(data: Any) -> None:
    return None


def _items_extractor(extractors: tuple[FieldExtractor, ...], schema: Mapping | None = None) -> Callable[[Any], list]:
    """Map each item of a list with ``extractors``; null gives an empty list and anything else fails."""
    extract_item = _record_extractor(extractors, schema)

    def extract(items: Any) -> list:
        if items is None:
            return []

        if not isinstance(items, list):
            raise _FieldFailure(_not_list(type(items).__name__))

        records = []
        for index, item in enumerate(items):
            try:
                records.append(extract_item(item))
            except _FieldFailure as failure:
                failure.path.append(index)
                raise
        return records

    return extract


def _expression_failed(detail: str):
    return lambda offer_id, label: OfferError("extract.expression_failed", step="extract", offer_id=offer_id, field=label, detail=detail)


def _not_list(found: str):
    return lambda offer_id, label: OfferError("extract.not_list", step="extract", offer_id=offer_id, field=label, found=found)


def coerce_record(record: dict, offer_id: str | None) -> dict:
    """Coerce values to the offer schema's types: ``x-decimal`` to Decimal, integers from text, text from numbers."""
    try:
        return _record_coercer()(record)
    except _FieldFailure as failure:
        raise failure.offer_error(offer_id) from None


@lru_cache(maxsize=1)
def _record_coercer() -> Callable[[Any], Any]:
    return _coercer(offer_schema())


def _coercer(schema: Mapping) -> Callable[[Any], Any]:
    """Compile the coercion of one schema node: objects and lists per item, then one scalar rule.

    The scalar rule is the first that applies: ``x-decimal`` to Decimal, ``integer`` to int,
    ``string`` from a number. None stays None everywhere.
    """
    types = _types(schema)

    properties = None
    if "object" in types:
        properties = {key: _coercer(item) for key, item in schema.get("properties", {}).items()}

    item_coercer = _coercer(schema.get("items", {})) if "array" in types else None

    if schema.get("x-decimal"):
        scalar = _to_decimal
    elif "integer" in types:
        scalar = _to_int
    elif "string" in types:
        scalar = _to_text
    else:
        scalar = _unchanged

    if properties is None and item_coercer is None:
        return scalar

    def coerce(value: Any) -> Any:
        if value is None:
            return None
        if properties is not None and isinstance(value, dict):
            return _coerce_object(value, properties)
        if item_coercer is not None and isinstance(value, list):
            return _coerce_list(value, item_coercer)
        return scalar(value)

    return coerce


def _types(schema: Mapping) -> list[str]:
    types = schema.get("type")
    return [types] if isinstance(types, str) else (types or [])


def _coerce_object(value: dict, properties: Mapping[str, Callable[[Any], Any]]) -> dict:
    result = {}
    for key, item in value.items():
        coerce = properties.get(key)
        if coerce is None:
            result[key] = item  # a key the schema does not name keeps its value; validation reports it
            continue
        try:
            result[key] = coerce(item)
        except _FieldFailure as failure:
            failure.path.append(key)
            raise
    return result


def _coerce_list(value: list, coerce: Callable[[Any], Any]) -> list:
    result = []
    for index, item in enumerate(value):
        try:
            result.append(coerce(item))
        except _FieldFailure as failure:
            failure.path.append(index)
            raise
    return result


def _join(label: str, key: str) -> str:
    return f"{label}.{key}" if label else key


def _unchanged(value: Any) -> Any:
    return value


def _to_text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value

    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))  # an id sent as 1031910.0 is the id 1031910

    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)

    return value


def _to_decimal(value: Any) -> Any:
    from etl.filters.money import to_decimal

    if value is None:
        return None

    if isinstance(value, str) and not value.strip():
        return None

    try:
        return to_decimal(value)
    except DataError as error:
        raise _FieldFailure(_money_error(error)) from None


def _to_int(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value

    if isinstance(value, str) and not value.strip():
        return None

    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _FieldFailure(_not_integer(value)) from None

    if not number.is_finite() or number != number.to_integral_value():
        raise _FieldFailure(_not_integer(value))

    return int(number)


def _not_integer(value: Any):
    return lambda offer_id, label: OfferError("extract.not_integer", step="extract", offer_id=offer_id, field=label, value=value)


def _money_error(error: DataError):
    return lambda offer_id, label: _item_error(error, offer_id, label)


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
