"""The Overseer in the loop, end to end (real Copilot CLI + SDK, scripted model, real git): a polecat asks
and the answer resumes the same session; an unanswered question is escalated, and a retry with a note
(sent from a terminal while no town ran) brings the bead home; a polecat that forgets report_done gets one
reminder, then needs input; a nudge reaches a running session; discovered work is held or dispatched."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gastown.ledger.model import DepType, Status
from gastown.town import control
from gastown.town.bus import DiscoveredWork, Escalation, NeedsInput, OverseerMessage, WitnessAction
from gastown.town.polecat import REMINDER, polecat_name
from gastown.town.town import Town
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.support import eventually
from tests.town.conftest import git

pytestmark = pytest.mark.runtime

SUB = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'
QUESTION = "Should sub() accept floats or only ints?"
ANSWER = "Accept both ints and floats."


def ask(question: str) -> dict:
    return {"tool_calls": [{"name": "ask_overseer", "arguments": {"question": question}}]}


def bead_create(title: str) -> dict:
    return {"tool_calls": [{"name": "bead_create", "arguments": {"title": title, "description": "seen while working",
                                                                  "acceptance_criteria": "it exists"}}]}


def one_bead(steps: list[dict], *more: dict) -> dict:
    return {"rules": [mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
                      polecat_rule("Add subtract", steps), *more]}


def collect(town: Town, *types) -> list:
    seen: list = []
    town.bus.subscribe(lambda e: seen.append(e) if isinstance(e, types) else None)
    return seen


async def comments(town: Town, bead_id: str) -> list[tuple[str, str]]:
    assert town.store is not None
    return [(c.author, c.text) for c in (await town.store.get(bead_id)).comments or []]


def waiting(town: Town, bead_id: str):
    info = town.agents.get(polecat_name(bead_id))
    return info if info is not None and info.state == "needs-input" and info.question else None


async def needs_input(town: Town, bead_id: str, job: asyncio.Task):
    """The agent record once the bead's polecat waits for an answer (fails at once if the goal ends first)."""
    def check():
        if job.done():
            raise AssertionError(f"the goal ended before the polecat asked: {job.result()!r}")
        return waiting(town, bead_id)

    return await eventually(check, timeout=90, what="the polecat needs input")


def conversation_with(town: Town, text: str) -> list[dict]:
    """The messages of the first model request whose conversation contains ``text``."""
    assert town.model_server is not None
    for request in town.model_server.requests:
        if text in json.dumps(request["messages"]):
            return request["messages"]
    raise AssertionError(f"no model request contains {text!r}")


# Ask, end the turn; with the answer: write the file, report done.
ASKING = [ask(QUESTION), say("I asked the Overseer."), create("calc/sub.py", SUB), done("sub added"), say()]


async def test_a_question_answered_from_a_terminal_continues_the_same_session(make_town):
    town = await make_town(one_bead(ASKING))
    asked, told = collect(town, NeedsInput), collect(town, OverseerMessage)
    _, epic, (bead,), job = await town.submit_goal("Subtract")

    info = await needs_input(town, bead.id, job)
    assert info.question == QUESTION
    await eventually(lambda: asked, what="NeedsInput published")
    assert [(e.bead_id, e.question, e.kind) for e in asked] == [(bead.id, QUESTION, "question")]
    acted = collect(town, WitnessAction)
    await town.witness.check(now=time.monotonic() + 3600)  # an hour waiting for the answer is not a stall
    assert acted == [] and [w.phase for w in town.witness.watches.values()] == ["waiting"]
    # The terminal's way in: the control socket of the running town.
    reply = await asyncio.to_thread(control.send, town.workspace, "answer", bead.id, ANSWER)
    assert reply.delivered and reply.ok
    report = await asyncio.wait_for(job, 120)

    assert report.ok and (await town.store.get(bead.id)).status == Status.CLOSED
    assert (polecat_name(bead.id), f"Question for the Overseer: {QUESTION}") in await comments(town, bead.id)
    assert ("overseer", f"Answer: {ANSWER}") in await comments(town, bead.id)
    assert [(m.kind, m.delivered) for m in told] == [("answer", True)]
    # The same session: the request that carries the answer also carries the model's own question.
    messages = conversation_with(town, ANSWER)
    assert QUESTION in json.dumps(messages) and "ask_overseer" in json.dumps(messages)
    runs = await town.records.runs(bead.id)
    assert len(runs) == 1 and runs[0].exit_reason == "done"
    assert town.agents[polecat_name(bead.id)].question is None
    assert git(town.workspace, "show", f"{town.worktrees.integration}:calc/sub.py") == SUB


async def test_unanswered_is_escalated_then_a_retry_sent_while_no_town_ran_resumes_and_closes(make_town):
    town = await make_town(one_bead(ASKING), polecats={"needsInputTimeout": 1})
    escalations = collect(town, Escalation)
    _, epic, (bead,), job = await town.submit_goal("Subtract")
    report = await asyncio.wait_for(job, 120)

    assert not report.ok and report.blocked == [bead.id]
    assert (await town.store.get(bead.id)).status == Status.BLOCKED
    assert [e.bead_id for e in escalations] == [bead.id] and "no answer from the Overseer" in escalations[0].reason
    assert any(a == "witness" and "not answered" in t and QUESTION in t for a, t in await comments(town, bead.id))
    first = (await town.records.runs(bead.id))[-1]
    assert first.exit_reason == "escalated" and first.session_id
    await town.close()

    # No town runs: the retry is recorded on the bead and applied by the next town.
    reply = await asyncio.to_thread(control.send, town.workspace, "retry", bead.id, "Accept floats too.")
    assert not reply.delivered
    assert (await reopen_store(town)).metadata[control.PENDING_KEY][0]["method"] == "retry"
    again = await make_town(one_bead(ASKING), repo=town.workspace, polecats={"needsInputTimeout": 1})
    assert (await again.store.get(bead.id)).status == Status.OPEN
    assert control.PENDING_KEY not in ((await again.store.get(bead.id)).metadata or {})
    assert await again.resume_goals() == [epic.id]
    await eventually(lambda: status_is(again, bead.id, Status.CLOSED), timeout=120, what="the bead closes")

    second = (await again.records.runs(bead.id))[-1]
    assert second.exit_reason == "done" and second.resumed_from == first.session_id  # the same session
    assert "Accept floats too." in json.dumps(conversation_with(again, "Accept floats too."))
    assert QUESTION in json.dumps(conversation_with(again, "Accept floats too."))


async def reopen_store(town: Town):
    from gastown.config import state_dir
    from gastown.ledger.store import Store

    store = await Store.open(state_dir(town.workspace) / "beads.db")
    try:
        return await store.get((await store.list(issue_type="task"))[0].id)
    finally:
        await store.close()


async def status_is(town: Town, bead_id: str, status: str) -> bool:
    return (await town.store.get(bead_id)).status == status


FORGETFUL = [create("calc/sub.py", SUB), say("I wrote calc/sub.py."), say("Should I also add a test for it?"),
             done("sub added"), say()]


async def test_a_polecat_that_forgets_report_done_is_reminded_once_then_needs_input(make_town):
    town = await make_town(one_bead(FORGETFUL))
    asked = collect(town, NeedsInput)
    _, epic, (bead,), job = await town.submit_goal("Subtract")

    info = await needs_input(town, bead.id, job)
    assert info.question == "Should I also add a test for it?"
    # The board shows the state first; the event follows once the question is a bead comment.
    await eventually(lambda: asked, what="NeedsInput published")
    assert [(e.kind, e.question) for e in asked] == [("silent", "Should I also add a test for it?")]
    assert await town.answer(bead.id, "No, the sub module alone is enough.")
    report = await asyncio.wait_for(job, 120)

    final = json.dumps(conversation_with(town, "No, the sub module alone is enough."))
    assert final.count(REMINDER) == 1  # one reminder, in the same conversation as the answer

    assert report.ok and (await town.store.get(bead.id)).status == Status.CLOSED
    events = await town.records.events((await town.records.runs(bead.id))[-1].id)
    actions = [e["detail"].get("action") for e in events if e["kind"] == "witness"]
    assert actions == ["remind", "needs-input", "overseer-answer"]


NUDGED = [{"tool_calls": [{"name": "bash", "arguments": {"command": "sleep 4", "description": "think"}}]},
          create("calc/sub.py", SUB), done("sub added"), say()]


async def test_a_nudge_reaches_a_running_session(make_town):
    town = await make_town(one_bead(NUDGED))
    told = collect(town, OverseerMessage)
    _, epic, (bead,), job = await town.submit_goal("Subtract")

    await eventually(lambda: (town.agents.get(polecat_name(bead.id)) or None) and
                     town.agents[polecat_name(bead.id)].current_tool == "bash", timeout=90, what="the bash tool runs")
    reply = await asyncio.to_thread(control.send, town.workspace, "nudge", bead.id, "Mind the docstring, please.")
    assert reply.delivered
    report = await asyncio.wait_for(job, 120)

    assert report.ok
    assert [(m.kind, m.text) for m in told] == [("nudge", "Mind the docstring, please.")]
    conversation_with(town, "Mind the docstring, please.")  # the model saw it
    events = await town.records.events((await town.records.runs(bead.id))[-1].id)
    assert [e["text"] for e in events if e["kind"] == "witness"] == ["Mind the docstring, please."]
    with pytest.raises(control.OverseerError, match="no polecat is running"):
        await asyncio.to_thread(control.send, town.workspace, "nudge", bead.id, "too late")


DISCOVERING = [bead_create("Add a changelog"), create("calc/sub.py", SUB), done("sub added"), say()]
CHANGELOG = polecat_rule("Add a changelog", [create("CHANGELOG.md", "# Changes\n"), done("changelog"), say()])


async def test_discovered_work_is_held_for_the_overseer_then_dispatched_on_request(make_town):
    town = await make_town(one_bead(DISCOVERING, CHANGELOG))
    found = collect(town, DiscoveredWork)
    _, epic, (bead,), job = await town.submit_goal("Subtract")
    report = await asyncio.wait_for(job, 120)

    assert [(e.from_bead_id, e.epic_id, e.title, e.mode) for e in found] == [
        (bead.id, epic.id, "Add a changelog", "hold")]
    new = await town.store.get(found[0].bead_id)
    assert new.status == Status.DEFERRED and new.parent_id == epic.id
    assert (bead.id, DepType.DISCOVERED_FROM) in {(d.depends_on_id, d.type) for d in new.dependencies}
    assert report.ok and report.beads == 1 and report.held == [new.id] and report.discovered == [new.id]
    assert (await town.store.get(epic.id)).status != Status.CLOSED  # held work keeps the goal's epic open

    await town.dispatch_discovered(new.id)
    await eventually(lambda: status_is(town, new.id, Status.CLOSED), timeout=120, what="the discovered bead closes")
    await eventually(lambda: status_is(town, epic.id, Status.CLOSED), timeout=30, what="the epic closes")
    assert "# Changes" in git(town.workspace, "show", f"{town.worktrees.integration}:CHANGELOG.md")


async def test_discovered_work_dispatched_in_the_same_goal_and_counted(make_town):
    town = await make_town(one_bead(DISCOVERING, CHANGELOG), discovered_work="dispatch")
    found = collect(town, DiscoveredWork)
    _, epic, (bead,), job = await town.submit_goal("Subtract")
    report = await asyncio.wait_for(job, 180)

    assert [e.mode for e in found] == ["dispatch"]
    assert report.ok and report.beads == 2 and report.closed == 2 and report.discovered == [found[0].bead_id]
    assert report.held == []
    assert (await town.store.get(epic.id)).status == Status.CLOSED
