"""`gastown status | worktrees | gc | feed | doctor`: the town's polecat runs and worktrees (reports from
``gastown.town.records``, shown by ``output``), the live dashboard and the set-up checks."""

from __future__ import annotations

import argparse
import json

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any


def _status(args: argparse.Namespace) -> int:
    from gastown.cli.output import render_status
    from gastown.cli.settings import load, workspace_of
    from gastown.ledger.ids import natural_key
    from gastown.town.runs import status_report

    settings = load(args).settings
    workspace, stall = workspace_of(args), settings.polecats.stall_seconds
    # read with sqlite3 alone; a database of an older gastown takes the path that migrates it
    report = status_report(workspace, stall_seconds=stall, all_runs=args.all)
    if report is None:
        import asyncio

        from gastown.town.records import status_report as migrated_status_report

        report = asyncio.run(migrated_status_report(workspace, stall_seconds=stall, all_runs=args.all))
    report["runs"].sort(key=lambda r: (natural_key(r["bead_id"]), r["id"]))
    if settings.hosts.pool:  # each runtime host as it answers now
        import asyncio

        from gastown.town.hosts import probe_hosts

        report["hosts"] = asyncio.run(probe_hosts(settings.hosts))
    print(json.dumps(report, indent=2) if args.json else render_status(report))
    return 0


def _worktrees(args: argparse.Namespace) -> int:
    from gastown.cli.output import render_worktrees
    from gastown.cli.settings import load, workspace_of
    from gastown.ledger.ids import natural_key
    from gastown.town.records import worktrees_report

    report = worktrees_report(workspace_of(args), args.worktree_root or load(args).settings.worktree_root)
    report["worktrees"].sort(key=lambda e: natural_key(e["name"]))
    print(json.dumps(report, indent=2) if args.json else render_worktrees(report))
    return 0


def _gc(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.cli.settings import load, workspace_of
    from gastown.town.records import gc

    settings = load(args).settings
    keep = args.keep_idle if args.keep_idle is not None else settings.polecats.keep_idle_worktrees
    actions = asyncio.run(gc(workspace_of(args), dry_run=args.dry_run, keep_idle=keep,
                             worktree_root=args.worktree_root or settings.worktree_root))
    prefix = "would " if args.dry_run else ""
    print("\n".join(prefix + a for a in actions) if actions else "Nothing to prune.")
    return 0


def _feed(args: argparse.Namespace) -> int:
    from gastown.cli.feed import run_feed
    from gastown.cli.settings import load, workspace_of

    stall = load(args).settings.polecats.stall_seconds
    return run_feed(workspace_of(args), once=args.once, as_json=args.json, interval=args.interval,
                    stall_seconds=stall)


def _doctor(args: argparse.Namespace) -> int:
    from gastown import doctor
    from gastown.cli.output import print_json
    from gastown.cli.settings import load, workspace_of
    from gastown.config_sources import ConfigError

    workspace = workspace_of(args)
    try:
        settings = load(args).settings
        config = doctor.Check(name="config", ok=True, detail="settings load (see `gastown config show`)")
    except ConfigError as exc:
        from gastown.config import Settings

        settings = Settings()
        config = doctor.Check(name="config", ok=False, detail=str(exc), fix="correct the file, variable or flag named")
    probe = None if args.no_login_check else doctor.login_prober(settings.cli_path)
    report = doctor.run_checks(workspace, settings, probe)
    report.checks.insert(0, config)
    report.ok = report.ok and config.ok
    if args.json:
        print_json(report.model_dump())
    else:
        print(doctor.render(report))
    return 0 if report.ok else 1


def add_parsers(sub: Any, only: str | None = None) -> None:
    """`gastown status | worktrees | gc | feed | doctor` (only ``only``, when a command is named)."""
    from gastown.cli.settings import add_config_flags, add_workspace

    if only in (None, "status"):
        p = sub.add_parser("status", help="polecat runs and their state (working, needs-input, stalled, done, failed)")
        add_workspace(p)
        p.add_argument("--all", action="store_true", help="every run, not only the newest per bead")
        p.add_argument("--json", action="store_true")
        add_config_flags(p)
        p.set_defaults(func=_status)

    if only in (None, "worktrees"):
        p = sub.add_parser("worktrees", help="list polecat worktrees and archived work")
        add_workspace(p)
        p.add_argument("--json", action="store_true")
        add_config_flags(p)
        p.set_defaults(func=_worktrees)

    if only in (None, "feed"):
        p = sub.add_parser("feed", help="a live dashboard of the town: agents, beads, merge queue, what needs you "
                                        "(q quits)")
        add_workspace(p)
        p.add_argument("--once", action="store_true", help="print one snapshot and exit (scripts, tests)")
        p.add_argument("--json", action="store_true", help="print one snapshot as JSON and exit")
        p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")
        add_config_flags(p)
        p.set_defaults(func=_feed)

    if only in (None, "doctor"):
        p = sub.add_parser("doctor", help="check git, Python, the Copilot CLI, login or BYOK, the sandbox, the "
                                          "checkout root and the ledger (exit 1: a check failed)")
        add_workspace(p)
        p.add_argument("--json", action="store_true")
        p.add_argument("--no-login-check", action="store_true",
                       help="do not start the Copilot CLI to ask for its login")
        add_config_flags(p)
        p.set_defaults(func=_doctor)

    if only in (None, "gc"):
        p = sub.add_parser("gc", help="prune worktrees and polecat branches, only what is safe (merged or archived)")
        add_workspace(p)
        add_config_flags(p)
        p.add_argument("--dry-run", action="store_true", help="say what would be pruned, prune nothing")
        p.add_argument("--keep-idle", type=int, default=None, help="idle worktrees kept for reuse")
        p.set_defaults(func=_gc)
