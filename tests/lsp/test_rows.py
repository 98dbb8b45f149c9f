"""The Beads view's encoded rows against a real ledger, and the orjson wire they go out on."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import orjson
from lsprotocol import types
from pygls.protocol import JsonRPCResponseMessage

from gastown.ledger.model import LedgerChange
from gastown.ledger.store import Store
from gastown.lsp.protocol import BEAD_ROW, BeadSummary
from gastown.lsp.rows import BeadRows, row_of
from gastown.lsp.server import GastownServer

FIXTURE = Path(__file__).parents[1] / "ledger" / "fixtures" / "beads-issues-2026-01.jsonl"


def decoded(fragment: orjson.Fragment) -> list[list]:
    return json.loads(orjson.dumps({"rows": fragment}))["rows"]


async def test_rows_follow_the_ledger_change_by_change(tmp_path: Path):
    store = await Store.open(tmp_path / ".gastown" / "beads.db")
    try:
        rows = BeadRows()
        changes: list[LedgerChange] = []
        store.add_listener(changes.append)
        await store.import_jsonl(FIXTURE)
        rows.reset(await store.list(), store.version)
        epic = await store.create("An epic", issue_type="epic")
        task = await store.create("A task: ünïcode", parent=epic.id, priority=1)
        await store.update(task.id, assignee="polecat-x")
        await store.close_bead(epic.id, reason="done")
        for change in changes[-4:]:
            rows.apply(change)
        listed = await store.list()
        # Same beads, same fields, in BeadSummary's field order; the version of the last change.
        assert sorted(decoded(rows.all())) == sorted([list(row_of(b)) for b in listed])
        assert rows.version == store.version
        by_id = {r[0]: dict(zip(BEAD_ROW, r, strict=True)) for r in decoded(rows.all())}
        assert by_id[task.id] == BeadSummary.of(await store.get(task.id)).model_dump()
        assert by_id[task.id]["parent"] == epic.id and by_id[task.id]["assignee"] == "polecat-x"
        assert by_id[epic.id]["status"] == "closed"
        assert decoded(rows.some([task.id, "gt-nope"])) == [list(row_of(await store.get(task.id)))]
        rows.apply(LedgerChange(version=store.version + 1, removed=[task.id]))
        assert task.id not in {r[0] for r in decoded(rows.all())}
    finally:
        await store.close()


def test_the_wire_encodes_what_pygls_would_and_counts_bytes():
    ls = GastownServer()
    proto = ls.protocol
    Params = namedtuple("Params", "a b")
    message = JsonRPCResponseMessage(id=7, jsonrpc="2.0", result={
        "rows": orjson.Fragment(b'[["gt-1","\xc3\xa9t\xc3\xa9","open",2,"task",null,null]]'),
        "echo": Params(1, "x"),
        "note": types.ShowMessageParams(type=types.MessageType.Info, message="déjà"),
    })
    sent: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            sent.append(data)

    proto.set_writer(Writer(), include_headers=True)
    proto._send_data(message)
    header, body = sent[0].split(b"\r\n\r\n", 1)
    assert int(header.split(b"\r\n")[0].split(b": ")[1]) == len(body)  # bytes, not characters
    assert json.loads(body) == {"id": 7, "jsonrpc": "2.0", "result": {
        "rows": [["gt-1", "été", "open", 2, "task", None, None]], "echo": [1, "x"],
        "note": {"type": 3, "message": "déjà"}}}


async def test_a_human_steps_row_turns_when_what_blocks_it_closes(tmp_path: Path):
    """A human step needs you once no blocker of it or of its epic is open; the change that closes the
    blocker re-sends the step's row though the step itself did not change."""
    store = await Store.open(tmp_path / ".gastown" / "beads.db")
    try:
        rows = BeadRows()
        changes: list[LedgerChange] = []
        store.add_listener(changes.append)
        gate = await store.create("The release gate")
        epic = await store.create("Ship", issue_type="epic")
        await store.add_dependency(epic.id, gate.id)  # the whole epic waits for the gate
        build = await store.create("Build it", parent=epic.id)
        sign = await store.create("Sign it", parent=epic.id, labels=["human"])
        await store.add_dependency(sign.id, build.id)
        rows.reset(await store.list(), store.version)

        def human() -> dict[str, int]:
            return {r[0]: r[BEAD_ROW.index("human")] for r in decoded(rows.all())}

        assert human() == {gate.id: 0, epic.id: 0, build.id: 0, sign.id: 1}
        seen = len(changes)
        await store.close_bead(build.id, reason="built")
        touched = [b.id for c in changes[seen:] for b in rows.apply(c)]
        assert touched == [build.id] and human()[sign.id] == 1  # the epic's gate still blocks it

        seen = len(changes)
        await store.close_bead(gate.id, reason="open")
        touched = [b.id for c in changes[seen:] for b in rows.apply(c)]
        assert touched == [gate.id, sign.id] and human()[sign.id] == 2
        assert rows.summary(await store.get(sign.id)).human == 2

        seen = len(changes)
        await store.reopen(build.id)
        touched = [b.id for c in changes[seen:] for b in rows.apply(c)]
        assert touched == [build.id, sign.id] and human()[sign.id] == 1
        # A human step closed is no longer the Overseer's to do.
        await store.close_bead(build.id)
        await store.close_bead(sign.id, actor="overseer")
        for change in changes[seen + 1:]:
            rows.apply(change)
        assert human()[sign.id] == 1
        fresh = BeadRows()  # what the changes built is what a first load from the ledger builds
        fresh.reset(await store.list(), store.version)
        assert sorted(decoded(rows.all())) == sorted(decoded(fresh.all()))
    finally:
        await store.close()
