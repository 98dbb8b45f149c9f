"""The language server end to end, over real LSP (pytest-lsp drives `gastown serve`), with the real
Copilot CLI and the scripted model behind it and real git underneath."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from gastown.demo import DEMO_SCENARIO, make_sample_repo
from gastown.lsp.protocol import BEAD_ROW
from tests.conftest import copilot_cli
from tests.support import eventually

pytestmark = pytest.mark.runtime


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "gastown", "serve", "--stdio"],
    server_env={**os.environ, "GASTOWN_LOG": "WARNING"},
)


async def open_town(lsp_client: LanguageClient, tmp_path, **options) -> None:
    """Initialize a session on a fresh sample repo, the demo scenario playing behind the real CLI."""
    repo = make_sample_repo(tmp_path / "calc")
    lsp_client.lens_refreshes = 0

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def _refresh(_params):
        lsp_client.lens_refreshes += 1

    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=repo.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="calc")],
        initialization_options={
            "scenario": str(DEMO_SCENARIO),
            "worktreeRoot": str(tmp_path / "worktrees"),
            "verifyCommand": f"{sys.executable} -m unittest discover -q",
            "cliPath": copilot_cli(),
            **options,
        },
    ))
    lsp_client.repo = repo


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await open_town(lsp_client, tmp_path)
    yield
    await lsp_client.shutdown_session()


def summaries(listed) -> dict[str, dict]:
    """A gastown/beads answer's rows (arrays in BEAD_ROW order) as BeadSummary dicts by id."""
    return {row[0]: dict(zip(BEAD_ROW, row, strict=True)) for row in listed.rows}


async def _equal(value, expected):
    """``value`` (awaited) if it equals ``expected``, else None: for ``eventually``."""
    got = await value
    return got if got == expected else None


async def request(client: LanguageClient, method: str, params) -> object:
    return await client.protocol.send_request_async(method, params)


async def until_all_closed(client: LanguageClient, ids: list[str]) -> dict[str, str]:
    """Follow gastown/beadsChanged deltas until every bead is closed; returns the last status by id."""
    status: dict[str, str] = {}
    while not all(status.get(i) == "closed" for i in ids):
        note = await client.wait_for_notification("gastown/beadsChanged")
        for bead in note.changed:
            status[bead.id] = bead.status
    return status


async def test_goal_from_submit_to_closed_beads(client: LanguageClient):
    changed = client.protocol.wait_for_notification_async("gastown/beadsChanged")
    result = await request(client, "gastown/submitGoal", {"goal": "Add multiply and divide"})
    first = await asyncio.wait_for(changed, 30)
    assert result.epic_id.startswith("gt-")
    assert len(result.bead_ids) == 3
    assert first.version >= 1 and any(b.id in result.bead_ids for b in first.changed)

    status = await asyncio.wait_for(until_all_closed(client, result.bead_ids), 90)
    assert all(status[i] == "closed" for i in result.bead_ids)

    listed = await request(client, "gastown/beads", {"filter": "all"})
    by_id = summaries(listed)
    assert {by_id[i]["parent"] for i in result.bead_ids} == {result.epic_id}
    assert {by_id[i]["status"] for i in result.bead_ids} == {"closed"}
    assert by_id[result.epic_id]["issue_type"] == "epic"
    assert listed.version >= first.version
    # The ready filter answers from the ledger's index, in the same row shape.
    ready = await request(client, "gastown/beads", {"filter": "ready"})
    assert all(len(row) == len(BEAD_ROW) for row in ready.rows)
    assert not set(summaries(ready)) & set(result.bead_ids)

    # The dependency was honoured: tests merged after the operations they test.
    full = await request(client, "gastown/bead", {"id": result.bead_ids[1]})
    assert full.bead.dependencies and any(d.depends_on_id == result.bead_ids[0] for d in full.bead.dependencies)

    # Work-done progress: begun, reported, ended.
    def kinds() -> list[str | None]:
        return [getattr(v, "kind", None) for reports in client.progress_reports.values() for v in reports]

    await eventually(lambda: kinds() and kinds()[-1] == "end", what="the goal's progress ended")
    assert kinds()[0] == "begin" and "report" in kinds()

    # The Overseer can review what each polecat did: files, hunks, and both sides served read-only.
    diff = await request(client, "gastown/diff", {"beadId": result.bead_ids[0]})
    assert diff.merged and diff.branch == f"polecat/{result.bead_ids[0]}"
    ops = next(f for f in diff.files if f.path == "calc/ops.py")
    assert ops.status == "added" and any("def multiply" in line for line in ops.hunks[0].lines)
    head = await request(client, "gastown/document", {"beadId": result.bead_ids[0], "path": "calc/ops.py",
                                                      "side": "head"})
    base = await request(client, "gastown/document", {"beadId": result.bead_ids[0], "path": "calc/ops.py",
                                                      "side": "base"})
    assert head.exists and "def divide" in head.text and not base.exists

    agents = await request(client, "gastown/agents", {})
    polecats = [a for a in agents.agents if a.role == "polecat"]
    assert len(polecats) == 3 and all(a.state == "done" for a in polecats)


async def test_invalid_params_name_the_field(client: LanguageClient):
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/submitGoal", {"goal": ""})
    assert err.value.code == -32602 and "goal" in err.value.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/bead", {"ident": "x"})
    assert err.value.code == -32602 and "id" in err.value.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/beads", {"filter": "sometimes"})
    assert err.value.code == -32602 and "filter" in err.value.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/bead", {"id": "gt-nope"})
    assert err.value.code == -32803 and "gt-nope" in err.value.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/document", {"beadId": "gt-1", "path": "x", "side": "middle"})
    assert err.value.code == -32602 and "side" in err.value.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/diff", {"beadId": "gt-none"})
    assert err.value.code == -32803 and "no branch polecat/gt-none" in err.value.message


async def test_abort_of_an_agent_that_is_not_running(client: LanguageClient):
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/abortAgent", {"id": "polecat-gt-none"})
    assert err.value.code == -32803 and "polecat-gt-none" in err.value.message
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/abortAgent", {})
    assert err.value.code == -32602 and "id" in err.value.message


async def test_unknown_method_and_server_survives(client: LanguageClient):
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/noSuchThing", {})
    assert err.value.code == -32601
    with pytest.raises(JsonRpcException):
        await request(client, "gastown/beads", [1, 2, 3])
    listed = await request(client, "gastown/beads", {})
    assert listed.version == 0 and listed.rows == []


async def test_code_lenses_and_create_bead_command(client: LanguageClient):
    uri = (client.repo / "calc" / "__init__.py").as_uri()
    text = "def add(a, b):\n    # TODO: support complex numbers\n    return a + b\n"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [(lens.range.start.line, lens.command.title) for lens in lenses] == [(1, "Create bead")]

    created = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=lenses[0].command.command, arguments=lenses[0].command.arguments))
    assert created["title"] == "support complex numbers" and created["status"] == "open"

    # The ledger changed: the client is asked to refresh its lenses (debounced).
    await eventually(lambda: client.lens_refreshes >= 1, what="a code lens refresh request")

    # The new bead's id in a comment now shows its status and title.
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text=f"def add(a, b):\n    # see {created['id']}\n    return a + b\n")]))
    expected = [f"{created['id']} · open · P2 · support complex numbers"]

    async def titles() -> list[str]:
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
        return [lens.command.title for lens in lenses]

    assert await eventually(lambda: _equal(titles(), expected), what="the bead's code lens") == expected

    with pytest.raises(JsonRpcException) as err:
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="gastown.createBead", arguments=[{"title": ""}]))
    assert err.value.code == -32602 and "title" in err.value.message


async def test_jsonl_changed_underneath_is_imported(client: LanguageClient):
    jsonl = client.repo / ".beads" / "issues.jsonl"
    jsonl.parent.mkdir(exist_ok=True)
    jsonl.write_text('{"id":"gt-zz01","title":"From a teammate","status":"open","priority":1,'
                     '"issue_type":"task","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}\n')
    changed = client.protocol.wait_for_notification_async("gastown/beadsChanged")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=jsonl.as_uri(), type=types.FileChangeType.Changed)]))
    note = await asyncio.wait_for(changed, 10)
    assert [b.id for b in note.changed] == ["gt-zz01"]
    bead = await request(client, "gastown/bead", {"id": "gt-zz01"})
    assert bead.bead.title == "From a teammate"


async def test_update_bead_from_the_editor(client: LanguageClient):
    created = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="gastown.createBead", arguments=[{"title": "Tidy the README", "priority": 3}]))
    bead_id = created["id"]
    updated = await request(client, "gastown/updateBead", {"id": bead_id, "priority": 0, "title": "Tidy it"})
    assert (updated.bead.priority, updated.bead.title) == (0, "Tidy it")
    closed = await request(client, "gastown/updateBead", {"id": bead_id, "status": "closed", "reason": "done"})
    assert closed.bead.status == "closed" and closed.bead.close_reason == "done"
    reopened = await request(client, "gastown/updateBead", {"id": bead_id, "status": "open"})
    assert reopened.bead.status == "open"
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/updateBead", {"id": bead_id, "priority": 9})
    assert err.value.code == -32602 and "priority" in err.value.message
    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/updateBead", {"id": "gt-none", "status": "closed"})
    assert err.value.code == -32803
