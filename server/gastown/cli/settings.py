"""The configuration flags every town command shares, and `gastown config show`.

Settings come from ``gastown.config_sources.load_settings`` (defaults < user file < repository file <
``GASTOWN_…`` environment < these flags); the flags are the top layer, named "command line" in
``config show``."""

from __future__ import annotations

import argparse
from pathlib import Path

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any

    from gastown.config_sources import LoadedSettings

# flag dest → the setting's dotted camelCase key
_FLAGS = {"max_polecats": "maxPolecats", "scenario": "scenario", "verify_command": "verifyCommand",
          "cli_path": "cliPath", "provider_type": "provider.type", "base_url": "provider.baseUrl",
          "model": "provider.model", "worktree_root": "worktreeRoot"}


def add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default=".", help="the git repository (default: .)")


def add_config_flags(p: argparse.ArgumentParser, *, worktree_root: bool = True) -> None:
    """The common settings as flags, plus ``--set KEY=VALUE`` for any other key."""
    g = p.add_argument_group("settings (override gastown.toml, ~/.config/gastown/config.toml and GASTOWN_*)")
    g.add_argument("--max-polecats", type=int, default=None, metavar="N", help="polecats at once (maxPolecats)")
    g.add_argument("--scenario", help="play this scenario on the local scripted model (offline)")
    g.add_argument("--verify-command", metavar="CMD", help="run by the Refinery before a merge (verifyCommand)")
    g.add_argument("--cli-path", metavar="PATH", help="the Copilot CLI executable (cliPath)")
    g.add_argument("--provider-type", choices=["copilot", "openai", "azure", "anthropic"],
                   help="copilot (your login) or BYOK (provider.type)")
    g.add_argument("--base-url", metavar="URL", help="the BYOK endpoint (provider.baseUrl)")
    g.add_argument("--model", help="the model name (provider.model)")
    if worktree_root:
        g.add_argument("--worktree-root", metavar="DIR", help="where polecat checkouts go (worktreeRoot)")
    g.add_argument("--set", dest="assignments", action="append", metavar="KEY=VALUE", default=[],
                   help="any setting by its dotted key, e.g. --set polecats.stallSeconds=60; repeatable")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given on the command line, as nested settings (``--set`` first, named flags win)."""
    from gastown.config_sources import parse_assignments

    out = parse_assignments(getattr(args, "assignments", None))
    for dest, key in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def load(args: argparse.Namespace) -> LoadedSettings:
    """This command's settings, every layer applied (ConfigError names a bad file, variable or flag)."""
    from gastown.config_sources import load_settings

    return load_settings(workspace_of(args), overrides(args))


def workspace_of(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "workspace", ".") or ".").resolve()


# -- `gastown config show` ------------------------------------------------------------------------------
def _show(args: argparse.Namespace) -> int:
    from gastown.cli.output import print_json, table

    loaded = load(args)
    rows = loaded.show()
    if args.json:
        print_json(rows)
        return 0
    lines = [["KEY", "VALUE", "SOURCE"]]
    for row in rows:
        value = row["value"]
        text = "" if value is None else value if isinstance(value, str) else _toml(value)
        lines.append([row["key"], text.replace("\n", " ")[:60], row["source"]])
    print(table(lines))
    return 0


def _toml(value: Any) -> str:
    import json

    return "true" if value is True else "false" if value is False else json.dumps(value, ensure_ascii=False)


def add_parsers(sub: Any, only: str | None = None) -> None:
    if only not in (None, "config"):
        return
    p = sub.add_parser("config", help="the effective settings and where each comes from")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    show = csub.add_parser("show", help="every key: its effective value and its source (secrets masked)")
    add_workspace(show)
    add_config_flags(show)
    show.add_argument("--json", action="store_true", help="print a JSON list of {key, value, source}")
    show.set_defaults(func=_show)
