"""Review entries during a run: build one per offer and list what changed since the offer's last good run.

:class:`Reviewer` is the runner's ``review`` hook. It runs in worker threads, builds the entry
with :func:`etl.review_entry.build_entry`, compares its snapshot with the one the state store
kept from the previous successful run of the same scope, and stores the new snapshot when the
offer succeeded. A scope is one output folder (without ``--publish``) or one shop of a target
(with it), so changes are always against what that folder or shop last received.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl.messages import render
from etl.review_entry import build_entry, diff, snapshot
from etl.runner import OfferResult
from etl.state import StateStore


def files_scope(target: str, out_folder: str | Path) -> str:
    return f"files/{target}/{Path(out_folder).resolve()}"


def publish_scope(target: str, shop: str) -> str:
    return f"publish/{target}/{shop}"


class Reviewer:
    """Build review entries in ``lang`` for offers of one rule, with changes against ``scope`` in ``store``."""

    def __init__(self, limits: Any, lang: str, store: StateStore | None, scope: str) -> None:
        self.limits = limits
        self.lang = lang
        self.store = store
        self.scope = scope

    def __call__(self, result: OfferResult, traced: Any) -> dict[str, Any]:
        entry = build_entry(result.offer_id, result.status, mapped=traced, error=result.error, lang=self.lang,
                            output=result.output, product_id=result.product_id, limits=self.limits)
        for field, url in result.dropped_images:
            entry["warnings"].append({"code": "warning.image_dropped", "field": field,
                                      "message": render("warning.image_dropped", self.lang, url=url, field=field)})
        if self.store is None or not result.ok:
            return entry

        current = snapshot(entry)
        entry["changes"] = diff(self.store.snapshot(self.scope, result.offer_id), current)
        self.store.record_snapshot(self.scope, result.offer_id, current)
        return entry
