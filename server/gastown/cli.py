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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gastown", description="Gas Town for VS Code")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("schemas", help="write the JSON Schemas of the ledger and protocol models")
    p.add_argument("--out", default="schemas", help="output folder (default: schemas)")
    p.set_defaults(func=_cmd_schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
