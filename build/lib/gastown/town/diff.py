"""A bead's branch as the Overseer reviews it: files and hunks against its base, and partial patches built
from the hunks they accept (so the Refinery can merge some hunks and not others)."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import git
from pydantic import BaseModel, Field

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


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
    status: Literal["added", "deleted", "modified", "renamed"]
    binary: bool = False
    header: list[str] = Field(default_factory=list, description="The diff --git … +++ lines, for patches")
    hunks: list[Hunk] = Field(default_factory=list)


def _status(header: list[str]) -> str:
    text = "\n".join(header)
    if "new file mode" in text:
        return "added"
    if "deleted file mode" in text:
        return "deleted"
    if "rename from" in text:
        return "renamed"
    return "modified"


def parse_unified_diff(text: str) -> list[FileDiff]:
    """Parse `git diff` output (no color, default prefixes) into files and hunks."""
    files: list[FileDiff] = []
    header: list[str] = []
    hunks: list[Hunk] = []
    current: Hunk | None = None
    path = old_path = None
    binary = False

    def flush() -> None:
        nonlocal current
        if current is not None:
            hunks.append(current)
            current = None

    def flush_file() -> None:
        nonlocal header, hunks, binary
        flush()
        if header:
            files.append(FileDiff(path=path or "", old_path=old_path if old_path != path else None,
                                  status=_status(header), binary=binary, header=header, hunks=hunks))
        header, hunks, binary = [], [], False

    for line in text.splitlines():
        if line.startswith("diff --git "):
            flush_file()
            header = [line]
            m = re.match(r"diff --git a/(.*) b/(.*)$", line)
            old_path, path = (m.group(1), m.group(2)) if m else (None, None)
            continue
        if current is None and header and not line.startswith("@@"):
            header.append(line)
            if line.startswith("--- a/"):
                old_path = line[6:]
            elif line.startswith("+++ b/"):
                path = line[6:]
            elif line.startswith("Binary files"):
                binary = True
            continue
        m = HUNK_HEADER.match(line)
        if m:
            flush()
            old_n = int(m.group(2)) if m.group(2) is not None else 1
            new_n = int(m.group(4)) if m.group(4) is not None else 1
            current = Hunk(id="", header=line, old_start=int(m.group(1)), old_lines=old_n,
                           new_start=int(m.group(3)), new_lines=new_n, lines=[])
            continue
        if current is not None:
            current.lines.append(line)
    flush_file()
    for f in files:
        for h in f.hunks:
            body = "\n".join(h.lines)
            h.id = hashlib.sha1(f"{f.path}\n{h.header}\n{body}".encode()).hexdigest()[:12]
    return files


def branch_diff(repo: git.Repo, base: str, head: str) -> list[FileDiff]:
    """Files and hunks that ``head`` adds on top of its merge-base with ``base``."""
    merge_base = repo.git.merge_base(base, head).strip()
    text = repo.git.diff("--no-color", "--no-ext-diff", "-U3", "-M", merge_base, head)
    return parse_unified_diff(text)


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


def bead_diff(repo: git.Repo, integration: str, bead_id: str) -> BeadDiff:
    """The polecat's work on ``polecat/<bead_id>``. Unmerged: against its merge-base with the integration
    branch. Merged (the Refinery moves the branch to the rebased commit): against that commit's parent,
    since a polecat run leaves exactly one commit."""
    branch = f"polecat/{bead_id}"
    try:
        head = repo.git.rev_parse("--verify", f"refs/heads/{branch}").strip()
    except git.GitCommandError:
        raise LookupError(f"bead {bead_id} has no branch {branch} (no polecat has finished it yet)") from None
    try:
        repo.git.merge_base("--is-ancestor", head, integration)
        merged = True
    except git.GitCommandError:
        merged = False
    base = repo.git.rev_parse(f"{head}~1").strip() if merged else repo.git.merge_base(integration, head).strip()
    text = repo.git.diff("--no-color", "--no-ext-diff", "-U3", "-M", base, head)
    return BeadDiff(bead_id=bead_id, branch=branch, base=base, head=head, merged=merged,
                    files=parse_unified_diff(text))


def file_at(repo: git.Repo, rev: str, path: str) -> str | None:
    """A file's text at a commit; None when it does not exist there (added or deleted files)."""
    try:
        return repo.git.show(f"{rev}:{path}", strip_newline_in_stdout=False)
    except git.GitCommandError:
        return None
