"""A bead's branch as the Overseer reviews it: files and hunks against its base, and partial patches built
from the hunks they accept (so the Refinery can merge some hunks and not others).

Hunks are parsed by ``unidiff``. File names come from git's own extended header (``rename from/to``, the
``---``/``+++`` lines, else the ``diff --git`` line split where both halves name the same path): a path
such as ``x b/y`` is ambiguous in the ``diff --git`` line alone, and git quotes unusual paths."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from unidiff.patch import PatchSet

from gastown.vcs import GitError, git, git_text
from gastown.vcs.names import polecat_branch
from gastown.vcs.paths import unquote
from gastown.vcs.repo import Repo, is_ancestor, rev_parse

Status = Literal["added", "deleted", "modified", "renamed"]
DIFF = ("diff", "--no-color", "--no-ext-diff", "-U3", "-M")


class Hunk(BaseModel):
    id: str = Field(description="Stable id: hash of the file path and the hunk's text")
    header: str
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[str] = Field(description="The hunk body, each line with its ' ', '-' or '+' prefix")


class FileDiff(BaseModel):
    path: str
    old_path: str | None = None
    status: Status
    binary: bool = False
    header: list[str] = Field(default_factory=list, description="The diff --git … +++ lines, for patches")
    hunks: list[Hunk] = Field(default_factory=list)


def _side(value: str, prefix: str) -> str | None:
    """A ``---``/``+++`` value (``a/x``, ``"a/t\\303\\251"``, ``/dev/null``; git adds a tab after a path
    with a space) as a path; None for /dev/null."""
    value = unquote(value.rstrip("\t"))
    if value == "/dev/null":
        return None
    return value[len(prefix):] if value.startswith(prefix) else value


def _git_header_paths(line: str) -> tuple[str | None, str | None]:
    """``diff --git a/P b/Q``: quoted halves are unambiguous; unquoted, P == Q for anything but a rename
    (whose names come from ``rename from/to``), so the line splits in the middle, as git apply does it."""
    rest = line[len("diff --git "):]
    if rest.startswith('"'):
        end = 1
        while end < len(rest) and not (rest[end] == '"' and rest[end - 1] != "\\"):
            end += 1
        first, second = rest[:end + 1], rest[end + 2:]
        return _side(first, "a/"), _side(second, "b/")
    if rest.endswith('"'):
        start = rest.rfind(' "')
        return _side(rest[:start], "a/"), _side(rest[start + 1:], "b/")
    half = (len(rest) - 5) // 2
    name = rest[2:2 + half]
    if rest == f"a/{name} b/{name}":
        return name, name
    return None, None


def _file_paths(header: list[str]) -> tuple[str, str | None, Status]:
    """(path, old path, status) from one file's extended header."""
    old, new = _git_header_paths(header[0])
    status: Status = "modified"
    for line in header[1:]:
        if line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "deleted"
        elif line.startswith("rename from "):
            status, old = "renamed", unquote(line[len("rename from "):])
        elif line.startswith("rename to "):
            new = unquote(line[len("rename to "):])
        elif line.startswith("--- "):
            old = _side(line[4:], "a/") or old
        elif line.startswith("+++ "):
            new = _side(line[4:], "b/") or new
    path = new if status != "deleted" else old
    return path or old or "", old, status


def _hunks(path: str, body: list[str]) -> list[Hunk]:
    """The hunks of one file (``body``: its lines from the first ``@@``), parsed by unidiff."""
    if not body:
        return []
    parsed = PatchSet("--- a/f\n+++ b/f\n" + "\n".join(body) + "\n")
    headers = [line for line in body if line.startswith("@@")]
    hunks = []
    for header, h in zip(headers, parsed[0] if parsed else [], strict=False):
        lines = [str(line).removesuffix("\n") for line in h]
        hunk_id = hashlib.sha1(f"{path}\n{header}\n{chr(10).join(lines)}".encode()).hexdigest()[:12]
        hunks.append(Hunk(id=hunk_id, header=header, old_start=h.source_start, old_lines=h.source_length,
                          new_start=h.target_start, new_lines=h.target_length, lines=lines))
    return hunks


def parse_unified_diff(text: str) -> list[FileDiff]:
    """Parse `git diff` output (no color, default prefixes) into files and hunks."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("diff --git "):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    files = []
    for block in blocks:
        first_hunk = next((i for i, line in enumerate(block) if line.startswith("@@")), len(block))
        header, body = block[:first_hunk], block[first_hunk:]
        path, old_path, status = _file_paths(header)
        binary = any(line.startswith(("Binary files ", "GIT binary patch")) for line in header)
        files.append(FileDiff(path=path, old_path=old_path if old_path != path else None, status=status,
                              binary=binary, header=header, hunks=_hunks(path, body)))
    return files


def branch_diff(repo: Repo | Path, base: str, head: str) -> list[FileDiff]:
    """Files and hunks that ``head`` adds on top of its merge-base with ``base``."""
    cwd = repo.workdir if isinstance(repo, Repo) else repo
    merge_base = git_text(["merge-base", base, head], cwd)
    return parse_unified_diff(git_text([*DIFF, merge_base, head], cwd))


def partial_patch(files: list[FileDiff], accepted: set[str]) -> str:
    """A patch with only the accepted hunks. Later hunks in a file are shifted by what was left out, so the
    patch applies cleanly to the base; a file with no accepted hunk is left out entirely."""
    out: list[str] = []
    for f in files:
        chosen = [h for h in f.hunks if h.id in accepted]
        if not chosen:
            continue
        out.extend(f.header)
        shift = 0  # how far the new side drifts because earlier hunks were skipped
        for h in f.hunks:
            if h.id not in accepted:
                shift -= h.new_lines - h.old_lines
                continue
            new_start = h.new_start + shift
            out.append(f"@@ -{h.old_start},{h.old_lines} +{new_start},{h.new_lines} @@")
            out.extend(h.lines)
    return "\n".join(out) + "\n" if out else ""


class BeadDiff(BaseModel):
    bead_id: str
    branch: str
    base: str = Field(description="The commit the branch is compared against")
    head: str
    merged: bool = Field(description="Whether the branch is already on the integration branch")
    files: list[FileDiff]


def bead_diff(repo: Repo, integration: str, bead_id: str) -> BeadDiff:
    """The polecat's work on ``polecat/<bead_id>``. Unmerged: against its merge-base with the integration
    branch. Merged (the Refinery moves the branch to the rebased commit): against that commit's parent,
    since a polecat run leaves exactly one commit."""
    cwd = repo.workdir
    branch = polecat_branch(bead_id)
    head = rev_parse(cwd, f"refs/heads/{branch}")
    if head is None:
        raise LookupError(f"bead {bead_id} has no branch {branch} (no polecat has finished it yet)")
    merged = is_ancestor(cwd, head, integration)
    base = git_text(["rev-parse", f"{head}~1"] if merged else ["merge-base", integration, head], cwd)
    return BeadDiff(bead_id=bead_id, branch=branch, base=base, head=head, merged=merged,
                    files=parse_unified_diff(git_text([*DIFF, base, head], cwd)))


def file_at(repo: Repo, rev: str, path: str) -> str | None:
    """A file's text at a commit; None when it does not exist there (added or deleted files)."""
    try:
        return git(["show", f"{rev}:{path}"], repo.workdir).stdout.decode(errors="replace")
    except GitError:
        return None
