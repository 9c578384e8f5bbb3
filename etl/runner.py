"""Run a compiled rule over a batch of offer ids: source → rule → output, one offer at a time.

The runner never prints. It streams offers through :meth:`etl.rules.Rule.apply`, hands every
payload to a sink, and returns one :class:`OfferResult` per offer; one bad offer fails alone.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from etl import jsonio
from etl.errors import OfferError, UsageError
from etl.rules import Rule
from etl.sources import Source


@dataclass
class OfferResult:
    """The outcome of one offer: ok with its output file, or failed with its error."""

    offer_id: str
    status: str  # "ok" (file written) or, with --publish, "created", "updated", "unchanged"; else "failed"
    output: str | None = None
    error: OfferError | None = None
    removed_stale_output: bool = False  # a payload from an earlier run was deleted because the offer failed now
    product_id: str | None = None  # the platform product id after --publish
    entry: dict | None = None  # the review entry (etl.review_entry), when the run builds one
    dropped_images: tuple = ()  # (field, URL) of detail images left out because the source no longer serves them

    @property
    def ok(self) -> bool:
        return self.status != "failed"


WRITE_LOG = ".etl-written"  # one line per payload file ever written here: target, tab, file name


class FileSink:
    """Write each payload to ``OUT/<offer_id>.json`` atomically, touching only files this tool wrote.

    The folder's previous ``report.json`` lists which files an earlier run wrote and for which
    target. A file the report does not list (a saved 1688 response, say) is never overwritten or
    deleted, and payloads of another target are not mixed in.
    """

    def __init__(self, folder: str | Path, target: str | None = None) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UsageError("output.not_folder", path=str(self.folder))

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError("output.cannot_create", path=str(self.folder), detail=error.strerror or str(error)) from None

        self.target = target or "-"
        self.ours = set(self._previous_outputs(target)) | self._written_before(target)
        self._lock = threading.Lock()

    def _written_before(self, target: str | None) -> set[str]:
        """Names from the write log, which covers payloads of runs stopped before their report."""
        log_path = self.folder / WRITE_LOG
        if not log_path.is_file():
            return set()

        names = set()
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            written_for, _, name = line.partition("\t")
            if target is not None and written_for not in (target, "-"):
                raise UsageError("output.other_target", path=str(self.folder), found=written_for, target=target)
            names.add(name)
        return names

    def _previous_outputs(self, target: str | None) -> frozenset[str]:
        """Names of payload files the folder's previous report lists; refuse a folder of another target."""
        report = self.folder / "report.json"
        if report.exists() and not report.is_file():
            raise UsageError("output.report_not_file", path=str(report))
        if not report.is_file():
            return frozenset()

        try:
            previous = jsonio.loads(report.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise UsageError("output.report_unreadable", path=str(report)) from None

        if target is not None and previous.get("target") not in (None, target):
            raise UsageError("output.other_target", path=str(self.folder), found=previous.get("target"), target=target)

        offers = previous.get("offers") or []
        return frozenset(Path(entry["output"]).name for entry in offers if isinstance(entry, dict) and entry.get("output"))

    def path(self, offer_id: str) -> Path:
        return self.folder / f"{offer_id}.json"

    def write(self, offer_id: str, payload: Any) -> str:
        path = self.path(offer_id)
        if path.exists() and path.name not in self.ours:
            raise OfferError("output.foreign_file", step="output", offer_id=offer_id, path=str(path))

        try:
            self._log_write(path.name)
            jsonio.write_atomic(path, jsonio.dumps(payload, indent=2) + "\n")
        except OSError as error:
            raise OfferError("output.write_failed", step="output", offer_id=offer_id, path=str(path), detail=error.strerror or str(error)) from None
        return str(path)

    def _log_write(self, name: str) -> None:
        """Record a payload name before writing it, so an interrupted run's files stay recognisably ours.

        Names written in this run are not added to ``ours``: ids are deduplicated, so no offer is
        written twice in a run, and the set would otherwise grow with the batch.
        """
        with self._lock:
            if name in self.ours:
                return
            with open(self.folder / WRITE_LOG, "a", encoding="utf-8") as stream:
                stream.write(f"{self.target}\t{name}\n")

    def discard(self, offer_id: str) -> bool:
        """Remove the payload an earlier run wrote for an offer that failed now; return whether one existed.

        A stale payload beside a report entry marked "failed" would be uploaded by anything that
        takes every ``*.json`` in the folder. Files the previous report does not list are kept.
        """
        path = self.path(offer_id)
        if path.name not in self.ours or not path.is_file():
            return False
        path.unlink()
        return True


@dataclass
class Batch:
    """Counts of a finished run, and its results when the caller asked to keep them."""

    results: list[OfferResult] = field(default_factory=list)  # empty unless run_batch(keep_results=True)
    counts: Counter = field(default_factory=Counter)  # offers per status
    interrupted: bool = False  # stopped by Ctrl-C; the counts cover the offers finished before

    def add(self, result: OfferResult, keep: bool) -> None:
        self.counts[result.status] += 1
        if keep:
            self.results.append(result)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    @property
    def ok(self) -> int:
        return self.total - self.failed


def run_offer(rule: Rule, source: Source, sink: FileSink, offer_id: str, review: Callable | None = None) -> OfferResult:
    """Fetch, map, validate, write and publish one offer; failures come back as a failed result.

    ``review(result, trace)`` builds the offer's review entry from the result and what the rule
    computed (:class:`etl.rules.Trace`, partial for a failed offer, ``None`` when nothing was fetched).
    """
    traced = None
    try:
        raw = source.fetch(offer_id)
        traced = rule.trace(raw, offer_id)
        if traced.error is not None:
            raise traced.error
        output = sink.write(offer_id, traced.payload)
        published = sink.publish(offer_id, traced.payload) if hasattr(sink, "publish") else None
    except OfferError as error:
        result = _failed(error, source, sink, offer_id)
    else:
        result = OfferResult(offer_id, "ok", output=output)
        if published is not None:
            result = OfferResult(offer_id, published.status, output=output, product_id=published.product_id,
                                 dropped_images=published.dropped_images)

    if review is not None:
        result.entry = review(result, traced)
    return result


def _failed(error: OfferError, source: Source, sink: FileSink, offer_id: str) -> OfferResult:
    error.offer_id = error.offer_id or offer_id
    for holder in (source, sink):
        redactor = getattr(holder, "redactor", None)
        if redactor is not None:
            # A server may echo a secret in an error message; nothing unredacted reaches the report.
            error.params = {name: _redacted(redactor, value) for name, value in error.params.items()}
    # A payload file stays when only its upload failed: it is this run's valid mapping.
    removed = error.step not in ("output", "publish", "images") and sink.discard(offer_id)
    return OfferResult(offer_id, "failed", error=error, removed_stale_output=removed)


def run_batch(
    rule: Rule,
    offer_ids: Iterable[str],
    source: Source,
    sink: FileSink,
    on_result: Callable[[OfferResult], None] | None = None,
    workers: int = 1,
    keep_results: bool = True,
    review: Callable | None = None,
) -> Batch:
    """Run every offer id, passing each result to ``on_result`` as it completes.

    With ``workers`` above 1, offers run in a thread pool (the work is network-bound; the rule
    is immutable and safe to share). Results keep the order of ``offer_ids`` either way, and at
    most ``workers * 4`` offers are in flight, so a long ids file is streamed, not loaded. With
    ``keep_results`` false only counts stay in memory; ``on_result`` is then the only record.
    """
    batch = Batch()
    pipeline = _Pipeline(rule, source, sink, workers, review)
    try:
        for result in pipeline.run(offer_ids):
            batch.add(result, keep_results)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        batch.interrupted = True
        # Offers already running finish (their payload files are written), so they are listed too.
        for result in pipeline.finished_after_interrupt:
            batch.add(result, keep_results)
            if on_result is not None:
                on_result(result)
    return batch


def _redacted(redactor, value: Any) -> Any:
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {key: _redacted(redactor, item) for key, item in value.items()}
    return value


class _Pipeline:
    """Run offers in order, in a bounded thread pool when ``workers`` is above 1."""

    def __init__(self, rule: Rule, source: Source, sink: FileSink, workers: int, review: Callable | None = None) -> None:
        self.rule, self.source, self.sink, self.workers, self.review = rule, source, sink, workers, review
        self.finished_after_interrupt: list[OfferResult] = []

    def run(self, offer_ids: Iterable[str]) -> Iterator[OfferResult]:
        if self.workers <= 1:
            for offer_id in offer_ids:
                yield run_offer(self.rule, self.source, self.sink, offer_id, self.review)
            return

        window = self.workers * 4
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="etl-offer")
        pending: deque = deque()
        try:
            for offer_id in offer_ids:
                pending.append(pool.submit(run_offer, self.rule, self.source, self.sink, offer_id, self.review))
                if len(pending) >= window:
                    yield self._next(pending)

            while pending:
                yield self._next(pending)
        except KeyboardInterrupt:
            self._stop(pool, pending)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _next(pending: deque) -> OfferResult:
        # Wait before removing, so an offer being waited on when Ctrl-C arrives is still listed.
        result = pending[0].result()
        pending.popleft()
        return result

    def _stop(self, pool: ThreadPoolExecutor, pending: deque) -> None:
        """Drop offers not started, make waiting requests give up, and keep what finished."""
        for future in pending:
            future.cancel()

        for holder in (self.source, self.sink):
            stop = getattr(holder, "stop", None)
            if stop is not None:
                stop()

        pool.shutdown(wait=True)
        self.finished_after_interrupt = [future.result() for future in pending if not future.cancelled()]
