"""`gastown answer | nudge` and `gastown bead retry`: the Overseer's word to a polecat, from a terminal.

Sent through the town's control socket (``gastown.town.control.send``): a running town carries it out at
once; with no town running, an answer or a retry is recorded on the bead for the next town (a nudge needs a
running polecat and is refused). The line printed says which."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any


def send(args: argparse.Namespace, method: str, text: str) -> int:
    from pathlib import Path

    from gastown.cli.output import print_json
    from gastown.town.control import send as send_request

    workspace = Path(getattr(args, "workspace", None) or ".").resolve()
    reply = send_request(workspace, method, args.id, text)
    if args.json:
        print_json({"bead_id": args.id, "method": method, **reply.model_dump()})
    else:
        where = "Delivered to the running town" if reply.delivered else "Recorded for the next town"
        print(f"{where}: {reply.message}" if reply.message else where)
    return 0


def _answer(args: argparse.Namespace) -> int:
    return send(args, "answer", args.text)


def _nudge(args: argparse.Namespace) -> int:
    return send(args, "nudge", args.text)


def add_parsers(sub: Any, only: str | None = None) -> None:
    for name, fn, text, what in (
        ("answer", _answer, "answer a polecat that waits for you (needs-input), or a blocked bead", "the answer"),
        ("nudge", _nudge, "send a message into a running polecat's session at once", "the message"),
    ):
        if only not in (None, name):
            continue
        p = sub.add_parser(name, help=text)
        p.add_argument("id", metavar="BEAD", help="the bead the polecat works")
        p.add_argument("text", metavar="TEXT", help=what)
        p.add_argument("--workspace", default=".", help="the git repository (default: .)")
        p.add_argument("--json", action="store_true", help="print the reply as JSON")
        p.set_defaults(func=fn)
