"""`gastown bead …` and `gastown init`: the ledger from the command line (also the contract scripts use).

With the default database (``<git toplevel>/.gastown/beads.db``) the commands keep it in step with the
git-synced ``<git toplevel>/.beads/issues.jsonl``: before running, the JSONL is imported if it changed
underneath (git pull, checkout, merge); after a command that changed the ledger it is exported. ``--db``
or ``--no-sync`` turn that off.

Reads (``ready``, ``list``, ``show``, ``blocked``) take a light path when the database needs nothing
done first (current schema, JSONL unchanged): ``gastown.ledger.reader`` over plain ``sqlite3``, no
pydantic, no event loop. Anything else — and those reads when an import or migration is due — opens
the Store. Both paths print the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from gastown.cli.output import bead_line, bead_text, event_line, print_json, tree_lines
from gastown.ledger.repo import DB_PATH, JSONL_PATH, root_of

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path
    from typing import Any

    from gastown.ledger.model import Bead
    from gastown.ledger.store import Store

    Light = Callable[[sqlite3.Connection, argparse.Namespace], int | None]


# Paths stay text here (the Store takes text too): a short read need not load pathlib.
def _db_path(args: argparse.Namespace) -> str:
    return args.db if args.db else os.path.join(root_of(), DB_PATH)


def _auto_jsonl(args: argparse.Namespace) -> str | None:
    """The JSONL the command keeps in sync with, or None (explicit --db, --no-sync)."""
    if args.db or getattr(args, "no_sync", False):
        return None
    return os.path.join(root_of(), JSONL_PATH)


def _as_row(bead: Bead) -> dict[str, Any]:
    from gastown.ledger.sync import ordered_bead_dict

    return ordered_bead_dict(bead)


def natural_ties(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the ledger's order (priority, creation, id) with ties — same priority and creation
    time — in natural id order (``gt-x.2`` before ``gt-x.10``) instead of byte order."""
    from gastown.ledger.ids import natural_key

    out: list[dict[str, Any]] = []
    i = 0
    while i < len(rows):
        j = i + 1
        tie = (rows[i].get("priority"), rows[i].get("created_at"))
        while j < len(rows) and (rows[j].get("priority"), rows[j].get("created_at")) == tie:
            j += 1
        out.extend(sorted(rows[i:j], key=lambda r: natural_key(r["id"])) if j - i > 1 else rows[i:j])
        i = j
    return out


def _emit(args: argparse.Namespace, beads: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Print one bead or a listing (rows in the JSONL shape)."""
    if isinstance(beads, list):
        beads = natural_ties(beads)
    if args.json:
        print_json(beads)
    elif isinstance(beads, dict):
        print(bead_text(beads) if args.command_name == "show" else bead_line(beads))
    else:
        for b in beads:
            print(bead_line(b))


def _emit_beads(args: argparse.Namespace, beads: Bead | list[Bead]) -> None:
    _emit(args, [_as_row(b) for b in beads] if isinstance(beads, list) else _as_row(beads))


def _run(
    coro_fn: Callable[[Store, argparse.Namespace], Awaitable[int]], light: Light | None = None
) -> Callable[[argparse.Namespace], int]:
    def func(args: argparse.Namespace) -> int:
        if light is not None:
            code = _try_light(light, args)
            if code is not None:
                return code
        import asyncio

        from gastown.ledger.store import Store

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


def _try_light(light: Light, args: argparse.Namespace) -> int | None:
    """Run a read on the light reader; None when it cannot answer (the Store path then does)."""
    from gastown.ledger import reader

    conn = reader.open_current(_db_path(args), _auto_jsonl(args))
    if conn is None:
        return None
    try:
        return light(conn, args)
    finally:
        conn.close()


# -- reads ----------------------------------------------------------------------------------------------
def _list_filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"status": args.status or None, "parent": args.parent, "issue_type": args.type or None,
            "label": args.label or None, "assignee": args.assignee, "limit": args.limit or None}


async def _list(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.list(**_list_filters(args)))
    return 0


def _list_light(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    from gastown.ledger import reader

    _emit(args, reader.list_beads(conn, **_list_filters(args)))
    return 0


async def _ready(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.ready(limit=args.limit or None, parent=args.parent))
    return 0


def _ready_light(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    from gastown.ledger import reader

    _emit(args, reader.ready(conn, limit=args.limit or None, parent=args.parent))
    return 0


async def _blocked(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.blocked())
    return 0


def _blocked_light(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    from gastown.ledger import reader

    _emit(args, reader.blocked(conn))
    return 0


def _show_rows(args: argparse.Namespace, rows: Sequence[dict[str, Any]]) -> int:
    if args.json:
        print_json(list(rows) if len(rows) > 1 else rows[0])
    else:
        print("\n\n".join(bead_text(b) for b in rows))
    return 0


async def _show(store: Store, args: argparse.Namespace) -> int:
    return _show_rows(args, [_as_row(await store.get(i)) for i in args.ids])


def _show_light(conn: sqlite3.Connection, args: argparse.Namespace) -> int | None:
    from gastown.ledger import reader

    rows = reader.get_many(conn, args.ids)
    return None if rows is None else _show_rows(args, rows)  # a missing id: the Store path says so


async def _events(store: Store, args: argparse.Namespace) -> int:
    await store.get(args.id)
    events = await store.events(args.id)
    if args.json:
        print_json([e.model_dump(mode="json") for e in events])
    else:
        for e in events:
            print(event_line(e))
    return 0


async def _search(store: Store, args: argparse.Namespace) -> int:
    syntax = True if args.fts else (False if args.plain else None)
    found = await store.search_scored(" ".join(args.query), limit=args.limit, syntax=syntax)
    if args.json:
        print_json([{**_as_row(b), "score": score} for b, score in found])
    else:
        for b, _ in found:
            print(bead_line(_as_row(b)))
    return 0


async def _dep_tree(store: Store, args: argparse.Namespace) -> int:
    tree = await store.dependency_tree(args.id, reverse=args.reverse, max_depth=args.max_depth)
    if args.json:
        print_json(tree)
    else:
        print("\n".join(tree_lines(tree)))
    return 0


async def _dep_cycles(store: Store, args: argparse.Namespace) -> int:
    found = await store.cycles()
    if args.json:
        print_json(found)
    elif not found:
        print("no dependency cycles")
    else:
        for cycle in found:
            print(" -> ".join(cycle))
    return 0


# -- writes ---------------------------------------------------------------------------------------------
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
    _emit_beads(args, bead)
    return 0


async def _update(store: Store, args: argparse.Namespace) -> int:
    from gastown.ledger.model import LedgerError

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
    _emit_beads(args, await store.update(args.id, actor=args.actor, **fields))
    return 0


async def _close(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.close_bead(i, reason=args.reason, actor=args.actor) for i in args.ids]
    _emit_beads(args, beads if len(beads) > 1 else beads[0])
    return 0


async def _reopen(store: Store, args: argparse.Namespace) -> int:
    beads = [await store.reopen(i, actor=args.actor) for i in args.ids]
    _emit_beads(args, beads if len(beads) > 1 else beads[0])
    return 0


async def _claim(store: Store, args: argparse.Namespace) -> int:
    from gastown.ledger.model import LedgerError

    assignee = args.assignee or args.actor
    if not assignee:
        raise LedgerError("claim needs --assignee (or --actor)")
    bead = await store.claim(args.id, assignee, actor=args.actor)
    if bead is None:
        current = await store.get(args.id)
        who = f", assigned to {current.assignee}" if current.assignee else ""
        raise LedgerError(f"{args.id} cannot be claimed (status {current.status}{who})")
    _emit_beads(args, bead)
    return 0


async def _comment(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.add_comment(args.id, args.author or args.actor, args.text))
    return 0


async def _label_add(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.add_labels(args.id, args.labels, actor=args.actor))
    return 0


async def _label_remove(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.remove_labels(args.id, args.labels, actor=args.actor))
    return 0


async def _dep_add(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.add_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


async def _dep_remove(store: Store, args: argparse.Namespace) -> int:
    _emit_beads(args, await store.remove_dependency(args.issue, args.depends_on, args.type, actor=args.actor))
    return 0


# -- JSONL and the database -------------------------------------------------------------------------------
def _jsonl_path(args: argparse.Namespace) -> Path:
    from pathlib import Path

    return Path(args.path if args.path else os.path.join(root_of(), JSONL_PATH))


async def _export(store: Store, args: argparse.Namespace) -> int:
    path = _jsonl_path(args)
    changed = await store.export_jsonl(path)
    if args.json:
        print_json({"path": str(path), "changed": changed, "version": store.version})
    else:
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    return 0


async def _import(store: Store, args: argparse.Namespace) -> int:
    path = _jsonl_path(args)
    result = await store.import_jsonl(path, actor=args.actor or "import")
    if args.json:
        print_json(
            {"path": str(path), "created": result.created, "updated": result.updated,
             "unchanged": result.unchanged}
        )
    else:
        print(f"{path}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
    return 0


def _retry(args: argparse.Namespace) -> int:
    """Through the running town (or recorded for the next one): see ``gastown.cli.overseer``."""
    from gastown.cli.overseer import send

    if args.workspace is None:
        args.workspace = root_of()
    return send(args, "retry", args.note)


def _rebuild(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from gastown.ledger.store import Store

    db = Path(_db_path(args))
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
        print_json(info)
    else:
        moved = f" (the old database is kept as {info['moved_aside']})" if info["moved_aside"] else ""
        print(f"rebuilt {db} from {jsonl}: {info['created']} beads{moved}")
    return 0


def _merge_driver(args: argparse.Namespace) -> int:
    """git's entry point: 0 = merged into ``ours``; 1 = a file could not be parsed (git then reports a
    conflict and leaves the file for a human)."""
    from gastown.ledger.merge import merge_into
    from gastown.ledger.model import LedgerError

    try:
        merge_into(args.base, args.ours, args.theirs)
    except LedgerError as e:
        print(f"gastown merge-driver: {e}", file=sys.stderr)
        return 1
    return 0


# -- gastown init -----------------------------------------------------------------------------------------
def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gastown.ledger.repo import init_repo

    info = init_repo(Path(args.path).resolve(), prefix=args.prefix)
    if args.json:
        print_json(info)
    else:
        print(f"ledger ready in {info['root']}: {info['beads']} beads, {info['jsonl']} merged by gastown-beads")
    return 0


def add_init_parser(subparsers: Any, only: str | None = None) -> argparse.ArgumentParser | None:
    """Add ``init`` to a top-level ``add_subparsers()`` object (unless ``only`` names another command)."""
    if only in (None, "init"):
        p: argparse.ArgumentParser = subparsers.add_parser(
            "init", help="set a git repository up for the ledger (database, JSONL merge driver)"
        )
        p.add_argument("path", nargs="?", default=".", help="inside the repository (default: .)")
        p.add_argument("--prefix", default="gt", help="id prefix for new beads (default: gt)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=_init)
        return p
    return None


# -- parser --------------------------------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    from gastown.cli.parser import Parser

    p = Parser(add_help=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--db", default=None, help=f"ledger database (default: <git toplevel>/{DB_PATH})")
    p.add_argument("--prefix", default="gt", help="id prefix for new beads (default: gt)")
    p.add_argument("--actor", default="", help="who is acting (recorded in events)")
    p.add_argument(
        "--no-sync", action="store_true",
        help=f"do not import/export <git toplevel>/{JSONL_PATH} around the command",
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


_LEAF_NAMES = frozenset({
    "create", "show", "events", "list", "ready", "blocked", "search", "update", "close", "reopen", "claim",
    "comment", "label", "dep", "export", "import", "rebuild", "merge-driver", "retry",
})


class _Leaves:
    """Adds leaf commands; with ``only`` set (the command named on the command line) only that one —
    argparse never parses the others, and building every parser is most of the cost of a short
    command. (``gastown bead --help`` or a mistyped command builds them all.)"""

    def __init__(self, only: str | None) -> None:
        self.only = only
        self._common: argparse.ArgumentParser | None = None

    def common(self) -> argparse.ArgumentParser:
        if self._common is None:
            self._common = _common()
        return self._common

    def add(self, sub: Any, name: str, fn: Callable[..., Any], *, raw: bool = False, light: Light | None = None,
            **kw: Any) -> argparse.ArgumentParser | None:
        if self.only is not None and name != self.only:
            return None
        p: argparse.ArgumentParser = sub.add_parser(name, parents=[self.common()], **kw)
        p.set_defaults(func=fn if raw else _run(fn, light), command_name=name)
        return p


def add_parser(subparsers: Any, only: str | None = None,
               argv: Sequence[str] = ()) -> argparse.ArgumentParser | None:
    """Add ``bead`` and its subcommands to a top-level ``add_subparsers()`` object. ``only``: the
    top-level command on the command line (None: build everything; another command: add nothing);
    ``argv`` the words after it."""
    if only not in (None, "bead"):
        return None
    bead: argparse.ArgumentParser = subparsers.add_parser("bead", help="the Beads work ledger")
    words = [a for a in argv if not a.startswith("-")]
    leaf = words[0] if only is not None and words and words[0] in _LEAF_NAMES else None
    leaves = _Leaves(leaf)
    sub = bead.add_subparsers(dest="bead_command", required=True, metavar="COMMAND")

    p = leaves.add(sub, "create", _create, help="create a bead")
    if p:
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

    p = leaves.add(sub, "show", _show, light=_show_light, help="show beads")
    if p:
        p.add_argument("ids", nargs="+")

    p = leaves.add(sub, "events", _events, help="the audit trail of a bead")
    if p:
        p.add_argument("id")

    p = leaves.add(sub, "list", _list, light=_list_light, help="list beads (priority, then creation order)")
    if p:
        p.add_argument("-s", "--status", action="append", help="repeatable")
        p.add_argument("-t", "--type", action="append", help="repeatable")
        p.add_argument("-l", "--label", action="append", help="has this label; repeatable (all must match)")
        p.add_argument("-a", "--assignee")
        p.add_argument("--parent")
        p.add_argument("--limit", type=int, default=0, help="0 = all")

    p = leaves.add(sub, "ready", _ready, light=_ready_light, help="ready beads (priority, then creation order)")
    if p:
        p.add_argument("--limit", type=int, default=100, help="default 100; 0 = all")
        p.add_argument("--parent", help="only descendants of this bead")

    leaves.add(sub, "blocked", _blocked, light=_blocked_light, help="open beads blocked by their dependencies")

    p = leaves.add(sub, "search", _search, help="full-text search (title, description, notes, comments)")
    if p:
        p.add_argument("query", nargs="+")
        p.add_argument("--limit", type=int, default=20, help="default 20; 0 = all")
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--plain", action="store_true", help="the words literally, no FTS5 operators")
        mode.add_argument("--fts", action="store_true",
                          help="FTS5 query syntax (AND, OR, NOT, \"phrase\", pre*)")

    p = leaves.add(sub, "update", _update, help="update a bead (an empty value unsets a field)")
    if p:
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

    p = leaves.add(sub, "close", _close, help="close beads")
    if p:
        p.add_argument("ids", nargs="+")
        p.add_argument("-r", "--reason", default="")

    p = leaves.add(sub, "reopen", _reopen, help="reopen beads")
    if p:
        p.add_argument("ids", nargs="+")

    p = leaves.add(sub, "claim", _claim, help="claim an open, unassigned bead (atomic; exit 1 if taken)")
    if p:
        p.add_argument("id")
        p.add_argument("-a", "--assignee", help="default: --actor")

    p = leaves.add(sub, "comment", _comment, help="comment on a bead")
    if p:
        p.add_argument("id")
        p.add_argument("text")
        p.add_argument("--author", default="")

    p = leaves.add(sub, "retry", _retry, raw=True,
                   help="reopen an escalated or blocked bead and dispatch it with a note for its polecat")
    if p:
        p.add_argument("id")
        p.add_argument("--note", required=True, help="what the polecat should know or do differently")
        p.add_argument("--workspace", default=None, help="the git repository (default: the git toplevel of .)")

    if leaves.only in (None, "label"):
        label = sub.add_parser("label", help="labels")
        label_sub = label.add_subparsers(dest="label_command", required=True, metavar="COMMAND")
        every = _Leaves(None)
        for name, fn, text in (("add", _label_add, "add labels"), ("remove", _label_remove, "remove labels")):
            p = every.add(label_sub, name, fn, help=text)
            assert p is not None
            p.add_argument("id")
            p.add_argument("labels", nargs="+")

    if leaves.only in (None, "dep"):
        dep = sub.add_parser("dep", help="dependencies")
        dep_sub = dep.add_subparsers(dest="dep_command", required=True, metavar="COMMAND")
        every = _Leaves(None)
        for name, fn, default_type, text in (
            ("add", _dep_add, "blocks", "ISSUE depends on DEPENDS_ON"),
            ("remove", _dep_remove, None, "remove a dependency (of any type unless --type)"),
        ):
            p = every.add(dep_sub, name, fn, help=text)
            assert p is not None
            p.add_argument("issue")
            p.add_argument("depends_on")
            p.add_argument("-t", "--type", default=default_type)
        p = every.add(dep_sub, "tree", _dep_tree, help="what a bead depends on, as a tree")
        assert p is not None
        p.add_argument("id")
        p.add_argument("--reverse", action="store_true", help="what depends on it instead")
        p.add_argument("--max-depth", type=int, default=50)
        every.add(dep_sub, "cycles", _dep_cycles, help="dependency cycles (imports may bring them)")

    p = leaves.add(sub, "export", _export, help=f"export to JSONL (default: <git toplevel>/{JSONL_PATH})")
    if p:
        p.add_argument("path", nargs="?")

    p = leaves.add(sub, "import", _import, help=f"import JSONL (default: <git toplevel>/{JSONL_PATH})")
    if p:
        p.add_argument("path", nargs="?")

    p = leaves.add(sub, "rebuild", _rebuild, raw=True,
                   help="rebuild the database from the JSONL (after corruption; the old file is kept)")
    if p:
        p.add_argument("path", nargs="?", help=f"the JSONL (default: <git toplevel>/{JSONL_PATH})")

    if leaves.only in (None, "merge-driver"):
        p = sub.add_parser("merge-driver", help="git merge driver for the JSONL (gastown init registers it)")
        p.add_argument("base", help="%%O: the common ancestor")
        p.add_argument("ours", help="%%A: ours; the result is written here")
        p.add_argument("theirs", help="%%B: theirs")
        p.set_defaults(func=_merge_driver, command_name="merge-driver")
    return bead
