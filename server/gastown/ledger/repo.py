"""Where a repository keeps its ledger, and setting a repository up for it (``gastown init``).

Plain functions: they print nothing and parse no arguments (the command line in ``gastown.cli`` does).
Git runs through :mod:`gastown.vcs`.
"""

from __future__ import annotations

import os
import shlex
import sys

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from pathlib import Path

# Relative to the git toplevel (text, so a short command need not load pathlib).
DB_PATH = ".gastown/beads.db"
JSONL_PATH = ".beads/issues.jsonl"
MERGE_DRIVER_NAME = "gastown-beads"
GITATTRIBUTES_LINE = f"{JSONL_PATH} merge={MERGE_DRIVER_NAME}"


def __getattr__(name: str) -> Path:
    """``DEFAULT_DB`` and ``DEFAULT_JSONL``: the same relative paths as ``pathlib.Path``."""
    if name in ("DEFAULT_DB", "DEFAULT_JSONL"):
        from pathlib import Path

        return Path(DB_PATH if name == "DEFAULT_DB" else JSONL_PATH)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def toplevel_of(cwd: str) -> str | None:
    """The top of the git work tree holding ``cwd``, or None outside one.

    The nearest folder upwards with a ``.git`` entry (a directory, or a file in a linked worktree or
    submodule) — what ``git rev-parse --show-toplevel`` answers, without starting git on every command.
    With ``GIT_DIR``/``GIT_WORK_TREE`` set, git itself is asked."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        from gastown.vcs import GitError, git_text

        try:
            top = git_text(["rev-parse", "--show-toplevel"], cwd)
        except (GitError, OSError):
            return None
        return top or None
    folder = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def root_of(cwd: str | None = None) -> str:
    """The git toplevel of ``cwd`` (default: the current folder), else ``cwd``."""
    cwd = cwd or os.getcwd()
    return toplevel_of(cwd) or cwd


def git_toplevel(cwd: Path) -> Path | None:
    """``toplevel_of`` as a ``Path``."""
    from pathlib import Path

    top = toplevel_of(str(cwd))
    return Path(top) if top is not None else None


def town_root(cwd: Path | None = None) -> Path:
    """The git toplevel of ``cwd``, else ``cwd``."""
    from pathlib import Path

    return Path(root_of(str(cwd) if cwd is not None else None))


def merge_driver_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gastown bead merge-driver %O %A %B"


def init_repo(path: Path, prefix: str = "gt") -> dict[str, Any]:
    """Set a git repository up for the ledger: the JSONL merge driver (``.gitattributes`` + git config),
    ``.gastown/`` kept out of git (``.git/info/exclude``), the database created and the JSONL imported
    (or first exported). Safe to run again. Returns what it did."""
    from pathlib import Path

    from gastown.ledger.model import LedgerError
    from gastown.vcs import git_text

    root = git_toplevel(path)
    if root is None:
        raise LedgerError(f"{path} is not a git repository (run `git init` first)")
    attributes = root / ".gitattributes"
    text = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    added_attribute = GITATTRIBUTES_LINE not in text.splitlines()
    if added_attribute:
        sep = "" if not text or text.endswith("\n") else "\n"
        attributes.write_text(f"{text}{sep}{GITATTRIBUTES_LINE}\n", encoding="utf-8")
    git_text(["config", f"merge.{MERGE_DRIVER_NAME}.name", "Gas Town beads JSONL merge (field by field)"], root)
    git_text(["config", f"merge.{MERGE_DRIVER_NAME}.driver", merge_driver_command()], root)
    exclude = Path(git_text(["rev-parse", "--git-path", "info/exclude"], root))
    exclude = exclude if exclude.is_absolute() else root / exclude
    current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    if ".gastown/" not in current.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not current or current.endswith("\n") else "\n"
        exclude.write_text(f"{current}{sep}.gastown/\n", encoding="utf-8")
    import asyncio

    info = asyncio.run(_open_ledger(root, prefix))
    return {
        "root": str(root),
        "db": str(root / DB_PATH),
        "jsonl": str(root / JSONL_PATH),
        "gitattributes": str(attributes),
        "gitattributes_added": added_attribute,
        "merge_driver": merge_driver_command(),
        **info,
    }


async def _open_ledger(root: Path, prefix: str) -> dict[str, Any]:
    from gastown.ledger.store import Store

    jsonl = root / JSONL_PATH
    async with await Store.open(root / DB_PATH, prefix=prefix) as store:
        imported = None
        if jsonl.exists():
            result = await store.import_jsonl(jsonl)
            imported = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        await store.export_jsonl(jsonl)
        return {"imported": imported, "beads": len(await store.list())}
