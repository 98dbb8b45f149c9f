"""Row mapping: a bead to its ``issues`` row (the canonical JSONL line plus indexed columns), back
again, the full-text queue, and the small checks every write shares.

Full-text search (FTS5 over title, description, notes, comments) is folded in per batch: a write queues
the bead in ``fts_pending`` in its own transaction, and a search first indexes the queue, so every
search sees every committed write without each small write paying for an FTS5 segment.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from gastown.ledger import graph, sync
from gastown.ledger.model import Bead, BeadNotFound, DepType, InvalidBead, parse_ts
from gastown.ledger.sql import FAR_FUTURE, ORDER, STAMPED, now_key

_NOT_UPDATABLE = frozenset({"id", "dependencies", "comments", "created_at", "updated_at"})
UPDATABLE_FIELDS = frozenset((set(Bead.model_fields) | set(sync.BEAD_KEY_ORDER)) - _NOT_UPDATABLE)

_CYCLE_TYPES = "(" + ",".join(f"'{t}'" for t in sorted(graph.CYCLE_TYPES)) + ")"


# -- small helpers ------------------------------------------------------------------------------------
# UTC with ``Z`` and at most microseconds (what ``now_iso`` and Beads write): normalised without parsing
_UTC_TS = re.compile(
    r"(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?Z"
).fullmatch


def sort_ts(value: str) -> str:
    """A timestamp normalised to sortable UTC text; unreadable ones sort after every real one."""
    if value == STAMPED[0]:
        return value
    m = _UTC_TS(value) if isinstance(value, str) else None
    if m is None or (value[8:10] > "28" and not _day_exists(value[:10])):
        return _sort_ts(value)
    frac = m[2]
    return value if frac is not None and len(frac) == 6 else f"{m[1]}.{(frac or '').ljust(6, '0')}Z"


@functools.lru_cache(maxsize=64)
def _day_exists(day: str) -> bool:
    """Whether ``YYYY-MM-DD`` exists (the pattern above allows the 29th to 31st of every month)."""
    try:
        date(int(day[:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4096)  # a write normalises the same created_at for the old and the new bead
def _sort_ts(value: str) -> str:
    try:
        return parse_ts(value).isoformat(timespec="microseconds")[:-6] + "Z"  # parse_ts gives UTC
    except (ValueError, TypeError):
        return FAR_FUTURE + str(value)


def _invalid(err: ValidationError) -> InvalidBead:
    first = err.errors()[0]
    name = ".".join(str(p) for p in first.get("loc", ())) or "bead"
    return InvalidBead(name, first.get("msg", "invalid value"))


def validate(data: dict[str, Any]) -> Bead:
    try:
        return Bead.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None


def check_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidBead("title", "must be a non-empty string")
    return title


def check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 4:
        raise InvalidBead("priority", f"must be an integer 0..4 (got {priority!r})")
    return priority


def check_label(label: Any) -> str:
    if not isinstance(label, str) or not label.strip() or label != label.strip():
        raise InvalidBead("labels", f"a label is a non-empty string without surrounding spaces (got {label!r})")
    return label


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def content_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _parents_of(bead: Bead) -> list[str]:
    return [d.depends_on_id for d in bead.dependencies or () if d.type == DepType.PARENT_CHILD]


# -- rows -----------------------------------------------------------------------------------------------
_UPSERT = """
INSERT INTO issues (id, status, priority, issue_type, created_at, updated_at, assignee, parent, data,
                    workable, defer_until, content_hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET status=excluded.status, priority=excluded.priority,
    issue_type=excluded.issue_type, created_at=excluded.created_at, updated_at=excluded.updated_at,
    assignee=excluded.assignee, parent=excluded.parent, data=excluded.data, workable=excluded.workable,
    defer_until=excluded.defer_until, content_hash=excluded.content_hash
"""  # (no RETURNING: in SQLite 3.40 it makes this statement several times slower)
_INSERT = """
INSERT INTO issues (id, status, priority, issue_type, created_at, updated_at, assignee, parent, data,
                    workable, defer_until, content_hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_DEP = "INSERT OR IGNORE INTO dependencies (issue_id, depends_on_id, type, data) VALUES (?, ?, ?, '')"
_INSERT_EVENT = (
    "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _fts_text(bead: Bead) -> tuple[str, str, str, str]:
    return (
        bead.title,
        bead.description or "",
        bead.notes or "",
        "\n".join(c.text for c in bead.comments or ()),
    )


def write_row(
    conn: sqlite3.Connection,
    bead: Bead,
    *,
    deps: bool,
    line: str | None = None,
    old: Bead | None = None,
    fresh: bool = False,
    same_text: bool = False,
    old_indexed: tuple[Any, ...] | None = None,
) -> None:
    """Write one bead: its row (the canonical JSONL line plus indexed columns), its full-text entry
    (unless ``old``, the stored version, has the same text) and, when ``deps``, its dependency rows.

    ``old`` given: an UPDATE of only the columns that changed, so SQLite rewrites only the indexes over
    them (a close touches the status and ready indexes, not the other five). ``fresh``: the bead is
    known not to be stored yet — a plain INSERT, which raises ``sqlite3.IntegrityError`` if the id is
    taken after all. Neither: an upsert. ``same_text``: the caller knows the searchable text is unchanged;
    ``old_indexed``: the stored row's indexed columns, when the caller has read them (see ``Stored``)."""
    values = row_values(bead, line)
    rowid: int | None = None
    if old_indexed is None and old is not None:
        old_indexed = _indexed(old)
    if old_indexed is not None:
        _update_row(conn, values, old_indexed)
    elif fresh:
        rowid = conn.execute(_INSERT, values).lastrowid
    else:
        conn.execute(_UPSERT, values)
    if deps:
        if not fresh:
            conn.execute("DELETE FROM dependencies WHERE issue_id = ?", (bead.id,))
        if bead.dependencies:
            conn.executemany(_INSERT_DEP, [(d.issue_id, d.depends_on_id, d.type) for d in bead.dependencies])
    # a fresh row needs no queue entry: its rowid is above the full-text high-water mark
    # (a stored row read without its model: the text is queued unless the caller knows it is the same)
    if rowid is None and not same_text and (old is None or _fts_text(old) != _fts_text(bead)):
        conn.execute(_QUEUE_FTS, (bead.id,))


# the indexed columns of ``row_values`` (data and content_hash always change with a write)
_COLUMNS = ("status", "priority", "issue_type", "created_at", "updated_at", "assignee", "parent", "workable",
            "defer_until")
_COLUMN_AT = (1, 2, 3, 4, 5, 6, 7, 9, 10)


def _update_row(conn: sqlite3.Connection, values: tuple[Any, ...], before: tuple[Any, ...]) -> None:
    sets = ["data = ?", "content_hash = ?"]
    params: list[Any] = [values[8], values[11]]
    for name, at, was in zip(_COLUMNS, _COLUMN_AT, before, strict=True):
        if values[at] != was:
            sets.append(f"{name} = ?")
            params.append(values[at])
    params.append(values[0])
    if conn.execute(f"UPDATE issues SET {', '.join(sets)} WHERE id = ?", params).rowcount != 1:
        raise BeadNotFound(values[0])


def _indexed(bead: Bead) -> tuple[Any, ...]:
    defer = graph.defer_time(bead)
    return (
        bead.status,
        bead.priority,
        bead.issue_type,
        sort_ts(bead.created_at),
        sort_ts(bead.updated_at),
        bead.assignee,
        bead.parent_id,
        1 if graph.is_workable_ever(bead) else 0,
        now_key(defer) if isinstance(defer, datetime) else None,
    )


# The full-text index is brought up to date in bulk: a write queues the bead's rowid (same transaction),
# and every search first folds the queue into the index (``flush_fts``), so a search always sees every
# committed write while a single write does not pay for an FTS5 segment of its own. New beads are not
# queued: every row above the high-water mark ``fts_done`` (meta) is pending too. Rows of ``issues`` are
# never deleted (a bead's end is a tombstone), so a new rowid is always above the mark.
_QUEUE_FTS = "INSERT OR IGNORE INTO fts_pending (rowid) SELECT rowid FROM issues WHERE id = ?"
_INSERT_FTS = "INSERT INTO issues_fts (rowid, title, description, notes, comments) VALUES (?, ?, ?, ?, ?)"
_FTS_DONE = "COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_done'), 0)"
_FLUSH_FTS = (
    "DELETE FROM issues_fts WHERE rowid IN (SELECT rowid FROM fts_pending)",
    f"""
    INSERT INTO issues_fts (rowid, title, description, notes, comments)
    SELECT i.rowid, json_extract(i.data, '$.title'), COALESCE(json_extract(i.data, '$.description'), ''),
           COALESCE(json_extract(i.data, '$.notes'), ''),
           COALESCE((SELECT group_concat(json_extract(c.value, '$.text'), char(10))
                     FROM json_each(i.data, '$.comments') c), '')
    FROM (SELECT rowid AS r FROM fts_pending UNION SELECT rowid FROM issues WHERE rowid > {_FTS_DONE}) q
    CROSS JOIN issues i ON i.rowid = q.r
    """,
    "DELETE FROM fts_pending",
    "INSERT INTO meta (key, value) VALUES ('fts_done', (SELECT COALESCE(MAX(rowid), 0) FROM issues)) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
)
_ANY_FTS_PENDING = (
    f"SELECT EXISTS (SELECT 1 FROM fts_pending) OR (SELECT COALESCE(MAX(rowid), 0) FROM issues) > {_FTS_DONE}"
)


def fts_pending(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute(_ANY_FTS_PENDING).fetchone()[0] == 1)


def flush_fts(conn: sqlite3.Connection) -> None:
    """Index the queued beads and those above the high-water mark (the caller holds a write
    transaction)."""
    for step in _FLUSH_FTS:
        conn.execute(step)


def mark_fts_done(conn: sqlite3.Connection) -> None:
    """Every row is indexed (an import wrote the index itself): move the high-water mark to the top."""
    conn.execute(_FLUSH_FTS[-1])


def row_values(bead: Bead, line: str | None = None) -> tuple[Any, ...]:
    """The ``issues`` row of a bead (``line``: its canonical JSONL line, if already rendered)."""
    line = line if line is not None else sync.bead_line(bead)
    defer = graph.defer_time(bead)
    return (
        bead.id,
        bead.status,
        bead.priority,
        bead.issue_type,
        sort_ts(bead.created_at),
        sort_ts(bead.updated_at),
        bead.assignee,
        bead.parent_id,
        line,
        1 if graph.is_workable_ever(bead) else 0,
        now_key(defer) if isinstance(defer, datetime) else None,
        content_hash(line),
    )


def load(conn: sqlite3.Connection, where: str = "", params: Sequence[Any] = (), tail: str = "") -> list[Bead]:
    sql = f"SELECT data FROM issues {where} {ORDER} {tail}"
    return [Bead.model_validate_json(data) for (data,) in conn.execute(sql, params)]


def get(conn: sqlite3.Connection, bead_id: str) -> Bead:
    row = conn.execute("SELECT data FROM issues WHERE id = ?", (bead_id,)).fetchone()
    if row is None:
        raise BeadNotFound(bead_id)
    return Bead.model_validate_json(row[0])


class Stored:
    """A bead as stored, for a write that changes it: its JSONL dict (the stored line parsed — the same
    dict as ``Bead.to_json_dict()``) and its indexed columns as they are; the model only if asked."""

    __slots__ = ("_bead", "data", "indexed")

    def __init__(self, data: dict[str, Any], indexed: tuple[Any, ...]) -> None:
        self.data = data
        self.indexed = indexed
        self._bead: Bead | None = None

    @property
    def bead(self) -> Bead:
        if self._bead is None:
            self._bead = Bead.model_validate(self.data)
        return self._bead


_READ_STORED = f"SELECT data, {', '.join(_COLUMNS)} FROM issues WHERE id = ?"


def read_stored(conn: sqlite3.Connection, bead_id: str) -> Stored:
    row = conn.execute(_READ_STORED, (bead_id,)).fetchone()
    if row is None:
        raise BeadNotFound(bead_id)
    return Stored(json.loads(row[0]), row[1:])


def exists(conn: sqlite3.Connection, bead_id: str) -> bool:
    return conn.execute("SELECT 1 FROM issues WHERE id = ?", (bead_id,)).fetchone() is not None


def meta_int(conn: sqlite3.Connection, key: str, default: int = 0) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (key, str(value)),
    )
