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

import json
import sqlite3
from collections.abc import Sequence

from gastown.ledger.sql import BLOCKED_WHERE, ORDER, SCHEMA_VERSION, list_query, ready_query

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from os import PathLike
    from typing import Any

    Path = str | PathLike[str]

    Row = dict[str, Any]


def sync_key(jsonl: Path) -> str:
    """The meta key holding the sha256 of what the ledger last imported from / exported to ``jsonl``
    (its real path, as ``Path.resolve()`` gives it)."""
    import os

    return f"jsonl_sha256:{os.path.realpath(jsonl)}"


def _stat_key(jsonl: Path) -> str:
    import os

    return f"jsonl_stat:{os.path.realpath(jsonl)}"


SETTLED_NS = 2_000_000_000  # a file unchanged for this long is not being written (stat is trusted)


def open_current(db: Path, jsonl: Path | None) -> sqlite3.Connection | None:
    """A connection to ``db`` if it can be read as it is (see module doc), else None."""
    import os

    if not os.path.isfile(db):
        return None
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION or (
            jsonl is not None and not _jsonl_in_step(conn, jsonl)
        ):
            conn.close()
            return None
    except sqlite3.Error:
        conn.close()
        return None  # the Store reports what is wrong
    return conn


def _jsonl_in_step(conn: sqlite3.Connection, jsonl: Path) -> bool:
    """Whether ``jsonl`` is what the ledger last imported or exported (a missing file is: the Store
    would not import either).

    Hashing a large JSONL on every read would cost more than the read, so the file's stat (size,
    mtime, ctime, inode) is remembered next to the digest it had. The stat is trusted only for a file
    that was already settled — unchanged for ``SETTLED_NS`` — when it was hashed: any later write sets
    its ctime to a later time, so a matching stat means the same bytes."""
    import os
    import time

    try:
        st = os.stat(jsonl)
    except FileNotFoundError:
        return True
    key, stat_key = sync_key(jsonl), _stat_key(jsonl)
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)", (key, stat_key)).fetchall())
    digest = meta.get(key)
    if digest is None:
        return False
    token = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
    if meta.get(stat_key) == f"{token}|{digest}":
        return True
    import hashlib

    with open(jsonl, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != digest:
        return False
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
        try:  # remember the stat (a tiny write, once per change of the file; skipped if busy)
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = excluded.value", (stat_key, f"{token}|{digest}"))
        except sqlite3.OperationalError:
            pass
        finally:
            conn.execute("PRAGMA busy_timeout=10000")
    return True


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
