"""SQL text shared by the ledger's queries and the command line's light reader (no pydantic here).

Timestamps are compared as normalised UTC text (``now_key``), so the clock check of ``ready`` stays in
SQLite; ``parse_ts`` reads the timestamps Beads writes (here, so that readers without the models have it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime  # (sqlite3 imports datetime anyway)

TYPE_CHECKING = False  # (typing is not imported at run time for a plain read)
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 3  # the number of ``schema.MIGRATIONS`` (checked there)
DONE_STATUSES = ("closed", "tombstone")
DONE = "(" + ",".join(f"'{s}'" for s in DONE_STATUSES) + ")"
BLOCKING = "('blocks','conditional-blocks')"
# the condition of the partial status index: only beads not done are indexed by status (most of a ledger
# is closed; a close then moves no index entry). A query for live statuses repeats it word for word so
# that SQLite sees the index applies.
LIVE = f"status NOT IN {DONE}"
# the same for the type index: the everyday types (most beads) are left out of it; lists ask for the others
# (epics, convoys, ...), and a list of tasks would read most of the table anyway
COMMON_TYPES = ('task', 'bug', 'feature', 'chore')
RARE_TYPE = f"issue_type NOT IN ({','.join(repr(t) for t in COMMON_TYPES)})"
FAR_FUTURE = "9999-12-31T23:59:59.999999Z"
ORDER = "ORDER BY priority, created_at, id"

READY_SQL = (
    "SELECT data FROM issues WHERE workable = 1 AND blocked = 0 AND (defer_until IS NULL OR defer_until <= ?) "
    + ORDER
)
UNDER = """
WITH RECURSIVE under(id) AS (
    SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child'
    UNION
    SELECT d.issue_id FROM dependencies d JOIN under u ON d.depends_on_id = u.id WHERE d.type = 'parent-child'
)
"""
BLOCKED_WHERE = f"WHERE blocked = 1 AND status NOT IN {DONE}"


_SECOND: list[tuple[int, str]] = [(-1, "")]  # the last second formatted (every write stamps one or two)


def _second(epoch_s: int) -> str:
    last = _SECOND[0]
    if last[0] != epoch_s:
        import time

        last = _SECOND[0] = (epoch_s, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)))
    return last[1]


# the last stamp of the clock ``now_key`` made: normalised by construction, so ``rows.sort_ts`` takes it
# as it is (a write stamps its bead's updated_at, often created_at too)
STAMPED: list[str | None] = [None]


def now_key(now: datetime | None = None) -> str:
    """``now`` (default: the clock) as normalised UTC text, e.g. ``2026-01-31T12:00:00.000000Z``."""
    if now is None:
        import time

        us = time.time_ns() // 1000
        stamp = STAMPED[0] = f"{_second(us // 1_000_000)}.{us % 1_000_000:06d}Z"
        return stamp
    return now.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def ready_query(limit: int | None = None, parent: str | None = None,
                now: datetime | None = None) -> tuple[str, list[Any]]:
    """The ready beads' ``data`` in priority, creation order (``parent``: its descendants only)."""
    params: list[Any] = [now_key(now)]
    sql = READY_SQL
    if parent is not None:
        sql = UNDER + sql.replace("WHERE workable", "WHERE id IN (SELECT id FROM under) AND workable")
        params.insert(0, parent)
    if limit and limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def list_query(
    status: str | Sequence[str] | None = None,
    parent: str | None = None,
    issue_type: str | Sequence[str] | None = None,
    label: str | Sequence[str] | None = None,
    assignee: str | None = None,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The filtered beads' ``data`` in priority, creation order."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("issue_type", issue_type)):
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
        params.extend(values)
        if column == "status" and values and not any(v in DONE_STATUSES for v in values):
            clauses.append(LIVE)  # (lets SQLite use the partial status index)
        if column == "issue_type" and values and not any(v in COMMON_TYPES for v in values):
            clauses.append(RARE_TYPE)  # (and the partial type index)
    if parent is not None:
        clauses.append("parent = ?")
        params.append(parent)
    if assignee is not None:
        clauses.append("assignee = ?")
        params.append(assignee)
    for one in [label] if isinstance(label, str) else list(label or ()):
        clauses.append("EXISTS (SELECT 1 FROM json_each(issues.data, '$.labels') WHERE value = ?)")
        params.append(one)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"SELECT data FROM issues {where} {ORDER}"
    if limit and limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def parse_ts(value: str) -> datetime:
    """Parse an RFC 3339 timestamp as Beads writes it (any offset, ``Z``, up to nanoseconds) to aware UTC."""
    try:
        dt = datetime.fromisoformat(value)  # Python 3.11 reads Z, offsets and up to 9 fraction digits
    except (ValueError, TypeError):
        pass
    else:
        return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).astimezone(UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go writes up to 9 fractional digits; Python takes at most 6.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}" if digits else head + rest
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
