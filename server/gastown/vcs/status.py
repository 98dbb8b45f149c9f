"""`git status --porcelain`, parsed once: NUL-separated (``-z``), so spaces, quotes and renames come through
exactly as they are on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gastown.vcs.run import git

# A polecat can write its checkout's .git/config: the town's own `git status` there never runs a command it
# could have configured.
NO_FSMONITOR = ("-c", "core.fsmonitor=false")


@dataclass(frozen=True)
class StatusEntry:
    """One changed path: ``xy`` is git's two-letter code (index, work tree); ``orig_path`` for renames."""

    xy: str
    path: str
    orig_path: str | None = None

    @property
    def untracked(self) -> bool:
        return self.xy == "??"


def parse_porcelain(data: bytes) -> list[StatusEntry]:
    """Parse ``git status --porcelain -z`` output (v1: ``XY PATH\\0``, renames and copies ``XY PATH\\0ORIG\\0``)."""
    entries: list[StatusEntry] = []
    fields = data.split(b"\0")
    i = 0
    while i < len(fields):
        item = fields[i]
        i += 1
        if len(item) < 4:
            continue
        xy, path = item[:2].decode(), item[3:].decode(errors="surrogateescape")
        orig = None
        if "R" in xy or "C" in xy:
            orig = fields[i].decode(errors="surrogateescape") if i < len(fields) else None
            i += 1
        entries.append(StatusEntry(xy, path, orig))
    return entries


def status(cwd: Path | str, *, all_untracked: bool = False, optional_locks: bool = True) -> list[StatusEntry]:
    """The changes in ``cwd``'s work tree. ``optional_locks=False`` when another process may be committing
    there: a read never takes ``index.lock`` from under it."""
    pre = [*NO_FSMONITOR, *([] if optional_locks else ["--no-optional-locks"])]
    args = [*pre, "status", "--porcelain", "-z", *(["-uall"] if all_untracked else [])]
    return parse_porcelain(git(args, cwd).stdout)


def changed_paths(cwd: Path | str, **kw: bool) -> list[str]:
    """Every path with uncommitted changes (a rename's new path), repo-relative."""
    return [e.path for e in status(cwd, **kw)]


def is_dirty(cwd: Path | str) -> bool:
    return bool(git([*NO_FSMONITOR, "status", "--porcelain", "-z"], cwd).stdout)
