"""The working store of the ledger: SQLite (WAL) through aiosqlite.

Each bead is one row: its full JSON (``Bead.to_json_dict`` minus ``dependencies``, unknown fields
included) plus indexed columns; dependencies live in their own table (in their original order), the
audit trail in ``events``. Every write is one ``BEGIN IMMEDIATE`` transaction, writers are serialised by
an asyncio lock, reads go through a second connection and so only ever see committed state. After each
committed transaction that changed something the version goes up by one and listeners are told.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from pydantic import ValidationError

from gastown.ledger import graph, sync
from gastown.ledger.ids import id_candidates
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

__all__ = [
    "BeadNotFound",
    "DependencyCycle",
    "ImportResult",
    "InvalidBead",
    "LedgerError",
    "Listener",
    "Store",
    "Tx",
]

log = logging.getLogger(__name__)

Listener = Callable[[LedgerChange], None]

# PRAGMA user_version n means MIGRATIONS[:n] have been applied.
MIGRATIONS: tuple[str, ...] = (
    """
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
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Fields update() may set: the model's own plus the Beads fields we know and keep as extras.
_NOT_UPDATABLE = frozenset({"id", "dependencies", "comments", "created_at", "updated_at"})
UPDATABLE_FIELDS = frozenset((set(Bead.model_fields) | set(sync.BEAD_KEY_ORDER)) - _NOT_UPDATABLE)


def _sort_ts(value: str) -> str:
    try:
        return parse_ts(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return value


def _invalid(err: ValidationError) -> InvalidBead:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "bead"
    return InvalidBead(field, first.get("msg", "invalid value"))


def _validate(data: dict[str, Any]) -> Bead:
    try:
        return Bead.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None


def _check_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidBead("title", "must be a non-empty string")
    return title


def _check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 4:
        raise InvalidBead("priority", f"must be an integer 0..4 (got {priority!r})")
    return priority


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _row_values(bead: Bead) -> tuple[Any, ...]:
    data = bead.to_json_dict()
    data.pop("dependencies", None)
    return (
        bead.id,
        bead.status,
        bead.priority,
        bead.issue_type,
        _sort_ts(bead.created_at),
        _sort_ts(bead.updated_at),
        bead.assignee,
        bead.parent_id,
        json.dumps(data, ensure_ascii=False),
    )


_UPSERT = """
INSERT INTO issues (id, status, priority, issue_type, created_at, updated_at, assignee, parent, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET status=excluded.status, priority=excluded.priority,
    issue_type=excluded.issue_type, created_at=excluded.created_at, updated_at=excluded.updated_at,
    assignee=excluded.assignee, parent=excluded.parent, data=excluded.data
"""
_INSERT_DEP = "INSERT OR IGNORE INTO dependencies (issue_id, depends_on_id, type, data) VALUES (?, ?, ?, ?)"
_INSERT_EVENT = (
    "INSERT INTO events (issue_id, event_type, actor, old_value, new_value, comment, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _dep_row(dep: Dependency) -> tuple[str, str, str, str]:
    data = json.dumps(dep.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    return (dep.issue_id, dep.depends_on_id, dep.type, data)


async def _load(conn: aiosqlite.Connection, where: str = "", params: Sequence[Any] = ()) -> list[Bead]:
    """Beads matching ``where`` (over ``issues``), ordered by priority, creation, id, with their deps."""
    sql = f"SELECT id, data FROM issues {where} ORDER BY priority, created_at, id"
    async with conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    if not rows:
        return []
    deps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if len(rows) == 1:
        dep_sql, dep_params = (
            "SELECT issue_id, data FROM dependencies WHERE issue_id = ? ORDER BY seq",
            (rows[0][0],),
        )
    else:
        dep_sql = (
            "SELECT issue_id, data FROM dependencies WHERE issue_id IN "
            f"(SELECT id FROM issues {where}) ORDER BY seq"
        )
        dep_params = tuple(params)
    async with conn.execute(dep_sql, dep_params) as cur:
        async for issue_id, data in cur:
            deps[issue_id].append(json.loads(data))
    out = []
    for bead_id, data in rows:
        d = json.loads(data)
        if bead_id in deps:
            d["dependencies"] = deps[bead_id]
        out.append(Bead.model_validate(d))
    return out


async def _get(conn: aiosqlite.Connection, bead_id: str) -> Bead:
    beads = await _load(conn, "WHERE id = ?", (bead_id,))
    if not beads:
        raise BeadNotFound(bead_id)
    return beads[0]


class Tx:
    """The write operations, inside one transaction (see ``Store.batch``)."""

    def __init__(self, store: Store, conn: aiosqlite.Connection, actor: str) -> None:
        self._store = store
        self._conn = conn
        self.actor = actor
        self.changed: dict[str, Bead] = {}
        self._active = True

    # -- helpers ------------------------------------------------------------------------------------
    def _check_active(self) -> None:
        if not self._active:
            raise LedgerError("this batch has ended; open a new one with store.batch()")

    async def _event(
        self,
        bead_id: str,
        event_type: str,
        actor: str,
        old: Any = None,
        new: Any = None,
        comment: str | None = None,
    ) -> None:
        await self._conn.execute(
            _INSERT_EVENT,
            (bead_id, event_type, actor or self.actor, _text(old), _text(new), comment, now_iso()),
        )

    async def _write(self, bead: Bead, *, deps: bool = False) -> Bead:
        await self._conn.execute(_UPSERT, _row_values(bead))
        if deps:
            await self._conn.execute("DELETE FROM dependencies WHERE issue_id = ?", (bead.id,))
            await self._conn.executemany(_INSERT_DEP, [_dep_row(d) for d in bead.dependencies or ()])
        self.changed[bead.id] = bead
        return bead

    async def _exists(self, bead_id: str) -> bool:
        async with self._conn.execute("SELECT 1 FROM issues WHERE id = ?", (bead_id,)) as cur:
            return await cur.fetchone() is not None

    async def _meta_int(self, key: str, default: int = 0) -> int:
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else default

    async def _set_meta(self, key: str, value: Any) -> None:
        await self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, str(value)),
        )

    # -- reads inside the transaction ----------------------------------------------------------------
    async def get(self, bead_id: str) -> Bead:
        self._check_active()
        return await _get(self._conn, bead_id)

    # -- writes -----------------------------------------------------------------------------------
    async def create(
        self,
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
    ) -> Bead:
        self._check_active()
        actor = actor or self.actor
        _check_title(title)
        _check_priority(priority)
        if not isinstance(issue_type, str) or not issue_type.strip():
            raise InvalidBead("issue_type", "must be a non-empty string")
        if parent is not None and not await self._exists(parent):
            raise BeadNotFound(parent)
        async with self._conn.execute("SELECT COUNT(*) FROM issues") as cur:
            (count,) = await cur.fetchone()  # type: ignore[misc]
        now = now_iso()
        bead_id = ""
        for candidate in id_candidates(self._store.prefix, title, existing=count, timestamp=now):
            if not await self._exists(candidate):
                bead_id = candidate
                break
        deps = (
            [Dependency(issue_id=bead_id, depends_on_id=parent, type=DepType.PARENT_CHILD, created_by=actor)]
            if parent
            else None
        )
        bead = _validate(
            {
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
                "labels": list(labels) if labels is not None else None,
                "metadata": metadata,
                "dependencies": deps,
                "created_at": now,
                "updated_at": now,
            }
        )
        await self._write(bead, deps=True)
        await self._event(bead_id, "created", actor, new=title)
        return bead

    async def add_dependency(
        self, issue_id: str, depends_on_id: str, type: str = DepType.BLOCKS, actor: str = ""
    ) -> Bead:
        self._check_active()
        actor = actor or self.actor
        if not isinstance(type, str) or not type:
            raise InvalidBead("type", "dependency type must be a non-empty string")
        if issue_id == depends_on_id:
            raise InvalidBead("depends_on_id", f"{issue_id} cannot depend on itself")
        bead = await _get(self._conn, issue_id)
        if not await self._exists(depends_on_id):
            raise BeadNotFound(depends_on_id)
        existing = bead.dependencies or []
        if any(d.depends_on_id == depends_on_id and d.type == type for d in existing):
            return bead
        if type == DepType.PARENT_CHILD and bead.parent_id is not None:
            raise InvalidBead("parent", f"{issue_id} already has parent {bead.parent_id}")
        if type in graph.CYCLE_TYPES:
            types = sorted(graph.CYCLE_TYPES)
            marks = ",".join("?" * len(types))
            async with self._conn.execute(
                f"SELECT issue_id, depends_on_id FROM dependencies WHERE type IN ({marks})", types
            ) as cur:
                edges = [(a, b) for a, b in await cur.fetchall()]
            path = graph.path_between(edges, depends_on_id, issue_id)
            if path is not None:
                raise DependencyCycle([issue_id, *path])
        dep = Dependency(issue_id=issue_id, depends_on_id=depends_on_id, type=type, created_by=actor)
        new = bead.model_copy(update={"dependencies": [*existing, dep], "updated_at": now_iso()})
        await self._conn.execute(_INSERT_DEP, _dep_row(dep))
        await self._write(new)
        await self._event(issue_id, "dependency_added", actor, new=f"{type}:{depends_on_id}")
        return new

    async def remove_dependency(
        self, issue_id: str, depends_on_id: str, type: str | None = None, actor: str = ""
    ) -> Bead:
        """Remove the dependency (of ``type``, or of any type when None); a missing one is no error."""
        self._check_active()
        actor = actor or self.actor
        bead = await _get(self._conn, issue_id)
        keep = [
            d
            for d in bead.dependencies or []
            if not (d.depends_on_id == depends_on_id and (type is None or d.type == type))
        ]
        if len(keep) == len(bead.dependencies or []):
            return bead
        new = bead.model_copy(update={"dependencies": keep or None, "updated_at": now_iso()})
        await self._write(new, deps=True)
        await self._event(issue_id, "dependency_removed", actor, old=f"{type or '*'}:{depends_on_id}")
        return new

    async def update(self, bead_id: str, *, actor: str = "", **fields: Any) -> Bead:
        """Set fields (``None`` unsets one). Status → closed sets ``closed_at``; leaving closed clears it."""
        self._check_active()
        actor = actor or self.actor
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            raise InvalidBead(unknown[0], "not a field that can be updated")
        if "title" in fields:
            _check_title(fields["title"])
        if "priority" in fields:
            _check_priority(fields["priority"])
        if "status" in fields and (not isinstance(fields["status"], str) or not fields["status"]):
            raise InvalidBead("status", "must be a non-empty string")
        bead = await _get(self._conn, bead_id)
        old = bead.to_json_dict()
        new = dict(old)
        for key, value in fields.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = list(value) if key == "labels" else value
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
        updated = _validate(new)
        await self._write(updated)
        for key in sorted(set(old) | set(new)):
            if key in ("updated_at", "closed_at") or old.get(key) == new.get(key):
                continue
            if key == "close_reason" and new_status != old_status:
                continue  # carried by the closed/reopened event
            if key == "status":
                kind = {Status.CLOSED: "closed"}.get(new_status or "", "status_changed")
                if old_status == Status.CLOSED and new_status == Status.OPEN:
                    kind = "reopened"
                await self._event(
                    bead_id, kind, actor, old=old_status, new=new_status, comment=new.get("close_reason")
                )
            else:
                await self._event(bead_id, "updated", actor, old=old.get(key), new=new.get(key), comment=key)
        return updated

    async def claim(self, bead_id: str, assignee: str, actor: str = "") -> Bead | None:
        """Compare-and-set: open and unassigned → in_progress + assignee; None if not claimable."""
        self._check_active()
        if not assignee:
            raise InvalidBead("assignee", "must be a non-empty string")
        bead = await _get(self._conn, bead_id)
        if bead.status != Status.OPEN or bead.assignee:
            return None
        new = bead.model_copy(
            update={"status": Status.IN_PROGRESS, "assignee": assignee, "updated_at": now_iso()}
        )
        await self._write(new)
        await self._event(bead_id, "claimed", actor or self.actor or assignee, old=bead.status, new=assignee)
        return new

    async def close_bead(self, bead_id: str, reason: str = "", actor: str = "") -> Bead:
        self._check_active()
        bead = await _get(self._conn, bead_id)
        if bead.status == Status.CLOSED:
            return bead
        return await self.update(bead_id, actor=actor, status=Status.CLOSED, close_reason=reason or None)

    async def reopen(self, bead_id: str, actor: str = "") -> Bead:
        self._check_active()
        bead = await _get(self._conn, bead_id)
        if bead.status == Status.OPEN:
            return bead
        return await self.update(bead_id, actor=actor, status=Status.OPEN, closed_at=None, close_reason=None)

    async def add_comment(self, bead_id: str, author: str, text: str) -> Bead:
        self._check_active()
        if not isinstance(text, str) or not text.strip():
            raise InvalidBead("text", "a comment needs text")
        bead = await _get(self._conn, bead_id)
        seq = await self._meta_int("comment_seq") + 1
        await self._set_meta("comment_seq", seq)
        comment = Comment(id=seq, issue_id=bead_id, author=author, text=text)
        new = bead.model_copy(update={"comments": [*(bead.comments or []), comment], "updated_at": now_iso()})
        await self._write(new)
        await self._event(bead_id, "commented", author or self.actor, comment=text)
        return new

    async def import_beads(self, beads: Sequence[Bead], actor: str = "import") -> ImportResult:
        """Upsert parsed beads: new ids are created; on existing ids the newer ``updated_at`` wins
        (a tie with different content takes the incoming copy)."""
        self._check_active()
        existing: dict[str, tuple[str, str]] = {}
        async with self._conn.execute("SELECT id, updated_at, data FROM issues") as cur:
            async for bead_id, updated, data in cur:
                existing[bead_id] = (updated, data)
        created = updated_n = unchanged = 0
        rows, dep_rows, events, replaced = [], [], [], []
        now = now_iso()
        max_comment = 0
        for bead in beads:
            for c in bead.comments or ():
                if isinstance(c.id, int):
                    max_comment = max(max_comment, c.id)
            values = _row_values(bead)
            old = existing.get(bead.id)
            if old is None:
                created += 1
                events.append((bead.id, "created", actor, None, bead.title, "import", now))
            else:
                if values[5] < old[0]:
                    unchanged += 1
                    continue
                if values[5] == old[0]:
                    old_bead = await _get(self._conn, bead.id)
                    if old_bead.to_json_dict() == bead.to_json_dict():
                        unchanged += 1
                        continue
                updated_n += 1
                replaced.append((bead.id,))
                events.append((bead.id, "updated", actor, None, None, "import", now))
            rows.append(values)
            dep_rows.extend(_dep_row(d) for d in bead.dependencies or ())
            self.changed[bead.id] = bead
        await self._conn.executemany(_UPSERT, rows)
        await self._conn.executemany("DELETE FROM dependencies WHERE issue_id = ?", replaced)
        await self._conn.executemany(_INSERT_DEP, dep_rows)
        await self._conn.executemany(_INSERT_EVENT, events)
        if max_comment > await self._meta_int("comment_seq"):
            await self._set_meta("comment_seq", max_comment)
        return ImportResult(created=created, updated=updated_n, unchanged=unchanged)


class Store:
    """The ledger's SQLite store. Open with ``await Store.open(path)`` (or ``async with await ...``)."""

    def __init__(self, db_path: Path, prefix: str, wconn: aiosqlite.Connection, rconn: aiosqlite.Connection):
        self.db_path = db_path
        self.prefix = prefix
        self._wconn = wconn
        self._rconn = rconn
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._version = 0

    # -- lifecycle ------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, db_path: Path | str, prefix: str = "gt") -> Store:
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        wconn = await aiosqlite.connect(db_path, isolation_level=None)
        try:
            await cls._configure(wconn)
            await wconn.execute("PRAGMA journal_mode=WAL")
            await cls._migrate(wconn)
            rconn = await aiosqlite.connect(db_path, isolation_level=None)
        except BaseException:
            await wconn.close()
            raise
        await cls._configure(rconn)
        store = cls(db_path, prefix, wconn, rconn)
        store._version = await store._read_version(rconn)
        return store

    @staticmethod
    async def _configure(conn: aiosqlite.Connection) -> None:
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            async with conn.execute("PRAGMA user_version") as cur:
                (current,) = await cur.fetchone()  # type: ignore[misc]
            if current > SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger database schema {current} is newer than this gastown understands ({SCHEMA_VERSION})"
                )
            for script in MIGRATIONS[current:]:
                for statement in (s.strip() for s in script.split(";")):
                    if statement:
                        await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

    @staticmethod
    async def _read_version(conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT value FROM meta WHERE key = 'version'") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        async with self._lock:
            await self._rconn.close()
            await self._wconn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- versions and listeners -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Monotonic; +1 per committed transaction that changed something."""
        return self._version

    def add_listener(self, cb: Listener) -> Callable[[], None]:
        """Call ``cb(LedgerChange)`` after every committed change; returns a function that removes it."""
        self._listeners.append(cb)
        return lambda: self.remove_listener(cb)

    def remove_listener(self, cb: Listener) -> None:
        if cb in self._listeners:
            self._listeners.remove(cb)

    def _notify(self, change: LedgerChange) -> None:
        for cb in list(self._listeners):
            try:
                cb(change)
            except Exception:
                log.exception("ledger listener %r failed on version %d", cb, change.version)

    # -- transactions ---------------------------------------------------------------------------------
    @asynccontextmanager
    async def batch(self, actor: str = "") -> AsyncIterator[Tx]:
        """One transaction: everything inside commits together or (on an exception) not at all."""
        async with self._lock:
            conn = self._wconn
            await conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self, conn, actor)
            try:
                yield tx
                change = None
                if tx.changed:
                    version = await tx._meta_int("version") + 1
                    await tx._set_meta("version", version)
                    change = LedgerChange(version=version, changed=list(tx.changed.values()))
                await conn.execute("COMMIT")
            except BaseException:
                tx._active = False
                await conn.execute("ROLLBACK")
                raise
            tx._active = False
            if change is not None:
                self._version = change.version
                self._notify(change)

    # -- single-operation writes (each its own transaction) --------------------------------------------
    async def create(
        self,
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
    ) -> Bead:
        async with self.batch(actor) as tx:
            return await tx.create(
                title,
                description=description,
                acceptance_criteria=acceptance_criteria,
                design=design,
                notes=notes,
                priority=priority,
                issue_type=issue_type,
                parent=parent,
                labels=labels,
                assignee=assignee,
                metadata=metadata,
            )

    async def add_dependency(
        self, issue_id: str, depends_on_id: str, type: str = DepType.BLOCKS, actor: str = ""
    ) -> Bead:
        async with self.batch(actor) as tx:
            return await tx.add_dependency(issue_id, depends_on_id, type)

    async def remove_dependency(
        self, issue_id: str, depends_on_id: str, type: str | None = None, actor: str = ""
    ) -> Bead:
        async with self.batch(actor) as tx:
            return await tx.remove_dependency(issue_id, depends_on_id, type)

    async def update(self, bead_id: str, *, actor: str = "", **fields: Any) -> Bead:
        async with self.batch(actor) as tx:
            return await tx.update(bead_id, **fields)

    async def claim(self, bead_id: str, assignee: str, actor: str = "") -> Bead | None:
        async with self.batch(actor) as tx:
            return await tx.claim(bead_id, assignee)

    async def close_bead(self, bead_id: str, reason: str = "", actor: str = "") -> Bead:
        async with self.batch(actor) as tx:
            return await tx.close_bead(bead_id, reason)

    async def reopen(self, bead_id: str, actor: str = "") -> Bead:
        async with self.batch(actor) as tx:
            return await tx.reopen(bead_id)

    async def add_comment(self, bead_id: str, author: str, text: str) -> Bead:
        async with self.batch(author) as tx:
            return await tx.add_comment(bead_id, author, text)

    # -- reads (committed state only) -----------------------------------------------------------------
    async def get(self, bead_id: str) -> Bead:
        return await _get(self._rconn, bead_id)

    async def list(
        self,
        status: str | Sequence[str] | None = None,
        parent: str | None = None,
        issue_type: str | Sequence[str] | None = None,
    ) -> builtins.list[Bead]:
        """Beads filtered by status / direct parent / type, ordered by priority then creation."""
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        for column, value in (("status", status), ("issue_type", issue_type)):
            if value is None:
                continue
            values = [value] if isinstance(value, str) else builtins.list(value)
            clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
        if parent is not None:
            clauses.append("parent = ?")
            params.append(parent)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return await _load(self._rconn, where, params)

    async def children(self, parent_id: str) -> builtins.list[Bead]:
        return await self.list(parent=parent_id)

    async def ready(self, limit: int | None = None, parent: str | None = None) -> builtins.list[Bead]:
        """Ready beads (see ``graph.ready``); ``parent`` keeps descendants of that bead; limit 0/None = all."""
        beads = await self.list()
        out = graph.ready(beads)
        if parent is not None:
            kids = graph.children_index(beads)
            under: set[str] = set()
            frontier = [parent]
            while frontier:
                for child in kids.get(frontier.pop(), ()):
                    if child not in under:
                        under.add(child)
                        frontier.append(child)
            out = [b for b in out if b.id in under]
        return out[:limit] if limit and limit > 0 else out

    async def blocked(self) -> builtins.list[Bead]:
        """Beads not closed/tombstone that are blocked by the dependency rules."""
        beads = await self.list()
        ids = graph.blocked_ids(beads)
        return [b for b in beads if b.id in ids and b.status not in Status.DONE]

    async def events(self, bead_id: str) -> builtins.list[BeadEvent]:
        async with self._rconn.execute(
            "SELECT id, issue_id, event_type, actor, old_value, new_value, comment, created_at "
            "FROM events WHERE issue_id = ? ORDER BY id",
            (bead_id,),
        ) as cur:
            rows = await cur.fetchall()
        keys = ("id", "issue_id", "event_type", "actor", "old_value", "new_value", "comment", "created_at")
        return [BeadEvent.model_validate(dict(zip(keys, row, strict=True))) for row in rows]

    # -- JSONL ----------------------------------------------------------------------------------------
    async def export_jsonl(self, path: Path | str) -> bool:
        """Write every bead (tombstones too) deterministically; returns whether the file changed."""
        text = sync.render_jsonl(await self.list())
        return await asyncio.to_thread(sync.write_atomic, Path(path), text)

    async def import_jsonl(self, path: Path | str, actor: str = "import") -> ImportResult:
        """All or nothing: every line is parsed and validated before anything is written."""
        beads = await asyncio.to_thread(sync.parse_jsonl, Path(path))
        async with self.batch(actor) as tx:
            return await tx.import_beads(beads, actor)
