"""Progress of a batch: a bar on a terminal, a plain line every few seconds elsewhere.

Failed offers are printed as they happen, up to :data:`MAX_PRINTED_FAILURES`; the rest are
counted, and ``report.json`` keeps every reason.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import click
from tqdm import tqdm

from etl.messages import render

MAX_PRINTED_FAILURES = 50
LINE_INTERVAL = 10.0  # seconds between plain progress lines when stderr is not a terminal


class Progress:
    """Receive each offer result; show done / failed / retrying and the rate in offers per second."""

    def __init__(self, lang: str, total: int, describe_failure: Callable, retries: Callable[[], int] = lambda: 0,
                 interactive: bool | None = None) -> None:
        self.lang = lang
        self.total = total
        self.describe_failure = describe_failure
        self.retries = retries
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.last_line = self.started
        interactive = sys.stderr.isatty() if interactive is None else interactive
        self.bar = tqdm(total=total, unit=render("progress.unit", lang), file=sys.stderr, dynamic_ncols=True, leave=True) if interactive else None

    def __call__(self, result) -> None:
        self.done += 1
        if not result.ok:
            self.failed += 1
            if self.failed <= MAX_PRINTED_FAILURES:
                self._write(self.describe_failure(result, self.lang))

        if self.bar is not None:
            self.bar.set_postfix_str(render("progress.postfix", self.lang, failed=self.failed, retries=self.retries()), refresh=False)
            self.bar.update(1)
        elif time.monotonic() - self.last_line >= LINE_INTERVAL:
            self.last_line = time.monotonic()
            click.echo(self._line(), err=True)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
        hidden = self.failed - MAX_PRINTED_FAILURES
        if hidden > 0:
            click.echo(render("cli.more_failures", self.lang, count=hidden), err=True)

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return render("progress.line", self.lang, done=self.done, total=self.total, failed=self.failed,
                      retries=self.retries(), rate=f"{self.done / elapsed:.1f}")

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)
