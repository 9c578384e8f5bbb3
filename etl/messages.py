"""The message catalogue: every text a user reads, in Simplified Chinese and English.

Messages live in ``etl/catalog/*.yaml`` as ``key: {zh: ..., en: ...}`` with ``str.format``
placeholders. A key missing in either language is a packaging error, caught by the tests.
"""

from __future__ import annotations

import locale
import os
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """Load and merge all catalogue files; a key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("etl") / "catalog"

    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".yaml"):
            continue

        part = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for key, texts in part.items():
            if key in merged:
                raise RuntimeError(f"message key {key!r} is defined twice; second time in {entry.name}")
            merged[key] = texts

    return merged


def render(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """Return the message ``key`` in ``lang`` with ``params`` filled in.

    An unknown key or a missing placeholder never hides the error being reported: the key
    and parameters are returned as they are instead.
    """
    texts = catalog().get(key)
    if texts is None:
        return f"{key} {params}" if params else key

    template = texts.get(lang) or texts.get("en") or key
    params = {name: _shown(value, lang) for name, value in params.items()}
    params.setdefault("suggestion_text", _did_you_mean(params.get("suggestion"), lang))
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{template} {params}"


def detect_language(explicit: str | None = None) -> str:
    """Choose the user's language: ``--lang``, then ``ETL_LANG``, then an English locale, else Chinese."""
    if explicit:
        return explicit if explicit in LANGUAGES else DEFAULT_LANGUAGE

    chosen = os.environ.get("ETL_LANG")
    if chosen in LANGUAGES:
        return chosen

    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LANGUAGE

    current = locale.getlocale()[0] or ""
    return "en" if current.lower().startswith("en") else DEFAULT_LANGUAGE


def _shown(value: Any, lang: str) -> Any:
    """Prepare a parameter for display: a ``{"zh": ..., "en": ...}`` text picks ``lang``."""
    if isinstance(value, Decimal):
        return _DecimalText(value)
    if isinstance(value, dict) and value and set(value) <= set(LANGUAGES):
        return value.get(lang) or value.get("en") or ""
    return value


class _DecimalText(str):
    """A Decimal shown as its digits, also through ``{value!r}`` (not ``Decimal('19.90')``)."""

    def __repr__(self) -> str:
        return str(self)


def _did_you_mean(suggestion: Any, lang: str) -> str:
    """Build the "did you mean" clause that messages with a ``{suggestion_text}`` placeholder append."""
    if not suggestion:
        return ""
    return f"（是不是要写 {suggestion}？）" if lang == "zh" else f" (did you mean {suggestion}?)"
