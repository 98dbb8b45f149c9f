"""A light, read-only view of the ledger for short-lived processes (the command line).

``sqlite3``, ``json`` and ``hashlib`` only — no pydantic, no event loop, no worker thread — so a read
such as `gastown bead ready` costs little more than starting Python. Beads come back as dicts parsed
from their stored canonical JSONL line, which is exactly what ``sync.ordered_bead_dict`` gives for the
bead (same keys, same order).

It serves only a database that needs nothing done first: at the current schema, and (when a JSONL is
kept in step) with that file unchanged since the ledger last imported or exported it. Otherwise
:func:`open_current` answers None and the caller opens the :class:`~gastown.ledger.store.Store`, which
migrates and imports.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gastown.ledger.sql import BLOCKED_WHERE, ORDER, SCHEMA_VERSION, list_query, ready_query

Row = dict[str, Any]


def sync_key(jsonl: Path) -> str:
    """The meta key holding the sha256 of what the ledger last imported from / exported to ``jsonl``."""
    return f"jsonl_sha256:{jsonl.resolve()}"


def open_current(db: Path, jsonl: Path | None) -> sqlite3.Connection | None:
    """A connection to ``db`` if it can be read as it is (see module doc), else None."""
    if not db.is_file():
        return None
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            conn.close()
            return None
        if jsonl is not None:
            try:
                data = jsonl.read_bytes()
            except FileNotFoundError:
                data = None  # nothing to import: the Store would not import either
            if data is not None:
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (sync_key(jsonl),)).fetchone()
                if row is None or row[0] != hashlib.sha256(data).hexdigest():
                    conn.close()
                    return None
    except sqlite3.Error:
        conn.close()
        return None  # the Store reports what is wrong
    return conn


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return [json.loads(data) for (data,) in conn.execute(sql, params)]


def ready(conn: sqlite3.Connection, limit: int | None = None, parent: str | None = None) -> list[Row]:
    return _rows(conn, *ready_query(limit, parent))


def blocked(conn: sqlite3.Connection) -> list[Row]:
    return _rows(conn, f"SELECT data FROM issues {BLOCKED_WHERE} {ORDER}")


def list_beads(conn: sqlite3.Connection, **filters: Any) -> list[Row]:
    """``status``, ``parent``, ``issue_type``, ``label``, ``assignee``, ``limit``: as ``Store.list``."""
    return _rows(conn, *list_query(**filters))


def get_many(conn: sqlite3.Connection, ids: Sequence[str]) -> list[Row] | None:
    """The beads in the order asked, or None if one is missing (the caller reports it)."""
    out = []
    for bead_id in ids:
        row = conn.execute("SELECT data FROM issues WHERE id = ?", (bead_id,)).fetchone()
        if row is None:
            return None
        out.append(json.loads(row[0]))
    return out
