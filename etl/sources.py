"""Sources of raw 1688 responses. Replay reads saved bodies from ``DIR/<offer_id>.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from etl import jsonio
from etl.errors import OfferError, UsageError


class Source(Protocol):
    def fetch(self, offer_id: str) -> Any:
        """Return the raw response for ``offer_id`` or raise :class:`OfferError` with step ``source``."""


class ReplaySource:
    """Saved responses, one file per offer, exactly as the API returned them."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise UsageError("source.folder_missing", path=str(self.folder))

    def fetch(self, offer_id: str) -> Any:
        path = self.folder / f"{offer_id}.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise OfferError("source.not_saved", step="source", offer_id=offer_id, path=str(path)) from None
        except OSError as error:
            raise OfferError("source.unreadable", step="source", offer_id=offer_id, path=str(path), detail=error.strerror or str(error)) from None

        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise OfferError("source.not_utf8", step="source", offer_id=offer_id, path=str(path), offset=error.start) from None

        try:
            return jsonio.loads(text)
        except json.JSONDecodeError as error:
            raise OfferError("source.bad_json", step="source", offer_id=offer_id, path=str(path), line=error.lineno, column=error.colno, detail=error.msg) from None
