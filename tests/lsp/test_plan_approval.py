"""Plan approval from the editor: the plan waits as draft beads the Overseer edits, then approves."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.test_server import SERVER, open_town, request, summaries, until_all_closed

pytestmark = pytest.mark.runtime


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await open_town(lsp_client, tmp_path, planApproval=True)
    yield
    await lsp_client.shutdown_session()


async def test_drafted_plan_is_edited_then_approved_and_runs(client: LanguageClient):
    result = await request(client, "gastown/submitGoal", {"goal": "Add multiply and divide"})
    listed = await request(client, "gastown/beads", {"filter": "all"})
    assert {b["status"] for b in summaries(listed).values()} == {"draft"}
    assert any("drafted with 3 beads" in m.message for m in client.messages)

    # Nothing runs while the plan is a draft; the Overseer edits a bead first.
    edited = await request(client, "gastown/updateBead", {"id": result.bead_ids[2], "priority": 4})
    assert edited.bead.priority == 4 and edited.bead.status == "draft"
    agents = await request(client, "gastown/agents", {})
    assert [a for a in agents.agents if a.role == "polecat"] == []

    approved = await request(client, "gastown/planDecision", {"epicId": result.epic_id, "decision": "approve"})
    assert sorted(approved.bead_ids) == sorted(result.bead_ids)
    status = await asyncio.wait_for(until_all_closed(client, result.bead_ids), 90)
    assert all(status[i] == "closed" for i in result.bead_ids)

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/planDecision", {"epicId": result.epic_id, "decision": "approve"})
    assert err.value.code == -32803 and "no draft plan" in err.value.message
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/planDecision", {"epicId": result.epic_id, "decision": "maybe"})
    assert err.value.code == -32602 and "decision" in err.value.message
