"""The Witness: supervises every live polecat run as ONE state machine on one task.

Each tick it looks at every watched run once and decides at most one action per run
(:func:`next_action`, pure): the heartbeat is the time of the run's last agent event;

    working --(no event for stallSeconds)--> nudged --(an event)--> working
    nudged --(still no event for stallSeconds)--> restart (abort, new session with a handoff summary)
                                                  or, after maxRestarts, escalate (bead blocked + comment
                                                  + an Escalation on the bus)

It also enforces budgets (tokens and wall time per bead and per goal): a bead at its cap is stopped and
blocked; a goal at its cap pauses dispatch of its beads (:meth:`Witness.may_dispatch`) and the Overseer is
told (DispatchPaused). Polecats execute the restart/stop themselves when their turn returns; the Witness
only decides, records, aborts and wakes them. :func:`recover` reconciles after a crash, on Town.open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gastown.config import BudgetSettings, PolecatSettings
from gastown.ledger.model import Bead, Status, now_iso, parse_ts
from gastown.runtime.base import AgentEvent, AgentSession
from gastown.town.bus import Bus, DispatchPaused, Escalation, Recovered, WitnessAction

if TYPE_CHECKING:
    from gastown.ledger.store import Store
    from gastown.town.agents import AgentBoard
    from gastown.town.git import Worktrees
    from gastown.town.records import RunRecords

log = logging.getLogger(__name__)

Phase = Literal["working", "nudged", "stopping"]
ActionKind = Literal["nudge", "restart", "escalate", "budget", "abort"]


@dataclass
class Watch:
    """The Witness's view of one live run. The polecat feeds it events and reads ``pending``."""

    run_id: int
    bead_id: str
    agent: str
    goal_id: str | None
    session: AgentSession | None = None
    phase: Phase = "working"
    started: float = field(default_factory=time.monotonic)
    last_event: float = field(default_factory=time.monotonic)
    phase_since: float = field(default_factory=time.monotonic)
    open_tools: int = 0
    restarts: int = 0
    nudges: int = 0
    pending: tuple[ActionKind, str] | None = None
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    emit: Callable[[AgentEvent], None] | None = None

    def heartbeat(self, event: AgentEvent) -> None:
        if event.kind == "witness":
            return
        self.last_event = time.monotonic()
        if event.kind == "tool_start":
            self.open_tools += 1
        elif event.kind in ("tool_done", "idle", "abort", "error"):
            self.open_tools = 0 if event.kind != "tool_done" else max(0, self.open_tools - 1)
        if self.phase == "nudged":
            self.phase = "working"
            self.phase_since = self.last_event

    def attach(self, session: AgentSession) -> None:
        """A (new) session runs for this watch: fresh heartbeat, back to working."""
        self.session = session
        self.phase = "working"
        self.open_tools = 0
        self.last_event = self.phase_since = time.monotonic()
        self.pending = None
        self.interrupted.clear()

    def take(self) -> tuple[ActionKind, str] | None:
        pending, self.pending = self.pending, None
        return pending


@dataclass(frozen=True)
class StallRules:
    stall: float
    tool_stall: float
    max_restarts: int


def next_action(phase: Phase, quiet: float, in_phase: float, in_tool: bool, restarts: int,
                rules: StallRules) -> tuple[ActionKind, str] | None:
    """Pure: what the Witness does to a run now. ``quiet`` = seconds since its last event, ``in_phase`` =
    seconds since it entered ``phase``."""
    limit = rules.tool_stall if in_tool else rules.stall
    if phase == "working" and quiet >= limit:
        return "nudge", f"no agent event for {quiet:.0f}s" + (" (a tool is running)" if in_tool else "")
    if phase == "nudged" and in_phase >= limit and quiet >= limit:
        if restarts < rules.max_restarts:
            return "restart", f"still no agent event {in_phase:.0f}s after a nudge"
        return "escalate", (f"stuck: no agent event for {quiet:.0f}s after a nudge, and {restarts} "
                            f"restart(s) did not help")
    return None


def budget_breach(budget: BudgetSettings, *, bead_tokens: int = 0, bead_seconds: float = 0,
                  goal_tokens: int | None = None, goal_seconds: float | None = None,
                  extra_goal_tokens: int = 0, extra_goal_seconds: float = 0) -> tuple[str, str] | None:
    """Pure: ("bead"|"goal", why) for the first cap reached, else None. 0 = no cap."""
    if budget.tokens_per_bead and bead_tokens >= budget.tokens_per_bead:
        return "bead", f"token budget per bead reached: {bead_tokens} ≥ {budget.tokens_per_bead}"
    if budget.seconds_per_bead and bead_seconds >= budget.seconds_per_bead:
        return "bead", f"time budget per bead reached: {bead_seconds:.0f}s ≥ {budget.seconds_per_bead:.0f}s"
    if goal_tokens is not None and budget.tokens_per_goal:
        cap = budget.tokens_per_goal + extra_goal_tokens
        if goal_tokens >= cap:
            return "goal", f"token budget per goal reached: {goal_tokens} ≥ {cap}"
    if goal_seconds is not None and budget.seconds_per_goal:
        cap_s = budget.seconds_per_goal + extra_goal_seconds
        if goal_seconds >= cap_s:
            return "goal", f"time budget per goal reached: {goal_seconds:.0f}s ≥ {cap_s:.0f}s"
    return None


class Witness:
    def __init__(self, *, bus: Bus, board: AgentBoard, records: Callable[[], RunRecords | None],
                 settings: PolecatSettings, tick: float | None = None) -> None:
        self.bus = bus
        self.board = board
        self._records = records
        self.settings = settings
        self.tick = tick or max(0.05, min(1.0, settings.stall_seconds / 4))
        self.watches: dict[int, Watch] = {}
        self.paused: dict[str, str] = {}  # scope -> reason
        self._extra: dict[str, tuple[int, float]] = {}  # goal -> allowance added by resume_dispatch
        self._task: asyncio.Task | None = None
        self._goals: set[str] = set()  # goals with runs since start (budget checks)

    @property
    def records(self) -> RunRecords | None:
        return self._records()

    @property
    def rules(self) -> StallRules:
        s = self.settings
        return StallRules(s.stall_seconds, s.tool_stall_seconds, s.max_restarts)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.records is not None:
            self.paused.update(await self.records.pauses())
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the Witness must outlive any one bad run
                log.exception("witness check failed")

    # --- polecats register here --------------------------------------------------------------------
    def watch(self, run_id: int, bead: Bead, agent: str) -> Watch:
        goal = bead.parent_id
        w = Watch(run_id=run_id, bead_id=bead.id, agent=agent, goal_id=goal)
        self.watches[run_id] = w
        if goal:
            self._goals.add(goal)
        return w

    def unwatch(self, watch: Watch) -> None:
        self.watches.pop(watch.run_id, None)

    # --- dispatch gate (called by the dispatcher before it claims a bead) -----------------------------
    def dispatch_blocker(self, bead: Bead) -> str | None:
        """Why ``bead`` must not be dispatched now (a budget pause), or None."""
        for scope in (f"bead:{bead.id}", f"goal:{bead.parent_id}" if bead.parent_id else None):
            if scope and scope in self.paused:
                return self.paused[scope]
        return None

    def may_dispatch(self, bead: Bead) -> bool:
        return self.dispatch_blocker(bead) is None

    async def resume_dispatch(self, scope: str) -> None:
        """The Overseer lifts a pause; a goal gets one more allowance of its caps."""
        if scope.startswith("goal:"):
            b = self.settings.budget
            tokens, seconds = self._extra.get(scope[5:], (0, 0.0))
            self._extra[scope[5:]] = (tokens + b.tokens_per_goal, seconds + b.seconds_per_goal)
        self.paused.pop(scope, None)
        if self.records is not None:
            await self.records.clear_pause(scope)
        self.bus.publish(DispatchPaused(scope=scope, paused=False, reason="resumed by the Overseer"))

    async def _pause(self, scope: str, reason: str) -> None:
        if scope in self.paused:
            return
        self.paused[scope] = reason
        if self.records is not None:
            await self.records.set_pause(scope, reason)
        log.warning("dispatch paused for %s: %s", scope, reason)
        self.bus.publish(DispatchPaused(scope=scope, paused=True, reason=reason))

    # --- the Overseer ------------------------------------------------------------------------------
    async def abort_agent(self, agent_or_bead: str, reason: str = "aborted by the Overseer") -> bool:
        """Stop a live polecat (by agent name or bead id): its work is kept, its bead blocked."""
        for w in list(self.watches.values()):
            if agent_or_bead in (w.agent, w.bead_id):
                await self._act(w, "abort", reason)
                return True
        return False

    # --- the state machine -------------------------------------------------------------------------
    async def check(self, now: float | None = None) -> None:
        """One pass over every watched run (and every goal's budget): decide, then act."""
        now = time.monotonic() if now is None else now
        records = self.records
        for w in list(self.watches.values()):
            if w.phase == "stopping" or w.pending is not None:
                continue
            if records is not None and self._has_bead_budget():
                tokens, seconds = await records.usage(bead_id=w.bead_id)
                breach = budget_breach(self.settings.budget, bead_tokens=tokens, bead_seconds=seconds)
                if breach:
                    await self._act(w, "budget", breach[1])
                    continue
            action = next_action(w.phase, now - w.last_event, now - w.phase_since, w.open_tools > 0, w.restarts,
                                 self.rules)
            if action:
                await self._act(w, *action)
        if records is not None and self._has_goal_budget():
            for goal in list(self._goals):
                await self.check_goal(goal)

    def _has_bead_budget(self) -> bool:
        b = self.settings.budget
        return bool(b.tokens_per_bead or b.seconds_per_bead)

    def _has_goal_budget(self) -> bool:
        b = self.settings.budget
        return bool(b.tokens_per_goal or b.seconds_per_goal)

    async def check_goal(self, goal: str) -> str | None:
        """Pause dispatch of ``goal`` if it reached a cap; returns the reason."""
        scope = f"goal:{goal}"
        if scope in self.paused or self.records is None or not self._has_goal_budget():
            return self.paused.get(scope)
        runs = await self.records.runs(goal_id=goal)
        if not runs:
            return None
        tokens = sum(r.tokens for r in runs)
        first = min(parse_ts(r.started_at) for r in runs)
        last = max((parse_ts(r.ended_at) if r.ended_at and not r.live else None) or parse_ts(now_iso())
                   for r in runs)
        extra_t, extra_s = self._extra.get(goal, (0, 0.0))
        breach = budget_breach(self.settings.budget, goal_tokens=tokens, goal_seconds=(last - first).total_seconds(),
                               extra_goal_tokens=extra_t, extra_goal_seconds=extra_s)
        if breach:
            await self._pause(scope, breach[1] + "; running polecats finish, no new ones start")
            return breach[1]
        return None

    async def _act(self, w: Watch, kind: ActionKind, reason: str) -> None:
        records = self.records
        if w.emit:
            w.emit(AgentEvent(session_id=getattr(w.session, "session_id", ""), kind="witness", text=reason,
                              detail={"action": kind, "restarts": w.restarts}))
        self.bus.publish(WitnessAction(agent=w.agent, bead_id=w.bead_id, action=kind, reason=reason,
                                       restarts=w.restarts))
        log.info("witness: %s %s: %s", kind, w.agent, reason)
        if kind == "nudge":
            w.phase, w.phase_since = "nudged", time.monotonic()
            w.nudges += 1
            self._board(w.agent, state="stalled", detail=f"nudged: {reason}")
            if records is not None:
                await records.update_run(w.run_id, nudges=w.nudges)
            if w.session is not None:
                try:
                    await asyncio.wait_for(w.session.nudge(self.settings.nudge), 10)
                except Exception as exc:  # a session too broken to take a message gets restarted next
                    log.warning("nudge of %s failed: %s", w.agent, exc)
            return
        w.pending = (kind, reason)
        w.phase = "stopping"
        if kind == "restart":
            self._board(w.agent, state="stalled", detail=f"restarting: {reason}")
        else:
            self._board(w.agent, state="needs-input", detail=reason)
        w.interrupted.set()
        if w.session is not None:
            try:
                await asyncio.wait_for(w.session.abort(), 10)
            except Exception as exc:
                log.warning("abort of %s failed: %s", w.agent, exc)
        if kind == "budget":
            await self._pause(f"bead:{w.bead_id}", reason)

    def restarted(self, w: Watch, session: AgentSession) -> None:
        w.restarts += 1
        w.attach(session)
        self._board(w.agent, state="working", restarts=w.restarts, detail=f"restarted ({w.restarts})")

    def escalated(self, bead_id: str, agent: str, reason: str) -> None:
        self.bus.publish(Escalation(bead_id=bead_id, agent=agent, reason=reason))

    def _board(self, agent: str, **changes) -> None:
        if agent in self.board.agents:
            self.board.update(agent, **changes)


# --- crash recovery ---------------------------------------------------------------------------------
async def recover(store: Store, records: RunRecords, worktrees: Worktrees, bus: Bus) -> Recovered:
    """Reconcile after a crash (or a stop in the middle of runs), on Town.open:

    - runs still marked live whose server process is dead are ended as ``crashed``;
    - worktrees on disk are matched to their beads by branch (``polecat/<bead-id>``); uncommitted work in
      them is committed to that branch (nothing is lost), and they stay parked for the bead's next polecat
      (which resumes the persisted session there);
    - beads left ``in_progress`` by a polecat that no longer runs are put back to ``open`` with a comment
      naming the branch and commit that hold their work;
    - beads left in ``review`` with an unmerged branch are listed (``awaiting_refinery``): the Refinery's
      queue lives in memory, so whoever owns it re-enqueues them.
    """
    report = Recovered()
    for run in await records.orphaned_live_runs():
        await records.end_run(run.id, "crashed", detail="the server stopped during the run (crash or kill)")
        report.crashed_runs.append(run.id)
    worktrees.refresh()
    entries = await asyncio.to_thread(worktrees.entries)
    for e in entries:
        if e.state not in ("parked", "idle") or not e.dirty:
            if e.state == "parked" and e.bead_id:
                report.worktrees[e.name] = e.bead_id
            continue
        sha = await asyncio.to_thread(worktrees.save_wip, Path(e.path),
                                      f"WIP {e.branch or e.name} (recovered by gastown after a stop)")
        if e.bead_id:
            report.worktrees[e.name] = e.bead_id
            if sha:
                report.wip_commits[e.bead_id] = sha
    live = {r.bead_id for r in await records.runs(live=True)}
    branches = await asyncio.to_thread(worktrees.polecat_branches)
    for bead in await store.list(status=[Status.IN_PROGRESS]):
        if not (bead.assignee or "").startswith("polecat-") or bead.id in live:
            continue
        tip = branches.get(f"polecat/{bead.id}")
        last = await records.last_session(bead.id)
        where = (f"its work so far is on branch polecat/{bead.id} at {tip[:10]}" if tip
                 else "it had no commits yet")
        resume = f"; the next polecat resumes session {last.session_id}" if last and last.session_id else ""
        await store.add_comment(bead.id, "witness", f"Recovered after the server stopped during {bead.assignee}'s "
                                f"run: {where}{resume}. Back to open.")
        await store.update(bead.id, status=Status.OPEN, assignee=None, actor="witness")
        report.requeued.append(bead.id)
    for bead in await store.list(status=[Status.REVIEW]):
        tip = branches.get(f"polecat/{bead.id}")
        if tip and await asyncio.to_thread(worktrees.unmerged_count, tip):
            report.awaiting_refinery.append(bead.id)
    if report.crashed_runs or report.requeued or report.wip_commits:
        log.warning("recovered: %s", report.model_dump())
    bus.publish(report)
    return report
