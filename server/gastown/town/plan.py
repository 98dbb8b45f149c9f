"""The Mayor's plan: the `propose_plan` tool's parameters and their validation (pure, unit-tested)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gastown.ledger.graph import find_cycle
from gastown.ledger.model import Bead

DRAFT = "draft"  # plan approval: beads wait in this status until the Overseer approves the plan
HUMAN_LABEL = "human"  # Beads' label for a bead a person must close


class PlanTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                     description="Short unique key, used by depends_on")
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    acceptance_criteria: str = Field(description="How the Refinery and the Overseer can tell it is done")
    priority: int = Field(default=2, ge=0, le=4, description="0 = most urgent")
    type: Literal["task", "bug", "feature", "chore"] = "task"
    depends_on: list[str] = Field(default_factory=list, description="Keys of tasks that must merge first")
    files: list[str] = Field(default_factory=list, description="Files this task will likely touch")


class Plan(BaseModel):
    """Call propose_plan once with the whole plan for the goal."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200, description="Short title of the goal (the epic)")
    summary: str = ""
    tasks: list[PlanTask] = Field(min_length=1)


def plan_problems(plan: Plan, max_size: int = 30) -> list[str]:
    """Everything wrong with a plan, in words the model can act on. Empty = valid."""
    problems: list[str] = []
    if not 1 <= len(plan.tasks) <= max_size:
        problems.append(f"a plan needs 1..{max_size} tasks, got {len(plan.tasks)}")
    keys = [t.key for t in plan.tasks]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        problems.append(f"duplicate task keys: {', '.join(dupes)}")
    known = set(keys)
    for task in plan.tasks:
        if not task.acceptance_criteria.strip():
            problems.append(f"task {task.key!r} has empty acceptance_criteria")
        for dep in task.depends_on:
            if dep not in known:
                problems.append(f"task {task.key!r} depends on unknown key {dep!r}")
            elif dep == task.key:
                problems.append(f"task {task.key!r} depends on itself")
    edges = [(t.key, d) for t in plan.tasks for d in t.depends_on if d in known and d != t.key]
    cycle = find_cycle(edges)
    if cycle:
        problems.append("dependency cycle: " + " -> ".join(cycle))
    return problems


class PlanDraft(BaseModel):
    """What `propose_plan` receives: anything, so that every malformed plan reaches ``parse_plan`` and the
    Mayor counts it and answers in words. The model is shown the strict ``Plan`` schema."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return Plan.model_json_schema(*args, **kwargs)


def parse_plan(data: dict[str, Any], max_size: int = 30) -> tuple[Plan | None, list[str]]:
    """A proposed plan and everything wrong with it (shape first, then graph and bounds)."""
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "plan"
            msg = "unknown field (not in the schema)" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}: {msg}")
        return None, problems
    problems = plan_problems(plan, max_size)
    return (plan if not problems else None), problems


def is_human(bead: Bead) -> bool:
    """A step only the Overseer closes (a formula's ``type = "human"`` or gated step): never dispatched."""
    return HUMAN_LABEL in (bead.labels or []) or bool((bead.metadata or {}).get("human"))
