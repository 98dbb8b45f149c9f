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


class TownWarning(BaseModel):
    """Something the Overseer should fix in the set-up, said once per town (e.g. polecats' shell commands run
    unconfined because bubblewrap is missing). ``setting``: the setting that changes it."""

    message: str
    setting: str | None = None


class GoalFinished(BaseModel):
    goal_id: str
    ok: bool
    summary: str


class AgentEventRecord(BaseModel):
    """A runtime event attributed to an agent, for logs and the editor's event stream."""

    agent: str
    bead_id: str | None
    event: dict[str, Any]


# --- Mayor, conflict radar, Refinery and review: what the Overseer must see --------------------------

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



# --- Polecats and the Witness: what the Overseer must see ------------------------------------------

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


# --- The Overseer in the loop: questions, answers, nudges, discovered work --------------------------

class NeedsInput(BaseModel):
    """A polecat waits for the Overseer: it asked (``ask_overseer``), reported blocked, or ended two turns
    in a row without a report. Its session stays open; ``Town.answer`` resumes it. Unanswered for
    ``polecats.needsInputTimeout`` seconds, the bead is escalated (an Escalation follows)."""

    bead_id: str
    agent: str
    question: str
    kind: str  # question | blocked | silent (no report after a reminder: its last message is the question)
    timeout: float  # seconds until escalation


class OverseerMessage(BaseModel):
    """The Overseer's text reached a bead: an answer to its polecat's question, a nudge into a running
    session, or a retry note on a blocked or escalated bead."""

    bead_id: str
    agent: str
    kind: str  # answer | nudge | retry
    text: str
    delivered: bool  # True: into a live session now; False: the bead was reopened for its next run


class DiscoveredWork(BaseModel):
    """A polecat filed a bead with ``bead_create`` (under its goal's epic, discovered-from its own bead).
    ``mode`` hold: the bead is ``deferred`` until ``Town.dispatch_discovered``; dispatch: it is worked in
    the same goal."""

    bead_id: str
    from_bead_id: str
    epic_id: str | None
    title: str
    mode: str  # hold | dispatch


class ConvoyReached(BaseModel):
    """Every bead of a convoy reached a milestone: ``merged`` into the integration branch, or ``landed`` on
    the Overseer's branch (``branch``). Published once per milestone (the convoy bead keeps the mark)."""

    convoy_id: str
    name: str
    milestone: str  # merged | landed
    beads: int
    branch: str


Event = (LedgerChange | AgentInfo | Progress | TownWarning | GoalFinished | AgentEventRecord | PlanProposed
         | PlanDrafted | PlanApproved | RadarOverlap | MergeQueueState | MergeOutcome | ReviewState
         | WitnessAction | Escalation | DispatchPaused | Recovered | NeedsInput | OverseerMessage | DiscoveredWork
         | ConvoyReached)


def publish_progress(bus: Bus, goal_id: str, message: str, percentage: int | None = None) -> None:
    """A human line about a goal's run: logged, and on the bus for the CLI and the editor's progress."""
    log.info("%s", message)
    bus.publish(Progress(goal_id=goal_id, message=message, percentage=percentage))


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
