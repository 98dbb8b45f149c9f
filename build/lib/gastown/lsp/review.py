"""The Overseer's review of one bead's diff, gathered across many gastown/review calls (one per hunk,
file or comment) until every hunk has a verdict; then one decision for the town: accept (all, or some
hunks) or reject with the comments as rework feedback, keeping the hunks that were accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gastown.lsp.protocol import ReviewParams
from gastown.town.diff import BeadDiff


@dataclass
class Verdicts:
    head: str
    accepted: set[str] = field(default_factory=set)
    rejected: dict[str, str | None] = field(default_factory=dict)  # hunk id -> comment (None = just drop it)


@dataclass
class Decision:
    kind: Literal["pending", "accept", "reject"]
    pending: list[str]
    hunk_ids: list[str] | None = None  # accept: only these (None = the whole branch)
    keep: list[str] | None = None  # reject: merge these first
    comment: str = ""


def _where(diff: BeadDiff) -> dict[str, str]:
    """hunk id -> 'path:line' of its first head-side line, for comments the polecat can act on."""
    return {h.id: f"{f.path}:{h.new_start}" for f in diff.files for h in f.hunks}


class ReviewBook:
    def __init__(self) -> None:
        self._beads: dict[str, Verdicts] = {}

    def forget(self, bead_id: str) -> None:
        self._beads.pop(bead_id, None)

    def record(self, p: ReviewParams, diff: BeadDiff) -> Decision:
        all_ids = [h.id for f in diff.files for h in f.hunks]
        book = self._beads.get(p.bead_id)
        if book is None or book.head != diff.head:  # a new diff (rework) starts a new review
            book = self._beads[p.bead_id] = Verdicts(head=diff.head)
        if p.scope == "branch":
            # The whole branch means the hunks that have no verdict yet (all of them if every one has).
            decided = book.accepted | set(book.rejected)
            ids = [h for h in all_ids if h not in decided] or all_ids
            if not ids:  # nothing to review hunk by hunk (e.g. only binary files)
                self.forget(p.bead_id)
                if p.action == "accept":
                    return Decision("accept", [], hunk_ids=None)
                return Decision("reject", [], comment=p.comment or "Rejected by the Overseer.")
        elif p.scope == "file":
            if not p.path:
                raise ValueError("a file verdict needs 'path'")
            ids = [h.id for f in diff.files if f.path == p.path for h in f.hunks]
            if not ids:
                raise ValueError(f"{p.path} has no hunks in the diff of {p.bead_id}")
        else:
            ids = list(p.hunk_ids)
            unknown = sorted(set(ids) - set(all_ids))
            if not ids or unknown:
                raise ValueError(f"unknown hunk ids for {p.bead_id}: {', '.join(unknown) or '(none given)'}")
        where = _where(diff)
        for hunk in ids:
            book.accepted.discard(hunk)
            book.rejected.pop(hunk, None)
            if p.action == "accept":
                book.accepted.add(hunk)
            else:
                line = f"{where[hunk].split(':')[0]}:{p.line + 1}" if p.line is not None else where[hunk]
                book.rejected[hunk] = (p.comment if p.scope == "branch" else f"{line}: {p.comment}") \
                    if p.comment else None
        pending = [h for h in all_ids if h not in book.accepted and h not in book.rejected]
        if pending:
            return Decision("pending", pending)
        self.forget(p.bead_id)
        comments = list(dict.fromkeys(c for c in book.rejected.values() if c))  # once each, in order
        if comments or not book.accepted:
            return Decision("reject", [], keep=sorted(book.accepted) or None,
                            comment="\n".join(comments) or "Every hunk was rejected by the Overseer.")
        return Decision("accept", [], hunk_ids=None if not book.rejected else sorted(book.accepted))
