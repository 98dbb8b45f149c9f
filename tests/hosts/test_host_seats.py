"""Sessions started ahead on a host's idle checkouts (seats), a town that restarts and fetches what hosts
pushed while it was stopped, and `gastown status` listing the hosts: on loopback, with real `gastown host`
processes, the scripted model and a bare remote on file://."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gastown.ledger.model import Status
from gastown.runtime.base import SessionSpec
from gastown.town.polecat import polecat_name
from tests.hosts.conftest import TOKEN_ENV, stop_host
from tests.hosts.test_hosts import host_processes, remote_branches
from tests.scenario_kit import create, done, polecat_rule, say
from tests.support import eventually
from tests.town.conftest import git

pytestmark = pytest.mark.runtime


class _NoPolicy:
    def decide(self, ask):
        raise AssertionError("no session should start")


def one_scenario(n: int) -> dict:
    return {"rules": [polecat_rule(f"One {i}", [create(f"one_{i}.txt", f"{i}\n"), done(f"one {i}"), say()])
                      for i in range(n)]}


async def run_on_host(town, epic_id: str, i: int):
    """One polecat run of a new bead ``One i``, placed by the host pool (every slot is on hosts)."""
    bead = await town.store.create(f"One {i}", parent=epic_id)
    bead = await town.store.claim(bead.id, polecat_name(bead.id))
    placement = town.hosts.place(bead.id)
    assert placement.host is not None, town.hosts.status()
    try:
        result = await town.dispatcher.run_polecat(bead, placement=placement)
    finally:
        town.hosts.done(bead.id)
    assert result.commit, result
    run = (await town.records.runs(bead.id))[-1]
    return bead, placement, run


async def test_a_host_polecat_takes_a_ready_session_and_a_lost_host_leaves_none(remote, hosts, host_town):
    repo, url = remote
    h1 = hosts("h1", url, slots=2)
    # The host fills its checkout pool as it starts: the first polecats only switch a ready checkout.
    await eventually(lambda: len(list((h1.root / "checkouts").glob("wt-*"))) == 2, timeout=60,
                     what="h1 prepared its two checkouts")
    town = await host_town(repo, url, one_scenario(3), [h1], local_slots=0, maxPolecats=1)
    assert town.hosts is not None and town.hosts.hosts[0].up
    conn = town.hosts.hosts[0]
    epic = await town.store.create("seats", issue_type="epic")

    first, placement, run1 = await run_on_host(town, epic.id, 0)
    seats = conn.seats
    assert placement.seats is seats and seats is not None and seats.taken == 0  # nothing was waiting yet
    # Its checkout given back, a session waits there for the next polecat on h1.
    seated = seats.ready()
    assert [str(p) for p in seated] == [run1.worktree], (seated, run1.worktree)
    assert Path(run1.worktree).is_relative_to(h1.root.resolve())
    assert town.hosts.status()[0]["seated"] == 1

    second, _, run2 = await run_on_host(town, epic.id, 1)
    assert seats.taken == 1  # the second polecat took the waiting session
    assert run2.worktree == run1.worktree  # the host chose the checkout where the session waited
    await eventually(lambda: len(seats.ready()) == 1, timeout=30, what="a new seat after the second run")

    # kill -9 of the host: its seats are dropped with its link, nothing of it is left running.
    h1.proc.kill()
    h1.proc.wait()
    await eventually(lambda: not conn.up, timeout=30, what="h1 is lost")
    assert conn.seats is None and seats.closed and len(seats) == 0
    assert town.hosts.status()[0]["seated"] == 0
    await eventually(lambda: not host_processes(h1.root.resolve()), timeout=20, what="no process of h1 is left")
    # A polecat's release after the loss does not seat anything on the lost host.
    seats.prestart(Path(run1.worktree), SessionSpec("late", Path(run1.worktree), _NoPolicy()))
    assert len(seats) == 0


async def test_a_restarted_town_fetches_what_hosts_pushed_while_it_was_stopped(remote, hosts, host_town,
                                                                                tmp_path: Path):
    repo, url = remote
    h1 = hosts("h1", url)
    town = await host_town(repo, url, one_scenario(1), [h1], local_slots=0, maxPolecats=1)
    store = town.store
    assert store is not None
    working = await store.claim((await store.create("Working")).id, "polecat-x")
    reviewed = await store.create("Reviewed")
    finished = await store.create("Finished")
    await store.update(reviewed.id, status=Status.REVIEW, actor="test")
    await store.close_bead(finished.id, "done")
    await town.close()

    # While the town is stopped, hosts push polecat branches to the remote (a clone stands in for them).
    pusher = tmp_path / "pusher"
    git(tmp_path, "clone", "-q", url, str(pusher))
    tips = {}
    for bead in (working, reviewed, finished):
        git(pusher, "checkout", "-q", "-B", f"polecat/{bead.id}", "origin/HEAD")
        (pusher / f"{bead.id}.txt").write_text("work done on a host\n")
        git(pusher, "add", "-A")
        git(pusher, "commit", "-q", "-m", f"work of {bead.id}")
        git(pusher, "push", "-q", "origin", f"polecat/{bead.id}")
        tips[bead.id] = git(pusher, "rev-parse", "HEAD").strip()
    assert all(f"refs/heads/polecat/{b}" in remote_branches(url) for b in tips)
    assert all(not git(repo, "branch", "--list", f"polecat/{b}").strip() for b in tips)

    again = await host_town(repo, url, one_scenario(1), [h1], local_slots=0, maxPolecats=1)
    # The unfinished beads' branches are home at the pushed tips; a closed bead's is left on the remote.
    assert git(repo, "rev-parse", f"polecat/{working.id}").strip() == tips[working.id]
    assert git(repo, "rev-parse", f"polecat/{reviewed.id}").strip() == tips[reviewed.id]
    assert not git(repo, "branch", "--list", f"polecat/{finished.id}").strip()
    # Recovery saw them: the interrupted bead is requeued naming its work, the reviewed one goes to the Refinery.
    assert again.recovery is not None
    assert working.id in again.recovery.requeued and reviewed.id in again.recovery.awaiting_refinery
    notes = [c.text for c in (await again.store.get(working.id)).comments or []]
    assert any(f"polecat/{working.id} at {tips[working.id][:10]}" in t for t in notes), notes
    assert again.hosts is not None and {working.id, reviewed.id} <= again.hosts.on_hosts


def test_status_lists_the_hosts(remote, hosts, tmp_path: Path):
    repo, url = remote
    h1 = hosts("h1", url, slots=3)
    (repo / "gastown.toml").write_text(
        f'[hosts]\nremote = "{url}"\n\n'
        f'[[hosts.pool]]\naddress = "{h1.address}"\ntokenEnv = "{TOKEN_ENV}"\nslots = 3\n\n'
        f'[[hosts.pool]]\naddress = "127.0.0.1:9"\nname = "gone"\ntokenEnv = "{TOKEN_ENV}"\nslots = 2\n')
    out = subprocess.run([sys.executable, "-m", "gastown", "status", "--json"], cwd=repo, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {h["name"]: h for h in json.loads(out.stdout)["hosts"]}
    assert rows["h1"]["up"] and rows["h1"]["used"] == 0 and rows["h1"]["slots"] == 3
    assert rows["h1"]["address"] == h1.address
    assert not rows["gone"]["up"] and rows["gone"]["used"] is None and rows["gone"]["why"]
    text = subprocess.run([sys.executable, "-m", "gastown", "status"], cwd=repo, capture_output=True, text=True,
                          timeout=120).stdout
    assert "Runtime hosts:" in text and h1.address in text and "live" in text and "0/3" in text
    assert "gone" in text and "lost" in text
    # The probe took nothing from the host (a town's leases are not given back by a probe's goodbye).
    stop_host(h1)
    assert "a town connected" in h1.log()
