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


# --- Mayor, conflict radar, Refinery and review (issue 5): what the Overseer must see ----------------

class PlanProposed(BaseModel):
    """The Mayor called propose_plan. ``problems`` empty = accepted; else the plan was sent back."""

    goal_id: str
    attempt: int
    accepted: bool
    problems: list[str] = []


class PlanDrafted(BaseModel):
    """Plan approval is on: the plan waits as ``draft`` beads until ``Town.approve_plan(epic_id)``."""

    goal_id: str
    epic_id: str
    bead_ids: list[str]


class PlanApproved(BaseModel):
    epic_id: str
    bead_ids: list[str]


class RadarOverlap(BaseModel):
    """The conflict radar held a ready bead back (``held``) or let it go again (``held=False``)."""

    bead_id: str
    held: bool
    mode: str  # hold | serialize
    overlaps: dict[str, list[str]] = {}  # other bead id -> overlapping files


class QueueEntry(BaseModel):
    bead_id: str
    branch: str
    state: str  # queued | verifying | awaiting-review | merging
    priority: int
    accepted: bool = False


class MergeQueueState(BaseModel):
    """The Refinery's queue, in merge order, after every change."""

    integration_head: str
    entries: list[QueueEntry]


class MergeOutcome(BaseModel):
    """What the Refinery did with one branch."""

    bead_id: str
    result: str  # merged | conflict | verification-failed | awaiting-review | rejected
    sha: str | None = None
    detail: str = ""
    batch_size: int = 1


class ReviewState(BaseModel):
    """A bead's review: the reviewer agent's verdict and/or the Overseer's decision."""

    bead_id: str
    state: str  # pending | approved | changes-requested | accepted | rejected
    by: str  # reviewer | overseer
    score: int | None = None
    comment: str = ""



# --- Polecats and the Witness (issue 4): what the Overseer must see --------------------------------

class WitnessAction(BaseModel):
    """The Witness acted on a polecat: nudge | restart | escalate | stop (a budget cap) | abort (Overseer)."""

    agent: str
    bead_id: str
    action: str
    reason: str
    restarts: int = 0


class Escalation(BaseModel):
    """A bead needs the Overseer: the Witness gave up on it (stuck after restarts) or a budget stopped it.
    The bead is blocked and carries a comment saying why."""

    bead_id: str
    agent: str
    reason: str


class DispatchPaused(BaseModel):
    """A budget cap paused dispatch (``paused=False``: the Overseer resumed it). ``scope`` is
    ``goal:<epic id>`` or ``bead:<bead id>``."""

    scope: str
    paused: bool
    reason: str


class Recovered(BaseModel):
    """Town.open reconciled after a crash or a stop in the middle of runs."""

    crashed_runs: list[int] = []
    requeued: list[str] = []  # beads put back to open (their work is kept on their branches)
    worktrees: dict[str, str] = {}  # worktree name -> bead id it was matched to
    wip_commits: dict[str, str] = {}  # bead id -> commit that saved uncommitted work
    awaiting_refinery: list[str] = []  # beads left in review with their branch unmerged: re-enqueue them


Event = (LedgerChange | AgentInfo | Progress | GoalFinished | AgentEventRecord | PlanProposed | PlanDrafted
         | PlanApproved | RadarOverlap | MergeQueueState | MergeOutcome | ReviewState
         | WitnessAction | Escalation | DispatchPaused | Recovered)


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
