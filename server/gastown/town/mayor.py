"""The Mayor: turns the Overseer's goal into an epic bead and its task beads, through `propose_plan`.

The Mayor is a persistent worker: its session id is kept in ``.gastown/mayor.json`` and resumed for every
goal (also after a restart), and every planning prompt carries the ledger's state and a ledger-backed
summary of past goals, so its memory survives even a lost session.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gastown.errors import GastownError
from gastown.ledger.model import INTERNAL_TYPES, Bead, DepType, Status, now_iso
from gastown.ledger.store import Store
from gastown.runtime.base import AgentEvent, AgentRuntime, AgentSession, SessionSpec, ToolSpec
from gastown.runtime.policy import ReadOnlyPolicy
from gastown.town.bus import Event, PlanProposed
from gastown.town.plan import Plan, PlanDraft, parse_plan

log = logging.getLogger(__name__)

DRAFT = "draft"  # plan approval: beads wait in this status until the Overseer approves the plan

MAYOR_SYSTEM = """You are the Mayor of Gas Town. You do not write code. You plan: break the Overseer's goal
into small tasks that separate workers (Polecats) can do in parallel on their own branches, each with clear
acceptance criteria, with dependencies only where one task needs another's result. Prefer tasks that touch
different files, and list the files each task will likely touch. Call the propose_plan tool exactly once
with the whole plan; if it is rejected, fix every problem named and call it again."""


class PlanError(GastownError):
    """The Mayor could not produce a valid plan; the message says why."""


def planning_prompt(goal: str, ledger_state: str, past_goals: str, open_work: str = "") -> str:
    return (
        f"Plan this goal for the town.\n\nGoal: {goal}\n\n"
        f"Ledger: {ledger_state}\n\n"
        f"Open work already in the ledger:\n{open_work or '(none)'}\n\n"
        f"Past goals:\n{past_goals or '(none)'}\n\n"
        "Call propose_plan with the plan."
    )


async def ledger_context(store: Store, limit: int = 20) -> tuple[str, str, str]:
    """(counts by status, open work, past goals) — the Mayor's ledger-backed memory."""
    beads = await store.list()
    counts = Counter(b.status for b in beads)
    state = (f"{len(beads)} beads — " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))) if beads \
        else "empty"
    live = [b for b in beads if b.status in (Status.OPEN, Status.IN_PROGRESS, Status.REVIEW, Status.BLOCKED)
            and b.issue_type != "epic" and b.issue_type not in INTERNAL_TYPES]  # a convoy is no work
    open_work = "\n".join(f"- {b.id} [{b.status}] {b.title}" for b in live[:limit])
    if len(live) > limit:
        open_work += f"\n- … and {len(live) - limit} more"
    children: dict[str, list[Bead]] = {}
    for b in beads:
        if b.parent_id:
            children.setdefault(b.parent_id, []).append(b)
    epics = sorted((b for b in beads if b.issue_type == "epic"), key=lambda b: b.created_at)[-limit:]
    lines = []
    for epic in epics:
        kids = children.get(epic.id, [])
        done = sum(1 for k in kids if k.status in Status.DONE)
        goal = (epic.metadata or {}).get("goal") or epic.title
        line = f"- {epic.id} [{epic.status}] {epic.title} — {done}/{len(kids)} beads done; goal: {goal}"
        if epic.close_reason:
            line += f" ({epic.close_reason})"
        lines.append(line)
    return state, open_work, "\n".join(lines)


class MayorMemory:
    """The Mayor's session id (and a little bookkeeping) in ``.gastown/mayor.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
            return data
        except (OSError, ValueError):
            return {}

    @property
    def session_id(self) -> str | None:
        return self.load().get("session_id")

    def save(self, **changes: Any) -> None:
        data = {**self.load(), **changes, "updated_at": now_iso()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path)


class Mayor:
    def __init__(self, runtime: AgentRuntime, store: Store, workspace: Path, *, memory: MayorMemory | None = None,
                 max_plan_size: int = 30, max_attempts: int = 3, turn_timeout: float = 300,
                 on_event: Callable[[AgentEvent], None] | None = None,
                 publish: Callable[[Event], None] | None = None) -> None:
        self.runtime = runtime
        self.store = store
        self.workspace = workspace
        self.memory = memory
        self.max_plan_size = max_plan_size
        self.max_attempts = max_attempts
        self.turn_timeout = turn_timeout
        self.on_event = on_event
        self.publish = publish or (lambda _event: None)
        self.resumed = False  # whether the last plan ran in a resumed session

    async def _session(self, spec: SessionSpec) -> AgentSession:
        """Resume the Mayor's session when there is one; otherwise (or if it is gone) start and remember one."""
        self.resumed = False
        session_id = self.memory.session_id if self.memory else None
        if session_id:
            try:
                session = await self.runtime.resume_session(session_id, spec)
                self.resumed = True
                return session
            except Exception as exc:  # noqa: BLE001 - a lost session is not fatal: the ledger remembers
                log.warning("Mayor: could not resume session %s (%s); starting a new one", session_id, exc)
        session = await self.runtime.create_session(spec)
        if self.memory:
            self.memory.save(session_id=session.session_id, created_at=now_iso())
        return session

    async def plan(self, goal: str, *, goal_id: str = "", draft: bool = False) -> tuple[Bead, list[Bead]]:
        accepted: list[Plan] = []
        rejections: list[list[str]] = []

        def propose_plan(raw: PlanDraft) -> str:
            if accepted:
                return "A plan was already accepted for this goal. Do not call propose_plan again; end your turn."
            attempt = len(rejections) + 1
            if attempt > self.max_attempts:
                return "No attempts left: the goal has failed. End your turn."
            plan, problems = parse_plan(raw.model_dump(), self.max_plan_size)
            self.publish(PlanProposed(goal_id=goal_id, attempt=attempt, accepted=plan is not None,
                                      problems=problems))
            if plan is not None:
                accepted.append(plan)
                return (f"Plan accepted: {len(plan.tasks)} tasks. "
                        + ("It waits for the Overseer's approval." if draft else "The Polecats will start now."))
            rejections.append(problems)
            reasons = "\n".join(f"- {p}" for p in problems)
            if attempt >= self.max_attempts:
                return (f"Plan rejected (attempt {attempt} of {self.max_attempts}, the last):\n{reasons}\n"
                        "The goal has failed. End your turn.")
            return (f"Plan rejected (attempt {attempt} of {self.max_attempts}). Fix every problem and call "
                    f"propose_plan again with the whole plan:\n{reasons}")

        spec = SessionSpec(
            name="mayor",
            working_directory=self.workspace,
            policy=ReadOnlyPolicy(readable=[self.workspace]),
            system_message=MAYOR_SYSTEM,
            tools=[ToolSpec("propose_plan", "Propose the plan for the goal: an epic and its tasks.", PlanDraft,
                            propose_plan)],
            on_event=self.on_event,
        )
        state, open_work, past = await ledger_context(self.store)
        prompt = planning_prompt(goal, state, past, open_work)
        session = await self._session(spec)
        try:
            for _turn in range(self.max_attempts):
                await session.run_turn(prompt, self.turn_timeout)
                if accepted or len(rejections) >= self.max_attempts:
                    break
                prompt = ("You did not call propose_plan with a valid plan for the goal: " + goal + "\n"
                          + (f"Problems with your last plan: {'; '.join(rejections[-1])}\n" if rejections else "")
                          + "Call propose_plan now with the whole plan.")
        finally:
            await session.disconnect()
        if self.memory:
            self.memory.save(goals=int(self.memory.load().get("goals", 0)) + 1, last_goal=goal)
        if not accepted:
            why = "; ".join(rejections[-1]) if rejections else "the model never called propose_plan"
            tries = len(rejections) or self.max_attempts
            raise PlanError(f"the Mayor could not produce a valid plan after {tries} "
                            f"{'try' if tries == 1 else 'tries'}: {why}")
        return await self._write(goal, accepted[0], goal_id=goal_id, draft=draft)

    async def _write(self, goal: str, plan: Plan, *, goal_id: str = "", draft: bool = False
                     ) -> tuple[Bead, list[Bead]]:
        """Epic + tasks + dependencies in one ledger transaction: a plan lands whole or not at all."""
        async with self.store.batch(actor="mayor") as tx:
            epic = await tx.create(plan.title, description=goal + ("\n\n" + plan.summary if plan.summary else ""),
                                   issue_type="epic", priority=min(t.priority for t in plan.tasks),
                                   metadata={"goal": goal, "goal_id": goal_id})
            by_key: dict[str, Bead] = {}
            for task in plan.tasks:
                by_key[task.key] = await tx.create(
                    task.title, description=task.description, acceptance_criteria=task.acceptance_criteria,
                    priority=task.priority, issue_type=task.type, parent=epic.id,
                    metadata={"plan_key": task.key, "files": task.files},
                )
            for task in plan.tasks:
                for dep in task.depends_on:
                    await tx.add_dependency(by_key[task.key].id, by_key[dep].id, DepType.BLOCKS)
            if draft:
                for bead in [epic, *by_key.values()]:
                    await tx.update(bead.id, status=DRAFT)
        tasks = [await self.store.get(by_key[t.key].id) for t in plan.tasks]
        return await self.store.get(epic.id), tasks
