"""The ledger database schema and its versioned migrations.

``PRAGMA user_version`` n means ``MIGRATIONS[:n]`` have been applied. A migration is SQL text (split on
``;``) or a function of the connection; all pending ones run in one ``BEGIN IMMEDIATE`` transaction when
a store opens, so two processes opening the same old database at once migrate it exactly once.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from gastown.ledger import core, sql
from gastown.ledger.model import Bead

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    issue_type TEXT NOT NULL,
    created_at TEXT NOT NULL,  -- normalised UTC (sortable), the original string is in data
    updated_at TEXT NOT NULL,
    assignee TEXT,
    parent TEXT,
    data TEXT NOT NULL
);
CREATE INDEX issues_status ON issues(status);
CREATE INDEX issues_order ON issues(priority, created_at, id);
CREATE INDEX issues_parent ON issues(parent);
CREATE INDEX issues_type ON issues(issue_type);
CREATE INDEX issues_assignee ON issues(assignee);
CREATE TABLE dependencies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    depends_on_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (issue_id, depends_on_id, type)
);
CREATE INDEX dependencies_target ON dependencies(depends_on_id);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT '',
    old_value TEXT,
    new_value TEXT,
    comment TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX events_issue ON events(issue_id, id);
INSERT INTO meta(key, value) VALUES ('version', '0');
"""


def _v2(conn: sqlite3.Connection) -> None:
    """Incremental ready/blocked columns, full-text search, child counters; ``data`` becomes the bead's
    whole canonical JSONL line (dependencies included), so reads and export need no join."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(issues)")}
    for name, decl in (
        ("workable", "INTEGER NOT NULL DEFAULT 0"),
        ("blocked_direct", "INTEGER NOT NULL DEFAULT 0"),
        ("blocked", "INTEGER NOT NULL DEFAULT 0"),
        ("defer_until", "TEXT"),
        ("content_hash", "TEXT NOT NULL DEFAULT ''"),
    ):
        if name not in have:
            conn.execute(f"ALTER TABLE issues ADD COLUMN {name} {decl}")
    conn.execute(
        "CREATE INDEX issues_ready ON issues(priority, created_at, id) WHERE workable = 1 AND blocked = 0"
    )
    conn.execute("CREATE INDEX issues_blocked ON issues(blocked) WHERE blocked = 1")
    conn.execute("DROP INDEX IF EXISTS dependencies_target")
    conn.execute("CREATE INDEX dependencies_target ON dependencies(depends_on_id, type, issue_id)")
    conn.execute("CREATE TABLE child_counters (parent_id TEXT PRIMARY KEY, last_child INTEGER NOT NULL)")
    conn.execute(
        "CREATE VIRTUAL TABLE issues_fts USING fts5("
        "title, description, notes, comments, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    conn.execute("CREATE TABLE fts_pending (rowid INTEGER PRIMARY KEY)")  # see core.flush_fts
    deps: dict[str, list[Any]] = defaultdict(list)
    for issue_id, data in conn.execute("SELECT issue_id, data FROM dependencies ORDER BY seq"):
        deps[issue_id].append(json.loads(data))
    counters: dict[str, int] = {}
    for bead_id, data in conn.execute("SELECT id, data FROM issues").fetchall():
        d = json.loads(data)
        if deps.get(bead_id):
            d["dependencies"] = deps[bead_id]
        core.write_row(conn, Bead.model_validate(d), deps=False)
        m = re.match(r"^(.+)\.(\d+)$", bead_id)
        if m:
            counters[m[1]] = max(counters.get(m[1], 0), int(m[2]))
    conn.executemany("INSERT INTO child_counters (parent_id, last_child) VALUES (?, ?)", counters.items())
    core.refresh_blocked(conn, (), everything=True)
    core.flush_fts(conn)


def _v3(conn: sqlite3.Connection) -> None:
    """Fewer pages per write (each dirty page is one more WAL frame to write at commit, ~8 µs here):
    ``events`` and ``dependencies`` lose AUTOINCREMENT (neither table's rows are ever deleted and reused
    ids would still sort last, so ``MAX(rowid) + 1`` keeps their order, without writing
    ``sqlite_sequence`` on every insert); ``parent``, ``assignee``, ``status`` and ``issue_type`` are
    indexed only where queries look (set; not done; not an everyday type); new beads reach full-text search through a high-water mark instead
    of a row in ``fts_pending`` each."""
    conn.execute(
        "CREATE TABLE events_v3 (id INTEGER PRIMARY KEY, issue_id TEXT NOT NULL, event_type TEXT NOT NULL, "
        "actor TEXT NOT NULL DEFAULT '', old_value TEXT, new_value TEXT, comment TEXT, created_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO events_v3 SELECT id, issue_id, event_type, actor, old_value, new_value, comment, "
                 "created_at FROM events ORDER BY id")
    conn.execute("DROP TABLE events")
    conn.execute("ALTER TABLE events_v3 RENAME TO events")
    conn.execute("CREATE INDEX events_issue ON events(issue_id, id)")
    conn.execute(
        "CREATE TABLE dependencies_v3 (seq INTEGER PRIMARY KEY, "
        "issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE, depends_on_id TEXT NOT NULL, "
        "type TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (issue_id, depends_on_id, type))"
    )
    conn.execute("INSERT INTO dependencies_v3 SELECT seq, issue_id, depends_on_id, type, data FROM dependencies "
                 "ORDER BY seq")
    conn.execute("DROP TABLE dependencies")
    conn.execute("ALTER TABLE dependencies_v3 RENAME TO dependencies")
    conn.execute("CREATE INDEX dependencies_target ON dependencies(depends_on_id, type, issue_id)")
    conn.execute("DELETE FROM sqlite_sequence")
    for name, column, where in (
        ("issues_parent", "parent", "parent IS NOT NULL"),
        ("issues_assignee", "assignee", "assignee IS NOT NULL"),
        ("issues_status", "status", sql.LIVE),
        ("issues_type", "issue_type", sql.RARE_TYPE),
    ):
        conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.execute(f"CREATE INDEX {name} ON issues({column}) WHERE {where}")
    # schema 2 queued every write in ``fts_pending``: all rows are indexed or queued, so the mark starts at
    # the top and the queue is folded in
    core.mark_fts_done(conn)
    core.flush_fts(conn)


MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (_V1, _v2, _v3)
SCHEMA_VERSION = len(MIGRATIONS)
assert SCHEMA_VERSION == sql.SCHEMA_VERSION, "sql.SCHEMA_VERSION must follow MIGRATIONS"


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations (the caller holds ``BEGIN IMMEDIATE``); returns the version found."""
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        from gastown.ledger.model import LedgerError

        raise LedgerError(
            f"ledger database schema {current} is newer than this gastown understands ({SCHEMA_VERSION})"
        )
    for step in MIGRATIONS[current:]:
        if callable(step):
            step(conn)
        else:
            for statement in (s.strip() for s in step.split(";")):
                if statement:
                    conn.execute(statement)
    if current != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return current
