"""The parts under the polecats without a model: the worktree pool on real git, run records on real
SQLite, and the Witness's pure decisions."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gastown.config import BudgetSettings
from gastown.demo import make_sample_repo
from gastown.ledger.model import Bead
from gastown.runtime.base import AgentEvent
from gastown.town import archive
from gastown.town.checkouts import Lease, Worktrees
from gastown.town.records import PolecatBusy, RunRecords, RunRow, derive_state
from gastown.town.witness import StallRules, budget_breach, next_action
from gastown.vcs import git_text
from gastown.vcs.repo import open_repo


@pytest.fixture
def pool(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "repo")
    wts = Worktrees(open_repo(repo), tmp_path / "wt", "gastown/integration")
    wts.ensure_integration()
    yield wts
    wts.close()


def git(pool: Worktrees, *args: str) -> str:
    return pool.repo.text(*args)


def commit_on(pool: Worktrees, lease: Lease, name: str, text: str, message: str = "work") -> str:
    """Commit in the lease's clone and bring the branch into the user's repository."""
    (lease.path / name).write_text(text)
    sha = pool.commit(lease, message, "tester")
    assert sha is not None
    return sha


def advance_integration(pool: Worktrees, name: str, text: str) -> str:
    """Move the integration branch by one commit (as if another bead merged)."""
    scratch = pool.acquire("scratch", pool.integration_head())
    sha = commit_on(pool, scratch, name, text, "other bead")
    git(pool, "update-ref", f"refs/heads/{pool.integration}", sha)
    pool.release(scratch, park=False)
    git(pool, "branch", "-D", "scratch")
    return sha


def test_pool_reuses_idle_worktrees_and_never_loses_work(pool: Worktrees):
    base = pool.integration_head()
    a = pool.acquire("polecat/a", base)
    assert not a.reused and pool.in_use(a.name)
    (a.path / "left.txt").write_text("uncommitted\n")
    wip = pool.release(a, park=False)  # uncommitted work is committed to the branch, not dropped
    assert wip and git(pool, "show", "polecat/a:left.txt") == "uncommitted"
    assert not pool.in_use(a.name) and pool.entries()[0].state == "idle"

    b = pool.acquire("polecat/b", base)  # the idle worktree is reused, reset and cleaned
    assert b.reused and b.path == a.path and not (b.path / "left.txt").exists()
    assert git_text(["rev-parse", "polecat/b"], b.path) == base  # in its clone
    c = pool.acquire("polecat/c", base)  # b holds the only slot: a new one is added
    assert not c.reused and c.path != b.path
    pool.release(b, park=False)
    pool.release(c, park=True)  # parked: the branch stays checked out for the bead's next run

    again = pool.acquire("polecat/a", base)  # a's branch has work: continued, in the slot it last used
    assert again.continued and again.path == a.path and (again.path / "left.txt").exists()
    parked = pool.acquire("polecat/c", base)  # the parked worktree is taken as it is
    assert parked.path == c.path
    pool.release(again, park=False)
    pool.release(parked, park=False)


def test_rework_carries_the_old_work_onto_the_new_base(pool: Worktrees):
    base = pool.integration_head()
    lease = pool.acquire("polecat/r", base)
    old = commit_on(pool, lease, "README.md", "# calc\n\npolecat's version\n")
    commit_on(pool, lease, "mine.txt", "mine\n")
    pool.release(lease, park=False)
    new_base = advance_integration(pool, "README.md", "# calc\n\nsomeone else's version\n")

    rework = pool.acquire("polecat/r", new_base, onto_base=True)
    assert sorted(rework.carried) == ["README.md", "mine.txt"] and rework.conflicts == ["README.md"]
    assert "<<<<<<<" in (rework.path / "README.md").read_text() and (rework.path / "mine.txt").exists()
    assert git_text(["rev-parse", "polecat/r"], rework.path) == new_base  # the branch now starts at the new base
    archived = dict((ref, sha) for ref, sha in pool.archived())
    assert any(ref.startswith("refs/gastown/archive/polecat/r/") for ref in archived)
    assert pool.repo.ok("merge-base", "--is-ancestor", old, next(iter(archived.values())))
    pool.release(rework, park=False)


def test_gc_prunes_only_what_is_safe(pool: Worktrees):
    base = pool.integration_head()
    leases = {k: pool.acquire(f"polecat/{k}", base) for k in ("done", "open", "merged", "parked", "dirty")}
    shas = {k: commit_on(pool, lease, f"{k}.txt", k) for k, lease in leases.items()}
    git(pool, "update-ref", f"refs/heads/{pool.integration}", shas["merged"])
    for k, lease in leases.items():
        pool.release(lease, park=k == "parked")
    dirty = next(e for e in pool.entries() if e.path == str(leases["dirty"].path))
    Path(dirty.path, "stray.txt").write_text("someone's file\n")
    status = {"done": "closed", "open": "open", "merged": "closed", "parked": "closed", "dirty": "open"}

    before = set(pool.polecat_branches())
    planned = archive.gc(pool, status, keep_idle=1, dry_run=True)
    assert set(pool.polecat_branches()) == before and planned  # a dry run changes nothing
    actions = archive.gc(pool, status, keep_idle=1)
    branches = pool.polecat_branches()
    assert "polecat/open" in branches and "polecat/dirty" in branches  # work of live beads is kept
    assert "polecat/merged" not in branches  # merged: deleted, its commit is on the integration branch
    archived = {sha for _ref, sha in pool.archived()}
    assert shas["done"] in archived and shas["parked"] in archived  # unmerged + bead done: archived
    assert any("uncommitted" in a for a in actions)
    assert Path(dirty.path, "stray.txt").exists()
    # Every commit made is still reachable from a branch, the integration branch or an archive ref.
    for sha in shas.values():
        assert git(pool, "for-each-ref", "--contains", sha, "--format=%(refname)")
    left = [e for e in pool.entries() if e.state == "idle"]
    assert len(left) <= 2  # one kept for reuse, plus the dirty one


async def test_run_records_one_live_run_per_bead_and_dead_owners(tmp_path: Path):
    records = await RunRecords.open(tmp_path / "town.db")
    try:
        run = await records.start_run("gt-1", "polecat-gt-1", goal_id="gt-epic")
        with pytest.raises(PolecatBusy):
            await records.start_run("gt-1", "polecat-gt-1")
        for i in range(5):
            records.record(run.id, AgentEvent(session_id="s", kind="usage", tokens=10 * (i + 1)))
        await records.flush()
        row = await records.run(run.id)
        assert row.tokens == 150 and row.events == 5 and row.last_event_at
        assert await records.usage(goal_id="gt-epic") == (150, pytest.approx(row.seconds, abs=5))
        await records.end_run(run.id, "done")
        assert derive_state(await records.run(run.id)) == "done"

        # A live run left by a process that died (kill -9): found, and taken over by the next start.
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
        other = await RunRecords.open(tmp_path / "town.db")
        other.pid, other.pid_start = int(dead), "1"
        ghost = await other.start_run("gt-2", "polecat-gt-2")
        await other.close()
        assert [r.id for r in await records.orphaned_live_runs()] == [ghost.id]
        assert derive_state(await records.run(ghost.id)) == "failed"
        fresh = await records.start_run("gt-2", "polecat-gt-2")
        assert (await records.run(ghost.id)).exit_reason == "crashed" and fresh.live

        # A wave started together is one transaction; a bead already live in the wave is still refused.
        wave = await asyncio.gather(*(records.start_run(f"gt-w{i}", f"polecat-gt-w{i}") for i in range(5)),
                                    records.start_run("gt-w0", "polecat-gt-w0"), return_exceptions=True)
        assert [r.bead_id for r in wave[:5]] == [f"gt-w{i}" for i in range(5)]  # type: ignore[union-attr]
        assert isinstance(wave[5], PolecatBusy) and wave[5].run.id == wave[0].id  # type: ignore[union-attr]
        assert all(r.live for r in await records.runs(live=True) if r.bead_id.startswith("gt-w"))

        await records.set_pause("goal:gt-epic", "tokens")
        assert await records.pauses() == {"goal:gt-epic": "tokens"}
    finally:
        await records.close()


def test_witness_decisions():
    rules = StallRules(stall=10, tool_stall=100, max_restarts=2)
    assert next_action("working", 5, 5, False, 0, rules) is None
    assert next_action("working", 10, 50, False, 0, rules)[0] == "nudge"
    assert next_action("working", 50, 50, True, 0, rules) is None  # a long tool run is not a stall
    assert next_action("nudged", 15, 5, False, 0, rules) is None  # give the nudge its time
    assert next_action("nudged", 20, 10, False, 1, rules)[0] == "restart"
    assert next_action("nudged", 20, 10, False, 2, rules)[0] == "escalate"
    assert next_action("stopping", 999, 999, False, 0, rules) is None

    b = BudgetSettings(tokens_per_bead=100, tokens_per_goal=1000, seconds_per_goal=60)
    assert budget_breach(b, bead_tokens=99, goal_tokens=999, goal_seconds=59) is None
    assert budget_breach(b, bead_tokens=100)[0] == "bead"
    assert budget_breach(b, goal_tokens=1000)[0] == "goal"
    assert budget_breach(b, goal_tokens=1500, extra_goal_tokens=1000) is None  # the Overseer extended it
    assert budget_breach(b, goal_seconds=61)[0] == "goal"
    assert budget_breach(BudgetSettings(), bead_tokens=10**9, goal_tokens=10**9) is None  # 0 = no cap


def test_derived_states():
    now = datetime.now(UTC)
    base = dict(id=1, bead_id="b", agent="a", owner="o", owner_pid=1, started_at=(now - timedelta(seconds=60)).isoformat())
    live = RunRow(live=True, last_event_at=(now - timedelta(seconds=5)).isoformat(), **base)
    assert derive_state(live, now, 30, alive=True) == "working"
    assert derive_state(live, now, 3, alive=True) == "stalled"
    assert derive_state(live, now, 30, alive=False) == "failed"
    for reason, state in [("done", "done"), ("escalated", "needs-input"), ("blocked", "needs-input"),
                          ("budget", "needs-input"), ("crashed", "failed"), ("error", "failed")]:
        assert derive_state(RunRow(live=False, exit_reason=reason, **base)) == state


def test_bead_parent_is_the_goal():
    assert Bead(id="gt-a.1", title="t", dependencies=[{"issue_id": "gt-a.1", "depends_on_id": "gt-a",
                                                          "type": "parent-child"}]).parent_id == "gt-a"



def test_checkouts_are_shared_clones_that_cannot_move_the_users_refs(pool: Worktrees):
    """A slot is a `git clone --shared` (own .git, the user's objects through alternates): whatever git does
    in it moves only the clone's refs; the town brings the polecat's branch home by fetching it."""
    base = pool.integration_head()
    before = git(pool, "for-each-ref", "--format=%(refname) %(objectname)")
    lease = pool.acquire("polecat/iso", base)
    dot_git = lease.path / ".git"
    assert dot_git.is_dir() and (dot_git / "objects" / "info" / "alternates").read_text().strip() == str(
        pool.repo.git_dir / "objects")
    (lease.path / "x.txt").write_text("x\n")
    clone = lease.path
    git_text(["add", "-A"], clone)
    git_text(["-c", "user.name=p", "-c", "user.email=p@x", "commit", "-qm", "mine"], clone)
    git_text(["branch", "-f", pool.integration, "HEAD"], clone)  # a hostile move, in the clone only
    git_text(["update-ref", "refs/heads/main", "HEAD"], clone)
    assert git(pool, "for-each-ref", "--format=%(refname) %(objectname)") == before
    assert pool.branch_tip("polecat/iso") is None  # not home yet: it lives in the clone
    mine = git_text(["rev-parse", "HEAD"], clone)
    pool.release(lease, park=False)
    assert pool.branch_tip("polecat/iso") == mine  # brought home on release
    assert git(pool, "rev-parse", pool.integration) == base  # the clone's moves stayed there


def test_commits_left_in_a_clone_by_a_crash_are_brought_home_on_recovery(pool: Worktrees, tmp_path: Path):
    base = pool.integration_head()
    lease = pool.acquire("polecat/crash", base)
    (lease.path / "a.txt").write_text("committed by the polecat itself\n")
    git_text(["add", "-A"], lease.path)
    git_text(["-c", "user.name=p", "-c", "user.email=p@x", "commit", "-qm", "polecat commit"], lease.path)
    (lease.path / "b.txt").write_text("never committed\n")
    committed = git_text(["rev-parse", "HEAD"], lease.path)
    Worktrees._unlock(lease._fd)  # the process dies: its flock goes with it, nothing was released
    after = Worktrees(open_repo(pool.workdir), pool.root, pool.integration)
    parked = [e for e in after.entries() if e.branch == "polecat/crash"]
    assert [e.state for e in parked] == ["parked"] and parked[0].dirty
    assert after.branch_tip("polecat/crash") is None
    wip = after.save_wip(Path(parked[0].path), "WIP (recovered)")  # what recovery does for every slot
    tip = after.branch_tip("polecat/crash")
    assert tip == wip and git(pool, "rev-parse", f"{tip}~1") == committed
    assert git(pool, "show", f"{tip}:b.txt") == "never committed"


def test_the_pool_is_filled_in_parallel_ahead_of_the_first_polecats(pool: Worktrees):
    pool.start_preparing(3)
    assert pool.wait_prepared() is not None
    idle = [e for e in pool.entries() if e.state == "idle"]
    assert len(idle) == 3 and all(Path(e.path, ".git").is_dir() for e in idle)
    leases = [pool.acquire(f"polecat/p{i}", pool.integration_head()) for i in range(3)]
    assert all(lease.reused for lease in leases)  # no clone on the critical path
    assert sorted(lease.path.name for lease in leases) == sorted(e.name for e in idle)
    for lease in leases:
        pool.release(lease, park=False)
    pool.close()
