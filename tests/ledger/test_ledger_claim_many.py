"""Claiming a wave: ``Store.claim_many`` claims several ready beads in one transaction, each bead
compare-and-set on its own, and no bead is ever claimed twice — across stores or processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

from gastown.ledger.model import InvalidBead
from gastown.ledger.store import Store


async def test_claims_the_claimable_and_skips_the_rest(store: Store):
    a, b, c, d = [await store.create(f"bead {i}") for i in range(4)]
    await store.claim(b.id, "someone")
    await store.close_bead(c.id)
    version = store.version
    changes = []
    store.add_listener(changes.append)

    claimed = await store.claim_many([a.id, b.id, c.id, "gt-nope", d.id, a.id], "polecat-1", actor="mayor")

    assert [x.id for x in claimed] == [a.id, d.id]  # the order asked; skipped ones are no error
    assert all(x.status == "in_progress" and x.assignee == "polecat-1" for x in claimed)
    assert store.version == version + 1 and len(changes) == 1  # one transaction
    assert {x.id for x in changes[0].changed} == {a.id, d.id}
    for bead in (a, d):
        events = await store.events(bead.id)
        assert [(e.event_type, e.actor, e.old_value, e.new_value) for e in events][-1] == (
            "claimed", "mayor", "open", "polecat-1")
    assert (await store.get(b.id)).assignee == "someone"
    assert (await store.get(c.id)).status == "closed"
    assert [e.event_type for e in await store.events(b.id)].count("claimed") == 1
    ready = {x.id for x in await store.ready()}
    assert a.id not in ready and d.id not in ready


async def test_nothing_claimable_changes_nothing(store: Store):
    a = await store.create("taken")
    await store.claim(a.id, "first")
    version = store.version
    assert await store.claim_many([a.id], "second") == []
    assert await store.claim_many([], "second") == []
    assert store.version == version


async def test_bad_assignee_or_ids_are_refused(store: Store):
    a = await store.create("x")
    with pytest.raises(InvalidBead, match="assignee"):
        await store.claim_many([a.id], "")
    with pytest.raises(InvalidBead, match="bead_ids"):
        await store.claim_many(a.id, "p")  # a string is not a list of ids
    assert (await store.get(a.id)).status == "open"


async def test_claim_many_inside_a_batch_rolls_back_with_it(store: Store):
    a = await store.create("x")
    with pytest.raises(RuntimeError):
        async with store.batch(actor="mayor") as tx:
            assert [b.id for b in await tx.claim_many([a.id], "p")] == [a.id]
            raise RuntimeError("plan failed")
    assert (await store.get(a.id)).status == "open"


async def test_racing_stores_never_claim_a_bead_twice(tmp_path):
    db = tmp_path / "beads.db"
    stores = [await Store.open(db) for _ in range(3)]  # three connections, as three processes would
    try:
        ids = [(await stores[0].create(f"wave {i}")).id for i in range(12)]
        waves = [ids[i % 4:] + ids[: i % 4] for i in range(6)]  # overlapping waves, different orders
        results = await asyncio.gather(
            *(stores[i % 3].claim_many(wave, f"polecat-{i}") for i, wave in enumerate(waves))
        )
        claimed = [b.id for r in results for b in r]
        assert sorted(claimed) == sorted(ids)  # every bead exactly once
        for bead_id in ids:
            assert [e.event_type for e in await stores[1].events(bead_id)].count("claimed") == 1
    finally:
        for s in stores:
            await s.close()


_RACER = textwrap.dedent("""
    import asyncio, json, sys
    from gastown.ledger.store import Store

    async def main():
        async with await Store.open(sys.argv[1]) as store:
            ids = json.loads(sys.argv[3])
            got = []
            for start in range(0, len(ids), 5):  # several waves per process
                got += [b.id for b in await store.claim_many(ids[start:start + 5], sys.argv[2])]
            print(json.dumps(got))

    asyncio.run(main())
""")


async def test_racing_processes_never_claim_a_bead_twice(tmp_path):
    db = tmp_path / "beads.db"
    async with await Store.open(db) as store:
        ids = [(await store.create(f"wave {i}")).id for i in range(40)]
    orders = [ids, ids[::-1], ids[20:] + ids[:20]]
    procs = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(db), f"polecat-{n}", json.dumps(order)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n, order in enumerate(orders)
    ]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(json.loads(out))
    claimed = [i for out in outputs for i in out]
    assert sorted(claimed) == sorted(ids)  # each bead claimed by exactly one process
    async with await Store.open(db) as store:
        for n, out in enumerate(outputs):
            for bead_id in out:
                assert (await store.get(bead_id)).assignee == f"polecat-{n}"
        for bead_id in ids:
            assert [e.event_type for e in await store.events(bead_id)].count("claimed") == 1
