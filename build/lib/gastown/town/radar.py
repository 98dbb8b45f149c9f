"""The conflict radar: which files each live bead touches, declared (the plan's ``files``) and observed (what
its polecat has written so far), and which ready bead would collide with one in flight.

Observed files come from the agents' events on the bus (file tools' ``path`` arguments, approved write
permissions) and, at most once a second, from ``git status`` in the running polecats' worktrees (which also
sees files written by shell commands).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import git
from git.exc import GitCommandError

from gastown.town.bus import AgentEventRecord

PATH_ARGUMENTS = ("path", "file_path", "filePath", "filename", "file")


def normalize(path: str) -> str:
    text = str(PurePosixPath(path.replace("\\", "/")))
    return text[2:] if text.startswith("./") else text


def overlap(mine: Iterable[str], theirs: Iterable[str]) -> list[str]:
    """Paths in both sets; a folder (``docs`` or ``docs/``) overlaps every path under it."""
    a = {normalize(p).rstrip("/") for p in mine if p and p.strip()}
    b = {normalize(p).rstrip("/") for p in theirs if p and p.strip()}
    found: set[str] = set()
    for x in a:
        for y in b:
            if x == y or y.startswith(x + "/"):
                found.add(y)
            elif x.startswith(y + "/"):
                found.add(x)
    return sorted(found)


class ConflictRadar:
    def __init__(self, worktree_root: Path) -> None:
        self.worktree_root = Path(os.path.realpath(worktree_root))
        self.declared: dict[str, set[str]] = {}
        self.observed: dict[str, set[str]] = {}
        self._git_refreshed = 0.0

    # --- what a bead touches ---------------------------------------------------------------------------
    def declare(self, bead_id: str, files: Iterable[str]) -> None:
        self.declared.setdefault(bead_id, set()).update(normalize(f) for f in files if f)

    def observe(self, bead_id: str, files: Iterable[str]) -> None:
        self.observed.setdefault(bead_id, set()).update(normalize(f) for f in files if f)

    def files_of(self, bead_id: str) -> set[str]:
        return self.declared.get(bead_id, set()) | self.observed.get(bead_id, set())

    def forget(self, bead_id: str) -> None:
        self.declared.pop(bead_id, None)
        self.observed.pop(bead_id, None)

    def relative(self, raw: str) -> str | None:
        """A path a polecat named, relative to its worktree (any worktree directly under the root, whatever
        its name); None when it is outside every worktree."""
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            return normalize(raw)
        try:
            rel = Path(os.path.realpath(path)).relative_to(self.worktree_root)
        except ValueError:
            return None
        parts = rel.parts[1:]  # drop the worktree's own folder (wt-01, polecat-gt-1, …)
        if not parts or parts[0] == ".git":
            return None
        return "/".join(parts)

    def observe_event(self, record: AgentEventRecord) -> None:
        """Writes seen in a polecat's event stream."""
        bead_id = record.bead_id
        event = record.event
        if not bead_id or not record.agent.startswith("polecat-"):
            return
        raws: list[str] = []
        kind = event.get("kind")
        detail = event.get("detail") or {}
        if kind == "tool_start" and event.get("tool") in ("create", "edit", "write", "str_replace_editor"):
            args = detail.get("arguments") or {}
            raws += [args[k] for k in PATH_ARGUMENTS if isinstance(args.get(k), str)]
        elif kind == "permission" and event.get("tool") == "write" and event.get("approved"):
            raws += [p for p in detail.get("paths") or [] if isinstance(p, str)]
        rels = [r for r in (self.relative(raw) for raw in raws) if r]
        if rels:
            self.observe(bead_id, rels)

    def refresh_from_git(self, repo: Path, bead_ids: Iterable[str], min_interval: float = 1.0) -> None:
        """Ask git what the running polecats have changed so far in their worktrees (found by branch
        ``polecat/<bead-id>`` in ``git worktree list``). Blocking: call it in a thread."""
        now = time.monotonic()
        if now - self._git_refreshed < min_interval:
            return
        self._git_refreshed = now
        wanted = set(bead_ids)
        try:
            listing = git.Git(str(repo)).execute(["git", "worktree", "list", "--porcelain"])
        except GitCommandError:
            return
        where: dict[str, Path] = {}
        path: Path | None = None
        for line in listing.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree "):])
            elif line.startswith("branch refs/heads/polecat/") and path is not None:
                bead_id = line[len("branch refs/heads/polecat/"):]
                if bead_id in wanted:
                    where[bead_id] = path
        for bead_id, worktree in where.items():
            if not worktree.exists():
                continue
            try:
                # --no-optional-locks: never take index.lock under the polecat's own `git add`.
                out = git.Git(str(worktree)).execute(
                    ["git", "--no-optional-locks", "status", "--porcelain", "-uall"])
            except GitCommandError:
                continue
            files = []
            for line in out.splitlines():
                path = line[3:]
                if " -> " in path:
                    path = path.split(" -> ", 1)[1]
                files.append(path.strip('"'))
            self.observe(bead_id, files)

    # --- collisions ----------------------------------------------------------------------------------
    def conflicts(self, candidate: str, files: Iterable[str], active: Iterable[str]) -> dict[str, list[str]]:
        """Active beads whose declared or observed files overlap ``files`` (the candidate's)."""
        mine = list(files)
        if not mine:
            return {}
        found: dict[str, list[str]] = {}
        for other in active:
            if other == candidate:
                continue
            shared = overlap(mine, self.files_of(other))
            if shared:
                found[other] = shared
        return found
