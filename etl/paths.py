"""Locations of bundled data: ``etl/_data`` in an installed wheel, the repository root in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the bundled folder ``name`` (``rules``, ``targets`` or ``samples``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed

    return _PACKAGE.parent / name
