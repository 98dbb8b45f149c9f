"""A pull request's status as the editor, the bus and `gastown pr status` see it (kept light: the bus imports it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gastown.ledger.model import now_iso


class PullRequestStatus(BaseModel):
    """One pull request as the editor and `gastown pr status` show it (also kept in the epic's metadata)."""

    epic_id: str
    bead_id: str | None = None  # pr-per-bead: the bead of this pull request
    number: int
    url: str
    state: Literal["open", "closed", "merged"] = "open"
    checks: Literal["pending", "success", "failure", "none", "timeout"] = "pending"
    checks_line: str = ""
    head: str = ""
    base: str = ""
    sha: str = ""
    detail: str = ""
    updated_at: str = Field(default_factory=now_iso)
    seen_comments: list[int] = Field(default_factory=list)
    reported_sha: str = ""  # the head whose failure was already sent back (not sent twice)
