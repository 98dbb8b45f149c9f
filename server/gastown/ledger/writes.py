"""Writes: one transaction's state (:class:`WriteState`), taking the write lock, and every write
operation as a plain function over ``sqlite3`` — create, update, claim, close, dependencies, comments,
labels, import. Each records audit events and what ready/blocked must recompute (``blocked``)."""

from __future__ import annotations

import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gastown.ledger import graph, sync
from gastown.ledger.blocked import refresh_blocked
from gastown.ledger.ids import child_id, id_candidates
from gastown.ledger.model import (
    Bead,
    BeadNotFound,
    Comment,
    Dependency,
    DependencyCycle,
    DepType,
    InvalidBead,
    LedgerChange,
    Status,
    now_iso,
)
from gastown.ledger.rows import (
    _CYCLE_TYPES,
    _INSERT_DEP,
    _INSERT_EVENT,
    _INSERT_FTS,
    _UPSERT,
    Stored,
    _fts_text,
    _parents_of,
    _text,
    check_label,
    check_priority,
    check_title,
    content_hash,
    exists,
    flush_fts,
    fts_pending,
    get,
    mark_fts_done,
    meta_int,
    read_stored,
    row_values,
    set_meta,
    validate,
    write_row,
)
from gastown.ledger.sync import ImportResult

# Fields update() may set: the model's own plus the Beads fields we know and keep as extras.
_NOT_UPDATABLE = frozenset({"id", "dependencies", "comments", "created_at", "updated_at"})
UPDATABLE_FIELDS = frozenset((set(Bead.model_fields) | set(sync.BEAD_KEY_ORDER)) - _NOT_UPDATABLE)

# -- write state ------------------------------------------------------------------------------------------
@dataclass
class SizeHint:
    """The ledger's size, for the length of new hash ids: read once and then counted up for
    ``REREAD_EVERY`` creates. The length changes only near ~1K, ~6K, ~35K and ~210K beads, so an estimate
    a few dozen off (other processes' creates) picks the same length; a collision is retried anyway."""

    REREAD_EVERY = 64
    size: int = -1
    uses: int = 0

    def get(self, conn: sqlite3.Connection) -> int:
        if self.size < 0 or self.uses >= self.REREAD_EVERY:
            self.size = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM issues").fetchone()[0]
            self.uses = 0
        self.uses += 1
        return self.size

    def grew(self) -> None:
        if self.size >= 0:
            self.size += 1


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
    fresh: set[str] = field(default_factory=set)  # inserted by this transaction
    sizes: SizeHint = field(default_factory=SizeHint)  # (the Store keeps one across transactions)

    def event(
        self,
        bead_id: str,
        event_type: str,
        actor: str,
        old: Any = None,
        new: Any = None,
        comment: str | None = None,
        at: str | None = None,
    ) -> None:
        self.conn.execute(
            _INSERT_EVENT,
            (bead_id, event_type, actor or self.actor, _text(old), _text(new), comment, at or now_iso()),
        )

    def write(
        self,
        bead: Bead,
        *,
        deps: bool = False,
        old: Bead | None = None,
        stored: Stored | None = None,
        line: str | None = None,
        same_text: bool = False,
    ) -> Bead:
        """Store ``bead``. The version it replaces, if any: ``old`` (a model) or ``stored`` (as read by
        ``read_stored``: no model needed). ``line``: its JSONL line if already rendered; ``same_text``:
        the caller knows no searchable text changed."""
        write_row(self.conn, bead, deps=deps, line=line, old=old, fresh=old is None and stored is None,
                  same_text=same_text, old_indexed=None if stored is None else stored.indexed)
        self.changed[bead.id] = bead
        if old is None and stored is None:
            self.fresh.add(bead.id)
            self.dirty.add(bead.id)
        else:
            old_status = old.status if old is not None else stored.data.get("status") if stored else None
            if (old_status in Status.DONE) != (bead.status in Status.DONE):
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


def try_begin(conn: sqlite3.Connection) -> bool:
    """Take the write lock if it is free now; False if another connection holds it. Waits no longer
    than the connection's busy timeout (the Store's writer has 0: its inline path never waits)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as e:
        if not is_busy(e):
            raise
        return False


def begin_immediate(conn: sqlite3.Connection, patience_s: float | None = None) -> None:
    """Take the write lock, waiting for other processes (SQLite's busy timeout, then retries)."""
    if try_begin(conn):
        return
    deadline = time.monotonic() + (PATIENCE_S if patience_s is None else patience_s)
    (before,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")  # SQLite waits, and we retry
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if not is_busy(e) or time.monotonic() >= deadline:
                    raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(before)}")


def begin(conn: sqlite3.Connection, prefix: str, actor: str) -> WriteState:
    begin_immediate(conn)
    return WriteState(conn, prefix, actor)


_DEPENDED_ON = "SELECT 1 FROM dependencies WHERE depends_on_id = ? LIMIT 1"
# (no RETURNING: in SQLite 3.40 the UPDATE and a SELECT cost a fifth less than the UPDATE RETURNING)
_BUMP_VERSION = "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"


def finish(st: WriteState) -> LedgerChange | None:
    """Bring ready/blocked up to date and bump the version; the caller commits."""
    for bead_id in st.fresh - st.own_deps:
        # a new bead without dependencies of its own changes nobody's flags unless a dependency already
        # names it (a dangling one, imported from elsewhere): one index probe instead of the seeds query
        if st.conn.execute(_DEPENDED_ON, (bead_id,)).fetchone() is None:
            st.dirty.discard(bead_id)
    if len(st.own_deps) > 1000:  # a big import: one pass over everything is cheaper
        refresh_blocked(st.conn, (), everything=True)
    elif st.dirty or st.parents or st.own_deps:
        refresh_blocked(st.conn, st.dirty, st.parents, st.own_deps)
    if not st.changed:
        return None
    if st.conn.execute(_BUMP_VERSION).rowcount == 0:  # a ledger without the row (not one migrate() made)
        set_meta(st.conn, "version", 1)
    return LedgerChange(meta_int(st.conn, "version"), list(st.changed.values()))


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
            conn.execute(
                "INSERT INTO child_counters (parent_id, last_child) VALUES (?, 1) "
                "ON CONFLICT(parent_id) DO UPDATE SET last_child = last_child + 1",
                (parent,),
            )
            (n,) = conn.execute("SELECT last_child FROM child_counters WHERE parent_id = ?", (parent,)).fetchone()
            bead_id = child_id(parent, n)
            if not exists(conn, bead_id):
                break
    else:
        candidates = id_candidates(st.prefix, title, existing=st.sizes.get(conn), timestamp=now)
        bead_id = next(candidates)
    fields = {
        **extra,
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
        "created_at": now,
        "updated_at": now,
    }
    plain = not extra and metadata is None  # (then its line is rendered from these fields directly)
    bead = _new_bead(bead_id, parent, actor, fields)
    while True:
        try:
            st.write(bead, deps=True, line=_created_line(bead.id, parent, actor, fields) if plain else None)
            break
        except sqlite3.IntegrityError:
            # a hash id already taken (rare): the insert itself is the check, so the common case
            # spends no query on it
            if parent is not None or not exists(conn, bead.id):
                raise
            bead = _new_bead(next(candidates), parent, actor, fields)
    st.sizes.grew()
    st.event(bead.id, "created", actor, new=title, at=now)
    return bead


# the keys a created bead's line can have (without extras or metadata), in the JSONL's order
_CREATED_KEYS = tuple(k for k in sync.BEAD_KEY_ORDER if k in {
    "id", "title", "description", "design", "acceptance_criteria", "notes", "status", "priority", "issue_type",
    "assignee", "created_by", "labels", "dependencies", "created_at", "updated_at"})


def _created_line(bead_id: str, parent: str | None, actor: str, fields: dict[str, Any]) -> str:
    """The JSONL line of the bead ``_new_bead`` validated from the same arguments — what
    ``sync.bead_line`` renders from the model, without the model (plain fields only: every value is a
    string, an integer or a list of strings, and what is None is left out, as the model leaves it out)."""
    data = {**fields, "id": bead_id, "status": Status.OPEN, "dependencies": None}
    if parent:
        data["dependencies"] = [{"issue_id": bead_id, "depends_on_id": parent, "type": DepType.PARENT_CHILD,
                                 "created_at": fields["created_at"], "created_by": actor}]
    return sync.go_escaped(sync.encode_line({k: v for k in _CREATED_KEYS if (v := data[k]) is not None}))


def _new_bead(bead_id: str, parent: str | None, actor: str, fields: dict[str, Any]) -> Bead:
    deps = (
        [Dependency(issue_id=bead_id, depends_on_id=parent, type=DepType.PARENT_CHILD,
                    created_at=fields["created_at"], created_by=actor)]
        if parent
        else None
    )
    return validate({**fields, "id": bead_id, "dependencies": deps})


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
    return _apply(st, read_stored(st.conn, bead_id), fields, actor)


# Fields whose values are plain strings in the JSONL: a change made of these (or unsets) leaves the new
# bead's dict in its canonical shape, so its line is rendered from that dict (no second model dump).
_STRING_FIELDS = frozenset({"title", "description", "design", "acceptance_criteria", "notes", "status",
                            "assignee", "owner", "closed_at", "close_reason", "external_ref", "created_by"})
_TEXT_FIELDS = frozenset({"title", "description", "notes", "comments"})  # what full-text search indexes


def _apply(st: WriteState, stored: Stored, fields: dict[str, Any], actor: str) -> Bead:
    old = stored.data
    bead_id = old["id"]
    new = dict(old)
    for key, value in fields.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    now = now_iso()
    old_status, new_status = old.get("status"), new.get("status")
    if new_status != old_status:
        if new_status == Status.CLOSED:
            new.setdefault("closed_at", now)
        elif old_status == Status.CLOSED and "closed_at" not in fields:
            new.pop("closed_at", None)
            if "close_reason" not in fields:
                new.pop("close_reason", None)
    if new == old:
        return stored.bead
    new["updated_at"] = now
    updated = validate(new)
    plain = all(k in _STRING_FIELDS and (v is None or isinstance(v, str)) for k, v in fields.items())
    touched = sorted({*fields, "closed_at", "close_reason"})  # every other key is the same in old and new
    st.write(updated, stored=stored, line=sync.bead_line(new) if plain else None,
             same_text=_TEXT_FIELDS.isdisjoint(touched))
    for key in touched:
        if key == "closed_at" or old.get(key) == new.get(key):
            continue
        if key == "close_reason" and new_status != old_status:
            continue  # carried by the closed/reopened event
        if key == "status":
            kind = "closed" if new_status == Status.CLOSED else "status_changed"
            if old_status in Status.DONE and new_status == Status.OPEN:
                kind = "reopened"
            st.event(bead_id, kind, actor, old=old_status, new=new_status, comment=new.get("close_reason"), at=now)
        elif key == "labels":
            before, after = old.get("labels") or [], new.get("labels") or []
            for label in after:
                if label not in before:
                    st.event(bead_id, "label_added", actor, new=label, at=now)
            for label in before:
                if label not in after:
                    st.event(bead_id, "label_removed", actor, old=label, at=now)
        else:
            st.event(bead_id, "updated", actor, old=old.get(key), new=new.get(key), comment=key, at=now)
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
    stored = read_stored(st.conn, bead_id)
    if stored.data.get("status") == Status.CLOSED:
        return stored.bead
    return _apply(st, stored, {"status": Status.CLOSED, "close_reason": reason or None}, actor or st.actor)


def reopen(st: WriteState, bead_id: str, actor: str = "") -> Bead:
    stored = read_stored(st.conn, bead_id)
    if stored.data.get("status", Status.OPEN) == Status.OPEN:
        return stored.bead
    return _apply(st, stored, {"status": Status.OPEN, "closed_at": None, "close_reason": None},
                  actor or st.actor)


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
    if fts_pending(conn):  # (the import indexes what it writes and then moves the high-water mark)
        flush_fts(conn)
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
    mark_fts_done(conn)
    conn.executemany(_INSERT_EVENT, events)
    if max_comment > meta_int(conn, "comment_seq"):
        set_meta(conn, "comment_seq", max_comment)
    conn.executemany(
        "INSERT INTO child_counters (parent_id, last_child) VALUES (?, ?) "
        "ON CONFLICT(parent_id) DO UPDATE SET last_child = MAX(last_child, excluded.last_child)",
        sorted(counters.items()),
    )
    return ImportResult(created=created, updated=updated_n, unchanged=unchanged)


def claim_many(st: WriteState, bead_ids: Iterable[str], assignee: str, actor: str = "") -> list[Bead]:
    """``claim`` for several beads in this one transaction: each is compare-and-set on its own, a bead
    that is not open and unassigned (or not in the ledger) is skipped. Returns the claimed beads, in
    the order asked (an id given twice is claimed once)."""
    if not isinstance(assignee, str) or not assignee:
        raise InvalidBead("assignee", "must be a non-empty string")
    if isinstance(bead_ids, str):
        raise InvalidBead("bead_ids", "must be a list of bead ids, not one string")
    claimed: list[Bead] = []
    for bead_id in dict.fromkeys(bead_ids):
        try:
            bead = claim(st, bead_id, assignee, actor)
        except BeadNotFound:
            continue
        if bead is not None:
            claimed.append(bead)
    return claimed
