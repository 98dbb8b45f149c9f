"""The Overseer in the loop through the editor's protocol: a polecat's question reaches the client in its
agent status and is answered with gastown/answer; discovered work held for the Overseer is offered with a
Dispatch action (window/showMessageRequest) and choosing it works the bead. Real LSP, real CLI, real git."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from gastown.demo import make_sample_repo
from gastown.lsp.protocol import BEAD_ROW
from tests.conftest import copilot_cli
from tests.lsp.test_server import SERVER, request, until_all_closed
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.support import eventually

SUB = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'
QUESTION = "Should sub() accept floats or only ints?"


def ask(question: str) -> dict:
    return {"tool_calls": [{"name": "ask_overseer", "arguments": {"question": question}}]}


def bead_create(title: str) -> dict:
    return {"tool_calls": [{"name": "bead_create", "arguments": {"title": title, "description": "seen while working",
                                                                  "acceptance_criteria": "it exists"}}]}


def scenario(steps: list[dict], *more: dict) -> dict:
    return {"rules": [mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
                      polecat_rule("Add subtract", steps), *more]}


async def open_with(client: LanguageClient, tmp_path, scenario_doc: dict) -> None:
    repo = make_sample_repo(tmp_path / "calc")
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario_doc))
    client.offers = []  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def _refresh(_params: None) -> None:
        return None

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def _offer(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        client.offers.append(params)  # type: ignore[attr-defined]
        return next((a for a in params.actions or [] if a.title == "Dispatch"), None)

    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        root_uri=repo.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="calc")],
        initialization_options={"scenario": str(path), "worktreeRoot": str(tmp_path / "worktrees"),
                                "verifyCommand": f"{sys.executable} -m unittest discover -q",
                                "cliPath": copilot_cli()}))


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_a_question_reaches_the_editor_and_its_answer_lets_the_polecat_finish(client, tmp_path):
    await open_with(client, tmp_path, scenario(
        [ask(QUESTION), say("I asked."), create("calc/sub.py", SUB), done("sub added"), say()]))
    result = await request(client, "gastown/submitGoal", {"goal": "Subtract"})
    (bead_id,) = result.bead_ids

    async def asking():
        agents = await request(client, "gastown/agents", {})
        return next((a for a in agents.agents if a.bead_id == bead_id and a.state == "needs-input"), None)

    agent = await eventually(asking, timeout=90, what="the polecat waits for the Overseer")
    assert agent.question == QUESTION

    answered = await request(client, "gastown/answer", {"beadId": bead_id, "text": "Only ints."})
    assert answered.bead_id == bead_id and answered.message
    status = await asyncio.wait_for(until_all_closed(client, [bead_id]), 120)
    assert status[bead_id] == "closed"
    comments = (await request(client, "gastown/bead", {"id": bead_id})).bead.comments
    texts = [c.text for c in comments]
    assert any(QUESTION in t for t in texts) and any("Only ints." in t for t in texts)


async def test_held_discovered_work_is_offered_and_dispatch_works_it(client, tmp_path):
    changelog = polecat_rule("Add a changelog", [create("CHANGELOG.md", "# Changes\n"), done("changelog"), say()])
    await open_with(client, tmp_path, scenario(
        [bead_create("Add a changelog"), create("calc/sub.py", SUB), done("sub added"), say()], changelog))
    result = await request(client, "gastown/submitGoal", {"goal": "Subtract"})

    offers = await eventually(lambda: client.offers, timeout=90, what="the discovered bead offered")
    assert "Add a changelog" in offers[0].message and [a.title for a in offers[0].actions] == ["Dispatch"]

    async def discovered_closed():
        listed = await request(client, "gastown/beads", {"filter": "all"})
        title, status = BEAD_ROW.index("title"), BEAD_ROW.index("status")
        rows = [r for r in listed.rows if r[title] == "Add a changelog"]
        return rows and rows[0][status] == "closed"

    await eventually(discovered_closed, timeout=150, what="the dispatched discovered bead closes")
    for bead_id in result.bead_ids:
        assert (await request(client, "gastown/bead", {"id": bead_id})).bead.status == "closed"
