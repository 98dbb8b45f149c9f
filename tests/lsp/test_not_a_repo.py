"""A workspace folder that is not a git repository: clear errors, and the server keeps serving."""

from __future__ import annotations

import os
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=[sys.executable, "-m", "gastown", "serve"],
    server_env={**os.environ, "GASTOWN_LOG": "WARNING"},
))
async def client(lsp_client: LanguageClient, tmp_path):
    (tmp_path / "plain").mkdir()
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=(tmp_path / "plain").as_uri()))
    yield
    await lsp_client.shutdown_session()


async def test_not_a_git_repo_is_a_clear_error(client: LanguageClient):
    with pytest.raises(JsonRpcException) as err:
        await client.protocol.send_request_async("gastown/submitGoal", {"goal": "anything"})
    assert err.value.code == -32803
    assert "not a git repository" in err.value.message
    shown = [m.message for m in client.messages]
    assert any("not a git repository" in m for m in shown)
    with pytest.raises(JsonRpcException) as err:
        await client.protocol.send_request_async("gastown/beads", {})
    assert "not a git repository" in err.value.message
