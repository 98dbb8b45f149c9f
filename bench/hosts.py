"""Runtime-host benchmark (figures, never pass/fail), on loopback: `gastown host` processes with their own
roots, a bare remote on file://, a real Town (its own CLI, the scripted model, real git).

One JSON line each:
- ``overhead``: polecats run one at a time, alternating this machine and a host, in the same run (after one
  warm-up of each): ``spawn_ms`` (claim to session ready: checkout + session; on a host also the push of
  the integration head and the host's fetch; ``checkout_ms`` and ``session_ms`` its parts, which overlap
  when the checkout's folder exists), ``turns_ms`` (the session's model turns and tool calls:
  first to last agent event), ``finish_ms`` (commit and give the checkout back; on a host also its push and
  the town's fetch); medians, and ``*_ratio`` = host / local (the target is ≤ 1.2 on loopback);
- ``goal``: a ten-bead goal's wall time (submit → report) with 0, 1 and 2 hosts of ``--host-slots`` each
  beside ``--local-slots`` here (a fresh workspace, remote and hosts for each; their start is not counted).
  On a 2-core machine every host shares the same cores: expect little gain. The point is that the design
  scales where cores are added. ``--rounds`` repeats the three (the first round pays cold starts).

    .venv/bin/python bench/hosts.py [--reps 8] [--local-slots 2] [--host-slots 2] [--skip-goal]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from gitrepo import IDENTITY, git  # bench/ is on sys.path when a bench runs

from gastown.config import Settings
from gastown.demo import make_sample_repo
from gastown.town.polecat import polecat_name
from gastown.town.town import Town

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = os.environ.get("COPILOT_CLI_PATH") or str(REPO_ROOT / "node_modules" / ".bin" / "copilot")
TOKEN = "bench-token"
TOKEN_ENV = "GASTOWN_BENCH_HOST_TOKEN"
N_GOAL = 10

POLECAT = {"name": "one", "match": r"Title: One (?P<n>\d+)\b.*?Worktree: (?P<wt>\S+)", "steps": [
    {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/one_{{n}}.txt", "file_text": "x\n"}}]},
    {"tool_calls": [{"name": "report_done", "arguments": {"summary": "one {{n}}"}}]},
    {"text": "Done."},
]}


def goal_rules() -> list[dict]:
    tasks = [{"key": f"op{n}", "title": f"Add op{n}", "description": "d", "acceptance_criteria": "works",
              "priority": 2, "files": [f"calc/op{n}.py"], "depends_on": []} for n in range(N_GOAL)]
    rules: list[dict] = [{"name": "mayor", "match": "Plan this goal", "steps": [
        {"tool_calls": [{"name": "propose_plan", "arguments": {"title": "ops", "tasks": tasks}}]},
        {"text": "Planned."}]}]
    for n in range(N_GOAL):
        rules.append({"name": f"op{n}", "match": rf"Title: Add op{n}\n.*?Worktree: (?P<wt>\S+)", "steps": [
            {"tool_calls": [{"name": "create", "arguments": {
                "path": "{{wt}}/calc/op" + str(n) + ".py", "file_text": f"def op{n}(a):\n    return a + {n}\n"}}]},
            {"tool_calls": [{"name": "report_done", "arguments": {"summary": f"op{n}"}}]},
            {"text": "Done."}]})
    return rules


class Host:
    def __init__(self, name: str, root: Path, remote: str, slots: int) -> None:
        env = {**os.environ, **IDENTITY, TOKEN_ENV: TOKEN}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gastown", "host", "--remote", remote, "--root", str(root), "--port", "0",
             "--cli-port", "0", "--slots", str(slots), "--name", name, "--token-env", TOKEN_ENV, "--cli-path", CLI],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.output: list[str] = []
        self.info: dict = {}
        ready = threading.Event()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if line.startswith("{") and not self.info:
                    self.info = json.loads(line)
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(120)
        if not self.info:
            self.stop()
            raise SystemExit(f"host {name} did not start:\n{''.join(self.output)}")

    @property
    def entry(self) -> dict:
        return {"address": f"127.0.0.1:{self.info['port']}", "tokenEnv": TOKEN_ENV, "slots": self.info["slots"]}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def workspace(base: Path) -> tuple[Path, str]:
    repo = make_sample_repo(base / "calc")
    bare = base / "remote.git"
    git(base, "clone", "-q", "--bare", str(repo), str(bare))
    git(repo, "remote", "add", "origin", bare.as_uri())
    return repo, bare.as_uri()


async def open_town(base: Path, repo: Path, url: str, rules: list[dict], hosts: list[Host], local_slots: int) -> Town:
    scenario = base / "scenario.json"
    scenario.write_text(json.dumps({"model": "scripted", "rules": rules}))
    values = {"scenario": str(scenario), "worktreeRoot": str(base / "worktrees"), "cliPath": CLI,
              "verifyCommand": f"{sys.executable} -m unittest discover -q", "turnTimeout": 60,
              "maxPolecats": max(local_slots, 1),
              "hosts": {"pool": [h.entry for h in hosts], "remote": url, "localSlots": local_slots,
                        "probeSeconds": 2}}
    return await Town(repo, Settings.model_validate(values)).open()


def _t(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()


async def one_run(town: Town, epic: str, n: int, on_host: bool) -> dict:
    assert town.store is not None and town.hosts is not None and town.records is not None
    bead = await town.store.create(f"One {n}", parent=epic)
    bead = await town.store.claim(bead.id, polecat_name(bead.id))
    placement = town.hosts.place(bead.id) if on_host else town._local_placement()
    if on_host and placement.host is None:
        raise SystemExit(f"no host to place on: {town.hosts.status()}")
    started = time.monotonic()
    try:
        result = await town.dispatcher.run_polecat(bead, placement=placement)
    finally:
        town.hosts.done(bead.id)
    total = (time.monotonic() - started) * 1000
    assert result.commit, result
    run = (await town.records.runs(bead.id))[-1]
    events = await town.records.events(run.id)
    times = [_t(e["at"]) for e in events]
    spawn = run.spawn_ms or 0.0
    turns = (max(times) - min(times)) * 1000 if times else 0.0
    parts = next((e.get("detail") or {} for e in events if e["kind"] == "started"), {})
    return {"spawn_ms": spawn, "turns_ms": turns, "finish_ms": max(0.0, total - spawn - turns), "total_ms": total,
            "checkout_ms": parts.get("worktree_ms") or 0.0, "session_ms": parts.get("session_ms") or 0.0}


def med(rows: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 1)


async def overhead(base: Path, reps: int) -> dict:
    repo, url = workspace(base)
    host = Host("h1", base / "host-h1", url, slots=2)
    town = await open_town(base, repo, url, [POLECAT], [host], local_slots=0)  # place() = the host
    try:
        assert town.store is not None
        epic = await town.store.create("bench", issue_type="epic")
        local, remote = [], []
        await one_run(town, epic.id, 0, False)  # warm-up: this machine's CLI and a seat
        await one_run(town, epic.id, 1, True)  # and the host's CLI connection
        for i in range(reps):
            for on_host in ((False, True) if i % 2 == 0 else (True, False)):
                (remote if on_host else local).append(await one_run(town, epic.id, 10 + 2 * i + on_host, on_host))
    finally:
        await town.close()
        host.stop()
    out: dict = {"bench": "hosts", "kind": "overhead", "reps": reps}
    for key in ("spawn_ms", "checkout_ms", "session_ms", "turns_ms", "finish_ms", "total_ms"):
        out[f"local_{key}"], out[f"host_{key}"] = med(local, key), med(remote, key)
        out[key.replace("_ms", "_ratio")] = round(out[f"host_{key}"] / out[f"local_{key}"], 2) \
            if out[f"local_{key}"] else None
    return out


async def goal(base: Path, n_hosts: int, local_slots: int, host_slots: int, round_: int) -> dict:
    repo, url = workspace(base)
    hosts = [Host(f"h{i + 1}", base / f"host-h{i + 1}", url, slots=host_slots) for i in range(n_hosts)]
    town = await open_town(base, repo, url, goal_rules(), hosts, local_slots=local_slots)
    if town.hosts is not None and not all(h.up for h in town.hosts.hosts):
        raise SystemExit(f"a host is not up: {town.hosts.status()}")
    try:
        started = time.monotonic()
        _, epic, _, job = await town.submit_goal("ten operations")
        report = await asyncio.wait_for(job, 600)
        wall = time.monotonic() - started
        where: dict[str, int] = {}
        for agent in town.agents.values():
            if agent.role == "polecat":
                where[agent.host or "local"] = where.get(agent.host or "local", 0) + 1
    finally:
        await town.close()
        for h in hosts:
            h.stop()
    return {"bench": "hosts", "kind": "goal", "round": round_, "hosts": n_hosts, "local_slots": local_slots,
            "host_slots": host_slots, "beads": N_GOAL, "ok": report.ok, "merged": report.merged,
            "wall_s": round(wall, 2), "polecats_by_place": where, "cpus": os.cpu_count()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--local-slots", type=int, default=2)
    parser.add_argument("--host-slots", type=int, default=2)
    parser.add_argument("--skip-goal", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="goal rounds (0, 1, 2 hosts each; the first round "
                                                              "pays the cold start of the CLI cache and pools)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gastown-bench-hosts-"))
    try:
        if not args.skip_overhead:
            print(json.dumps(await overhead(base / "overhead", args.reps)), flush=True)
        if not args.skip_goal:
            for r in range(args.rounds):
                for n in (0, 1, 2):
                    print(json.dumps(await goal(base / f"goal-{r}-{n}", n, args.local_slots, args.host_slots, r)),
                          flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    for key, value in IDENTITY.items():
        os.environ.setdefault(key, value)
    os.environ[TOKEN_ENV] = TOKEN  # the town reads the hosts' token from here (hosts.pool[].tokenEnv)
    asyncio.run(main())
