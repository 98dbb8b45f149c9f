"""Pouring a formula: its rendered steps become a Mayor plan (step id = task key, ``needs`` = depends_on),
checked by the same ``parse_plan`` a Mayor plan passes, and written by the same ``write_plan`` — an epic
with its beads and dependencies in one transaction, or nothing. Human steps are written labelled
``human``: the dispatcher never gives them to a polecat; they block what needs them until the Overseer
closes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from gastown.formulas import Catalog, FormulaError, FormulaFile, Problem, Rendered, render
from gastown.ledger.model import Bead, DepType
from gastown.town.plan import DRAFT, HUMAN_LABEL, Plan, parse_plan

if TYPE_CHECKING:
    from gastown.ledger.store import Store


@dataclass
class Poured:
    """A plan ready to write: a formula's (its human task keys, labels, what the epic remembers) or a
    Mayor's own (none of those)."""

    plan: Plan
    human: frozenset[str] = frozenset()
    goal: str = ""
    labels: dict[str, list[str]] = field(default_factory=dict)
    epic_metadata: dict[str, Any] = field(default_factory=dict)


class FormulaChoice(BaseModel):
    """Call pour_formula to pour one of the town's formulas (listed in the prompt) for the goal instead of
    writing a plan: its steps become the beads."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(description="The formula's name, from the list in the prompt")
    vars: dict[str, Any] = Field(default_factory=dict, description="Its variables by name; every required one "
                                 "(marked *) must be given")


def prepare(found: FormulaFile, values: dict[str, str], *, max_plan_size: int = 30) -> Poured:
    """The formula with ``values`` as a validated plan; a FormulaError (naming the file) lists every problem."""
    source = str(found.path)
    rendered = render(found.formula, values, source)
    data = plan_data(rendered)
    plan, problems = parse_plan(data, max_plan_size)
    if plan is None:
        raise FormulaError(source, [Problem("", f"as a plan: {p}") for p in problems])
    shown = ", ".join(f"{k}={v}" for k, v in rendered.values.items() if v)
    goal = f"Formula {rendered.name}" + (f" ({shown})" if shown else "") + (
        f": {rendered.description}" if rendered.description else "")
    return Poured(plan=plan, human=frozenset(s.key for s in rendered.steps if s.human), goal=goal,
                  labels={s.key: s.labels for s in rendered.steps if s.labels},
                  epic_metadata={"formula": rendered.name, "formula_vars": rendered.values,
                                 "formula_path": source, "formula_skipped": rendered.skipped})


def plan_data(rendered: Rendered) -> dict[str, Any]:
    """The plan a Mayor would propose for these steps (as the propose_plan tool receives it)."""
    headline = [v for v in rendered.values.values() if v][:1]
    title = f"{rendered.name}: {headline[0]}" if headline else rendered.name
    return {
        "title": title[:200],
        "summary": rendered.description,
        "tasks": [{"key": s.key, "title": s.title, "description": s.description,
                   "acceptance_criteria": s.acceptance_criteria, "priority": s.priority, "type": s.issue_type,
                   "depends_on": s.needs, "files": s.files} for s in rendered.steps],
    }


async def write_plan(store: Store, goal: str, plan: Plan, *, goal_id: str = "", draft: bool = False,
                     human: frozenset[str] = frozenset(), labels: dict[str, list[str]] | None = None,
                     epic_metadata: dict[str, Any] | None = None, actor: str = "mayor") -> tuple[Bead, list[Bead]]:
    """Epic + tasks + dependencies in one ledger transaction: a plan (the Mayor's, or a poured formula's)
    lands whole or not at all. Tasks keyed in ``human`` are the Overseer's: labelled ``human``, never
    dispatched (see ``town.pour``)."""
    labels = labels or {}
    async with store.batch(actor=actor) as tx:
        epic = await tx.create(plan.title, description=goal + ("\n\n" + plan.summary if plan.summary else ""),
                               issue_type="epic", priority=min(t.priority for t in plan.tasks),
                               metadata={"goal": goal, "goal_id": goal_id, **(epic_metadata or {})})
        by_key: dict[str, Bead] = {}
        for task in plan.tasks:
            extra_labels = labels.get(task.key, [])
            metadata: dict[str, Any] = {"plan_key": task.key, "files": task.files}
            if task.key in human:
                extra_labels = [HUMAN_LABEL, *extra_labels]
                metadata["human"] = True
            by_key[task.key] = await tx.create(
                task.title, description=task.description, acceptance_criteria=task.acceptance_criteria,
                priority=task.priority, issue_type=task.type, parent=epic.id,
                labels=extra_labels or None, metadata=metadata,
            )
        for task in plan.tasks:
            for dep in task.depends_on:
                await tx.add_dependency(by_key[task.key].id, by_key[dep].id, DepType.BLOCKS)
        if draft:
            for bead in [epic, *by_key.values()]:
                await tx.update(bead.id, status=DRAFT)
    tasks = [await store.get(by_key[t.key].id) for t in plan.tasks]
    return await store.get(epic.id), tasks


async def pour(store: Store, poured: Poured, *, goal_id: str = "", draft: bool = False,
               actor: str = "overseer") -> tuple[Bead, list[Bead]]:
    return await write_plan(store, poured.goal, poured.plan, goal_id=goal_id, draft=draft, human=poured.human,
                            labels=poured.labels, epic_metadata=poured.epic_metadata, actor=actor)


def catalog_summary(catalog: Catalog, limit: int = 40) -> str:
    """One line a formula, for the Mayor's prompt: name, variables (* = required), what it is for."""
    lines = []
    for found in catalog.sorted()[:limit]:
        f = found.formula
        names = ", ".join(n + ("*" if v.required else "") for n, v in f.vars.items())
        human = f"; human steps: {', '.join(f.human_steps)}" if f.human_steps else ""
        lines.append(f"- {f.formula}({names}): {f.description or f.steps[0].title} "
                     f"[{len(f.steps)} steps{human}]")
    return "\n".join(lines)
