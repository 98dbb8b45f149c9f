"""The JSONL merge driver: field-by-field three-way merge, and git really using it after `gastown init`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

from gastown.cli import main
from gastown.ledger import merge
from gastown.ledger.store import Store

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def bead(i, **kw):
    return {"id": i, "title": i, "status": "open", "priority": 2, "issue_type": "task", "created_at": T0,
            "updated_at": T0, **kw}


def dep(i, target, type="blocks"):
    return {"issue_id": i, "depends_on_id": target, "type": type, "created_at": T0, "created_by": ""}


def test_scalars_take_the_changed_side_and_the_later_side_on_conflict():
    base = {"a": bead("a", notes="n")}
    ours = {"a": bead("a", notes="n", title="ours title", updated_at=T1)}
    theirs = {"a": bead("a", notes="n", description="theirs desc", priority=0, updated_at=T2)}
    got = merge.merge(base, ours, theirs)["a"]
    assert (got["title"], got["description"], got["priority"], got["updated_at"]) == (
        "ours title", "theirs desc", 0, T2)
    # both changed the same field: the later updated_at wins, whichever side it is on
    ours = {"a": bead("a", title="ours", updated_at=T2)}
    theirs = {"a": bead("a", title="theirs", updated_at=T1)}
    assert merge.merge(base, ours, theirs)["a"]["title"] == "ours"
    assert merge.merge(base, theirs, ours)["a"]["title"] == "ours"
    # unset on one side counts as a change
    ours = {"a": bead("a", updated_at=T1)}
    assert "notes" not in merge.merge(base, ours, base)["a"]
    # unknown fields merge like any other
    theirs = {"a": bead("a", notes="n", await_type="gh:pr", updated_at=T1)}
    assert merge.merge(base, base, theirs)["a"]["await_type"] == "gh:pr"


def test_status_close_fields_travel_together():
    base = {"a": bead("a")}
    ours = {"a": bead("a", status="closed", closed_at=T1, close_reason="done", updated_at=T1)}
    theirs = {"a": bead("a", status="in_progress", updated_at=T2)}
    got = merge.merge(base, ours, theirs)["a"]
    assert got["status"] == "in_progress" and "closed_at" not in got and "close_reason" not in got
    got = merge.merge(base, theirs, ours)["a"]  # same inputs, sides swapped: same answer
    assert got["status"] == "in_progress" and "closed_at" not in got


def test_dependencies_labels_comments_are_merged_as_sets():
    c0 = {"id": 1, "issue_id": "a", "author": "x", "text": "base", "created_at": T0}
    c_ours = {"id": 2, "issue_id": "a", "author": "o", "text": "ours", "created_at": T2}
    c_theirs = {"id": 2, "issue_id": "a", "author": "t", "text": "theirs", "created_at": T1}
    base = {"a": bead("a", labels=["keep", "drop"], dependencies=[dep("a", "x"), dep("a", "gone")], comments=[c0])}
    ours = {"a": bead("a", labels=["keep", "drop", "mine"], dependencies=[dep("a", "x"), dep("a", "y")],
                      comments=[c0, c_ours], updated_at=T2)}
    theirs = {"a": bead("a", labels=["keep", "yours"], dependencies=[dep("a", "x"), dep("a", "gone"),
                        dep("a", "z", "related")], comments=[c0, c_theirs], updated_at=T1)}
    got = merge.merge(base, ours, theirs)["a"]
    assert got["labels"] == ["keep", "mine", "yours"]  # 'drop' removed by theirs
    assert [(d["depends_on_id"], d["type"]) for d in got["dependencies"]] == [
        ("x", "blocks"), ("y", "blocks"), ("z", "related")]  # 'gone' removed by ours
    assert [c["text"] for c in got["comments"]] == ["base", "theirs", "ours"]  # union, by time


def test_added_deleted_and_both_added():
    base = {"kept": bead("kept"), "deleted": bead("deleted"), "edited-vs-deleted": bead("edited-vs-deleted")}
    ours = {"kept": bead("kept"), "edited-vs-deleted": bead("edited-vs-deleted", title="edited", updated_at=T1),
            "new-ours": bead("new-ours"), "both": bead("both", labels=["o"], updated_at=T1)}
    theirs = {"kept": bead("kept"), "new-theirs": bead("new-theirs"), "both": bead("both", labels=["t"], updated_at=T2)}
    got = merge.merge(base, ours, theirs)
    assert sorted(got) == ["both", "edited-vs-deleted", "kept", "new-ours", "new-theirs"]
    assert got["edited-vs-deleted"]["title"] == "edited"  # a change beats a deletion
    assert got["both"]["labels"] == ["o", "t"]


def test_driver_writes_ours_and_refuses_garbage(tmp_path):
    o, a, b = tmp_path / "O", tmp_path / "A", tmp_path / "B"
    o.write_text(json.dumps(bead("x")) + "\n")
    a.write_text(json.dumps(bead("x", title="A", updated_at=T1)) + "\n" + json.dumps(bead("a")) + "\n")
    b.write_text(json.dumps(bead("x", priority=0, updated_at=T1)) + "\n")
    assert main(["bead", "merge-driver", str(o), str(a), str(b)]) == 0
    rows = [json.loads(x) for x in a.read_text().splitlines()]
    assert [(r["id"], r["title"], r["priority"]) for r in rows] == [("a", "a", 2), ("x", "A", 0)]
    b.write_text("<<<<<<< HEAD\n")
    before = a.read_bytes()
    assert main(["bead", "merge-driver", str(o), str(a), str(b)]) == 1
    assert a.read_bytes() == before


# -- with real git -------------------------------------------------------------------------------------------
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check,
                          env={**os.environ, **GIT_ENV})


def rows_of(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_git_merge_uses_the_driver_and_loses_nothing(tmp_path, capsys):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    assert main(["init", str(repo), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["gitattributes_added"] is True
    assert main(["init", str(repo)]) == 0  # again: idempotent
    capsys.readouterr()
    assert (repo / ".gitattributes").read_text().count("merge=gastown-beads") == 1
    assert "merge-driver %O %A %B" in git(repo, "config", "merge.gastown-beads.driver").stdout
    assert "gastown-beads" in git(repo, "check-attr", "merge", ".beads/issues.jsonl").stdout
    jsonl = repo / ".beads" / "issues.jsonl"

    async def scenario() -> dict[str, str]:
        a_db, b_db = repo / ".gastown" / "beads.db", tmp_path / "other-machine.db"
        async with await Store.open(a_db) as main_store:
            ids = {}
            for name in ("title-vs-desc", "close-vs-title", "labels", "same-field", "same-field-2", "doomed"):
                ids[name] = (await main_store.create(name, labels=["base"])).id
            await main_store.export_jsonl(jsonl)
        git(repo, "add", ".")
        git(repo, "commit", "-qm", "base")
        git(repo, "branch", "feature")

        async with await Store.open(a_db) as ours, await Store.open(b_db) as theirs:
            await theirs.import_jsonl(jsonl)
            await ours.update(ids["title-vs-desc"], title="renamed on main")
            await theirs.update(ids["title-vs-desc"], description="described on feature")
            await theirs.close_bead(ids["close-vs-title"], reason="done on feature")
            await ours.update(ids["close-vs-title"], notes="noted on main")
            await ours.add_label(ids["labels"], "from-main")
            await theirs.add_label(ids["labels"], "from-feature")
            await theirs.remove_label(ids["labels"], "base")
            await ours.add_comment(ids["labels"], "main-dev", "comment on main")
            await theirs.add_comment(ids["labels"], "feature-dev", "comment on feature")
            await ours.add_dependency(ids["labels"], ids["title-vs-desc"])
            await theirs.add_dependency(ids["labels"], ids["same-field"], "related")
            await ours.update(ids["same-field"], priority=0)  # earlier...
            await theirs.update(ids["same-field"], priority=4)  # ...later: feature wins
            await theirs.update(ids["same-field-2"], title="feature's title")  # earlier...
            await ours.update(ids["same-field-2"], title="main's title")  # ...later: main wins
            ids["new-on-main"] = (await ours.create("new on main")).id
            ids["new-on-feature"] = (await theirs.create("new on feature")).id

            git(repo, "checkout", "-q", "feature")
            await theirs.export_jsonl(jsonl)
            kept = [x for x in jsonl.read_text().splitlines() if json.loads(x)["id"] != ids["doomed"]]
            jsonl.write_text("\n".join(kept) + "\n")  # deleted on feature, untouched on main
            git(repo, "commit", "-qam", "feature work")
            git(repo, "checkout", "-q", "main")
            await ours.export_jsonl(jsonl)
            git(repo, "commit", "-qam", "main work")
        return ids

    ids = asyncio.run(scenario())
    merged = git(repo, "merge", "--no-edit", "feature", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "CONFLICT" not in merged.stdout
    assert git(repo, "status", "--porcelain").stdout.strip() == ""
    text = jsonl.read_text()
    assert "<<<<<<<" not in text
    rows = rows_of(jsonl)

    assert ids["doomed"] not in rows
    assert {ids["new-on-main"], ids["new-on-feature"]} <= set(rows)
    r = rows[ids["title-vs-desc"]]
    assert (r["title"], r["description"]) == ("renamed on main", "described on feature")
    r = rows[ids["close-vs-title"]]
    assert (r["status"], r["close_reason"], r["notes"]) == ("closed", "done on feature", "noted on main")
    assert r.get("closed_at")
    r = rows[ids["labels"]]
    assert r["labels"] == ["from-main", "from-feature"]
    assert sorted(c["text"] for c in r["comments"]) == ["comment on feature", "comment on main"]
    assert {(d["depends_on_id"], d["type"]) for d in r["dependencies"]} == {
        (ids["title-vs-desc"], "blocks"), (ids["same-field"], "related")}
    assert rows[ids["same-field"]]["priority"] == 4
    assert rows[ids["same-field-2"]]["title"] == "main's title"
    assert text == merge.render(rows.values())  # canonical, like an export

    async def reimport() -> None:
        async with await Store.open(repo / ".gastown" / "beads.db") as store:
            result = await store.import_jsonl(jsonl)
            assert result.updated >= 4
            got = await store.get(ids["labels"])
            assert got.labels == ["from-main", "from-feature"] and len(got.comments) == 2
            await store.export_jsonl(jsonl)
        assert rows_of(jsonl).keys() == rows.keys() | {ids["doomed"]}  # our own DB still has it

    asyncio.run(reimport())
