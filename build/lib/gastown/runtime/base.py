"""How a model session runs, independent of the SDK behind it.

`town` talks only to these types; the Copilot SDK adapter (runtime/copilot_adapter.py) implements them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from gastown.errors import GastownError
from gastown.ledger.model import now_iso

EventKind = Literal[
    "message", "tool_start", "tool_done", "permission", "usage", "idle", "error", "abort", "started",
    "session",  # a session was created or resumed (detail: {"resumed": bool})
    "witness",  # a supervisor action on the run (detail: {"action": nudge|restart|escalate|stop|budget})
]


class AgentEvent(BaseModel):
    """One thing a session did. Heartbeats, run records and the editor's live status derive from these."""

    session_id: str
    kind: EventKind
    at: str = Field(default_factory=now_iso)
    text: str | None = None
    tool: str | None = None
    tokens: int = 0
    approved: bool | None = None  # permission decisions
    detail: dict[str, Any] = Field(default_factory=dict)


class AgentRuntimeError(GastownError):
    """A runtime that cannot run: missing CLI, provider misconfigured, session failed."""


class TurnTimeout(AgentRuntimeError):
    pass


@dataclass
class ToolSpec:
    """A custom tool offered to the model. ``handler`` receives validated params; its string goes back."""

    name: str
    description: str
    params_type: type[BaseModel]
    handler: Callable[[BaseModel], Awaitable[str] | str]


@dataclass
class PermissionAsk:
    """A permission request, reduced to what a policy decides on."""

    kind: str  # shell, write, read, url, mcp, custom-tool, ...
    paths: list[str] = field(default_factory=list)
    command: str | None = None
    url: str | None = None
    tool: str | None = None


@dataclass
class Decision:
    approved: bool
    reason: str


class Policy(Protocol):
    def decide(self, ask: PermissionAsk) -> Decision: ...


@dataclass
class SessionSpec:
    name: str
    working_directory: Path
    policy: Policy
    system_message: str = ""
    tools: list[ToolSpec] = field(default_factory=list)
    on_event: Callable[[AgentEvent], None] | None = None


class AgentSession(Protocol):
    session_id: str

    async def run_turn(self, prompt: str, timeout: float) -> str:
        """Send a prompt and wait until the session is idle; returns the last assistant message."""
        ...

    async def nudge(self, prompt: str) -> None:
        """Steer a busy session: the prompt is delivered at once (it reaches the model at its next call)."""
        ...

    async def abort(self) -> None: ...

    async def disconnect(self) -> None: ...


class AgentRuntime(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def create_session(self, spec: SessionSpec) -> AgentSession: ...

    async def resume_session(self, session_id: str, spec: SessionSpec) -> AgentSession:
        """Reattach to a persisted session (also after the runtime restarted); AgentRuntimeError if it is gone."""
        ...
