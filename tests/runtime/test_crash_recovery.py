"""kill -9 the server in the middle of a run with several polecats; restart; nothing is lost.

A real `gastown run` process (real CLI, scripted model, real git) is killed while three polecats are
inside a slow model call, each with an uncommitted file in its worktree. The CLI it started must die
with it. A new Town on the same workspace then reconciles (crashed runs ended, worktrees matched to their
beads, uncommitted work committed, beads requeued), resumes the persisted sessions, and the goal ends
with every bead closed and every file on the integration branch.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from gastown.config import Settings
from gastown.demo import GIT_IDENTITY, make_sample_repo
from gastown.ledger.model import Status
from gastown.town.town import Town
from gastown.vcs.repo import refs
from tests.conftest import REPO_ROOT, copilot_cli
from tests.support import wait_until

KEYS = ("a", "b", "c")
SCENARIO = {"model": "scripted", "rules": [
    {"name": "mayor", "match": "Plan this goal", "steps": [
        {"tool_calls": [{"name": "propose_plan", "arguments": {"title": "Crash goal", "tasks": [
            {"key": k, "title": f"Crash {k}", "description": f"write {k}1.txt and {k}2.txt",
             "acceptance_criteria": f"{k}1.txt and {k}2.txt exist", "files": [f"{k}1.txt", f"{k}2.txt"]}
            for k in KEYS]}}]},
        {"text": "Planned."},
    ]},
    {"name": "polecat", "match": r"Title: Crash (?P<k>\w)\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/{{k}}1.txt", "file_text": "one\n"}}]},
        {"delay": 4, "tool_calls": [{"name": "bash", "arguments": {"command": "echo two > {{k}}2.txt",
                                                                   "description": "second file"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "{{k}}1 and {{k}}2"}}]},
        {"text": "Done."},
    ]},
]}


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def live_runs(db: Path) -> list[tuple[str, str | None, str | None]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT bead_id, worktree, session_id FROM runs WHERE live = 1").fetchall()
    except sqlite3.Error:
        return []


async def test_kill_9_mid_run_then_recover_without_losing_work(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "repo")
    scenario = tmp_path / "crash.json"
    scenario.write_text(json.dumps(SCENARIO))
    env = {**os.environ, **GIT_IDENTITY, "XDG_STATE_HOME": str(tmp_path / "state"), "COPILOT_CLI_PATH": copilot_cli(),
           "PYTHONPATH": str(REPO_ROOT / "server")}
    proc = subprocess.Popen([sys.executable, "-m", "gastown", "run", "Crash me", "--workspace", str(repo),
                             "--scenario", str(scenario), "--max-polecats", "3"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    db = repo / ".gastown" / "town.db"
    try:
        def mid_run() -> list | None:
            assert proc.poll() is None, proc.stdout.read().decode()
            runs = live_runs(db)
            if len(runs) == 3 and all(wt and sid for _b, wt, sid in runs) and all(
                    any(Path(wt, f"{k}1.txt").exists() for k in KEYS) for _b, wt, _s in runs):
                return runs
            return None

        runs = wait_until(mid_run, timeout=60, what="three polecats mid-run")
        before = {b: (wt, sid) for b, wt, sid in runs}
        family = descendants(proc.pid)
        assert any("copilot" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
                   for p in family if alive(p))
        os.kill(proc.pid, signal.SIGKILL)  # the crash
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proc.stdout.close()
    # No orphans: the CLI (and any git) it started goes away with it.
    wait_until(lambda: not [p for p in family if alive(p)], timeout=10,
               what="every process of the killed run gone")

    # The state on disk right after the crash: beads claimed, work uncommitted in the checkouts, which are
    # clones with their own .git: their branches reach the user's repository only through recovery.
    root = Path(next(iter(before.values()))[0]).parent
    assert all(Path(wt, ".git").is_dir() for wt, _sid in before.values())
    assert refs(repo, "refs/heads/polecat/") == {}
    settings = Settings(scenario=str(scenario), worktree_root=str(root), cli_path=copilot_cli(),
                        verify_command=f"{sys.executable} -m unittest discover -q", turn_timeout_s=60)
    async with Town(repo, settings) as town:
        store, records, git = town.store, town.records, town.worktrees.repo.text
        rec = town.recovery
        assert sorted(rec.requeued) == sorted(before) and len(rec.crashed_runs) == 3
        assert sorted(rec.worktrees.values()) == sorted(before)  # worktrees matched to their beads
        assert sorted(rec.wip_commits) == sorted(before)  # uncommitted work saved on each branch
        for bead_id, sha in rec.wip_commits.items():
            k = (await store.get(bead_id)).title[-1]
            assert git("show", f"{sha}:{k}1.txt").strip() == "one"
            assert git("rev-parse", f"polecat/{bead_id}") == sha
            bead = await store.get(bead_id)
            assert bead.status == Status.OPEN and bead.assignee is None
            assert "Recovered" in bead.comments[-1].text
        crashed = {r.bead_id: r for r in await records.runs() if r.exit_reason == "crashed"}
        assert sorted(crashed) == sorted(before)

        # Finish the goal: the persisted sessions are resumed in the same worktrees.
        epic = next(b for b in await store.list() if b.issue_type == "epic")
        report = await town.dispatcher.run_goal(epic.id, "after-crash")
        assert report.closed == report.beads == 3, report
        for bead_id, (worktree, session_id) in before.items():
            last = (await records.runs(bead_id))[-1]
            assert last.exit_reason == "done" and last.resumed_from == session_id and last.worktree == worktree
        files = set(git("ls-tree", "-r", "--name-only", town.worktrees.integration).splitlines())
        assert {f"{k}{n}.txt" for k in KEYS for n in (1, 2)} <= files
        # Every commit made before the crash is in the integration history (rebased by the Refinery), with
        # the same content.
        history = git("log", "--format=%s", town.worktrees.integration)
        for bead_id, sha in rec.wip_commits.items():
            assert f"WIP polecat/{bead_id} (recovered by gastown after a stop)" in history
            k = (await store.get(bead_id)).title[-1]
            assert git("show", f"{town.worktrees.integration}:{k}1.txt") == git("show", f"{sha}:{k}1.txt")
            assert git("show", f"{town.worktrees.integration}:{k}2.txt").strip() == "two"
        assert not await records.runs(live=True)
