"""FTS5 search over titles, descriptions, notes and comments: ranked, kept in sync on every write."""

from __future__ import annotations

import json

import pytest

from gastown.cli import main
from gastown.ledger.model import LedgerError, now_iso


def ids(beads):
    return [b.id for b in beads]


async def test_search_ranks_title_over_body_and_finds_every_field(store):
    title = await store.create("Merge driver for the JSONL", description="three-way merge")
    body = await store.create("Git plumbing", description="the merge driver runs on git merge")
    notes = await store.create("Other", notes="remember the merge driver edge cases")
    unrelated = await store.create("Dashboard colours")
    got = await store.search("merge driver")
    assert ids(got)[0] == title.id and set(ids(got)) == {title.id, body.id, notes.id}
    assert unrelated.id not in ids(got)
    await store.add_comment(unrelated.id, "overseer", "the palette needs a merge driver too, oddly")
    assert unrelated.id in ids(await store.search("palette"))
    assert ids(await store.search("merge driver", limit=2)) == ids(got)[:2]
    scored = await store.search_scored("merge driver")
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)


async def test_search_follows_updates_and_stemming(store):
    a = await store.create("Write the importer")
    assert ids(await store.search("importer")) == [a.id]
    await store.update(a.id, title="Write the exporter", description="exporting beads deterministically")
    assert await store.search("importer") == []
    assert ids(await store.search("exporter")) == [a.id]
    assert ids(await store.search("export")) == [a.id]  # porter stemming: exporting -> export
    await store.update(a.id, description=None)
    assert await store.search("deterministically") == []
    await store.close_bead(a.id)  # a status change leaves the text alone: still found
    assert ids(await store.search("exporter")) == [a.id]


async def test_search_query_syntax(store):
    a = await store.create("merge-driver wiring", description="alpha beta")
    b = await store.create("beta only")
    assert ids(await store.search("merge-driver")) == [a.id]  # plain words: punctuation is fine
    assert set(ids(await store.search("alpha OR only"))) == {a.id, b.id}  # FTS5 syntax when used
    assert ids(await store.search("beta NOT alpha")) == [b.id]
    assert ids(await store.search("wir*")) == [a.id]
    assert ids(await store.search("alpha OR only", syntax=False)) == []  # literally all three words
    for bad in ('"unterminated', "beta AND", "title:x:y(", "NEAR("):
        with pytest.raises(LedgerError, match="invalid search query"):
            await store.search(bad)
    with pytest.raises(LedgerError, match="search needs some text"):
        await store.search("   ")


async def test_import_keeps_search_in_sync(store, tmp_path, fixture_path):
    await store.import_jsonl(fixture_path)
    raw = [json.loads(x) for x in fixture_path.read_text(encoding="utf-8").splitlines()]
    target = next(r for r in raw if "wasm" in r["title"].lower())
    assert target["id"] in ids(await store.search("wasm", limit=0))
    stamp = now_iso()
    changed = {**target, "title": "Renamed to zyzzyva", "updated_at": stamp}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(changed) + "\n")
    await store.import_jsonl(path)
    assert ids(await store.search("zyzzyva")) == [target["id"]]


async def test_new_beads_are_found_across_an_import_and_indexed_once(store, tmp_path):
    """New beads reach search through the high-water mark (no queue row each): creates not yet indexed
    when an import comes are indexed once, the import's own beads too, and later creates as well."""
    import sqlite3

    before = await store.create("Pelican harbour survey")
    stamp = now_iso()
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "gt-imp", "title": "Heron nesting census", "created_at": stamp,
                                "updated_at": stamp}) + "\n")
    await store.import_jsonl(path)
    after = await store.create("Stork migration notes")
    assert ids(await store.search("pelican")) == [before.id]
    assert ids(await store.search("heron")) == ["gt-imp"]
    assert ids(await store.search("stork")) == [after.id]
    conn = sqlite3.connect(store.db_path)
    try:
        indexed = conn.execute("SELECT COUNT(*), COUNT(DISTINCT rowid) FROM issues_fts").fetchone()
        assert indexed == (3, 3)
        assert conn.execute("SELECT COUNT(*) FROM fts_pending").fetchone()[0] == 0
    finally:
        conn.close()


def test_cli_search_json(tmp_path, capsys):
    db = ["--db", str(tmp_path / "b.db")]
    assert main(["bead", "create", "Ranked first: search", "-d", "search search", *db]) == 0
    assert main(["bead", "create", "Second", "-d", "mentions search once", *db]) == 0
    for i in range(3):
        assert main(["bead", "create", f"unrelated {i}", *db]) == 0
    capsys.readouterr()
    assert main(["bead", "search", "search", "--json", *db]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [g["title"] for g in got] == ["Ranked first: search", "Second"]
    assert got[0]["score"] > got[1]["score"] and got[0]["id"].startswith("gt-")
    assert main(["bead", "search", "search AND", *db]) == 1
    assert "invalid search query" in capsys.readouterr().err


async def test_search_sees_writes_from_another_connection(tmp_path):
    from gastown.ledger.store import Store

    db = tmp_path / "beads.db"
    async with await Store.open(db) as writer, await Store.open(db) as searcher:
        assert await searcher.search("quokka") == []
        a = await writer.create("Feed the quokka")
        assert ids(await searcher.search("quokka")) == [a.id]  # written elsewhere, found here
        await writer.add_comment(a.id, "me", "the wombat too")
        await writer.update(a.id, title="Feed the animals")
        assert ids(await searcher.search("wombat")) == [a.id]
        assert await searcher.search("quokka") == []
