"""`gastown status | worktrees | gc`: the town's polecat runs and worktrees (reports from
``gastown.town.records``, shown by ``output``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any


def _status(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.cli.output import render_status
    from gastown.config import Settings
    from gastown.town.records import status_report

    stall = Settings.from_env().polecats.stall_seconds
    report = asyncio.run(status_report(Path(args.workspace).resolve(), stall_seconds=stall, all_runs=args.all))
    print(json.dumps(report, indent=2) if args.json else render_status(report))
    return 0


def _worktrees(args: argparse.Namespace) -> int:
    from gastown.cli.output import render_worktrees
    from gastown.town.records import worktrees_report

    report = worktrees_report(Path(args.workspace).resolve(), args.worktree_root)
    print(json.dumps(report, indent=2) if args.json else render_worktrees(report))
    return 0


def _gc(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.config import Settings
    from gastown.town.records import gc

    keep = args.keep_idle if args.keep_idle is not None else Settings.from_env().polecats.keep_idle_worktrees
    actions = asyncio.run(gc(Path(args.workspace).resolve(), dry_run=args.dry_run, keep_idle=keep,
                             worktree_root=args.worktree_root))
    prefix = "would " if args.dry_run else ""
    print("\n".join(prefix + a for a in actions) if actions else "Nothing to prune.")
    return 0


def add_parsers(sub: Any, only: str | None = None) -> None:
    """`gastown status`, `gastown worktrees`, `gastown gc` (only ``only``, when a command is named)."""
    if only in (None, "status"):
        p = sub.add_parser("status", help="polecat runs and their state (working, needs-input, stalled, done, failed)")
        p.add_argument("--workspace", default=".")
        p.add_argument("--all", action="store_true", help="every run, not only the newest per bead")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=_status)

    if only in (None, "worktrees"):
        p = sub.add_parser("worktrees", help="list polecat worktrees and archived work")
        p.add_argument("--workspace", default=".")
        p.add_argument("--worktree-root", help="default: where this town's polecats ran")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=_worktrees)

    if only in (None, "gc"):
        p = sub.add_parser("gc", help="prune worktrees and polecat branches, only what is safe (merged or archived)")
        p.add_argument("--workspace", default=".")
        p.add_argument("--worktree-root", help="default: where this town's polecats ran")
        p.add_argument("--dry-run", action="store_true", help="say what would be pruned, prune nothing")
        p.add_argument("--keep-idle", type=int, default=None, help="idle worktrees kept for reuse")
        p.set_defaults(func=_gc)
