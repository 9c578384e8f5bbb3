"""``report.json``: one entry per offer with its status and, for failures, a reason a person can act on."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from etl import jsonio
from etl.ids import IdsFile
from etl.messages import render
from etl.rules import Rule
from etl.runner import Batch, OfferResult


def offer_entry(result: OfferResult, lang: str) -> dict[str, Any]:
    """Build the report entry of one offer, with the reason in ``lang`` and ``error_code`` as the stable message key."""
    entry: dict[str, Any] = {"offer_id": result.offer_id, "status": result.status}
    if result.ok:
        entry["output"] = result.output
        return entry

    error = result.error
    entry["step"] = error.step
    if error.field:
        entry["field"] = error.field
    if error.sku_index is not None:
        entry["sku_index"] = error.sku_index
    entry["error_code"] = error.key
    entry["reason"] = error.render(lang)
    if result.removed_stale_output:
        entry["removed_stale_output"] = True

    if error.violations:
        entry["violations"] = [{"field": item.field, "reason": item.render(lang)} for item in error.violations]
    return entry


def build_report(rule: Rule, ids: IdsFile, batch: Batch, started: datetime, lang: str) -> dict[str, Any]:
    """Assemble the whole report; timestamps are UTC in ISO 8601."""
    return {
        "rule": rule.path,
        "target": rule.target.name,
        "profile": rule.profile.name,
        "vars": dict(rule.vars),
        "ids_file": ids.path,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "summary": {"total": len(batch.results), "ok": batch.ok, "failed": batch.failed},
        "interrupted": batch.interrupted,
        "ids_problems": [
            {"line": line.line, "text": line.text, "error_code": line.key, "reason": render(line.key, lang, **line.params)}
            for line in ids.problems
        ],
        "offers": [offer_entry(result, lang) for result in batch.results],
    }


def write_report(folder: str | Path, report: dict[str, Any]) -> Path:
    path = Path(folder) / "report.json"
    jsonio.write_atomic(path, jsonio.dumps(report, indent=2) + "\n")
    return path
