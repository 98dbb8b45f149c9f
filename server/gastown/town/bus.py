"""The town's one in-process event bus. `town` publishes domain events; `lsp` and the CLI subscribe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from gastown.ledger.model import LedgerChange
from gastown.town.state import AgentInfo

log = logging.getLogger(__name__)


class Progress(BaseModel):
    """A human line about a goal's run: what the CLI prints and what work-done progress reports."""

    goal_id: str
    message: str
    percentage: int | None = None


class GoalFinished(BaseModel):
    goal_id: str
    ok: bool
    summary: str


class AgentEventRecord(BaseModel):
    """A runtime event attributed to an agent, for logs and the editor's event stream."""

    agent: str
    bead_id: str | None
    event: dict[str, Any]


Event = LedgerChange | AgentInfo | Progress | GoalFinished | AgentEventRecord


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def publish(self, event: Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # one broken subscriber must not stop the town
                log.exception("bus subscriber failed on %s", type(event).__name__)
