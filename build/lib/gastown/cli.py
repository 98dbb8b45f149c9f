"""`gastown serve | demo | schemas | bead …` — the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_schemas(args: argparse.Namespace) -> int:
    from gastown.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gastown import demo

    return demo.main(keep=args.keep, emit_json=args.json, workdir=args.workdir)


def _cmd_serve(args: argparse.Namespace) -> int:
    from gastown.lsp.server import serve

    return serve()


def _cmd_run(args: argparse.Namespace) -> int:
    """Submit a goal from the terminal and follow it to the end."""
    import asyncio

    from gastown.config import Settings
    from gastown.town.bus import Bus, Progress
    from gastown.town.town import Town

    overrides = {"maxPolecats": args.max_polecats} if args.max_polecats else {}
    if args.scenario:
        overrides["scenario"] = args.scenario
    settings = Settings.from_env(overrides)

    async def go() -> int:
        bus = Bus()
        bus.subscribe(lambda e: print(e.message, flush=True) if isinstance(e, Progress) else None)
        async with Town(Path(args.workspace), settings, bus) as town:
            _, epic, _, task = await town.submit_goal(args.goal)
            report = await task
        return 0 if report.ok else 1

    return asyncio.run(go())


def _cmd_land(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.config import Settings
    from gastown.town.town import Town

    async def go() -> int:
        async with Town(Path(args.workspace), Settings.from_env()) as town:
            print(await town.land())
        return 0

    return asyncio.run(go())


def _cmd_bench(args: argparse.Namespace) -> int:
    from gastown.ledger.bench import main as bench_ledger

    return bench_ledger(args.args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gastown", description="Gas Town for VS Code")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("schemas", help="write the JSON Schemas of the ledger and protocol models")
    p.add_argument("--out", default="schemas", help="output folder (default: schemas)")
    p.set_defaults(func=_cmd_schemas)

    p = sub.add_parser("serve", help="run the language server on stdio (started by the VS Code extension)")
    p.add_argument("--stdio", action="store_true", help="accepted for vscode-languageclient; stdio is the default")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="run a scripted goal end to end on a throwaway sample repository, offline")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    p.add_argument("--keep", action="store_true", help="keep the sample repository")
    p.add_argument("--workdir", help="use this folder instead of a temporary one (kept)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("run", help="submit a goal for the workspace and follow it to the end")
    p.add_argument("goal")
    p.add_argument("--workspace", default=".", help="the git repository (default: .)")
    p.add_argument("--scenario", help="play this scenario on the local scripted model (offline)")
    p.add_argument("--max-polecats", type=int, default=None)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", help="benchmarks that print JSON figures (bench/ has the others)")
    p.add_argument("which", choices=["ledger"])
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed on (e.g. --skip-100k)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("land", help="merge the integration branch into the current branch (never forced)")
    p.add_argument("--workspace", default=".")
    p.set_defaults(func=_cmd_land)

    from gastown.ledger.cli import add_init_parser
    from gastown.ledger.cli import add_parser as add_bead_parser

    add_bead_parser(sub)
    from gastown.town.records import add_parsers as add_town_parsers  # status, worktrees, gc

    add_town_parsers(sub)
    add_init_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from gastown.errors import user_errors

    try:
        return args.func(args)
    except user_errors() as exc:
        print(f"gastown: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
