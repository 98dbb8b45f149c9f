"""`gastown schemas | serve | demo | run | resume | bench | land`: the editor's server and the town's goals."""

from __future__ import annotations

import argparse
from pathlib import Path

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from gastown.config import Settings
    from gastown.town.dispatcher import GoalReport
    from gastown.town.town import Town


def _schemas(args: argparse.Namespace) -> int:
    from gastown.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gastown import demo

    return demo.main(keep=args.keep, emit_json=args.json, workdir=args.workdir)


def _serve(args: argparse.Namespace) -> int:
    from gastown.lsp.server import serve

    return serve()


def _follow(workspace: Path, settings: Settings, go: Callable[[Town], Awaitable[int]], *,
            quiet: bool = False) -> int:
    """Open the town of ``workspace``, print its progress lines (on stderr when ``quiet``: stdout is kept for
    JSON), run ``go(town)`` (a coroutine returning the exit code) and close the town, whatever happens."""
    import asyncio
    import sys

    from gastown.town.bus import Bus, Progress
    from gastown.town.town import Town

    out = sys.stderr if quiet else sys.stdout

    async def main() -> int:
        bus = Bus()
        bus.subscribe(lambda e: print(e.message, file=out, flush=True) if isinstance(e, Progress) else None)
        async with Town(workspace, settings, bus) as town:
            return await go(town)

    code: int = asyncio.run(main())
    return code


def _report_line(report: GoalReport) -> str:
    state = "done" if report.ok else "NOT done"
    return (f"Goal {report.epic_id} {state}: {report.closed}/{report.beads} beads closed, {report.merged} merged"
            + (f", blocked: {', '.join(report.blocked)}" if report.blocked else "")
            + ("" if report.tests_passed else ", verification failed"))


def _run(args: argparse.Namespace) -> int:
    """Submit a goal from the terminal and follow it to the end (exit 0 when it is done, 1 when not)."""
    from gastown.cli.settings import load, workspace_of

    settings = load(args).settings

    async def go(town: Town) -> int:
        _, epic, _, task = await town.submit_goal(args.goal)
        report = await task
        _print_reports(args, [report])
        return 0 if report.ok else 1

    return _follow(workspace_of(args), settings, go, quiet=args.json)


def _print_reports(args: argparse.Namespace, reports: list[GoalReport]) -> None:
    if getattr(args, "json", False):
        import dataclasses
        import json

        print(json.dumps([{**dataclasses.asdict(r), "ok": r.ok} for r in reports], indent=2))
    else:
        for report in reports:
            print(_report_line(report), flush=True)


def _resume(args: argparse.Namespace) -> int:
    """Continue every unfinished goal of the workspace (as the editor does when it opens) and wait for them."""
    import asyncio
    import sys

    from gastown.cli.settings import load, workspace_of

    settings = load(args).settings

    async def go(town: Town) -> int:
        epics = await town.resume_goals()
        if not epics:
            if args.json:
                print("[]")
            else:
                print("Nothing to resume: every goal is finished.")
            return 0
        print(f"Resuming {', '.join(epics)}", file=sys.stderr if args.json else sys.stdout, flush=True)
        await asyncio.sleep(0)  # the goals' tasks register themselves with the dispatcher
        goals = town.dispatcher.goals
        reports = await asyncio.gather(*(town.dispatcher.run_goal(e, goals[e].goal_id if e in goals else "resumed")
                                         for e in epics))
        _print_reports(args, list(reports))
        return 0 if all(r.ok for r in reports) else 1

    return _follow(workspace_of(args), settings, go, quiet=args.json)


def _land(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.cli.settings import load, workspace_of
    from gastown.town.town import Town

    settings = load(args).settings

    async def go() -> int:
        async with Town(workspace_of(args), settings) as town:
            if args.pr:  # push the goal's branch and open or update its pull request (github.*)
                print(await town.land_pull_request(args.epic))
            else:
                print(await town.land())
        return 0

    return asyncio.run(go())


def _bench(args: argparse.Namespace) -> int:
    from gastown.ledger.bench import main as bench_ledger

    return bench_ledger(args.args)


def add_parsers(sub: Any, only: str | None = None) -> None:
    """The commands of this module (only ``only``, when a command is named), in the order of the help."""
    from gastown.cli.settings import add_config_flags, add_workspace

    if only in (None, "schemas"):
        p = sub.add_parser("schemas", help="write the JSON Schemas of the ledger and protocol models")
        p.add_argument("--out", default="schemas", help="output folder (default: schemas)")
        p.set_defaults(func=_schemas)

    if only in (None, "serve"):
        p = sub.add_parser("serve", help="run the language server on stdio (started by the VS Code extension)")
        p.add_argument("--stdio", action="store_true",
                       help="accepted for vscode-languageclient; stdio is the default")
        p.set_defaults(func=_serve)

    if only in (None, "demo"):
        p = sub.add_parser("demo", help="run a scripted goal end to end on a throwaway sample repository, offline")
        p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
        p.add_argument("--keep", action="store_true", help="keep the sample repository")
        p.add_argument("--workdir", help="use this folder instead of a temporary one (kept)")
        p.set_defaults(func=_demo)

    if only in (None, "run"):
        p = sub.add_parser("run", help="submit a goal for the workspace and follow it to the end (exit 1: not done)")
        p.add_argument("goal")
        add_workspace(p)
        p.add_argument("--json", action="store_true", help="print the goal's report as JSON (progress on stderr)")
        add_config_flags(p)
        p.set_defaults(func=_run)

    if only in (None, "resume"):
        p = sub.add_parser("resume", help="continue the unfinished goals (after a crash or a stop) and wait for "
                                          "them (exit 1: one is not done)")
        add_workspace(p)
        p.add_argument("--json", action="store_true", help="print the goals' reports as JSON (progress on stderr)")
        add_config_flags(p)
        p.set_defaults(func=_resume)

    if only in (None, "bench"):
        p = sub.add_parser("bench", help="benchmarks that print JSON figures (bench/ has the others)")
        p.add_argument("which", choices=["ledger"])
        p.add_argument("args", nargs=argparse.REMAINDER, help="passed on (e.g. --skip-100k)")
        p.set_defaults(func=_bench)

    if only in (None, "land"):
        p = sub.add_parser("land", help="merge the integration branch into the current branch (never forced); "
                                        "--pr: open or update the goal's pull request instead")
        add_workspace(p)
        p.add_argument("--pr", action="store_true", help="push the goal's branch to github.remote and open or update "
                                                         "its pull request (never forced)")
        p.add_argument("--epic", default=None, help="with --pr: the goal's epic (default: the newest one finished)")
        add_config_flags(p)
        p.set_defaults(func=_land)
