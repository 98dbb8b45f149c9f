"""Run rows of ``.gastown/town.db`` and the state derived from them — the part of the run records a
read needs (`gastown status`, the agent board), without the event loop, aiosqlite or the ledger's models:
a short command reads the town with ``sqlite3`` and starts about as fast as Python does.
:mod:`gastown.town.records` writes these rows and re-exports what is defined here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from gastown.ledger.sql import parse_ts

ExitReason = Literal["done", "no-changes", "blocked", "escalated", "budget", "aborted", "error", "timeout",
                     "cancelled", "crashed"]
DerivedState = Literal["working", "needs-input", "stalled", "done", "failed"]

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bead_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        goal_id TEXT,
        live INTEGER NOT NULL DEFAULT 1,
        owner TEXT NOT NULL,          -- the Town instance that runs it
        owner_pid INTEGER NOT NULL,
        owner_start TEXT,             -- /proc start time of owner_pid (pid reuse)
        session_id TEXT,
        resumed_from TEXT,            -- the persisted session this run resumed, if any
        worktree TEXT,
        branch TEXT,
        base TEXT,
        feedback INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        last_event_at TEXT,
        exit_reason TEXT,
        detail TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        nudges INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 0,
        spawn_ms REAL,
        commit_sha TEXT
    );
    CREATE UNIQUE INDEX runs_one_live_per_bead ON runs(bead_id) WHERE live = 1;
    CREATE INDEX runs_bead ON runs(bead_id, id);
    CREATE INDEX runs_goal ON runs(goal_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        tool TEXT,
        approved INTEGER,
        tokens INTEGER NOT NULL DEFAULT 0,
        text TEXT,
        detail TEXT
    );
    CREATE INDEX events_run ON events(run_id, id);
    CREATE TABLE pauses (
        scope TEXT PRIMARY KEY,       -- 'goal:<epic id>' or 'bead:<bead id>'
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # The sessions that are not polecat runs (the Mayor planning a goal, the reviewer reading a diff): kept
    # apart from `runs`, which recovery, the board and the one-live-run rule read as polecats.
    """
    CREATE TABLE role_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        role TEXT NOT NULL,           -- mayor | reviewer
        agent TEXT NOT NULL,
        bead_id TEXT,                 -- the goal's epic (Mayor) or the reviewed bead
        goal_id TEXT,                 -- the goal's epic id, as polecat runs record it
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        tokens INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX role_runs_goal ON role_runs(goal_id);
    """,
)

RUN_FIELDS = ("id", "bead_id", "agent", "goal_id", "live", "owner", "owner_pid", "owner_start", "session_id",
               "resumed_from", "worktree", "branch", "base", "feedback", "started_at", "ended_at",
               "last_event_at", "exit_reason", "detail", "restarts", "nudges", "tokens", "events", "spawn_ms",
               "commit_sha")

class RunRow(BaseModel):
    id: int
    bead_id: str
    agent: str
    goal_id: str | None = None
    live: bool
    owner: str
    owner_pid: int
    owner_start: str | None = None
    session_id: str | None = None
    resumed_from: str | None = None
    worktree: str | None = None
    branch: str | None = None
    base: str | None = None
    feedback: bool = False
    started_at: str
    ended_at: str | None = None
    last_event_at: str | None = None
    exit_reason: str | None = None
    detail: str | None = None
    restarts: int = 0
    nudges: int = 0
    tokens: int = 0
    events: int = 0
    spawn_ms: float | None = None
    commit_sha: str | None = None

    @property
    def seconds(self) -> float:
        end = parse_ts(self.ended_at) if self.ended_at else datetime.now(UTC)
        return max(0.0, (end - parse_ts(self.started_at)).total_seconds())


def run_row(values: Sequence[Any]) -> RunRow:
    """A ``runs`` row selected as ``RUN_FIELDS``."""
    return RunRow(**dict(zip(RUN_FIELDS, values, strict=True)))


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a live owner from pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = process_start(pid)
    return start is None or now is None or now == start


def derive_state(run: RunRow, now: datetime | None = None, stall_seconds: float = 120,
                 alive: bool | None = None) -> DerivedState:
    """working / needs-input / stalled / done / failed, from a run row alone."""
    if run.live:
        if alive is None:
            alive = owner_alive(run.owner_pid, run.owner_start)
        if not alive:
            return "failed"  # its server died; recovery on the next start requeues or resumes it
        now = now or datetime.now(UTC)
        last = parse_ts(run.last_event_at or run.started_at)
        return "stalled" if (now - last).total_seconds() >= stall_seconds else "working"
    if run.exit_reason == "done":
        return "done"
    if run.exit_reason in ("blocked", "escalated", "budget", "aborted"):
        return "needs-input"
    return "failed"


def age_seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    return max(0.0, (datetime.now(UTC) - parse_ts(ts)).total_seconds())


def status_report(workspace: Path, *, stall_seconds: float, all_runs: bool = False) -> dict[str, Any] | None:
    """What `gastown status` prints: every polecat's newest run (or all runs) with its derived state and
    its bead's title and status. None when a database is not at this gastown's schema (the caller opens
    the run records and the ledger, which migrate, and asks again)."""
    from gastown.config import state_dir
    from gastown.ledger import reader

    town = state_dir(workspace) / "town.db"
    if not town.exists():
        return {"runs": [], "pauses": {}}
    with contextlib.closing(sqlite3.connect(town, isolation_level=None)) as conn:
        conn.execute("PRAGMA busy_timeout=5000")
        if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
            return None
        where = "" if all_runs else "WHERE id IN (SELECT MAX(id) FROM runs GROUP BY bead_id)"
        select = f"SELECT {', '.join(RUN_FIELDS)} FROM runs {where} ORDER BY id"
        runs = [run_row(row) for row in conn.execute(select)]
        pauses = dict(conn.execute("SELECT scope, reason FROM pauses ORDER BY at").fetchall())
    titles: dict[str, tuple[str, str]] = {}
    beads = state_dir(workspace) / "beads.db"
    if runs and beads.exists():
        ledger = reader.open_current(beads, None)
        if ledger is None:
            return None
        with contextlib.closing(ledger):
            for bead_id in {run.bead_id for run in runs}:
                row = ledger.execute("SELECT data FROM issues WHERE id = ?", (bead_id,)).fetchone()
                data = json.loads(row[0]) if row else {}
                titles[bead_id] = (data.get("title", "?"), data.get("status", "?")) if row else ("?", "?")
    out = []
    for run in runs:
        title, status = titles.get(run.bead_id, ("", ""))
        out.append({**run.model_dump(), "state": derive_state(run, stall_seconds=stall_seconds),
                    "seconds": round(run.seconds, 1), "idle_seconds": age_seconds(run.last_event_at or run.started_at)
                    if run.live else None, "title": title, "bead_status": status})
    return {"runs": out, "pauses": pauses}
