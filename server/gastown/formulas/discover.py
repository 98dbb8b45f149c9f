"""Where formulas come from, lowest precedence first: the built-ins shipped with Gas Town, the user's
``~/.beads/formulas/``, the project's ``.beads/formulas/`` (Beads' own folders). A later file with the same
name replaces an earlier one; a broken file is kept as a problem under its name (so running that name says
what is wrong instead of quietly falling back to a lower one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gastown.formulas.load import SUFFIX, FormulaError, FormulaFile, Problem, load_file, name_of

BUILTIN_DIR = Path(__file__).parent / "builtin"
ORIGINS = ("builtin", "user", "project")


def search_paths(workspace: Path | None, home: Path | None = None) -> list[tuple[str, Path]]:
    home = home if home is not None else Path.home()
    paths = [("builtin", BUILTIN_DIR), ("user", home / ".beads" / "formulas")]
    if workspace is not None:
        paths.append(("project", workspace / ".beads" / "formulas"))
    return paths


@dataclass
class Catalog:
    formulas: dict[str, FormulaFile] = field(default_factory=dict)
    problems: dict[str, FormulaError] = field(default_factory=dict)  # name -> why its top file is broken

    def get(self, name: str) -> FormulaFile:
        if name in self.problems:
            raise self.problems[name]
        found = self.formulas.get(name)
        if found is None:
            known = ", ".join(sorted(self.formulas)) or "none"
            raise FormulaError(name, [Problem("", f"no formula named {name!r} (known: {known}; add "
                                              f".beads/formulas/{name}{SUFFIX})")])
        return found

    def sorted(self) -> list[FormulaFile]:
        return [self.formulas[n] for n in sorted(self.formulas)]


def discover(workspace: Path | None, home: Path | None = None) -> Catalog:
    catalog = Catalog()
    for origin, folder in search_paths(workspace, home):
        try:
            files = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
        except OSError:
            continue  # no such folder: nothing from there
        for path in files:
            name = name_of(path)
            below = [catalog.formulas[name].origin] if name in catalog.formulas else []
            try:
                loaded = load_file(path, origin)
            except FormulaError as exc:
                catalog.formulas.pop(name, None)
                catalog.problems[name] = exc
                continue
            loaded.shadows = below
            catalog.problems.pop(name, None)
            catalog.formulas[name] = loaded
    return catalog
