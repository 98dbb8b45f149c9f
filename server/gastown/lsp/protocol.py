"""The gastown/* editor protocol: every params/result/notification shape, and the method names, once.

These pydantic models are the contract: `gastown schemas` writes their JSON Schemas into schemas/, and
the extension's TypeScript types are generated from those.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gastown.ledger.model import Bead
from gastown.town.diff import BeadDiff
from gastown.town.state import AgentInfo

# Method names (client → server requests, server → client notifications).
SUBMIT_GOAL = "gastown/submitGoal"
BEADS = "gastown/beads"
BEAD = "gastown/bead"
AGENTS = "gastown/agents"
DIFF = "gastown/diff"
DOCUMENT = "gastown/document"
BEADS_CHANGED = "gastown/beadsChanged"
AGENT_STATUS = "gastown/agentStatus"


class _Params(BaseModel):
    # Unknown keys from a newer client are ignored; wrong types are InvalidParams naming the field.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SubmitGoalParams(_Params):
    goal: str = Field(min_length=1, description="What the Overseer wants done, in plain words")
    work_done_token: str | int | None = Field(default=None, alias="workDoneToken")


class SubmitGoalResult(BaseModel):
    epic_id: str
    bead_ids: list[str] = Field(description="The plan's task beads, in creation order")


class BeadsParams(_Params):
    filter: Literal["all", "open", "ready"] = "all"
    parent: str | None = None


class BeadSummary(BaseModel):
    """What a tree row needs; the full bead comes from gastown/bead."""

    id: str
    title: str
    status: str
    priority: int
    issue_type: str
    parent: str | None = None
    assignee: str | None = None
    acceptance_criteria: str | None = None
    labels: list[str] = Field(default_factory=list)
    updated_at: str

    @classmethod
    def of(cls, bead: Bead) -> BeadSummary:
        return cls(
            id=bead.id,
            title=bead.title,
            status=bead.status,
            priority=bead.priority,
            issue_type=bead.issue_type,
            parent=bead.parent_id,
            assignee=bead.assignee,
            acceptance_criteria=bead.acceptance_criteria,
            labels=list(bead.labels or []),
            updated_at=bead.updated_at,
        )


class BeadsResult(BaseModel):
    version: int = Field(description="Ledger version this list reflects; deltas continue from it")
    beads: list[BeadSummary]


class BeadParams(_Params):
    id: str = Field(min_length=1)


class BeadResult(BaseModel):
    bead: Bead


class AgentsResult(BaseModel):
    agents: list[AgentInfo]


class BeadsChanged(BaseModel):
    """A versioned delta. A client whose version is not ``version - 1`` missed one and must re-fetch."""

    version: int
    changed: list[BeadSummary] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class AgentStatus(BaseModel):
    agents: list[AgentInfo]


class CreateBeadArgs(_Params):
    """Arguments of the `gastown.createBead` command (a TODO code lens, or the palette)."""

    title: str = Field(min_length=1, max_length=500)
    uri: str | None = None
    line: int = Field(default=0, ge=0)
    type: str = "task"
    priority: int = Field(default=2, ge=0, le=4)


class DiffParams(_Params):
    bead_id: str = Field(min_length=1, alias="beadId")


class DocumentParams(_Params):
    """One side of a diff, served read-only to the editor's diff view."""

    bead_id: str = Field(min_length=1, alias="beadId")
    path: str = Field(min_length=1)
    side: Literal["base", "head"]


class DocumentResult(BaseModel):
    text: str
    exists: bool


# Everything `gastown schemas` writes, by schema file name.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "SubmitGoalParams": SubmitGoalParams,
    "SubmitGoalResult": SubmitGoalResult,
    "BeadsParams": BeadsParams,
    "BeadsResult": BeadsResult,
    "BeadParams": BeadParams,
    "BeadResult": BeadResult,
    "AgentsResult": AgentsResult,
    "BeadsChanged": BeadsChanged,
    "AgentStatus": AgentStatus,
    "BeadSummary": BeadSummary,
    "DiffParams": DiffParams,
    "DiffResult": BeadDiff,
    "DocumentParams": DocumentParams,
    "DocumentResult": DocumentResult,
    "AgentInfo": AgentInfo,
}
