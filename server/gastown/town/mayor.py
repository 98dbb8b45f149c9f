"""The Mayor: turns the Overseer's goal into an epic bead and its task beads, through `propose_plan`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gastown.ledger.model import Bead, DepType
from gastown.ledger.store import Store
from gastown.runtime.base import AgentEvent, AgentRuntime, SessionSpec, ToolSpec
from gastown.runtime.policy import ReadOnlyPolicy
from gastown.town.plan import Plan, plan_problems

log = logging.getLogger(__name__)

MAYOR_SYSTEM = """You are the Mayor of Gas Town. You do not write code. You plan: break the Overseer's goal
into small tasks that separate workers (Polecats) can do in parallel on their own branches, each with clear
acceptance criteria, with dependencies only where one task needs another's result. Prefer tasks that touch
different files. Call the propose_plan tool exactly once with the whole plan."""


class PlanError(Exception):
    """The Mayor could not produce a valid plan; the message says why."""


def planning_prompt(goal: str, ledger_summary: str) -> str:
    return (
        f"Plan this goal for the town.\n\nGoal: {goal}\n\n"
        f"Open work already in the ledger:\n{ledger_summary or '(none)'}\n\n"
        "Call propose_plan with the plan."
    )


class Mayor:
    def __init__(self, runtime: AgentRuntime, store: Store, workspace: Path, *, max_plan_size: int = 30,
                 max_attempts: int = 3, turn_timeout: float = 300,
                 on_event: Callable[[AgentEvent], None] | None = None) -> None:
        self.runtime = runtime
        self.store = store
        self.workspace = workspace
        self.max_plan_size = max_plan_size
        self.max_attempts = max_attempts
        self.turn_timeout = turn_timeout
        self.on_event = on_event

    async def plan(self, goal: str) -> tuple[Bead, list[Bead]]:
        accepted: list[Plan] = []
        rejections: list[str] = []

        def propose_plan(plan: Plan) -> str:
            problems = plan_problems(plan, self.max_plan_size)
            if problems:
                rejections.append("; ".join(problems))
                return "Plan rejected. Fix these problems and call propose_plan again: " + "; ".join(problems)
            accepted.append(plan)
            return f"Plan accepted: {len(plan.tasks)} tasks. The Polecats will start now."

        spec = SessionSpec(
            name="mayor",
            working_directory=self.workspace,
            policy=ReadOnlyPolicy(readable=[self.workspace]),
            system_message=MAYOR_SYSTEM,
            tools=[ToolSpec("propose_plan", "Propose the plan for the goal: an epic and its tasks.", Plan,
                            propose_plan)],
            on_event=self.on_event,
        )
        session = await self.runtime.create_session(spec)
        try:
            open_work = await self.store.list(status=["open", "in_progress"])
            summary = "\n".join(f"- {b.id} [{b.status}] {b.title}" for b in open_work[:20])
            prompt = planning_prompt(goal, summary)
            for _attempt in range(self.max_attempts):
                await session.run_turn(prompt, self.turn_timeout)
                if accepted:
                    break
                prompt = ("You did not call propose_plan with a valid plan. "
                          + (f"Problems: {rejections[-1]}. " if rejections else "")
                          + "Call propose_plan now with the whole plan.")
        finally:
            await session.disconnect()
        if not accepted:
            why = rejections[-1] if rejections else "the model never called propose_plan"
            raise PlanError(f"the Mayor could not produce a valid plan after {self.max_attempts} tries: {why}")
        return await self._write(goal, accepted[0])

    async def _write(self, goal: str, plan: Plan) -> tuple[Bead, list[Bead]]:
        """Epic + tasks + dependencies in one ledger transaction: a plan lands whole or not at all."""
        async with self.store.batch(actor="mayor") as tx:
            epic = await tx.create(plan.title, description=goal + ("\n\n" + plan.summary if plan.summary else ""),
                                   issue_type="epic", priority=min(t.priority for t in plan.tasks))
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
        tasks = [await self.store.get(by_key[t.key].id) for t in plan.tasks]
        return await self.store.get(epic.id), tasks
