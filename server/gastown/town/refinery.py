"""The Refinery: one merge queue per town. In its own worktree (never the user's working tree) it rebases each
finished branch onto the integration head, runs the verification command with a timeout, and moves the
integration branch forward by compare-and-set, in queue order (dependencies, priority, completion time).

- auto-merge on: a verified branch merges at once; off: it waits for ``accept`` (the Overseer's review).
- batch mode (``batch_size`` > 1): several branches are rebased into one chain, verified once, and merged
  together; when the chain fails, it is bisected until the failing branch is found; the others merge.
- a conflict or a failed verification is reported through ``on_outcome`` (the dispatcher turns it into
  rework); nothing is ever forced.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown.errors import GastownError
from gastown.runtime.sandbox import Sandbox
from gastown.telemetry import NO_SPAN, NO_TRACER, Span, Tracer, bead_key
from gastown.town import orphans
from gastown.town.bus import Bus, MergeOutcome, MergeQueueState, QueueEntry
from gastown.town.checkouts import REFINERY_SLOT, Worktrees
from gastown.town.queue import AWAITING_REVIEW, MERGING, QUEUED, VERIFYING, MergeRequest, merge_order
from gastown.vcs import GitError, git, git_text
from gastown.vcs.names import REFINERY_IDENTITY, bead_of_branch
from gastown.vcs.repo import is_ancestor, update_refs

log = logging.getLogger(__name__)


@dataclass
class VerifyResult:
    ok: bool
    output: str
    seconds: float = 0.0


async def run_verification(command: str, cwd: Path, timeout: float, groups: Path | None = None,
                           sandbox: Sandbox | None = None) -> VerifyResult:
    """Run the verification command in its own process group so a timeout kills all of it. ``groups``: where
    the running group is remembered (orphans.py), so a town killed meanwhile has it ended on the next open.
    ``sandbox``: it runs polecats' code, so only ``cwd`` (its .git excepted) and a private /tmp are writable."""
    started = time.monotonic()
    argv = ["/bin/sh", "-c", command]
    if sandbox is not None:
        argv = sandbox.confine_command(argv, cwd)
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    orphans.remember(groups, proc.pid)
    try:
        return await _wait_verification(proc, command, timeout, started)
    finally:
        orphans.forget(groups, proc.pid)


async def _wait_verification(proc: asyncio.subprocess.Process, command: str, timeout: float,
                             started: float) -> VerifyResult:
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        return VerifyResult(False, f"verification timed out after {timeout:g}s: {command}",
                            time.monotonic() - started)
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        await proc.wait()
        raise
    return VerifyResult(proc.returncode == 0, out.decode(errors="replace"), time.monotonic() - started)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


CONFLICT_LINES = 120


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass
class Outcome:
    """What happened to one merge request (handed to ``on_outcome``)."""

    result: str  # merged | conflict | verification-failed | awaiting-review
    sha: str | None = None
    detail: str = ""  # conflict: files + hunks; verification: the log tail
    files: tuple[str, ...] = ()
    batch_size: int = 1


OnOutcome = Callable[[MergeRequest, Outcome], Awaitable[None]]


class Refinery:
    def __init__(self, worktrees: Worktrees, verify_command: str, verify_timeout: float, *,
                 bus: Bus | None = None, batch_size: int = 1, batch_window: float = 0.0,
                 groups: Path | None = None, sandbox: Callable[[], Awaitable[Sandbox | None]] | None = None,
                 tracer: Tracer = NO_TRACER) -> None:
        self.worktrees = worktrees
        self.tracer = tracer
        self._spans: dict[str, Span] = {}  # bead id -> its merge span while it is being landed
        self.groups = groups  # where running verification process groups are remembered (orphans.py)
        self._sandbox = sandbox  # the town's polecats.sandbox: verification runs polecats' code
        self.verify_command = verify_command
        self.verify_timeout = verify_timeout
        self.bus = bus
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.path = worktrees.root / REFINERY_SLOT
        self.queue: list[MergeRequest] = []
        self.merged: set[str] = set()
        self.verified_head: str | None = None  # the last integration head known to pass verification
        self.verifications = 0  # verification runs (batches test once; bisecting adds runs)
        self.head: str | None = None  # the integration head as last read or moved by the Refinery
        self._lock = asyncio.Lock()  # one worktree, one operation at a time
        self._wake = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._seq = 0
        self._spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]] = asyncio.ensure_future
        self._on_outcome: OnOutcome | None = None
        self._is_done: Callable[[str], bool] = lambda _bead_id: False
        self._more_coming: Callable[[], bool] = lambda: False
        self._fetch: Callable[[list[str]], Awaitable[None]] | None = None
        self._worktree_ready = False

    def attach(self, *, spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]] | None = None,
               on_outcome: OnOutcome | None = None, is_done: Callable[[str], bool] | None = None,
               more_coming: Callable[[], bool] | None = None,
               fetch: Callable[[list[str]], Awaitable[None]] | None = None) -> None:
        """Wire the queue to its owner: task spawning, outcome handling, ledger state, pending work, and
        ``fetch`` (bead ids → their branches brought home first: work done on runtime hosts)."""
        if spawn is not None:
            self._spawn = spawn
        if on_outcome is not None:
            self._on_outcome = on_outcome
        if is_done is not None:
            self._is_done = is_done
        if more_coming is not None:
            self._more_coming = more_coming
        if fetch is not None:
            self._fetch = fetch

    # --- the queue -----------------------------------------------------------------------------------
    def enqueue(self, mr: MergeRequest) -> None:
        self.queue = [m for m in self.queue if m.bead_id != mr.bead_id]
        self._seq += 1
        mr.seq = self._seq
        mr.state = QUEUED
        self.queue.append(mr)
        self._publish_state()
        self.poke()

    def get(self, bead_id: str) -> MergeRequest | None:
        return next((m for m in self.queue if m.bead_id == bead_id), None)

    def has(self, bead_id: str) -> bool:
        return self.get(bead_id) is not None

    def accept(self, bead_id: str) -> MergeRequest:
        """The Overseer accepted the bead's diff: it merges once verified (at once if it already is)."""
        mr = self.get(bead_id)
        if mr is None:
            raise KeyError(bead_id)
        mr.accepted = True
        if mr.state == AWAITING_REVIEW:
            mr.state = QUEUED
        self._publish_state()
        self.poke()
        return mr

    async def accept_hunks(self, bead_id: str, hunk_ids: set[str], then_rework: str | None = None
                           ) -> tuple[list[str], list[str]]:
        """The Overseer accepted only some hunks (hunk ids as `town.diff` computes them): the entry is
        replaced by a commit with just those hunks on the branch's base, which then merges like any accepted
        branch (verified again: it is a different tree). ``then_rework``: the rest was rejected with this
        comment, and the owner sends the bead back once the accepted part merged. Returns (kept, dropped)."""
        mr = self.get(bead_id)
        if mr is None:
            raise KeyError(bead_id)
        if mr.state in (VERIFYING, MERGING):
            raise RuntimeError(f"{bead_id} is being {mr.state.replace('ing', 'ed')} right now; try again")
        async with self._lock:
            sha, kept, dropped = await asyncio.to_thread(self._partial_commit, mr, hunk_ids)
        mr.commit, mr.verified_tree, mr.then_rework = sha, None, then_rework
        self.accept(bead_id)
        return kept, dropped

    def remove(self, bead_id: str) -> MergeRequest | None:
        """Take a bead out of the queue (rejected); refused while the Refinery is working on it."""
        mr = self.get(bead_id)
        if mr is None:
            return None
        if mr.state in (VERIFYING, MERGING):
            raise RuntimeError(f"{bead_id} is being {mr.state.replace('ing', 'ed')} right now; try again")
        self.queue.remove(mr)
        self._publish_state()
        return mr

    def poke(self) -> None:
        """Something changed (new entry, acceptance, a bead closed): look at the queue again."""
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = self._spawn(self._run())

    def snapshot(self) -> MergeQueueState:
        order = merge_order(self.queue, self._done)
        rest = [m for m in self.queue if m not in order]
        return MergeQueueState(integration_head=self.head or "", entries=[
            QueueEntry(bead_id=m.bead_id, branch=m.branch, state=m.state, priority=m.priority, accepted=m.accepted)
            for m in [*order, *rest]])

    def _publish_state(self) -> None:
        if self.bus is not None:
            self.bus.publish(self.snapshot())

    def _done(self, bead_id: str) -> bool:
        return bead_id in self.merged or self._is_done(bead_id)

    # --- the loop ------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            self._wake.clear()
            work = self._next()
            if work is None:
                if not self.queue:
                    return
                # Entries wait for a dependency or a review: sleep until poked (or re-check the ledger).
                try:
                    await asyncio.wait_for(self._wake.wait(), 2.0)
                except TimeoutError:
                    pass
                continue
            kind, batch = work
            if kind == "merge" and len(batch) < self.batch_size and self._more_coming():
                # Batch mode: wait (bounded) for the running polecats to deliver, then test once.
                deadline = time.monotonic() + self.batch_window
                while self._more_coming() and time.monotonic() < deadline:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), max(0.05, deadline - time.monotonic()))
                    except TimeoutError:
                        break
                    work = self._next()
                    if work is None or len(work[1]) >= self.batch_size:
                        break
                if work is None:
                    continue
                kind, batch = work
            try:
                if kind == "check":
                    await self._check(batch[0])
                else:
                    await self._land(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("refinery failed on %s", [m.bead_id for m in batch])
                for mr in batch:
                    if mr in self.queue:
                        await self._settle(mr, Outcome("verification-failed", detail="the Refinery failed: see the log"))
            self._publish_state()

    def _next(self) -> tuple[str, list[MergeRequest]] | None:
        order = [m for m in merge_order(self.queue, self._done) if m.state == QUEUED]
        for mr in order:
            if not mr.mergeable:
                return "check", [mr]
        ready = [m for m in order if m.mergeable]
        if not ready:
            return None
        return "merge", ready[: self.batch_size]

    async def _settle(self, mr: MergeRequest, outcome: Outcome) -> None:
        """Report a final outcome, then drop the entry: while the owner updates the ledger the bead still
        shows as in the queue, so nobody takes it for finished or abandoned in between."""
        span = self._spans.pop(mr.bead_id, None)
        if span is not None:
            span.end(None if outcome.result == "merged" else outcome.result, {
                "gastown.merge.result": outcome.result, "gastown.merge.sha": outcome.sha,
                "gastown.merge.batch_size": outcome.batch_size, "gastown.merge.files": list(outcome.files) or None})
        try:
            await self._report(mr, outcome)
        finally:
            if mr in self.queue:
                self.queue.remove(mr)

    async def _report(self, mr: MergeRequest, outcome: Outcome) -> None:
        if outcome.result == "merged":
            self.merged.add(mr.bead_id)
        if self.bus is not None:
            self.bus.publish(MergeOutcome(bead_id=mr.bead_id, result=outcome.result, sha=outcome.sha,
                                          detail=outcome.detail, batch_size=outcome.batch_size))
        if self._on_outcome is not None:
            try:
                await self._on_outcome(mr, outcome)
            except Exception:
                log.exception("merge outcome handler failed for %s", mr.bead_id)

    # --- one review check: verify before the Overseer looks ------------------------------------------
    async def _check(self, mr: MergeRequest) -> None:
        async with self._lock:
            mr.state = VERIFYING
            self._publish_state()
            if self._fetch is not None:
                await self._fetch([mr.bead_id])
            head = await asyncio.to_thread(self._head)
            tip, applied, conflicts = await asyncio.to_thread(self._chain, [mr], head)
            if conflicts:
                await self._settle(mr, conflicts[0][1])
                return
            verify = await self._verify(tip, self.tracer.get(bead_key(mr.bead_id)), [mr.bead_id], "review")
            if not verify.ok:
                await self._settle(mr, Outcome("verification-failed", tip, tail(verify.output)))
                return
            mr.verified_tree = await asyncio.to_thread(self._tree, tip)
            if mr.accepted:  # accepted while it was being verified
                mr.state = QUEUED
                self.poke()
                return
            mr.state = AWAITING_REVIEW
        await self._report(mr, Outcome("awaiting-review", tip, tail(verify.output, 5)))

    # --- merging: a chain of one or more branches, bisected on failure -------------------------------
    async def _land(self, batch: list[MergeRequest]) -> None:
        async with self._lock:
            for mr in batch:
                mr.state = MERGING
                self._spans[mr.bead_id] = self.tracer.start("refinery.merge", self.tracer.get(bead_key(mr.bead_id)), {
                    "gastown.bead.id": mr.bead_id, "gastown.merge.branch": mr.branch,
                    "gastown.merge.batch": [m.bead_id for m in batch]})
            self._publish_state()
            if self._fetch is not None:
                await self._fetch([mr.bead_id for mr in batch])
            failed: str | None = None
            try:
                await self._land_locked(batch, len(batch))
            except BaseException as exc:
                failed = f"the Refinery failed: {exc}"
                raise
            finally:
                for mr in batch:  # not settled: nothing left to apply (already merged), or a failure
                    span = self._spans.pop(mr.bead_id, None)
                    if span is not None:
                        span.end(failed, {"gastown.merge.result": "failed" if failed else "nothing to merge"})

    async def _land_locked(self, batch: list[MergeRequest], size: int) -> None:
        head = await asyncio.to_thread(self._head)
        tip, applied, conflicts = await asyncio.to_thread(self._chain, batch, head)
        for mr, outcome in conflicts:
            outcome.batch_size = size
            await self._settle(mr, outcome)
        if not applied:
            return
        skip = (len(applied) == 1 and applied[0][0].verified_tree is not None
                and applied[0][0].verified_tree == await asyncio.to_thread(self._tree, tip))
        beads = [mr.bead_id for mr, _ in applied]
        verify = (VerifyResult(True, "verified before review (same tree)") if skip
                  else await self._verify(tip, self._spans.get(beads[0], NO_SPAN), beads, "merge"))
        if verify.ok:
            moved = await asyncio.to_thread(self._advance, head, tip, applied)
            if not moved:  # the integration branch moved under us: try again from its new head
                await self._land_locked([mr for mr, _ in applied], size)
                return
            self.verified_head = tip
            for mr, sha in applied:
                await self._settle(mr, Outcome("merged", sha, tail(verify.output, 5), batch_size=size))
            return
        if len(applied) == 1:
            mr, sha = applied[0]
            await self._settle(mr, Outcome("verification-failed", sha, tail(verify.output), batch_size=size))
            return
        # Bisect: the first half on the current head, then the rest on whatever head that leaves.
        mrs = [mr for mr, _ in applied]
        mid = len(mrs) // 2
        log.info("refinery: batch of %d failed verification; bisecting", len(mrs))
        await self._land_locked(mrs[:mid], size)
        await self._land_locked(mrs[mid:], size)

    async def _verify(self, tip: str, parent: Span = NO_SPAN, beads: list[str] | None = None,
                      scope: str = "integration") -> VerifyResult:
        """Verify ``tip``; traced as a child of ``parent`` (a batch's span is its first bead's merge; the
        integration head's verification is traced by whoever asks for it)."""
        if not parent.recording:
            return await self._verify_untraced(tip)
        span = self.tracer.start("refinery.verify", parent, {"gastown.verify.scope": scope, "gastown.verify.tip": tip,
                                                             "gastown.merge.batch": beads})
        result = await self._verify_untraced(tip)
        span.end(None if result.ok else "verification failed", {"gastown.verify.ok": result.ok,
                                                                  "gastown.verify.seconds": round(result.seconds, 3)})
        return result

    async def _verify_untraced(self, tip: str) -> VerifyResult:
        await asyncio.to_thread(self._prepare, tip)
        try:
            sandbox = await self._sandbox() if self._sandbox is not None else None
        except GastownError as exc:  # `required` without bubblewrap: polecats' code is not run unconfined
            return VerifyResult(False, f"not verified: {exc}")
        self.verifications += 1
        return await run_verification(self.verify_command, self.path, self.verify_timeout, self.groups, sandbox)

    # --- git (blocking; run in a thread) --------------------------------------------------------------
    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return git_text(args, self.path, env=env)

    def _ensure_worktree(self) -> None:
        if self._worktree_ready and (self.path / ".git").exists():
            return
        if not (self.path / ".git").exists():
            self.worktrees.root.mkdir(parents=True, exist_ok=True)
            with self.worktrees.admin_lock:  # git races when worktrees are added at the same time
                workdir = self.worktrees.workdir
                git(["worktree", "prune"], workdir)
                git(["worktree", "add", "--detach", str(self.path), self.worktrees.integration], workdir)
        self._worktree_ready = True

    def _head(self) -> str:
        """The integration head, as git has it now."""
        self.head = self.worktrees.integration_head()
        return self.head

    def _tree(self, commit: str) -> str:
        return self._git("rev-parse", f"{commit}^{{tree}}").strip()

    def _prepare(self, tip: str) -> None:
        """The worktree at ``tip``, with nothing left over from an earlier run."""
        self._ensure_worktree()
        if self._git("rev-parse", "HEAD").strip() != tip:
            self._git("checkout", "--force", "--quiet", "--detach", tip)
        self._git("clean", "-ffdq")

    def _chain(self, batch: list[MergeRequest], onto: str
               ) -> tuple[str, list[tuple[MergeRequest, str]], list[tuple[MergeRequest, Outcome]]]:
        """Rebase each branch onto the tip left by the one before; conflicting ones are left out."""
        self._ensure_worktree()
        tip = onto
        applied: list[tuple[MergeRequest, str]] = []
        conflicts: list[tuple[MergeRequest, Outcome]] = []
        for mr in batch:
            if is_ancestor(self.path, tip, mr.commit):  # already on the tip: a fast-forward, nothing to rebase
                tip = mr.commit
                applied.append((mr, tip))
                continue
            self._git("checkout", "--force", "--quiet", "--detach", mr.commit)
            try:
                self._git("rebase", "--quiet", tip, env=REFINERY_IDENTITY)
            except GitError as exc:
                conflicts.append((mr, self._conflict(mr, tip, exc)))
                continue
            new = self._git("rev-parse", "HEAD").strip()
            if new == mr.commit or self._is_ancestor(new, tip):
                continue  # nothing left to apply: already merged
            tip = new
            applied.append((mr, tip))
        return tip, applied, conflicts

    def _partial_commit(self, mr: MergeRequest, hunk_ids: set[str]) -> tuple[str, list[str], list[str]]:
        from gastown.town.diff import branch_diff, partial_patch

        files = branch_diff(self.worktrees.repo, self.worktrees.integration, mr.commit)
        every = [h.id for f in files for h in f.hunks]
        unknown = sorted(hunk_ids - set(every))
        if unknown:
            raise ValueError(f"not hunks of {mr.branch}: {', '.join(unknown)}")
        patch = partial_patch(files, hunk_ids)
        if not patch.strip():
            raise ValueError("no hunk was accepted")
        base = git_text(["merge-base", self.worktrees.integration, mr.commit], self.worktrees.workdir)
        self._ensure_worktree()
        self._git("checkout", "--force", "--quiet", "--detach", base)
        self._git("clean", "-ffdq")
        applied = git(["apply", "--index", "--whitespace=nowarn"], self.path, input=patch.encode(), check=False)
        if applied.returncode != 0:
            raise ValueError(f"the accepted hunks do not apply on their own: {applied.stderr.decode().strip()}")
        kept = [h for h in every if h in hunk_ids]
        dropped = [h for h in every if h not in hunk_ids]
        author = self._git("log", "-1", "--format=%an%n%ae", mr.commit).splitlines()
        subject = self._git("log", "-1", "--format=%s", mr.commit).strip()
        message = (f"{subject}\n\nPartly accepted by the Overseer: {len(kept)} of {len(every)} hunks.\n\n"
                   f"Bead: {mr.bead_id}")
        self._git("commit", "-q", "--no-verify", "-m", message,
                  env={**REFINERY_IDENTITY, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]})
        return self._git("rev-parse", "HEAD").strip(), kept, dropped

    def _is_ancestor(self, a: str, b: str) -> bool:
        return is_ancestor(self.path, a, b)

    def _conflict(self, mr: MergeRequest, onto: str, exc: GitError) -> Outcome:
        """The conflicting files and hunks (with markers) for the polecat; then the rebase is undone."""
        files: list[str] = []
        hunks = ""
        try:
            files = [f for f in self._git("diff", "--name-only", "--diff-filter=U").splitlines() if f]
            hunks = self._git("diff", "--no-color")
        except GitError:
            pass
        try:
            self._git("rebase", "--abort")
        except GitError:
            pass
        lines = hunks.splitlines()
        if len(lines) > CONFLICT_LINES:
            lines = [*lines[:CONFLICT_LINES], f"… ({len(lines) - CONFLICT_LINES} more lines)"]
        where = ", ".join(files) or "(git did not name the files)"
        detail = (f"{mr.branch} conflicts with {self.worktrees.integration} (now at {onto[:10]}) in: {where}.\n"
                  "Redo the change on top of the current integration branch, keeping what was merged there.\n"
                  + ("Conflicting hunks (ours = the integration branch, theirs = your commit):\n"
                     + "\n".join(lines) if lines else tail(str(exc), 10)))
        return Outcome("conflict", None, detail, tuple(files))

    def _advance(self, old: str, tip: str, applied: list[tuple[MergeRequest, str]]) -> bool:
        """Compare-and-set the integration branch from ``old`` to ``tip`` (and point each polecat branch at
        its merged commit), in one ref transaction."""
        lines = [f"update refs/heads/{self.worktrees.integration} {tip} {old}"]
        # A branch still checked out in a worktree (parked) is left alone: moving it would desync that tree.
        busy = self._checked_out()
        lines += [f"update refs/heads/{mr.branch} {sha}" for mr, sha in applied
                  if bead_of_branch(mr.branch) and mr.branch not in busy]
        try:
            update_refs(self.worktrees.workdir, lines)
        except GitError as exc:
            log.warning("refinery: integration branch moved during the merge: %s", exc)
            return False
        self.head = tip
        return True

    def _checked_out(self) -> set[str]:
        return self.worktrees.checked_out_branches()

    # --- the integration head as a whole -------------------------------------------------------------
    async def verify_head(self) -> VerifyResult:
        """Verify the integration head (skipped when the queue already verified exactly this commit)."""
        async with self._lock:
            head = await asyncio.to_thread(self._head)
            if head == self.verified_head:
                return VerifyResult(True, "verified when merged")
            result = await self._verify(head)
            if result.ok:
                self.verified_head = head
            return result
