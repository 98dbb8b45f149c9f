"""The Refinery's merge queue on real git repositories (no model): order, conflicts with hunks, review
gating, batches with bisection, verification timeouts. Every operation happens in the refinery's worktree."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gastown.demo import make_sample_repo
from gastown.town.bus import Bus, MergeQueueState
from gastown.town.checkouts import Worktrees
from gastown.town.queue import MergeRequest
from gastown.town.refinery import Outcome, Refinery
from gastown.vcs.repo import open_repo
from tests.town.conftest import commit_branch, git

FAILING_TEST = "import unittest\n\n\nclass Bad(unittest.TestCase):\n    def test_bad(self):\n        self.assertEqual(1, 2)\n"


class Harness:
    def __init__(self, tmp_path: Path, verify: str | None = None, **kwargs) -> None:
        self.repo = make_sample_repo(tmp_path / "calc")
        self.worktrees = Worktrees(open_repo(self.repo), tmp_path / "worktrees", "gastown/integration")
        self.worktrees.ensure_integration()
        self.bus = Bus()
        self.states: list[MergeQueueState] = []
        self.bus.subscribe(lambda e: self.states.append(e) if isinstance(e, MergeQueueState) else None)
        self.refinery = Refinery(self.worktrees, verify or f"{sys.executable} -m unittest discover -q", 60,
                                 bus=self.bus, **kwargs)
        self.outcomes: list[tuple[str, Outcome]] = []
        self.settled = asyncio.Event()
        self.expected = 0

        async def on_outcome(mr: MergeRequest, outcome: Outcome) -> None:
            self.outcomes.append((mr.bead_id, outcome))
            if len([o for o in self.outcomes if o[1].result != "awaiting-review"]) >= self.expected:
                self.settled.set()

        self.refinery.attach(on_outcome=on_outcome)

    def branch(self, bead: str, files: dict[str, str], **mr) -> MergeRequest:
        sha = commit_branch(self.repo, f"polecat/{bead}", files)
        return MergeRequest(bead_id=bead, branch=f"polecat/{bead}", commit=sha, title=bead, **mr)

    async def run(self, *mrs: MergeRequest, expect: int | None = None) -> None:
        self.expected = len(mrs) if expect is None else expect
        for m in mrs:
            self.refinery.enqueue(m)
        await asyncio.wait_for(self.settled.wait(), 60)

    def log(self) -> list[str]:
        """Bead ids of the integration branch's commits, oldest first."""
        out = git(self.repo, "log", "--reverse", "--format=%(trailers:key=Bead,valueonly)", "gastown/integration")
        return [line.strip() for line in out.splitlines() if line.strip()]

    def close(self) -> None:
        self.worktrees.close()


@pytest.fixture
def harness(tmp_path: Path):
    made: list[Harness] = []

    def make(**kwargs) -> Harness:
        made.append(Harness(tmp_path, **kwargs))
        return made[-1]

    yield make
    for h in made:
        h.close()


async def test_queue_merges_in_dependency_then_priority_order(harness):
    h = harness()
    a = h.branch("a", {"a.txt": "a\n"}, priority=3)
    b = h.branch("b", {"b.txt": "b\n"}, priority=0, deps=frozenset({"a"}))
    c = h.branch("c", {"c.txt": "c\n"}, priority=1)
    # All queued before the loop runs: order is decided by the queue, not by arrival.
    await h.run(b, c, a)
    assert [bead for bead, o in h.outcomes] == ["c", "a", "b"]
    assert h.log() == ["c", "a", "b"]
    assert all(o.result == "merged" for _, o in h.outcomes)
    assert h.states[-1].entries == []
    # The user's working tree was never touched.
    assert git(h.repo, "status", "--porcelain") == "" and not (h.repo / "a.txt").exists()


async def test_conflict_is_reported_with_files_and_hunks_and_leaves_integration_alone(harness):
    h = harness()
    first = h.branch("first", {"calc/__init__.py": '"""A tiny calculator."""\n\n\ndef add(a, b):\n    return b + a\n'})
    second = h.branch("second", {"calc/__init__.py": '"""A tiny calculator."""\n\n\ndef add(a, b):\n    return a+b\n'})
    await h.run(first, second)
    (bead, ok), (bead2, bad) = h.outcomes
    assert (bead, ok.result, bead2, bad.result) == ("first", "merged", "second", "conflict")
    assert bad.files == ("calc/__init__.py",)
    assert "<<<<<<<" in bad.detail and "return b + a" in bad.detail and "return a+b" in bad.detail
    assert h.log() == ["first"]
    # No rebase left half-done in the refinery's worktree.
    assert not (Path(git(h.refinery.path, "rev-parse", "--git-dir").strip()) / "rebase-merge").exists()


async def test_review_gate_verifies_first_then_merges_on_accept_without_testing_again(harness):
    h = harness()
    mr = h.branch("r", {"r.txt": "r\n"}, needs_review=True)
    await h.run(mr, expect=0)
    await asyncio.sleep(0)
    assert [o.result for _, o in h.outcomes] == ["awaiting-review"]
    assert h.log() == [] and h.refinery.verifications == 1
    assert h.refinery.snapshot().entries[0].state == "awaiting-review"
    h.settled.clear()
    h.expected = 1
    h.refinery.accept("r")
    await asyncio.wait_for(h.settled.wait(), 30)
    assert h.outcomes[-1][1].result == "merged" and h.log() == ["r"]
    assert h.refinery.verifications == 1  # the same tree already passed


async def test_batch_bisects_to_the_bad_branch_and_merges_the_others(harness):
    h = harness(batch_size=4)
    mrs = [h.branch("a", {"a.txt": "a\n"}), h.branch("b", {"b.txt": "b\n"}),
           h.branch("bad", {"tests/test_bad.py": FAILING_TEST}), h.branch("d", {"d.txt": "d\n"})]
    await h.run(*mrs)
    results = {bead: o.result for bead, o in h.outcomes}
    assert results == {"a": "merged", "b": "merged", "bad": "verification-failed", "d": "merged"}
    assert all(o.batch_size == 4 for _, o in h.outcomes)
    bad = dict(h.outcomes)["bad"]
    assert "test_bad" in bad.detail and "AssertionError" in bad.detail
    assert h.log() == ["a", "b", "d"]
    # abcd fails → ab passes → (bad, d) fails → bad fails → d passes: 5 runs, not one per branch + retries.
    assert h.refinery.verifications == 5


async def test_a_good_batch_is_tested_once(harness):
    h = harness(batch_size=5)
    await h.run(*[h.branch(x, {f"{x}.txt": x}) for x in "pqrst"])
    assert h.log() == list("pqrst") and h.refinery.verifications == 1


async def test_verification_timeout_kills_the_command(harness):
    h = harness(verify="sleep 30")
    h.refinery.verify_timeout = 0.5
    await h.run(h.branch("slow", {"s.txt": "s\n"}))
    (_, outcome), = h.outcomes
    assert outcome.result == "verification-failed" and "timed out after 0.5s" in outcome.detail
    assert h.log() == []


async def test_accepting_some_hunks_merges_only_those(harness):
    from gastown.town.diff import bead_diff

    h = harness()
    lines = [f"line {i}\n" for i in range(30)]
    base = commit_branch(h.repo, "base", {"long.txt": "".join(lines)})
    git(h.repo, "update-ref", "refs/heads/gastown/integration", base)
    changed = list(lines)
    changed[2], changed[27] = "line 2 — kept\n", "line 27 — dropped\n"
    mr = h.branch("part", {"long.txt": "".join(changed)}, needs_review=True)
    await h.run(mr, expect=0)
    await asyncio.sleep(0)
    first, second = bead_diff(h.worktrees.repo, "gastown/integration", "part").files[0].hunks
    assert "kept" in "".join(first.lines) and "dropped" in "".join(second.lines)

    h.settled.clear()
    h.expected = 1
    kept, dropped = await h.refinery.accept_hunks("part", {first.id})
    await asyncio.wait_for(h.settled.wait(), 30)
    assert (kept, dropped) == ([first.id], [second.id])
    assert h.outcomes[-1][1].result == "merged" and h.refinery.verifications == 2  # a new tree: tested again
    merged = git(h.repo, "show", "gastown/integration:long.txt")
    assert "line 2 — kept" in merged and "line 27 — dropped" not in merged and "line 27\n" in merged
    assert "Partly accepted by the Overseer: 1 of 2 hunks" in git(h.repo, "log", "-1", "gastown/integration")
    with pytest.raises(KeyError):
        await h.refinery.accept_hunks("part", {first.id})  # merged: no longer in the queue
