"""One picture of a town, read from its files (the ledger and the run records), so any process can show
it while a town runs elsewhere (the editor's server, a `gastown run` in another terminal): the agents,
the beads by status, the Refinery's queue and what needs the Overseer. `gastown feed` draws it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from gastown.config import state_dir
from gastown.ledger.model import Bead, Status


class AgentRow(BaseModel):
    agent: str
    bead_id: str
    title: str = ""
    state: str
    tokens: int = 0
    events: int = 0
    seconds: float = 0.0
    quiet_seconds: float | None = None
    detail: str = ""


class NeedsYou(BaseModel):
    bead_id: str
    title: str
    why: str  # needs-input | blocked | escalated | human
    text: str = ""  # the question, or the last comment


class QueueRow(BaseModel):
    bead_id: str
    title: str
    priority: int


class TownSnapshot(BaseModel):
    workspace: str
    agents: list[AgentRow] = Field(default_factory=list)
    beads_by_status: dict[str, int] = Field(default_factory=dict)
    queue: list[QueueRow] = Field(default_factory=list)
    needs_you: list[NeedsYou] = Field(default_factory=list)
    pauses: dict[str, str] = Field(default_factory=dict)


# The comments a polecat leaves when it starts waiting for the Overseer (polecat.py), and the answer's.
_ASKED = ("Question for the Overseer: ", "Blocked; asks the Overseer: ")
_ANSWERED = ("Answer: ", "Answer (applied when the town next opens)")


def waiting_question(bead: Bead) -> str | None:
    """The question a live polecat waits on, read from the bead's comments (another process cannot see the
    town's agent board): its last question with no answer after it."""
    for comment in reversed(bead.comments or []):
        if comment.text.startswith(_ANSWERED):
            return None
        for lead in _ASKED:
            if comment.text.startswith(lead):
                return comment.text[len(lead):]
    return None


async def take_snapshot(workspace: Path, *, stall_seconds: float = 120) -> TownSnapshot:
    from gastown.ledger.ids import natural_key
    from gastown.ledger.store import Store
    from gastown.town.plan import is_human
    from gastown.town.records import status_report

    snap = TownSnapshot(workspace=str(workspace))
    report = await status_report(workspace, stall_seconds=stall_seconds)
    snap.pauses = report.get("pauses", {})
    db = state_dir(workspace) / "beads.db"
    beads: list[Bead] = []
    ready: set[str] = set()
    if db.exists():
        async with await Store.open(db) as store:
            beads = await store.list()
            ready = {b.id for b in await store.ready()}
    by_id = {b.id: b for b in beads}
    waiting: set[str] = set()
    for run in report["runs"]:
        if run["state"] == "done" and not run.get("live"):
            continue
        state, detail = run["state"], run.get("detail") or ""
        bead = by_id.get(run["bead_id"])
        question = waiting_question(bead) if run.get("live") and bead is not None else None
        if question is not None:
            state, detail = "needs-input", question
            waiting.add(run["bead_id"])
            snap.needs_you.append(NeedsYou(bead_id=run["bead_id"], title=run.get("title", ""), why="needs-input",
                                           text=question[:300]))
        snap.agents.append(AgentRow(
            agent=run["agent"], bead_id=run["bead_id"], title=run.get("title", ""), state=state,
            tokens=run.get("tokens", 0), events=run.get("events", 0), seconds=run.get("seconds", 0.0),
            quiet_seconds=run.get("idle_seconds"), detail=detail[:200]))
    counts = Counter(str(b.status) for b in beads)
    snap.beads_by_status = dict(sorted(counts.items()))
    review = [b for b in beads if b.status == Status.REVIEW]
    review.sort(key=lambda b: (b.priority, natural_key(b.id)))
    snap.queue = [QueueRow(bead_id=b.id, title=b.title, priority=b.priority) for b in review]
    for b in sorted(beads, key=lambda b: natural_key(b.id)):
        if b.status == Status.BLOCKED and b.id not in waiting:
            last = b.comments[-1].text if b.comments else ""
            snap.needs_you.append(NeedsYou(bead_id=b.id, title=b.title, why="blocked", text=last[:300]))
        elif b.id in ready and is_human(b):  # a formula's human step, nothing left blocking it
            snap.needs_you.append(NeedsYou(bead_id=b.id, title=b.title, why="human",
                                           text="a human step: do it, then close the bead"))
    snap.agents.sort(key=lambda a: natural_key(a.bead_id))
    snap.needs_you.sort(key=lambda n: natural_key(n.bead_id))
    return snap
