"""The merge queue's entries and their order (pure, unit-tested): dependencies first, then priority (0 first),
then completion time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

QUEUED = "queued"
VERIFYING = "verifying"
AWAITING_REVIEW = "awaiting-review"
MERGING = "merging"
REJECTED = "rejected"  # by the Overseer; leaves the queue once the bead is back with its polecat


@dataclass
class MergeRequest:
    """A finished polecat branch waiting for the Refinery."""

    bead_id: str
    branch: str
    commit: str
    priority: int = 2
    seq: int = 0  # completion order, set by the Refinery when queued
    deps: frozenset[str] = frozenset()  # beads (blocking dependencies) that must merge first
    title: str = ""
    files: list[str] = field(default_factory=list)
    needs_review: bool = False  # auto-merge off: merge only once the Overseer accepts
    accepted: bool = False
    state: str = QUEUED
    verified_tree: str | None = None  # the tree that passed verification before review
    then_rework: str | None = None  # partly rejected: once the accepted hunks merge, back to the polecat

    @property
    def mergeable(self) -> bool:
        return not self.needs_review or self.accepted


def merge_order(queue: Sequence[MergeRequest], done: Callable[[str], bool]) -> list[MergeRequest]:
    """The queued entries that may merge now, in merge order. An entry waits while one of its dependencies
    is neither done nor ahead of it in this order."""
    remaining = sorted(queue, key=lambda m: (m.priority, m.seq))
    ordered: list[MergeRequest] = []
    placed: set[str] = set()
    progress = True
    while remaining and progress:
        progress = False
        for mr in remaining:
            if all(d in placed or done(d) for d in mr.deps):
                ordered.append(mr)
                placed.add(mr.bead_id)
                remaining.remove(mr)
                progress = True
                break  # re-scan from the most urgent: a newly placed dependency may free it
    return ordered
