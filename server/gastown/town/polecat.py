"""A Polecat: one bead, one worktree on `polecat/<bead-id>`, one Copilot session, one commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from gastown.ledger.model import Bead
from gastown.runtime.base import AgentEvent, AgentRuntime, SessionSpec, ToolSpec
from gastown.runtime.policy import WorktreePolicy
from gastown.town.git import Worktrees

log = logging.getLogger(__name__)

POLECAT_SYSTEM = """You are a Polecat in Gas Town: a worker with exactly one task (a bead). Work only inside
your worktree, with your file and shell tools. Do not push, switch branches or install packages. Keep the
change small and focused on the bead's acceptance criteria. When the work is done, call report_done with a
one-line summary; if you cannot do it, call report_blocked with the reason."""


class ReportDone(BaseModel):
    summary: str = Field(min_length=1, description="One line: what you changed")


class ReportBlocked(BaseModel):
    reason: str = Field(min_length=1, description="Why the bead cannot be done")


@dataclass
class PolecatResult:
    bead_id: str
    branch: str
    commit: str | None
    summary: str | None
    blocked: str | None
    files: list[str]


def polecat_name(bead_id: str) -> str:
    return f"polecat-{bead_id}"


def build_prompt(bead: Bead, worktree: Path, feedback: str | None = None) -> str:
    rework = ["", f"This is rework. Feedback on the previous attempt:\n{feedback}"] if feedback else []
    return "\n".join([
        f"Bead: {bead.id}",
        f"Title: {bead.title}",
        f"Worktree: {worktree}",
        "",
        f"Description:\n{bead.description or '(none)'}",
        "",
        f"Acceptance criteria:\n{bead.acceptance_criteria or '(none)'}",
        "",
        *rework,
        "",
        "Do the work in the worktree, then call report_done.",
    ])


class Polecat:
    def __init__(self, bead: Bead, runtime: AgentRuntime, worktrees: Worktrees, *, turn_timeout: float,
                 on_event: Callable[[AgentEvent], None] | None = None) -> None:
        self.bead = bead
        self.name = polecat_name(bead.id)
        self.branch = f"polecat/{bead.id}"
        self.runtime = runtime
        self.worktrees = worktrees
        self.turn_timeout = turn_timeout
        self.on_event = on_event
        self.worktree: Path | None = None

    async def run(self, feedback: str | None = None) -> PolecatResult:
        """Work the bead; ``feedback`` (review comments, conflicting hunks, a failing log) makes it rework."""
        base = await asyncio.to_thread(self.worktrees.integration_head)
        self.worktree = await asyncio.to_thread(self.worktrees.add, self.name, self.branch, base)
        done: list[str] = []
        blocked: list[str] = []
        spec = SessionSpec(
            name=self.name,
            working_directory=self.worktree,
            policy=WorktreePolicy(self.worktree, readable=[self.worktree]),
            system_message=POLECAT_SYSTEM,
            tools=[
                ToolSpec("report_done", "Report that the bead's work is done.", ReportDone,
                         lambda p: done.append(p.summary) or "Recorded. End your turn now."),
                ToolSpec("report_blocked", "Report that the bead cannot be done, and why.", ReportBlocked,
                         lambda p: blocked.append(p.reason) or "Recorded. End your turn now."),
            ],
            on_event=self.on_event,
        )
        session = await self.runtime.create_session(spec)
        try:
            last = await session.run_turn(build_prompt(self.bead, self.worktree, feedback), self.turn_timeout)
        finally:
            await session.disconnect()
        message = f"{self.bead.title}\n\n{done[0] if done else last}\n\nBead: {self.bead.id}"
        commit = await asyncio.to_thread(Worktrees.commit_all, self.worktree, message, self.name)
        files = await asyncio.to_thread(self.worktrees.changed_files, base, commit) if commit else []
        # The branch keeps the work; the worktree itself is no longer needed.
        await asyncio.to_thread(self.worktrees.remove, self.worktree)
        return PolecatResult(self.bead.id, self.branch, commit, done[0] if done else (last or None),
                             blocked[0] if blocked else None, files)
