"""The Bead data model: Beads-compatible issues (era-A JSONL), the one source of every ledger shape.

Fields we do not know are kept (``extra="allow"``) and written back unchanged, so a real Beads file
round-trips through our ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gastown.errors import GastownError
from gastown.ledger.sql import now_key
from gastown.ledger.sql import (
    parse_ts as parse_ts,  # (defined with now_key: readers without the models use it)
)


def now_iso() -> str:
    """Now as Beads writes it (RFC 3339, UTC, microseconds, ``Z``): ``2026-01-31T12:00:00.000000Z``."""
    return now_key()


class Status:
    """Known statuses. Status is a plain string so that unknown (custom) statuses survive a round trip."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"  # ours: a polecat finished, the branch waits in the Refinery's queue
    BLOCKED = "blocked"
    DEFERRED = "deferred"
    CLOSED = "closed"
    TOMBSTONE = "tombstone"
    HOOKED = "hooked"
    PINNED = "pinned"

    DONE = frozenset({CLOSED, TOMBSTONE})


class DepType:
    BLOCKS = "blocks"
    PARENT_CHILD = "parent-child"
    CONDITIONAL_BLOCKS = "conditional-blocks"
    WAITS_FOR = "waits-for"
    RELATED = "related"
    DISCOVERED_FROM = "discovered-from"
    TRACKS = "tracks"  # a convoy tracks a bead (Gas Town's convoys); never blocks

    BLOCKING = frozenset({BLOCKS, CONDITIONAL_BLOCKS})


# Types that are the machinery of Beads/Gas Town itself, never work to hand to a polecat.
INTERNAL_TYPES = frozenset({"merge-request", "gate", "molecule", "message", "agent", "role", "rig", "event",
                            "convoy"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Dependency(_Model):
    """``issue_id`` depends on ``depends_on_id``."""

    issue_id: str
    depends_on_id: str
    type: str = DepType.BLOCKS
    created_at: str = Field(default_factory=now_iso)
    created_by: str = ""


class Comment(_Model):
    id: int | str | None = None
    issue_id: str = ""
    author: str = ""
    text: str
    created_at: str = Field(default_factory=now_iso)


class Bead(_Model):
    """One unit of work. Optional fields default to None/empty and are left out of the JSONL when unset."""

    id: str
    title: str = Field(min_length=1)
    description: str | None = None
    design: str | None = None
    acceptance_criteria: str | None = None
    notes: str | None = None
    status: str = Status.OPEN
    priority: int = Field(default=2, ge=0, le=4)
    issue_type: str = "task"
    assignee: str | None = None
    owner: str | None = None
    created_by: str | None = None
    labels: list[str] | None = None
    dependencies: list[Dependency] | None = None
    comments: list[Comment] | None = None
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    closed_at: str | None = None
    close_reason: str | None = None
    external_ref: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def parent_id(self) -> str | None:
        for dep in self.dependencies or ():
            if dep.type == DepType.PARENT_CHILD:
                return dep.depends_on_id
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """The JSONL shape: unset optional fields are omitted, unknown fields kept."""
        return self.model_dump(mode="json", exclude_none=True)


class BeadEvent(_Model):
    """An audit event: every change to a bead leaves one."""

    id: int | None = None
    issue_id: str
    event_type: str  # created, updated, status_changed, claimed, commented, closed, reopened, ...
    actor: str = ""
    old_value: str | None = None
    new_value: str | None = None
    comment: str | None = None
    created_at: str = Field(default_factory=now_iso)


@dataclass(slots=True)
class LedgerChange:
    """What one committed ledger transaction changed; the Store hands it to its listeners. A plain
    dataclass: every write makes one, and its beads are validated models already."""

    version: int
    changed: list[Bead] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class LedgerError(GastownError):
    """Any refusal of the ledger; the message is meant for a human."""


class BeadNotFound(LedgerError):
    def __init__(self, bead_id: str) -> None:
        super().__init__(f"bead not found: {bead_id}")
        self.bead_id = bead_id


class InvalidBead(LedgerError):
    def __init__(self, field: str, msg: str) -> None:
        super().__init__(f"invalid {field}: {msg}")
        self.field = field
        self.msg = msg


class DependencyCycle(LedgerError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


class LedgerCorrupt(LedgerError):
    """The database file cannot be read as a ledger; ``gastown bead rebuild`` restores it from the JSONL."""

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"the ledger database {path} is damaged or not a database ({detail}). "
            "Run `gastown bead rebuild` to rebuild it from .beads/issues.jsonl "
            "(the damaged file is kept next to it as .corrupt)"
        )
        self.path = path


class LedgerBusy(LedgerError):
    """Another process held the ledger's write lock for longer than we are willing to wait."""

    def __init__(self, path: object, waited_s: float) -> None:
        super().__init__(
            f"the ledger database {path} stayed locked by another process for {waited_s:.0f} s; try again"
        )
        self.path = path
