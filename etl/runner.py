"""Run a compiled rule over a batch of offer ids: source → rule → output, one offer at a time.

The runner never prints. It streams offers through :meth:`etl.rules.Rule.apply`, hands every
payload to a sink, and returns one :class:`OfferResult` per offer; one bad offer fails alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from etl import jsonio
from etl.errors import OfferError, UsageError
from etl.rules import Rule
from etl.sources import Source


@dataclass
class OfferResult:
    """The outcome of one offer: ok with its output file, or failed with its error."""

    offer_id: str
    status: str  # "ok" or "failed"
    output: str | None = None
    error: OfferError | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class FileSink:
    """Write each payload to ``OUT/<offer_id>.json`` atomically."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UsageError("output.not_folder", path=str(self.folder))

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError("output.cannot_create", path=str(self.folder), detail=error.strerror or str(error)) from None

    def write(self, offer_id: str, payload: Any) -> str:
        path = self.folder / f"{offer_id}.json"
        jsonio.write_atomic(path, jsonio.dumps(payload, indent=2) + "\n")
        return str(path)


@dataclass
class Batch:
    results: list[OfferResult] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(1 for result in self.results if result.ok)

    @property
    def failed(self) -> int:
        return len(self.results) - self.ok


def run_offer(rule: Rule, source: Source, sink: FileSink, offer_id: str) -> OfferResult:
    """Fetch, map, validate and write one offer; failures come back as a failed result."""
    try:
        raw = source.fetch(offer_id)
        mapped = rule.apply(raw, offer_id)
    except OfferError as error:
        error.offer_id = error.offer_id or offer_id
        return OfferResult(offer_id, "failed", error=error)

    output = sink.write(offer_id, mapped.payload)
    return OfferResult(offer_id, "ok", output=output)


def run_batch(
    rule: Rule,
    offer_ids: Iterable[str],
    source: Source,
    sink: FileSink,
    on_result: Callable[[OfferResult], None] | None = None,
) -> Batch:
    """Run every offer id in order, passing each result to ``on_result`` as it completes."""
    batch = Batch()
    for offer_id in offer_ids:
        result = run_offer(rule, source, sink, offer_id)
        batch.results.append(result)
        if on_result is not None:
            on_result(result)
    return batch
