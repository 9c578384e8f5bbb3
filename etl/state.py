"""The state store: what was published where, which images were re-hosted, and what each offer looked like last time.

SQLite, one file (``--state``, default ``.etl/state.sqlite`` in the working folder). The platform
is the source of truth; this store is its cache. It holds, per (target, shop, offer id), the
platform product id, the payload hash, the status, the last error and timestamps, and a claim
that stops two runs from publishing the same offer at once. Every write commits at once, so a
crash loses at most the call in flight, and the intent to create is on disk before the create.

Safe to share between threads of one run (one connection per thread) and between processes
(SQLite's own locking; claims are taken in ``BEGIN IMMEDIATE`` transactions).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from etl.errors import UsageError

SCHEMA_VERSION = 1
DEFAULT_PATH = Path(".etl") / "state.sqlite"
ENV_STATE = "ETL_STATE"
CLAIM_SECONDS = 15 * 60  # a claim older than this is abandoned, whatever its owner

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    target TEXT NOT NULL,
    shop TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    product_id TEXT,
    payload_hash TEXT,
    status TEXT NOT NULL,          -- creating | draft | live | failed
    last_error TEXT,
    intent_at TEXT,                -- when a create was about to be sent
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    claim_owner TEXT,
    claim_at REAL,
    PRIMARY KEY (target, shop, offer_id)
);
CREATE TABLE IF NOT EXISTS images (
    platform TEXT NOT NULL,
    shop TEXT NOT NULL,
    source_url TEXT NOT NULL,
    platform_url TEXT NOT NULL,
    sha256 TEXT,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (platform, shop, source_url)
);
CREATE TABLE IF NOT EXISTS snapshots (
    scope TEXT NOT NULL,           -- "publish/<target>/<shop>" or "files/<target>/<out folder>"
    offer_id TEXT NOT NULL,
    snapshot TEXT NOT NULL,        -- JSON, see etl.review_entry.snapshot
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, offer_id)
);
"""


@dataclass(frozen=True)
class ProductState:
    """One row of ``products``: the stored state of an offer on one shop."""

    target: str
    shop: str
    offer_id: str
    product_id: str | None
    payload_hash: str | None
    status: str
    last_error: str | None
    intent_at: str | None
    created_at: str
    updated_at: str


def default_state_path() -> Path:
    return Path(os.environ.get(ENV_STATE) or DEFAULT_PATH)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def claim_owner() -> str:
    """Name this process in a claim: host, process id and a random run token."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


class StateStore:
    """Open (creating if needed) the SQLite state file at ``path``; raise :class:`UsageError` when it cannot be used."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.executescript(_SCHEMA)
            found = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if found is None:
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif found[0] != str(SCHEMA_VERSION):
                raise UsageError("state.version", path=str(self.path), found=found[0], expected=SCHEMA_VERSION)
        except sqlite3.DatabaseError as error:
            raise UsageError("state.unusable", path=str(self.path), detail=str(error)) from None
        except OSError as error:
            raise UsageError("state.unusable", path=str(self.path), detail=error.strerror or str(error)) from None

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit mode: each statement commits at once unless a transaction is opened explicitly.
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    # -- products ----------------------------------------------------------------------------

    def product(self, target: str, shop: str, offer_id: str) -> ProductState | None:
        row = self._connection().execute(
            "SELECT target, shop, offer_id, product_id, payload_hash, status, last_error, intent_at, created_at, updated_at"
            " FROM products WHERE target = ? AND shop = ? AND offer_id = ?", (target, shop, offer_id)).fetchone()
        return ProductState(*row) if row else None

    def claim(self, target: str, shop: str, offer_id: str, owner: str) -> bool:
        """Take the offer for this run; return False when another live run has claimed it.

        A claim is abandoned when its owner ran on this host and its process is gone, or when it
        is older than :data:`CLAIM_SECONDS`, so a crashed run never blocks the next one for long.
        """
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute("SELECT claim_owner, claim_at FROM products WHERE target = ? AND shop = ? AND offer_id = ?",
                                     (target, shop, offer_id)).fetchone()
            if row and row[0] and row[0] != owner and not _abandoned(row[0], row[1]):
                connection.execute("ROLLBACK")
                return False

            now = _now()
            if row is None:
                connection.execute("INSERT INTO products (target, shop, offer_id, status, created_at, updated_at, claim_owner, claim_at)"
                                   " VALUES (?, ?, ?, 'new', ?, ?, ?, ?)", (target, shop, offer_id, now, now, owner, time.time()))
            else:
                connection.execute("UPDATE products SET claim_owner = ?, claim_at = ? WHERE target = ? AND shop = ? AND offer_id = ?",
                                   (owner, time.time(), target, shop, offer_id))
            connection.execute("COMMIT")
            return True
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def release(self, target: str, shop: str, offer_id: str, owner: str) -> None:
        self._connection().execute("UPDATE products SET claim_owner = NULL, claim_at = NULL"
                                   " WHERE target = ? AND shop = ? AND offer_id = ? AND claim_owner = ?", (target, shop, offer_id, owner))

    def record_intent(self, target: str, shop: str, offer_id: str) -> None:
        """Note that a create is about to be sent; a later run that finds this looks the product up before creating."""
        now = _now()
        self._connection().execute("UPDATE products SET status = 'creating', intent_at = ?, updated_at = ?"
                                   " WHERE target = ? AND shop = ? AND offer_id = ?", (now, now, target, shop, offer_id))

    def clear_intent(self, target: str, shop: str, offer_id: str) -> None:
        """Forget a create intent after the platform definitely rejected the create, so the next run may create at once."""
        self._connection().execute("UPDATE products SET status = 'failed', intent_at = NULL, updated_at = ?"
                                   " WHERE target = ? AND shop = ? AND offer_id = ? AND status = 'creating'", (_now(), target, shop, offer_id))

    def record_product(self, target: str, shop: str, offer_id: str, product_id: str, payload_hash: str | None, status: str) -> None:
        """Store the platform product id and, once the platform has accepted this payload, its hash."""
        self._connection().execute(
            "UPDATE products SET product_id = ?, payload_hash = ?, status = ?, last_error = NULL, updated_at = ?"
            " WHERE target = ? AND shop = ? AND offer_id = ?", (product_id, payload_hash, status, _now(), target, shop, offer_id))

    def record_error(self, target: str, shop: str, offer_id: str, message: str) -> None:
        """Keep the last error; the status and product id stay as they were, so a re-run resumes correctly."""
        self._connection().execute("UPDATE products SET last_error = ?, updated_at = ? WHERE target = ? AND shop = ? AND offer_id = ?",
                                   (message, _now(), target, shop, offer_id))

    def products(self, target: str, shop: str) -> list[ProductState]:
        rows = self._connection().execute(
            "SELECT target, shop, offer_id, product_id, payload_hash, status, last_error, intent_at, created_at, updated_at"
            " FROM products WHERE target = ? AND shop = ? ORDER BY offer_id", (target, shop)).fetchall()
        return [ProductState(*row) for row in rows]

    # -- images ------------------------------------------------------------------------------

    def image(self, platform: str, shop: str, source_url: str) -> str | None:
        row = self._connection().execute("SELECT platform_url FROM images WHERE platform = ? AND shop = ? AND source_url = ?",
                                         (platform, shop, source_url)).fetchone()
        return row[0] if row else None

    def record_image(self, platform: str, shop: str, source_url: str, platform_url: str, sha256: str | None) -> None:
        self._connection().execute("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?)",
                                   (platform, shop, source_url, platform_url, sha256, _now()))

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self, scope: str, offer_id: str) -> dict[str, Any] | None:
        row = self._connection().execute("SELECT snapshot FROM snapshots WHERE scope = ? AND offer_id = ?", (scope, offer_id)).fetchone()
        return json.loads(row[0]) if row else None

    def record_snapshot(self, scope: str, offer_id: str, snapshot: dict[str, Any]) -> None:
        self._connection().execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
                                   (scope, offer_id, json.dumps(snapshot, ensure_ascii=False, sort_keys=True), _now()))


def _abandoned(owner: str, claimed_at: float | None) -> bool:
    if claimed_at is None or time.time() - claimed_at > CLAIM_SECONDS:
        return True

    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not _process_alive(int(pid_text))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
