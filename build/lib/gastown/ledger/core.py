"""The ledger's synchronous core: every read and write as plain ``sqlite3`` calls on one connection.

The async :class:`~gastown.ledger.store.Store` runs these functions in its aiosqlite connection's worker
thread, so one ledger operation costs one round trip from the event loop, however many statements it
runs.

Ready/blocked is kept up to date on write. Each issue row carries:

- ``workable``: everything ready asks of the bead itself except time (status open, not an internal type,
  not ephemeral/pinned, readable ``defer_until``), computed from the bead when it is written;
- ``blocked_direct``: one of its own ``blocks``/``conditional-blocks`` targets exists and is not done,
  or a child of one of its ``waits-for`` targets is not done;
- ``blocked``: ``blocked_direct``, or a parent (``parent-child``) is ``blocked`` (propagates down);
- ``defer_until``: normalised, compared with the clock at query time.

A write records which beads came into existence or changed doneness (``dirty``), which changed their own
dependencies (``own_deps``) and which parents' sets of children may have changed (``parents``). Before
commit :func:`refresh_blocked` recomputes ``blocked_direct`` for exactly the beads that can be affected —
beads with changed dependencies, the blocking dependents of dirty beads and the waits-for dependents of
their parents — and then ``blocked`` over those beads and their descendants, taking the stored value of
any parent outside that region. A close with no dependents touches no other row. So ``ready()`` is one
scan of a partial index; ``graph.py`` (the whole-ledger walk) stays the reference the tests hold it to.

Full-text search (FTS5 over title, description, notes, comments) is folded in per batch: a write queues
the bead in ``fts_pending`` in its own transaction, and a search first indexes the queue, so every
search sees every committed write without each small write paying for an FTS5 segment.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from gastown.ledger import graph, sync
from gastown.ledger.ids import child_id, id_candidates
from gastown.ledger.model import (
    Bead,
    BeadEvent,
    BeadNotFound,
    Comment,
    Dependency,
    DependencyCycle,
    DepType,
    InvalidBead,
    LedgerChange,
    LedgerError,
    Status,
    now_iso,
    parse_ts,
)
from gastown.ledger.sync import ImportResult

# Fields update() may set: the model's own plus the Beads fields we know and keep as extras.
_NOT_UPDATABLE = frozenset({"id", "dependencies", "comments", "created_at", "updated_at"})
UPDATABLE_FIELDS = frozenset((set(Bead.model_fields) | set(sync.BEAD_KEY_ORDER)) - _NOT_UPDATABLE)

_DONE = "('closed','tombstone')"
_BLOCKING = "('blocks','conditional-blocks')"
_CYCLE_TYPES = "(" + ",".join(f"'{t}'" for t in sorted(graph.CYCLE_TYPES)) + ")"
_FAR_FUTURE = "9999-12-31T23:59:59.999999Z"


# -- small helpers ------------------------------------------------------------------------------------
def sort_ts(value: str) -> str:
    """A timestamp normalised to sortable UTC text; unreadable ones sort after every real one."""
    try:
        return parse_ts(value).isoformat(timespec="microseconds")[:-6] + "Z"  # parse_ts gives UTC
    except (ValueError, TypeError):
        return _FAR_FUTURE + str(value)


def now_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


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
) -> None:
    """Upsert one bead: its row (the canonical JSONL line plus indexed columns), its full-text entry
    (unless ``old``, the stored version, has the same text) and, when ``deps``, its dependency rows.
    ``fresh``: the bead is known not to be stored yet."""
    conn.execute(_UPSERT, row_values(bead, line))
    if deps:
        if not fresh:
            conn.execute("DELETE FROM dependencies WHERE issue_id = ?", (bead.id,))
        conn.executemany(
            _INSERT_DEP, [(d.issue_id, d.depends_on_id, d.type) for d in bead.dependencies or ()]
        )
    if old is None or _fts_text(old) != _fts_text(bead):
        conn.execute(_QUEUE_FTS, (bead.id,))


# The full-text index is brought up to date in bulk: a write queues the bead's rowid (same transaction),
# and every search first folds the queue into the index (``flush_fts``), so a search always sees every
# committed write while a single write does not pay for an FTS5 segment of its own.
_QUEUE_FTS = "INSERT OR IGNORE INTO fts_pending (rowid) SELECT rowid FROM issues WHERE id = ?"
_INSERT_FTS = "INSERT INTO issues_fts (rowid, title, description, notes, comments) VALUES (?, ?, ?, ?, ?)"
_FLUSH_FTS = (
    "DELETE FROM issues_fts WHERE rowid IN (SELECT rowid FROM fts_pending)",
    """
    INSERT INTO issues_fts (rowid, title, description, notes, comments)
    SELECT i.rowid, json_extract(i.data, '$.title'), COALESCE(json_extract(i.data, '$.description'), ''),
           COALESCE(json_extract(i.data, '$.notes'), ''),
           COALESCE((SELECT group_concat(json_extract(c.value, '$.text'), char(10))
                     FROM json_each(i.data, '$.comments') c), '')
    FROM fts_pending q CROSS JOIN issues i ON i.rowid = q.rowid
    """,
    "DELETE FROM fts_pending",
)


def fts_pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM fts_pending)").fetchone()[0] == 1


def flush_fts(conn: sqlite3.Connection) -> None:
    """Index the queued beads (the caller holds a write transaction)."""
    for step in _FLUSH_FTS:
        conn.execute(step)


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
    sql = f"SELECT data FROM issues {where} ORDER BY priority, created_at, id {tail}"
    return [Bead.model_validate_json(data) for (data,) in conn.execute(sql, params)]


def get(conn: sqlite3.Connection, bead_id: str) -> Bead:
    row = conn.execute("SELECT data FROM issues WHERE id = ?", (bead_id,)).fetchone()
    if row is None:
        raise BeadNotFound(bead_id)
    return Bead.model_validate_json(row[0])


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


# -- incremental ready/blocked --------------------------------------------------------------------------
# One scratch table per connection (created when it opens, never inside a transaction):
#   kind 0 — beads whose existence or doneness changed (their dependents may change)
#   kind 1 — parents whose set of children may have changed (their waits-for dependents may change)
#   kind 2 — seeds: beads whose ``blocked_direct`` must be recomputed
#   kind 3 — the region: seeds and their descendants, whose ``blocked`` must be recomputed
TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS gt_work (kind INTEGER NOT NULL, id TEXT NOT NULL, "
    "PRIMARY KEY (kind, id)) WITHOUT ROWID",
)
_SEEDS = f"""
INSERT OR IGNORE INTO temp.gt_work (kind, id)
SELECT 2, issue_id FROM dependencies
    WHERE type IN {_BLOCKING} AND depends_on_id IN (SELECT id FROM temp.gt_work WHERE kind = 0)
UNION
SELECT 2, issue_id FROM dependencies
    WHERE type = 'waits-for' AND depends_on_id IN (
        SELECT id FROM temp.gt_work WHERE kind = 1
        UNION
        SELECT depends_on_id FROM dependencies
            WHERE type = 'parent-child' AND issue_id IN (SELECT id FROM temp.gt_work WHERE kind = 0))
"""
_ANY_SEED = "SELECT EXISTS (SELECT 1 FROM temp.gt_work WHERE kind = 2)"
_REFRESH_STEPS = (
    f"""
    UPDATE issues SET blocked_direct = (
        EXISTS (SELECT 1 FROM dependencies d JOIN issues t ON t.id = d.depends_on_id
                WHERE d.issue_id = issues.id AND d.type IN {_BLOCKING} AND t.status NOT IN {_DONE})
        OR EXISTS (SELECT 1 FROM dependencies w
                   JOIN dependencies k ON k.depends_on_id = w.depends_on_id AND k.type = 'parent-child'
                   JOIN issues c ON c.id = k.issue_id
                   WHERE w.issue_id = issues.id AND w.type = 'waits-for' AND c.status NOT IN {_DONE})
    ) WHERE id IN (SELECT id FROM temp.gt_work WHERE kind = 2)
    """,
    # the region whose ``blocked`` can change: the seeds and all their descendants
    """
    WITH RECURSIVE r(id) AS (
        SELECT id FROM temp.gt_work WHERE kind = 2
        UNION
        SELECT d.issue_id FROM r CROSS JOIN dependencies d ON d.depends_on_id = r.id AND d.type = 'parent-child'
    ) INSERT OR IGNORE INTO temp.gt_work (kind, id) SELECT 3, id FROM r
    """,
    # blocked = reachable, through parent -> child edges inside the region, from a region bead that is
    # blocked directly or has a blocked parent outside the region. (CROSS JOIN fixes the join order:
    # the scratch table has no statistics, and the planner would otherwise scan ``issues``.)
    """
    WITH RECURSIVE
    region(id) AS (SELECT id FROM temp.gt_work WHERE kind = 3),
    b(id) AS (
        SELECT r.id FROM region r CROSS JOIN issues i ON i.id = r.id WHERE i.blocked_direct = 1
        UNION
        SELECT d.issue_id FROM region r
            CROSS JOIN dependencies d ON d.issue_id = r.id AND d.type = 'parent-child'
            CROSS JOIN issues p ON p.id = d.depends_on_id
            WHERE p.blocked = 1 AND p.id NOT IN region
        UNION
        SELECT d.issue_id FROM b CROSS JOIN dependencies d ON d.depends_on_id = b.id AND d.type = 'parent-child'
    ) UPDATE issues SET blocked = (id IN b) WHERE id IN region
    """,
)


def refresh_blocked(
    conn: sqlite3.Connection,
    changed: Iterable[str],
    parents: Iterable[str] = (),
    own_deps: Iterable[str] = (),
    *,
    everything: bool = False,
) -> None:
    """Bring ``blocked_direct``/``blocked`` up to date (see module doc) after writes: ``changed`` beads
    whose existence or doneness may have changed, ``parents`` whose children changed, ``own_deps``
    beads whose own dependencies changed. ``everything`` recomputes the whole ledger."""
    try:
        if everything:
            conn.execute("INSERT OR IGNORE INTO temp.gt_work (kind, id) SELECT 2, id FROM issues")
        else:
            rows = [(0, i) for i in changed] + [(1, p) for p in parents] + [(2, i) for i in own_deps]
            conn.executemany("INSERT OR IGNORE INTO temp.gt_work (kind, id) VALUES (?, ?)", rows)
            conn.execute(_SEEDS)
            if not conn.execute(_ANY_SEED).fetchone()[0]:
                return
        for step in _REFRESH_STEPS:
            conn.execute(step)
    finally:
        conn.execute("DELETE FROM temp.gt_work")


# -- write state ------------------------------------------------------------------------------------------
@dataclass
class WriteState:
    """What one transaction has written so far; lives from BEGIN to COMMIT/ROLLBACK."""

    conn: sqlite3.Connection
    prefix: str
    actor: str = ""
    changed: dict[str, Bead] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # existence or doneness changed
    parents: set[str] = field(default_factory=set)  # set of children changed
    own_deps: set[str] = field(default_factory=set)  # own dependencies changed

    def event(
        self,
        bead_id: str,
        event_type: str,
        actor: str,
        old: Any = None,
        new: Any = None,
        comment: str | None = None,
    ) -> None:
        self.conn.execute(
            _INSERT_EVENT,
            (bead_id, event_type, actor or self.actor, _text(old), _text(new), comment, now_iso()),
        )

    def write(self, bead: Bead, *, deps: bool = False, old: Bead | None = None) -> Bead:
        write_row(self.conn, bead, deps=deps, old=old, fresh=old is None)
        self.changed[bead.id] = bead
        if old is None or (old.status in Status.DONE) != (bead.status in Status.DONE):
            self.dirty.add(bead.id)
        if deps and (bead.dependencies or (old is not None and old.dependencies)):
            self.own_deps.add(bead.id)
            self.dirty.add(bead.id)
            if old is not None:
                self.parents.update(_parents_of(old))
        return bead


BUSY_TIMEOUT_MS = 10_000  # each wait inside SQLite
PATIENCE_S = 60.0  # how long a writer keeps trying before it tells the user


def is_busy(err: sqlite3.Error) -> bool:
    return (getattr(err, "sqlite_errorcode", 0) & 0xFF) in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


def begin_immediate(conn: sqlite3.Connection, patience_s: float | None = None) -> None:
    """Take the write lock, waiting for other processes (SQLite's busy timeout, then retries)."""
    deadline = time.monotonic() + (PATIENCE_S if patience_s is None else patience_s)
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as e:
            if not is_busy(e) or time.monotonic() >= deadline:
                raise


def begin(conn: sqlite3.Connection, prefix: str, actor: str) -> WriteState:
    begin_immediate(conn)
    return WriteState(conn, prefix, actor)


def finish(st: WriteState) -> LedgerChange | None:
    """Bring ready/blocked up to date and bump the version; the caller commits."""
    if len(st.own_deps) > 1000:  # a big import: one pass over everything is cheaper
        refresh_blocked(st.conn, (), everything=True)
    elif st.dirty or st.parents or st.own_deps:
        refresh_blocked(st.conn, st.dirty, st.parents, st.own_deps)
    if not st.changed:
        return None
    version = meta_int(st.conn, "version") + 1
    set_meta(st.conn, "version", version)
    return LedgerChange(version=version, changed=list(st.changed.values()))


# -- writes -----------------------------------------------------------------------------------------------
def create(
    st: WriteState,
    title: str,
    *,
    description: str | None = None,
    acceptance_criteria: str | None = None,
    design: str | None = None,
    notes: str | None = None,
    priority: int = 2,
    issue_type: str = "task",
    parent: str | None = None,
    labels: Iterable[str] | None = None,
    assignee: str | None = None,
    metadata: dict[str, Any] | None = None,
    actor: str = "",
    **extra: Any,
) -> Bead:
    conn = st.conn
    actor = actor or st.actor
    check_title(title)
    check_priority(priority)
    if not isinstance(issue_type, str) or not issue_type.strip():
        raise InvalidBead("issue_type", "must be a non-empty string")
    unknown = sorted(set(extra) - UPDATABLE_FIELDS)
    if unknown:
        raise InvalidBead(unknown[0], "not a field a bead can be created with")
    label_list = [check_label(x) for x in labels] if labels is not None else None
    if label_list is not None:
        label_list = list(dict.fromkeys(label_list))
    now = now_iso()
    if parent is not None:
        if not exists(conn, parent):
            raise BeadNotFound(parent)
        while True:
            (n,) = conn.execute(
                "INSERT INTO child_counters (parent_id, last_child) VALUES (?, 1) "
                "ON CONFLICT(parent_id) DO UPDATE SET last_child = last_child + 1 RETURNING last_child",
                (parent,),
            ).fetchone()
            bead_id = child_id(parent, n)
            if not exists(conn, bead_id):
                break
    else:
        (size,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM issues").fetchone()
        bead_id = next(
            c for c in id_candidates(st.prefix, title, existing=size, timestamp=now) if not exists(conn, c)
        )
    deps = (
        [Dependency(issue_id=bead_id, depends_on_id=parent, type=DepType.PARENT_CHILD, created_at=now,
                    created_by=actor)]
        if parent
        else None
    )
    bead = validate(
        {
            **extra,
            "id": bead_id,
            "title": title,
            "description": description,
            "design": design,
            "acceptance_criteria": acceptance_criteria,
            "notes": notes,
            "priority": priority,
            "issue_type": issue_type,
            "assignee": assignee,
            "created_by": actor or None,
            "labels": label_list,
            "metadata": metadata,
            "dependencies": deps,
            "created_at": now,
            "updated_at": now,
        }
    )
    st.write(bead, deps=True)
    st.event(bead_id, "created", actor, new=title)
    return bead


# Every bead `?` reaches over cycle-relevant edges, as the CTE r(id).
_REACH = f"""
    WITH RECURSIVE r(id) AS (
        SELECT ?
        UNION
        SELECT d.depends_on_id FROM dependencies d JOIN r ON d.issue_id = r.id
        WHERE d.type IN {_CYCLE_TYPES}
    )"""


def _path(conn: sqlite3.Connection, src: str, dst: str) -> list[str] | None:
    """A path src -> ... -> dst over cycle-relevant edges, or None. Reachability runs in SQLite; the path
    itself is rebuilt (breadth first, so the shortest) only when there is one."""
    hit = conn.execute(f"{_REACH} SELECT 1 FROM r WHERE id = ? LIMIT 1", (src, dst)).fetchone()
    if hit is None:
        return None
    edges = conn.execute(
        f"""{_REACH} SELECT d.issue_id, d.depends_on_id FROM dependencies d
          WHERE d.issue_id IN (SELECT id FROM r) AND d.type IN {_CYCLE_TYPES} ORDER BY d.seq""",
        (src,),
    ).fetchall()
    return graph.path_between(edges, src, dst)


def add_dependency(
    st: WriteState, issue_id: str, depends_on_id: str, type: str = DepType.BLOCKS, actor: str = ""
) -> Bead:
    conn = st.conn
    actor = actor or st.actor
    if not isinstance(type, str) or not type.strip():
        raise InvalidBead("type", "dependency type must be a non-empty string")
    if issue_id == depends_on_id:
        raise InvalidBead("depends_on_id", f"{issue_id} cannot depend on itself")
    bead = get(conn, issue_id)
    if not exists(conn, depends_on_id):
        raise BeadNotFound(depends_on_id)
    existing = bead.dependencies or []
    if any(d.depends_on_id == depends_on_id and d.type == type for d in existing):
        return bead
    if type == DepType.PARENT_CHILD and bead.parent_id is not None:
        raise InvalidBead("parent", f"{issue_id} already has parent {bead.parent_id}")
    if type in graph.CYCLE_TYPES:
        path = _path(conn, depends_on_id, issue_id)
        if path is not None:
            raise DependencyCycle([issue_id, *path])
    dep = Dependency(issue_id=issue_id, depends_on_id=depends_on_id, type=type, created_by=actor)
    new = bead.model_copy(update={"dependencies": [*existing, dep], "updated_at": now_iso()})
    conn.execute(_INSERT_DEP, (issue_id, depends_on_id, type))
    st.write(new, old=bead)
    st.own_deps.add(issue_id)
    st.dirty.add(issue_id)
    if type == DepType.PARENT_CHILD:
        st.parents.add(depends_on_id)
    st.event(issue_id, "dependency_added", actor, new=f"{type}:{depends_on_id}")
    return new


def remove_dependency(
    st: WriteState, issue_id: str, depends_on_id: str, type: str | None = None, actor: str = ""
) -> Bead:
    """Remove the dependency (of ``type``, or of any type when None); a missing one is no error."""
    actor = actor or st.actor
    bead = get(st.conn, issue_id)
    gone = [
        d
        for d in bead.dependencies or []
        if d.depends_on_id == depends_on_id and (type is None or d.type == type)
    ]
    if not gone:
        return bead
    keep = [d for d in bead.dependencies or [] if d not in gone]
    new = bead.model_copy(update={"dependencies": keep or None, "updated_at": now_iso()})
    st.write(new, deps=True, old=bead)
    for d in gone:
        st.event(issue_id, "dependency_removed", actor, old=f"{d.type}:{depends_on_id}")
    return new


def update(st: WriteState, bead_id: str, *, actor: str = "", **fields: Any) -> Bead:
    """Set fields (``None`` unsets one). Status → closed sets ``closed_at``; leaving closed clears it."""
    actor = actor or st.actor
    unknown = sorted(set(fields) - UPDATABLE_FIELDS)
    if unknown:
        raise InvalidBead(unknown[0], "not a field that can be updated")
    if "title" in fields:
        check_title(fields["title"])
    if "priority" in fields:
        check_priority(fields["priority"])
    if "status" in fields and (not isinstance(fields["status"], str) or not fields["status"]):
        raise InvalidBead("status", "must be a non-empty string")
    if fields.get("labels") is not None:
        if isinstance(fields["labels"], str):
            raise InvalidBead("labels", "must be a list of strings")
        fields["labels"] = list(dict.fromkeys(check_label(x) for x in fields["labels"])) or None
    return _apply(st, get(st.conn, bead_id), fields, actor)


def _apply(st: WriteState, bead: Bead, fields: dict[str, Any], actor: str) -> Bead:
    bead_id = bead.id
    old = bead.to_json_dict()
    new = dict(old)
    for key, value in fields.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    old_status, new_status = old.get("status"), new.get("status")
    if new_status != old_status:
        if new_status == Status.CLOSED:
            new.setdefault("closed_at", now_iso())
        elif old_status == Status.CLOSED and "closed_at" not in fields:
            new.pop("closed_at", None)
            if "close_reason" not in fields:
                new.pop("close_reason", None)
    if new == old:
        return bead
    new["updated_at"] = now_iso()
    updated = validate(new)
    st.write(updated, old=bead)
    for key in sorted(set(old) | set(new)):
        if key in ("updated_at", "closed_at") or old.get(key) == new.get(key):
            continue
        if key == "close_reason" and new_status != old_status:
            continue  # carried by the closed/reopened event
        if key == "status":
            kind = "closed" if new_status == Status.CLOSED else "status_changed"
            if old_status in Status.DONE and new_status == Status.OPEN:
                kind = "reopened"
            st.event(bead_id, kind, actor, old=old_status, new=new_status, comment=new.get("close_reason"))
        elif key == "labels":
            before, after = old.get("labels") or [], new.get("labels") or []
            for label in after:
                if label not in before:
                    st.event(bead_id, "label_added", actor, new=label)
            for label in before:
                if label not in after:
                    st.event(bead_id, "label_removed", actor, old=label)
        else:
            st.event(bead_id, "updated", actor, old=old.get(key), new=new.get(key), comment=key)
    return updated


def claim(st: WriteState, bead_id: str, assignee: str, actor: str = "") -> Bead | None:
    """Compare-and-set: open and unassigned → in_progress + assignee; None if not claimable."""
    if not isinstance(assignee, str) or not assignee:
        raise InvalidBead("assignee", "must be a non-empty string")
    bead = get(st.conn, bead_id)
    if bead.status != Status.OPEN or bead.assignee:
        return None
    new = bead.model_copy(update={"status": Status.IN_PROGRESS, "assignee": assignee, "updated_at": now_iso()})
    st.write(new, old=bead)
    st.event(bead_id, "claimed", actor or st.actor or assignee, old=bead.status, new=assignee)
    return new


def close_bead(st: WriteState, bead_id: str, reason: str = "", actor: str = "") -> Bead:
    bead = get(st.conn, bead_id)
    if bead.status == Status.CLOSED:
        return bead
    return _apply(st, bead, {"status": Status.CLOSED, "close_reason": reason or None}, actor or st.actor)


def reopen(st: WriteState, bead_id: str, actor: str = "") -> Bead:
    bead = get(st.conn, bead_id)
    if bead.status == Status.OPEN:
        return bead
    return _apply(st, bead, {"status": Status.OPEN, "closed_at": None, "close_reason": None}, actor or st.actor)


def add_comment(st: WriteState, bead_id: str, author: str, text: str) -> Bead:
    if not isinstance(text, str) or not text.strip():
        raise InvalidBead("text", "a comment needs text")
    bead = get(st.conn, bead_id)
    seq = meta_int(st.conn, "comment_seq") + 1
    set_meta(st.conn, "comment_seq", seq)
    comment = Comment(id=seq, issue_id=bead_id, author=author, text=text)
    new = bead.model_copy(update={"comments": [*(bead.comments or []), comment], "updated_at": now_iso()})
    st.write(new, old=bead)
    st.event(bead_id, "commented", author or st.actor, comment=text)
    return new


def add_labels(st: WriteState, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
    bead = get(st.conn, bead_id)
    wanted = [check_label(x) for x in labels]
    current = list(bead.labels or [])
    return update(st, bead_id, actor=actor, labels=current + [x for x in wanted if x not in current])


def remove_labels(st: WriteState, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
    bead = get(st.conn, bead_id)
    drop = set(labels)
    return update(st, bead_id, actor=actor, labels=[x for x in bead.labels or [] if x not in drop] or None)


_CHILD_ID = re.compile(r"^(.+)\.(\d+)$")


def import_beads(
    st: WriteState, beads: Sequence[Bead], actor: str = "import", raw_lines: Sequence[str] | None = None
) -> ImportResult:
    """Upsert parsed beads: a new id is created; an identical line (same content hash) is skipped; on a
    different one the newer ``updated_at`` wins (a tie takes the incoming copy). ``raw_lines``: the
    lines the beads were parsed from, when known — a line already in canonical form that matches the
    stored hash is skipped without re-rendering it."""
    conn = st.conn
    existing: dict[str, tuple[str, str]] = {
        bead_id: (updated, digest)
        for bead_id, updated, digest in conn.execute("SELECT id, updated_at, content_hash FROM issues")
    }
    created = updated_n = unchanged = 0
    events: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    replaced: list[tuple[str]] = []
    written: list[Bead] = []
    now = now_iso()
    max_comment = 0
    counters: dict[str, int] = {}
    incoming = {b.id for b in beads}
    old_parents = defaultdict(list)
    for issue_id, parent in conn.execute(
        "SELECT issue_id, depends_on_id FROM dependencies WHERE type = 'parent-child'"
    ):
        if issue_id in incoming:
            old_parents[issue_id].append(parent)
    for n, bead in enumerate(beads):
        old = existing.get(bead.id)
        if old is not None and raw_lines is not None and old[1] == content_hash(raw_lines[n]):
            unchanged += 1
            continue
        for c in bead.comments or ():
            if isinstance(c.id, int):
                max_comment = max(max_comment, c.id)
        m = _CHILD_ID.match(bead.id)
        if m:
            counters[m[1]] = max(counters.get(m[1], 0), int(m[2]))
        values = row_values(bead)
        if old is None:
            created += 1
            events.append((bead.id, "created", actor, None, bead.title, "import", now))
        else:
            if old[1] == values[-1] or values[5] < old[0]:  # same content hash, or older
                unchanged += 1
                continue
            updated_n += 1
            events.append((bead.id, "updated", actor, None, None, "import", now))
            st.parents.update(old_parents.get(bead.id, ()))
            replaced.append((bead.id,))
        rows.append(values)
        written.append(bead)
        st.changed[bead.id] = bead
        st.dirty.add(bead.id)
        st.own_deps.add(bead.id)
    # in bulk: one executemany per statement is several times faster than a write_row() per bead
    conn.executemany(
        "DELETE FROM issues_fts WHERE rowid = (SELECT rowid FROM issues WHERE id = ?)", replaced
    )
    conn.executemany("DELETE FROM dependencies WHERE issue_id = ?", replaced)
    conn.executemany(_UPSERT, rows)
    conn.executemany(
        _INSERT_DEP, [(d.issue_id, d.depends_on_id, d.type) for b in written for d in b.dependencies or ()]
    )
    conn.executemany("DELETE FROM fts_pending WHERE rowid = (SELECT rowid FROM issues WHERE id = ?)", replaced)
    if len(written) > 500:
        rowids = dict(conn.execute("SELECT id, rowid FROM issues"))
    else:
        rowids = {
            b.id: conn.execute("SELECT rowid FROM issues WHERE id = ?", (b.id,)).fetchone()[0] for b in written
        }
    conn.executemany(_INSERT_FTS, [(rowids[b.id], *_fts_text(b)) for b in written])
    conn.executemany(_INSERT_EVENT, events)
    if max_comment > meta_int(conn, "comment_seq"):
        set_meta(conn, "comment_seq", max_comment)
    conn.executemany(
        "INSERT INTO child_counters (parent_id, last_child) VALUES (?, ?) "
        "ON CONFLICT(parent_id) DO UPDATE SET last_child = MAX(last_child, excluded.last_child)",
        sorted(counters.items()),
    )
    return ImportResult(created=created, updated=updated_n, unchanged=unchanged)


# -- reads ------------------------------------------------------------------------------------------------
READY_SQL = (
    "SELECT data FROM issues WHERE workable = 1 AND blocked = 0 AND (defer_until IS NULL OR defer_until <= ?) "
    "ORDER BY priority, created_at, id"
)
_UNDER = """
WITH RECURSIVE under(id) AS (
    SELECT issue_id FROM dependencies WHERE depends_on_id = ? AND type = 'parent-child'
    UNION
    SELECT d.issue_id FROM dependencies d JOIN under u ON d.depends_on_id = u.id WHERE d.type = 'parent-child'
)
"""


def ready(
    conn: sqlite3.Connection, limit: int | None = None, parent: str | None = None, now: datetime | None = None
) -> list[Bead]:
    params: list[Any] = [now_key(now)]
    sql = READY_SQL
    if parent is not None:
        sql = _UNDER + sql.replace("WHERE workable", "WHERE id IN (SELECT id FROM under) AND workable")
        params.insert(0, parent)
    if limit and limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    return [Bead.model_validate_json(data) for (data,) in conn.execute(sql, params)]


def blocked(conn: sqlite3.Connection) -> list[Bead]:
    return load(conn, f"WHERE blocked = 1 AND status NOT IN {_DONE}")


def list_beads(
    conn: sqlite3.Connection,
    status: str | Sequence[str] | None = None,
    parent: str | None = None,
    issue_type: str | Sequence[str] | None = None,
    label: str | Sequence[str] | None = None,
    assignee: str | None = None,
    limit: int | None = None,
) -> list[Bead]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("issue_type", issue_type)):
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
        params.extend(values)
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
    tail = ""
    if limit and limit > 0:
        tail = "LIMIT ?"
        params.append(limit)
    return load(conn, where, params, tail)


_FTS_OPERATORS = re.compile(r'["()*:^+]|\b(AND|OR|NOT|NEAR)\b')


def fts_query(query: str, syntax: bool | None = None) -> str:
    """The FTS5 MATCH expression for ``query``. With ``syntax`` None, text without FTS5 operators is
    taken as plain words (each quoted, all required), so ``merge-driver`` or ``gt-1a2b`` just work."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidBead("query", "search needs some text")
    if syntax is None:
        syntax = bool(_FTS_OPERATORS.search(query))
    if syntax:
        return query
    return " ".join('"' + word.replace('"', '""') + '"' for word in query.split())


def search(
    conn: sqlite3.Connection, query: str, limit: int = 20, syntax: bool | None = None
) -> list[tuple[Bead, float]]:
    """Beads matching ``query`` over title, description, notes and comments, best (bm25) first."""
    match = fts_query(query, syntax)
    sql = (
        "SELECT issues.data, bm25(issues_fts, 10.0, 4.0, 2.0, 1.0) AS score "
        "FROM issues_fts JOIN issues ON issues.rowid = issues_fts.rowid "
        "WHERE issues_fts MATCH ? ORDER BY score, issues.id"
    )
    params: list[Any] = [match]
    if limit and limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise
        raise LedgerError(
            f"invalid search query {query!r}: {e}. Put words in double quotes to search for them "
            "literally, or use plain words without FTS5 operators"
        ) from None
    return [(Bead.model_validate_json(data), -score) for data, score in rows]


EVENT_KEYS = ("id", "issue_id", "event_type", "actor", "old_value", "new_value", "comment", "created_at")


def events(conn: sqlite3.Connection, bead_id: str) -> list[BeadEvent]:
    rows = conn.execute(
        f"SELECT {', '.join(EVENT_KEYS)} FROM events WHERE issue_id = ? ORDER BY id", (bead_id,)
    ).fetchall()
    return [BeadEvent.model_validate(dict(zip(EVENT_KEYS, row, strict=True))) for row in rows]


def export_text(conn: sqlite3.Connection) -> str:
    """The JSONL: the stored canonical lines in id order (byte order, as ``sorted()`` on str)."""
    return "".join(data + "\n" for (data,) in conn.execute("SELECT data FROM issues ORDER BY id"))


def dependency_tree(
    conn: sqlite3.Connection, bead_id: str, *, reverse: bool = False, max_depth: int = 50
) -> dict[str, Any]:
    """The bead and, recursively, what it depends on (``reverse``: what depends on it), every type.

    Each node: ``id``, ``title``, ``status``, ``priority``, ``issue_type``, ``dep_type`` (the edge that
    led here, None at the root), ``children``; ``missing`` for a target that is not in the ledger;
    ``repeat`` when the bead was already shown higher up this branch (a cycle) or elsewhere."""
    root = get(conn, bead_id)
    column, other = ("depends_on_id", "issue_id") if reverse else ("issue_id", "depends_on_id")
    seen: set[str] = set()

    def node(bead_id: str, dep_type: str | None, depth: int, path: frozenset[str]) -> dict[str, Any]:
        row = conn.execute(
            "SELECT status, priority, issue_type, json_extract(data, '$.title') FROM issues WHERE id = ?",
            (bead_id,),
        ).fetchone()
        out: dict[str, Any] = {"id": bead_id, "dep_type": dep_type}
        if row is None:
            out.update(missing=True, children=[])
            return out
        out.update(status=row[0], priority=row[1], issue_type=row[2], title=row[3], children=[])
        if bead_id in path or bead_id in seen:
            out["repeat"] = True
            return out
        seen.add(bead_id)
        if depth >= max_depth:
            out["truncated"] = True
            return out
        edges = conn.execute(
            f"SELECT {other}, type FROM dependencies WHERE {column} = ? ORDER BY seq", (bead_id,)
        ).fetchall()
        out["children"] = [node(t, ty, depth + 1, path | {bead_id}) for t, ty in edges]
        return out

    tree = node(root.id, None, 0, frozenset())
    return tree


def cycles(conn: sqlite3.Connection) -> list[list[str]]:
    """Every cycle of blocking/ordering edges, one per strongly connected component (imports may bring
    them; adding one is refused)."""
    edges = conn.execute(
        f"SELECT issue_id, depends_on_id FROM dependencies WHERE type IN {_CYCLE_TYPES} ORDER BY seq"
    ).fetchall()
    return graph.all_cycles(edges)
