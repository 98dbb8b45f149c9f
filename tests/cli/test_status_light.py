"""`gastown status` reads the town with sqlite3 alone (no aiosqlite, no ledger models or Store, no run records
writer), and a town.db of an older gastown is migrated before it is read."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from gastown.ledger.store import Store
from gastown.town.records import RunRecords
from gastown.town.runs import MIGRATIONS

_PROBE = """
import sys
from gastown.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("aiosqlite", "gastown.ledger.model", "gastown.ledger.store",
                           "gastown.town.records", "gastown.runtime") if m in sys.modules)
print("LOADED " + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def _status(workspace: Path) -> tuple[dict, str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(workspace / "no-user-config")}
    proc = subprocess.run([sys.executable, "-c", _PROBE, "status", "--json", "--workspace", str(workspace)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("LOADED")][-1]
    return json.loads(proc.stdout), loaded


async def test_status_reads_runs_titles_and_pauses_without_the_heavy_modules(tmp_path: Path):
    async with await Store.open(tmp_path / ".gastown" / "beads.db") as store:
        done, failed, live = [await store.create(f"Task {n}") for n in ("done", "failed", "live")]
        await store.close_bead(done.id, reason="merged")
    records = await RunRecords.open(tmp_path / ".gastown" / "town.db")
    try:
        for bead, reason in ((done, "done"), (failed, "error")):
            run = await records.start_run(bead.id, f"polecat-{reason}")
            await records.end_run(run.id, reason, detail=reason)
        await records.start_run(live.id, "polecat-live")  # (its owner is this test: alive)
        await records.set_pause(f"bead:{failed.id}", "budget spent")
    finally:
        await records.close()

    report, loaded = _status(tmp_path)

    assert loaded == "LOADED ", loaded
    runs = {r["bead_id"]: r for r in report["runs"]}
    assert {i: (r["state"], r["title"], r["bead_status"]) for i, r in runs.items()} == {
        done.id: ("done", "Task done", "closed"),
        failed.id: ("failed", "Task failed", "open"),
        live.id: ("working", "Task live", "open"),
    }
    assert runs[live.id]["live"] is True and runs[live.id]["idle_seconds"] is not None
    assert runs[done.id]["idle_seconds"] is None and runs[done.id]["detail"] == "done"
    assert report["pauses"] == {f"bead:{failed.id}": "budget spent"}


def test_status_migrates_an_older_town_db_then_reads_it(tmp_path: Path):
    db = tmp_path / ".gastown" / "town.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:  # what the first gastown wrote: the first migration only
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO runs (bead_id, agent, live, owner, owner_pid, started_at, ended_at, exit_reason) "
                     "VALUES ('gt-old', 'polecat-1', 0, 'x', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', "
                     "'done')")
    conn.close()

    report, loaded = _status(tmp_path)

    assert "gastown.town.records" in loaded  # (the path that migrates: it opens the run records)
    assert [(r["bead_id"], r["state"], r["seconds"]) for r in report["runs"]] == [("gt-old", "done", 60.0)]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT COUNT(*) FROM role_runs").fetchone()[0] == 0
    conn.close()
