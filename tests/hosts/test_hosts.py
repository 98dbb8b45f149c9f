"""Polecats on runtime hosts, on loopback: two `gastown host` processes with their own roots and a bare
remote on file://, a ten-bead scripted goal placed on the town and both hosts, a host killed mid-goal, a
wrong token, a remote the host cannot reach."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from gastown.host.link import HostLink
from gastown.host.wire import Unauthorized
from gastown.ledger.model import Status
from gastown.town.polecat import polecat_name
from tests.hosts.conftest import TOKEN, TOKEN_ENV, start_host, stop_host
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.support import eventually
from tests.town.conftest import git

pytestmark = pytest.mark.runtime

N = 10
MODULE = '"""op{n}."""\n\n\ndef op{n}(a):\n    return a + {n}\n'
TEST = ("import unittest\n\nfrom calc.op{n} import op{n}\n\n\nclass T(unittest.TestCase):\n"
        "    def test_op{n}(self):\n        self.assertEqual(op{n}(1), {m})\n")


def goal_scenario(slow: str = "", slow_from: int = 0) -> dict:
    """A plan of N independent beads, each writing a module and its test. ``slow``: a long shell step after
    the module is written, for beads from ``slow_from`` on whose worktree path matches (a host to be killed
    while they work)."""
    plan = [task(f"op{n}", f"Add op{n}", [f"calc/op{n}.py", f"tests/test_op{n}.py"]) for n in range(N)]
    rules = [mayor_rule(propose("Ten operations", plan), say("Planned."))]
    for n in range(N):
        steps = [create(f"calc/op{n}.py", MODULE.format(n=n)), create(f"tests/test_op{n}.py", TEST.format(n=n, m=n + 1)),
                 done(f"op{n} added"), say()]
        if slow and n >= slow_from:
            steps.insert(1, {"tool_calls": [{"name": "bash", "arguments": {
                "command": f"case \"$PWD\" in *{slow}*) sleep 300;; esac; true", "description": "think"}}]})
        rules.append(polecat_rule(f"Add op{n}", steps))
    return {"rules": rules}


def remote_branches(url: str) -> dict[str, str]:
    out = subprocess.run(["git", "ls-remote", "--refs", url], capture_output=True, text=True, check=True).stdout
    return {ref: sha for sha, ref in (line.split() for line in out.splitlines())}


def reachable(repo: Path, sha: str) -> bool:
    """``sha`` is in the repository and on one of its refs (branches, archive refs)."""
    return bool(git(repo, "for-each-ref", "--contains", sha, "--count=1", "--format=%(refname)").strip())


async def test_a_ten_bead_goal_runs_on_two_hosts_and_here(remote, hosts, host_town, capfd):
    repo, url = remote
    h1, h2 = hosts("h1", url), hosts("h2", url)
    # Readiness from the host's health endpoint.
    health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{h1.info['health_port']}/healthz", timeout=5).read())
    assert health["ok"] and health["cli"] and health["clone"]

    town = await host_town(repo, url, goal_scenario(), [h1, h2], local_slots=1)
    placed: dict[str, set[str | None]] = {}
    town.bus.subscribe(lambda e: placed.setdefault(e.id, set()).add(e.host)
                       if getattr(e, "role", None) == "polecat" and getattr(e, "state", None) == "starting" else None)
    assert town.hosts is not None and [h.up for h in town.hosts.hosts] == [True, True]
    assert town.dispatcher.capacity() == 5

    _, epic, tasks, job = await town.submit_goal("ten operations")
    report = await asyncio.wait_for(job, 300)
    assert report.ok and report.closed == N and report.merged == N, report

    # Every bead merged; the integration branch passes its tests (run here, on the merged head).
    assert town.store is not None
    beads = await town.store.list(parent=epic.id)
    assert len(beads) == N and all(b.status == Status.CLOSED for b in beads)
    tree = git(repo, "ls-tree", "-r", "--name-only", town.worktrees.integration).split()
    assert all(f"calc/op{n}.py" in tree and f"tests/test_op{n}.py" in tree for n in range(N))
    scratch = repo.parent / "check"
    git(repo, "worktree", "add", "-q", "--detach", str(scratch), town.worktrees.integration)
    run = subprocess.run([sys.executable, "-m", "unittest", "discover", "-q"], cwd=scratch, capture_output=True,
                         text=True)
    assert run.returncode == 0 and f"Ran {N + 1} tests" in run.stderr, run.stderr
    git(repo, "worktree", "remove", "--force", str(scratch))

    # Both hosts and this machine ran polecats; the Agents view says where each ran.
    where = {h for hs in placed.values() for h in hs}
    assert {"h1", "h2"} <= where, placed
    assert {town.agents[polecat_name(b.id)].host for b in beads} <= {"h1", "h2", None}
    # A host's polecat worked in the host's checkout, its branch went through the remote.
    branches = remote_branches(url)
    on_hosts = [b for b in beads if town.agents[polecat_name(b.id)].host]
    assert on_hosts and all(f"refs/heads/polecat/{b.id}" in branches for b in on_hosts)
    runs = {r.bead_id: r for r in await town.records.latest_runs()} if town.records else {}
    for b in on_hosts:
        host_root = {"h1": h1.root, "h2": h2.root}[town.agents[polecat_name(b.id)].host or ""]
        assert Path(runs[b.id].worktree).is_relative_to(host_root.resolve()), runs[b.id].worktree
    # The integration branch was pushed for the hosts to start from.
    assert f"refs/heads/{town.worktrees.integration}" in branches

    # The token never reached a log.
    await town.close()
    for h in (h1, h2):
        stop_host(h)
        assert TOKEN not in h.log()
    out = capfd.readouterr()
    assert TOKEN not in out.out + out.err


async def test_a_wrong_token_is_refused(remote, hosts, host_town, monkeypatch):
    repo, url = remote
    h1 = hosts("h1", url)
    link = HostLink(h1.address, "not-the-token")
    with pytest.raises(Unauthorized, match="unauthorized"):
        await link.connect()
    await link.close()
    # A request before the hello is refused the same way (nothing is served unauthenticated).
    reader, writer = await asyncio.open_connection("127.0.0.1", h1.info["port"])
    from gastown.host.wire import frame, read_message

    writer.write(frame({"jsonrpc": "2.0", "id": 1, "method": "host/health", "params": {}}))
    await writer.drain()
    answer = await read_message(reader)
    assert answer is not None and answer["error"]["code"] == -32001
    assert await read_message(reader) is None  # and the connection is closed
    writer.close()

    # A town with the wrong token runs its goal here, saying why the host was not used.
    monkeypatch.setenv("WRONG_TOKEN", "wrong-token-9c1d")
    scenario = goal_scenario()
    town = await host_town(repo, url, scenario, [h1], local_slots=2, token_env="WRONG_TOKEN")
    assert town.hosts is not None and not town.hosts.hosts[0].up
    assert "unauthorized" in town.hosts.hosts[0].why
    assert town.dispatcher.capacity() == 2
    assert [w for _, w in town.hosts.history] == ["refused"]
    # The right token still works.
    good = HostLink(h1.address, TOKEN)
    hello = await good.connect()
    assert hello.name == "h1" and hello.cli_port > 0
    await good.close()
    stop_host(h1)
    assert "wrong-token-9c1d" not in h1.log() and "not-the-token" not in h1.log() and TOKEN not in h1.log()
    assert "refused a connection" in h1.log()


def test_a_host_that_cannot_reach_the_remote_says_so(tmp_path: Path):
    missing = (tmp_path / "nowhere.git").as_uri()
    with pytest.raises(AssertionError) as failed:
        start_host("lost", tmp_path / "host-lost", missing, timeout=60)
    text = str(failed.value)
    assert f"cannot reach the remote {missing}" in text, text
    assert "Traceback" not in text
    assert not (tmp_path / "host-lost" / "clone").exists()  # nothing half-made
    _ = TOKEN_ENV


def host_processes(root: Path) -> list[str]:
    """Processes started for a host: its CLI (named by its launcher under the root) and whatever that CLI ran
    in its checkouts (their working directory is under the root)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((proc / "cwd").resolve())
        except OSError:
            continue
        if str(root) in cmd or cwd.startswith(str(root)):
            found.append(f"{proc.name} {cmd[:120]} (in {cwd})")
    return found


async def test_a_host_killed_mid_goal_loses_nothing_pushed(remote, hosts, host_town):
    repo, url = remote
    h1, h2 = hosts("h1", url), hosts("h2", url)
    town = await host_town(repo, url, goal_scenario(slow="host-h1", slow_from=5), [h1, h2], local_slots=1)
    finished_on_h1: set[str] = set()
    town.bus.subscribe(lambda e: finished_on_h1.add(e.bead_id)
                       if getattr(e, "host", None) == "h1" and getattr(e, "state", None) == "merging" else None)
    _, epic, tasks, job = await town.submit_goal("ten operations")

    def sleeping_on_h1() -> list[str]:
        return [a.bead_id for a in town.agents.values()
                if a.host == "h1" and a.current_tool == "bash" and a.state == "working" and a.bead_id]

    await eventually(lambda: finished_on_h1 and sleeping_on_h1(), timeout=180,
                     what="h1 finished a bead and is working on another")
    caught = sleeping_on_h1()
    pushed = remote_branches(url)
    assert any(f"refs/heads/polecat/{b}" in pushed for b in finished_on_h1)
    h1.proc.kill()  # kill -9: no goodbye, no release
    h1.proc.wait()

    report = await asyncio.wait_for(job, 300)
    assert report.ok and report.closed == N and report.merged == N, report
    assert town.hosts is not None and ("h1", "lost") in town.hosts.history
    assert town.store is not None
    for bead_id in caught:
        notes = [c.text for c in (await town.store.get(bead_id)).comments or []]
        lost = [t for t in notes if "stopped answering" in t]
        assert lost and "requeued" in lost[0] and "Only on h1" in lost[0], notes
        n = int((await town.store.get(bead_id)).title.removeprefix("Add op"))
        assert f"calc/op{n}.py" in lost[0]  # what it had written there, named
        assert town.agents[polecat_name(bead_id)].host != "h1"  # finished elsewhere
    # Everything any host had pushed is still here: on a ref, or merged (the Refinery rebases, so the merged
    # commit is a copy: the files the pushed commit wrote are on the integration branch as it wrote them).
    integration = town.worktrees.integration
    for ref, sha in pushed.items():
        if reachable(repo, sha):
            continue
        files = git(repo, "diff", "--name-only", f"{sha}~1", sha).split()
        assert files and all(git(repo, "rev-parse", f"{sha}:{f}") == git(repo, "rev-parse", f"{integration}:{f}")
                             for f in files), (ref, sha, files)
    # No process of the killed host is left (its CLI, and the shell command it was running).
    await eventually(lambda: not host_processes(h1.root.resolve()), timeout=20, what="no process of h1 is left")

    # h1 comes back on its root: its leftover checkouts are reconciled, the work that was only there is kept.
    again = start_host("h1", h1.root, url, port=h1.info["port"])
    try:
        await eventually(lambda: [w for h, w in town.hosts.history if h == "h1"][-1:] == ["up"], timeout=30,
                         what="the town reconnected to h1")

        async def archived_comment() -> bool:
            notes = [c.text for b in caught for c in (await town.store.get(b)).comments or []]
            return any("came back" in t for t in notes)

        await eventually(archived_comment, timeout=30, what="the came-back host's leftover work reported")
        kept = git(repo, "for-each-ref", "--format=%(refname)", "refs/gastown/archive/host/h1").split()
        assert kept and all(reachable(repo, git(repo, "rev-parse", r).strip()) for r in kept)
        leftover = [p for p in (h1.root / "checkouts").glob("wt-*")
                    if git(p, "rev-parse", "--abbrev-ref", "HEAD").strip() != "HEAD"]
        assert not leftover, leftover  # no slot still holds a bead's branch
    finally:
        await town.close()
        stop_host(again)
