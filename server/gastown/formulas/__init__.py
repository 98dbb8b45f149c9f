"""Formulas: Beads' workflow templates (`NAME.formula.toml`), loaded, validated, listed and rendered with
variables. A domain package like the ledger: it knows nothing of the town, the editor or the CLI; the town
pours a rendered formula into beads (``gastown.town.pour``)."""

from gastown.formulas.discover import BUILTIN_DIR, Catalog, discover, search_paths
from gastown.formulas.load import FormulaError, FormulaFile, Problem, load_file, parse_formula
from gastown.formulas.model import HUMAN, Formula, Step, VarDef
from gastown.formulas.render import Rendered, RenderedStep, render

__all__ = ["BUILTIN_DIR", "HUMAN", "Catalog", "Formula", "FormulaError", "FormulaFile", "Problem", "Rendered",
           "RenderedStep", "Step", "VarDef", "discover", "load_file", "parse_formula", "render", "search_paths"]
