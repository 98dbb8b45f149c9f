"""Several processes writing at once, a held lock, a corrupted database and its rebuild."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from gastown.cli import main
from gastown.ledger import writes
from gastown.ledger.model import LedgerBusy, LedgerCorrupt, LedgerError
from gastown.ledger.store import Store

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from gastown.ledger.store import Store

    async def go(db, shared, name, n):
        async with await Store.open(db) as store:
            print("ready", flush=True)
            sys.stdin.readline()  # wait for the go
            for i in range(n):
                await store.add_comment(shared, name, f"{name} {i}")
                b = await store.create(f"{name} bead {i}", labels=[name])
                await store.update(b.id, notes=f"n{i}")
                if i % 10 == 0:
                    await store.close_bead(b.id)

    asyncio.run(go(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


async def test_processes_write_concurrently_without_lost_writes(tmp_path):
    db = tmp_path / "beads.db"
    n = 60
    async with await Store.open(db) as store:
        shared = await store.create("everyone comments here")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, str(db), shared.id, f"proc{k}", str(n)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )
            for k in range(2)
        ]
        try:
            for p in procs:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
            for i in range(n):  # this process writes too, at the same time
                await store.add_comment(shared.id, "main", f"main {i}")
                await store.create(f"main bead {i}", labels=["main"])
            results = [await asyncio.to_thread(p.communicate, timeout=120) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        for p, (_, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
            assert "locked" not in err and "Traceback" not in err
        # a CLI process joins in afterwards, through the same database
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gastown", "bead", "comment", shared.id, "from the cli", "--db", str(db)],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert cli.returncode == 0, cli.stderr

        comments = (await store.get(shared.id)).comments
        authors = [c.author for c in comments]
        assert len(comments) == 3 * n + 1
        for name in ("main", "proc0", "proc1"):
            assert [c.text for c in comments if c.author == name] == [f"{name} {i}" for i in range(n)]
        assert len({c.id for c in comments}) == len(comments)  # comment ids never collide
        for name in ("main", "proc0", "proc1"):
            assert len(await store.list(label=name)) == n
        assert len(await store.list(status="closed")) == 2 * (n // 10)
        assert all((b.notes or "").startswith("n") for b in await store.list(label="proc0"))
        assert await store.refresh_version() == 1 + 3 * n * 2 + 2 * (n + n // 10) + 1
        # the writers interleaved: this was a real concurrent run
        switches = sum(1 for x, y in zip(authors, authors[1:], strict=False) if x != y)
        assert switches >= 2


async def test_a_writer_waits_for_a_held_lock(tmp_path):
    db = tmp_path / "beads.db"
    async with await Store.open(db) as store:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process in the middle of a transaction
        released = threading.Event()

        def release():
            other.execute("INSERT INTO meta(key, value) VALUES ('other', 'x')")
            other.execute("COMMIT")
            released.set()

        timer = threading.Timer(0.3, release)
        timer.start()
        bead = await store.create("waited")  # waits instead of failing with "database is locked"
        assert released.is_set()
        assert (await store.get(bead.id)).title == "waited"
        timer.join()
        other.close()


async def test_a_lock_held_too_long_is_a_clear_error(tmp_path, monkeypatch):
    db = tmp_path / "beads.db"
    monkeypatch.setattr(writes, "BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr(writes, "PATIENCE_S", 0.1)
    async with await Store.open(db) as store:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LedgerBusy, match=f"{db}.*locked by another process"):
                await store.create("never")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (await store.create("now fine")).title == "now fine"


def _corrupt(db: Path, offset: int = 0) -> None:
    data = bytearray(db.read_bytes())
    garbage = random.Random(offset).randbytes(len(data) - offset)  # fixed: the test is deterministic
    data[offset:] = garbage
    db.write_bytes(bytes(data))


async def test_corrupted_database_is_named_and_rebuilt_from_jsonl(tmp_path, capsys):
    repo = tmp_path / "repo"
    db = repo / ".gastown" / "beads.db"
    jsonl = repo / ".beads" / "issues.jsonl"
    async with await Store.open(db) as store:
        a = await store.create("survives", description="in the jsonl")
        b = await store.create("also survives")
        await store.add_dependency(b.id, a.id)
        await store.add_comment(a.id, "me", "hello")
        await store.export_jsonl(jsonl)
    _corrupt(db)
    with pytest.raises(LedgerCorrupt) as err:
        await Store.open(db)
    message = str(err.value)
    assert str(db) in message and "gastown bead rebuild" in message

    code = await asyncio.to_thread(main, ["bead", "list", "--db", str(db)])
    err_text = capsys.readouterr().err
    assert code == 1 and "gastown bead rebuild" in err_text and "Traceback" not in err_text

    assert await asyncio.to_thread(main, ["bead", "rebuild", str(jsonl), "--db", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["created"] == 2 and Path(info["moved_aside"]).is_file()
    async with await Store.open(db) as store:
        assert (await store.get(a.id)).comments[0].text == "hello"
        assert [x.id for x in await store.ready()] == [a.id]
        assert [x.id for x in await store.search("jsonl")] == [a.id]
        assert (await store.create("after the rebuild")).id not in (a.id, b.id)


async def test_damage_inside_the_file_is_reported_not_crashed(tmp_path):
    db = tmp_path / "beads.db"
    async with await Store.open(db) as store:
        for i in range(300):
            await store.create(f"bead {i}", description="x" * 200)
    _corrupt(db, offset=8192)  # header intact, pages destroyed
    with pytest.raises(LedgerError, match="gastown bead rebuild"):
        async with await Store.open(db) as store:
            await store.list()


async def test_rebuild_refuses_without_a_jsonl_and_keeps_the_database(tmp_path):
    db = tmp_path / "beads.db"
    async with await Store.open(db) as store:
        await store.create("only copy")
    with pytest.raises(LedgerError, match="does not exist"):
        await Store.rebuild(db, tmp_path / "missing.jsonl")
    async with await Store.open(db) as store:
        assert len(await store.list()) == 1
