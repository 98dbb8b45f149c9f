"""The Mayor, Refinery and radar scenarios end to end: real Copilot CLI + SDK, the scripted model server,
real git.

(a) a six-bead plan with dependencies merges in dependency order; (b) two polecats on the same lines: the
radar serializes them, or (radar off) the conflict becomes rework and merges; (c) a broken test reopens the
bead with the log, rework fixes it; (d) an invalid plan is sent back with the reasons and a valid one follows
(and the Mayor's session survives goals and restarts); (e) a batch with one bad branch is bisected; plus the
Overseer's review (accept/reject) with the review agent, and plan approval.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from gastown.ledger.model import Status
from gastown.town.bus import MergeOutcome, PlanDrafted, PlanProposed, RadarOverlap, ReviewState
from gastown.town.mayor import DRAFT, PlanError
from gastown.town.polecat import polecat_name
from gastown.town.town import Town
from tests.scenario_kit import create, done, edit, mayor_rule, polecat_rule, propose, say, task, write
from tests.support import eventually
from tests.town.conftest import git

pytestmark = pytest.mark.runtime

ADD_ORIGINAL = "    return a + b\n"


def collect(town: Town, *types):
    seen: list = []
    town.bus.subscribe(lambda e: seen.append(e) if isinstance(e, types) else None)
    return seen


async def run_goal(town: Town, goal: str):
    _, epic, tasks, job = await town.submit_goal(goal)
    report = await asyncio.wait_for(job, 120)
    return epic, tasks, report


def integration_beads(town: Town) -> list[str]:
    """Bead ids of the integration branch's commits, oldest first (from the `Bead:` line polecats write)."""
    out = git(town.workspace, "log", "--reverse", "--format=%(trailers:key=Bead,valueonly)",
              town.worktrees.integration)
    return [line.strip() for line in out.splitlines() if line.strip()]


def requests_text(town: Town) -> str:
    assert town.model_server is not None
    return json.dumps(town.model_server.requests)


async def comments(town: Town, bead_id: str) -> list[str]:
    assert town.store is not None
    return [c.text for c in (await town.store.get(bead_id)).comments or []]


# --- (a) ------------------------------------------------------------------------------------------------------
MODULE = '"""{name}."""\n\n\ndef {name}(a, b):\n    return a {op} b\n'
TEST = ("import unittest\n\nfrom calc.{name} import {name}\n\n\nclass T(unittest.TestCase):\n"
        "    def test_{name}(self):\n        self.assertEqual({name}({x}, {y}), {want})\n")


def simple_polecat(title: str, rel: str, text: str) -> dict:
    return polecat_rule(title, [create(rel, text), done(f"{rel} written"), say()])


async def test_a_six_bead_plan_merges_in_dependency_order(make_town):
    plan = [
        task("sub", "Add subtract", ["calc/sub.py"], priority=1),
        task("mul", "Add multiply", ["calc/mul.py"], priority=1),
        task("tsub", "Test subtract", ["tests/test_sub.py"], ["sub"]),
        task("tmul", "Test multiply", ["tests/test_mul.py"], ["mul"]),
        task("pow", "Add power", ["calc/pow.py"], ["mul"], priority=0),
        task("docs", "Document the operations", ["docs/ops.md"], ["tsub", "tmul", "pow"], priority=3),
    ]
    power = '"""power."""\n\nfrom calc.mul import mul\n\n\ndef power(a, n):\n    out = 1\n' \
            '    for _ in range(n):\n        out = mul(out, a)\n    return out\n'
    scenario = {"rules": [
        mayor_rule(propose("Four operations", plan), say("Planned.")),
        simple_polecat("Add subtract", "calc/sub.py", MODULE.format(name="sub", op="-")),
        simple_polecat("Add multiply", "calc/mul.py", MODULE.format(name="mul", op="*")),
        simple_polecat("Test subtract", "tests/test_sub.py", TEST.format(name="sub", x=5, y=3, want=2)),
        simple_polecat("Test multiply", "tests/test_mul.py", TEST.format(name="mul", x=3, y=4, want=12)),
        simple_polecat("Add power", "calc/pow.py", power),
        polecat_rule("Document the operations", [write("docs/ops.md", "# Operations\n\nsub, mul, power\n"),
                                                  done("docs"), say()]),
    ]}
    town = await make_town(scenario, max_polecats=2)
    peak = [0]
    town.bus.subscribe(lambda _e: peak.__setitem__(0, max(peak[0], len(town.dispatcher.running))))

    epic, tasks, report = await run_goal(town, "Subtract, multiply and power, tested and documented")

    assert report.ok and report.closed == report.beads == 6 and report.merged == 6
    ids = {t.metadata["plan_key"]: t.id for t in tasks}
    order = integration_beads(town)
    assert sorted(order) == sorted(ids.values())
    for t in plan:  # every bead merged after each bead it depends on
        for dep in t["depends_on"]:
            assert order.index(ids[dep]) < order.index(ids[t["key"]]), (t["key"], dep, order)
    assert order[-1] == ids["docs"]
    assert peak[0] <= 2  # maxPolecats
    assert (await town.store.get(epic.id)).status == Status.CLOSED


# --- (b) ------------------------------------------------------------------------------------------------------
CALC = '"""A tiny calculator."""\n\n\ndef add(a, b):\n'
CHECK = '    if not all(isinstance(x, (int, float)) for x in (a, b)):\n        raise TypeError("add takes numbers")\n'
ROUNDED = "    return round(a + b, 10)\n"
BOTH = CALC + CHECK + ROUNDED
SAME_LINES_PLAN = [task("round", "Round add's result", ["calc/__init__.py"], priority=1),
                   task("check", "Check add's arguments", ["calc/__init__.py"], priority=2)]


async def test_b1_radar_serializes_two_beads_on_the_same_lines(make_town):
    scenario = {"rules": [
        mayor_rule(propose("Safer add", SAME_LINES_PLAN), say()),
        polecat_rule("Round add's result", [edit("calc/__init__.py", ADD_ORIGINAL, ROUNDED), done("rounded"), say()]),
        # Serialized: this polecat starts from an integration head that already has the rounding.
        polecat_rule("Check add's arguments", [edit("calc/__init__.py", ROUNDED, CHECK + ROUNDED), done("checked"),
                                               say()]),
    ]}
    town = await make_town(scenario, conflict_radar="serialize")
    overlaps = collect(town, RadarOverlap)
    outcomes = collect(town, MergeOutcome)

    epic, tasks, report = await run_goal(town, "Make add safer")

    first, second = (t.id for t in tasks)
    assert report.ok and report.merged == 2
    held = [o for o in overlaps if o.held]
    assert held and held[0].bead_id == second and held[0].overlaps == {first: ["calc/__init__.py"]}
    assert held[0].mode == "serialize"
    assert any(o.bead_id == second and not o.held for o in overlaps)  # released once the first merged
    assert [o.result for o in outcomes] == ["merged", "merged"]  # no conflict, no rework
    assert integration_beads(town) == [first, second]
    assert git(town.workspace, "show", f"{town.worktrees.integration}:calc/__init__.py") == BOTH
    assert any("Conflict radar: held back until it merges" in c for c in await comments(town, second))


async def test_b2_without_the_radar_the_conflict_becomes_rework_and_merges(make_town):
    def rules(title: str, old: str, new: str) -> list[dict]:
        redo = [write("calc/__init__.py", BOTH), done("redone on top of the other change"), say()]
        return [polecat_rule(title, redo, also="conflicts with"),  # a fresh session gets the feedback
                polecat_rule(title, [edit("calc/__init__.py", old, new), done("first try"), say(), *redo])]

    scenario = {"rules": [
        mayor_rule(propose("Safer add", SAME_LINES_PLAN), say()),
        *rules("Round add's result", ADD_ORIGINAL, ROUNDED),
        *rules("Check add's arguments", ADD_ORIGINAL, CHECK + ADD_ORIGINAL),
    ]}
    town = await make_town(scenario, conflict_radar="off")
    outcomes = collect(town, MergeOutcome)

    epic, tasks, report = await run_goal(town, "Make add safer")

    assert report.ok and report.closed == 2
    conflicts = [o for o in outcomes if o.result == "conflict"]
    assert len(conflicts) == 1, [(o.bead_id, o.result) for o in outcomes]
    loser = conflicts[0].bead_id
    assert "calc/__init__.py" in conflicts[0].detail and "<<<<<<<" in conflicts[0].detail
    assert [o.result for o in outcomes if o.bead_id == loser] == ["conflict", "merged"]
    assert any("merge conflict" in c and "<<<<<<<" in c for c in await comments(town, loser))
    assert "conflicts with gastown/integration" in requests_text(town)  # the hunks reached the polecat
    assert git(town.workspace, "show", f"{town.worktrees.integration}:calc/__init__.py") == BOTH
    assert integration_beads(town)[-1] == loser


# --- (c) ------------------------------------------------------------------------------------------------------
SUB_BUG = '"""sub."""\n\n\ndef sub(a, b):\n    return a + b\n'
SUB_FIXED = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'


async def test_c_a_broken_test_reopens_the_bead_with_the_log_and_rework_fixes_it(make_town):
    fix = [write("calc/sub.py", SUB_FIXED), done("sub fixed"), say()]
    scenario = {"rules": [
        mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py", "tests/test_sub.py"])]), say()),
        polecat_rule("Add subtract", fix, also="verification command failed"),
        polecat_rule("Add subtract", [create("calc/sub.py", SUB_BUG),
                                      create("tests/test_sub.py", TEST.format(name="sub", x=5, y=3, want=2)),
                                      done("sub + test"), say(), *fix]),
    ]}
    town = await make_town(scenario)
    outcomes = collect(town, MergeOutcome)

    epic, (bead,), report = await run_goal(town, "Subtract")

    assert report.ok and report.merged == 1
    assert [o.result for o in outcomes] == ["verification-failed", "merged"]
    notes = await comments(town, bead.id)
    failed = [c for c in notes if c.startswith("Refinery: verification failed")]
    assert failed and "AssertionError: 8 != 2" in failed[0]  # the log tail is on the bead
    statuses = [e.new_value if e.event_type != "claimed" else "claimed"
                for e in await town.store.events(bead.id) if e.event_type in ("status_changed", "closed", "claimed")]
    assert statuses[statuses.index("review"):] == ["review", "open", "claimed", "review", "closed"]
    assert "AssertionError: 8 != 2" in requests_text(town)  # the polecat was told
    assert git(town.workspace, "show", f"{town.worktrees.integration}:calc/sub.py") == SUB_FIXED


# --- (d) ------------------------------------------------------------------------------------------------------
async def test_d_invalid_plans_are_sent_back_and_the_mayor_remembers_across_goals_and_restarts(make_town, tmp_path):
    invalid = [task("a", "Do a", ["a.py"], ["zzz"], criteria=""), task("b", "Do b", [], ["c"]),
               task("c", "Do c", [], ["b"])]
    valid = [task("a", "Do a", ["a.py"])]
    unknown_field = [{**task("x", "Do x", []), "colour": "red"}]
    scenario = {"rules": [mayor_rule(
        propose("First goal", invalid), propose("First goal", valid), say(),     # goal 1
        propose("Second goal", unknown_field), propose("Second goal", []), say(),  # goal 2: gives up
        propose("Third goal", valid), say(),                                    # goal 3, after a restart
    )]}
    town = await make_town(scenario, plan_attempts=2)
    proposals = collect(town, PlanProposed)

    epic1, tasks1 = await town.plan("First goal: do a", "g1")
    assert [p.accepted for p in proposals] == [False, True]
    problems = " | ".join(proposals[0].problems)
    for expected in ("unknown key 'zzz'", "'a' has empty acceptance_criteria", "dependency cycle"):
        assert expected in problems
    assert "Plan rejected (attempt 1 of 2)" in requests_text(town) and "unknown key 'zzz'" in requests_text(town)
    assert [t.title for t in tasks1] == ["Do a"] and tasks1[0].parent_id == epic1.id
    memory = town.mayor().memory
    session_id = memory.session_id
    assert session_id and not town.mayor().resumed

    with pytest.raises(PlanError, match=r"could not produce a valid plan after 2 tries: tasks"):
        await town.plan("Second goal: do x", "g2")
    assert town.mayor().resumed and memory.session_id == session_id
    assert "tasks.0.colour: unknown field" in " ".join(proposals[2].problems)
    assert len(await town.store.list(issue_type="epic")) == 1  # nothing written for the failed goal

    repo = town.workspace
    await town.close()
    town = await make_town(scenario, repo=repo, plan_attempts=2)  # a restart: new process state, new CLI
    epic3, _ = await town.plan("Third goal: do a again", "g3")
    assert town.mayor().resumed and town.mayor().memory.session_id == session_id
    last = town.model_server.requests[-1]["messages"]
    users = [m["content"] for m in last if m["role"] == "user"]
    assert "First goal: do a" in json.dumps(users[0])  # the resumed conversation starts with goal 1
    assert f"{epic1.id} [open] First goal" in json.dumps(users)  # ledger-backed summary of past goals
    assert epic3.title == "Third goal"


# --- (e) ------------------------------------------------------------------------------------------------------
BAD_TEST = "import unittest\n\n\nclass C(unittest.TestCase):\n    def test_check(self):\n        self.assertTrue(False, 'deliberately broken')\n"
GOOD_TEST = "import unittest\n\n\nclass C(unittest.TestCase):\n    def test_check(self):\n        self.assertTrue(True)\n"


async def test_e_a_batch_with_one_bad_branch_is_bisected_and_the_others_merge(make_town):
    fix = [write("tests/test_check.py", GOOD_TEST), done("check fixed"), say()]
    plan = [task("sub", "Add subtract", ["calc/sub.py"]), task("mul", "Add multiply", ["calc/mul.py"]),
            task("chk", "Add a check", ["tests/test_check.py"])]
    scenario = {"rules": [
        mayor_rule(propose("Batch", plan), say()),
        simple_polecat("Add subtract", "calc/sub.py", MODULE.format(name="sub", op="-")),
        simple_polecat("Add multiply", "calc/mul.py", MODULE.format(name="mul", op="*")),
        polecat_rule("Add a check", fix, also="verification command failed"),
        polecat_rule("Add a check", [create("tests/test_check.py", BAD_TEST), done("check"), say(), *fix]),
    ]}
    town = await make_town(scenario, max_polecats=3, merge_batch_size=3, merge_batch_window_s=60)
    outcomes = collect(town, MergeOutcome)

    epic, tasks, report = await run_goal(town, "Three at once")

    ids = {t.metadata["plan_key"]: t.id for t in tasks}
    assert report.ok and report.merged == 3
    first_batch = outcomes[:3]
    assert all(o.batch_size == 3 for o in first_batch), [(o.bead_id, o.result, o.batch_size) for o in outcomes]
    assert {o.bead_id: o.result for o in first_batch} == {ids["sub"]: "merged", ids["mul"]: "merged",
                                                          ids["chk"]: "verification-failed"}
    assert "deliberately broken" in first_batch[[o.bead_id for o in first_batch].index(ids["chk"])].detail
    assert [(o.bead_id, o.result) for o in outcomes[3:]] == [(ids["chk"], "merged")]
    assert any("batch of 3" in c and "deliberately broken" in c for c in await comments(town, ids["chk"]))
    assert integration_beads(town)[-1] == ids["chk"]
    assert git(town.workspace, "show", f"{town.worktrees.integration}:tests/test_check.py") == GOOD_TEST


# --- review: the reviewer agent, then the Overseer rejects and accepts ---------------------------------------
async def test_review_agent_verdict_then_overseer_rejects_and_accepts(make_town):
    documented = '"""sub."""\n\n\ndef sub(a, b):\n    """a minus b."""\n    return a - b\n'
    redo = [write("calc/sub.py", documented), done("docstring added"), say()]
    scenario = {"rules": [
        mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
        {"name": "reviewer", "match": r"Review bead", "steps": [
            {"tool_calls": [{"name": "submit_review", "arguments": {
                "score": 4, "verdict": "approve", "comment": "meets the criteria"}}]}, say()]},
        polecat_rule("Add subtract", redo, also="Overseer rejected"),
        polecat_rule("Add subtract", [create("calc/sub.py", SUB_FIXED), done("sub"), say(), *redo]),
    ]}
    town = await make_town(scenario, auto_merge=False, review_agent=True)
    waiting = asyncio.Queue()
    town.bus.subscribe(lambda e: waiting.put_nowait(e.bead_id)
                       if isinstance(e, MergeOutcome) and e.result == "awaiting-review" else None)
    reviews = collect(town, ReviewState)

    _, epic, (bead,), job = await town.submit_goal("Subtract")
    assert await asyncio.wait_for(waiting.get(), 60) == bead.id
    assert (await town.store.get(bead.id)).status == Status.REVIEW
    assert town.merge_queue().entries[0].state == "awaiting-review"
    # A branch waiting for the Overseer's review shows `review` (not needs-input: nothing is asked).
    await eventually(lambda: town.agents[polecat_name(bead.id)].state == "review", what="the polecat shows review")
    with pytest.raises(ValueError, match="not waiting in the merge queue"):
        await town.accept("gt-nope")
    await town.reject(bead.id, "Please add a docstring")

    assert await asyncio.wait_for(waiting.get(), 60) == bead.id
    await town.accept(bead.id)
    report = await asyncio.wait_for(job, 60)

    assert report.ok and report.merged == 1
    assert git(town.workspace, "show", f"{town.worktrees.integration}:calc/sub.py") == documented
    assert "Please add a docstring" in requests_text(town)  # the comment went back to the polecat
    notes = await comments(town, bead.id)
    assert any(c.startswith("Review: approved, score 4/5") for c in notes)
    assert "Rejected by the Overseer: Please add a docstring" in notes
    review = (await town.store.get(bead.id)).metadata["review"]
    assert review["state"] == "accepted" and review["by"] == "overseer" and review["agent"]["score"] == 4
    states = [(r.state, r.by) for r in reviews]
    assert ("rejected", "overseer") in states and states[-1] == ("accepted", "overseer")
    assert town.refinery.verifications == 2  # one per review check; accepting the same tree merges at once


# --- plan approval ----------------------------------------------------------------------------------------------
async def test_plan_approval_waits_for_the_overseer_and_runs_the_edited_plan(make_town):
    scenario = {"rules": [
        mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
        simple_polecat("Add subtract", "calc/sub.py", SUB_FIXED),
    ]}
    town = await make_town(scenario, plan_approval=True)
    drafted = collect(town, PlanDrafted)

    _, epic, (bead,), job = await town.submit_goal("Subtract")
    assert drafted and drafted[0].epic_id == epic.id and drafted[0].bead_ids == [bead.id]
    assert (await town.store.get(bead.id)).status == DRAFT
    await town.store.update(bead.id, acceptance_criteria=" ", actor="overseer")
    with pytest.raises(ValueError, match="empty acceptance criteria"):
        await town.approve_plan(epic.id)
    assert town.dispatcher.runs == {} and (await town.store.get(bead.id)).status == DRAFT
    await town.store.update(bead.id, acceptance_criteria="sub(5, 3) == 2, edited by the Overseer", actor="overseer")
    assert await town.approve_plan(epic.id) == [bead.id]

    report = await asyncio.wait_for(job, 60)
    assert report.ok and report.merged == 1
    assert "edited by the Overseer" in requests_text(town)
    with pytest.raises(ValueError, match="no draft plan"):
        await town.approve_plan(epic.id)


async def test_overseer_accepts_one_hunk_and_rejects_another_with_a_comment(make_town):
    from gastown.town.diff import bead_diff

    readme = "# calc\n\nA tiny calculator, the Gas Town demo project.\n"
    first_try = readme + "\nNow with subtraction.\n"
    corrected = readme + "\nNow with `sub(a, b)`.\n"
    redo = [write("README.md", corrected), done("README fixed"), say()]
    scenario = {"rules": [
        mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py", "README.md"])]), say()),
        polecat_rule("Add subtract", redo, also="Overseer accepted part"),
        polecat_rule("Add subtract", [create("calc/sub.py", SUB_FIXED), edit("README.md", readme, first_try),
                                      done("sub + readme"), say(), *redo]),
    ]}
    town = await make_town(scenario, auto_merge=False)
    waiting = asyncio.Queue()
    town.bus.subscribe(lambda e: waiting.put_nowait(e.bead_id)
                       if isinstance(e, MergeOutcome) and e.result == "awaiting-review" else None)
    _, epic, (bead,), job = await town.submit_goal("Subtract")
    assert await asyncio.wait_for(waiting.get(), 60) == bead.id

    diff = bead_diff(town.worktrees.repo, town.worktrees.integration, bead.id)
    hunks = {f.path: f.hunks[0].id for f in diff.files}
    assert set(hunks) == {"calc/sub.py", "README.md"}
    await town.reject(bead.id, "Name the function: `sub(a, b)`", keep_hunks=[hunks["calc/sub.py"]])

    assert await asyncio.wait_for(waiting.get(), 60) == bead.id  # the reworked README, back for review
    integration = town.worktrees.integration
    assert git(town.workspace, "show", f"{integration}:calc/sub.py") == SUB_FIXED  # the accepted hunk merged
    assert git(town.workspace, "show", f"{integration}:README.md") == readme  # the rejected one did not
    await town.accept(bead.id)
    report = await asyncio.wait_for(job, 60)

    assert report.ok and report.closed == 1
    assert git(town.workspace, "show", f"{integration}:README.md") == corrected
    assert "Name the function" in requests_text(town)
    notes = await comments(town, bead.id)
    assert any(n.startswith("Accepted 1 of 2 hunks; rejected the rest") for n in notes)
    assert any("the rest goes back to the polecat" in n for n in notes)
