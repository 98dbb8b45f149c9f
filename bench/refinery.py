"""Refinery benchmark (figures, never pass/fail): N non-conflicting finished branches through the merge queue
of a real Town (ledger, bus, refinery worktree) with a trivial verification command.

Prints JSON lines: one per merge (``merge_overhead_ms`` = the time that merge took in the queue beyond the
verification command's own run time), then a summary with ``queue_total_s``, the mean/median/p95 overhead,
and the floor measured in the same run on the same kind of repo — a bare ``git rebase`` + fast-forward
merge of a one-commit branch — with the ratio overhead / floor.

    .venv/bin/python bench/refinery.py [--branches 30] [--files 200] [--batch 1] [--floor-runs 15]
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
from pathlib import Path

from gitrepo import git, make_repo  # bench/ is on sys.path when a bench runs

from gastown.config import Settings
from gastown.town.bus import MergeOutcome
from gastown.town.queue import MergeRequest
from gastown.town.town import Town


def one_commit_branch(repo: Path, branch: str, base: str, rel: str, text: str) -> str:
    """A branch with one commit adding ``rel`` on top of ``base``, made with plumbing (no checkout)."""
    index = repo / ".git" / f"bench-index-{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(repo, "read-tree", base, env=env)
        blob = git(repo, "hash-object", "-w", "--stdin", input=text.encode())
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=env)
        tree = git(repo, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    sha = git(repo, "commit-tree", tree, "-p", base, "-m", f"{branch}\n\nBead: {branch.split('/')[-1]}")
    git(repo, "update-ref", f"refs/heads/{branch}", sha)
    return sha


def measure_floor(root: Path, files: int, runs: int) -> list[float]:
    """A bare `git rebase` + fast-forward merge of a one-commit branch onto a moved target, in ms."""
    repo = make_repo(root / "floor", files)
    base = git(repo, "rev-parse", "HEAD")
    timings = []
    for i in range(runs):
        branch = f"topic/{i}"
        one_commit_branch(repo, branch, base, f"topic_{i}.txt", f"{i}\n")  # based on the old base
        one_commit_branch(repo, "main", git(repo, "rev-parse", "main"), f"main_{i}.txt", f"{i}\n")  # target moved
        git(repo, "checkout", "-q", "-f", "main")
        started = time.perf_counter()
        git(repo, "rebase", "-q", "main", branch)  # checks out the branch and replays its commit
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--ff-only", branch)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def run_queue(root: Path, files: int, branches: int, batch: int) -> dict:
    repo = make_repo(root / f"queue-b{batch}", files)
    settings = Settings(verify_command="true", worktree_root=str(root / f"worktrees-b{batch}"),
                        merge_batch_size=batch, merge_batch_window_s=0)
    async with Town(repo, settings) as town:
        store = town.store
        assert store is not None
        head = town.worktrees.integration_head()
        async with store.batch(actor="bench") as tx:
            epic = await tx.create("bench", issue_type="epic")
            beads = [await tx.create(f"feature {i}", parent=epic.id) for i in range(branches)]
        mrs = []
        for i, bead in enumerate(beads):
            sha = one_commit_branch(repo, f"polecat/{bead.id}", head, f"features/f{i:03d}.txt", f"feature {i}\n")
            await store.update(bead.id, status="review", actor="bench")
            mrs.append(MergeRequest(bead_id=bead.id, branch=f"polecat/{bead.id}", commit=sha, title=bead.title))
        await asyncio.to_thread(town.refinery._ensure_worktree)  # made once per town, not per merge
        await asyncio.to_thread(town.worktrees.wait_prepared)  # the polecats' pool, filled when the town opened

        command_s: list[float] = []
        verify = town.refinery._verify

        async def timed_verify(tip: str):
            result = await verify(tip)
            command_s.append(result.seconds)
            return result

        town.refinery._verify = timed_verify  # type: ignore[method-assign]
        merged: list[tuple[float, str, int]] = []
        finished = asyncio.Event()

        def on_event(event) -> None:
            if isinstance(event, MergeOutcome) and event.result == "merged":
                merged.append((time.perf_counter(), event.bead_id, len(command_s)))
                if len(merged) == branches:
                    finished.set()

        town.bus.subscribe(on_event)
        started = time.perf_counter()
        for mr in mrs:
            town.refinery.enqueue(mr)
        await asyncio.wait_for(finished.wait(), 600)
        # The last merge's ledger close runs after its MergeOutcome: wait for the queue to be idle.
        while town.refinery.queue or (town.refinery._task and not town.refinery._task.done()):
            await asyncio.sleep(0.005)
        total = time.perf_counter() - started
        closed = sum(1 for b in await store.list(parent=epic.id) if b.status == "closed")
        commits = int(git(repo, "rev-list", "--count", f"{head}..{town.worktrees.integration}"))

    rows = []
    previous, seen = started, 0
    for at, bead_id, runs in merged:
        own = sum(command_s[seen:runs])
        rows.append({"merge": len(rows) + 1, "bead": bead_id, "batch": batch,
                     "merge_ms": round((at - previous) * 1000, 2), "command_ms": round(own * 1000, 2),
                     "merge_overhead_ms": round((at - previous - own) * 1000, 2)})
        previous, seen = at, runs
    return {"rows": rows, "queue_total_s": round(total, 3), "verifications": len(command_s),
            "command_ms_mean": round(statistics.mean(command_s) * 1000, 2), "closed": closed,
            "commits": commits}


def summary(name: str, result: dict, floor_ms: float) -> dict:
    overhead = [r["merge_overhead_ms"] for r in result["rows"]]
    n = len(overhead)
    per_merge = (result["queue_total_s"] * 1000 - result["command_ms_mean"] * result["verifications"]) / n
    return {"summary": name, "branches": n, "queue_total_s": result["queue_total_s"],
            "verifications": result["verifications"], "command_ms_mean": result["command_ms_mean"],
            "merge_overhead_ms_mean": round(per_merge, 2),
            "merge_overhead_ms_median": round(statistics.median(overhead), 2),
            "merge_overhead_ms_p95": round(sorted(overhead)[max(0, int(n * 0.95) - 1)], 2),
            "floor_rebase_ff_ms_median": round(floor_ms, 2),
            "ratio_overhead_to_floor": round(per_merge / floor_ms, 2),
            "target_merge_overhead_ms": 100, "beads_closed": result["closed"], "commits_on_integration":
            result["commits"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=30)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 10],
                        help="merge batch sizes to run (1 = one verification per merge)")
    parser.add_argument("--floor-runs", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gastown-bench-refinery-"))
    try:
        floor = statistics.median(measure_floor(root, args.files, args.floor_runs))
        print(json.dumps({"floor_rebase_ff_ms_median": round(floor, 2), "files": args.files,
                          "git": git(root, "--version")}), flush=True)
        for batch in args.batch:
            result = asyncio.run(run_queue(root, args.files, args.branches, batch))
            for row in result["rows"]:
                print(json.dumps(row), flush=True)
            print(json.dumps(summary(f"batch={batch}", result, floor)), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
