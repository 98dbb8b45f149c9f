"""`gastown pr status [--json]`: the pull requests of the town's goals (number, state, checks, URL), looked at
now on the code host (changing nothing); as last recorded when the host cannot be reached or no token is found."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from gastown.config import Settings
    from gastown.github.status import PullRequestStatus


async def pull_request_statuses(workspace: Path, settings: Settings, refresh: bool = True
                                ) -> tuple[list[PullRequestStatus], str]:
    """Every recorded pull request, refreshed when possible; the second value says why one was not."""
    from gastown.config import state_dir
    from gastown.errors import GastownError
    from gastown.github.landing import Hooks, Lander, epics_with_pull_requests
    from gastown.ledger.store import Store

    db = state_dir(workspace) / "beads.db"
    if not db.exists():
        return [], ""
    note = ""
    out: list[PullRequestStatus] = []
    async with await Store.open(db) as store:
        async def ignore(*_: object) -> None:
            return None

        lander = Lander(workspace, settings.integration_branch, settings.github, lambda: store,
                        Hooks(rework=ignore, needs_you=ignore))
        for epic, _ in epics_with_pull_requests(await store.list(issue_type="epic")):
            for status in await lander.statuses(epic.id):
                if refresh and not note and status.state == "open":
                    try:
                        status = await lander.peek(status)
                    except GastownError as exc:
                        note = f"not refreshed: {exc}"
                out.append(status)
    return out, note


def render(statuses: list[PullRequestStatus], note: str) -> str:
    if not statuses:
        return "No pull requests yet (github.landing is pr or pr-per-bead; or run `gastown land --pr`)."
    lines = []
    for s in statuses:
        who = s.bead_id or s.epic_id
        checks = {"success": "checks passed", "failure": "checks FAILED", "pending": "checks pending",
                  "none": "no checks yet", "timeout": "checks pending too long"}[s.checks]
        lines.append(f"{who}  #{s.number} {s.state}  {checks}" + (f" ({s.checks_line})" if s.checks_line else "")
                     + f"  {s.url}" + (f"\n    {s.detail}" if s.detail else ""))
    if note:
        lines.append(f"(as last recorded; {note})")
    return "\n".join(lines)


def _status(args: argparse.Namespace) -> int:
    import asyncio

    from gastown.cli.output import print_json
    from gastown.cli.settings import load, workspace_of

    settings = load(args).settings
    statuses, note = asyncio.run(pull_request_statuses(workspace_of(args), settings, refresh=not args.offline))
    if args.json:
        print_json({"pullRequests": [s.model_dump(mode="json", exclude={"seen_comments", "reported_sha"})
                                     for s in statuses], "note": note})
    else:
        print(render(statuses, note))
    return 0


def add_parsers(sub: Any, only: str | None = None) -> None:
    from gastown.cli.settings import add_config_flags, add_workspace

    p = sub.add_parser("pr", help="the goals' pull requests (github.landing pr / pr-per-bead)")
    pr_sub = p.add_subparsers(dest="pr_command", required=True)
    s = pr_sub.add_parser("status", help="number, state, checks and URL of each pull request")
    add_workspace(s)
    s.add_argument("--json", action="store_true")
    s.add_argument("--offline", action="store_true", help="as last recorded; do not ask the code host")
    add_config_flags(s)
    s.set_defaults(func=_status)
