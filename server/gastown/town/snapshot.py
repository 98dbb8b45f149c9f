"""One picture of a town, read from its files (the ledger and the run records), so any process can show
it while a town runs elsewhere (the editor's server, a `gastown run` in another terminal): the agents,
the beads by status, the Refinery's queue and what needs the Overseer. `gastown feed` draws it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from gastown.config import state_dir
from gastown.ledger.model import Status


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


async def take_snapshot(workspace: Path, *, stall_seconds: float = 120) -> TownSnapshot:
    from gastown.ledger.natural import natural_key
    from gastown.ledger.store import Store
    from gastown.town.records import status_report

    snap = TownSnapshot(workspace=str(workspace))
    report = await status_report(workspace, stall_seconds=stall_seconds)
    snap.pauses = report.get("pauses", {})
    live_beads: set[str] = set()
    for run in report["runs"]:
        if run["state"] in ("done",) and not run.get("live"):
            continue
        snap.agents.append(AgentRow(
            agent=run["agent"], bead_id=run["bead_id"], title=run.get("title", ""), state=run["state"],
            tokens=run.get("tokens", 0), events=run.get("events", 0), seconds=run.get("seconds", 0.0),
            quiet_seconds=run.get("idle_seconds"), detail=(run.get("question") or run.get("detail") or "")[:200]))
        if run["state"] == "needs-input":
            live_beads.add(run["bead_id"])
            snap.needs_you.append(NeedsYou(bead_id=run["bead_id"], title=run.get("title", ""), why="needs-input",
                                           text=(run.get("question") or run.get("detail") or "")[:300]))
    db = state_dir(workspace) / "beads.db"
    if db.exists():
        async with await Store.open(db) as store:
            beads = await store.list()
        counts = Counter(b.status for b in beads)
        snap.beads_by_status = dict(sorted(counts.items()))
        review = [b for b in beads if b.status == Status.REVIEW]
        review.sort(key=lambda b: (b.priority, natural_key(b.id)))
        snap.queue = [QueueRow(bead_id=b.id, title=b.title, priority=b.priority) for b in review]
        for b in sorted(beads, key=lambda b: natural_key(b.id)):
            if b.status == Status.BLOCKED and b.id not in live_beads:
                last = b.comments[-1].text if b.comments else ""
                snap.needs_you.append(NeedsYou(bead_id=b.id, title=b.title, why="blocked", text=last[:300]))
    snap.agents.sort(key=lambda a: natural_key(a.bead_id))
    return snap
