"""The town applies `polecats.sandbox`: polecats' shell commands and the Refinery's verification run under
bubblewrap (real CLI, scripted model, real git); `required` without bubblewrap refuses to start polecats
with an error naming the setting; `auto` without it warns once, in the editor and the terminal."""

from __future__ import annotations

import asyncio

import pytest

from gastown.config import state_dir
from gastown.ledger.model import LedgerChange, Status
from gastown.runtime.sandbox import BWRAP_ENV, SETTING, SandboxUnavailable
from gastown.town.bus import AgentEventRecord, GoalFinished, Progress, TownWarning
from gastown.town.dispatcher import GoalRun
from gastown.town.town import Town
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.town.conftest import git

pytestmark = pytest.mark.runtime


IDLE = {"rules": [mayor_rule(say())]}  # a scenario these tests never reach


def collect(town: Town, *types) -> list:
    seen: list = []
    town.bus.subscribe(lambda e: seen.append(e) if isinstance(e, types) else None)
    return seen


def bash(command: str) -> dict:
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command, "description": "hostile"}}]}


# A test module the polecat adds: run by the Refinery's verification, it tries to write into the user's
# workspace (its path is given at plan time) and into its own worktree, and says what happened; it passes
# either way, so only the sandbox decides whether the file outside appears.
HOSTILE_TEST = '''import pathlib
import unittest


class T(unittest.TestCase):
    def test_writes(self):
        pathlib.Path("verify-wrote-here.txt").write_text("inside\\n")
        try:
            pathlib.Path({outside!r}).write_text("escaped\\n")
        except OSError as exc:
            print("verification could not write outside:", exc)
'''


async def test_a_hostile_polecat_in_a_town_is_confined_and_its_own_work_still_merges(make_town, tmp_path):
    ws = tmp_path / "calc"
    outside = ws / "from-verification.txt"
    plan = [task("h", "Hostile helper", ["calc/helper.py", "tests/test_hostile.py"])]
    steps = [
        bash(f"echo hostile > {ws}/hostile.txt"),  # the user's working files
        bash(f"git -C {ws} update-ref refs/heads/hostile HEAD"),  # the user's refs
        create("calc/helper.py", '"""helper."""\n\n\ndef helper():\n    return 1\n'),
        create("tests/test_hostile.py", HOSTILE_TEST.format(outside=str(outside))),
        done("helper written"), say(),
    ]
    scenario = {"rules": [mayor_rule(propose("Helper", plan), say("Planned.")),
                          polecat_rule("Hostile helper", steps)]}
    from gastown.demo import make_sample_repo
    make_sample_repo(ws)
    before_refs = git(ws, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main")
    town = await make_town(scenario, repo=ws)
    events = collect(town, AgentEventRecord)

    _, epic, tasks, job = await town.submit_goal("A helper")
    report = await asyncio.wait_for(job, 180)

    sandbox = town.runtime().sandbox  # type: ignore[attr-defined]
    assert sandbox is not None and sandbox.checkout_root == town.worktrees.root
    assert sandbox.cli_home == state_dir(ws) / "copilot-home"
    assert report.ok and report.merged == 1
    assert not (ws / "hostile.txt").exists()
    assert git(ws, "for-each-ref", "--format=%(refname)", "refs/heads/hostile") == ""
    assert git(ws, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main") == before_refs
    assert not outside.exists()  # the verification ran the polecat's test confined
    assert (town.refinery.path / "verify-wrote-here.txt").exists()  # ... and could write its worktree
    blocked = [e.event for e in events if e.event["kind"] == "sandbox.blocked" and e.bead_id == tasks[0].id]
    commands = {b["detail"]["command"] for b in blocked}
    assert any("hostile.txt" in c for c in commands) and any("update-ref" in c for c in commands)
    assert "calc/helper.py" in git(ws, "show", "--name-only", "--format=", town.worktrees.integration)
    assert (await town.store.get(tasks[0].id)).status == Status.CLOSED


async def test_required_without_bubblewrap_refuses_polecats_with_an_error_naming_the_setting(
        make_town, tmp_path, monkeypatch):
    monkeypatch.setenv(BWRAP_ENV, str(tmp_path / "no-bwrap"))
    town = await make_town(IDLE, polecats={"sandbox": "required"})  # opening is fine
    finished = collect(town, GoalFinished)

    with pytest.raises(SandboxUnavailable, match=SETTING):
        await town.submit_goal("anything")
    assert await town.store.list() == []  # nothing planned
    assert town.model_server is None  # nor started

    # A goal that needs no planning (e.g. resumed after a restart): refused before any bead is claimed.
    epic = await town.store.create("Goal", issue_type="epic")
    bead = await town.store.create("Work", parent=epic.id)
    with pytest.raises(SandboxUnavailable, match="sudo apt-get install bubblewrap"):
        await asyncio.wait_for(town.dispatcher.run_goal(epic.id, "g1"), 30)
    again = await town.store.get(bead.id)
    assert (again.status, again.assignee) == (Status.OPEN, None)
    assert [(f.goal_id, f.ok) for f in finished] == [("g1", False)] and SETTING in finished[0].summary


async def test_auto_without_bubblewrap_warns_once_in_the_editor_and_the_terminal(make_town, tmp_path, monkeypatch):
    monkeypatch.setenv(BWRAP_ENV, str(tmp_path / "no-bwrap"))
    town = await make_town(IDLE)
    warnings = collect(town, TownWarning)
    lines = collect(town, Progress)

    for goal in ("g1", "g2"):
        await town.prepare_runtime(goal)
    assert await town.confinement() is None

    assert town.runtime().sandbox is None  # type: ignore[attr-defined]
    assert len(warnings) == 1 and warnings[0].setting == SETTING
    assert "NOT confined" in warnings[0].message and "sudo apt-get install bubblewrap" in warnings[0].message
    assert [p.message for p in lines] == [f"Warning: {warnings[0].message}"] and lines[0].goal_id == "g1"


async def test_off_runs_unconfined_without_a_warning(make_town):
    town = await make_town(IDLE, polecats={"sandbox": "off"})
    warnings = collect(town, TownWarning)
    await town.prepare_runtime("g")
    assert town.runtime().sandbox is None and await town.confinement() is None  # type: ignore[attr-defined]
    assert warnings == []


async def test_a_wave_of_ready_beads_is_claimed_in_one_transaction(plain_town: Town):
    """Priority order, maxPolecats and the radar still decide the wave; the claims commit together, each
    bead to its own polecat; a bead claimed elsewhere first is skipped."""
    town, store = plain_town, plain_town.store
    d = town.dispatcher
    epic = await store.create("Goal", issue_type="epic")
    a = await store.create("A", parent=epic.id, priority=0, metadata={"files": ["calc/__init__.py"]})
    b = await store.create("B", parent=epic.id, priority=1, metadata={"files": ["calc/__init__.py"]})  # overlaps A
    c = await store.create("C", parent=epic.id, priority=1, metadata={"files": ["README.md"]})
    e = await store.create("E", parent=epic.id, priority=2)
    f = await store.create("F", parent=epic.id, priority=3)  # beyond maxPolecats
    town.settings.max_polecats, town.settings.conflict_radar = 3, "hold"
    changes = collect(town, LedgerChange)
    gate = asyncio.Event()
    started: list[str] = []

    async def work(bead, feedback=None):
        started.append(bead.id)
        await gate.wait()

    d.work = work  # the polecats themselves are not under test here
    d.goals[epic.id] = GoalRun("g", epic.id)
    try:
        await d._dispatch()
        claims = [ch for ch in changes if any(x.status == Status.IN_PROGRESS for x in ch.changed)]
        assert len(claims) == 1
        assert {x.id: x.assignee for x in claims[0].changed} == {
            a.id: f"polecat-{a.id}", c.id: f"polecat-{c.id}", e.id: f"polecat-{e.id}"}
        assert set(d.running) == {a.id, c.id, e.id} and d.held == {b.id: {a.id: ["calc/__init__.py"]}}
        assert (await store.get(f.id)).status == Status.OPEN

        await store.claim(f.id, "polecat-elsewhere")
        assert await d._claim([f, await store.get(b.id)]) == [await store.get(b.id)]
        assert (await store.get(f.id)).assignee == "polecat-elsewhere"
    finally:
        gate.set()
        await asyncio.gather(*d.running.values(), return_exceptions=True)
        d.goals.clear()


def test_a_blocked_write_is_in_the_handoff_trail():
    from gastown.runtime.base import AgentEvent
    from gastown.town.polecat import _trail_line

    event = AgentEvent(session_id="s", kind="sandbox.blocked", tool="bash",
                       text="sandbox blocked a write to /home/u/.bashrc",
                       detail={"command": "echo x >> ~/.bashrc", "paths": ["/home/u/.bashrc"]})
    assert _trail_line(event) == ("was stopped by the sandbox: sandbox blocked a write to /home/u/.bashrc "
                                  "(command: echo x >> ~/.bashrc)")
