"""`gastown bead …` and `gastown init`: the ledger from the command line (also the contract scripts use).

Wire in with ``gastown.ledger.cli.add_parser(sub)`` (and ``add_init_parser(sub)``) where ``sub`` is the
top-level subparsers object; every leaf command sets ``func(args) -> int``.

With the default database (``<git toplevel>/.gastown/beads.db``) the commands keep it in step with the
git-synced ``<git toplevel>/.beads/issues.jsonl``: before running, the JSONL is imported if it changed
underneath (git pull, checkout, merge); after a command that changed the ledger it is exported. ``--db``
or ``--no-sync`` turn that off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gastown.ledger import merge as merge_mod
from gastown.ledger.model import Bead, BeadEvent, LedgerError
from gastown.ledger.store import Store
from gastown.ledger.sync import ordered_bead_dict

DEFAULT_DB = Path(".gastown") / "beads.db"
DEFAULT_JSONL = Path(".beads") / "issues.jsonl"
MERGE_DRIVER_NAME = "gastown-beads"
GITATTRIBUTES_LINE = f"{DEFAULT_JSONL.as_posix()} merge={MERGE_DRIVER_NAME}"


def town_root(cwd: Path | None = None) -> Path:
    """The git toplevel of ``cwd``, else ``cwd``."""
    cwd = cwd or Path.cwd()
    top = _git_toplevel(cwd)
    return top if top is not None else cwd


def _git_toplevel(cwd: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    top = out.stdout.strip()
    return Path(top) if out.returncode == 0 and top else None


def _db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else town_root() / DEFAULT_DB


def _auto_jsonl(args: argparse.Namespace) -> Path | None:
    """The JSONL the command keeps in sync with, or None (explicit --db, --no-sync)."""
    if args.db or getattr(args, "no_sync", False):
        return None
    return town_root() / DEFAULT_JSONL


def _bead_json(bead: Bead) -> dict[str, Any]:
    return ordered_bead_dict(bead)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _line(bead: Bead) -> str:
    who = f" @{bead.assignee}" if bead.assignee else ""
    labels = f"  #{' #'.join(bead.labels)}" if bead.labels else ""
    return f"{bead.id}  [P{bead.priority} {bead.issue_type} {bead.status}]{who}  {bead.title}{labels}"


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


def _event_line(e: BeadEvent) -> str:
    detail = " ".join(
        x for x in (
            f"{e.old_value or ''} -> {e.new_value or ''}".strip() if e.old_value or e.new_value else "",
            f"({e.comment})" if e.comment else "",
        ) if x
    )
    return f"{e.created_at}  {e.event_type:<18} {e.actor or '-':<12} {detail}".rstrip()


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
            jsonl = _auto_jsonl(args)
            async with await Store.open(_db_path(args), prefix=args.prefix) as store:
                if jsonl is not None:
                    await store.import_if_changed(jsonl)
                before = store.version
                code = await coro_fn(store, args)
                if jsonl is not None and store.version != before:
                    await store.export_jsonl(jsonl)
                return code

        return asyncio.run(main())

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
    for target in args.deps or ():
        bead = await store.add_dependency(bead.id, target, actor=args.actor)
    _emit(args, bead)
    return 0


async def _show_cmd(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.get(i) for i in args.ids]
    if args.json:
        _print_json([_bead_json(b) for b in beads] if len(beads) > 1 else _bead_json(beads[0]))
    else:
        print("\n\n".join(_show(b) for b in beads))
    return 0


async def _events(store: Store, args: argparse.Namespace) -> int:
    await store.get(args.id)
    events = await store.events(args.id)
    if args.json:
        _print_json([e.model_dump(mode="json") for e in events])
    else:
        for e in events:
            print(_event_line(e))
    return 0


async def _list(store: Store, args: argparse.Namespace) -> int:
    beads = await store.list(
        status=args.status or None,
        parent=args.parent,
        issue_type=args.type or None,
        label=args.label or None,
        assignee=args.assignee,
        limit=args.limit or None,
    )
    _emit(args, beads)
    return 0


async def _ready(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.ready(limit=args.limit or None, parent=args.parent))
    return 0


async def _blocked(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.blocked())
    return 0


async def _search(store: Store, args: argparse.Namespace) -> int:
    syntax = True if args.fts else (False if args.plain else None)
    found = await store.search_scored(" ".join(args.query), limit=args.limit, syntax=syntax)
    if args.json:
        _print_json([{**_bead_json(b), "score": score} for b, score in found])
    else:
        for b, _ in found:
            print(_line(b))
    return 0


async def _update(store: Store, args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {}
    for name in ("title", "description", "design", "notes", "status", "priority", "assignee", "owner"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value if value != "" or name in ("title",) else None
    if args.acceptance is not None:
        fields["acceptance_criteria"] = args.acceptance or None
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


async def _reopen(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.reopen(i, actor=args.actor) for i in args.ids]
    _emit(args, beads if len(beads) > 1 else beads[0])
    return 0


async def _claim(store: Store, args: argparse.Namespace) -> int:
    assignee = args.assignee or args.actor
    if not assignee:
        raise LedgerError("claim needs --assignee (or --actor)")
    bead = await store.claim(args.id, assignee, actor=args.actor)
    if bead is None:
        current = await store.get(args.id)
        who = f", assigned to {current.assignee}" if current.assignee else ""
        raise LedgerError(f"{args.id} cannot be claimed (status {current.status}{who})")
    _emit(args, bead)
    return 0


async def _comment(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.add_comment(args.id, args.author or args.actor, args.text))
    return 0


async def _label_add(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.add_labels(args.id, args.labels, actor=args.actor))
    return 0


async def _label_remove(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.remove_labels(args.id, args.labels, actor=args.actor))
    return 0


async def _dep_add(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.add_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


async def _dep_remove(store: Store, args: argparse.Namespace) -> int:
    _emit(args, await store.remove_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


def _tree_lines(node: dict[str, Any], prefix: str = "", last: bool = True, root: bool = True) -> list[str]:
    if node.get("missing"):
        text = f"{node['id']} (not in the ledger)"
    else:
        text = f"{node['id']} [P{node['priority']} {node['issue_type']} {node['status']}] {node['title']}"
        if node.get("repeat"):
            text += " (shown above)"
        if node.get("truncated"):
            text += " …"
    if root:
        lines = [text]
        child_prefix = ""
    else:
        lines = [f"{prefix}{'└── ' if last else '├── '}{node['dep_type']}: {text}"]
        child_prefix = prefix + ("    " if last else "│   ")
    kids = node.get("children", [])
    for i, child in enumerate(kids):
        lines.extend(_tree_lines(child, child_prefix, i == len(kids) - 1, root=False))
    return lines


async def _dep_tree(store: Store, args: argparse.Namespace) -> int:
    tree = await store.dependency_tree(args.id, reverse=args.reverse, max_depth=args.max_depth)
    if args.json:
        _print_json(tree)
    else:
        print("\n".join(_tree_lines(tree)))
    return 0


async def _dep_cycles(store: Store, args: argparse.Namespace) -> int:
    found = await store.cycles()
    if args.json:
        _print_json(found)
    elif not found:
        print("no dependency cycles")
    else:
        for cycle in found:
            print(" -> ".join(cycle))
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
            {"path": str(path), "created": result.created, "updated": result.updated,
             "unchanged": result.unchanged}
        )
    else:
        print(f"{path}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    db = _db_path(args)
    jsonl = _jsonl_path(args)

    async def main() -> dict[str, Any]:
        aside = db.with_name(db.name + ".corrupt")
        had_db = db.exists()
        store, result = await Store.rebuild(db, jsonl, prefix=args.prefix)
        await store.close()
        return {
            "db": str(db), "jsonl": str(jsonl), "created": result.created,
            "moved_aside": str(aside) if had_db else None,
        }

    info = asyncio.run(main())
    if args.json:
        _print_json(info)
    else:
        moved = f" (the old database is kept as {info['moved_aside']})" if info["moved_aside"] else ""
        print(f"rebuilt {db} from {jsonl}: {info['created']} beads{moved}")
    return 0


def _merge_driver(args: argparse.Namespace) -> int:
    return merge_mod.main(args.base, args.ours, args.theirs)


# -- gastown init -----------------------------------------------------------------------------------------
def merge_driver_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gastown bead merge-driver %O %A %B"


def _git(repo: Path, *argv: str) -> str:
    out = subprocess.run(["git", *argv], cwd=repo, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise LedgerError(f"git {' '.join(argv)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def init_repo(path: Path, prefix: str = "gt") -> dict[str, Any]:
    """Set a git repository up for the ledger: the JSONL merge driver (``.gitattributes`` + git config),
    ``.gastown/`` kept out of git (``.git/info/exclude``), the database created and the JSONL imported
    (or first exported). Safe to run again."""
    root = _git_toplevel(path)
    if root is None:
        raise LedgerError(f"{path} is not a git repository (run `git init` first)")
    attributes = root / ".gitattributes"
    text = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    added_attribute = GITATTRIBUTES_LINE not in text.splitlines()
    if added_attribute:
        sep = "" if not text or text.endswith("\n") else "\n"
        attributes.write_text(f"{text}{sep}{GITATTRIBUTES_LINE}\n", encoding="utf-8")
    _git(root, "config", f"merge.{MERGE_DRIVER_NAME}.name", "Gas Town beads JSONL merge (field by field)")
    _git(root, "config", f"merge.{MERGE_DRIVER_NAME}.driver", merge_driver_command())
    exclude = Path(_git(root, "rev-parse", "--git-path", "info/exclude"))
    exclude = exclude if exclude.is_absolute() else root / exclude
    current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    if ".gastown/" not in current.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not current or current.endswith("\n") else "\n"
        exclude.write_text(f"{current}{sep}.gastown/\n", encoding="utf-8")

    async def ledger() -> dict[str, Any]:
        jsonl = root / DEFAULT_JSONL
        async with await Store.open(root / DEFAULT_DB, prefix=prefix) as store:
            imported = None
            if jsonl.exists():
                result = await store.import_jsonl(jsonl)
                imported = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
            await store.export_jsonl(jsonl)
            return {"imported": imported, "beads": len(await store.list())}

    info = asyncio.run(ledger())
    return {
        "root": str(root),
        "db": str(root / DEFAULT_DB),
        "jsonl": str(root / DEFAULT_JSONL),
        "gitattributes": str(attributes),
        "gitattributes_added": added_attribute,
        "merge_driver": merge_driver_command(),
        **info,
    }


def _init(args: argparse.Namespace) -> int:
    info = init_repo(Path(args.path).resolve(), prefix=args.prefix)
    if args.json:
        _print_json(info)
    else:
        print(f"ledger ready in {info['root']}: {info['beads']} beads, {info['jsonl']} merged by gastown-beads")
    return 0


def add_init_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``init`` to a top-level ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "init", help="set a git repository up for the ledger (database, JSONL merge driver)"
    )
    p.add_argument("path", nargs="?", default=".", help="inside the repository (default: .)")
    p.add_argument("--prefix", default="gt", help="id prefix for new beads (default: gt)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_init)
    return p


# -- parser --------------------------------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--db", default=None, help=f"ledger database (default: <git toplevel>/{DEFAULT_DB})")
    p.add_argument("--prefix", default="gt", help="id prefix for new beads (default: gt)")
    p.add_argument("--actor", default="", help="who is acting (recorded in events)")
    p.add_argument(
        "--no-sync", action="store_true",
        help=f"do not import/export <git toplevel>/{DEFAULT_JSONL} around the command",
    )
    return p


def _priority(text: str) -> int:
    try:
        value = int(text.removeprefix("P").removeprefix("p"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"priority must be 0..4 (got {text!r})") from None
    if not 0 <= value <= 4:
        raise argparse.ArgumentTypeError("priority must be 0..4")
    return value


def _leaf(sub: Any, name: str, fn: Callable[..., Any], common: argparse.ArgumentParser, *, raw: bool = False,
          **kw: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(name, parents=[common], **kw)
    p.set_defaults(func=fn if raw else _run(fn), command_name=name)
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
    p.add_argument("--parent", help="the new bead's id is <parent>.<n>")
    p.add_argument("-l", "--label", action="append", help="repeatable")
    p.add_argument("-a", "--assignee")
    p.add_argument("--deps", action="append", help="an id the new bead depends on (blocks); repeatable")

    p = _leaf(sub, "show", _show_cmd, common, help="show beads")
    p.add_argument("ids", nargs="+")

    p = _leaf(sub, "events", _events, common, help="the audit trail of a bead")
    p.add_argument("id")

    p = _leaf(sub, "list", _list, common, help="list beads (priority, then creation order)")
    p.add_argument("-s", "--status", action="append", help="repeatable")
    p.add_argument("-t", "--type", action="append", help="repeatable")
    p.add_argument("-l", "--label", action="append", help="has this label; repeatable (all must match)")
    p.add_argument("-a", "--assignee")
    p.add_argument("--parent")
    p.add_argument("--limit", type=int, default=0, help="0 = all")

    p = _leaf(sub, "ready", _ready, common, help="ready beads (priority, then creation order)")
    p.add_argument("--limit", type=int, default=100, help="default 100; 0 = all")
    p.add_argument("--parent", help="only descendants of this bead")

    _leaf(sub, "blocked", _blocked, common, help="open beads blocked by their dependencies")

    p = _leaf(sub, "search", _search, common, help="full-text search (title, description, notes, comments)")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=int, default=20, help="default 20; 0 = all")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plain", action="store_true", help="the words literally, no FTS5 operators")
    mode.add_argument("--fts", action="store_true", help="FTS5 query syntax (AND, OR, NOT, \"phrase\", pre*)")

    p = _leaf(sub, "update", _update, common, help="update a bead (an empty value unsets a field)")
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
    p.add_argument("--owner")
    p.add_argument("-l", "--label", action="append", help="replaces the labels; repeatable")

    p = _leaf(sub, "close", _close, common, help="close beads")
    p.add_argument("ids", nargs="+")
    p.add_argument("-r", "--reason", default="")

    p = _leaf(sub, "reopen", _reopen, common, help="reopen beads")
    p.add_argument("ids", nargs="+")

    p = _leaf(sub, "claim", _claim, common, help="claim an open, unassigned bead (atomic; exit 1 if taken)")
    p.add_argument("id")
    p.add_argument("-a", "--assignee", help="default: --actor")

    p = _leaf(sub, "comment", _comment, common, help="comment on a bead")
    p.add_argument("id")
    p.add_argument("text")
    p.add_argument("--author", default="")

    label = sub.add_parser("label", help="labels")
    label_sub = label.add_subparsers(dest="label_command", required=True, metavar="COMMAND")
    for name, fn, text in (("add", _label_add, "add labels"), ("remove", _label_remove, "remove labels")):
        p = _leaf(label_sub, name, fn, common, help=text)
        p.add_argument("id")
        p.add_argument("labels", nargs="+")

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
    p = _leaf(dep_sub, "tree", _dep_tree, common, help="what a bead depends on, as a tree")
    p.add_argument("id")
    p.add_argument("--reverse", action="store_true", help="what depends on it instead")
    p.add_argument("--max-depth", type=int, default=50)
    _leaf(dep_sub, "cycles", _dep_cycles, common, help="dependency cycles (imports may bring them)")

    p = _leaf(
        sub, "export", _export, common, help=f"export to JSONL (default: <git toplevel>/{DEFAULT_JSONL})"
    )
    p.add_argument("path", nargs="?")

    p = _leaf(sub, "import", _import, common, help=f"import JSONL (default: <git toplevel>/{DEFAULT_JSONL})")
    p.add_argument("path", nargs="?")

    p = _leaf(sub, "rebuild", _rebuild, common, raw=True,
              help="rebuild the database from the JSONL (after corruption; the old file is kept)")
    p.add_argument("path", nargs="?", help=f"the JSONL (default: <git toplevel>/{DEFAULT_JSONL})")

    p = sub.add_parser("merge-driver", help="git merge driver for the JSONL (gastown init registers it)")
    p.add_argument("base", help="%%O: the common ancestor")
    p.add_argument("ours", help="%%A: ours; the result is written here")
    p.add_argument("theirs", help="%%B: theirs")
    p.set_defaults(func=_merge_driver, command_name="merge-driver")
    return bead


def main(argv: list[str] | None = None) -> int:
    """Run ``bead …`` / ``init`` on their own (for tests); errors are reported as `gastown` reports them
    (gastown.cli.main catches the same LedgerError for the full command line)."""
    parser = argparse.ArgumentParser(prog="gastown")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    add_init_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LedgerError as e:
        print(f"gastown: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
