"""The Witness with the real CLI: a stalled session (the scripted model stops answering) is nudged, then
restarted with a handoff summary, and escalated after maxRestarts; budgets stop a bead and pause a goal."""

from __future__ import annotations

import asyncio
import json

from gastown.town.bus import DispatchPaused, Escalation, WitnessAction
from gastown.town.polecat import polecat_name
from gastown.town.records import derive_state
from tests.support import eventually

STALL = {"rules": [
    {"name": "once-after-restart", "match": r"Title: Stall once.*?Worktree: (?P<wt>\S+).*?Handoff", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/recovered.txt", "file_text": "ok\n"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "recovered after a restart"}}]},
        {"text": "Done."},
    ]},
    {"name": "once", "match": r"Title: Stall once.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/before.txt", "file_text": "1\n"}}]},
        {"hang": True},
    ]},
    {"name": "always", "match": r"Title: Stall always", "steps": [{"hang": True}]},
]}


def _first_user(request: dict) -> str:
    return json.dumps(next(m for m in request["messages"] if m.get("role") == "user"))


async def test_stalled_session_nudged_restarted_then_escalated(town_of):
    seen: list = []
    town = await town_of(STALL, polecats={"stallSeconds": 2, "maxRestarts": 1})
    town.bus.subscribe(seen.append)
    store, records = town.store, town.records
    epic = await store.create("Stalls", issue_type="epic")
    once = await store.claim((await store.create("Stall once", parent=epic.id)).id, polecat_name("x1"))
    always = await store.claim((await store.create("Stall always", parent=epic.id)).id, polecat_name("x2"))
    for bead in (once, always):
        town.board.update(polecat_name(bead.id), bead_id=bead.id)

    r_once, r_always = await asyncio.gather(town.dispatcher.run_polecat(once),
                                            town.dispatcher.run_polecat(always))

    # Stalled once: nudged, restarted with a handoff summary of the first session, then done.
    assert r_once.blocked is None and r_once.commit and sorted(r_once.files) == ["before.txt", "recovered.txt"]
    run = (await records.runs(once.id))[-1]
    assert run.exit_reason == "done" and run.restarts == 1 and run.nudges >= 1
    actions = [e["detail"]["action"] for e in await records.events(run.id) if e["kind"] == "witness"]
    assert actions[0] == "nudge" and actions.count("restart") == 1 and "escalate" not in actions
    handoffs = [_first_user(r) for r in town.model_server.requests
                if "Handoff" in _first_user(r) and "Stall once" in _first_user(r)]
    assert handoffs and "before.txt" in handoffs[0] and "called create" in handoffs[0]

    # Stalled always: nudge, restart, nudge, escalate — bead blocked with a comment, Overseer notified.
    assert r_always.escalated and "stuck" in r_always.blocked and r_always.commit is None
    run = (await records.runs(always.id))[-1]
    assert run.exit_reason == "escalated" and run.restarts == 1 and derive_state(run) == "needs-input"
    actions = [e["detail"]["action"] for e in await records.events(run.id) if e["kind"] == "witness"]
    assert actions == ["nudge", "restart", "nudge", "escalate"]
    bead = await store.get(always.id)
    assert bead.status == "blocked"
    assert any(c.author == "witness" and "escalated" in c.text and "stuck" in c.text for c in bead.comments)
    assert [e.bead_id for e in seen if isinstance(e, Escalation)] == [always.id]
    assert {e.action for e in seen if isinstance(e, WitnessAction)} >= {"nudge", "restart", "escalate"}
    assert town.agents[polecat_name(always.id)].state == "needs-input"
    assert not town.witness.watches  # nothing left under watch


LOOP = {"rules": [
    {"name": "spender", "match": r"Title: Spend.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/spent.txt", "file_text": "1\n"}}]},
        *[{"tool_calls": [{"name": "bash", "arguments": {"command": "sleep 0.2", "description": "think"}}]}
          for _ in range(40)],
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "never reached"}}]},
    ]},
    {"name": "cheap", "match": r"Title: Cheap.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/cheap.txt", "file_text": "1\n"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "cheap"}}]},
        {"text": "Done."},
    ]},
]}


async def test_budget_caps_stop_a_bead_and_pause_dispatch(town_of):
    seen: list = []
    town = await town_of(LOOP, polecats={"stallSeconds": 30,
                                         "budget": {"tokensPerBead": 400, "tokensPerGoal": 400}})
    town.bus.subscribe(seen.append)
    store, witness = town.store, town.witness
    epic = await store.create("Budget", issue_type="epic")
    spend = await store.create("Spend", parent=epic.id)
    cheap = await store.create("Cheap", parent=epic.id)
    later = await store.create("Later", parent=epic.id)
    assert witness.may_dispatch(spend)

    result = await town.dispatcher.run_polecat(await store.claim(spend.id, polecat_name(spend.id)))

    # The bead cap stopped the running polecat: its work is kept, the bead blocked, the Overseer told.
    assert result.escalated and "token budget per bead" in result.blocked
    assert result.commit and result.files == ["spent.txt"]
    run = (await town.records.runs(spend.id))[-1]
    assert run.exit_reason == "budget" and 400 <= run.tokens < 4000
    assert (await store.get(spend.id)).status == "blocked"
    assert not witness.may_dispatch(spend)
    assert any(isinstance(e, Escalation) and e.bead_id == spend.id for e in seen)

    # The goal cap pauses dispatch of the goal's other beads; the Overseer can resume it.
    await witness.check()
    assert not witness.may_dispatch(cheap) and "token budget per goal" in witness.dispatch_blocker(later)
    paused = [e for e in seen if isinstance(e, DispatchPaused) and e.paused]
    assert {e.scope for e in paused} == {f"bead:{spend.id}", f"goal:{epic.id}"}
    assert set(await town.records.pauses()) == {f"bead:{spend.id}", f"goal:{epic.id}"}  # survives a restart
    await witness.resume_dispatch(f"goal:{epic.id}")
    assert witness.may_dispatch(cheap) and not witness.may_dispatch(spend)
    done = await town.dispatcher.run_polecat(await store.claim(cheap.id, polecat_name(cheap.id)))
    assert done.commit and not done.blocked


async def test_overseer_aborts_a_live_polecat(town_of):
    town = await town_of(STALL, polecats={"stallSeconds": 60})
    store = town.store
    bead = await store.claim((await store.create("Stall always")).id, "polecat-x")
    task = asyncio.ensure_future(town.dispatcher.run_polecat(bead))
    await eventually(lambda: town.witness.watches, timeout=60, what="the session is live and under watch")
    assert await town.witness.abort_agent(bead.id)
    result = await task
    assert result.escalated and result.blocked == "aborted by the Overseer"
    assert (await town.records.runs(bead.id))[-1].exit_reason == "aborted"
    assert (await store.get(bead.id)).status == "blocked"
    assert not await town.witness.abort_agent(bead.id)  # nothing live any more
