"""Writes run on the event loop's thread when they can: what that must never cost — a committed write lost
to kill -9, an event loop frozen while another process holds the lock — and the checkpoint that waits
for a pause in writing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading

from tests.support import eventually

from gastown.ledger.store import Store

CLOSER = textwrap.dedent(
    """
    import asyncio, sys
    from gastown.ledger.store import Store

    async def go(db, n):
        async with await Store.open(db) as store:
            ids = [(await store.create(f"bead {i}")).id for i in range(n)]
            print("created", flush=True)
            for bead_id in ids:
                await store.close_bead(bead_id, reason="done")
                print(bead_id, flush=True)  # only once close_bead has returned: committed
            sys.stdin.readline()  # never comes: the test kills this process

    asyncio.run(go(sys.argv[1], int(sys.argv[2])))
    """
)


async def test_a_returned_close_survives_kill_9(tmp_path):
    db = tmp_path / "beads.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLOSER, str(db), "400"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "created"
        reported = [proc.stdout.readline().strip() for _ in range(150)]
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: no close(), no checkpoint, no clean exit
        proc.wait(timeout=30)
        reported += [line.strip() for line in proc.stdout if line.strip()]  # closes reported before the kill
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    async with await Store.open(db) as store:
        closed = {b.id for b in await store.list(status="closed")}
        assert len(await store.list()) == 400
        assert set(reported) <= closed, sorted(set(reported) - closed)
        for bead_id in reported[:3]:
            assert [e.event_type for e in await store.events(bead_id)] == ["created", "closed"]


async def test_the_event_loop_runs_while_a_write_waits_for_another_process(tmp_path):
    db = tmp_path / "beads.db"
    async with await Store.open(db) as store:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        timer.start()
        before = ticks
        bead = await store.create("waited")  # must not wait on the loop's thread
        during = ticks - before
        task.cancel()
        timer.join()
        other.close()
        assert during > 0, "the event loop stood still while the write waited for the lock"
        assert (await store.get(bead.id)).title == "waited"


async def test_a_checkpoint_follows_a_pause_in_writing(tmp_path):
    async with await Store.open(tmp_path / "beads.db") as store:
        store.CHECKPOINT_EVERY = 5
        for i in range(12):
            await store.create(f"bead {i}")
        await eventually(lambda: store._checkpoints >= 1, what="a checkpoint after the writes paused")


async def test_a_burst_that_never_pauses_still_checkpoints(tmp_path):
    async with await Store.open(tmp_path / "beads.db") as store:
        store.CHECKPOINT_EVERY = 2
        store.CHECKPOINT_AT_MOST = 6
        store.CHECKPOINT_IDLE_S = 3600.0  # no pause is ever long enough
        for i in range(8):
            await store.create(f"bead {i}")
        await eventually(lambda: store._checkpoints >= 1, what="a checkpoint forced by the burst's length")
