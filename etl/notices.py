"""Notices: findings about one offer that do not fail it (a truncated title, removed banned words ...).

A filter calls :func:`notice` where it changes or guesses something a reviewer should see.
:meth:`etl.rules.Rule.map_record` opens a :func:`collect` block around each offer and returns the
notices with the result. Outside such a block :func:`notice` only reads a context variable and
returns, so the filters cost the same as before when nothing collects (the hand-written benchmark
baseline and direct calls in tests).

The collector lives in a ``contextvars.ContextVar``, not in a global, so offers mapped at the same
time in threads each collect their own notices.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
import dataclasses
from typing import Any, Iterator, Mapping


@dataclasses.dataclass(frozen=True)
class Notice:
    """One finding: a catalogue message key, its params, and the rule field being evaluated."""

    key: str
    field: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def render(self, lang: str = "zh") -> str:
        """Render the message in ``lang``, writing a list param such as removed words as "a、b" or "a, b"."""
        from etl.messages import render

        separator = "、" if lang == "zh" else ", "
        params = {
            name: separator.join(str(item) for item in value) if isinstance(value, (list, tuple)) else value
            for name, value in self.params.items()
        }
        return render(self.key, lang, **params)


class Collector:
    """The notices of one offer. ``field`` is the rule field being evaluated, set by the mapper."""

    __slots__ = ("notices", "field")

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.field: str | None = None

    def add(self, key: str, field: str | None, params: dict[str, Any]) -> None:
        self.notices.append(Notice(key, field if field is not None else self.field, params))

    def unique(self) -> tuple[Notice, ...]:
        """Return the notices in order, each (key, params) once.

        The same filter can run twice on the same value, for example when a review expression
        repeats a lookup that a transform already made. The reviewer needs to read it once.
        """
        seen = set()
        result = []
        for item in self.notices:
            identity = (item.key, repr(sorted(item.params.items())))
            if identity not in seen:
                seen.add(identity)
                result.append(item)
        return tuple(result)


_current: ContextVar[Collector | None] = ContextVar("etl_notices", default=None)


def notice(key: str, /, field: str | None = None, **params: Any) -> None:
    """Record a notice for the offer being mapped, or do nothing when no :func:`collect` block is open.

    ``key`` is a catalogue message key and ``params`` fill its placeholders. Without ``field``
    the notice gets the rule field the mapper is evaluating.
    """
    collector = _current.get()
    if collector is not None:
        collector.add(key, field, params)


def collecting() -> bool:
    """Tell whether a :func:`collect` block is open, so a filter can skip work only a notice needs."""
    return _current.get() is not None


@contextmanager
def collect() -> Iterator[Collector]:
    """Collect the notices raised inside the block, in this context only; blocks may nest."""
    collector = Collector()
    token = _current.set(collector)
    try:
        yield collector
    finally:
        _current.reset(token)
