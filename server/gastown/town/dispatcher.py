"""The dispatcher: one loop per town over every goal being run. It claims ready beads (highest priority
first, compare-and-set) up to ``maxPolecats``, holding back or serializing those whose files overlap a bead in
flight (the conflict radar), starts a polecat for each, hands finished branches to the Refinery's queue, and
turns the Refinery's verdicts into ledger changes: merged → closed; conflict, failed verification or a
rejected review → rework (the bead goes back to its polecat with the feedback), bounded, then blocked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gastown.config import Settings
from gastown.errors import GastownError
from gastown.ledger.model import Bead, BeadNotFound, DepType, LedgerChange, Status, now_iso
from gastown.telemetry import NO_TRACER, Tracer, bead_key, goal_key
from gastown.town.agents import AgentBoard
from gastown.town.bus import (
    AgentEventRecord,
    Bus,
    GoalFinished,
    HumanStepReady,
    RadarOverlap,
    ReviewState,
    publish_progress,
)
from gastown.town.mayor import DRAFT
from gastown.town.plan import is_human
from gastown.town.polecat import Polecat, PolecatResult, polecat_name
from gastown.town.queue import MergeRequest
from gastown.town.radar import ConflictRadar, overlap
from gastown.town.records import PolecatBusy
from gastown.town.refinery import Outcome, Refinery, tail
from gastown.town.witness import Witness
from gastown.vcs.names import polecat_branch

if TYPE_CHECKING:
    from gastown.ledger.store import Store
    from gastown.town.checkouts import Worktrees
    from gastown.town.hosts import HostPool, Placement
    from gastown.town.review import Reviewer, ReviewVerdict

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # polecat runs that end in an error, per bead, before it is blocked for the Overseer
# A file a polecat wrote in a host's checkout, relative to it (for the report when the host is lost).
_IN_CHECKOUT = re.compile(r"/wt-\d+/(.+)$")


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
    discovered: list[str] = field(default_factory=list)  # beads polecats filed during the goal (bead_create)
    held: list[str] = field(default_factory=list)  # discovered beads waiting for the Overseer (not counted)

    @property
    def ok(self) -> bool:
        return self.closed == self.beads and self.tests_passed


@dataclass
class GoalRun:
    goal_id: str
    epic_id: str
    started: float = field(default_factory=time.monotonic)
    merged: int = 0
    done: asyncio.Future[GoalReport] | None = None


def _pct(done: int, total: int) -> int:
    return 5 + int(90 * done / total) if total else 5


def is_discovered(bead: Bead) -> bool:
    return "discovered" in (bead.labels or [])


def is_held(bead: Bead) -> bool:
    """Discovered work held for the Overseer: deferred until it is dispatched on request."""
    return bead.status == Status.DEFERRED and is_discovered(bead)


def declared_files(bead: Bead) -> list[str]:
    files = (bead.metadata or {}).get("files") or []
    return [f for f in files if isinstance(f, str)]


class Dispatcher:
    """Collaborators are handed in one by one (nothing reaches back into the town): the ledger (``store``,
    a getter because it opens after construction), the agent ``board``, the ``bus`` it publishes progress on,
    the ``refinery`` and ``witness``, the ``worktrees``, the ``settings``, and callables for what the town
    owns: ``new_polecat`` (a polecat wired to the runtime, run records and seats), ``new_reviewer``,
    ``spawn`` (a task the town cancels on close), ``land`` and ``verify`` (the integration branch); the
    ``tracer`` (goal and bead spans; a no-op when telemetry is off); and the runtime ``hosts`` (None: every
    polecat runs here) that place each polecat on a local or a host slot."""

    def __init__(self, *, store: Callable[[], Store | None], board: AgentBoard, bus: Bus, refinery: Refinery,
                 witness: Witness, worktrees: Worktrees, settings: Settings, workspace: Path,
                 new_polecat: Callable[[Bead, Placement | None], Polecat], new_reviewer: Callable[[], Reviewer],
                 spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]], land: Callable[[], Awaitable[str]],
                 verify: Callable[[], Awaitable[bool]],
                 preflight: Callable[[str], Awaitable[None]] | None = None, tracer: Tracer = NO_TRACER,
                 land_goal: Callable[[str], Awaitable[str]] | None = None,
                 hosts: HostPool | None = None) -> None:
        self._store = store
        self.tracer = tracer
        self.board = board
        self.bus = bus
        self.refinery = refinery
        self.witness = witness
        self.worktrees = worktrees
        self.settings = settings
        self.workspace = workspace
        self._new_polecat = new_polecat
        self._new_reviewer = new_reviewer
        self._spawn = spawn
        self._land = land
        self._verify = verify
        self._land_goal = land_goal  # github.landing pr / pr-per-bead: a finished goal opens its pull request
        self._preflight = preflight  # before a wave is claimed: polecats can start (raises a GastownError)
        self.hosts = hosts
        self.lost: dict[str, str] = {}  # bead id -> why its host was lost (its polecat is being stopped)
        self.touched: dict[str, set[str]] = {}  # bead id -> files its polecat wrote on a host (this run)
        self.radar = ConflictRadar(worktrees.root)
        self.goals: dict[str, GoalRun] = {}  # epic id -> the goal being run
        self.running: dict[str, asyncio.Task[Any]] = {}  # bead id -> its polecat's task
        self.live: dict[str, Polecat] = {}  # bead id -> its running polecat (the Overseer talks to it)
        self.owner: dict[str, str] = {}  # bead id -> epic id
        self.runs: dict[str, int] = {}  # polecat runs per bead (first run + rework)
        self.errors: dict[str, int] = {}  # polecat runs that failed outright
        self.feedback: dict[str, str] = {}  # bead id -> what its next polecat run must fix
        self.held: dict[str, dict[str, list[str]]] = {}  # bead id -> overlapping bead -> files
        self._closed_ids: set[str] = set()  # beads seen closed (the Refinery's dependency check)
        self.told_human: set[str] = set()  # human steps the Overseer was told are theirs to do now
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[Any] | None = None
        self._reviewer: Reviewer | None = None
        bus.subscribe(self._on_bus)
        refinery.attach(spawn=spawn, on_outcome=self.on_outcome, more_coming=lambda: bool(self.running),
                        is_done=self._closed, fetch=hosts.fetch_branches if hosts is not None else None)

    @property
    def store(self) -> Store:
        store = self._store()
        assert store is not None, "the town is not open"
        return store

    def progress(self, goal_id: str, message: str, percentage: int | None = None) -> None:
        publish_progress(self.bus, goal_id, message, percentage)

    def _goal_of(self, bead_id: str) -> str:
        run = self.goals.get(self.owner.get(bead_id, ""))
        return run.goal_id if run else ""

    # --- signals ----------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def _closed(self, bead_id: str) -> bool:
        return bead_id in self._closed_ids

    def _on_bus(self, event: object) -> None:
        if isinstance(event, AgentEventRecord):
            self.radar.observe_event(event)
            if event.bead_id in self.touched and event.event.get("kind") == "tool_start":
                args = (event.event.get("detail") or {}).get("arguments") or {}
                path = args.get("path") if isinstance(args, dict) else None
                found = _IN_CHECKOUT.search(path) if isinstance(path, str) else None
                if found:
                    self.touched[event.bead_id].add(found.group(1))
        elif isinstance(event, LedgerChange):
            poke = False
            for bead in event.changed:
                if bead.status in Status.DONE:
                    self._closed_ids.add(bead.id)
                    poke = True
                else:
                    self._closed_ids.discard(bead.id)
                    poke = poke or bead.status == Status.OPEN
            if poke:
                self.wake()
                if self.refinery.queue:
                    self.refinery.poke()

    # --- goals ------------------------------------------------------------------------------------------
    async def run_goal(self, epic_id: str, goal_id: str) -> GoalReport:
        """Run one goal (an epic's beads) to its end; a draft plan first waits for ``approve``."""
        run = self.goals.get(epic_id)
        if run is None:
            # The goal's trace (opened by the planning, or now for a goal resumed or approved later).
            self.tracer.open(goal_key(goal_id), "goal", attributes={"gastown.goal.id": goal_id,
                                                                     "gastown.epic.id": epic_id})
            run = GoalRun(goal_id, epic_id, done=asyncio.get_running_loop().create_future())
            self.goals[epic_id] = run
            await self.requeue_reviews(epic_id)
        self.wake()
        self._ensure_loop()
        assert run.done is not None
        return await asyncio.shield(run.done)

    async def requeue_reviews(self, epic_id: str) -> list[str]:
        """After a restart the queue is empty but beads may sit in ``review``: queue their branches again (or
        close them when their work is already on the integration branch)."""
        found = []
        integration = self.worktrees.integration
        wts = self.worktrees
        for bead in await self.store.list(parent=epic_id, status=[Status.REVIEW]):
            if bead.id in self.running or self.refinery.has(bead.id):
                continue
            branch = polecat_branch(bead.id)
            try:
                tip = await asyncio.to_thread(wts.branch_tip, branch)
                if tip is None:
                    raise LookupError(branch)
                unmerged = await asyncio.to_thread(wts.unmerged_count, tip)
            except Exception:  # noqa: BLE001 - no branch: the work is gone, the bead must be redone
                await self._send_back(bead.id, f"Refinery: {branch} is missing after a restart; redo the bead.",
                                      None, give_up=False)
                continue
            if unmerged == 0:
                await self.store.close_bead(bead.id, reason=f"already merged into {integration}", actor="refinery")
                continue
            accepted = ((bead.metadata or {}).get("review") or {}).get("state") == "accepted"
            self.owner[bead.id] = epic_id
            await self._enqueue(bead, branch, tip, accepted=accepted)
            await self.store.add_comment(bead.id, "refinery", f"Re-queued {branch} at {tip[:10]} after a restart.")
            found.append(bead.id)
        return found

    def _ensure_loop(self) -> None:
        if self._loop is None or self._loop.done():
            self._loop = self._spawn(self._run())

    async def _run(self) -> None:
        try:
            while self.goals:
                self._wake.clear()
                await self._dispatch()
                await self._finish_goals()
                if not self.goals:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), 5.0)
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            for task in list(self.running.values()):
                task.cancel()
            raise
        except GastownError as exc:  # the set-up refuses polecats (e.g. polecats.sandbox): the Overseer fixes it
            log.warning("%s", exc)
            for run in list(self.goals.values()):
                self.progress(run.goal_id, str(exc), 100)
                self.bus.publish(GoalFinished(goal_id=run.goal_id, ok=False, summary=str(exc)))
                if run.done is not None and not run.done.done():
                    run.done.set_exception(exc)
            self.goals.clear()
        except Exception as exc:
            log.exception("dispatcher failed")
            for run in list(self.goals.values()):
                if run.done is not None and not run.done.done():
                    run.done.set_exception(exc)
            self.goals.clear()

    async def _ready(self) -> list[Bead]:
        """Ready beads of the goals being run, for polecats. A ready human step is the Overseer's: told once,
        never dispatched; it stays open (so the goal waits and what needs it stays blocked) until closed."""
        found: dict[str, Bead] = {}
        for epic_id in list(self.goals):
            for bead in await self.store.ready(parent=epic_id):
                if bead.issue_type == "epic":
                    continue
                self.owner[bead.id] = epic_id
                if is_human(bead):
                    self._tell_human(bead)
                    continue
                found[bead.id] = bead
        return sorted(found.values(), key=lambda b: (b.priority, b.created_at))

    def _tell_human(self, bead: Bead) -> None:
        if bead.id in self.told_human:
            return
        self.told_human.add(bead.id)
        goal_id = self._goal_of(bead.id)
        self.progress(goal_id, f"Waiting for you: {bead.id} “{bead.title}” is a human step — do it, then close "
                               "the bead")
        self.bus.publish(HumanStepReady(goal_id=goal_id, bead_id=bead.id, title=bead.title))

    async def _dispatch(self) -> None:
        ready = [b for b in await self._ready() if b.id not in self.running]
        if not ready:
            return
        mode = self.settings.conflict_radar
        if mode != "off" and self.running and any(self._candidate_files(b) for b in ready):
            await asyncio.to_thread(self.radar.refresh_from_git, list(self.running))
        wave: list[Bead] = []  # chosen in priority order, then claimed together
        for bead in ready:
            if len(self.running) + len(wave) >= self.capacity():
                break
            if not self.witness.may_dispatch(bead):
                continue  # a budget pause: the Overseer lifts it (Witness.resume_dispatch)
            overlaps = self._overlaps(bead, wave) if mode != "off" else {}
            if overlaps:
                if self.held.get(bead.id) != overlaps:
                    await self._hold(bead, overlaps, mode)
                continue
            if bead.id in self.held:
                del self.held[bead.id]
                self.bus.publish(RadarOverlap(bead_id=bead.id, held=False, mode=mode))
            wave.append(bead)
        if not wave:
            return
        if self._preflight is not None:
            await self._preflight(self._goal_of(wave[0].id))  # e.g. polecats.sandbox required, no bwrap
        for claimed in await self._claim(wave):  # someone else may have won some claims: skipped
            self.runs[claimed.id] = self.runs.get(claimed.id, 0) + 1
            feedback = self.feedback.pop(claimed.id, None)
            verb = "reworks" if feedback else "took"
            self.progress(self._goal_of(claimed.id),
                          f"Polecat {polecat_name(claimed.id)} {verb} {claimed.id} “{claimed.title}”")
            self.radar.declare(claimed.id, declared_files(claimed))
            self.tracer.open(bead_key(claimed.id), "bead", self.tracer.get(goal_key(self._goal_of(claimed.id))), {
                "gastown.bead.id": claimed.id, "gastown.bead.title": claimed.title,
                "gastown.bead.priority": claimed.priority, "gastown.epic.id": self.owner.get(claimed.id)})
            placement = self.hosts.place(claimed.id) if self.hosts is not None else None
            self.running[claimed.id] = self._spawn(self._work(claimed, feedback, placement))

    def capacity(self) -> int:
        """Polecats at once: ``maxPolecats`` here, or the local and the live hosts' slots."""
        return self.hosts.capacity() if self.hosts is not None else self.settings.max_polecats

    async def _claim(self, wave: list[Bead]) -> list[Bead]:
        """Claim a wave in ONE transaction, each bead compare-and-set for its own polecat (open and
        unassigned → in progress): a bead another town claimed first is left out, never taken twice."""
        claimed: list[Bead] = []
        async with self.store.batch(actor="mayor") as tx:
            for bead in wave:
                try:
                    got = await tx.claim(bead.id, polecat_name(bead.id), actor="mayor")
                except BeadNotFound:  # deleted since the ready query
                    continue
                if got is not None:
                    claimed.append(got)
        return claimed

    def _candidate_files(self, bead: Bead) -> set[str]:
        """What a bead that has not started yet will touch: declared, plus what an earlier attempt touched."""
        return set(declared_files(bead)) | self.radar.observed.get(bead.id, set())

    def _overlaps(self, bead: Bead, wave: Sequence[Bead] = ()) -> dict[str, list[str]]:
        """Beads in flight (and those already chosen for this wave) whose files overlap ``bead``'s."""
        active = set(self.running)
        if self.settings.conflict_radar == "serialize":  # also wait for what is finished but not merged yet
            active |= {m.bead_id for m in self.refinery.queue}
        mine = self._candidate_files(bead)
        found = self.radar.conflicts(bead.id, mine, active)
        for other in wave:  # not declared to the radar until claimed
            shared = overlap(mine, self._candidate_files(other)) if mine else []
            if shared:
                found[other.id] = shared
        return found

    async def _hold(self, bead: Bead, overlaps: dict[str, list[str]], mode: str) -> None:
        first = bead.id not in self.held
        self.held[bead.id] = overlaps
        self.bus.publish(RadarOverlap(bead_id=bead.id, held=True, mode=mode, overlaps=overlaps))
        what = "; ".join(f"{other}: {', '.join(files)}" for other, files in sorted(overlaps.items()))
        until = "it merges" if mode == "serialize" else "its polecat finishes"  # "it" = the overlapping bead
        self.progress(self._goal_of(bead.id), f"Conflict radar: holding {bead.id} back — overlaps {what}")
        if first:
            await self.store.add_comment(bead.id, "mayor", f"Conflict radar: held back until {until} "
                                         f"(overlapping files — {what})")

    async def _finish_goals(self) -> None:
        for run in list(self.goals.values()):
            epic = await self.store.get(run.epic_id)
            if epic.status == DRAFT:
                continue  # waits for the Overseer's approval
            children = await self.store.list(parent=run.epic_id)
            if any(c.id in self.running or self.refinery.has(c.id) for c in children):
                continue
            if not all(c.status in Status.DONE for c in children) and await self.store.ready(parent=run.epic_id):
                continue  # work left to dispatch (a free slot comes with the next wake)
            await self._finish(run, children)

    async def _finish(self, run: GoalRun, everything: list[Bead]) -> None:
        del self.goals[run.epic_id]
        held = [b.id for b in everything if is_held(b)]
        children = [b for b in everything if not is_held(b)]
        closed = [b for b in children if b.status in Status.DONE]
        blocked = [b.id for b in children if b.status not in Status.DONE]
        if not blocked and children and not held:
            await self.store.close_bead(run.epic_id, reason="all beads merged", actor="refinery")
        goal_span = self.tracer.get(goal_key(run.goal_id))
        for bead in children:  # beads still traced (not merged): ended with the state they are left in
            self.tracer.close(bead_key(bead.id), None if bead.status in Status.DONE else f"not done: {bead.status}",
                              {"gastown.bead.outcome": str(bead.status)})
        verifying = self.tracer.start("refinery.verify", goal_span, {"gastown.verify.scope": "integration",
                                                                     "gastown.goal.id": run.goal_id})
        final = await self._verify()
        verifying.end(None if final else "verification failed", {"gastown.verify.ok": final})
        discovered = [b.id for b in everything if is_discovered(b)]
        report = GoalReport(run.goal_id, run.epic_id, len(children), len(closed), run.merged, blocked, final,
                            time.monotonic() - run.started, discovered=discovered, held=held)
        summary = (f"{report.closed}/{report.beads} beads closed, {run.merged} merged into "
                   f"{self.worktrees.integration}, verification {'passed' if final else 'FAILED'}"
                   + (f"; not done: {', '.join(blocked)}" if blocked else "")
                   + (f"; {len(discovered)} discovered by polecats" if discovered else "")
                   + (f"; held for you to dispatch: {', '.join(held)}" if held else ""))
        self.progress(run.goal_id, summary, 100)
        if report.ok and self._land_goal is not None and self.settings.github.landing != "local":
            try:
                self.progress(run.goal_id, await self._land_goal(run.epic_id))
            except Exception as exc:  # noqa: BLE001 - the goal is done; the pull request is the Overseer's to fix
                self.progress(run.goal_id, f"Pull request not opened: {exc}")
        elif report.ok and self.settings.auto_land:
            try:
                landed = await self._land()
                self.progress(run.goal_id, f"Landed {self.worktrees.integration}:\n{landed}")
            except Exception as exc:  # noqa: BLE001 - landing is the Overseer's to fix; the goal is done
                self.progress(run.goal_id, f"Not landed: {exc}")
        self.bus.publish(GoalFinished(goal_id=run.goal_id, ok=report.ok, summary=summary))
        self.tracer.close(goal_key(run.goal_id), None if report.ok else summary, {
            "gastown.epic.id": run.epic_id, "gastown.goal.beads": report.beads, "gastown.goal.closed": report.closed,
            "gastown.goal.merged": report.merged, "gastown.goal.ok": report.ok,
            "gastown.goal.blocked": report.blocked or None})
        if run.done is not None and not run.done.done():
            run.done.set_result(report)

    # --- one polecat run --------------------------------------------------------------------------------
    async def _work(self, bead: Bead, feedback: str | None, placement: Placement | None = None) -> None:
        try:
            await self.work(bead, feedback, placement)
        finally:
            self.running.pop(bead.id, None)
            self.touched.pop(bead.id, None)
            if self.hosts is not None:
                self.hosts.done(bead.id)
            self.wake()
            if self.refinery.queue:
                self.refinery.poke()

    async def work(self, bead: Bead, feedback: str | None = None, placement: Placement | None = None) -> None:
        """One polecat run (on ``placement``, default this machine); a finished branch goes to the Refinery's
        queue."""
        store = self.store
        name = polecat_name(bead.id)
        goal_id = self._goal_of(bead.id)
        host = placement.host.name if placement is not None and placement.host is not None else None
        if host is not None:
            self.touched[bead.id] = set()
        self.board.update(name, role="polecat", state="starting", bead_id=bead.id, branch=polecat_branch(bead.id),
                          tokens=0, current_tool=None, detail=None, question=None, started_at=now_iso(), host=host)
        try:
            result = await self.run_polecat(bead, feedback=feedback, placement=placement)
        except asyncio.CancelledError:
            if bead.id in self.lost:  # stopped because its host was lost: requeued, like a crashed polecat
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                await self._requeue_lost(bead, name, host or "?", feedback)
                return
            self.board.update(name, state="failed", detail="cancelled")
            raise
        except PolecatBusy as busy:  # another process's polecat holds the bead: it is not ours to send back
            log.warning("%s", busy)
            self.board.update(name, state="failed", detail=f"another polecat is working on {bead.id}")
            return
        except Exception as exc:  # the bead must not be lost: back to open, or blocked after retries
            if bead.id in self.lost or (placement is not None and placement.lost):
                self.lost.setdefault(bead.id, placement.host.why if placement and placement.host else str(exc))
                await self._requeue_lost(bead, name, host or "?", feedback)
                return
            log.exception("polecat %s failed", name)
            self.board.update(name, state="failed", detail=str(exc))
            self.errors[bead.id] = self.errors.get(bead.id, 0) + 1
            await self._send_back(bead.id, f"Polecat {name} failed: {exc}", feedback,
                                  give_up=self.errors[bead.id] >= MAX_ATTEMPTS)
            return
        if getattr(result, "escalated", False):  # already blocked, commented and escalated by the polecat
            self.board.update(name, state="failed", detail=result.blocked)
            return
        if result.blocked:
            self.board.update(name, state="failed", detail=result.blocked)
            await store.add_comment(bead.id, name, f"Blocked: {result.blocked}")
            await store.update(bead.id, status=Status.BLOCKED, assignee=None, actor=name)
            return
        if result.commit is None:
            self.board.update(name, state="failed", detail="no changes")
            self.errors[bead.id] = self.errors.get(bead.id, 0) + 1
            await self._send_back(bead.id, f"Polecat {name} finished without changing any file.", feedback,
                                  give_up=self.errors[bead.id] >= MAX_ATTEMPTS)
            return
        self.radar.observe(bead.id, result.files)
        await store.update(bead.id, status=Status.REVIEW, actor=name,
                           notes=f"{result.summary}\nbranch {result.branch} at {result.commit[:10]}")
        if self.settings.review_agent:
            self.board.update(name, state="merging", current_tool=None, detail="reviewer reading the diff")
            verdict = await self.agent_review(bead, result)
            if verdict is not None and verdict.verdict == "request_changes" and self.settings.auto_merge:
                await self.rework(bead.id, f"Reviewer (score {verdict.score}/5) requested changes:\n"
                                  f"{verdict.comment}", verdict.comment)
                return
        self.board.update(name, state="merging", current_tool=None, worktree=None)
        self.progress(goal_id, f"Refinery: queued {result.branch} ({', '.join(result.files)})")
        await self._enqueue(bead, result.branch, result.commit, files=list(result.files))

    async def _enqueue(self, bead: Bead, branch: str, commit: str, *, files: list[str] | None = None,
                       accepted: bool = False) -> None:
        current = await self.store.get(bead.id)
        deps = set()
        for dep in current.dependencies or ():
            if dep.type in DepType.BLOCKING and (await self.store.get(dep.depends_on_id)).status not in Status.DONE:
                deps.add(dep.depends_on_id)
        self.refinery.enqueue(MergeRequest(
            bead_id=bead.id, branch=branch, commit=commit, priority=current.priority, title=current.title,
            files=files or [], deps=frozenset(deps), needs_review=not self.settings.auto_merge, accepted=accepted))

    async def run_polecat(self, bead: Bead, feedback: str | None = None,
                          placement: Placement | None = None) -> PolecatResult:
        """The one place a polecat is started for a claimed bead (``feedback`` = rework), here or on a host."""
        here = bead.id in self.live  # another polecat of this town works the bead: a busy record is real
        for attempt in (1, 2):
            polecat = self._new_polecat(bead, placement)
            polecat.attempt = self.runs.get(bead.id, 1)
            self.board.update(polecat.name, state="working")
            self.live[bead.id] = polecat
            try:
                return await polecat.run(feedback)
            except PolecatBusy as busy:
                if attempt == 2 or here or not await _end_own_stale_run(polecat, busy):
                    raise
            finally:
                if self.live.get(bead.id) is polecat:
                    del self.live[bead.id]
        raise AssertionError("unreachable")  # pragma: no cover - the second attempt returns or raises

    # --- runtime hosts ---------------------------------------------------------------------------------
    async def host_lost(self, host: str, why: str, bead_ids: set[str]) -> None:
        """A host stopped answering: each of its polecats is stopped and its bead requeued (elsewhere), as for
        a crashed polecat; what it had pushed is kept, what was only on the host is named in the bead."""
        tasks = []
        for bead_id in bead_ids:
            task = self.running.get(bead_id)
            if task is None or task.done():
                continue
            self.lost[bead_id] = f"host {host} stopped answering ({why})"
            task.cancel()
            tasks.append(task)
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        self.wake()

    async def _requeue_lost(self, bead: Bead, name: str, host: str, feedback: str | None) -> None:
        why = self.lost.pop(bead.id, f"host {host} stopped answering")
        branch = polecat_branch(bead.id)
        tip = None
        with contextlib.suppress(Exception):
            tip = await asyncio.to_thread(self.worktrees.branch_tip, branch)
        kept = (f"Kept: {branch} at {tip[:10]} (pushed to the remote before the loss, fetched home)."
                if tip else "Nothing of this run had been pushed.")
        touched = sorted(self.touched.get(bead.id, set()))
        only = (f" Only on {host}, not recovered: the changes since its last push"
                + (f" (files it wrote: {', '.join(touched[:20])})" if touched else "")
                + "; they come back only if the host does (its checkout is kept until its work is merged or "
                  "archived).")
        self.board.update(name, state="failed", detail=f"{why}; requeued")
        self.progress(self._goal_of(bead.id), f"{name} lost with its host ({why}); {bead.id} is requeued")
        try:
            await self.store.add_comment(bead.id, "witness", f"Polecat {name} lost: {why}. The bead is requeued. "
                                         f"{kept}{only}")
            await self.store.update(bead.id, status=Status.OPEN, assignee=None, actor="witness")
        except Exception:  # noqa: BLE001 - the town may be closing: recovery requeues it on the next start
            log.exception("requeueing %s after its host was lost failed", bead.id)
        if feedback:
            self.feedback.setdefault(bead.id, feedback)
        self.wake()

    # --- the Overseer's requests ------------------------------------------------------------------------
    async def retry(self, bead_id: str, note: str, *, comment: str | None = None, run: bool = True) -> Bead:
        """A blocked or escalated bead goes back to work with ``note`` as its feedback (the polecat resumes
        its previous session where there is one); the rework budget starts over. ``comment`` replaces the
        default bead comment ("Retry: <note>"); ``run=False`` leaves starting its goal to ``resume_goals``."""
        bead = await self.store.get(bead_id)
        if bead_id in self.running:
            raise ValueError(f"{bead_id} has a polecat working on it now; message it instead")
        if bead.status not in (Status.BLOCKED, Status.OPEN):
            raise ValueError(f"{bead_id} is {bead.status}: only a blocked or escalated bead can be retried")
        if f"bead:{bead_id}" in self.witness.paused:  # a budget stop: the Overseer's retry lifts it
            await self.witness.resume_dispatch(f"bead:{bead_id}")
        self.errors.pop(bead_id, None)
        self.runs.pop(bead_id, None)
        self.feedback[bead_id] = f"The Overseer asks you to go on with this bead. Note from the Overseer: {note}"
        await self.store.add_comment(bead_id, "overseer", comment or f"Retry: {note}")
        if bead.status != Status.OPEN:
            bead = await self.store.update(bead_id, status=Status.OPEN, assignee=None, actor="overseer")
        if run:
            await self.ensure_goal(bead.parent_id)
        self.wake()
        return bead

    async def dispatch_discovered(self, bead_id: str, *, run: bool = True) -> Bead:
        """Held discovered work, dispatched on the Overseer's request (within its goal)."""
        bead = await self.store.get(bead_id)
        if not is_held(bead):
            raise ValueError(f"{bead_id} is not discovered work held for dispatch (status {bead.status})")
        bead = await self.store.update(bead_id, status=Status.OPEN, actor="overseer")
        if run:
            await self.ensure_goal(bead.parent_id)
        self.wake()
        return bead

    async def ensure_goal(self, epic_id: str | None) -> None:
        """Run the goal of ``epic_id`` again if nothing runs it (e.g. it finished with this bead blocked)."""
        if not epic_id or epic_id in self.goals:
            return
        epic = await self.store.get(epic_id)
        if epic.issue_type != "epic":
            return
        if epic.status in Status.DONE:
            await self.store.update(epic_id, status=Status.OPEN, actor="overseer")
        goal_id = (epic.metadata or {}).get("goal_id") or epic_id
        self._spawn(self.run_goal(epic_id, goal_id))

    # --- the Refinery's verdicts ------------------------------------------------------------------------
    async def on_outcome(self, mr: MergeRequest, outcome: Outcome) -> None:
        store = self.store
        name = polecat_name(mr.bead_id)
        goal_id = self._goal_of(mr.bead_id)
        batch = f" (batch of {outcome.batch_size})" if outcome.batch_size > 1 else ""
        if outcome.result == "merged" and mr.then_rework:  # partly accepted: the rest goes back to work
            assert outcome.sha is not None
            await store.add_comment(mr.bead_id, "refinery", f"Merged the accepted hunks as {outcome.sha[:10]} "
                                    f"into {self.worktrees.integration}; the rest goes back to the polecat.")
            self.progress(goal_id, f"Refinery: merged part of {mr.bead_id} “{mr.title}”; the rest is rework")
            await self.rework(mr.bead_id, f"Rejected by the Overseer: {mr.then_rework}",
                              f"The Overseer accepted part of your change (now merged) and rejected the rest: "
                              f"{mr.then_rework}", bounded=False)
        elif outcome.result == "merged":
            assert outcome.sha is not None
            await store.close_bead(mr.bead_id, reason=f"merged {outcome.sha[:10]} into "
                                   f"{self.worktrees.integration}", actor="refinery")
            self._closed_ids.add(mr.bead_id)
            self.radar.forget(mr.bead_id)
            self.tracer.close(bead_key(mr.bead_id), attributes={"gastown.bead.outcome": "merged",
                                                                "gastown.merge.sha": outcome.sha})
            run = self.goals.get(self.owner.get(mr.bead_id, ""))
            if run is not None:
                run.merged += 1
            self.board.update(name, state="done", detail=f"merged {outcome.sha[:10]}")
            self.progress(goal_id, f"Refinery: merged {mr.bead_id} “{mr.title}”{batch}")
        elif outcome.result == "awaiting-review":
            await self.set_review(mr.bead_id, "pending", "refinery",
                                  comment=f"verified on top of {self.worktrees.integration}")
            self.board.update(name, state="review", detail="verified; waiting for your review")
            self.progress(goal_id, f"Refinery: {mr.bead_id} “{mr.title}” verified — waiting for your review")
        elif outcome.result == "conflict":
            self.board.update(name, state="failed", detail="merge conflict")
            self.progress(goal_id, f"Refinery: {mr.bead_id} conflicts ({', '.join(outcome.files)}){batch} — rework")
            await self.rework(mr.bead_id, f"Refinery: merge conflict.\n{outcome.detail}", outcome.detail)
        else:
            self.board.update(name, state="failed", detail="verification failed")
            self.progress(goal_id, f"Refinery: verification failed for {mr.bead_id}{batch} — reopened")
            log_tail = tail(outcome.detail, 30)
            await self.rework(mr.bead_id, f"Refinery: verification failed for {mr.branch}{batch}. "
                              f"Log tail:\n{log_tail}",
                              f"The verification command failed on your branch. Fix it. Log tail:\n{log_tail}")
        self.wake()

    async def rework(self, bead_id: str, why: str, feedback: str, *, bounded: bool = True) -> None:
        """Back to its polecat (via the ready queue) with ``feedback``; blocked once the rework budget is spent
        (``bounded=False``: the Overseer asked for it, no budget applies)."""
        spent = bounded and self.runs.get(bead_id, 0) > self.settings.rework_attempts
        await self._send_back(bead_id, why, feedback, give_up=spent)

    async def _send_back(self, bead_id: str, why: str, feedback: str | None, give_up: bool) -> None:
        store = self.store
        await store.add_comment(bead_id, "refinery", why)
        if give_up:
            await store.add_comment(bead_id, "refinery", "Gave up after repeated attempts: the Overseer must "
                                    "look at this bead (reopen it to try again).")
            await store.update(bead_id, status=Status.BLOCKED, assignee=None, actor="refinery")
            self.tracer.close(bead_key(bead_id), why[:300], {"gastown.bead.outcome": "blocked"})
            self.feedback.pop(bead_id, None)
            self.progress(self._goal_of(bead_id), f"{bead_id} blocked: needs the Overseer")
        else:
            if feedback:
                self.feedback[bead_id] = feedback
            await store.update(bead_id, status=Status.OPEN, assignee=None, actor="refinery")
        self.wake()

    async def agent_review(self, bead: Bead, result: PolecatResult) -> ReviewVerdict | None:
        """The reviewer agent's verdict on the branch (a bead comment + review state); None if it gave none."""
        if self._reviewer is None:
            self._reviewer = self._new_reviewer()
        assert result.commit is not None
        diff = await asyncio.to_thread(self.worktrees.repo.text, "diff", "--no-color",
                                       f"{self.worktrees.integration}...{result.commit}")
        await self.set_review(bead.id, "pending", "reviewer")
        span = self.tracer.start("review", self.tracer.get(bead_key(bead.id)), {"gastown.bead.id": bead.id})
        try:
            with span.current():  # the reviewer's turns in the CLI join the bead's trace
                verdict = await self._reviewer.review(bead, diff)
            span.end(attributes={"gastown.review.verdict": verdict.verdict if verdict else None,
                                 "gastown.review.score": verdict.score if verdict else None})
        except Exception as exc:  # noqa: BLE001 - the review is advisory: the Refinery and the Overseer still run
            span.end(str(exc))
            log.warning("reviewer failed on %s: %s", bead.id, exc)
            await self.store.add_comment(bead.id, "reviewer", f"Review failed: {exc}")
            return None
        if verdict is None:
            await self.store.add_comment(bead.id, "reviewer", "The reviewer gave no verdict.")
            return None
        state = "approved" if verdict.verdict == "approve" else "changes-requested"
        await self.store.add_comment(bead.id, "reviewer", f"Review: {state}, score {verdict.score}/5 — "
                                     f"{verdict.comment}")
        await self.set_review(bead.id, state, "reviewer", score=verdict.score, comment=verdict.comment)
        return verdict

    async def set_review(self, bead_id: str, state: str, by: str, *, score: int | None = None,
                         comment: str = "") -> None:
        """The bead's review state, in its metadata (for the editor) and on the bus."""
        bead = await self.store.get(bead_id)
        metadata = dict(bead.metadata or {})
        review = dict(metadata.get("review") or {})
        if by == "reviewer":  # the agent's verdict is kept beside the Overseer's decision
            review["agent"] = {"state": state, "score": score, "comment": comment}
        review.update(state=state, by=by, at=now_iso(), comment=comment)
        metadata["review"] = review
        await self.store.update(bead_id, metadata=metadata, actor=by)
        self.bus.publish(ReviewState(bead_id=bead_id, state=state, by=by, score=score, comment=comment))


async def _end_own_stale_run(polecat: Polecat, busy: PolecatBusy) -> bool:
    """A live run of this very town on a bead no polecat of the town works (its polecat was stopped before
    it could end the record, e.g. when its host was lost mid-cleanup) holds nothing: end it as crashed.
    True if it was such a run (the bead can be started again)."""
    run, records = busy.run, polecat.records
    if run is None or records is None or run.owner != records.owner:
        return False
    log.warning("run #%s of %s was left live by a stopped polecat of this town; ended as crashed", run.id,
                run.bead_id)
    await records.end_run(run.id, "crashed", detail="left live by a stopped polecat of this town")
    return True
