"""The editor's side through the real language server: the token handed over with gastown/githubToken (never
in the environment or the settings), the epics' pull requests with gastown/pullRequests (number, state,
checks), refreshed from the loopback GitHub."""

from __future__ import annotations

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.github.conftest import TOKEN, pr_settings
from tests.lsp.test_server import SERVER, request


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_the_editor_hands_over_its_token_and_sees_the_pull_request(client, plain_town_with_remote, hub,
                                                                          tmp_path):
    town, epic_id = plain_town_with_remote
    town.set_github_token(TOKEN)
    await town.land_pull_request(epic_id)
    repo = town.workspace
    await town.close()
    hub.checks = lambda sha: ([{"id": 4, "name": "tests", "status": "completed", "conclusion": "success"}], [])

    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"), root_uri=repo.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="calc")],
        initialization_options={"worktreeRoot": str(tmp_path / "worktrees"), "verifyCommand": "true",
                                **pr_settings(hub)}))

    before = await request(client, "gastown/pullRequests", {"refresh": True})
    assert "not refreshed: no GitHub token for" in before.note  # no token yet: as recorded, and why
    (recorded,) = before.pull_requests
    assert (recorded.number, recorded.state, recorded.checks) == (1, "open", "pending")

    await request(client, "gastown/githubToken", {"token": TOKEN})
    after = await request(client, "gastown/pullRequests", {"refresh": True})
    (pr,) = after.pull_requests
    assert after.note == "" and (pr.epic_id, pr.number, pr.state, pr.checks) == (epic_id, 1, "open", "success")
    assert pr.url == "https://github.example/acme/calc/pull/1" and pr.checks_line == "1 passed"
