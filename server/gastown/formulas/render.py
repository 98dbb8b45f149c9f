"""A formula with the Overseer's variables: the values checked (required, enum, pattern, type; no unknown
names), the steps whose condition is false left out (what needed them needs what they needed), and every
``{{var}}`` substituted. The result is what the town pours into beads."""

from __future__ import annotations

from dataclasses import dataclass, field

from gastown.formulas.conditions import holds
from gastown.formulas.load import FormulaError, Problem
from gastown.formulas.model import GATE, HUMAN, VAR_REF, Formula, Step, value_problem

HUMAN_CRITERIA = "The Overseer has done this step by hand and closed its bead."


@dataclass
class RenderedStep:
    key: str
    title: str
    description: str
    acceptance_criteria: str
    issue_type: str
    priority: int
    needs: list[str]
    human: bool
    files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass
class Rendered:
    name: str
    description: str
    values: dict[str, str]
    steps: list[RenderedStep]
    skipped: list[str] = field(default_factory=list)  # steps left out by their condition


def resolve_vars(formula: Formula, given: dict[str, str], source: str) -> dict[str, str]:
    """The values to substitute: given ones checked, defaults filled in; a FormulaError lists every problem."""
    problems: list[Problem] = []
    for name in given:
        if name not in formula.vars:
            takes = ", ".join(formula.vars) or "no variables"
            problems.append(Problem(f"vars.{name}", f"unknown variable (this formula takes: {takes})"))
    values: dict[str, str] = {}
    for name, var in formula.vars.items():
        if name in given:
            value = given[name]
        elif var.default is not None:
            value = var.default
        elif var.required:
            hint = f" — {var.description}" if var.description else ""
            problems.append(Problem(f"vars.{name}", f"required variable is missing (--var {name}=…){hint}"))
            continue
        else:
            value = ""
        if var.required and not value.strip():
            problems.append(Problem(f"vars.{name}", "required variable is empty"))
            continue
        if value:
            problem = value_problem(var, value)
            if problem:
                problems.append(Problem(f"vars.{name}", problem))
                continue
        values[name] = value
    if problems:
        raise FormulaError(source, problems)
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    return VAR_REF.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render(formula: Formula, given: dict[str, str], source: str = "") -> Rendered:
    source = source or formula.formula
    values = resolve_vars(formula, given, source)
    kept = [s for s in formula.steps if holds(s.condition, values)]
    skipped = {s.id: s for s in formula.steps if s not in kept}
    if not kept:
        raise FormulaError(source, [Problem("steps", "every step's condition is false with these variables: "
                                            "nothing to pour")])
    by_id = {s.id: s for s in formula.steps}

    def needs_of(step: Step, seen: frozenset[str] = frozenset()) -> list[str]:
        out: list[str] = []
        for dep in step.requires:
            if dep in skipped and dep not in seen:  # a left-out step passes on what it needed
                out += needs_of(by_id[dep], seen | {dep})
            elif dep not in skipped:
                out.append(dep)
        return list(dict.fromkeys(out))

    steps = []
    for step in kept:
        description = substitute(step.description, values)
        if step.notes:
            description += ("\n\n" if description else "") + substitute(step.notes, values)
        if step.gate is not None:
            description += (("\n\n" if description else "") + f"Gate: {substitute(step.gate.describe(), values)}"
                            " — close this bead when it is satisfied.")
        steps.append(RenderedStep(
            key=step.id, title=substitute(step.title, values), description=description,
            acceptance_criteria=substitute(step.acceptance_criteria, values) or default_criteria(step, values),
            issue_type="task" if step.type in (HUMAN, GATE) else step.type,
            priority=step.priority if step.priority is not None else 2, needs=needs_of(step), human=step.human,
            files=list(step.files), labels=[substitute(label, values) for label in step.labels]))
    return Rendered(formula.formula, substitute(formula.description, values), values, steps, sorted(skipped))


def default_criteria(step: Step, values: dict[str, str]) -> str:
    """Beads' steps carry no acceptance criteria: their description is their spec."""
    if step.human:
        return HUMAN_CRITERIA
    what = substitute(step.description, values).strip() or substitute(step.title, values)
    return f"Done as the step describes: {what}"
