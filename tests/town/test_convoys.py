"""Convoys end to end: a convoy over two goals (real Copilot CLI + SDK, the scripted model, real git) is
announced once when its last bead merges into the integration branch and once when it lands on the
Overseer's branch — not again on a later landing, a later check or a restart."""

from __future__ import annotations

import asyncio

import pytest

from gastown.ledger.model import Status
from gastown.town import convoys
from gastown.town.bus import ConvoyReached, Progress
from gastown.town.town import Town
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.town.conftest import git

pytestmark = pytest.mark.runtime

MODULE = '"""{name}."""\n\n\ndef {name}(a, b):\n    return a {op} b\n'


def simple_polecat(title: str, rel: str, text: str) -> dict:
    return polecat_rule(title, [create(rel, text), done(f"{rel} written"), say()])


TWO_GOALS = {"rules": [
    # One Mayor session plans both goals (its steps run on across them).
    mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say(),
               propose("Multiply", [task("mul", "Add multiply", ["calc/mul.py"])]), say()),
    simple_polecat("Add subtract", "calc/sub.py", MODULE.format(name="sub", op="-")),
    simple_polecat("Add multiply", "calc/mul.py", MODULE.format(name="mul", op="*")),
]}


async def ops(town: Town) -> convoys.ConvoyProgress:
    assert town.store is not None
    return await convoys.progress(town.store, await convoys.find(town.store, "ops"))


async def test_a_convoy_over_two_goals_is_announced_once_merged_and_once_landed(make_town):
    town = await make_town(TWO_GOALS, plan_approval=True, auto_land=True)
    reached: list[ConvoyReached] = []
    town.bus.subscribe(lambda e: reached.append(e) if isinstance(e, ConvoyReached) else None)
    lines: list[str] = []  # what a terminal following the run prints
    town.bus.subscribe(lambda e: lines.append(e.message) if isinstance(e, Progress) else None)
    user_branch = git(town.workspace, "rev-parse", "--abbrev-ref", "HEAD").strip()

    _, goal1, (sub,), job1 = await town.submit_goal("Subtract")
    _, goal2, (mul,), job2 = await town.submit_goal("Multiply")
    assert town.store is not None
    await convoys.create(town.store, "ops", [goal1.id, mul.id])  # a whole goal, and one bead of another
    assert (await ops(town)).total == 2

    assert await town.approve_plan(goal1.id) == [sub.id]
    assert (await asyncio.wait_for(job1, 120)).ok
    first = await ops(town)
    # Goal one merged and landed (auto-land): half the convoy; nothing announced yet.
    assert (first.merged, first.landed, first.merged_at) == (1, 1, None) and reached == []

    assert await town.approve_plan(goal2.id) == [mul.id]
    assert (await asyncio.wait_for(job2, 120)).ok
    await town.convoys.check()  # (the watch's own check may still be running: this one waits for it)
    assert [(e.milestone, e.name, e.beads, e.branch) for e in reached] == [
        ("merged", "ops", 2, town.worktrees.integration), ("landed", "ops", 2, user_branch)]
    assert [line for line in lines if line.startswith("Convoy")] == [
        f"Convoy “ops”: all 2 beads merged into {town.worktrees.integration}",
        f"Convoy “ops”: all 2 beads landed on {user_branch}"]
    final = await ops(town)
    assert (final.merged, final.landed, final.status, final.landed_on) == (2, 2, Status.CLOSED, user_branch)
    assert final.merged_at is not None and final.landed_at is not None
    for rel in ("calc/sub.py", "calc/mul.py"):  # really on the Overseer's branch
        assert git(town.workspace, "show", f"{user_branch}:{rel}")

    # Exactly once: another landing, another check and a restart announce nothing more.
    await town.land()
    await town.convoys.check()
    workspace, settings = town.workspace, town.settings
    await town.close()
    again = Town(workspace, settings)
    again.bus.subscribe(lambda e: reached.append(e) if isinstance(e, ConvoyReached) else None)
    async with again:
        await again.convoys.check()
    assert len(reached) == 2


async def test_adding_work_to_a_landed_convoy_reopens_it_and_it_is_announced_again(plain_town: Town):
    town = plain_town
    store = town.store
    assert store is not None
    reached: list[ConvoyReached] = []
    town.bus.subscribe(lambda e: reached.append(e) if isinstance(e, ConvoyReached) else None)
    a = await store.create("A")
    b = await store.create("B")
    await convoys.create(store, "small", [a.id])
    await store.close_bead(a.id, reason="merged")
    await town.convoys.check()
    assert [e.milestone for e in reached] == ["merged"]
    assert await town.convoys.landed(await town.convoys.before_land(), "main")
    assert [e.milestone for e in reached] == ["merged", "landed"]
    assert (await convoys.find(store, "small")).status == Status.CLOSED

    await convoys.add(store, "small", [b.id])
    reopened = await convoys.progress(store, await convoys.find(store, "small"))
    assert (reopened.status, reopened.total, reopened.merged, reopened.landed) == (Status.OPEN, 2, 1, 1)
    assert reopened.merged_at is None and reopened.landed_at is None
    await store.close_bead(b.id, reason="merged")
    await town.convoys.check()
    await town.convoys.landed(await town.convoys.before_land(), "main")
    assert [e.milestone for e in reached] == ["merged", "landed", "merged", "landed"]
