"""`gastown …` — the command line, every command in this package.

- ``app``: ``schemas``, ``serve``, ``demo``, ``run``, ``resume``, ``bench``, ``land``;
- ``bead``: ``bead …`` (the ledger, and ``bead retry``) and ``init``;
- ``town``: ``status``, ``worktrees``, ``gc``, ``feed`` (``feed``: the rich dashboard), ``doctor``;
- ``overseer``: ``answer``, ``nudge`` (and ``bead retry``'s sending);
- ``settings``: the configuration flags every town command shares, ``config show``;
- ``convoy``: ``convoy create|add|list|show``; ``costs``: tokens and time by goal, bead and role;
- ``github``: ``pr status`` (and ``land --pr`` in ``app``);
- ``formula``: ``formula list | show | run`` (workflow templates);
- ``host``: ``host`` (a runtime host for polecats of other machines' towns);
- ``output``: how things are shown (the domain modules print nothing).

Exit codes, the same for every command: 0 done; 1 not done — a goal that did not finish, a failed
``doctor`` check, a taken claim, or an error the user can fix (its message on stderr, no traceback: a
missing bead, a bad setting naming its file or variable, no Copilot CLI or login); 2 a usage error (unknown
command or flag, a missing argument: argparse's message); 130 interrupted (Ctrl-C).

Short commands are kept short: a command imports what it needs when it runs (``gastown bead ready``
loads the ledger's light reader, not the town, the runtime, GitPython or pygls), and only the named
command's arguments are built.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

_APP = frozenset({"schemas", "serve", "demo", "run", "resume", "bench", "land"})
_TOWN = frozenset({"status", "worktrees", "gc", "feed", "doctor"})
_OVERSEER = frozenset({"answer", "nudge"})
_COMMANDS = _APP | _TOWN | _OVERSEER | {"bead", "init", "config", "convoy", "costs", "pr", "formula", "host"}
EPILOG = ("exit codes: 0 done; 1 not done (a goal not finished, a failed check) or an error you can fix (the "
          "message says how); 2 usage error; 130 interrupted. Settings: gastown.toml in the repository, "
          "~/.config/gastown/config.toml, GASTOWN_* variables, flags; see `gastown config show`.")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the command it names is built (see module doc)."""
    from gastown.cli.parser import Parser

    words = [a for a in argv or () if not a.startswith("-")]
    only = words[0] if argv is not None and words and words[0] in _COMMANDS else None
    rest = list(argv or ())[list(argv or ()).index(only) + 1:] if only else []
    parser = Parser(prog="gastown", description="Gas Town for VS Code", epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    if only is None or only in _APP:
        from gastown.cli import app

        app.add_parsers(sub, only)
    if only in (None, "bead", "init"):
        from gastown.cli import bead

        bead.add_parser(sub, only, rest)
    if only is None or only in _TOWN:
        from gastown.cli import town

        town.add_parsers(sub, only)
    if only is None or only in _OVERSEER:
        from gastown.cli import overseer

        overseer.add_parsers(sub, only)
    if only in (None, "config"):
        from gastown.cli import settings

        settings.add_parsers(sub, only)
    if only in (None, "init"):
        from gastown.cli import bead

        bead.add_init_parser(sub, only)
    if only in (None, "convoy"):
        from gastown.cli import convoy

        convoy.add_parsers(sub, only)
    if only in (None, "costs"):
        from gastown.cli import costs

        costs.add_parsers(sub, only)
    if only in (None, "pr"):
        from gastown.cli import github

        github.add_parsers(sub, only)
    if only in (None, "formula"):
        from gastown.cli import formula

        formula.add_parser(sub, only)
    if only in (None, "host"):
        from gastown.cli import host

        host.add_parsers(sub, only)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    from gastown.errors import user_errors

    try:
        code: int = args.func(args)
        return code
    except user_errors() as exc:
        print(f"gastown: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
