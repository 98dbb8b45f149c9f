"""A formula as others show it (the CLI's `formula list/show --json`, the editor's gastown/formulas): one
shape, so the terminal and the editor say the same thing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gastown.formulas.load import FormulaFile


class FormulaVar(BaseModel):
    name: str
    description: str = ""
    required: bool = False
    default: str | None = None
    enum: list[str] = Field(default_factory=list, description="The allowed values (empty: any)")
    pattern: str | None = Field(default=None, description="A regular expression the value must match")


class FormulaStep(BaseModel):
    id: str
    title: str = Field(description="As written, {{variables}} not substituted")
    needs: list[str] = Field(default_factory=list)
    human: bool = Field(default=False, description="Only the Overseer closes it; never given to a polecat")
    condition: str = ""
    acceptance_criteria: str = ""


class FormulaInfo(BaseModel):
    """A formula the town can pour: where it comes from, its variables and its steps."""

    name: str
    description: str = ""
    origin: Literal["builtin", "user", "project"]
    path: str
    shadows: list[str] = Field(default_factory=list, description="Origins of same-named files it replaces")
    version: int = 1
    vars: list[FormulaVar] = Field(default_factory=list)
    steps: list[FormulaStep] = Field(default_factory=list)

    @classmethod
    def of(cls, found: FormulaFile) -> FormulaInfo:
        f = found.formula
        return cls(
            name=f.formula, description=f.description, origin=found.origin,  # type: ignore[arg-type]
            path=str(found.path), shadows=found.shadows, version=f.version,
            vars=[FormulaVar(name=n, description=v.description, required=v.required, default=v.default,
                             enum=v.enum, pattern=v.pattern) for n, v in f.vars.items()],
            steps=[FormulaStep(id=s.id, title=s.title, needs=s.requires, human=s.human, condition=s.condition,
                               acceptance_criteria=s.acceptance_criteria) for s in f.steps],
        )
