"""``report.json``: one entry per offer with its status and, for failures, a reason a person can act on."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
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
    review = result.entry or {}
    if result.ok:
        entry["output"] = result.output
        if result.product_id is not None:
            entry["product_id"] = result.product_id
        _add_review_parts(entry, review)
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
    _add_review_parts(entry, review)
    return entry


def _add_review_parts(entry: dict[str, Any], review: dict[str, Any]) -> None:
    """Copy the review entry's warnings and changes since the last good run into the report entry, when there are any."""
    if review.get("warnings"):
        entry["warnings"] = review["warnings"]
    if review.get("changes"):
        entry["changes"] = review["changes"]


def report_header(rule: Rule, ids: IdsFile, batch: Batch, started: datetime, lang: str) -> dict[str, Any]:
    """Assemble everything in the report but the offers; timestamps are UTC in ISO 8601."""
    return {
        "rule": rule.path,
        "target": rule.target.name,
        "profile": rule.profile.name,
        "vars": dict(rule.vars),
        "ids_file": ids.path,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "summary": _summary(batch),
        "interrupted": batch.interrupted,
        "ids_problems": [
            {"line": line.line, "text": line.text, "error_code": line.key, "reason": render(line.key, lang, **line.params)}
            for line in ids.problems
        ],
    }


def _summary(batch: Batch) -> dict[str, int]:
    """Count offers by outcome; ``created``, ``updated`` and ``unchanged`` appear only after ``--publish``."""
    summary = {"total": batch.total, "ok": batch.ok, "failed": batch.failed}
    for status in ("created", "updated", "unchanged"):
        if batch.counts[status]:
            summary[status] = batch.counts[status]
    return summary


class ReportWriter:
    """Write ``report.json`` without keeping the offers in memory.

    Entries go to a spool file as offers finish; :meth:`finish` writes the header and copies the
    entries after it, then replaces ``report.json`` in one step, so a reader never sees half a report.
    """

    def __init__(self, folder: str | Path, lang: str) -> None:
        self.folder = Path(folder)
        self.lang = lang
        handle, spool = tempfile.mkstemp(prefix=".report-entries.", suffix=".tmp", dir=self.folder)
        self.spool_path = Path(spool)
        self.spool = os.fdopen(handle, "w", encoding="utf-8")
        self.count = 0

    def add(self, result: OfferResult) -> None:
        text = jsonio.dumps(offer_entry(result, self.lang), indent=2)
        self.spool.write(("" if self.count == 0 else ",\n") + textwrap.indent(text, "    "))
        self.count += 1

    def finish(self, header: dict[str, Any]) -> Path:
        """Write the report with ``header`` first and the offers in the order they were added; return its path."""
        self.spool.close()
        head = jsonio.dumps({**header, "offers": []}, indent=2)
        opening, closing = head.rsplit('"offers": []', 1)

        path = self.folder / "report.json"
        try:
            with jsonio.atomic_writer(path) as stream, open(self.spool_path, encoding="utf-8") as entries:
                stream.write(opening + '"offers": [' + ("\n" if self.count else ""))
                shutil.copyfileobj(entries, stream)
                stream.write(("\n  ]" if self.count else "]") + closing + "\n")
        finally:
            self.spool_path.unlink(missing_ok=True)
        return path

    def discard(self) -> None:
        self.spool.close()
        self.spool_path.unlink(missing_ok=True)
