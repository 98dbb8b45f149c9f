"""Labels, the audit trail (an event for every kind of change), child ids, dep tree and cycles."""

from __future__ import annotations

import json
import re

import pytest

from gastown.ledger.model import DependencyCycle, InvalidBead


async def test_labels_add_remove_with_events(store):
    a = await store.create("a", labels=["x"])
    got = await store.add_labels(a.id, ["y", "x", "z"], actor="mayor")
    assert got.labels == ["x", "y", "z"]
    got = await store.remove_label(a.id, "x", actor="overseer")
    assert got.labels == ["y", "z"]
    assert [b.id for b in await store.list(label="y")] == [a.id]
    assert await store.list(label=["y", "x"]) == []
    got = await store.update(a.id, labels=["z", "w"])
    assert got.labels == ["z", "w"]
    same = await store.add_label(a.id, "w")
    assert same == got  # nothing new: no write
    await store.remove_labels(a.id, ["z", "w"])
    assert (await store.get(a.id)).labels is None
    events = [(e.event_type, e.actor, e.old_value, e.new_value) for e in await store.events(a.id)]
    assert events[1:] == [
        ("label_added", "mayor", None, "y"),
        ("label_added", "mayor", None, "z"),
        ("label_removed", "overseer", "x", None),
        ("label_added", "", None, "w"),
        ("label_removed", "", "y", None),
        ("label_removed", "", "z", None),
        ("label_removed", "", "w", None),
    ]
    with pytest.raises(InvalidBead, match="label"):
        await store.add_label(a.id, " padded ")


async def test_every_change_type_leaves_an_event(store):
    epic = await store.create("epic", issue_type="epic", actor="mayor")
    a = await store.create("a", parent=epic.id, actor="mayor")
    b = await store.create("b", actor="mayor")
    await store.update(a.id, title="a2", actor="mayor")
    await store.update(a.id, status="review", actor="polecat")
    await store.update(a.id, status="open", actor="refinery")
    await store.claim(a.id, "polecat-1", actor="mayor")
    await store.add_comment(a.id, "polecat-1", "on it")
    await store.add_dependency(a.id, b.id, actor="mayor")
    await store.remove_dependency(a.id, b.id, actor="mayor")
    await store.add_label(a.id, "backend", actor="mayor")
    await store.remove_label(a.id, "backend", actor="mayor")
    await store.close_bead(a.id, reason="merged", actor="refinery")
    await store.reopen(a.id, actor="overseer")
    kinds = [e.event_type for e in await store.events(a.id)]
    assert kinds == [
        "created", "updated", "status_changed", "status_changed", "claimed", "commented",
        "dependency_added", "dependency_removed", "label_added", "label_removed", "closed", "reopened",
    ]
    events = await store.events(a.id)
    closed = next(e for e in events if e.event_type == "closed")
    assert (closed.old_value, closed.new_value, closed.comment, closed.actor) == (
        "in_progress", "closed", "merged", "refinery"
    )
    assert next(e for e in events if e.event_type == "updated").comment == "title"


async def test_child_ids_count_per_parent(store, tmp_path):
    epic = await store.create("epic", issue_type="epic")
    kids = [await store.create(f"k{i}", parent=epic.id) for i in range(3)]
    assert [k.id for k in kids] == [f"{epic.id}.1", f"{epic.id}.2", f"{epic.id}.3"]
    grandchild = await store.create("g", parent=kids[0].id)
    assert grandchild.id == f"{epic.id}.1.1"
    assert re.fullmatch(r"gt-[0-9a-z]{4}", epic.id)
    # an imported child number is never reused
    stamp = "2026-01-01T00:00:00Z"
    row = {"id": f"{epic.id}.9", "title": "from git", "created_at": stamp, "updated_at": stamp,
           "dependencies": [{"issue_id": f"{epic.id}.9", "depends_on_id": epic.id, "type": "parent-child"}]}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(row) + "\n")
    await store.import_jsonl(path)
    assert (await store.create("next", parent=epic.id)).id == f"{epic.id}.10"


async def test_dep_tree_and_cycles(store, tmp_path):
    a = await store.create("a")
    b = await store.create("b")
    c = await store.create("c")
    await store.add_dependency(a.id, b.id)
    await store.add_dependency(b.id, c.id, "waits-for")
    await store.add_dependency(a.id, c.id, "related")
    tree = await store.dependency_tree(a.id)
    assert [(n["id"], n["dep_type"]) for n in tree["children"]] == [(b.id, "blocks"), (c.id, "related")]
    assert tree["children"][0]["children"][0]["id"] == c.id
    assert tree["children"][1].get("repeat") is True  # c is shown once in full
    rev = await store.dependency_tree(c.id, reverse=True)
    assert {n["id"] for n in rev["children"]} == {a.id, b.id}
    assert await store.cycles() == []
    with pytest.raises(DependencyCycle, match=f"{c.id} -> {a.id} -> {b.id} -> {c.id}"):
        await store.add_dependency(c.id, a.id, "parent-child")

    # an imported ledger may carry cycles: the import takes them, `cycles` lists them
    path = tmp_path / "cyclic.jsonl"
    stamp = "2026-01-01T00:00:00Z"

    def row(i, deps):
        return {"id": i, "title": i, "created_at": stamp, "updated_at": stamp,
                "dependencies": [{"issue_id": i, "depends_on_id": t, "type": ty} for t, ty in deps]}

    rows = [row("x1", [("x2", "blocks")]), row("x2", [("x3", "blocks")]), row("x3", [("x1", "blocks")]),
            row("y1", [("y2", "parent-child")]), row("y2", [("y1", "waits-for")]), row("z", [("x1", "related")])]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    await store.import_jsonl(path)
    assert sorted(sorted(set(cyc)) for cyc in await store.cycles()) == [["x1", "x2", "x3"], ["y1", "y2"]]
    for cyc in await store.cycles():
        assert cyc[0] == cyc[-1]
    tree = await store.dependency_tree("x1")  # terminates on the cycle
    assert tree["children"][0]["children"][0]["children"][0] == {
        **tree["children"][0]["children"][0]["children"][0], "id": "x1", "repeat": True
    }
