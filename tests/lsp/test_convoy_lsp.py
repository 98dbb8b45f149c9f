"""Convoys in the editor, over real LSP: a convoy made in the terminal shows in gastown/convoys, and the
moment its last bead is merged the town's bus reaches the editor as one notification (window/showMessage)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.test_server import SERVER, open_town, request
from tests.support import eventually


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await open_town(lsp_client, tmp_path)
    yield
    await lsp_client.shutdown_session()


async def test_convoy_progress_and_its_merged_notification(client: LanguageClient):
    ids = []
    for title in ("Round add", "Check add"):
        created = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="gastown.createBead", arguments=[{"title": title}]))
        ids.append(created["id"])
    made = subprocess.run([sys.executable, "-m", "gastown", "convoy", "create", "ops", *ids], cwd=client.repo,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr

    listed = await request(client, "gastown/convoys", {})
    (ops,) = listed.convoys
    assert (ops.name, ops.total, ops.merged, ops.landed) == ("ops", 2, 0, 0)

    def convoy_messages() -> list[str]:
        return [m.message for m in client.messages if "Convoy" in m.message]

    await request(client, "gastown/updateBead", {"id": ids[0], "status": "closed", "reason": "merged"})
    await request(client, "gastown/updateBead", {"id": ids[1], "status": "closed", "reason": "merged"})
    await eventually(lambda: convoy_messages() or None, what="the convoy's notification")
    assert convoy_messages() == ["Gas Town: Convoy “ops”: all 2 beads merged into gastown/integration"]
    done = (await request(client, "gastown/convoys", {})).convoys[0]
    assert (done.merged, done.merged_at is not None) == (2, True)

    # The town's costs answer too (no agent ran here: all zero); an unknown bead is named.
    spent = await request(client, "gastown/costs", {})
    assert (spent.scope, spent.total.runs, spent.total.tokens) == ("all", 0, 0)
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/costs", {"bead": "gt-nope"})
    assert err.value.code == -32803 and "gt-nope" in err.value.message
