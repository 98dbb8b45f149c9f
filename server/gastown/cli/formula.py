"""`gastown formula list | show NAME | run NAME --var k=v`: the formulas this workspace can pour (built-ins,
~/.beads/formulas, the project's .beads/formulas) and pouring one into an epic that runs like a goal.
``list`` and ``show`` read files only; ``run`` opens the town."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any

    from gastown.formulas import FormulaFile
    from gastown.town.town import Town


def formula_dict(found: FormulaFile) -> dict[str, Any]:
    from gastown.formulas.summary import FormulaInfo

    return FormulaInfo.of(found).model_dump(mode="json")


def _list(args: argparse.Namespace) -> int:
    from gastown.cli.output import print_json
    from gastown.cli.settings import workspace_of
    from gastown.formulas import discover

    catalog = discover(workspace_of(args))
    if args.json:
        print_json({"formulas": [formula_dict(f) for f in catalog.sorted()],
                    "problems": {name: str(err) for name, err in sorted(catalog.problems.items())}})
        return 0
    for found in catalog.sorted():
        f = found.formula
        names = " ".join(n + ("*" if v.required else "") for n, v in f.vars.items())
        print(f"{f.formula:<20} {found.origin:<8} {len(f.steps):>2} steps  {names:<24} {f.description}".rstrip())
    for err in catalog.problems.values():
        print(f"gastown: {err}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from gastown.cli.output import print_json
    from gastown.cli.settings import workspace_of
    from gastown.formulas import discover

    found = discover(workspace_of(args)).get(args.name)
    if args.json:
        print_json(formula_dict(found))
        return 0
    f = found.formula
    out = [f"{f.formula} (v{f.version}, {found.origin}: {found.path})"]
    if f.description:
        out.append(f.description)
    if f.vars:
        out.append("\nVariables:")
        for name, var in f.vars.items():
            how = "required" if var.required else f"default {var.default!r}" if var.default is not None else "optional"
            rules = (f"; one of {', '.join(var.enum)}" if var.enum else "") + (
                f"; pattern {var.pattern}" if var.pattern else "")
            out.append(f"  {name} ({how}{rules}){': ' + var.description if var.description else ''}")
    out.append("\nSteps:")
    for step in f.steps:
        extra = (" [human]" if step.human else "") + (f" needs {', '.join(step.requires)}" if step.requires else "")
        extra += f" if {step.condition}" if step.condition else ""
        out.append(f"  {step.id}: {step.title}{extra}")
    print("\n".join(out))
    return 0


def parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--var {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values


def _run(args: argparse.Namespace) -> int:
    """Pour the formula and follow its goal to the end (human steps wait for the Overseer to close them:
    `gastown bead close ID` from another terminal, or the editor); ``--pour-only`` writes the beads and exits
    (a running town, or `gastown resume`, works them)."""
    from gastown.cli.app import _follow, _print_reports
    from gastown.cli.settings import load, workspace_of
    from gastown.formulas import discover
    from gastown.town.pour import prepare

    values = parse_vars(args.var or [])
    settings = load(args).settings
    # Checked before the town opens: a bad formula or variable leaves no trace (not even .gastown/).
    prepare(discover(workspace_of(args)).get(args.name), values, max_plan_size=settings.max_plan_size)

    async def go(town: Town) -> int:
        from gastown.cli.output import print_json

        _, epic, beads, task = await town.pour_formula(args.name, values)
        if args.pour_only:
            task.cancel()
            if args.json:
                print_json({"epic_id": epic.id, "bead_ids": [b.id for b in beads]})
            else:
                print(f"Poured {epic.id} “{epic.title}”: {', '.join(b.id for b in beads)}")
            return 0
        report = await task
        _print_reports(args, [report])
        return 0 if report.ok else 1

    return _follow(workspace_of(args), settings, go, quiet=args.json)


def add_parser(sub: Any, only: str | None = None) -> None:
    from gastown.cli.settings import add_config_flags, add_workspace

    p = sub.add_parser("formula", help="workflow templates (Beads formulas): list, show, run one as a goal")
    fsub = p.add_subparsers(dest="formula_command", required=True)
    q = fsub.add_parser("list", help="the formulas of this workspace: built-in < ~/.beads/formulas < "
                                     ".beads/formulas (* = required variable)")
    add_workspace(q)
    q.add_argument("--json", action="store_true", help="print them as JSON (with any broken files)")
    q.set_defaults(func=_list)
    q = fsub.add_parser("show", help="a formula's variables and steps")
    q.add_argument("name")
    add_workspace(q)
    q.add_argument("--json", action="store_true", help="print it as JSON")
    q.set_defaults(func=_show)
    q = fsub.add_parser("run", help="pour a formula into an epic and its beads and run it like a goal "
                                    "(exit 1: not done)")
    q.add_argument("name")
    q.add_argument("--var", action="append", metavar="NAME=VALUE", help="a variable (repeat for more)")
    q.add_argument("--pour-only", action="store_true", help="write the beads and exit without running them")
    add_workspace(q)
    q.add_argument("--json", action="store_true", help="print the goal's report as JSON (progress on stderr)")
    add_config_flags(q)
    q.set_defaults(func=_run)
