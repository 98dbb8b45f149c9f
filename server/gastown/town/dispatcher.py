"""The dispatcher: runs one goal's beads. Claims ready beads (highest priority first) up to maxPolecats,
starts a polecat for each, hands finished branches to the Refinery, and sends failures back."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gastown.ledger.model import Bead, Status, now_iso
from gastown.town.bus import GoalFinished, Progress
from gastown.town.polecat import Polecat, PolecatResult, polecat_name

if TYPE_CHECKING:
    from gastown.town.town import Town

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # polecat runs per bead before it is marked blocked for the Overseer


@dataclass
class GoalReport:
    goal_id: str
    epic_id: str
    beads: int
    closed: int
    merged: int
    blocked: list[str]
    tests_passed: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.closed == self.beads and self.tests_passed


def _pct(done: int, total: int) -> int:
    return 5 + int(90 * done / total) if total else 5


class Dispatcher:
    def __init__(self, town: Town) -> None:
        self.town = town
        self.board = town.board

    @property
    def store(self):
        assert self.town.store is not None, "the town is not open"
        return self.town.store

    def progress(self, goal_id: str, message: str, percentage: int | None = None) -> None:
        log.info("%s", message)
        self.town.bus.publish(Progress(goal_id=goal_id, message=message, percentage=percentage))

    async def run_goal(self, epic_id: str, goal_id: str) -> GoalReport:
        store = self.store
        started = time.monotonic()
        running: dict[asyncio.Task, str] = {}
        attempts: dict[str, int] = {}
        merged = 0
        try:
            while True:
                children = await store.list(parent=epic_id)
                total = len(children)
                closed = sum(1 for b in children if b.status in Status.DONE)
                if closed == total and not running:
                    break
                for bead in await store.ready(parent=epic_id):
                    if len(running) >= self.town.settings.max_polecats:
                        break
                    if attempts.get(bead.id, 0) >= MAX_ATTEMPTS or bead.id in running.values():
                        continue
                    claimed = await store.claim(bead.id, polecat_name(bead.id), actor="mayor")
                    if claimed is None:
                        continue  # someone else won the claim
                    attempts[bead.id] = attempts.get(bead.id, 0) + 1
                    self.progress(goal_id, f"Polecat {polecat_name(bead.id)} took {bead.id} “{bead.title}”",
                                  _pct(closed, total))
                    running[self.town.spawn(self.work(claimed, goal_id, attempts[bead.id]))] = bead.id
                if not running:
                    break  # nothing ready and nothing running: the rest is blocked
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    running.pop(task)
                    if task.result():
                        merged += 1
        finally:
            for task in running:
                task.cancel()
        children = await store.list(parent=epic_id)
        closed_beads = [b for b in children if b.status in Status.DONE]
        blocked = [b.id for b in children if b.status not in Status.DONE]
        if not blocked:
            await store.close_bead(epic_id, reason="all beads merged", actor="refinery")
        final = await self.town.verify_integration()
        report = GoalReport(goal_id, epic_id, len(children), len(closed_beads), merged, blocked, final,
                            time.monotonic() - started)
        summary = (f"{report.closed}/{report.beads} beads closed, {merged} merged into "
                   f"{self.town.worktrees.integration}, verification {'passed' if final else 'FAILED'}"
                   + (f"; not done: {', '.join(blocked)}" if blocked else ""))
        self.progress(goal_id, summary, 100)
        self.town.bus.publish(GoalFinished(goal_id=goal_id, ok=report.ok, summary=summary))
        return report

    async def run_polecat(self, bead: Bead, feedback: str | None = None) -> PolecatResult:
        """The one place a polecat is started for a claimed bead (``feedback`` = rework)."""
        name = polecat_name(bead.id)
        polecat = Polecat(bead, self.town.runtime(), self.town.worktrees,
                          turn_timeout=self.town.settings.turn_timeout_s, on_event=self.board.listener(name, bead.id))
        self.board.update(name, state="working")
        return await polecat.run(feedback)

    async def work(self, bead: Bead, goal_id: str, attempt: int) -> bool:
        """One polecat run and its trip through the Refinery. True when merged."""
        store = self.store
        name = polecat_name(bead.id)
        self.board.update(name, role="polecat", state="starting", bead_id=bead.id, branch=f"polecat/{bead.id}",
                          tokens=0, current_tool=None, detail=None, started_at=now_iso())
        try:
            result = await self.run_polecat(bead)
        except asyncio.CancelledError:
            self.board.update(name, state="failed", detail="cancelled")
            raise
        except Exception as exc:  # the bead must not be lost: back to open, or blocked after retries
            log.exception("polecat %s failed", name)
            self.board.update(name, state="failed", detail=str(exc))
            await self.send_back(bead, attempt, f"Polecat {name} failed: {exc}")
            return False
        if result.blocked:
            self.board.update(name, state="failed", detail=result.blocked)
            await store.add_comment(bead.id, name, f"Blocked: {result.blocked}")
            await store.update(bead.id, status=Status.BLOCKED, actor=name)
            return False
        if result.commit is None:
            self.board.update(name, state="failed", detail="no changes")
            await self.send_back(bead, attempt, f"Polecat {name} finished without changing any file.")
            return False
        await store.update(bead.id, status=Status.REVIEW, actor=name,
                           notes=f"{result.summary}\nbranch {result.branch} at {result.commit[:10]}")
        self.board.update(name, state="merging", current_tool=None, worktree=None)
        self.progress(goal_id, f"Refinery: verifying {result.branch} ({', '.join(result.files)})")
        outcome = await self.town.refinery.merge(result.branch)
        if outcome.merged:
            await store.close_bead(bead.id, reason=f"merged {outcome.sha[:10]} into "
                                   f"{self.town.worktrees.integration}", actor="refinery")
            self.board.update(name, state="done", detail=result.summary)
            self.progress(goal_id, f"Refinery: merged {bead.id} “{bead.title}”")
            return True
        self.board.update(name, state="failed", detail=outcome.reason)
        await self.send_back(bead, attempt, f"Refinery: {outcome.reason} for {result.branch}:\n{outcome.log_tail}")
        return False

    async def send_back(self, bead: Bead, attempt: int, why: str) -> None:
        await self.store.add_comment(bead.id, "refinery", why)
        status = Status.OPEN if attempt < MAX_ATTEMPTS else Status.BLOCKED
        await self.store.update(bead.id, status=status, assignee=None, actor="refinery")
