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
