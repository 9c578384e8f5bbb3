"""Error types shared by every pipeline stage.

Every error carries a message key from the catalogue (``etl/catalog/*.yaml``) and its
parameters, so the CLI can render it in Chinese or English. Positions and ids are structured
fields, never baked into the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def field_label(parts) -> str:
    """Write a path of keys and list indices as a field label: ``("skus", 3, "price")`` → ``skus[3].price``."""
    label = ""
    for part in parts:
        if isinstance(part, int):
            label += f"[{part}]"
        else:
            label = f"{label}.{part}" if label else str(part)
    return label


class EtlError(Exception):
    """Base of all errors this package raises on purpose.

    ``key`` names a catalogue message; ``params`` fills its placeholders.
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def render(self, lang: str = "zh") -> str:
        from etl.messages import render

        return render(self.key, lang, **self.params)

    def __str__(self) -> str:
        from etl.messages import render

        return render(self.key, "en", **self.params)


class DataError(EtlError, ValueError):
    """A value in one offer is unusable (bad price, unmapped category, ...).

    Filters raise it; the mapping stage adds the offer id, step and field and turns it into
    an :class:`OfferError`, so one bad offer fails alone.
    """


class UsageError(EtlError):
    """The command line or an input file cannot be used at all (exit status 2)."""


@dataclass(frozen=True)
class Position:
    """A place in a text file: 1-based line and column, plus the line's text for the caret."""

    path: str
    line: int | None = None
    column: int | None = None
    source_line: str | None = None


@dataclass
class Problem:
    """One rule-file problem: where, which field, and the catalogue message."""

    position: Position
    field: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"

    def render(self, lang: str = "zh") -> str:
        from etl.messages import render

        return render(self.key, lang, **self.params)


class RuleError(EtlError):
    """A rule file, profile, table or target definition has errors; all are listed in ``problems``."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("rule.invalid", count=len(problems))
        self.problems = problems


class OfferError(EtlError):
    """One offer failed at ``step`` (extract, transform, fields, validate, source, ...).

    ``field`` is the rule or record field involved and ``sku_index`` the 0-based SKU row where
    known.
    """

    def __init__(
        self,
        key: str,
        /,
        *,
        step: str,
        offer_id: str | None = None,
        field: str | None = None,
        sku_index: int | None = None,
        params: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(key, **{**(params or {}), **extra})
        self.step = step
        self.offer_id = offer_id
        self.field = field
        self.sku_index = sku_index
        self.violations: list = []  # schema violations behind validate.failed and extract.record_invalid

    def render(self, lang: str = "zh") -> str:
        """Render the message, followed by every violation when there are any."""
        text = super().render(lang)
        if not self.violations:
            return text
        separator = "；" if lang == "zh" else "; "
        return text + ("：" if lang == "zh" else ": ") + separator.join(item.render(lang) for item in self.violations)
