"""The gastown/* editor protocol: every params/result/notification shape, and the method names, once.

These pydantic models are the contract: `gastown schemas` writes their JSON Schemas into schemas/, and
the extension's TypeScript types are generated from those.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gastown.formulas.summary import FormulaInfo
from gastown.github.status import PullRequestStatus
from gastown.ledger.model import Bead
from gastown.town.convoys import ConvoyProgress
from gastown.town.costs import CostReport
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
ANSWER = "gastown/answer"
NUDGE = "gastown/nudge"
RETRY = "gastown/retry"
PULL_REQUESTS = "gastown/pullRequests"
GITHUB_TOKEN = "gastown/githubToken"
PULL_REQUEST_CHANGED = "gastown/pullRequestChanged"
METHODS: tuple[str, ...] = (SUBMIT_GOAL, BEADS, BEAD, AGENTS, UPDATE_BEAD, DIFF, DOCUMENT, REVIEW, PLAN_DECISION, ABORT_AGENT,
           ANSWER, NUDGE, RETRY, BEADS_CHANGED, AGENT_STATUS, AGENT_EVENT,
           PULL_REQUESTS, GITHUB_TOKEN, PULL_REQUEST_CHANGED)
"""Every gastown/* method; the extension's `Methods` (extension/src/contracts.ts) are generated from it."""

CREATE_BEAD = "gastown.createBead"
"""The server's workspace command (the TODO code lens's "Create bead", and the palette's)."""


class _Params(BaseModel):
    # Params arrive camelCase (beadId); unknown keys from a newer client are ignored; wrong types are
    # InvalidParams naming the field. Results stay snake_case, as the ledger writes them.
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class SubmitGoalParams(_Params):
    goal: str = Field(min_length=1, description="What the Overseer wants done, in plain words")
    work_done_token: str | int | None = None


class SubmitGoalResult(BaseModel):
    epic_id: str
    bead_ids: list[str] = Field(description="The plan's task beads, in creation order")


class BeadsParams(_Params):
    filter: Literal["all", "open", "ready"] = "all"
    parent: str | None = None


HumanStep = Literal[0, 1, 2]
"""Whether a bead is a human step, and whether it needs the Overseer now (a number: the row stays small)."""


class BeadSummary(BaseModel):
    """What a tree row needs: its label, icon and description. Its tooltip's details (labels, acceptance
    criteria) come from gastown/bead when the row is hovered."""

    id: str
    title: str
    status: str
    priority: int
    issue_type: str
    parent: str | None = None
    assignee: str | None = None
    human: HumanStep = Field(default=0, description=(
        "0: not a human step; 1: a human step (only the Overseer closes it) still waiting on what blocks it, "
        "or closed; 2: a human step ready now, the Overseer's to do and close ('needs you')"))

    @classmethod
    def of(cls, bead: Bead, human: HumanStep = 0) -> BeadSummary:
        return cls(id=bead.id, title=bead.title, status=bead.status, priority=bead.priority,
                   issue_type=bead.issue_type, parent=bead.parent_id, assignee=bead.assignee, human=human)


BeadRow = tuple[str, str, str, int, str, str | None, str | None, HumanStep]
"""A BeadSummary as a JSON array, its fields in BEAD_ROW order: 10,000 of them without repeated keys."""
BEAD_ROW = tuple(BeadSummary.model_fields)
"""The columns of a BeadRow (generated into the extension's contracts)."""


class BeadsResult(BaseModel):
    version: int = Field(description="Ledger version this list reflects; deltas continue from it")
    rows: list[BeadRow] = Field(description="One BeadRow per bead (a BeadSummary's fields in BEAD_ROW order)")


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
    bead_id: str = Field(min_length=1)


class DocumentParams(_Params):
    """One side of a diff, served read-only to the editor's diff view."""

    bead_id: str = Field(min_length=1)
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

    bead_id: str = Field(min_length=1)
    action: Literal["accept", "reject"]
    scope: Literal["branch", "file", "hunk"] = "branch"
    path: str | None = Field(default=None, description="The file, for scope file or hunk")
    hunk_ids: list[str] = Field(default_factory=list)
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

    epic_id: str = Field(min_length=1)
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


# --- The Overseer talks to polecats ---------------------------------------------------------------------
class AnswerParams(_Params):
    """The Overseer's answer to the polecat working a bead that asked a question (state needs-input)."""

    bead_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=20_000)


class NudgeParams(_Params):
    """A message to the polecat working a bead, read at its next turn."""

    bead_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=20_000)


class RetryParams(_Params):
    """Send an escalated or blocked bead back to a polecat, with the Overseer's note as guidance."""

    bead_id: str = Field(min_length=1)
    note: str | None = Field(default=None, max_length=20_000)


class ActionResult(BaseModel):
    bead_id: str
    message: str = Field(description="What happened, for the Overseer")


class AgentEventNote(BaseModel):
    """One runtime event of an agent, streamed for the log view."""

    agent: str
    bead_id: str | None = None
    kind: str
    at: str
    text: str | None = None
    tool: str | None = None
    approved: bool | None = None


# --- pull requests (github.landing) ---------------------------------------------------------------------------
class PullRequestsParams(_Params):
    refresh: bool = Field(default=False, description="Ask the code host now (else: as last recorded)")


class PullRequestsResult(BaseModel):
    pull_requests: list[PullRequestStatus]
    note: str = Field(default="", description="Why they were not refreshed, when they were not")


class GitHubTokenParams(_Params):
    """The editor's GitHub token (VS Code's authentication or SecretStorage), kept in the server's memory only."""

    token: str | None = Field(default=None, repr=False)
# --- Formulas (workflow templates) ------------------------------------------------------------------------
FORMULAS = "gastown/formulas"
RUN_FORMULA = "gastown/runFormula"
METHODS = (*METHODS, FORMULAS, RUN_FORMULA)


class FormulaProblem(BaseModel):
    name: str
    message: str = Field(description="What is wrong with the file, with its lines and fields")


class FormulasResult(BaseModel):
    formulas: list[FormulaInfo]
    problems: list[FormulaProblem] = Field(default_factory=list, description="Formula files that do not load")


class RunFormulaParams(_Params):
    """Pour a formula with its variables into an epic and beads, and run it like a goal."""

    name: str = Field(min_length=1)
    vars: dict[str, str] = Field(default_factory=dict)
    work_done_token: str | int | None = None


class RunFormulaResult(BaseModel):
    epic_id: str
    bead_ids: list[str] = Field(description="The formula's beads, one per step, in step order")
    human_bead_ids: list[str] = Field(default_factory=list, description="Beads only the Overseer closes")


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
    "AnswerParams": AnswerParams,
    "NudgeParams": NudgeParams,
    "RetryParams": RetryParams,
    "ActionResult": ActionResult,
    "AgentEventNote": AgentEventNote,
    "CreateBeadArgs": CreateBeadArgs,
    "AgentInfo": AgentInfo,
    "PullRequestsParams": PullRequestsParams,
    "PullRequestsResult": PullRequestsResult,
    "PullRequestStatus": PullRequestStatus,
    "GitHubTokenParams": GitHubTokenParams,
    "FormulasResult": FormulasResult,
    "RunFormulaParams": RunFormulaParams,
    "RunFormulaResult": RunFormulaResult,
}


# --- convoys and costs ---------------------------------------------------------------------------------------
CONVOYS = "gastown/convoys"
COSTS = "gastown/costs"
METHODS += (CONVOYS, COSTS)


class ConvoysResult(BaseModel):
    """Every convoy with its progress (the Beads view's Convoys node)."""

    convoys: list[ConvoyProgress]


class CostsParams(_Params):
    """Nothing: the whole town; ``goal`` (an epic id) or ``bead``: that one's runs."""

    goal: str | None = None
    bead: str | None = None


SCHEMA_MODELS.update({"ConvoysResult": ConvoysResult, "ConvoyProgress": ConvoyProgress,
                      "CostsParams": CostsParams, "CostsResult": CostReport})
