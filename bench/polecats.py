"""Polecat benchmark (figures, never pass/fail): N = 1, 10, 30 concurrent polecats of a real Town (one
Copilot CLI, the scripted model, real git) on a 200-file repository.

For each N, one JSON line:
- ``spawn_ms``: claim + checkout + session ready, per polecat, median over ``--reps`` rounds of N
  concurrent polecats on a warm pool (idle checkouts reused, sessions seated on them);
  ``spawn_ms_cold``: the first goal's round on a freshly opened town (no seat; the checkouts the town
  prepared in the background when it opened, ``pool_prepare_ms`` after opening, waited for before any
  measurement);
- ``floor_ms``: its two real parts measured in the same run on the same repository and warm client, N at
  a time like the polecats: a bare checkout (``git clone --shared`` + ``git checkout -B``, what a new
  slot costs) plus a bare SDK ``create_session``; ``spawn_ratio``: spawn / floor of each warm round
  against a floor measured right before it, median (``spawn_ratio_each`` lists them; the machine's load
  drifts); ``spawn_ratio_cold``: the cold round against its own floor; ``spawn_ratio_cold_strict``:
  against the stricter floor of the first versions of this bench, a checkout made alone
  (``floor_checkout_alone_ms``, the mean of a few one at a time) + the N-at-a-time session;
- ``rss_mb_per_polecat``: growth of this process + the CLI process tree RSS from the warm idle client to
  the moment every polecat has done a turn (all N sessions live, each after one tool call), divided by N;
- ``events_per_s``: agent events recorded per second of wall time over the warm rounds.

``--sandbox``: instead, one JSON line on the cost of confinement (polecats.sandbox): a polecat's spawn
(create_session + its first turn, one shell command) on a bubblewrap-confined runtime against an
unconfined one, both warm, alternating in the same run; ``spawn_ratio_sandboxed`` is the median of the
per-round ratios (see ``sandbox_spawn``).

    .venv/bin/python bench/polecats.py [--n 1 10 30] [--files 200] [--sandbox]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitrepo import git, make_repo  # bench/ is on sys.path when a bench runs

from gastown.config import Settings
from gastown.town.polecat import polecat_name
from gastown.town.town import Town

SCENARIO = {"model": "scripted", "rules": [
    # Cold round: one tool call, then a pause so that RSS is read with every session live after a turn.
    {"name": "cold", "match": r"Title: Cold (?P<n>\d+)\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/cold_{{n}}.txt", "file_text": "x\n"}}]},
        {"delay": 3, "tool_calls": [{"name": "report_done", "arguments": {"summary": "cold {{n}}"}}]},
        {"text": "Done."},
    ]},
    {"name": "warm", "match": r"Title: Warm (?P<n>\d+)\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/warm_{{n}}.txt", "file_text": "x\n"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "warm {{n}}"}}]},
        {"text": "Done."},
    ]},
]}


def tree_rss_mb(root: int) -> float:
    """RSS of ``root`` and all its descendants (this process, the CLI launcher, the CLI)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def timed(coro) -> tuple[float, object]:
    t = time.monotonic()
    result = await coro
    return (time.monotonic() - t) * 1000, result


async def checkout_alone(town: Town, base: str, work: Path, runs: int = 4) -> float:
    """A bare checkout with nothing else going on: the mean of a few, one at a time."""
    def one(i: int) -> float:
        target = work / f"alone-{i}"
        started = time.monotonic()
        git(work, "clone", "-q", "--shared", "--no-checkout", str(town.workspace), str(target))
        git(target, "checkout", "-q", "-B", f"alone/{i}", base)
        ms = (time.monotonic() - started) * 1000
        shutil.rmtree(target)
        return ms

    return statistics.mean([await asyncio.to_thread(one, i) for i in range(runs)])


async def floor(town: Town, n: int, base: str, work: Path) -> tuple[float, float]:
    """A bare checkout (`git clone --shared` + `git checkout -B`) and a bare SDK create_session on the same
    warm client, N at a time (the same concurrency as the polecats); the mean per operation, median over a
    few batches."""
    repo = town.workspace
    runtime = town.runtime()
    client = runtime._client  # the same warm client the polecats use
    from copilot.session import PermissionDecisionApproveOnce

    kwargs = {"model": runtime.provider.model, "provider": runtime.provider.sdk_provider(),
              "on_permission_request": lambda *_: PermissionDecisionApproveOnce()}

    def checkout(i: int) -> None:
        target = work / f"floor-{i}"
        git(work, "clone", "-q", "--shared", "--no-checkout", str(repo), str(target))
        git(target, "checkout", "-q", "-B", f"floor/{i}", base)

    wt_batches, session_batches = [], []
    for _ in range(max(1, 6 // n)):
        # as many threads as checkouts, like the polecats' own git pool
        with ThreadPoolExecutor(n) as threads:
            loop = asyncio.get_running_loop()
            adds = await asyncio.gather(*(timed(loop.run_in_executor(threads, checkout, i)) for i in range(n)))
        for i in range(n):
            shutil.rmtree(work / f"floor-{i}")
        sessions = await asyncio.gather(*(timed(client.create_session(working_directory=str(repo), **kwargs))
                                          for _ in range(n)))
        await asyncio.gather(*(s.disconnect() for _ms, s in sessions))
        wt_batches.append(statistics.mean(ms for ms, _ in adds))
        session_batches.append(statistics.mean(ms for ms, _ in sessions))
    return statistics.median(wt_batches), statistics.median(session_batches)


async def round_of(town: Town, epic: str, kind: str, n: int, on_all_turned=None) -> dict:
    store = town.store
    beads = [await store.create(f"{kind} {i}", parent=epic) for i in range(n)]
    claim_ms: dict[str, float] = {}

    async def one(bead):
        ms, claimed = await timed(store.claim(bead.id, polecat_name(bead.id)))
        claim_ms[bead.id] = ms
        return await town.dispatcher.run_polecat(claimed)

    started = time.monotonic()
    tasks = [asyncio.ensure_future(one(b)) for b in beads]
    sampler = asyncio.ensure_future(on_all_turned(beads)) if on_all_turned else None
    results = await asyncio.gather(*tasks)
    wall = time.monotonic() - started
    sample = await sampler if sampler else None
    assert all(r.commit for r in results), results
    runs = [(await town.records.runs(b.id))[-1] for b in beads]
    spawn = [claim_ms[r.bead_id] + (r.spawn_ms or 0) for r in runs]
    events = sum(r.events for r in runs)
    parts: dict[str, list[float]] = {"claim_ms": list(claim_ms.values())}
    for r in runs:
        for e in await town.records.events(r.id):
            if e["kind"] == "started":
                for k, v in e["detail"].items():
                    parts.setdefault(k, []).append(v)
    split = {k: round(statistics.mean(v), 1) for k, v in parts.items() if k != "spawn_ms"}
    return {"spawn": spawn, "events": events, "wall": wall, "sample": sample, "split": split}


async def bench(n: int, files: int, keep: bool, reps: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"gastown-bench-polecats-{n}-"))
    try:
        repo = make_repo(work / "repo", files)
        scenario = work / "scenario.json"
        scenario.write_text(json.dumps(SCENARIO))
        settings = Settings.model_validate({
            "scenario": str(scenario), "worktreeRoot": str(work / "worktrees"), "maxPolecats": max(n, 1),
            "verifyCommand": "true", "turnTimeout": 120, "polecats": {"stallSeconds": 120}})
        async with Town(repo, settings) as town:
            pool_prepare_ms = await asyncio.to_thread(town.worktrees.wait_prepared)
            runtime = town.runtime()
            await runtime.start()
            base = town.worktrees.integration_head()
            warm = await runtime._client.create_session(  # warm the client once, as a server would be
                model=runtime.provider.model, provider=runtime.provider.sdk_provider(),
                on_permission_request=lambda *_: None, working_directory=str(repo))
            await warm.disconnect()
            epic = (await town.store.create("bench", issue_type="epic")).id
            await asyncio.sleep(0.5)
            rss_before = tree_rss_mb(os.getpid())

            async def all_turned(beads) -> float:
                # every polecat has done a turn (its create tool finished) and waits on its next model call
                ids = {b.id for b in beads}
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    runs = [(await town.records.runs(b))[-1:] for b in ids]
                    done = [r[0] for r in runs if r]
                    tool_done = 0
                    for run in done:
                        tool_done += any(e["kind"] == "tool_done" for e in await town.records.events(run.id))
                    if tool_done == len(ids):
                        await asyncio.sleep(0.3)  # tool results delivered, the delayed call pending
                        return tree_rss_mb(os.getpid())
                    await asyncio.sleep(0.1)
                raise TimeoutError("the polecats never all did a turn")

            # Cold: the first goal (no seat yet; the checkouts the town prepared when it opened). Its floor
            # is measured right before.
            cold_parts = await floor(town, n, base, work)
            cold_floor = sum(cold_parts)
            alone = await checkout_alone(town, base, work)
            cold = await round_of(town, epic, "Cold", n, all_turned)
            # Warm rounds (idle worktrees reused), each right after a floor measurement at the same N:
            # the machine's load drifts, so each round is compared with its own floor, then the median.
            floors, ratios, spawns, events, wall, split = [], [], [], 0, 0.0, None
            for rep in range(reps):
                f_wt, f_s = await floor(town, n, base, work)
                hot = await round_of(town, epic, f"Warm {rep}", n)
                floors.append((f_wt, f_s))
                ratios.append(statistics.median(hot["spawn"]) / (f_wt + f_s))
                spawns += hot["spawn"]
                events += hot["events"]
                wall += hot["wall"]
                split = split or hot["split"]
            rss_after = tree_rss_mb(os.getpid())
        f_wt = statistics.median(f[0] for f in floors)
        f_s = statistics.median(f[1] for f in floors)
        return {
            "n": n, "files": files, "reps": reps,
            "spawn_ms": round(statistics.median(spawns), 1),
            "spawn_ms_max": round(max(spawns), 1),
            "spawn_ms_cold": round(statistics.median(cold["spawn"]), 1),
            "floor_ms": round(f_wt + f_s, 1),
            "floor_checkout_ms": round(f_wt, 1),
            "floor_create_session_ms": round(f_s, 1),
            "spawn_ratio": round(statistics.median(ratios), 2),
            "spawn_ratio_each": [round(r, 2) for r in ratios],
            "spawn_ratio_cold": round(statistics.median(cold["spawn"]) / cold_floor, 2),
            "floor_ms_cold": round(cold_floor, 1),
            "floor_checkout_alone_ms": round(alone, 1),
            "spawn_ratio_cold_strict": round(statistics.median(cold["spawn"]) / (alone + cold_parts[1]), 2),
            "pool_prepare_ms": pool_prepare_ms,
            "spawn_split_ms": split,
            "spawn_split_ms_cold": cold["split"],
            "rss_mb_before": round(rss_before, 1),
            "rss_mb_all_turned": round(cold["sample"], 1),
            "rss_mb_per_polecat": round((cold["sample"] - rss_before) / n, 2),
            "rss_mb_after_sessions_closed": round(rss_after, 1),
            "events_per_s": round(events / wall, 1),
            "events": events,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


SANDBOX_SCENARIO = {"model": "scripted", "rules": [{"name": "spawn", "match": "Spawn", "steps": [
    {"tool_calls": [{"name": "bash", "arguments": {"command": "echo ok > spawned.txt", "description": "w"}}]},
    {"text": "Done."},
]}]}


async def sandbox_spawn(reps: int, files: int) -> dict:
    """The sandbox's cost per polecat spawn: create_session + a first turn with one shell command, in a
    fresh `git clone --shared` checkout, on a sandboxed and an unconfined runtime (one CLI each, both
    warmed by one spawn), alternating which goes first; the ratio per round, then the median."""
    from gastown.config import ProviderSettings
    from gastown.runtime.base import SessionSpec
    from gastown.runtime.copilot_adapter import CopilotRuntime
    from gastown.runtime.policy import polecat_policy
    from gastown.runtime.sandbox import choose_sandbox
    from gastown.runtime.scripted_model import Scenario, ScriptedModelServer

    work = Path(tempfile.mkdtemp(prefix="gastown-bench-sandbox-"))
    server = ScriptedModelServer(Scenario.model_validate(SANDBOX_SCENARIO)).start()
    provider = ProviderSettings(type="openai", base_url=server.base_url, model="scripted", api_key="x")
    runtimes: dict[str, CopilotRuntime] = {}
    try:
        repo = make_repo(work / "repo", files)
        choice = choose_sandbox("required", checkout_root=work / "checkouts", cli_home=None,
                                state_dir=work / "state", readable=[repo])
        runtimes = {"sandboxed": CopilotRuntime(provider, base_directory=work / "home-s", sandbox=choice.sandbox),
                    "unconfined": CopilotRuntime(provider, base_directory=work / "home-u")}
        start_ms = {k: (await timed(rt.start()))[0] for k, rt in runtimes.items()}
        count = 0

        shell_ms: dict[str, list[float]] = {k: [] for k in runtimes}

        async def spawn(kind: str) -> float:
            nonlocal count
            count += 1
            checkout = work / "checkouts" / f"{kind}-{count}"
            git(work, "clone", "-q", "--shared", str(repo), str(checkout))
            marks: dict[str, float] = {}

            def on_event(e) -> None:  # the shell command's own time: tool start → done
                if e.kind in ("tool_start", "tool_done"):
                    marks.setdefault(e.kind, time.monotonic())

            spec = SessionSpec(name=kind, working_directory=checkout, policy=polecat_policy(checkout, repo),
                               on_event=on_event)
            t = time.monotonic()
            session = await runtimes[kind].create_session(spec)
            await session.run_turn("Spawn: write spawned.txt", timeout=60)
            ms = (time.monotonic() - t) * 1000
            await session.disconnect()
            assert (checkout / "spawned.txt").read_text() == "ok\n", kind
            shell_ms[kind].append((marks["tool_done"] - marks["tool_start"]) * 1000)
            return ms

        for kind in runtimes:
            await spawn(kind)  # warm
        times: dict[str, list[float]] = {k: [] for k in runtimes}
        ratios = []
        for r in range(reps):
            for kind in (list(runtimes) if r % 2 == 0 else list(runtimes)[::-1]):
                times[kind].append(await spawn(kind))
            ratios.append(times["sandboxed"][-1] / times["unconfined"][-1])
        assert choice.sandbox is not None
        return {
            "figure": "sandbox_spawn", "reps": reps, "files": files, "per_session": choice.sandbox.per_session,
            "spawn_ms_sandboxed": round(statistics.median(times["sandboxed"]), 1),
            "spawn_ms_unconfined": round(statistics.median(times["unconfined"]), 1),
            "spawn_ratio_sandboxed": round(statistics.median(ratios), 2),
            "spawn_ratio_each": [round(x, 2) for x in ratios],
            "shell_command_ms_sandboxed": round(statistics.median(shell_ms["sandboxed"]), 1),
            "shell_command_ms_unconfined": round(statistics.median(shell_ms["unconfined"]), 1),
            "cli_start_ms_sandboxed": round(start_ms["sandboxed"], 1),
            "cli_start_ms_unconfined": round(start_ms["unconfined"], 1),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        for rt in runtimes.values():
            await rt.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3, help="warm rounds per N, each with its own floor")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--sandbox", action="store_true", help="only the sandboxed-vs-unconfined spawn ratio")
    args = parser.parse_args()
    if args.sandbox:
        print(json.dumps(asyncio.run(sandbox_spawn(max(args.reps, 9), args.files))), flush=True)
        return 0
    for n in args.n:
        print(json.dumps(asyncio.run(bench(n, args.files, args.keep, args.reps))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
