"""Reading one `NAME.formula.toml`: TOML (tomllib), the shape (pydantic), then what the shape cannot say —
step ids unique, ``needs`` naming known steps and making no cycle, every ``{{var}}`` declared, conditions
in a form we evaluate, no Beads feature we do not pour. Every problem is reported at once, each with the
file, the line where it can be found and the field (``steps[1] (implement).needs``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gastown.errors import GastownError
from gastown.formulas.conditions import condition_problem
from gastown.formulas.model import (
    UNSUPPORTED_STEP,
    UNSUPPORTED_TOP,
    UNSUPPORTED_TYPES,
    VAR_REF,
    Formula,
)
from gastown.ledger.graph import find_cycle

SUFFIX = ".formula.toml"

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    where: str  # the field, e.g. "steps[1] (implement).needs"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{self.where}: {self.message}" if self.where else f"{at}{self.message}"


class FormulaError(GastownError):
    """A formula that cannot be loaded or poured; names the file, the lines and the fields."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"formula {source}:\n{lines}" if len(problems) != 1
                         else f"formula {source}: {problems[0]}")


@dataclass
class FormulaFile:
    """A loaded formula and where it came from (``builtin``, ``user`` or ``project``)."""

    formula: Formula
    path: Path
    origin: str
    shadows: list[str] = field(default_factory=list)  # the origins of files with the same name it hides

    @property
    def name(self) -> str:
        return self.formula.formula


def name_of(path: Path) -> str:
    return path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem


def load_file(path: Path, origin: str = "project") -> FormulaFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormulaError(str(path), [Problem("", f"cannot be read: {exc}")]) from None
    return FormulaFile(parse_formula(text, str(path), expect_name=name_of(path)), path, origin)


def parse_formula(text: str, source: str = "<formula>", expect_name: str | None = None) -> Formula:
    """A formula from TOML text, or a FormulaError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(found.group(1)) if found else None
        where = f"column {found.group(2)}" if found else ""
        raise FormulaError(source, [Problem(where, f"not valid TOML: {message}", line)]) from None
    lines = _Lines(text)
    problems = [Problem(_where(loc, data), message, lines.find(loc)) for loc, message in _unsupported(data)]
    formula: Formula | None = None
    try:
        formula = Formula.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if problems and loc and loc[-1] in (*UNSUPPORTED_STEP, *UNSUPPORTED_TOP):
                continue  # already said in words
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix(
                "Value error, ")
            problems.append(Problem(_where(loc, data), message, lines.find(loc)))
    if formula is not None:
        problems += [Problem(_where(loc, data), message, lines.find(loc))
                     for loc, message in _semantic(formula, expect_name)]
    if problems:
        raise FormulaError(source, problems)
    assert formula is not None
    return formula


def _unsupported(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    for key, why in UNSUPPORTED_TOP.items():
        if key in data:
            found.append(((key,), why))
    kind = data.get("type")
    if isinstance(kind, str) and kind in UNSUPPORTED_TYPES:
        found.append((("type",), UNSUPPORTED_TYPES[kind]))
    elif isinstance(kind, str) and kind != "workflow":
        found.append((("type",), f"unknown formula type {kind!r} (Gas Town pours type = \"workflow\")"))
    steps = data.get("steps")
    if isinstance(steps, list):
        for i, step in enumerate(steps):
            if isinstance(step, dict):
                for key, why in UNSUPPORTED_STEP.items():
                    if key in step:
                        found.append((("steps", i, key), why))
    return found


def _semantic(formula: Formula, expect_name: str | None) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    if expect_name is not None and formula.formula != expect_name:
        found.append((("formula",), f"{formula.formula!r} does not match the file name "
                      f"{expect_name}{SUFFIX} (a formula is found by its file name)"))
    first: dict[str, int] = {}
    for i, step in enumerate(formula.steps):
        if step.id in first:
            found.append((("steps", i, "id"), f"duplicate step id {step.id!r} (first at steps[{first[step.id]}])"))
        else:
            first[step.id] = i
    declared = set(formula.vars)
    for i, step in enumerate(formula.steps):
        for key in ("needs", "depends_on"):
            for dep in getattr(step, key):
                if dep not in first:
                    found.append((("steps", i, key), f"unknown step {dep!r}"))
                elif dep == step.id:
                    found.append((("steps", i, key), "a step cannot need itself"))
        for name in ("title", "description", "notes", "acceptance_criteria", "condition"):
            for ref in VAR_REF.findall(getattr(step, name)):
                if ref not in declared:
                    found.append((("steps", i, name), f"unknown variable {{{{{ref}}}}}" + _declared(declared)))
        gate = step.gate.describe() if step.gate else ""
        for ref in VAR_REF.findall(gate):
            if ref not in declared:
                found.append((("steps", i, "gate"), f"unknown variable {{{{{ref}}}}}" + _declared(declared)))
        for label in step.labels:
            for ref in VAR_REF.findall(label):
                if ref not in declared:
                    found.append((("steps", i, "labels"), f"unknown variable {{{{{ref}}}}}" + _declared(declared)))
        if step.condition:
            problem = condition_problem(step.condition)
            if problem:
                found.append((("steps", i, "condition"), problem))
    for ref in VAR_REF.findall(formula.description):
        if ref not in declared:
            found.append((("description",), f"unknown variable {{{{{ref}}}}}" + _declared(declared)))
    edges = [(s.id, d) for s in formula.steps for d in s.requires if d in first and d != s.id]
    cycle = find_cycle(edges)
    if cycle:
        at = first[cycle[0]]
        found.append((("steps", at, "needs"), "a needs cycle: " + " -> ".join(cycle)))
    return found


def _declared(declared: set[str]) -> str:
    return f" (declared: {', '.join(sorted(declared))})" if declared else " (the formula declares no [vars])"


def _where(loc: Loc, data: dict[str, Any]) -> str:
    """``steps[1] (implement).needs`` for ("steps", 1, "needs"); ``vars.version.pattern``; ``formula``."""
    out = ""
    steps = data.get("steps")
    i = 0
    while i < len(loc):
        part = loc[i]
        if part == "steps" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            n = int(loc[i + 1])
            step = steps[n] if isinstance(steps, list) and n < len(steps) else None
            sid = step.get("id") if isinstance(step, dict) else None
            out += f"steps[{n}]" + (f" ({sid})" if isinstance(sid, str) else "")
            i += 2
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
        i += 1
    return out


class _Lines:
    """Where a field is in the TOML text: the line of its key within its table, else the table's header."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.step_headers: list[int] = []  # 0-based line of each [[steps]]
        self.tables: dict[str, int] = {}  # "vars.version" -> line of [vars.version]
        self.first_table: int | None = None
        for n, raw in enumerate(self.lines):
            line = raw.strip()
            if line.startswith("[[") and line.split("#")[0].strip().rstrip("]").lstrip("[").strip() == "steps":
                self.step_headers.append(n)
            elif line.startswith("[") and not line.startswith("[["):
                self.tables.setdefault(line.split("#")[0].strip().strip("[]").strip(), n)
            if line.startswith("[") and self.first_table is None:
                self.first_table = n

    def _key_in(self, start: int, key: str) -> int | None:
        pattern = re.compile(rf"^\s*({re.escape(key)}\s*=|\[\s*steps\.{re.escape(key)}\s*\])")
        for n in range(start, len(self.lines)):
            if n > start and self.lines[n].strip().startswith("[["):
                break
            if pattern.match(self.lines[n]):
                return n + 1
        return None

    def find(self, loc: Loc) -> int | None:
        if not loc:
            return None
        if loc[0] == "steps" and len(loc) >= 2 and isinstance(loc[1], int):
            if loc[1] >= len(self.step_headers):
                return None
            start = self.step_headers[loc[1]]
            if len(loc) >= 3 and isinstance(loc[2], str):
                return self._key_in(start, loc[2]) or start + 1
            return start + 1
        if loc[0] == "vars" and len(loc) >= 2:
            header = self.tables.get(f"vars.{loc[1]}")
            if header is not None:
                if len(loc) >= 3 and isinstance(loc[2], str):
                    return self._key_in(header, loc[2]) or header + 1
                return header + 1
            inline = self.tables.get("vars")
            return self._key_in(inline, str(loc[1])) if inline is not None else None
        end = self.first_table if self.first_table is not None else len(self.lines)
        pattern = re.compile(rf"^\s*{re.escape(str(loc[0]))}\s*=")
        for n in range(end):
            if pattern.match(self.lines[n]):
                return n + 1
        header = self.tables.get(str(loc[0]))
        return header + 1 if header is not None else None
