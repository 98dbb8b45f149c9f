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

    from gastown.ledger.cli import add_parser as add_bead_parser

    add_bead_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
