"""The working store of the ledger: SQLite (WAL), each connection on its own thread (``worker.SqliteThread``).

Each bead is one row holding its canonical JSONL line (unknown fields included) plus indexed columns —
among them the incrementally maintained ``workable``/``blocked`` flags that make ``ready()`` one scan of
a partial index (see ``core``). Dependencies also live in their own table for graph queries; the audit
trail is in ``events``; titles, descriptions, notes and comments in an FTS5 index.

Every ledger operation is one call of a ``core`` function that does all its SQL: a read is one round trip
to the reader connection's thread; a short write runs right on the event loop's thread when the write
lock is free (no round trip: a fraction of a millisecond, no thread wake-ups), and otherwise — a long
write, or another process holding the lock — one round trip to the writer's thread, which waits there.
Writes run in ``BEGIN IMMEDIATE`` transactions, serialised in-process by an asyncio lock and across
processes by SQLite (busy timeout plus retries, so a concurrent writer waits rather than failing); reads
go through a second connection and so only ever see committed state. After each committed transaction
that changed something the version goes up by one and listeners are told.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from gastown.ledger import core, reader, schema, sync, writes
from gastown.ledger.model import (
    Bead,
    BeadEvent,
    BeadNotFound,
    DependencyCycle,
    DepType,
    InvalidBead,
    LedgerBusy,
    LedgerChange,
    LedgerCorrupt,
    LedgerError,
)
from gastown.ledger.schema import MIGRATIONS, SCHEMA_VERSION
from gastown.ledger.sync import ImportResult
from gastown.ledger.worker import SqliteThread

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
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
T = TypeVar("T")

UPDATABLE_FIELDS = core.UPDATABLE_FIELDS


def _translate(err: sqlite3.Error, path: Path) -> LedgerError | None:
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    if code in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
        return LedgerCorrupt(path, str(err))
    if core.is_busy(err):
        return LedgerBusy(path, writes.PATIENCE_S)
    return None


def _setup(conn: sqlite3.Connection, writer: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout={writes.BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    # scratch b-trees (UNION, recursive CTEs, the refresh's work table) in memory: with the default, each
    # such query opens and unlinks a temp file — most of the cost of a small ready/blocked refresh
    conn.execute("PRAGMA temp_store=MEMORY")
    if writer:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        for statement in core.TEMP_TABLES:
            conn.execute(statement)
        # this connection's commits never copy the WAL back themselves: the Store checkpoints on a
        # connection of its own, off the write path (see ``Store._after_commit``)
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # the write lock only when there is something to migrate (opening never waits for a writer)
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            core.begin_immediate(conn)
            try:
                schema.migrate(conn)  # reads the version again, under the lock
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a garbage file fails here
    if writer:  # never wait inside SQLite: a write finds the lock free or goes to the thread and waits there
        conn.execute("PRAGMA busy_timeout=0")


def _one_shot(
    conn: sqlite3.Connection,
    prefix: str,
    actor: str,
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kw: dict[str, Any],
    wait: bool = True,
    sizes: core.SizeHint | None = None,
) -> tuple[T, LedgerChange | None] | None:
    """BEGIN, one write, refresh ready/blocked, COMMIT: one round trip for a whole store operation.
    ``wait=False``: None at once if another connection holds the write lock."""
    if wait:
        core.begin_immediate(conn)
    elif not core.try_begin(conn):
        return None
    st = core.WriteState(conn, prefix, actor) if sizes is None else core.WriteState(conn, prefix, actor, sizes=sizes)
    try:
        result = fn(st, *args, **kw)
        change = core.finish(st)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result, change


def _commit(st: core.WriteState) -> LedgerChange | None:
    change = core.finish(st)
    st.conn.execute("COMMIT")
    return change


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _import_op(
    st: core.WriteState,
    beads: Sequence[Bead],
    actor: str,
    sync_key: str,
    digest: str,
    raw_lines: Sequence[str] | None = None,
) -> ImportResult:
    result = core.import_beads(st, beads, actor, raw_lines)
    core.set_meta(st.conn, sync_key, digest)
    return result


def _set_meta_op(conn: sqlite3.Connection, key: str, value: str) -> None:
    core.begin_immediate(conn)
    try:
        core.set_meta(conn, key, value)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # never waits for other connections


def _flush_fts_op(conn: sqlite3.Connection) -> None:
    core.begin_immediate(conn)
    try:
        core.flush_fts(conn)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _sync_key(path: Path) -> str:
    return reader.sync_key(path)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Tx:
    """The write operations, inside one transaction (see ``Store.batch``); each is one round trip."""

    def __init__(self, store: Store, state: core.WriteState) -> None:
        self._store = store
        self._st = state
        self.actor = state.actor
        self._active = True

    @property
    def changed(self) -> dict[str, Bead]:
        return self._st.changed

    async def _do(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        if not self._active:
            raise LedgerError("this batch has ended; open a new one with store.batch()")
        return await self._store._run(self._store._wconn.call, fn, self._st, *args, **kw)

    async def get(self, bead_id: str) -> Bead:
        if not self._active:
            raise LedgerError("this batch has ended; open a new one with store.batch()")
        return await self._store._run(self._store._wconn.call, core.get, self._st.conn, bead_id)

    async def create(self, title: str, **fields: Any) -> Bead:
        """See ``Store.create``."""
        return await self._do(core.create, title, **fields)

    async def add_dependency(
        self, issue_id: str, depends_on_id: str, type: str = DepType.BLOCKS, actor: str = ""
    ) -> Bead:
        return await self._do(core.add_dependency, issue_id, depends_on_id, type, actor)

    async def remove_dependency(
        self, issue_id: str, depends_on_id: str, type: str | None = None, actor: str = ""
    ) -> Bead:
        return await self._do(core.remove_dependency, issue_id, depends_on_id, type, actor)

    async def update(self, bead_id: str, *, actor: str = "", **fields: Any) -> Bead:
        return await self._do(core.update, bead_id, actor=actor, **fields)

    async def claim(self, bead_id: str, assignee: str, actor: str = "") -> Bead | None:
        return await self._do(core.claim, bead_id, assignee, actor)

    async def claim_many(self, bead_ids: Iterable[str], assignee: str, actor: str = "") -> builtins.list[Bead]:
        return await self._do(core.claim_many, _id_list(bead_ids), assignee, actor)

    async def close_bead(self, bead_id: str, reason: str = "", actor: str = "") -> Bead:
        return await self._do(core.close_bead, bead_id, reason, actor)

    async def reopen(self, bead_id: str, actor: str = "") -> Bead:
        return await self._do(core.reopen, bead_id, actor)

    async def add_comment(self, bead_id: str, author: str, text: str) -> Bead:
        return await self._do(core.add_comment, bead_id, author, text)

    async def add_labels(self, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
        return await self._do(core.add_labels, bead_id, list(labels), actor)

    async def remove_labels(self, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
        return await self._do(core.remove_labels, bead_id, list(labels), actor)

    async def import_beads(self, beads: Sequence[Bead], actor: str = "import") -> ImportResult:
        return await self._do(core.import_beads, beads, actor)


class Store:
    """The ledger's SQLite store. Open with ``await Store.open(path)`` (or ``async with await ...``)."""

    def __init__(self, db_path: Path, prefix: str, wconn: SqliteThread, rconn: SqliteThread):
        self.db_path = db_path
        self.prefix = prefix
        self._wconn = wconn
        self._rconn = rconn
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._version = 0
        self._closed = False
        self._commits = 0  # since the last checkpoint
        self._ckpt: SqliteThread | None = None
        self._ckpt_task: asyncio.Task[None] | None = None
        self._ckpt_timer: asyncio.TimerHandle | None = None
        self._last_commit = 0.0  # time.monotonic()
        self._checkpoints = 0  # completed, by this store
        self._sizes = core.SizeHint()  # the ledger's size for new ids, kept across transactions

    # -- lifecycle ------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, db_path: Path | str, prefix: str = "gt") -> Store:
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        conns: list[SqliteThread] = []
        try:
            for writer in (True, False):
                conn = await SqliteThread.open(db_path, shared=writer)
                conns.append(conn)
                await conn.run(_setup, writer)
            store = cls(db_path, prefix, conns[0], conns[1])
            store._version = int(await store._read(_get_meta, "version") or 0)
            return store
        except BaseException as e:
            for conn in conns:
                await conn.close()
            if isinstance(e, sqlite3.Error):
                err = _translate(e, db_path) or LedgerError(f"cannot open the ledger database {db_path}: {e}")
                raise err from e
            raise

    async def close(self) -> None:
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._ckpt_timer is not None:
                self._ckpt_timer.cancel()
            if self._ckpt_task is not None:
                await asyncio.gather(self._ckpt_task, return_exceptions=True)
            if self._ckpt is not None:
                await self._ckpt.close()
            await self._rconn.close()
            await self._wconn.close()  # the last connection to close folds the WAL back (SQLite)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @classmethod
    async def rebuild(
        cls, db_path: Path | str, jsonl_path: Path | str, prefix: str = "gt"
    ) -> tuple[Store, ImportResult]:
        """Rebuild the database from the JSONL: the JSONL is read and validated first; then the old
        database (damaged or not) is moved aside to ``<db>.corrupt``, a fresh one is created and the
        JSONL imported. Returns the open store and what was imported."""
        db_path, jsonl_path = Path(db_path), Path(jsonl_path)
        data = await asyncio.to_thread(jsonl_path.read_bytes) if jsonl_path.is_file() else None
        if data is None:
            raise LedgerError(f"cannot rebuild {db_path}: {jsonl_path} does not exist")
        beads = await asyncio.to_thread(sync.parse_jsonl, jsonl_path)
        if db_path.exists():
            os.replace(db_path, db_path.with_name(db_path.name + ".corrupt"))
        for suffix in ("-wal", "-shm"):
            side = db_path.with_name(db_path.name + suffix)
            if side.exists():
                side.unlink()
        store = await cls.open(db_path, prefix)
        try:
            result = await store._write_op(
                "rebuild", _import_op, beads, "rebuild", _sync_key(jsonl_path), _digest(data)
            )
        except BaseException:
            await store.close()
            raise
        return store, result

    # -- plumbing -------------------------------------------------------------------------------------
    async def _run(self, how: Callable[..., Any], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``how(fn, *args, **kw)`` — a connection's ``run`` or ``call`` — with SQLite errors translated."""
        if self._closed:
            raise LedgerError(f"the ledger store {self.db_path} is closed")
        try:
            result: T = await how(fn, *args, **kw)
            return result
        except sqlite3.Error as e:
            err = _translate(e, self.db_path)
            if err is None:
                raise
            raise err from e

    def _run_here(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(writer connection, *args)`` on this thread (the caller holds ``_lock``)."""
        if self._closed:
            raise LedgerError(f"the ledger store {self.db_path} is closed")
        try:
            return self._wconn.here(fn, *args)
        except sqlite3.Error as e:
            err = _translate(e, self.db_path)
            if err is None:
                raise
            raise err from e

    async def _read(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return await self._run(self._rconn.run, fn, *args, **kw)

    async def _write_op(self, actor: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """One write transaction. A short one (everything but ``_ON_THREAD``) runs right here on the
        event loop's thread when the write lock is free — no hop, no thread wake-ups, a fraction of a
        millisecond; otherwise (a long operation, or another process holds the lock) on the writer's
        thread, which waits for the lock."""
        async with self._lock:
            done: tuple[T, LedgerChange | None] | None = None
            if fn not in _ON_THREAD:
                done = self._run_here(_one_shot, self.prefix, actor, fn, args, kw, False, self._sizes)
            if done is None:
                done = await self._run(self._wconn.run, _one_shot, self.prefix, actor, fn, args, kw, True,
                                       self._sizes)
            assert done is not None
            result, change = done
        if change is not None:
            self._version = change.version
            self._after_commit()
            self._notify(change)
        return result

    # Checkpoints, off the write path. The writer does not checkpoint on commit (wal_autocheckpoint=0):
    # after every CHECKPOINT_EVERY commits a PASSIVE checkpoint (it never blocks a reader or a writer)
    # runs on a third connection's thread, so no single write pays for copying the WAL back into the
    # database (an autocheckpoint's cost, every ~100 small writes, with its syncs). A due checkpoint waits
    # for a pause in writing (CHECKPOINT_IDLE_S): its syncs, running beside a burst of writes, stall the
    # writer's appends to the WAL on a busy disk (measured: a tenth of the wall time of 100 closes). A
    # burst that never pauses still gets one every CHECKPOINT_AT_MOST commits, which bounds the WAL.
    CHECKPOINT_EVERY = 64
    CHECKPOINT_IDLE_S = 0.05
    CHECKPOINT_AT_MOST = 256  # (about 15 MB of WAL at most, at ~15 pages a write)

    def _after_commit(self) -> None:
        self._commits += 1
        self._last_commit = time.monotonic()
        if self._commits < self.CHECKPOINT_EVERY or self._ckpt_task is not None or self._closed:
            return
        if self._commits >= self.CHECKPOINT_AT_MOST:
            self._start_checkpoint()
        elif self._ckpt_timer is None:
            self._ckpt_timer = asyncio.get_running_loop().call_later(self.CHECKPOINT_IDLE_S, self._when_idle)

    def _when_idle(self) -> None:
        self._ckpt_timer = None
        if self._closed or self._ckpt_task is not None:
            return
        quiet = time.monotonic() - self._last_commit
        if quiet >= self.CHECKPOINT_IDLE_S:
            self._start_checkpoint()
        else:
            loop = asyncio.get_running_loop()
            self._ckpt_timer = loop.call_later(self.CHECKPOINT_IDLE_S - quiet, self._when_idle)

    def _start_checkpoint(self) -> None:
        if self._ckpt_timer is not None:
            self._ckpt_timer.cancel()
            self._ckpt_timer = None
        self._commits = 0
        self._ckpt_task = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            if self._ckpt is None:
                self._ckpt = await SqliteThread.open(self.db_path)
                await self._ckpt.run(_setup, False)
            await self._ckpt.run(_checkpoint)
            self._checkpoints += 1
        except Exception:  # the next one (or closing the store) tries again
            log.exception("ledger checkpoint of %s failed", self.db_path)
        finally:
            self._ckpt_task = None

    # -- versions and listeners -----------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Monotonic; +1 per committed transaction that changed something. The count lives in the
        database (other processes' writes count too); this is the last value this store saw — after its
        own commits, at open, or on ``refresh_version()``."""
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
            state = await self._run(self._wconn.run, core.begin, self.prefix, actor)
            tx = Tx(self, state)
            try:
                yield tx
                change = await self._run(self._wconn.call, _commit, state)
            except BaseException:
                tx._active = False
                await self._run(self._wconn.run, _rollback)
                raise
            tx._active = False
        if change is not None:
            self._version = change.version
            self._after_commit()
            self._notify(change)

    # -- single-operation writes (each its own transaction, one round trip) ----------------------------
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
        **extra: Any,
    ) -> Bead:
        """A new bead. With ``parent`` its id is ``<parent>.<n>``, else ``<prefix>-<hash>``. ``extra``
        sets other Beads fields (``owner``, ``defer_until``, ``external_ref``, ``ephemeral``, ...)."""
        return await self._write_op(
            actor,
            core.create,
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
            **extra,
        )

    async def add_dependency(
        self, issue_id: str, depends_on_id: str, type: str = DepType.BLOCKS, actor: str = ""
    ) -> Bead:
        """``issue_id`` depends on ``depends_on_id``; a blocking edge that closes a cycle is refused
        with ``DependencyCycle`` naming it."""
        return await self._write_op(actor, core.add_dependency, issue_id, depends_on_id, type)

    async def remove_dependency(
        self, issue_id: str, depends_on_id: str, type: str | None = None, actor: str = ""
    ) -> Bead:
        return await self._write_op(actor, core.remove_dependency, issue_id, depends_on_id, type)

    async def update(self, bead_id: str, *, actor: str = "", **fields: Any) -> Bead:
        return await self._write_op(actor, core.update, bead_id, **fields)

    async def claim(self, bead_id: str, assignee: str, actor: str = "") -> Bead | None:
        """Compare-and-set: open and unassigned → in_progress + assignee; None if not claimable."""
        return await self._write_op(actor, core.claim, bead_id, assignee)

    async def claim_many(self, bead_ids: Iterable[str], assignee: str, actor: str = "") -> builtins.list[Bead]:
        """``claim`` for a whole wave in ONE transaction: each bead is compare-and-set on its own (open
        and unassigned → in_progress + assignee, a ``claimed`` event each); one already claimed, not
        open or not in the ledger is skipped, not an error. Returns the beads this call claimed, in the
        order given. Across stores and processes SQLite's write lock serialises the transactions, so no
        bead is ever claimed twice."""
        return await self._write_op(actor, core.claim_many, _id_list(bead_ids), assignee)

    async def close_bead(self, bead_id: str, reason: str = "", actor: str = "") -> Bead:
        return await self._write_op(actor, core.close_bead, bead_id, reason)

    async def reopen(self, bead_id: str, actor: str = "") -> Bead:
        return await self._write_op(actor, core.reopen, bead_id)

    async def add_comment(self, bead_id: str, author: str, text: str) -> Bead:
        return await self._write_op(author, core.add_comment, bead_id, author, text)

    async def add_labels(self, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
        return await self._write_op(actor, core.add_labels, bead_id, list(labels))

    async def remove_labels(self, bead_id: str, labels: Iterable[str], actor: str = "") -> Bead:
        return await self._write_op(actor, core.remove_labels, bead_id, list(labels))

    async def add_label(self, bead_id: str, label: str, actor: str = "") -> Bead:
        return await self.add_labels(bead_id, [label], actor)

    async def remove_label(self, bead_id: str, label: str, actor: str = "") -> Bead:
        return await self.remove_labels(bead_id, [label], actor)

    # -- reads (committed state only, one round trip each) ---------------------------------------------
    async def get(self, bead_id: str) -> Bead:
        return await self._read(core.get, bead_id)

    async def list(
        self,
        status: str | Sequence[str] | None = None,
        parent: str | None = None,
        issue_type: str | Sequence[str] | None = None,
        label: str | Sequence[str] | None = None,
        assignee: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Bead]:
        """Beads filtered by status / direct parent / type / every label / assignee, ordered by priority
        then creation; limit 0/None = all."""
        return await self._read(core.list_beads, status, parent, issue_type, label, assignee, limit)

    async def children(self, parent_id: str) -> builtins.list[Bead]:
        return await self.list(parent=parent_id)

    async def ready(
        self, limit: int | None = None, parent: str | None = None, now: datetime | None = None
    ) -> builtins.list[Bead]:
        """Ready beads (the rules of ``graph.ready``), priority then creation order; ``parent`` keeps
        descendants of that bead; limit 0/None = all. An index scan: ready/blocked is kept on write."""
        return await self._read(core.ready, limit, parent, now)

    async def blocked(self) -> builtins.list[Bead]:
        """Beads not closed/tombstone that are blocked by the dependency rules."""
        return await self._read(core.blocked)

    async def search(
        self, query: str, limit: int = 20, *, syntax: bool | None = None
    ) -> builtins.list[Bead]:
        """Full-text search over title, description, notes and comments, best match (bm25) first.
        ``syntax``: True = FTS5 query syntax, False = plain words, None = plain unless the query uses
        FTS5 operators. A malformed query raises ``LedgerError``."""
        return [b for b, _ in await self.search_scored(query, limit, syntax=syntax)]

    async def search_scored(
        self, query: str, limit: int = 20, *, syntax: bool | None = None
    ) -> builtins.list[tuple[Bead, float]]:
        """``search`` with each bead's relevance (higher is better)."""
        if await self._read(core.fts_pending):
            async with self._lock:
                await self._run(self._wconn.run, _flush_fts_op)
        return await self._read(core.search, query, limit, syntax)

    async def events(self, bead_id: str) -> builtins.list[BeadEvent]:
        return await self._read(core.events, bead_id)

    async def dependency_tree(self, bead_id: str, *, reverse: bool = False, max_depth: int = 50) -> dict[str, Any]:
        """See ``core.dependency_tree``."""
        return await self._read(core.dependency_tree, bead_id, reverse=reverse, max_depth=max_depth)

    async def cycles(self) -> builtins.list[builtins.list[str]]:
        """Cycles among blocking/parent-child/waits-for edges (imports may bring them)."""
        return await self._read(core.cycles)

    async def refresh_version(self) -> int:
        """Re-read the version from the database (other processes may have written)."""
        self._version = int(await self._read(_get_meta, "version") or 0)
        return self._version

    # -- JSONL ----------------------------------------------------------------------------------------
    async def export_jsonl(self, path: Path | str) -> bool:
        """Write every bead (tombstones too) deterministically; returns whether the file changed."""
        path = Path(path)
        text = await self._read(core.export_text)
        changed = await asyncio.to_thread(sync.write_atomic, path, text)
        digest = _digest(text.encode("utf-8"))
        key = _sync_key(path)
        if await self._read(_get_meta, key) != digest:
            async with self._lock:
                await self._run(self._wconn.run, _set_meta_op, key, digest)
        return changed

    async def import_jsonl(self, path: Path | str, actor: str = "import") -> ImportResult:
        """All or nothing: every line is parsed and validated before anything is written. New ids are
        created; an identical bead is skipped (content hash); otherwise the newer ``updated_at`` wins."""
        path = Path(path)
        data, beads, lines = await asyncio.to_thread(_read_and_parse, path)
        result = await self._write_op(actor, _import_op, beads, actor, _sync_key(path), _digest(data), lines)
        if result.created + result.updated > 1000:
            # move the big write out of the WAL now rather than in the middle of the next small write
            async with self._lock:
                await self._run(self._wconn.run, _checkpoint)
        return result

    async def import_if_changed(self, path: Path | str, actor: str = "import") -> ImportResult | None:
        """Import ``path`` if it differs from what this ledger last exported to or imported from it
        (git pull, checkout, merge...); None when it is unchanged or missing."""
        path = Path(path)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        if await self._read(_get_meta, _sync_key(path)) == _digest(data):
            return None
        return await self.import_jsonl(path, actor)


# Writes that can take long (a whole import; a dependency's cycle check walks the graph): always on the
# writer's thread, so the event loop never waits for them.
_ON_THREAD = frozenset({_import_op, core.add_dependency})


def _read_and_parse(path: Path) -> tuple[bytes, builtins.list[Bead], builtins.list[str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise LedgerError(f"{path}: no such file") from e
    lines: builtins.list[str] = []
    return data, sync.parse_jsonl(path, data, lines), lines


def _id_list(bead_ids: Iterable[str]) -> builtins.list[str]:
    if isinstance(bead_ids, str):
        raise InvalidBead("bead_ids", "must be a list of bead ids, not one string")
    return builtins.list(bead_ids)
