"""Costs from the run records: a scripted goal (real Copilot CLI + SDK, the scripted model reporting usage on
every reply, real git) with the Mayor, two polecats and the reviewer; the report adds up to the records by
role, by goal and by bead, and `gastown costs` prints the same."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from gastown.town import costs
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task

pytestmark = pytest.mark.runtime

MODULE = '"""{name}."""\n\n\ndef {name}(a, b):\n    return a {op} b\n'
APPROVE = {"name": "reviewer", "match": r"Review bead", "steps": [
    {"tool_calls": [{"name": "submit_review", "arguments": {
        "score": 5, "verdict": "approve", "comment": "meets the criteria"}}]}, say()]}


def simple_polecat(title: str, rel: str, text: str) -> dict:
    return polecat_rule(title, [create(rel, text), done(f"{rel} written"), say()])


async def test_costs_add_up_to_the_run_records_by_role_goal_and_bead(make_town):
    scenario = {"rules": [
        mayor_rule(propose("Two operations", [task("sub", "Add subtract", ["calc/sub.py"]),
                                              task("mul", "Add multiply", ["calc/mul.py"])]), say()),
        APPROVE,
        simple_polecat("Add subtract", "calc/sub.py", MODULE.format(name="sub", op="-")),
        simple_polecat("Add multiply", "calc/mul.py", MODULE.format(name="mul", op="*")),
    ]}
    town = await make_town(scenario, review_agent=True)
    _, epic, beads, job = await town.submit_goal("Subtract and multiply")
    assert (await asyncio.wait_for(job, 120)).ok
    records = town.records
    assert records is not None
    await records.flush()
    polecat_runs = await records.runs()
    role_runs = await records.role_runs()

    got = await costs.town_report(records, town.store)

    # Every role spent tokens (the scripted model reports usage on every reply, the SDK passes it on).
    assert {r.role for r in role_runs} == {"mayor", "reviewer"}
    assert all(got.by_role[role].tokens > 0 for role in ("mayor", "polecat", "reviewer"))
    assert got.by_role["polecat"].tokens == sum(r.tokens for r in polecat_runs)
    assert got.by_role["polecat"].runs == len(polecat_runs) >= 2
    assert got.by_role["mayor"].tokens == sum(r.tokens for r in role_runs if r.role == "mayor")
    assert got.by_role["reviewer"].runs == 2  # one review per bead
    total_tokens = sum(r.tokens for r in polecat_runs) + sum(r.tokens for r in role_runs)
    assert got.total.tokens == total_tokens == sum(line.tokens for line in got.by_role.values())
    assert got.total.seconds == pytest.approx(sum(r.seconds for r in polecat_runs) + sum(r.seconds for r in role_runs))
    # One goal (the epic, with the Mayor's planning in it), two beads with their polecat and reviewer.
    (goal,) = got.goals
    assert goal.id == epic.id and goal.title == epic.title and goal.total.tokens == total_tokens
    assert [b.id for b in got.beads] == sorted(b.id for b in beads)
    for line in got.beads:
        assert set(line.by_role) == {"polecat", "reviewer"}
        assert line.by_role["polecat"].tokens == sum(r.tokens for r in polecat_runs if r.bead_id == line.id)
    assert sum(b.total.tokens for b in got.beads) + got.by_role["mayor"].tokens == total_tokens

    one = await costs.town_report(records, town.store, bead=beads[0].id)
    assert one.scope == f"bead:{beads[0].id}" and one.total.tokens == got.beads[0].total.tokens
    assert one.by_role["mayor"].tokens == 0
    with pytest.raises(costs.CostsError, match="no bead or goal 'gt-nope'"):
        await costs.town_report(records, town.store, goal="gt-nope")

    workspace = town.workspace
    await town.close()
    printed = subprocess.run([sys.executable, "-m", "gastown", "costs", "--goal", epic.id, "--json"], cwd=workspace,
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    cli = json.loads(printed.stdout)
    assert cli["scope"] == f"goal:{epic.id}" and cli["total"]["tokens"] == total_tokens
    text = subprocess.run([sys.executable, "-m", "gastown", "costs"], cwd=workspace, capture_output=True,
                          text=True, timeout=60).stdout
    assert text.startswith(f"Costs (all): {total_tokens:,} tokens") and epic.id in text
