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
REVIEW = "gastown/review"
PLAN_DECISION = "gastown/planDecision"
UPDATE_BEAD = "gastown/updateBead"
ABORT_AGENT = "gastown/abortAgent"
AGENT_EVENT = "gastown/agentEvent"
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


class ReviewParams(_Params):
    """The Overseer's verdict on a bead's branch: the whole branch, one file, or some hunks.

    Accepted hunks are merged by the Refinery (a hunk-level cherry-pick onto the integration branch).
    A rejection with a comment sends the bead back to its polecat, which resumes with the comment.
    """

    bead_id: str = Field(min_length=1, alias="beadId")
    action: Literal["accept", "reject"]
    scope: Literal["branch", "file", "hunk"] = "branch"
    path: str | None = Field(default=None, description="The file, for scope file or hunk")
    hunk_ids: list[str] = Field(default_factory=list, alias="hunkIds")
    comment: str | None = Field(default=None, description="Why; for a rejection it becomes rework feedback")
    line: int | None = Field(default=None, ge=0, description="The line a comment is about (head side)")


class ReviewResult(BaseModel):
    bead_id: str
    status: str = Field(description="The bead's status after the verdict")
    merged: bool = Field(description="Whether something reached the integration branch")
    pending_hunks: list[str] = Field(default_factory=list, description="Hunks still waiting for a verdict")
    message: str


class PlanDecisionParams(_Params):
    """With plan approval on, the Overseer approves a drafted plan (as edited) or discards it."""

    epic_id: str = Field(min_length=1, alias="epicId")
    decision: Literal["approve", "discard"]
    reason: str | None = None


class PlanDecisionResult(BaseModel):
    epic_id: str
    bead_ids: list[str] = Field(default_factory=list, description="The beads now open for dispatch")


class UpdateBeadParams(_Params):
    id: str = Field(min_length=1)
    status: Literal["open", "closed", "blocked", "deferred"] | None = None
    priority: int | None = Field(default=None, ge=0, le=4)
    title: str | None = Field(default=None, min_length=1)
    reason: str | None = None


class AbortAgentParams(_Params):
    id: str = Field(min_length=1, description="Agent id, e.g. polecat-gt-a1b2")


class AgentEventNote(BaseModel):
    """One runtime event of an agent, streamed for the log view."""

    agent: str
    bead_id: str | None = None
    kind: str
    at: str
    text: str | None = None
    tool: str | None = None
    approved: bool | None = None


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
    "ReviewParams": ReviewParams,
    "ReviewResult": ReviewResult,
    "UpdateBeadParams": UpdateBeadParams,
    "PlanDecisionParams": PlanDecisionParams,
    "PlanDecisionResult": PlanDecisionResult,
    "AbortAgentParams": AbortAgentParams,
    "AgentEventNote": AgentEventNote,
    "CreateBeadArgs": CreateBeadArgs,
    "AgentInfo": AgentInfo,
}
