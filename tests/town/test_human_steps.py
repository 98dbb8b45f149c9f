"""Only the Overseer closes a human step: a scripted polecat working the bead beside one tries to close it
from the shell (the town's CLI, Beads' CLI, the ledger's database) and is refused each time, with a reason
the model is told; a polecat handed a human step refuses to start."""

from __future__ import annotations

import pytest

from gastown.ledger.model import Status
from gastown.runtime.policy import LEDGER_REFUSAL
from gastown.town.bus import AgentEventRecord
from gastown.town.polecat import HumanStepError
from gastown.town.town import Town
from gastown.vcs.names import polecat_branch
from tests.scenario_kit import create, done, say
from tests.support import eventually
from tests.town.conftest import git
from tests.town.test_formulas import add_project_formula, private_home  # noqa: F401 (an autouse fixture)

FORMULA = '''formula = "widget"
description = "The Overseer signs off while a polecat builds the widget."
[[steps]]
id = "sign"
title = "Sign off the widget"
type = "human"
[[steps]]
id = "build"
title = "Build the widget"
acceptance_criteria = "WIDGET.md exists"
'''

ATTEMPTS = ["gastown bead close {{epic}}.1 --reason done",
            "bd close {{epic}}.1",
            "sqlite3 ../../calc/.gastown/beads.db \"UPDATE issues SET status = 'closed'\""]


def bash(command: str) -> dict:
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command, "description": "close it"}}]}


@pytest.mark.runtime
async def test_a_polecat_cannot_close_a_human_step(make_town):
    rule = {"name": "builder", "match": r"Bead: (?P<epic>\S+)\.2\nTitle: Build the widget\nWorktree: (?P<wt>\S+)",
            "steps": [*(bash(c) for c in ATTEMPTS),
                      {"tool_calls": [{"name": "bead_show", "arguments": {"id": "{{epic}}.1"}}]},
                      create("WIDGET.md", "# Widget\n"), done("widget built"), say()]}
    town: Town = await make_town({"rules": [rule]})
    add_project_formula(town.workspace, "widget", FORMULA)
    refused: list[AgentEventRecord] = []
    town.bus.subscribe(lambda e: refused.append(e) if isinstance(e, AgentEventRecord)
                       and e.event["kind"] == "permission" and e.event.get("approved") is False else None)

    _, epic, beads, _job = await town.pour_formula("widget", {})
    sign, build = beads
    assert (sign.id, build.id) == (f"{epic.id}.1", f"{epic.id}.2")  # what the rule's {{epic}}.1 names

    async def merged() -> bool:
        return (await town.store.get(build.id)).status == Status.CLOSED

    await eventually(merged, timeout=90, what="the widget bead merged")
    human = await town.store.get(sign.id)
    assert (human.status, human.assignee, human.closed_at) == (Status.OPEN, None, None)

    # Every attempt was refused by the polecat's policy, saying why; the model was told.
    texts = [e.event.get("text") or "" for e in refused if e.bead_id == build.id]
    for attempt in ATTEMPTS:
        command = attempt.replace("{{epic}}", epic.id)
        assert any(command in t and LEDGER_REFUSAL in t for t in texts), (command, texts)
    assert town.model_server is not None
    told = [str(m.get("content")) for req in town.model_server.requests for m in req["messages"]
            if m.get("role") == "tool"]
    assert any("only the Overseer does and closes this bead" in t for t in told)  # bead_show says so
    assert any("denied" in t.lower() or "reject" in t.lower() for t in told)
    runs = await town.records.latest_runs()
    assert {r.bead_id for r in runs} == {build.id}


async def test_a_polecat_handed_a_human_step_refuses_it(plain_town: Town):
    store = plain_town.store
    bead = await store.create("Sign the release", labels=["human"], actor="overseer")
    with pytest.raises(HumanStepError, match=rf"{bead.id} is a human step: only the Overseer does it and closes it"):
        await plain_town.new_polecat(bead).run()
    after = await store.get(bead.id)
    assert (after.status, after.assignee, after.comments) == (Status.OPEN, None, None)
    assert await plain_town.records.latest_runs() == []
    assert git(plain_town.workspace, "branch", "--list", polecat_branch(bead.id)) == ""  # no checkout made
