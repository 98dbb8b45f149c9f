"""`gastown bead …`: the ledger from the command line.

Wire in with ``gastown.ledger.cli.add_parser(sub)`` where ``sub`` is the top-level subparsers object;
every leaf command sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gastown.ledger.model import Bead, LedgerError
from gastown.ledger.store import Store
from gastown.ledger.sync import ordered_bead_dict

DEFAULT_DB = Path(".gastown") / "beads.db"
DEFAULT_JSONL = Path(".beads") / "issues.jsonl"


def town_root(cwd: Path | None = None) -> Path:
    """The git toplevel of ``cwd``, else ``cwd``."""
    cwd = cwd or Path.cwd()
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:
        return cwd
    top = out.stdout.strip()
    return Path(top) if out.returncode == 0 and top else cwd


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else town_root() / DEFAULT_DB


def _bead_json(bead: Bead) -> dict[str, Any]:
    return ordered_bead_dict(bead)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _line(bead: Bead) -> str:
    who = f" @{bead.assignee}" if bead.assignee else ""
    return f"{bead.id}  [P{bead.priority} {bead.issue_type} {bead.status}]{who}  {bead.title}"


def _show(bead: Bead) -> str:
    out = [_line(bead)]
    for name in ("description", "design", "acceptance_criteria", "notes", "close_reason"):
        value = getattr(bead, name)
        if value:
            out.append(f"\n{name.replace('_', ' ').capitalize()}:\n{value}")
    if bead.labels:
        out.append(f"\nLabels: {', '.join(bead.labels)}")
    for dep in bead.dependencies or ():
        out.append(f"Depends on: {dep.depends_on_id} ({dep.type})")
    for c in bead.comments or ():
        out.append(f"\n[{c.created_at}] {c.author}: {c.text}")
    return "\n".join(out)


def _emit(args: argparse.Namespace, beads: Bead | list[Bead]) -> None:
    if args.json:
        if isinstance(beads, Bead):
            _print_json(_bead_json(beads))
        else:
            _print_json([_bead_json(b) for b in beads])
    elif isinstance(beads, Bead):
        print(_show(beads) if args.command_name == "show" else _line(beads))
    else:
        for b in beads:
            print(_line(b))


def _run(
    coro_fn: Callable[[Store, argparse.Namespace], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    def func(args: argparse.Namespace) -> int:
        async def main() -> int:
            async with await Store.open(_db_path(args), prefix=args.prefix) as store:
                return await coro_fn(store, args)

        try:
            return asyncio.run(main())
        except LedgerError as e:
            print(f"gastown: error: {e}", file=sys.stderr)
            return 1

    return func


# -- commands ------------------------------------------------------------------------------------------
async def _create(store: Store, args: argparse.Namespace) -> int:
    bead = await store.create(
        args.title,
        description=args.description,
        acceptance_criteria=args.acceptance,
        design=args.design,
        notes=args.notes,
        priority=args.priority,
        issue_type=args.type,
        parent=args.parent,
        labels=args.label or None,
        assignee=args.assignee,
        actor=args.actor,
    )
    _emit(args, bead)
    return 0


async def _show_cmd(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.get(i) for i in args.ids]
    if args.json:
        _print_json([_bead_json(b) for b in beads] if len(beads) > 1 else _bead_json(beads[0]))
    else:
        print("\n\n".join(_show(b) for b in beads))
    return 0


async def _list(store: Store, args: argparse.Namespace) -> int:
    beads = await store.list(status=args.status or None, parent=args.parent, issue_type=args.type or None)
    if args.limit:
        beads = beads[: args.limit]
    _emit(args, beads)
    return 0


async def _ready(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.ready(limit=args.limit or None, parent=args.parent))
    return 0


async def _update(store: Store, args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {}
    for name in ("title", "description", "design", "notes", "status", "priority", "assignee"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    if args.acceptance is not None:
        fields["acceptance_criteria"] = args.acceptance
    if args.type is not None:
        fields["issue_type"] = args.type
    if args.label is not None:
        fields["labels"] = args.label
    if not fields:
        raise LedgerError("nothing to update (give at least one --field)")
    _emit(args, await store.update(args.id, actor=args.actor, **fields))
    return 0


async def _close(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.close_bead(i, reason=args.reason, actor=args.actor) for i in args.ids]
    _emit(args, beads if len(beads) > 1 else beads[0])
    return 0


async def _comment(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.add_comment(args.id, args.author or args.actor, args.text))
    return 0


async def _dep_add(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.add_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


async def _dep_remove(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.remove_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


def _jsonl_path(args: argparse.Namespace) -> Path:
    return Path(args.path) if args.path else town_root() / DEFAULT_JSONL


async def _export(store: Store, args: argparse.Namespace) -> int:
    path = _jsonl_path(args)
    changed = await store.export_jsonl(path)
    if args.json:
        _print_json({"path": str(path), "changed": changed, "version": store.version})
    else:
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    return 0


async def _import(store: Store, args: argparse.Namespace) -> int:
    path = _jsonl_path(args)
    result = await store.import_jsonl(path, actor=args.actor or "import")
    if args.json:
        _print_json(
            {
                "path": str(path),
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
        )
    else:
        print(f"{path}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    return 0


# -- parser --------------------------------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--db", default=None, help=f"ledger database (default: <git toplevel>/{DEFAULT_DB})")
    p.add_argument("--prefix", default="gt", help="id prefix for new beads (default: gt)")
    p.add_argument("--actor", default="", help="who is acting (recorded in events)")
    return p


def _priority(text: str) -> int:
    value = int(text.removeprefix("P").removeprefix("p"))
    if not 0 <= value <= 4:
        raise argparse.ArgumentTypeError("priority must be 0..4")
    return value


def _leaf(sub: Any, name: str, fn: Callable[..., Awaitable[int]], common: argparse.ArgumentParser, **kw: Any):
    p = sub.add_parser(name, parents=[common], **kw)
    p.set_defaults(func=_run(fn), command_name=name)
    return p


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bead`` and its subcommands to a top-level ``add_subparsers()`` object."""
    common = _common()
    bead = subparsers.add_parser("bead", help="the Beads work ledger")
    sub = bead.add_subparsers(dest="bead_command", required=True, metavar="COMMAND")

    p = _leaf(sub, "create", _create, common, help="create a bead")
    p.add_argument("title")
    p.add_argument("-d", "--description")
    p.add_argument("--acceptance", help="acceptance criteria")
    p.add_argument("--design")
    p.add_argument("--notes")
    p.add_argument("-p", "--priority", type=_priority, default=2)
    p.add_argument("-t", "--type", default="task")
    p.add_argument("--parent")
    p.add_argument("-l", "--label", action="append")
    p.add_argument("-a", "--assignee")

    p = _leaf(sub, "show", _show_cmd, common, help="show beads")
    p.add_argument("ids", nargs="+")

    p = _leaf(sub, "list", _list, common, help="list beads (priority, then creation order)")
    p.add_argument("-s", "--status", action="append", help="repeatable")
    p.add_argument("-t", "--type", action="append", help="repeatable")
    p.add_argument("--parent")
    p.add_argument("--limit", type=int, default=0, help="0 = all")

    p = _leaf(sub, "ready", _ready, common, help="ready beads (priority, then creation order)")
    p.add_argument("--limit", type=int, default=0, help="0 = all")
    p.add_argument("--parent", help="only descendants of this bead")

    p = _leaf(sub, "update", _update, common, help="update a bead")
    p.add_argument("id")
    p.add_argument("--title")
    p.add_argument("-d", "--description")
    p.add_argument("--acceptance")
    p.add_argument("--design")
    p.add_argument("--notes")
    p.add_argument("-s", "--status")
    p.add_argument("-p", "--priority", type=_priority)
    p.add_argument("-t", "--type")
    p.add_argument("-a", "--assignee")
    p.add_argument("-l", "--label", action="append", help="replaces the labels; repeatable")

    p = _leaf(sub, "close", _close, common, help="close beads")
    p.add_argument("ids", nargs="+")
    p.add_argument("-r", "--reason", default="")

    p = _leaf(sub, "comment", _comment, common, help="comment on a bead")
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument("--author", default="")

    dep = sub.add_parser("dep", help="dependencies")
    dep_sub = dep.add_subparsers(dest="dep_command", required=True, metavar="COMMAND")
    for name, fn, default_type, text in (
        ("add", _dep_add, "blocks", "ISSUE depends on DEPENDS_ON"),
        ("remove", _dep_remove, None, "remove a dependency (of any type unless --type)"),
    ):
        p = _leaf(dep_sub, name, fn, common, help=text)
        p.add_argument("issue")
        p.add_argument("depends_on")
        p.add_argument("-t", "--type", default=default_type)

    p = _leaf(
        sub, "export", _export, common, help=f"export to JSONL (default: <git toplevel>/{DEFAULT_JSONL})"
    )
    p.add_argument("path", nargs="?")

    p = _leaf(sub, "import", _import, common, help=f"import JSONL (default: <git toplevel>/{DEFAULT_JSONL})")
    p.add_argument("path", nargs="?")
    return bead


def main(argv: list[str] | None = None) -> int:
    """Run ``bead …`` on its own (for tests and before the lead wires it in)."""
    parser = argparse.ArgumentParser(prog="gastown")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
