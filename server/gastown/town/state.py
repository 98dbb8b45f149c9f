"""Live state of the town's agents, as the Overseer sees it (editor, `gastown status`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gastown.ledger.model import now_iso

AgentRole = Literal["mayor", "polecat", "refinery", "witness"]
AgentState = Literal["starting", "working", "needs-input", "stalled", "done", "failed", "merging", "idle",
                     "review"]


class AgentInfo(BaseModel):
    id: str = Field(description="Agent name, e.g. 'polecat-gt-a1b2' or 'mayor'")
    role: AgentRole
    state: AgentState
    bead_id: str | None = None
    branch: str | None = None
    worktree: str | None = None
    host: str | None = Field(default=None, description="The runtime host the polecat runs on; none = this machine")
    current_tool: str | None = None
    tokens: int = 0
    started_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    detail: str | None = Field(default=None, description="Last message, error or exit reason")
    run_id: int | None = Field(default=None, description="The polecat's current or last run record")
    restarts: int = Field(default=0, description="Witness restarts in the current run")
    last_event_at: str | None = Field(default=None, description="Heartbeat: time of the last agent event")
    exit_reason: str | None = Field(default=None, description="How the last run ended (done, escalated, ...)")
    question: str | None = Field(default=None, description="What the polecat asks the Overseer (state "
                                                           "needs-input); answer it to let it go on")
