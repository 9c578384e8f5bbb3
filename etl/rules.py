"""Load a rule file and compile it once into an immutable :class:`Rule`.

Loading checks everything that can be checked without an offer: the file's structure against
the rule JSON Schema, the target and extraction profile it names, its tables, every expression,
every name and filter, and the target fields it sets. All problems are raised together in one
:class:`RuleError`, each with file, line, column and field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import jsonschema
import yaml

from etl import expressions
from etl.compiler import IDENTIFIER, Compiler, Scope, schema_of_node
from etl.errors import DataError, OfferError, Position, Problem, RuleError, UsageError, field_label
from etl.extract import Profile, available_profiles, find_profile, load_profile, offer_schema
from etl.mapping import MISSING, Field, Missing, ObjectNode
from etl.notices import Collector, Notice, collect, notice
from etl.targets import Target, available_targets, find_target, load_target
from etl.units import check_money_units
from etl.validate import FastCheck, Violation, make_validator, validate_payload, violation_from_schema_error
from etl.yamlfile import YamlDocument, load_yaml

RESERVED_NAMES = ("offer", "vars", "target", "index", "range", "dict")

# The parts a rule's ``review`` section may name, in the order the review shows them.
REVIEW_PARTS = ("title", "category_id", "images", "skus")


@lru_cache(maxsize=1)
def rule_schema() -> dict:
    """Load the rule-file JSON Schema shipped with the package (also what ``etl schema`` prints)."""
    return json.loads((resources.files("etl") / "schemas" / "rule.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Mapped:
    """The result of applying a rule to one raw response.

    ``notices`` are the findings that did not fail the offer (``warning.*`` keys), and ``review``
    the values of the rule's ``review`` section by part name, or None without that section.
    """

    offer_id: str
    record: Mapping[str, Any]
    transforms: Mapping[str, Any]
    payload: Mapping[str, Any]
    notices: tuple[Notice, ...] = ()
    review: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Trace:
    """Everything computed for one offer up to the step that failed, for ``etl preview``.

    ``record`` is None when extraction failed, ``payload`` None when a transform or field
    failed, ``review`` None when it was not reached or the rule has no ``review`` section.
    ``error`` is None for an offer that passed validation.
    """

    offer_id: str | None
    record: Mapping[str, Any] | None = None
    transforms: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] | None = None
    review: Mapping[str, Any] | None = None
    notices: tuple[Notice, ...] = ()
    error: OfferError | None = None


@dataclass
class _Steps:
    """The values computed so far for one offer, filled in as the mapper goes."""

    transforms: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    review: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    """A compiled rule file. Immutable; safe to share between threads."""

    path: str
    target: Target
    profile: Profile
    vars: Mapping[str, Any]
    tables: Mapping[str, Any]
    transforms: tuple[tuple[str, Field], ...]
    fields: ObjectNode
    warnings: tuple[Problem, ...]
    validator: Any
    fast_check: Any = None
    review: tuple[tuple[str, Field], ...] | None = None

    def with_profile(self, profile: Profile) -> "Rule":
        return replace(self, profile=profile)

    def apply(self, raw: Any, offer_id: str | None = None) -> Mapped:
        """Extract, transform, map and validate one raw response; raise :class:`OfferError` on failure."""
        record = self.profile.extract(raw, offer_id)
        offer_id = record["offer_id"]
        return self.map_record(record, offer_id)

    def map_record(self, record: Mapping[str, Any], offer_id: str) -> Mapped:
        """Run ``transform``, ``fields`` and ``review`` on an offer record and validate the payload.

        Notices that filters raise while doing so come back in ``Mapped.notices``. A failing
        ``review`` expression becomes a ``warning.review_failed`` notice instead of an error.
        """
        steps = _Steps()
        with collect() as collector:
            self._evaluate(record, offer_id, steps, collector)

        return Mapped(offer_id, record, steps.transforms, steps.payload, collector.unique(), steps.review)

    def trace(self, raw: Any, offer_id: str | None = None) -> Trace:
        """Apply the rule like :meth:`apply`, but return what was computed up to a failure instead of raising.

        Only :class:`OfferError` is caught, and it ends up in ``Trace.error``.
        """
        try:
            record = self.profile.extract(raw, offer_id)
        except OfferError as error:
            return Trace(offer_id, error=error)

        offer_id = record["offer_id"]
        steps = _Steps()
        error = None
        with collect() as collector:
            try:
                self._evaluate(record, offer_id, steps, collector)
            except OfferError as failure:
                error = failure

        return Trace(offer_id, record, steps.transforms, steps.payload, steps.review, collector.unique(), error)

    def _evaluate(self, record: Mapping[str, Any], offer_id: str, steps: _Steps, collector: Collector) -> None:
        """Fill ``steps`` with transforms, payload and review in that order, raising :class:`OfferError` on failure.

        The review is computed before validation, so a trace of an offer that fails validation
        still shows it.
        """
        context: dict[str, Any] = {"offer": record, "vars": self.vars, "target": self._target_view()}
        context.update(self.tables)

        for name, node in self.transforms:
            collector.field = node.label
            value = node.evaluate(context, offer_id)
            if value is MISSING:
                continue
            context[name] = value
            steps.transforms[name] = value

        payload: dict[str, Any] = {}
        for name, node in self.fields.items:
            collector.field = node.label
            value = node.evaluate(context, offer_id)
            if value is not MISSING:
                payload[name] = value
        steps.payload = payload

        if self.review is not None:
            steps.review = _evaluate_review(self.review, context, offer_id, collector)

        violations = validate_payload(payload, self.target, self.validator, self.fast_check)
        if violations:
            raise _validation_error(violations, offer_id)

    def _target_view(self) -> Mapping[str, Any]:
        return {"name": self.target.name, "limits": self.target.limits, "label": self.target.label}


def _evaluate_review(parts: tuple[tuple[str, Field], ...], context: Mapping[str, Any], offer_id: str,
                     collector: Collector) -> dict[str, Any]:
    """Evaluate each review part on its own, leaving a failing part out and recording it as a notice."""
    from etl.messages import LANGUAGES

    review = {}
    for name, node in parts:
        collector.field = node.label
        try:
            value = node.evaluate(context, offer_id)
        except OfferError as error:
            notice("warning.review_failed", part=name, reason={lang: error.render(lang) for lang in LANGUAGES})
            continue
        if value is not MISSING:
            review[name] = value
    return review


def _validation_error(violations: list[Violation], offer_id: str) -> OfferError:
    error = OfferError("validate.failed", step="validate", offer_id=offer_id, field=violations[0].field, count=len(violations))
    error.violations = violations
    return error


# -- loading --------------------------------------------------------------------------------


def resolve_rule_path(text: str) -> Path:
    """Return the rule file for ``text``: a path, or a rule name such as ``douyin``.

    A name means ``rules/<name>.yaml`` under the current folder when it exists, so an analyst's
    edits are used, and the copy bundled with the package otherwise.
    """
    from etl.paths import data_dir

    path = Path(text)
    if path.is_file() or len(path.parts) > 1 or path.suffix in (".yaml", ".yml"):
        return path

    local = Path("rules") / f"{text}.yaml"
    if local.is_file():
        return local

    bundled = data_dir("rules") / f"{text}.yaml"
    return bundled if bundled.is_file() else path


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def load_rule(path: str | Path, overrides: Mapping[str, str] | None = None, profile: str | None = None) -> Rule:
    """Compile the rule file at ``path``.

    ``overrides`` are ``--set NAME=VALUE`` texts for declared vars; ``profile`` replaces the rule's
    extraction profile. Raises :class:`RuleError` with every problem found, or
    :class:`UsageError` for an override naming an unknown var.
    """
    document = load_yaml(path, keep_going=True)
    loader = _RuleLoader(document)
    rule = loader.load(overrides or {}, profile)

    errors = [problem for problem in loader.problems if problem.severity == "error"]
    if errors:
        raise RuleError(loader.problems)

    return rule


class _RuleLoader:
    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.folder = Path(document.path).parent
        self.env = expressions.build_environment()
        self.compiler = Compiler(document, self.env)
        # Duplicate keys and other problems of a file that parsed come with the document, so the
        # compile step still runs and every problem is reported at once.
        self.problems: list[Problem] = list(document.problems)
        self.table_names: list[str] = []  # declared tables, loaded or not, so a broken table is not also "undefined"

    def load(self, overrides: Mapping[str, str], profile_name: str | None) -> Rule | None:
        data = self.document.data
        self._check_structure(data)
        if not isinstance(data, dict):
            return None

        target = self._target(data.get("target"))
        profile = self._profile(profile_name or data.get("profile"), from_option=profile_name is not None)
        variables = self._vars(data.get("vars") or {}, overrides)
        tables = self._tables(data.get("tables") or {})

        scope = Scope({"offer": offer_schema(), "vars": _object_schema(variables), "target": _target_schema(target)})
        for name in self.table_names:
            scope.schemas[name] = None

        transforms = self._transforms(data.get("transform") or {}, scope)
        fields = self._fields(data.get("fields") or {}, scope, target)
        self.problems.extend(check_money_units(self.document, *(_mapping(data.get(name)) for name in ("transform", "fields", "review"))))
        review = self._review(data.get("review"), scope)

        self.problems.extend(self.compiler.problems)
        if target is None or profile is None or any(problem.severity == "error" for problem in self.problems):
            return None

        return Rule(
            path=self.document.path,
            target=target,
            profile=profile,
            vars=MappingProxyType(variables),
            tables=MappingProxyType(tables),
            transforms=transforms,
            fields=fields,
            warnings=tuple(problem for problem in self.problems if problem.severity == "warning"),
            validator=make_validator(target.schema),
            fast_check=FastCheck(target.schema),
            review=review,
        )

    # -- structure --------------------------------------------------------------------------

    def _check_structure(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.problems.append(Problem(self.document.position(()), "", "rule.not_mapping", {}))
            return

        validator = jsonschema.Draft202012Validator(rule_schema())
        for error in validator.iter_errors(data):
            # The compiler reports mistakes inside transform, fields and review values with their own messages.
            if error.validator == "anyOf" and error.absolute_path and error.absolute_path[0] in ("transform", "fields", "review"):
                continue
            self.problems.append(self._structure_problem(error))

    def _structure_problem(self, error: jsonschema.ValidationError) -> Problem:
        """Turn one rule-schema violation into a problem at the offending key, in plain words."""
        where = tuple(error.absolute_path)
        field = ".".join(map(str, where))
        label = field_label(where)

        if error.validator == "additionalProperties" and not where:
            unknown = [key for key in error.instance if key not in rule_schema()["properties"]]
            name = unknown[0] if unknown else ""
            hint = expressions.suggest(name, rule_schema()["properties"])
            return Problem(self.document.position((name,), key=True), str(name), "rule.unknown_section",
                           {"name": name, "suggestion": hint or "", "allowed": ", ".join(rule_schema()["properties"])})

        if error.validator == "required":
            missing = next((name for name in error.validator_value if name not in error.instance), "")
            if not where:
                return Problem(self.document.position(where), "", "rule.section_missing", {"name": missing})
            return Problem(self.document.position(where), field, "rule.key_missing", {"field": label, "name": missing})

        if "propertyNames" in error.relative_schema_path:
            # jsonschema reports a bad key name at its mapping, with the name as the instance.
            name = error.instance
            return Problem(self.document.position(where + (name,), key=True), f"{field}.{name}", "rule.bad_name", {"name": name})

        if error.validator == "anyOf" and error.context:
            chosen = _matching_branch_error(error)
            if chosen is not None:
                return self._structure_problem(chosen)

        position = self._structure_position(where, error.instance)

        if error.validator in ("type", "anyOf"):
            expected = _schema_types(error)
            found = _describe_value(error.instance)
            if "string" in expected and _is_scalar(error.instance):
                params = {"field": label, "text": _scalar_text(position), "found": found}
                return Problem(position, field, "rule.needs_quotes", params)
            params = {"field": label, "expected": _type_words(expected), "found": found,
                      "hint": _mapping_hint(error.instance, expected)}
            return Problem(position, field, "rule.bad_type", params)

        if error.validator == "pattern":
            params = {"field": label, "value": _display_text(error.instance), "expected": _pattern_help(error.validator_value)}
            return Problem(position, field, "rule.bad_pattern", params)

        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            name = next((key for key in error.instance if key not in known), "")
            hint = expressions.suggest(name, known)
            return Problem(self.document.position(where + (name,), key=True), f"{field}.{name}", "rule.unknown_key",
                           {"name": name, "suggestion": hint or "", "allowed": ", ".join(known)})

        violation = violation_from_schema_error(error)
        return Problem(position, field, violation.key, {**violation.params, "field": label})

    def _structure_position(self, where: tuple, instance: Any) -> Position:
        """Point at a scalar value itself, and at the key of a mapping or list, whose value starts a line below."""
        if where and isinstance(where[-1], str) and isinstance(instance, (dict, list)):
            return self.document.position(where, key=True)
        return self.document.position(where)

    # -- target and profile ------------------------------------------------------------------

    def _target(self, name: Any) -> Target | None:
        if not isinstance(name, str):
            return None

        path = find_target(name, self.folder)
        if path is None:
            known = available_targets(self.folder)
            hint = expressions.suggest(name, known)
            self._problem(("target",), "rule.unknown_target", {"name": name, "suggestion": hint or "", "allowed": ", ".join(known)})
            return None

        try:
            return load_target(path)
        except RuleError as error:
            self.problems.extend(error.problems)
            return None

    def _profile(self, name: Any, from_option: bool) -> Profile | None:
        if not isinstance(name, str):
            return None

        path = find_profile(name, self.folder)
        if path is None:
            known = available_profiles(self.folder)
            hint = expressions.suggest(name, known)
            if from_option:
                raise UsageError("rule.unknown_profile", name=name, suggestion=hint or "", allowed=", ".join(known))
            self._problem(("profile",), "rule.unknown_profile", {"name": name, "suggestion": hint or "", "allowed": ", ".join(known)})
            return None

        try:
            return load_profile(path)
        except RuleError as error:
            self.problems.extend(error.problems)
            return None

    # -- vars and tables ---------------------------------------------------------------------

    def _vars(self, declared: Any, overrides: Mapping[str, str]) -> dict[str, Any]:
        if not isinstance(declared, dict):
            return {}

        variables = {name: _normalise_number(value) for name, value in declared.items()}
        for name, value in variables.items():
            self.compiler._warn_curly_quotes(("vars", name), value)
        for name, text in overrides.items():
            if name not in variables:
                hint = expressions.suggest(name, variables)
                raise UsageError("rule.unknown_var_override", name=name, suggestion=hint or "", allowed=", ".join(variables) or "-")
            variables[name] = _parse_override(name, text, declared[name])
            _check_override(name, text, variables[name])

        if variables.get("cost_ranges") is not None:
            self._check_cost_ranges(variables["cost_ranges"], from_override="cost_ranges" in overrides)

        return variables

    def _check_cost_ranges(self, ranges: Any, from_override: bool) -> None:
        from etl.filters.money import check_cost_ranges

        if ranges is not None and not isinstance(ranges, list) and not from_override:
            return  # the structure check has reported it already
        try:
            check_cost_ranges(ranges)
        except DataError as error:
            if from_override:
                raise UsageError(error.key, **error.params) from None
            self._problem(("vars", "cost_ranges", error.params.get("index", 0)), error.key, dict(error.params))

    def _tables(self, declared: Any) -> dict[str, Any]:
        from etl.filters.tables import load_table
        from etl.filters.text import load_word_list

        tables: dict[str, Any] = {}
        if not isinstance(declared, dict):
            return tables

        for name, spec in declared.items():
            where = ("tables", name)
            if name in RESERVED_NAMES:
                self._problem(where, "rule.reserved_name", {"name": name})
                continue

            spec = {"path": spec} if isinstance(spec, str) else spec
            if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                continue  # the structure check has reported it

            self.table_names.append(name)

            path = self.folder / spec["path"]
            if not path.resolve().is_relative_to(self.folder.resolve()):
                # Rule files come from analysts; a table path must not read arbitrary files.
                self._problem(where, "rule.table_outside", {"path": spec["path"]})
                continue

            try:
                if path.suffix.lower() == ".txt":
                    tables[name] = load_word_list(path)
                    self._word_list_warnings(where, path)
                else:
                    tables[name] = load_table(path, spec.get("key_column"), spec.get("value_column"))
            except DataError as error:
                self._table_problems(where, path, error)

        return tables

    def _word_list_warnings(self, where: tuple, path: Path) -> None:
        """Warn about word-list lines that look like several words; single characters are left alone, since 最 is meant."""
        from etl.filters.tables import check_word_list

        lines = _read_lines(path)
        for line, key, params in check_word_list(path):
            if key == "table.single_character_word":
                continue
            source = lines[line - 1] if 0 < line <= len(lines) else None
            self.problems.append(Problem(Position(str(path), line, 1, source), _label(where), key, params, severity="warning"))

    def _table_problems(self, where: tuple, path: Path, error: DataError) -> None:
        rows = getattr(error, "problems", None)
        if not rows:
            self._problem(where, error.key, dict(error.params))
            return

        lines = _read_lines(path)
        for row in rows:
            line, key, params = row[0], row[1], row[2] if len(row) > 2 else {}
            source = lines[line - 1] if 0 < line <= len(lines) else None
            self.problems.append(Problem(Position(str(path), line, 1, source), _label(where), key, dict(params)))

    # -- transform and fields ----------------------------------------------------------------

    def _transforms(self, declared: Any, scope: Scope) -> tuple[tuple[str, Field], ...]:
        compiled = []
        if not isinstance(declared, dict):
            return ()

        for name, raw in declared.items():
            where = ("transform", name)
            if name in RESERVED_NAMES or name in scope.schemas:
                self._problem(where, "rule.reserved_name", {"name": name})
                continue
            if not isinstance(name, str) or not IDENTIFIER.match(name):
                continue  # the structure check has reported it

            node = self.compiler.value(where, raw, scope)
            compiled.append((name, node))
            scope.schemas[name] = schema_of_node(node)

        return tuple(compiled)

    def _fields(self, declared: Any, scope: Scope, target: Target | None) -> ObjectNode:
        if not isinstance(declared, dict):
            return ObjectNode(())

        known = target.fields if target is not None else ()
        items = []
        for name, raw in declared.items():
            where = ("fields", name)
            if target is not None and name not in known:
                hint = expressions.suggest(name, known)
                self.problems.append(Problem(self.document.position(where, key=True), f"fields.{name}", "rule.unknown_field",
                                            {"name": name, "target": target.name, "suggestion": hint or ""}))
            items.append((str(name), self.compiler.value(where, raw, scope)))

        if target is not None:
            for name in target.required:
                if name not in declared:
                    self._problem(("fields",), "rule.required_field_unset", {"name": name, "target": target.name})

        return ObjectNode(tuple(items), "fields")

    def _review(self, declared: Any, scope: Scope) -> tuple[tuple[str, Field], ...] | None:
        """Compile the optional ``review`` section, checking names, filters and attributes as in ``fields``."""
        if declared is None:
            return None
        if not isinstance(declared, dict):
            return ()  # the structure check has reported it

        compiled = []
        for name, raw in declared.items():
            if name not in REVIEW_PARTS:
                continue  # the structure check reports the unknown key with a suggestion
            compiled.append((name, self.compiler.value(("review", name), raw, scope)))
        return tuple(compiled)

    def _problem(self, where: tuple, key: str, params: dict) -> None:
        self.problems.append(Problem(self.document.position(where), _label(where), key, params))


def _scalar_text(position: Position) -> str:
    """Return the value as written on its line (up to a comment), to show how to quote it."""
    line = position.source_line or ""
    text = line[(position.column or 1) - 1:]
    return text.split(" #", 1)[0].strip()


# JSON Schema type names in the words an analyst reads.
_TYPE_WORDS = {
    "number": {"zh": "数字", "en": "a number"},
    "integer": {"zh": "整数", "en": "an integer"},
    "string": {"zh": "文本", "en": "text"},
    "boolean": {"zh": "是/否 (true/false)", "en": "true or false"},
    "null": {"zh": "空 (null)", "en": "null"},
    "array": {"zh": "列表", "en": "a list"},
    "object": {"zh": "键值表", "en": "a mapping of keys to values"},
}

# Every "pattern" in etl/schemas/rule.schema.json, described instead of shown as a regex.
# A test checks that each pattern of the schema has an entry here.
_PATTERN_HELP = {
    "^[A-Za-z_][A-Za-z0-9_]*$": {
        "zh": "只能用英文字母、数字和下划线，且不以数字开头",
        "en": "letters, digits and underscores only, not starting with a digit",
    },
    "^[0-9]*(\\.[0-9]{1,2})?$": {
        "zh": "形如 \".9\" 或 \"9.9\" 的价格尾数：数字，最多两位小数，要加英文引号",
        "en": "a price ending such as \".9\" or \"9.9\": digits with at most two decimals, in quotes",
    },
    "^[0-9-]{5,20}$": {
        "zh": "5 到 20 个数字或 -，例如 \"13800138000\" 或 \"0571-88886666\"，要加英文引号",
        "en": "5 to 20 digits or dashes, such as \"13800138000\" or \"0571-88886666\", in quotes",
    },
    "\\.(csv|txt)$": {
        "zh": "以 .csv（对照表）或 .txt（词表）结尾的文件路径",
        "en": "a file path ending in .csv (a mapping table) or .txt (a word list)",
    },
}


def _schema_types(error: jsonschema.ValidationError) -> list[str]:
    """Return the JSON types a ``type`` error, or an ``anyOf`` error of typed branches, accepts."""
    if error.validator == "type":
        expected = error.validator_value
        return [expected] if isinstance(expected, str) else list(expected)

    types: list[str] = []
    for branch in error.validator_value:
        branch_types = branch.get("type", [])
        for name in [branch_types] if isinstance(branch_types, str) else branch_types:
            if name not in types:
                types.append(name)
    return types


def _matching_branch_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError | None:
    """Return the first error of the ``anyOf`` branch whose type the value has, or None if none has.

    A value of the right type that fails its branch (a table path without .csv, a table
    mapping with a misspelt key) is best explained by that branch alone.
    """
    wrong_type = {sub.relative_schema_path[0] for sub in error.context
                  if sub.validator == "type" and len(sub.relative_schema_path) == 2}
    for sub in error.context:
        if sub.relative_schema_path[0] not in wrong_type:
            return sub
    return None


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, str)) and value is not None


def _display_text(value: Any) -> str:
    """Show a value as an analyst wrote it: true/false, null, plain numbers, JSON for mappings and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        from etl import jsonio

        try:
            text = jsonio.dumps(value)
        except (TypeError, ValueError):
            text = str(value)  # a date inside, which JSON cannot hold
        return text if len(text) <= 60 else text[:59] + "…"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# Kind words for a value found in the file, by its Python type.
_VALUE_KINDS = (
    (bool, {"zh": "是/否值", "en": "true/false"}),
    ((int, float, Decimal), {"zh": "数字", "en": "a number"}),
    (str, {"zh": "文本", "en": "text"}),
    (list, {"zh": "列表", "en": "a list"}),
    (dict, {"zh": "键值表", "en": "a mapping"}),
)


def _describe_value(value: Any) -> dict:
    """Describe a found value with its kind: 数字 13800138000 / 13800138000 (a number)."""
    display = _display_text(value)
    if value is None:
        return {"zh": "空值 null", "en": "null"}

    kind = next((words for types, words in _VALUE_KINDS if isinstance(value, types)), None)
    if kind is None and hasattr(value, "isoformat"):
        kind = {"zh": "日期", "en": "a date"}
    if kind is None:
        return {"zh": display, "en": display}

    return {"zh": f"{kind['zh']} {display}", "en": f"{display} ({kind['en']})"}


def _type_words(types: list[str]) -> dict:
    """Join JSON type names as words: ["number", "null"] → 数字或空 (null) / a number or null."""
    words = [_TYPE_WORDS.get(name, {"zh": name, "en": name}) for name in types]
    return {"zh": "或".join(word["zh"] for word in words), "en": " or ".join(word["en"] for word in words)}


def _pattern_help(pattern: str) -> dict:
    # NOTE: a pattern added to the schema without an entry in _PATTERN_HELP shows the regex in English only.
    return _PATTERN_HELP.get(pattern) or {"zh": "etl schema 里这一项的说明所要求的写法", "en": f"text matching {pattern}"}


def _mapping_hint(value: Any, expected: list[str]) -> dict:
    """Explain a text found where a mapping belongs when it is a ``key:value`` missing its space."""
    if "object" not in expected or not isinstance(value, str):
        return {"zh": "", "en": ""}

    match = re.match(r"\s*([^\s:\uff1a]+)([:\uff1a])(?! )", value)
    if match is None:
        return {"zh": "", "en": ""}

    written = value.strip()
    fixed = f"{match.group(1)}: {value[match.end():].strip()}"
    return {
        "zh": f"。看起来是冒号写错了：{written} 要写成 {fixed}（英文冒号加一个空格）",
        "en": f". The colon looks wrong: write {written} as {fixed}, with an ASCII colon and a space",
    }


def _label(where: tuple) -> str:
    return ".".join(str(part) for part in where)


def _read_lines(path: Path) -> list[str]:
    raw = path.read_bytes() if path.is_file() else b""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
    return []


def _object_schema(variables: Mapping[str, Any]) -> dict:
    return {"type": "object", "properties": {name: {} for name in variables}, "additionalProperties": False}


def _target_schema(target: Target | None) -> Any:
    if target is None:
        return None
    limits = {"type": "object", "properties": {name: {} for name in target.limits}, "additionalProperties": False}
    return {"type": "object", "properties": {"name": {}, "label": {}, "limits": limits}, "additionalProperties": False}


def _normalise_number(value: Any) -> Any:
    """YAML floats become Decimal through their text, so ``1.6`` is exactly ``Decimal("1.6")``."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _check_override(name: str, text: str, value: Any) -> None:
    """Hold an overridden var to the same rule-schema limits as the file (``markup`` above 0 ...)."""
    schema = rule_schema()["properties"]["vars"]["properties"].get(name)
    if schema is None:
        return

    errors = list(make_validator(schema).iter_errors(value))
    if errors:
        violation = violation_from_schema_error(errors[0])
        violation = Violation(name, violation.key, {**violation.params, "field": name})
        raise UsageError("rule.bad_override_value", name=name, value=text, reason={lang: violation.render(lang) for lang in ("zh", "en")})


EXPECTED_TRUE_FALSE = {"zh": "true 或 false", "en": "true / false"}
EXPECTED_NUMBER = {"zh": "数字，例如 1.8", "en": "a number such as 1.8"}
EXPECTED_YAML = {"zh": "YAML 写法的列表或键值表，例如 [{up_to: 10, markup: 2}]", "en": "a YAML list or mapping such as [{up_to: 10, markup: 2}]"}


def _parse_override(name: str, text: str, declared: Any) -> Any:
    """Read ``--set NAME=TEXT`` as the declared var's type: number, true/false, or text.

    A var declared ``null`` (an option that is off) takes the type the rule schema gives it, so
    ``--set compare_at_markup=1.3`` is a number, not the text "1.3".
    """
    if declared is None and text.strip().lower() in ("", "null", "none"):
        return None
    if declared is None:
        declared = _schema_example(name, text)

    if isinstance(declared, bool):
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise UsageError("rule.bad_override", name=name, value=text, expected=EXPECTED_TRUE_FALSE)
        return lowered == "true"

    if isinstance(declared, (int, float, Decimal)):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise UsageError("rule.bad_override", name=name, value=text, expected=EXPECTED_NUMBER) from None
        if not number.is_finite():
            raise UsageError("rule.bad_override", name=name, value=text, expected=EXPECTED_NUMBER)
        return int(number) if isinstance(declared, int) and number == number.to_integral_value() else number

    if isinstance(declared, (list, dict)):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError("rule.bad_override", name=name, value=text, expected=EXPECTED_YAML) from None

    return text


def _schema_example(name: str, text: str) -> Any:
    """Return a value of the type the rule schema declares for var ``name``, for parsing an override of a var declared null."""
    if text.strip()[:1] in ("[", "{"):
        return []  # a list or mapping, such as cost_ranges

    declared = rule_schema().get("properties", {}).get("vars", {}).get("properties", {}).get(name, {})
    types = declared.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if "string" in types:
        return None  # text wins, so a category id such as "20000" stays text
    if "integer" in types:
        return 0
    if "number" in types:
        return Decimal(0)
    if "boolean" in types:
        return False
    return None
