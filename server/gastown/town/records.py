"""Run records: every polecat run, its events (messages, tool calls, permission decisions, token usage,
Witness actions), its duration and exit reason, in SQLite (``.gastown/town.db``, separate from the ledger).

Agent state is derived from these rows (:func:`derive_state`), so `gastown status`, the editor's agent
board and crash recovery all read the same truth. A partial unique index allows exactly one live run per
bead, across processes and restarts: a second start fails unless the first run's owner process is dead.
Events are written in batches (one transaction every ~0.2 s), so thirty chatty polecats cost a few
writes a second; the Witness's heartbeat never waits for the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
from pydantic import BaseModel

from gastown.errors import GastownError
from gastown.ledger.model import now_iso, parse_ts
from gastown.runtime.base import AgentEvent
from gastown.town import runs
from gastown.town.runs import MIGRATIONS, RUN_FIELDS, ExitReason, owner_alive, process_start, run_row
from gastown.town.runs import RunRow as RunRow  # (re-exported: the writers' and readers' row)
from gastown.town.runs import derive_state as derive_state

if TYPE_CHECKING:
    from gastown.town.checkouts import Worktrees

log = logging.getLogger(__name__)

_INSERT_RUN = ("INSERT INTO runs (bead_id, agent, goal_id, owner, owner_pid, owner_start, branch, feedback, "
               "started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_UPDATABLE = frozenset({"session_id", "resumed_from", "worktree", "branch", "base", "detail", "restarts",
                        "nudges", "spawn_ms", "commit_sha"})


class RoleRun(BaseModel):
    """A Mayor or reviewer session's work on one goal or bead: its tokens and wall time."""

    id: int
    role: str
    agent: str
    bead_id: str | None = None
    goal_id: str | None = None
    started_at: str
    ended_at: str
    tokens: int = 0

    @property
    def seconds(self) -> float:
        return max(0.0, (parse_ts(self.ended_at) - parse_ts(self.started_at)).total_seconds())


_ROLE_FIELDS = tuple(RoleRun.model_fields)


class PolecatBusy(Exception):
    """A live polecat already works this bead (in this process or another live one)."""

    def __init__(self, bead_id: str, run: RunRow | None) -> None:
        # run is None when the other live run kept ending and starting while this one retried
        holder = f" ({run.agent}, run #{run.id}, process {run.owner_pid})" if run is not None else ""
        super().__init__(f"bead {bead_id} already has a live polecat{holder}; one polecat per bead")
        self.run = run


class RunRecords:
    """The run-record database of one town. ``await RunRecords.open(path)``; one instance per Town."""

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self._conn = conn
        self.owner = uuid.uuid4().hex[:12]
        self.pid = os.getpid()
        self.pid_start = process_start(self.pid)
        self._lock = asyncio.Lock()
        self._pending: list[tuple[int, AgentEvent]] = []
        self._starts: list[tuple[tuple[Any, ...], asyncio.Future[int | None]]] = []  # runs to insert together
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[Any] | None = None
        self._closed = False

    @classmethod
    async def open(cls, path: Path | str) -> RunRecords:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=5000")
            async with conn.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
                assert row is not None  # PRAGMA user_version always answers one row
                (version,) = row
            for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {n};\nCOMMIT;")
        except BaseException:
            await conn.close()
            raise
        return cls(path, conn)

    async def close(self) -> None:
        if self._closed:
            return
        await self.flush()
        self._closed = True
        await self._conn.close()

    # --- runs --------------------------------------------------------------------------------------
    async def start_run(self, bead_id: str, agent: str, *, goal_id: str | None = None, branch: str | None = None,
                        feedback: bool = False) -> RunRow:
        """Insert a live run; PolecatBusy if the bead has a live run whose owner is alive. A live run of a
        dead owner (crash) is marked ``crashed`` first.

        Runs started in the same turn of the event loop (a wave of polecats) are inserted in ONE
        transaction; a bead whose insert meets a live run is then settled on its own."""
        row = (bead_id, agent, goal_id, self.owner, self.pid, self.pid_start, branch, int(feedback), now_iso())
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._starts.append((row, future))
        if len(self._starts) == 1:
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._insert_starts()))
        run_id = await future
        if run_id is not None:
            return await self.run(run_id)
        return await self._start_one(row)

    async def _insert_starts(self) -> None:
        """Insert every pending start in one transaction; a row that meets the one-live-run index is
        ignored here (its future gets None) and retried alone."""
        batch, self._starts = self._starts, []
        try:
            async with self._lock:
                ids: list[int | None] = []
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for row, _future in batch:
                        cur = await self._conn.execute(_INSERT_RUN.replace("INSERT", "INSERT OR IGNORE", 1), row)
                        ids.append(cur.lastrowid if cur.rowcount == 1 else None)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    raise
        except BaseException as exc:
            for _row, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_row, future), run_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(run_id)

    async def _start_one(self, row: tuple[Any, ...]) -> RunRow:
        bead_id = row[0]
        for _ in range(5):
            try:
                async with self._lock:
                    cur = await self._conn.execute(_INSERT_RUN, row)
                    run_id = cur.lastrowid
                assert run_id is not None  # an INSERT that succeeded has a rowid
                return await self.run(run_id)
            except sqlite3.IntegrityError:
                live = await self.live_run(bead_id)
                if live is None:
                    continue
                if live.owner != self.owner and not owner_alive(live.owner_pid, live.owner_start):
                    await self.end_run(live.id, "crashed", detail="its server process died")
                    continue
                raise PolecatBusy(bead_id, live) from None
        raise PolecatBusy(bead_id, await self.live_run(bead_id))

    async def update_run(self, run_id: int, **fields: Any) -> None:
        bad = set(fields) - _UPDATABLE
        if bad:
            raise ValueError(f"run fields not updatable: {sorted(bad)}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        async with self._lock:
            await self._conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))

    async def end_run(self, run_id: int, exit_reason: ExitReason | str, *, detail: str | None = None,
                      commit_sha: str | None = None) -> None:
        await self.flush()
        async with self._lock:
            await self._conn.execute(
                "UPDATE runs SET live = 0, ended_at = ?, exit_reason = ?, detail = COALESCE(?, detail), "
                "commit_sha = COALESCE(?, commit_sha) WHERE id = ?",
                (now_iso(), exit_reason, detail, commit_sha, run_id))

    async def run(self, run_id: int) -> RunRow:
        rows = await self._select("WHERE id = ?", (run_id,))
        if not rows:
            raise KeyError(f"no run #{run_id}")
        return rows[0]

    async def live_run(self, bead_id: str) -> RunRow | None:
        rows = await self._select("WHERE bead_id = ? AND live = 1", (bead_id,))
        return rows[0] if rows else None

    async def runs(self, bead_id: str | None = None, *, live: bool | None = None, goal_id: str | None = None,
                   limit: int | None = None) -> list[RunRow]:
        where: list[str] = []
        params: list[Any] = []
        if goal_id is not None:
            where.append("goal_id = ?")
            params.append(goal_id)
        if bead_id is not None:
            where.append("bead_id = ?")
            params.append(bead_id)
        if live is not None:
            where.append("live = ?")
            params.append(int(live))
        sql = ("WHERE " + " AND ".join(where)) if where else ""
        sql += " ORDER BY id"
        if limit:
            sql = sql.replace("ORDER BY id", "ORDER BY id DESC") + f" LIMIT {int(limit)}"
        rows = await self._select(sql, params)
        return sorted(rows, key=lambda r: r.id)

    async def latest_runs(self) -> list[RunRow]:
        """The newest run of every bead (what the board and `gastown status` show)."""
        return await self._select("WHERE id IN (SELECT MAX(id) FROM runs GROUP BY bead_id) ORDER BY id")

    async def last_session(self, bead_id: str) -> RunRow | None:
        """The newest run of the bead that has a session id (for resuming)."""
        rows = await self._select("WHERE bead_id = ? AND session_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                                  (bead_id,))
        return rows[0] if rows else None

    async def orphaned_live_runs(self) -> list[RunRow]:
        """Runs still marked live whose owner process is gone (a crash or kill -9)."""
        rows = await self._select("WHERE live = 1")
        return [r for r in rows if r.owner != self.owner and not owner_alive(r.owner_pid, r.owner_start)]

    async def usage(self, *, bead_id: str | None = None, goal_id: str | None = None) -> tuple[int, float]:
        """Tokens and wall seconds spent so far on a bead or a goal (all runs, live ones up to now)."""
        rows = await self._select("WHERE bead_id = ?" if bead_id else "WHERE goal_id = ?",
                                  (bead_id or goal_id,))
        return sum(r.tokens for r in rows), sum(r.seconds for r in rows)

    async def events(self, run_id: int) -> list[dict[str, Any]]:
        await self.flush()
        async with self._conn.execute(
                "SELECT at, kind, tool, approved, tokens, text, detail FROM events WHERE run_id = ? ORDER BY id",
                (run_id,)) as cur:
            rows = await cur.fetchall()
        return [{"at": at, "kind": kind, "tool": tool, "approved": None if ok is None else bool(ok),
                 "tokens": tokens, "text": text, "detail": json.loads(detail) if detail else {}}
                for at, kind, tool, ok, tokens, text, detail in rows]

    async def _select(self, where: str = "", params: Iterable[Any] = ()) -> list[RunRow]:
        async with self._conn.execute(f"SELECT {', '.join(RUN_FIELDS)} FROM runs {where}", tuple(params)) as cur:
            rows = await cur.fetchall()
        return [run_row(row) for row in rows]

    # --- events (batched) --------------------------------------------------------------------------
    def record(self, run_id: int, event: AgentEvent) -> None:
        """Queue one event of a run; written with the next batch."""
        if self._closed:
            return
        self._pending.append((run_id, event))
        if self._flush_handle is None and self._flush_task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._flush_handle = loop.call_later(0.2, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        self._flush_task = asyncio.ensure_future(self._flush_then_clear())

    async def _flush_then_clear(self) -> None:
        try:
            await self.flush()
        finally:
            self._flush_task = None

    async def flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending or self._closed:
            return
        batch, self._pending = self._pending, []
        rows = []
        per_run: dict[int, list[Any]] = {}
        for run_id, e in batch:
            rows.append((run_id, e.at, e.kind, e.tool, None if e.approved is None else int(e.approved), e.tokens,
                         e.text, json.dumps(e.detail) if e.detail else None))
            stats = per_run.setdefault(run_id, [0, 0, e.at])
            stats[0] += e.tokens
            stats[1] += 1
            stats[2] = max(stats[2], e.at)
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                await self._conn.executemany(
                    "INSERT INTO events (run_id, at, kind, tool, approved, tokens, text, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                await self._conn.executemany(
                    "UPDATE runs SET tokens = tokens + ?, events = events + ?, "
                    "last_event_at = MAX(COALESCE(last_event_at, ''), ?) WHERE id = ?",
                    [(t, n, at, run_id) for run_id, (t, n, at) in per_run.items()])
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    # --- the Mayor's and the reviewer's sessions ----------------------------------------------------
    async def add_role_run(self, role: str, agent: str, *, started_at: str, tokens: int, bead_id: str | None = None,
                           goal_id: str | None = None) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO role_runs (role, agent, bead_id, goal_id, started_at, ended_at, tokens) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (role, agent, bead_id, goal_id, started_at, now_iso(), tokens))

    async def role_runs(self) -> list[RoleRun]:
        async with self._conn.execute(f"SELECT {', '.join(_ROLE_FIELDS)} FROM role_runs ORDER BY id") as cur:
            rows = await cur.fetchall()
        return [RoleRun(**dict(zip(_ROLE_FIELDS, row, strict=True))) for row in rows]

    # --- dispatch pauses (budgets) -----------------------------------------------------------------
    async def set_pause(self, scope: str, reason: str) -> None:
        async with self._lock:
            await self._conn.execute("INSERT OR REPLACE INTO pauses (scope, reason, at) VALUES (?, ?, ?)",
                                     (scope, reason, now_iso()))

    async def clear_pause(self, scope: str) -> None:
        async with self._lock:
            await self._conn.execute("DELETE FROM pauses WHERE scope = ?", (scope,))

    async def pauses(self) -> dict[str, str]:
        async with self._conn.execute("SELECT scope, reason FROM pauses ORDER BY at") as cur:
            return {scope: reason for scope, reason in await cur.fetchall()}


def monotonic_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


# --- the reports behind `gastown status | worktrees | gc` (shown by gastown.cli) -------------------------
async def status_report(workspace: Path, *, stall_seconds: float, all_runs: bool = False) -> dict[str, Any]:
    """``runs.status_report``, bringing an older town.db or ledger to this gastown's schema first."""
    from gastown.config import state_dir
    from gastown.ledger.store import Store

    report = runs.status_report(workspace, stall_seconds=stall_seconds, all_runs=all_runs)
    if report is None:  # (opening migrates; a damaged database says so here)
        await (await RunRecords.open(state_dir(workspace) / "town.db")).close()
        beads = state_dir(workspace) / "beads.db"
        if beads.exists():
            await (await Store.open(beads)).close()
        report = runs.status_report(workspace, stall_seconds=stall_seconds, all_runs=all_runs)
        if report is None:
            raise GastownError(f"cannot read the town's databases in {workspace / '.gastown'}")
    return report


def _worktrees_for(workspace: Path, worktree_root: str | None) -> Worktrees:
    from gastown.config_sources import load_settings
    from gastown.town.checkouts import Worktrees, default_worktree_root
    from gastown.vcs.repo import open_repo

    settings = load_settings(workspace).settings
    root = Path(worktree_root or settings.worktree_root or "") if (worktree_root or settings.worktree_root) else None
    if root is None:  # where this town's polecats actually ran, else the default place
        db = workspace / ".gastown" / "town.db"
        if db.exists():
            with contextlib.closing(sqlite3.connect(db)) as conn:
                row = conn.execute("SELECT worktree FROM runs WHERE worktree IS NOT NULL ORDER BY id DESC "
                                   "LIMIT 1").fetchone()
            if row:
                root = Path(row[0]).parent
    return Worktrees(open_repo(workspace), root or default_worktree_root(workspace), settings.integration_branch)


def worktrees_report(workspace: Path, worktree_root: str | None = None) -> dict[str, Any]:
    wts = _worktrees_for(workspace, worktree_root)
    return {"root": str(wts.root), "worktrees": [vars(e) for e in wts.entries()],
            "archived": [{"ref": ref, "commit": sha} for ref, sha in wts.archived()]}


async def gc(workspace: Path, *, dry_run: bool, keep_idle: int, worktree_root: str | None = None) -> list[str]:
    from gastown.config import state_dir
    from gastown.ledger.store import Store

    statuses: dict[str, str] = {}
    beads_db = state_dir(workspace) / "beads.db"
    if beads_db.exists():
        async with await Store.open(beads_db) as store:
            statuses = {b.id: b.status for b in await store.list()}
    from gastown.town import archive

    wts = _worktrees_for(workspace, worktree_root)
    return await asyncio.to_thread(archive.gc, wts, statuses, keep_idle=keep_idle, dry_run=dry_run)
