from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from gastown.ledger.model import BeadNotFound, DependencyCycle, InvalidBead, LedgerChange, LedgerError
from gastown.ledger.store import SCHEMA_VERSION, Store


async def test_create_get_list_and_persistence(tmp_path):
    db = tmp_path / "deep" / "dir" / "beads.db"
    async with await Store.open(db, prefix="tw") as s:
        a = await s.create("Low", priority=3, description="d", labels=["x"], metadata={"k": 1}, actor="mayor")
        b = await s.create("High", priority=0, acceptance_criteria="it works")
        c = await s.create("Child", parent=a.id, issue_type="bug")
        assert a.id.startswith("tw-") and len(a.id) == len("tw-") + 4
        got = await s.get(a.id)
        assert got.description == "d" and got.labels == ["x"] and got.metadata == {"k": 1}
        assert got.created_by == "mayor"
        assert [x.id for x in await s.list()] == [b.id, c.id, a.id]
        assert [x.id for x in await s.children(a.id)] == [c.id]
        assert [x.id for x in await s.list(issue_type="bug")] == [c.id]
        assert (await s.get(c.id)).parent_id == a.id
        assert s.version == 3
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    async with await Store.open(db) as s2:
        assert s2.version == 3
        assert (await s2.get(b.id)).acceptance_criteria == "it works"


async def test_validation_errors(store):
    with pytest.raises(InvalidBead, match="title"):
        await store.create("  ")
    with pytest.raises(InvalidBead, match="priority"):
        await store.create("x", priority=5)
    with pytest.raises(BeadNotFound, match="gt-nope"):
        await store.create("x", parent="gt-nope")
    with pytest.raises(BeadNotFound, match="gt-nope"):
        await store.get("gt-nope")
    a = await store.create("x")
    with pytest.raises(InvalidBead, match="priority"):
        await store.update(a.id, priority=-1)
    with pytest.raises(InvalidBead, match="titel"):
        await store.update(a.id, titel="typo")
    assert await store.list() == [a]
    assert issubclass(InvalidBead, LedgerError)


async def test_update_close_reopen_and_events(store):
    a = await store.create("Task", actor="mayor")
    up = await store.update(a.id, title="Task 2", notes="n", actor="polecat-1")
    assert up.title == "Task 2" and up.notes == "n" and up.updated_at >= a.updated_at
    same = await store.update(a.id, title="Task 2")
    assert same == up  # no-op update changes nothing
    closed = await store.close_bead(a.id, reason="done", actor="refinery")
    assert closed.status == "closed" and closed.closed_at and closed.close_reason == "done"
    opened = await store.reopen(a.id)
    assert opened.status == "open" and opened.closed_at is None and opened.close_reason is None
    commented = await store.add_comment(a.id, "overseer", "looks good")
    assert [c.text for c in commented.comments] == ["looks good"] and commented.comments[
        0
    ].author == "overseer"
    kinds = [(e.event_type, e.actor) for e in await store.events(a.id)]
    assert kinds == [
        ("created", "mayor"),
        ("updated", "polecat-1"),
        ("updated", "polecat-1"),
        ("closed", "refinery"),
        ("reopened", ""),
        ("commented", "overseer"),
    ]


async def test_ready_follows_dependencies(store):
    epic = await store.create("Epic", issue_type="epic", priority=1)
    t1 = await store.create("First", parent=epic.id, priority=2)
    t2 = await store.create("Second", parent=epic.id, priority=2)
    t3 = await store.create("Urgent", parent=epic.id, priority=0)
    other = await store.create("Other", priority=3)
    await store.add_dependency(t2.id, t1.id)
    assert [b.id for b in await store.ready()] == [t3.id, epic.id, t1.id, other.id]
    assert [b.id for b in await store.ready(parent=epic.id)] == [t3.id, t1.id]
    assert [b.id for b in await store.ready(limit=2)] == [t3.id, epic.id]
    await store.close_bead(t1.id)
    assert t2.id in [b.id for b in await store.ready()]
    assert [b.id for b in await store.blocked()] == []


async def test_cycle_refused_with_named_cycle(store):
    a = await store.create("a")
    b = await store.create("b")
    c = await store.create("c")
    await store.add_dependency(a.id, b.id)
    await store.add_dependency(b.id, c.id)
    with pytest.raises(DependencyCycle) as err:
        await store.add_dependency(c.id, a.id)
    assert err.value.cycle == [c.id, a.id, b.id, c.id]
    assert f"{c.id} -> {a.id} -> {b.id} -> {c.id}" in str(err.value)
    with pytest.raises(DependencyCycle, match=f"{b.id} -> {a.id} -> {b.id}"):
        await store.add_dependency(b.id, a.id, "blocks")
    # non-blocking types may point backwards
    await store.add_dependency(c.id, a.id, "related")
    assert [(d.depends_on_id, d.type) for d in (await store.get(c.id)).dependencies] == [(a.id, "related")]
    removed = await store.remove_dependency(b.id, c.id)
    assert removed.dependencies is None
    await store.add_dependency(c.id, b.id)  # no longer a cycle


async def test_claim_race_exactly_one_wins(tmp_path):
    db = tmp_path / "beads.db"
    stores = [await Store.open(db) for _ in range(3)]  # three connections, as three processes would
    try:
        bead = await stores[0].create("contested")
        results = await asyncio.gather(*(stores[i % 3].claim(bead.id, f"polecat-{i}") for i in range(60)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        final = await stores[1].get(bead.id)
        assert final.status == "in_progress" and final.assignee == winners[0].assignee
        assert [e.event_type for e in await stores[2].events(bead.id)].count("claimed") == 1
        assert await stores[0].claim(bead.id, "late") is None
    finally:
        for s in stores:
            await s.close()


async def test_batch_rolls_back_everything_and_fires_nothing(store):
    seen: list[LedgerChange] = []
    store.add_listener(seen.append)
    keep = await store.create("keep")
    seen.clear()
    version = store.version
    with pytest.raises(RuntimeError, match="boom"):
        async with store.batch(actor="mayor") as tx:
            e = await tx.create("epic", issue_type="epic")
            await tx.create("child", parent=e.id)
            await tx.update(keep.id, title="changed")
            assert (await tx.get(e.id)).title == "epic"  # the transaction sees its own writes
            with pytest.raises(BeadNotFound):
                await store.get(e.id)  # readers see only committed state
            raise RuntimeError("boom")
    assert [b.id for b in await store.list()] == [keep.id]
    assert (await store.get(keep.id)).title == "keep"
    assert seen == [] and store.version == version
    with pytest.raises(LedgerError, match="ended"):
        await tx.create("late")


async def test_batch_commits_once_and_listener_gets_versions(store):
    changes: list[LedgerChange] = []

    def broken(change):
        raise ValueError("listener bug")

    store.add_listener(broken)
    remove = store.add_listener(changes.append)
    async with store.batch(actor="mayor") as tx:
        epic = await tx.create("Goal", issue_type="epic")
        kids = [await tx.create(f"step {i}", parent=epic.id) for i in range(3)]
        await tx.add_dependency(kids[1].id, kids[0].id)
        assert changes == []  # never inside the transaction
    assert len(changes) == 1 and changes[0].version == store.version == 1
    assert {b.id for b in changes[0].changed} == {epic.id, *(k.id for k in kids)}
    changed_k1 = next(b for b in changes[0].changed if b.id == kids[1].id)
    assert [d.depends_on_id for d in changed_k1.dependencies] == [epic.id, kids[0].id]
    await store.claim(kids[0].id, "polecat-1")
    assert [c.version for c in changes] == [1, 2] and changes[1].changed[0].assignee == "polecat-1"
    assert await store.claim(kids[0].id, "polecat-2") is None  # nothing changed: no version
    assert store.version == 2 and len(changes) == 2
    remove()
    await store.update(epic.id, priority=0)
    assert len(changes) == 2 and store.version == 3


async def test_unknown_fields_survive_storage(store, tmp_path):
    line = {
        "id": "bd-1",
        "title": "x",
        "status": "open",
        "priority": 1,
        "issue_type": "task",
        "created_at": "2026-01-01T00:00:00-08:00",
        "updated_at": "2026-01-01T00:00:00-08:00",
        "await_type": "gh:pr",
        "dependencies": [
            {
                "issue_id": "bd-1",
                "depends_on_id": "bd-2",
                "type": "blocks",
                "created_at": "t",
                "created_by": "",
                "why": 1,
            }
        ],
    }
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(line) + "\n")
    await store.import_jsonl(path)
    got = (await store.get("bd-1")).to_json_dict()
    assert got == line
    updated = await store.update("bd-1", notes="n")
    assert updated.to_json_dict()["await_type"] == "gh:pr"
    assert (await store.get("bd-1")).to_json_dict()["dependencies"][0]["why"] == 1
