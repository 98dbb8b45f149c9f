"""A formula's shape: Beads' `.formula.toml` (``formula``, ``description``, ``version``, ``type``,
``[vars.NAME]``, ``[[steps]]``) as pydantic models.

What Gas Town pours now: variables (with ``required``, ``default``, ``enum``, ``pattern``, ``type``),
steps with ``needs``/``depends_on``, ``type = "human"``, ``condition`` and ``gate`` (poured as a step the
Overseer closes). Two fields are Gas Town's own and ignored by Beads: ``acceptance_criteria`` and ``files``
on a step. Beads' composition features (loops, expansion, inheritance, aspects, nested children, runtime
fan-out) are named in ``UNSUPPORTED_*`` and refused with a message when a file uses them (see ``load``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STEP_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # the same keys a Mayor plan's tasks take
FORMULA_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
VAR_REF = re.compile(r"\{\{([a-zA-Z_][a-zA-Z0-9_]*)\}\}")  # Beads' {{variable}} placeholder
ISSUE_TYPES = ("task", "bug", "feature", "chore")
HUMAN = "human"  # the step type (and the bead label) of a step only the Overseer closes
GATE = "gate"  # Beads' async coordination step: no gate watchers here, so the Overseer closes it too

# Beads features not poured by Gas Town yet, by where they appear, with what to do instead.
UNSUPPORTED_TOP = {
    "extends": "formula inheritance (extends) is not supported yet: copy the parent's steps into this file",
    "compose": "composition rules (compose: bond points, hooks, expand, map) are not supported yet",
    "advice": "aspects (advice) are not supported yet",
    "pointcuts": "aspects (pointcuts) are not supported yet",
    "template": "expansion templates are not supported yet",
}
UNSUPPORTED_STEP = {
    "loop": "loops are not supported yet: write the repeated steps out",
    "expand": "inline expansion (expand) is not supported yet: write the expanded steps out",
    "expand_vars": "inline expansion (expand_vars) is not supported yet",
    "children": "nested steps (children) are not supported yet: make them top-level steps with needs",
    "waits_for": "fan-out gates (waits_for) are not supported yet",
    "on_complete": "runtime fan-out (on_complete) is not supported yet",
}
UNSUPPORTED_TYPES = {
    "expansion": "expansion formulas are not supported yet (only type = \"workflow\" is poured)",
    "aspect": "aspect formulas are not supported yet (only type = \"workflow\" is poured)",
    "convoy": "convoy formulas are not supported yet (only type = \"workflow\" is poured)",
}


class VarDef(BaseModel):
    """``[vars.NAME]``; Beads' shorthand ``NAME = "value"`` (a default) is accepted too."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    required: bool = False
    default: str | None = None
    enum: list[str] = Field(default_factory=list)
    pattern: str | None = None
    type: str = Field(default="string", pattern=r"^(string|int|bool)$")

    @model_validator(mode="after")
    def _consistent(self) -> VarDef:
        if self.required and self.default is not None:
            raise ValueError("a variable cannot be both required and have a default")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression: {exc}") from None
        if self.default is not None and self.default != "":
            problem = value_problem(self, self.default)
            if problem:
                raise ValueError(f"the default {problem}")
        return self


def value_problem(var: VarDef, value: str) -> str | None:
    """What is wrong with ``value`` for ``var`` (None: nothing)."""
    if var.enum and value not in var.enum:
        return f"{value!r} is not one of {', '.join(var.enum)}"
    if var.pattern and not re.search(var.pattern, value):
        return f"{value!r} does not match the pattern {var.pattern}"
    if var.type == "int" and not re.fullmatch(r"[+-]?\d+", value):
        return f"{value!r} is not an integer"
    if var.type == "bool" and value.lower() not in ("true", "false", "1", "0", "yes", "no"):
        return f"{value!r} is not true or false"
    return None


class Gate(BaseModel):
    """Beads' async wait before a step (``[steps.gate]``). Gas Town has no gate watchers yet: a gated step
    becomes a bead the Overseer closes when the condition holds (like a human step), the gate named in it."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, description="human, timer, gh:run, gh:pr, mail")
    id: str = ""
    await_id: str = ""
    timeout: str = ""

    def describe(self) -> str:
        what = self.await_id or self.id
        return f"{self.type}{f' {what}' if what else ''}{f' (timeout {self.timeout})' if self.timeout else ''}"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=40, pattern=STEP_ID)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    notes: str = ""
    acceptance_criteria: str = Field(default="", description="Gas Town's: how the Refinery and the Overseer "
                                     "can tell the step is done")
    type: str = Field(default="task", description="task, bug, feature, chore, or human/gate (the Overseer "
                      "closes it)")
    priority: int | None = Field(default=None, ge=0, le=4)
    labels: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    needs: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list, description="Gas Town's: files the step will likely touch")
    assignee: str = Field(default="", description="Accepted for Beads' files; polecats are assigned by the "
                          "dispatcher")
    condition: str = ""
    gate: Gate | None = None

    @property
    def human(self) -> bool:
        """Closed by the Overseer, never given to a polecat: ``type = "human"``, or a gated step."""
        return self.type in (HUMAN, GATE) or self.gate is not None

    @property
    def requires(self) -> list[str]:
        """``needs`` and ``depends_on`` (Beads merges them), in order, once each."""
        return list(dict.fromkeys([*self.needs, *self.depends_on]))

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in (*ISSUE_TYPES, HUMAN, GATE):
            raise ValueError(f"{value!r} is not supported (use one of {', '.join(ISSUE_TYPES)}, {HUMAN} or {GATE})")
        return value


class Formula(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formula: str = Field(min_length=1, max_length=80, pattern=FORMULA_NAME)
    description: str = ""
    version: int = Field(default=1, ge=1)
    type: str = "workflow"
    phase: str = Field(default="", description="Beads' liquid/vapor hint; Gas Town always pours beads")
    pour: bool = Field(default=False, description="Beads' step materialization flag; Gas Town always makes "
                       "one bead per step")
    vars: dict[str, VarDef] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand_vars(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("vars"), dict):
            data = {**data, "vars": {k: ({"default": v} if isinstance(v, str) else v)
                                     for k, v in data["vars"].items()}}
        return data

    @property
    def required_vars(self) -> list[str]:
        return [name for name, var in self.vars.items() if var.required]

    @property
    def human_steps(self) -> list[str]:
        return [s.id for s in self.steps if s.human]
