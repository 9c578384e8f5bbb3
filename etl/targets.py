"""Targets as data: ``targets/<platform>/target.yaml`` plus the payload JSON Schema it names.

A target definition contains the payload schema, the documented limits (title width, image counts)
that rule files read as ``target.limits``, and cross-field checks the schema cannot express
(aligned SKU lists, stock sums, Douyin's spec matrix). Adding a platform means adding a folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from etl.errors import Position, Problem, RuleError
from etl.paths import data_dir
from etl.yamlfile import load_yaml

TARGET_KEYS = ("name", "label", "description", "payload_schema", "limits", "checks", "api", "notes")
CHECK_TYPES = ("same_count", "sum_equals", "spec_matrix", "price_within", "max_items_total")


@dataclass(frozen=True)
class Target:
    """A loaded target: payload schema, limits and checks."""

    name: str
    folder: Path
    label: Mapping[str, str]
    schema: Mapping[str, Any]
    limits: Mapping[str, Any]
    checks: tuple[Mapping[str, Any], ...]
    api: str | None = None  # file name of the publishing API definition beside target.yaml

    @property
    def fields(self) -> tuple[str, ...]:
        """Top-level payload field names the schema declares."""
        return tuple(self.schema.get("properties", {}))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.schema.get("required", ()))


def target_folders(near: Path | None = None) -> list[Path]:
    """Folders that may hold ``<name>/target.yaml``: beside the rules folder first, then the bundled ones."""
    folders = []
    if near is not None:
        folders.append(near.parent / "targets")
    folders.append(data_dir("targets"))
    return [folder for folder in folders if folder.is_dir()]


def available_targets(near: Path | None = None) -> list[str]:
    names = set()
    for folder in target_folders(near):
        names.update(path.parent.name for path in folder.glob("*/target.yaml"))
    return sorted(names)


def find_target(name: str, near: Path | None = None) -> Path | None:
    for folder in target_folders(near):
        candidate = folder / name / "target.yaml"
        if candidate.is_file():
            return candidate
    return None


def load_target(path: str | Path) -> Target:
    """Load a target definition; raise :class:`RuleError` naming the file and line of each problem."""
    document = load_yaml(path)
    data = document.data if isinstance(document.data, dict) else {}
    problems: list[Problem] = []

    for key in data:
        if key not in TARGET_KEYS:
            problems.append(Problem(document.position((key,), key=True), str(key), "target.unknown_key", {"key": key, "allowed": ", ".join(TARGET_KEYS)}))

    schema_name = data.get("payload_schema")
    schema: dict = {}
    if not isinstance(schema_name, str):
        problems.append(Problem(document.position(("payload_schema",)), "payload_schema", "target.schema_missing", {}))
    else:
        schema = _load_schema(Path(path).parent / schema_name, problems)

    checks = data.get("checks") or []
    for index, check in enumerate(checks):
        if not isinstance(check, dict) or check.get("type") not in CHECK_TYPES:
            problems.append(Problem(document.position(("checks", index)), f"checks[{index}]", "target.bad_check", {"allowed": ", ".join(CHECK_TYPES)}))

    if problems:
        raise RuleError(problems)

    return Target(
        name=str(data.get("name") or Path(path).parent.name),
        folder=Path(path).parent,
        label=MappingProxyType(dict(data.get("label") or {})),
        schema=schema,
        limits=MappingProxyType(dict(data.get("limits") or {})),
        checks=tuple(MappingProxyType(dict(check)) for check in checks),
        api=str(data["api"]) if data.get("api") else None,
    )


def _load_schema(path: Path, problems: list[Problem]) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(Position(str(path)), "payload_schema", "target.schema_file_missing", {"path": str(path)}))
    except json.JSONDecodeError as error:
        problems.append(Problem(Position(str(path), error.lineno, error.colno), "payload_schema", "target.schema_bad_json", {"detail": error.msg}))
    return {}
