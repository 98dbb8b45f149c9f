"""`gastown costs [--goal ID | --bead ID] [--json]`: tokens and time by goal, bead and role (Mayor, polecats,
reviewer), from the run records in ``.gastown/town.db``. The report is ``gastown.town.costs``; this prints."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gastown.town.costs import CostLine, CostReport


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m {secs:02d}s"


def _cells(line: CostLine) -> list[str]:
    return [f"{line.tokens:,}", fmt_seconds(line.seconds), str(line.runs)]


def render(report: CostReport) -> str:
    from gastown.cli.output import table

    if not report.total.runs:
        return "No runs recorded" + ("" if report.scope == "all" else f" for {report.scope}") + "."
    out = [f"Costs ({report.scope}): {report.total.tokens:,} tokens, {fmt_seconds(report.total.seconds)} "
           f"in {report.total.runs} runs", ""]
    rows = [["ROLE", "TOKENS", "TIME", "RUNS"]]
    rows += [[role, *_cells(line)] for role, line in report.by_role.items()]
    out.append(table(rows))
    for heading, groups in (("GOAL", report.goals), ("BEAD", report.beads)):
        if groups:
            rows = [[heading, "TOKENS", "TIME", "RUNS", "BY ROLE (tokens)", "TITLE"]]
            for g in groups:
                roles = ", ".join(f"{role} {line.tokens:,}" for role, line in g.by_role.items())
                rows.append([g.id, *_cells(g.total), roles, (g.title or "")[:50]])
            out += ["", table(rows)]
    return "\n".join(out)


def _costs(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.cli.output import print_json
    from gastown.cli.settings import workspace_of
    from gastown.town.costs import workspace_report

    report = asyncio.run(workspace_report(workspace_of(args), goal=args.goal, bead=args.bead))
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        print(render(report))
    return 0


def add_parsers(sub: Any, only: str | None = None) -> None:
    if only not in (None, "costs"):
        return
    from gastown.cli.settings import add_workspace

    p = sub.add_parser("costs", help="tokens and time by goal, bead and role (Mayor, polecats, reviewer)")
    add_workspace(p)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--goal", help="one goal (its epic id): its polecats, its reviews and its planning")
    scope.add_argument("--bead", help="one bead: its polecat runs and its reviews")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_costs)
