"""The review agent (optional, evaluation): a reviewer session reads a finished bead's diff and scores it
against the bead's acceptance criteria through `submit_review`. The verdict becomes a bead comment and the
bead's review state (``metadata.review``) that the editor shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from gastown.ledger.model import Bead
from gastown.runtime.base import AgentEvent, AgentRuntime, SessionSpec, ToolSpec
from gastown.runtime.policy import ReadOnlyPolicy

log = logging.getLogger(__name__)

REVIEWER_SYSTEM = """You are the Reviewer of Gas Town. You do not write code. You read one change (a diff) made
for one task (a bead) and judge it against the bead's acceptance criteria only: does the diff meet every
criterion, without unrelated changes? Call submit_review exactly once."""

MAX_DIFF_LINES = 400


class ReviewVerdict(BaseModel):
    """Your verdict on the diff."""

    score: int = Field(ge=1, le=5, description="5 = meets every acceptance criterion cleanly; 1 = does not")
    verdict: Literal["approve", "request_changes"]
    comment: str = Field(min_length=1, description="What meets the criteria and what must change")


def review_prompt(bead: Bead, diff: str) -> str:
    lines = diff.splitlines()
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… ({len(lines) - MAX_DIFF_LINES} more lines not shown)"]
    return "\n".join([
        f"Review bead {bead.id}",
        f"Title: {bead.title}",
        "",
        f"Description:\n{bead.description or '(none)'}",
        "",
        f"Acceptance criteria:\n{bead.acceptance_criteria or '(none)'}",
        "",
        "Diff:",
        "```diff",
        *lines,
        "```",
        "",
        "Call submit_review with your score, verdict and comment.",
    ])


class Reviewer:
    def __init__(self, runtime: AgentRuntime, workspace: Path, *, turn_timeout: float,
                 on_event: Callable[[str, str], Callable[[AgentEvent], None]] | None = None) -> None:
        self.runtime = runtime
        self.workspace = workspace
        self.turn_timeout = turn_timeout
        self.on_event = on_event  # (agent name, bead id) -> listener

    async def review(self, bead: Bead, diff: str) -> ReviewVerdict | None:
        """The reviewer's verdict, or None when it gave none (the Overseer then decides alone)."""
        verdicts: list[ReviewVerdict] = []

        def submit(verdict: ReviewVerdict) -> str:
            if verdicts:
                return "A review was already recorded. End your turn."
            verdicts.append(verdict)
            return "Review recorded. End your turn."

        name = f"reviewer-{bead.id}"
        spec = SessionSpec(
            name=name, working_directory=self.workspace, policy=ReadOnlyPolicy(readable=[self.workspace]),
            system_message=REVIEWER_SYSTEM,
            tools=[ToolSpec("submit_review", "Submit the review of the diff.", ReviewVerdict, submit)],
            on_event=self.on_event(name, bead.id) if self.on_event else None,
        )
        session = await self.runtime.create_session(spec)
        try:
            await session.run_turn(review_prompt(bead, diff), self.turn_timeout)
            if not verdicts:
                await session.run_turn("Call submit_review now with your verdict.", self.turn_timeout)
        finally:
            await session.disconnect()
        return verdicts[0] if verdicts else None
