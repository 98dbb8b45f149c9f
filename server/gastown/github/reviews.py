"""Review comments on a pull request's lines, back to the bead that wrote those lines (``git blame`` at the
commit the comment was made on, then the commit's ``Bead:`` trailer); a line no bead wrote goes to the bead
that last touched the file, else to the Overseer."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from gastown.github.client import ReviewComment
from gastown.vcs import GitError, git_text


@dataclass
class Feedback:
    comment_id: int
    bead_id: str | None  # None: nobody's line — the Overseer's
    path: str
    line: int | None
    author: str
    body: str
    url: str

    def text(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"Review comment by {self.author} on {where}:\n{self.body.strip()}\n({self.url})"


def bead_of_commit(workdir: Path, sha: str) -> str | None:
    try:
        out = git_text(["log", "-1", "--format=%(trailers:key=Bead,valueonly)", sha], workdir)
    except GitError:
        return None
    return out.strip().splitlines()[0].strip() if out.strip() else None


def blame_line(workdir: Path, commit: str, path: str, line: int) -> str | None:
    """The commit that wrote ``path``:``line`` as of ``commit`` (None when git cannot tell)."""
    try:
        out = git_text(["blame", "--porcelain", "-L", f"{line},{line}", commit, "--", path], workdir)
    except GitError:
        return None
    first = out.split(" ", 1)[0] if out else ""
    return first if len(first) == 40 else None


def owner_of(workdir: Path, comment: ReviewComment, owners: dict[str, str], beads: set[str]) -> str | None:
    for commit, line in ((comment.commit_id, comment.line), (comment.original_commit_id, comment.original_line)):
        if line is None or comment.side == "LEFT":
            continue
        sha = blame_line(workdir, commit, comment.path, line)
        bead = bead_of_commit(workdir, sha) if sha else None
        if bead in beads:
            return bead
    return owners.get(comment.path)


def new_feedback(workdir: Path, comments: list[ReviewComment], seen: set[int], owners: dict[str, str],
                 beads: set[str], ignore_authors: Collection[str] = ()) -> list[Feedback]:
    """The review comments not seen before (replies in a thread included), each with the bead that owns it."""
    out = []
    for c in comments:
        if c.id in seen:
            continue
        author = c.user.login if c.user else "someone"
        if author in ignore_authors:
            continue
        out.append(Feedback(c.id, owner_of(workdir, c, owners, beads), c.path, c.line or c.original_line, author,
                            c.body, c.html_url))
    return out
