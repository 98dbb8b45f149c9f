"""`gastown convoy create NAME BEAD… | add NAME BEAD… | list | show NAME [--json]`: named groups of beads across
goals, and how far they got (merged into the integration branch, landed on your branch).

The ledger is opened as ``gastown bead …`` opens it (same ``--db``, ``--no-sync`` and JSONL sync); a
refused command (an unknown bead, a name already taken) writes nothing. The logic is
``gastown.town.convoys``; this module only prints.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from gastown.cli.output import print_json

if TYPE_CHECKING:
    from gastown.ledger.store import Store
    from gastown.town.convoys import ConvoyProgress


def progress_line(p: ConvoyProgress) -> str:
    landed = f", landed on {p.landed_on}" if p.landed_on else ""
    return (f"{p.id}  {p.name}  [{p.status}]  {p.merged}/{p.total} merged, {p.landed}/{p.total} landed"
            f"{landed}")


def progress_text(p: ConvoyProgress) -> str:
    out = [progress_line(p), f"Tracks: {', '.join(p.tracked)}"]
    if p.merged_at:
        out.append(f"All merged at {p.merged_at}")
    if p.landed_at:
        out.append(f"Landed on {p.landed_on} at {p.landed_at}")
    for m in p.members:
        mark = "landed" if m.landed else "merged" if m.merged else m.status
        out.append(f"  {m.id}  [{mark}]  {m.title}")
    return "\n".join(out)


def _emit(args: argparse.Namespace, found: ConvoyProgress | list[ConvoyProgress]) -> None:
    if args.json:
        print_json([p.model_dump(mode="json") for p in found] if isinstance(found, list)
                   else found.model_dump(mode="json"))
    elif isinstance(found, list):
        for p in found:
            print(progress_line(p))
        if not found:
            print("no convoys (create one with `gastown convoy create NAME BEAD…`)")
    else:
        print(progress_text(found))


async def _create(store: Store, args: argparse.Namespace) -> int:
    from gastown.town import convoys

    convoy = await convoys.create(store, args.name, args.beads, actor=args.actor)
    _emit(args, await convoys.progress(store, convoy))
    return 0


async def _add(store: Store, args: argparse.Namespace) -> int:
    from gastown.town import convoys

    convoy = await convoys.add(store, args.name, args.beads, actor=args.actor)
    _emit(args, await convoys.progress(store, convoy))
    return 0


async def _list(store: Store, args: argparse.Namespace) -> int:
    from gastown.town import convoys

    _emit(args, await convoys.all_progress(store))
    return 0


async def _show(store: Store, args: argparse.Namespace) -> int:
    from gastown.town import convoys

    _emit(args, await convoys.progress(store, await convoys.find(store, args.name)))
    return 0


def add_parsers(subparsers: Any, only: str | None = None) -> None:
    if only not in (None, "convoy"):
        return
    from gastown.cli.bead import _common, _run

    convoy = subparsers.add_parser("convoy", help="named groups of beads across goals, tracked until they land")
    sub = convoy.add_subparsers(dest="convoy_command", required=True, metavar="COMMAND")
    common = _common()
    for name, fn, text, beads in (
        ("create", _create, "create a convoy tracking beads (an epic stands for its beads)", True),
        ("add", _add, "track more beads in a convoy (reopens it if it had landed)", True),
        ("list", _list, "every convoy with its progress", False),
        ("show", _show, "a convoy's beads and progress", False),
    ):
        p = sub.add_parser(name, parents=[common], help=text)
        p.set_defaults(func=_run(fn), command_name=name)
        if name != "list":
            p.add_argument("name", help="the convoy's name (or id)")
        if beads:
            p.add_argument("beads", nargs="+", metavar="BEAD", help="bead or epic ids")
