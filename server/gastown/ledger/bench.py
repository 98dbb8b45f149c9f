"""Ledger benchmark: ``python bench/ledger.py`` (or ``python -m gastown.ledger.bench``).

Generated ledgers with realistic shapes — epics with children, blocking chains, fan-in, about 10 % open —
are built through the async Store the server uses (an import of generated JSONL), then each operation
is timed through that Store. Prints one JSON object per line: ``{"metric", "value", "unit"}`` plus, where
known, Beads' published figure (``beads``, Go + SQLite, 10K issues) and our ``speedup`` over it, and a
``floor`` measured in the same run (bare ``sqlite3`` doing the same rows, no models, no event loop) with
``x_floor`` = value / floor. Writes are also set against ``aiosqlite_update_ms``, one bare durable
write through aiosqlite in the same run (``update_floor``; for ``close100_ms`` the floor is 100 of them),
and ``create_statements``/``close_statements`` count the SQL statements of one create and one close,
``create_pages``/``close_pages`` the database pages each writes to the WAL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from gastown.ledger import core
from gastown.ledger.store import Store
from gastown.ledger.worker import SqliteThread, hop

FIXTURE = Path(__file__).resolve().parents[3] / "tests" / "ledger" / "fixtures" / "beads-issues-2026-01.jsonl"
BEADS = {  # Beads' published figures, ms (FACTS.md)
    "ready_10k_ms": 30.0,
    "create_10k_ms": 2.5,
    "update_10k_ms": 18.0,
    "close100_ms": 1900.0,
    "cycle5000_ms": 70.0,
}
TARGET = {  # the ledger's speed targets on this machine, ms
    "ready_10k_ms": 3.0,
    "ready_100k_ms": 5.0,
    "create_10k_ms": 0.2,
    "update_10k_ms": 0.5,
    "close100_ms": 30.0,
    "cycle5000_ms": 10.0,
    "import_fixture_ms": 300.0,
}
WORDS = (
    "merge driver ledger bead polecat refinery mayor witness convoy export import search index ready "
    "blocked chain epic fan cycle sqlite wal git branch worktree review queue token budget schema"
).split()


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [*WORDS, *("".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(size))]


def _text(rng: random.Random, vocab: list[str], k: int) -> str:
    # Zipf-like: a few words are common, most are rare (like real titles and descriptions)
    return " ".join(vocab[min(int(rng.paretovariate(0.8)) - 1, len(vocab) - 1)] for _ in range(k))


def emit(metric: str, value: float, unit: str = "ms", **extra: Any) -> None:
    out: dict[str, Any] = {"metric": metric, "value": round(value, 4), "unit": unit}
    if metric in BEADS:
        out["beads"] = BEADS[metric]
        out["speedup"] = round(BEADS[metric] / value, 1) if value else None
    if metric in TARGET:
        out["target"] = TARGET[metric]
    if "last" in CPU and unit == "ms":
        out["cpu_ms"] = round(CPU.pop("last"), 4)  # less sensitive than wall time to a busy machine
    for k, v in extra.items():
        out[k] = round(v, 4) if isinstance(v, float) else v
    if "floor" in out and out["floor"]:
        out["x_floor"] = round(value / out["floor"], 1)
    print(json.dumps(out), flush=True)


def generate(n: int, seed: int = 7, open_share: float = 0.10) -> list[dict[str, Any]]:
    """``n`` beads: epics of ~20 children, blocking chains of 8, fan-in beads waiting on 15 others,
    ``open_share`` of them open (some of those blocked), the rest mostly closed."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    rng.shuffle(vocab)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    epic: str | None = None
    kids = 0
    for i in range(n):
        bead_id = f"bd-{i:06x}"
        ts = (t0 + timedelta(seconds=37 * i)).isoformat().replace("+00:00", "Z")
        r = rng.random()
        status = "open" if r < open_share else ("in_progress" if r < open_share + 0.02 else "closed")
        row: dict[str, Any] = {
            "id": bead_id,
            "title": _text(rng, vocab, 6),
            "description": _text(rng, vocab, 40),
            "status": status,
            "priority": rng.randrange(5),
            "issue_type": "epic" if epic is None or kids >= 20 else rng.choice(["task", "task", "bug", "feature"]),
            "created_at": ts,
            "updated_at": ts,
        }
        if status == "closed":
            row["closed_at"] = ts
        deps = []
        if row["issue_type"] == "epic":
            epic, kids = bead_id, 0
        else:
            kids += 1
            deps.append({"issue_id": bead_id, "depends_on_id": epic, "type": "parent-child", "created_at": ts})
            if i % 8 and ids:  # chains: each bead blocks the next one
                deps.append({"issue_id": bead_id, "depends_on_id": ids[-1], "type": "blocks", "created_at": ts})
            if i % 97 == 0 and len(ids) > 40:  # fan-in
                for target in rng.sample(ids[-400:], 15):
                    if target != ids[-1]:
                        deps.append({"issue_id": bead_id, "depends_on_id": target, "type": "blocks",
                                     "created_at": ts})
        if deps:
            row["dependencies"] = deps
        rows.append(row)
        ids.append(bead_id)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


CPU: dict[str, float] = {}  # the CPU time (this process, all threads) of the last measurement, ms


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t, c = time.perf_counter(), time.process_time()
    await fn()
    CPU["last"] = (time.process_time() - c) * 1000
    return (time.perf_counter() - t) * 1000


async def median_ms(fn: Callable[[], Awaitable[Any]], runs: int) -> float:
    """Median wall time; ``CPU["last"]`` becomes the median CPU time of the same runs."""
    walls, cpus = [], []
    for _ in range(runs):
        walls.append(await timed(fn))
        cpus.append(CPU["last"])
    CPU["last"] = statistics.median(cpus)
    return statistics.median(walls)


def floor_ready(db: Path, runs: int = 50) -> float:
    """Bare sqlite3: the same ready rows (index scan, 100 rows of JSON text), no models, no event loop."""
    conn = sqlite3.connect(db)
    now = core.now_key()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        conn.execute(core.READY_SQL + " LIMIT 100", (now,)).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return statistics.median(times)


def floor_write(db: Path, rows: int = 200) -> float:
    """Bare sqlite3: one transaction that inserts one issue-sized row and one event, committed (WAL)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, status TEXT, priority INT, data TEXT)")
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, issue_id TEXT, kind TEXT)")
    payload = json.dumps(generate(1)[0])
    times = []
    for i in range(rows):
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, 'open', 2, ?)", (f"x{i}", payload))
        conn.execute("INSERT INTO e (issue_id, kind) VALUES (?, 'created')", (f"x{i}",))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return statistics.median(times)


async def floor_hop(runs: int = 500) -> float:
    """One round trip to a store connection's thread (``SELECT 1``): the event-loop cost every store
    call pays at least once."""
    conn = await SqliteThread.open(":memory:")
    try:
        return await median_ms(lambda: conn.run(hop), runs)
    finally:
        await conn.close()


async def floor_update(db: Path, runs: int = 300) -> float:
    """aiosqlite's public API, one durable write: an autocommit ``UPDATE`` of one row of a WAL database
    (``await db.execute``: one round trip to its thread, one transaction). The least any async store
    write pays; a create or a close does far more (an event, ready/blocked, the version) inside it."""
    import aiosqlite

    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        await conn.execute("INSERT INTO t VALUES (1, '')")
        n = iter(range(10**9))
        return await median_ms(lambda: conn.execute("UPDATE t SET v = ? WHERE id = 1", (str(next(n)),)), runs)


async def statements(store: Store, fn: Callable[[], Awaitable[Any]]) -> int:
    """How many SQL statements ``fn`` runs on the store's writer connection (BEGIN and COMMIT included)."""
    seen: list[str] = []
    await store._wconn.run(lambda conn: conn.set_trace_callback(seen.append))
    try:
        await fn()
    finally:
        await store._wconn.run(lambda conn: conn.set_trace_callback(None))
    return len(seen)


async def wal_pages(store: Store, fn: Callable[[], Awaitable[Any]], n: int = 50) -> float:
    """Database pages one ``fn`` writes to the WAL (mean of ``n``): each dirty page is one WAL frame at
    commit, the part of a write's cost that grows with the schema's indexes. The WAL is emptied first;
    the inline writes never yield, so no checkpoint of the store's runs in between."""
    wal = store.db_path.with_name(store.db_path.name + "-wal")
    for _ in range(100):  # (the store's own checkpoint may be running: TRUNCATE then reports busy)
        (busy, _, _), = await store._wconn.run(
            lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        if not busy and (not wal.exists() or wal.stat().st_size == 0):
            break
        await asyncio.sleep(0.02)
    else:
        raise RuntimeError(f"could not empty {wal} to count pages")
    for _ in range(n):
        await fn()
    (page_size,) = await store._read(lambda conn: conn.execute("PRAGMA page_size").fetchone())
    return (wal.stat().st_size - 32) / (page_size + 24) / n if wal.exists() else 0.0


def floor_chain(db: Path, start: str) -> float:
    """Bare sqlite3: the same recursive reachability walk over the 5,000-long chain."""
    conn = sqlite3.connect(db)
    sql = f"""
        WITH RECURSIVE r(id) AS (SELECT ? UNION SELECT d.depends_on_id FROM dependencies d JOIN r
        ON d.issue_id = r.id WHERE d.type IN {core._CYCLE_TYPES}) SELECT 1 FROM r WHERE id = ? LIMIT 1"""
    times = []
    for _ in range(5):
        t = time.perf_counter()
        conn.execute(sql, (start, "nowhere")).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return statistics.median(times)


async def bench_10k(work: Path, hop: float, update_floor: float) -> None:
    db = work / "10k.db"
    src = work / "10k.jsonl"
    rows = generate(10_000)
    write_jsonl(src, rows)
    async with await Store.open(db) as store:
        import_ms = await timed(lambda: store.import_jsonl(src))
        emit("import_10k_ms", import_ms, beads_imported=len(rows))
        ready = await store.ready(limit=100)
        assert len(ready) == 100, len(ready)
        emit("ready_10k_ms", await median_ms(lambda: store.ready(limit=100), 200),
             floor=floor_ready(db), rows=100, hop_floor=hop)
        df: dict[str, int] = {}
        for r in rows:
            for w in set(f"{r['title']} {r['description']}".split()):
                df[w] = df.get(w, 0) + 1
        # a word in about 2 % of the beads (a typical recall query), and the most common one (worst case)
        word = min(df, key=lambda w: (abs(df[w] - len(rows) // 50), w))
        common = max(df, key=lambda w: (df[w], w))
        for name, q in (("search_10k_ms", word), ("search_common_10k_ms", common)):
            hits = len(await store.search(q, limit=0))
            emit(name, await median_ms(partial(store.search, q, limit=20), 50), query=q, matches=hits)
        out = work / "10k-out.jsonl"
        emit("export_10k_ms", await median_ms(lambda: store.export_jsonl(out), 5))

        created: list[str] = []

        async def create() -> None:
            created.append((await store.create("bench create", description="created by the bench")).id)

        await create()  # (the first create of a store also reads the ledger's size for id lengths)
        emit("create_statements", await statements(store, create), "count")
        emit("create_pages", await wal_pages(store, create), "pages")
        create_ms = await median_ms(create, 300)
        emit("create_10k_ms", create_ms, floor=floor_write(work / "floor.db"), hop_floor=hop,
             update_floor=update_floor, x_update_floor=create_ms / update_floor)

        # a status change that unblocks dependents: open beads that an open bead's only blocker is
        by_id = {r["id"]: r for r in rows}
        blockers = []
        for r in rows:
            blocking = [d["depends_on_id"] for d in r.get("dependencies", ()) if d["type"] == "blocks"]
            if r["status"] == "open" and len(blocking) == 1 and by_id[blocking[0]]["status"] == "open":
                blockers.append(blocking[0])
        blockers = list(dict.fromkeys(blockers))[:200]
        before = {b.id for b in await store.ready(limit=0)}
        it = iter(blockers)
        update_ms = await median_ms(lambda: store.update(next(it), status="closed"), len(blockers))
        unblocked = {b.id for b in await store.ready(limit=0)} - before
        emit("update_10k_ms", update_ms, updates=len(blockers), beads_unblocked=len(unblocked))

        # five rounds of 100 closes (each round its own open beads, each close its own transaction, as
        # 100 ``bd close`` calls): the median, and the first round alone; the floor is 100 bare updates
        rounds = 5
        pool = [b.id for b in await store.list(status="open", limit=100 * rounds + 41)]
        # (the statements of one close, an open bead of the same pool)
        emit("close_statements", await statements(store, partial(store.close_bead, pool.pop(), reason="bench")),
             "count")
        spare = iter(pool[100 * rounds:])
        emit("close_pages", await wal_pages(store, lambda: store.close_bead(next(spare), reason="bench"), 40),
             "pages")
        batches = iter([pool[i * 100:(i + 1) * 100] for i in range(rounds)])
        firsts: list[float] = []

        async def close_all() -> None:
            for bead_id in next(batches):
                await store.close_bead(bead_id, reason="bench")

        async def round_() -> None:
            firsts.append(await timed(close_all))

        close_ms = await median_ms(round_, rounds)
        emit("close100_ms", close_ms, closed=100, rounds=rounds, first_round_ms=firsts[0],
             floor=100 * update_floor)


async def bench_cycle(work: Path) -> None:
    db = work / "chain.db"
    src = work / "chain.jsonl"
    ts = "2025-01-01T00:00:00Z"
    rows = []
    for i in range(5000):
        row: dict[str, Any] = {"id": f"c-{i:05d}", "title": f"link {i}", "created_at": ts, "updated_at": ts}
        if i < 4999:
            row["dependencies"] = [{"issue_id": row["id"], "depends_on_id": f"c-{i + 1:05d}", "type": "blocks"}]
        rows.append(row)
    write_jsonl(src, rows)
    async with await Store.open(db) as store:
        await store.import_jsonl(src)
        heads = [(await store.create(f"new head {i}")).id for i in range(7)]
        times, cpus = [], []
        for head in heads:  # each check walks the whole chain from c-00000 without finding the new head
            times.append(await timed(partial(store.add_dependency, head, "c-00000")))
            cpus.append(CPU["last"])
        CPU["last"] = statistics.median(cpus)
        emit("cycle5000_ms", statistics.median(times), floor=floor_chain(db, "c-00000"))
        refused = []
        for _ in range(5):
            t = time.perf_counter()
            try:
                await store.add_dependency("c-04999", "c-00000")
            except core.DependencyCycle as e:
                assert len(e.cycle) == 5001
            refused.append((time.perf_counter() - t) * 1000)
        emit("cycle5000_refused_ms", statistics.median(refused))


async def bench_fixture(work: Path) -> None:
    if not FIXTURE.is_file():
        return
    times, cpus, export_times, export_cpus = [], [], [], []
    for i in range(3):
        async with await Store.open(work / f"fixture-{i}.db") as store:
            times.append(await timed(partial(store.import_jsonl, FIXTURE)))
            cpus.append(CPU["last"])
            out = work / f"fixture-{i}.jsonl"
            export_times.append(await timed(partial(store.export_jsonl, out)))
            export_cpus.append(CPU["last"])
            assert out.read_bytes() == FIXTURE.read_bytes()
    CPU["last"] = statistics.median(cpus)
    emit("import_fixture_ms", statistics.median(times), issues=2210)
    CPU["last"] = statistics.median(export_cpus)
    emit("export_fixture_ms", statistics.median(export_times), issues=2210)


async def bench_100k(work: Path) -> None:
    db = work / "100k.db"
    src = work / "100k.jsonl"
    write_jsonl(src, generate(100_000, seed=11))
    async with await Store.open(db) as store:
        emit("import_100k_ms", await timed(lambda: store.import_jsonl(src)))
        emit("ready_100k_ms", await median_ms(lambda: store.ready(limit=100), 200), floor=floor_ready(db))


async def run(skip_100k: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="gastown-bench-") as tmp:
        work = Path(tmp)
        hop = await floor_hop()
        emit("aiosqlite_hop_ms", hop)
        update_floor = await floor_update(work / "update-floor.db")
        emit("aiosqlite_update_ms", update_floor)
        await bench_fixture(work)
        await bench_10k(work, hop, update_floor)
        await bench_cycle(work)
        if not skip_100k:
            await bench_100k(work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/ledger.py", description=__doc__.splitlines()[0])
    parser.add_argument("--skip-100k", action="store_true", help="leave out the 100K ledger (faster)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.skip_100k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
