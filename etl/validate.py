"""Validate a payload against its target: the JSON Schema plus the target's cross-field checks.

Every violation is collected (never just the first), each with the payload field path and a
catalogue message. Schema extension keywords:

- ``x-maxDisplayWidth``: display width limit, East Asian Wide/Fullwidth characters counting 2;
- ``x-maxBytes``: UTF-8 byte length limit;
- ``x-splitMaxItems``: ``{separator, max}`` for fields such as Douyin ``pic`` that join URLs;
- ``x-jsonString``: the field is a JSON text whose decoded value must match this subschema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import product
from typing import Any, Iterator, Mapping

import fastjsonschema
import jsonschema
from jsonschema import ValidationError, validators

from etl.errors import field_label
from etl.targets import Target


@dataclass(frozen=True)
class Violation:
    """One reason a payload is invalid."""

    field: str
    key: str
    params: dict = field(default_factory=dict)

    def render(self, lang: str = "zh") -> str:
        from etl.messages import render

        return render(self.key, lang, **self.params)


def _display_width(validator, limit, instance, schema):
    from etl.filters.text import display_width

    if isinstance(instance, str):
        width = display_width(instance)
        if width > limit:
            yield ValidationError(f"display width {width} exceeds {limit}", validator="x-maxDisplayWidth", validator_value=limit)


def _max_bytes(validator, limit, instance, schema):
    if isinstance(instance, str):
        size = len(instance.encode("utf-8"))
        if size > limit:
            yield ValidationError(f"{size} bytes exceeds {limit}", validator="x-maxBytes", validator_value=limit)


def _split_max_items(validator, spec, instance, schema):
    if isinstance(instance, str) and instance:
        count = len(instance.split(spec["separator"]))
        if count > spec["max"]:
            yield ValidationError(f"{count} items exceed {spec['max']}", validator="x-splitMaxItems", validator_value=spec)


def _json_string(validator, subschema, instance, schema):
    if not isinstance(instance, str):
        return

    try:
        decoded = json.loads(instance, parse_float=Decimal)
    except json.JSONDecodeError as error:
        yield ValidationError(f"not valid JSON text: {error.msg}", validator="x-jsonString", validator_value=subschema)
        return

    for error in validator.descend(decoded, subschema):
        yield error


@lru_cache(maxsize=None)
def _validator_class():
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "number", lambda checker, value: isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    )
    return validators.extend(
        base,
        {
            "x-maxDisplayWidth": _display_width,
            "x-maxBytes": _max_bytes,
            "x-splitMaxItems": _split_max_items,
            "x-jsonString": _json_string,
        },
        type_checker=checker,
    )


def make_validator(schema: Mapping[str, Any]):
    """Build a validator for ``schema`` once; reuse it for every payload."""
    cls = _validator_class()
    cls.check_schema(schema)
    return cls(schema)


class JsonTexts:
    """The JSON text fields of one payload, each decoded at most once while the payload is validated.

    The ``x-jsonString`` keyword and the ``spec_matrix`` check both read ``spec_prices``, so
    one decode serves both. Neither changes the decoded value, because the keyword's check is
    compiled without schema defaults and the spec_matrix check only reads.
    """

    __slots__ = ("_decoded",)

    def __init__(self) -> None:
        self._decoded: dict[str, Any] = {}

    def decode(self, text: str) -> Any:
        """Return ``json.loads(text)`` with Decimal numbers; raise ``json.JSONDecodeError`` for bad text."""
        if text not in self._decoded:
            self._decoded[text] = json.loads(text, parse_float=Decimal)
        return self._decoded[text]


class FastCheck:
    """A compiled yes/no check of a schema, for the common case of a valid document.

    ``fastjsonschema`` compiles the standard keywords to Python code; the project's ``x-``
    keywords on top-level properties are checked here directly. Only when this check fails
    does the slower ``jsonschema`` validator run, to list every violation with its message.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._standard = fastjsonschema.compile(dict(schema))
        self._extras = []
        for name, spec in schema.get("properties", {}).items():
            if "x-jsonString" in spec:
                # Without defaults the check never writes into the decoded value that others read.
                check = fastjsonschema.compile(spec["x-jsonString"], use_default=False)
                self._extras.append((name, "x-jsonString", check))
            for keyword in ("x-maxDisplayWidth", "x-maxBytes", "x-splitMaxItems"):
                if keyword in spec:
                    self._extras.append((name, keyword, spec[keyword]))

    def __call__(self, document: Any, json_texts: JsonTexts | None = None) -> bool:
        try:
            self._standard(document)
        except fastjsonschema.JsonSchemaException:
            return False

        if json_texts is None:
            json_texts = JsonTexts()
        return all(_extra_ok(document.get(name), keyword, setting, json_texts) for name, keyword, setting in self._extras)


def _extra_ok(value: Any, keyword: str, setting: Any, json_texts: JsonTexts) -> bool:
    if not isinstance(value, str):
        return True
    if keyword == "x-maxDisplayWidth":
        from etl.filters.text import display_width

        return display_width(value) <= setting
    if keyword == "x-maxBytes":
        return len(value.encode("utf-8")) <= setting
    if keyword == "x-splitMaxItems":
        return not value or len(value.split(setting["separator"])) <= setting["max"]
    try:
        setting(json_texts.decode(value))
    except (json.JSONDecodeError, fastjsonschema.JsonSchemaException):
        return False
    return True


def validate_payload(payload: Mapping[str, Any], target: Target, validator=None, fast: FastCheck | None = None) -> list[Violation]:
    """Return every violation of ``payload`` against ``target`` (empty when valid)."""
    json_texts = JsonTexts()
    violations = []
    if fast is None or not fast(payload, json_texts):
        validator = validator or make_validator(target.schema)
        violations = [violation_from_schema_error(error) for error in _schema_errors(validator, payload)]

    for check in target.checks:
        violations.extend(_run_check(check, payload, json_texts))

    return violations


def _schema_errors(validator, payload) -> Iterator[ValidationError]:
    for error in sorted(validator.iter_errors(payload), key=lambda item: [str(part) for part in item.absolute_path]):
        # Errors under anyOf/oneOf are reported through their leaves, which name the real field.
        if error.context:
            yield from error.context
        else:
            yield error


def violation_from_schema_error(error: ValidationError) -> Violation:
    field_name = field_label(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    params = {"field": field_name or "(payload)", "value": _short(error.instance)}

    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else str(value)
        return Violation(field_name, "validate.required", {"field": missing})

    if kind == "additionalProperties":
        return Violation(field_name, "validate.unknown_field", {"detail": error.message})

    if kind in ("type", "enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength",
                "minItems", "maxItems", "x-maxDisplayWidth", "x-maxBytes", "x-splitMaxItems"):
        params["limit"] = value if not isinstance(value, dict) else value.get("max")
        params["found"] = _measure(kind, error.instance, value)
        return Violation(field_name, f"validate.{kind}", params)

    params["detail"] = error.message
    return Violation(field_name, "validate.other", params)


def _measure(kind: str, instance: Any, limit: Any) -> Any:
    from etl.filters.text import display_width

    if kind == "x-maxDisplayWidth" and isinstance(instance, str):
        return display_width(instance)
    if kind == "x-maxBytes" and isinstance(instance, str):
        return len(instance.encode("utf-8"))
    if kind in ("minLength", "maxLength", "minItems", "maxItems") and hasattr(instance, "__len__"):
        return len(instance)
    if kind == "x-splitMaxItems" and isinstance(instance, str):
        return len(instance.split(limit["separator"]))
    if kind == "type":
        return _JSON_TYPES.get(type(instance).__name__, type(instance).__name__)
    return _short(instance)


# Python type names as the JSON Schema words a message shows.
_JSON_TYPES = {"Decimal": "number", "float": "number", "int": "integer", "str": "string", "list": "array",
               "tuple": "array", "dict": "object", "bool": "boolean", "NoneType": "null"}


def _short(value: Any) -> str:
    """Show a value as JSON text (so a Decimal reads 19.90, not Decimal('19.90')), cut to 80 characters."""
    from etl import jsonio

    try:
        text = value if isinstance(value, str) else jsonio.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- cross-field checks ----------------------------------------------------------------------


def _parts(payload: Mapping, name: str, separator: str) -> list[str] | None:
    """Split a joined field; an empty string is one empty item (Taobao keeps empty slots such as ``A1,,B2``)."""
    value = payload.get(name)
    if value is None:
        return None
    return str(value).split(separator)


def _run_check(check: Mapping[str, Any], payload: Mapping[str, Any], json_texts: JsonTexts) -> list[Violation]:
    kind = check["type"]
    if kind == "same_count":
        return _check_same_count(check, payload)
    if kind == "sum_equals":
        return _check_sum_equals(check, payload)
    if kind == "price_within":
        return _check_price_within(check, payload)
    if kind == "spec_matrix":
        return _check_spec_matrix(check, payload, json_texts)
    if kind == "max_items_total":
        return _check_max_items_total(check, payload)
    return []


def _check_same_count(check, payload) -> list[Violation]:
    separator = check.get("separator", ",")
    counts = {name: len(parts) for name in check["fields"] if (parts := _parts(payload, name, separator)) is not None}
    if len(set(counts.values())) <= 1:
        return []

    detail = ", ".join(f"{name}={count}" for name, count in counts.items())
    return [Violation(",".join(counts), "check.same_count", {"detail": detail})]


def _check_sum_equals(check, payload) -> list[Violation]:
    parts = _parts(payload, check["parts"], check.get("separator", ","))
    total_field = check["field"]
    if parts in (None, [""]) or total_field not in payload:
        return []

    try:
        total = sum(int(part) for part in parts)
    except ValueError:
        return [Violation(check["parts"], "check.not_numbers", {"field": check["parts"]})]

    if total == payload[total_field]:
        return []
    return [Violation(total_field, "check.sum_equals", {"field": total_field, "found": payload[total_field], "expected": total, "parts": check["parts"]})]


def _check_price_within(check, payload) -> list[Violation]:
    parts = _parts(payload, check["parts"], check.get("separator", ","))
    price_field = check["field"]
    if parts in (None, [""]) or price_field not in payload:
        return []

    try:
        prices = [Decimal(part) for part in parts]
        price = Decimal(str(payload[price_field]))
    except InvalidOperation:
        return [Violation(check["parts"], "check.not_numbers", {"field": check["parts"]})]

    if min(prices) <= price <= max(prices):
        return []
    return [Violation(price_field, "check.price_within", {"field": price_field, "found": price, "low": min(prices), "high": max(prices)})]


def _check_spec_matrix(check, payload, json_texts: JsonTexts) -> list[Violation]:
    specs_text = payload.get(check["specs"])
    rows_value = payload.get(check["rows"])
    if not isinstance(specs_text, str) or rows_value is None:
        return []

    try:
        rows = json_texts.decode(rows_value) if isinstance(rows_value, str) else rows_value
    except json.JSONDecodeError:
        return []  # the schema keyword x-jsonString reports it

    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return []  # the schema keyword x-jsonString reports rows of the wrong shape

    dimensions = [part.split("|", 1) for part in specs_text.split("^")]
    if any(len(part) != 2 for part in dimensions):
        return [Violation(check["specs"], "check.specs_format", {"found": specs_text})]

    value_lists = [values.split(",") for _, values in dimensions]
    expected = set(product(*value_lists))
    keys = [f"spec_detail_name{index + 1}" for index in range(len(value_lists))]
    seen = {tuple([str(row.get(key, "")) for key in keys]) for row in rows}

    problems = []
    if len(rows) != len(expected):
        problems.append(Violation(check["rows"], "check.spec_rows_count", {"found": len(rows), "expected": len(expected)}))
    if seen != expected:
        unknown = sorted("/".join(combination) for combination in seen - expected)
        missing = sorted("/".join(combination) for combination in expected - seen)
        problems.append(Violation(check["rows"], "check.spec_rows_mismatch", {"unknown": ", ".join(unknown) or "-", "missing": ", ".join(missing) or "-"}))
    return problems


def _check_max_items_total(check, payload) -> list[Violation]:
    total = 0
    for item in check["fields"]:
        parts = _parts(payload, item["field"], item["separator"])
        total += len([part for part in parts or [] if part])

    if total <= check["max"]:
        return []
    names = ", ".join(item["field"] for item in check["fields"])
    return [Violation(names, "check.max_items_total", {"fields": names, "found": total, "limit": check["max"]})]
