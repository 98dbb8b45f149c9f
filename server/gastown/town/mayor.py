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
from gastown.formulas import Catalog, FormulaError
from gastown.ledger.model import INTERNAL_TYPES, Bead, Status, now_iso
from gastown.ledger.store import Store
from gastown.runtime.base import AgentEvent, AgentRuntime, AgentSession, SessionSpec, ToolSpec
from gastown.runtime.policy import ReadOnlyPolicy
from gastown.town.bus import Event, PlanProposed
from gastown.town.plan import DRAFT, PlanDraft, is_human, parse_plan
from gastown.town.pour import FormulaChoice, Poured, catalog_summary, prepare, write_plan

__all__ = ["DRAFT", "Mayor", "MayorMemory", "PlanError", "is_human", "write_plan"]

log = logging.getLogger(__name__)


MAYOR_SYSTEM = """You are the Mayor of Gas Town. You do not write code. You plan: break the Overseer's goal
into small tasks that separate workers (Polecats) can do in parallel on their own branches, each with clear
acceptance criteria, with dependencies only where one task needs another's result. Prefer tasks that touch
different files, and list the files each task will likely touch. Call the propose_plan tool exactly once
with the whole plan; if it is rejected, fix every problem named and call it again. When one of the town's
formulas (workflow templates, listed in the prompt) fits the goal, you may call pour_formula with its name
and variables instead of propose_plan."""


class PlanError(GastownError):
    """The Mayor could not produce a valid plan; the message says why."""


def planning_prompt(goal: str, ledger_state: str, past_goals: str, open_work: str = "", formulas: str = "") -> str:
    offer = (f"Formulas you may pour instead (pour_formula with the name and variables; * = required):\n"
             f"{formulas}\n\n") if formulas else ""
    return (
        f"Plan this goal for the town.\n\nGoal: {goal}\n\n"
        f"Ledger: {ledger_state}\n\n"
        f"Open work already in the ledger:\n{open_work or '(none)'}\n\n"
        f"Past goals:\n{past_goals or '(none)'}\n\n"
        + offer
        + "Call propose_plan with the plan" + (", or pour_formula with a formula that fits." if formulas else ".")
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
                 publish: Callable[[Event], None] | None = None,
                 formulas: Callable[[], Catalog] | None = None) -> None:
        self.runtime = runtime
        self.store = store
        self.workspace = workspace
        self.memory = memory
        self.max_plan_size = max_plan_size
        self.max_attempts = max_attempts
        self.turn_timeout = turn_timeout
        self.on_event = on_event
        self.publish = publish or (lambda _event: None)
        self.formulas = formulas  # the town's formulas, offered to the model (read per goal: files may change)
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
        accepted: list[Poured] = []
        rejections: list[list[str]] = []
        catalog = self.formulas() if self.formulas is not None else None

        def verdict(poured: Poured | None, problems: list[str], tool: str) -> str:
            """The same attempt budget and answers for a proposed plan and a poured formula."""
            attempt = len(rejections) + 1
            self.publish(PlanProposed(goal_id=goal_id, attempt=attempt, accepted=poured is not None,
                                      problems=problems))
            if poured is not None:
                accepted.append(poured)
                return (f"Plan accepted: {len(poured.plan.tasks)} tasks. "
                        + ("It waits for the Overseer's approval." if draft else "The Polecats will start now."))
            rejections.append(problems)
            reasons = "\n".join(f"- {p}" for p in problems)
            if attempt >= self.max_attempts:
                return (f"Plan rejected (attempt {attempt} of {self.max_attempts}, the last):\n{reasons}\n"
                        "The goal has failed. End your turn.")
            return (f"Plan rejected (attempt {attempt} of {self.max_attempts}). Fix every problem and call "
                    f"{tool} again:\n{reasons}")

        def closed() -> str | None:
            if accepted:
                return "A plan was already accepted for this goal. Do not call propose_plan again; end your turn."
            if len(rejections) + 1 > self.max_attempts:
                return "No attempts left: the goal has failed. End your turn."
            return None

        def propose_plan(raw: PlanDraft) -> str:
            refused = closed()
            if refused:
                return refused
            plan, problems = parse_plan(raw.model_dump(), self.max_plan_size)
            return verdict(Poured(plan) if plan is not None else None, problems, "propose_plan with the whole plan")

        def pour_formula(choice: FormulaChoice) -> str:
            refused = closed()
            if refused:
                return refused
            try:
                if catalog is None:
                    raise FormulaError(choice.name, [])
                values = {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
                          for k, v in choice.vars.items()}
                poured = prepare(catalog.get(choice.name), values, max_plan_size=self.max_plan_size)
            except FormulaError as exc:
                problems = [str(p) for p in exc.problems] or ["this town has no formulas"]
                return verdict(None, [f"formula {choice.name}: {p}" for p in problems],
                               "pour_formula (or propose_plan)")
            return verdict(poured, [], "pour_formula")

        tools: list[ToolSpec[Any]] = [ToolSpec("propose_plan", "Propose the plan for the goal: an epic and its tasks.", PlanDraft,
                          propose_plan)]
        if catalog is not None and catalog.formulas:
            tools.append(ToolSpec("pour_formula", "Pour one of the town's formulas (workflow templates) for the "
                                  "goal instead of writing a plan.", FormulaChoice, pour_formula))
        spec = SessionSpec(
            name="mayor",
            working_directory=self.workspace,
            policy=ReadOnlyPolicy(readable=[self.workspace]),
            system_message=MAYOR_SYSTEM,
            tools=tools,
            on_event=self.on_event,
        )
        state, open_work, past = await ledger_context(self.store)
        offer = catalog_summary(catalog) if catalog is not None else ""
        prompt = planning_prompt(goal, state, past, open_work, offer)
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

    async def _write(self, goal: str, poured: Poured, *, goal_id: str = "", draft: bool = False
                     ) -> tuple[Bead, list[Bead]]:
        return await write_plan(self.store, goal, poured.plan, goal_id=goal_id, draft=draft, human=poured.human,
                                labels=poured.labels, epic_metadata=poured.epic_metadata)

