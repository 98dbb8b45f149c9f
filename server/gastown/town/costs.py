"""Costs: tokens and wall time by goal, bead and role (Mayor, polecats, reviewer), from the run records.

Polecat runs are the ``runs`` of ``.gastown/town.db`` (their tokens are the sums of the SDK's usage events);
the Mayor's planning and the reviewer's reading are ``role_runs`` there, metered by :class:`UsageTap` around
their sessions. :func:`report` is a plain function over those rows; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from gastown.errors import GastownError
from gastown.ledger.model import Bead, now_iso
from gastown.runtime.base import AgentEvent
from gastown.town.records import RoleRun, RunRecords, RunRow
from gastown.town.review import Reviewer, ReviewVerdict

if TYPE_CHECKING:
    from gastown.ledger.store import Store

ROLES = ("mayor", "polecat", "reviewer")


class CostsError(GastownError):
    pass


class CostLine(BaseModel):
    tokens: int = 0
    seconds: float = 0.0
    runs: int = 0

    def add(self, tokens: int, seconds: float) -> None:
        self.tokens += tokens
        self.seconds += seconds
        self.runs += 1


class CostGroup(BaseModel):
    """One goal's or one bead's costs, in total and by role."""

    id: str
    title: str | None = None
    total: CostLine = Field(default_factory=CostLine)
    by_role: dict[str, CostLine] = Field(default_factory=dict)


class CostReport(BaseModel):
    """Tokens and seconds: in total, by role, by goal (its epic) and by bead; ``scope`` says what was asked."""

    scope: str = Field(description="all | goal:<epic id> | bead:<bead id>")
    total: CostLine = Field(default_factory=CostLine)
    by_role: dict[str, CostLine] = Field(default_factory=dict)
    goals: list[CostGroup] = Field(default_factory=list)
    beads: list[CostGroup] = Field(default_factory=list)


class CostRun(BaseModel):
    """A run of any role, reduced to what costs count."""

    role: str
    bead_id: str | None
    goal_id: str | None
    tokens: int
    seconds: float


def cost_runs(polecat_runs: Iterable[RunRow], role_runs: Iterable[RoleRun]) -> list[CostRun]:
    out = [CostRun(role="polecat", bead_id=r.bead_id, goal_id=r.goal_id, tokens=r.tokens, seconds=r.seconds)
           for r in polecat_runs]
    out += [CostRun(role=r.role, bead_id=r.bead_id, goal_id=r.goal_id, tokens=r.tokens, seconds=r.seconds)
            for r in role_runs]
    return out


def report(runs: Iterable[CostRun], *, goal: str | None = None, bead: str | None = None,
           titles: dict[str, str] | None = None) -> CostReport:
    """Pure: the runs of the scope (a goal: its epic's runs and the Mayor's for it; a bead: its runs) summed."""
    titles = titles or {}
    if goal is not None:
        chosen = [r for r in runs if goal in (r.goal_id, r.bead_id)]
        scope = f"goal:{goal}"
    elif bead is not None:
        chosen = [r for r in runs if r.bead_id == bead]
        scope = f"bead:{bead}"
    else:
        chosen, scope = list(runs), "all"
    out = CostReport(scope=scope, by_role={role: CostLine() for role in ROLES})
    goals: dict[str, CostGroup] = {}
    beads: dict[str, CostGroup] = {}
    for r in chosen:
        out.total.add(r.tokens, r.seconds)
        out.by_role.setdefault(r.role, CostLine()).add(r.tokens, r.seconds)
        groups = [(goals, r.goal_id)] + ([(beads, r.bead_id)] if r.bead_id and r.bead_id != r.goal_id else [])
        for table, key in groups:
            if not key:
                continue
            group = table.setdefault(key, CostGroup(id=key, title=titles.get(key)))
            group.total.add(r.tokens, r.seconds)
            group.by_role.setdefault(r.role, CostLine()).add(r.tokens, r.seconds)
    out.goals = sorted(goals.values(), key=lambda g: g.id)
    out.beads = sorted(beads.values(), key=lambda g: g.id)
    return out


async def town_report(records: RunRecords, store: Store | None = None, *, goal: str | None = None,
                      bead: str | None = None) -> CostReport:
    """The report of an open town (or of its files: see :func:`workspace_report`). With the ledger at hand,
    an unknown goal or bead is an error and groups carry titles."""
    await records.flush()
    runs = cost_runs(await records.runs(), await records.role_runs())
    titles: dict[str, str] = {}
    if store is not None:
        for asked in (goal, bead):
            if asked is not None:
                await _known(store, asked)
        wanted = {i for r in runs for i in (r.goal_id, r.bead_id) if i}
        titles = {b.id: b.title for b in await store.list() if b.id in wanted}
    return report(runs, goal=goal, bead=bead, titles=titles)


async def _known(store: Store, bead_id: str) -> Bead:
    from gastown.ledger.model import BeadNotFound

    try:
        return await store.get(bead_id)
    except BeadNotFound:
        raise CostsError(f"no bead or goal {bead_id!r} in the ledger") from None


async def workspace_report(workspace: Path, *, goal: str | None = None, bead: str | None = None) -> CostReport:
    """What `gastown costs` prints: read from ``.gastown/`` (the town may be running meanwhile)."""
    from gastown.config import state_dir
    from gastown.ledger.store import Store

    town_db = state_dir(workspace) / "town.db"
    beads_db = state_dir(workspace) / "beads.db"
    if not town_db.exists():
        if goal or bead:
            raise CostsError(f"no runs recorded in {workspace} yet")
        return report([], titles={})
    records = await RunRecords.open(town_db)
    try:
        if not beads_db.exists():
            return await town_report(records, goal=goal, bead=bead)
        async with await Store.open(beads_db) as store:
            return await town_report(records, store, goal=goal, bead=bead)
    finally:
        await records.close()


# --- metering the Mayor's and the reviewer's sessions ------------------------------------------------------
class UsageTap:
    """Counts the tokens of the usage events passing to a session's listener (in total, and in/out for spans)."""

    def __init__(self) -> None:
        self.tokens = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def wrap(self, inner: Callable[[AgentEvent], None] | None) -> Callable[[AgentEvent], None]:
        def on_event(event: AgentEvent) -> None:
            if event.kind == "usage":
                self.tokens += event.tokens
                self.input_tokens += int(event.detail.get("input_tokens") or 0)
                self.output_tokens += int(event.detail.get("output_tokens") or 0)
            if inner is not None:
                inner(event)

        return on_event


class MeteredReviewer(Reviewer):
    """The reviewer, with each review's tokens and time written to the run records (role ``reviewer``)."""

    def __init__(self, *args: Any, records: Callable[[], RunRecords | None], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._records = records
        self._taps: dict[str, UsageTap] = {}
        inner = self.on_event

        def tapped(name: str, bead_id: str) -> Callable[[AgentEvent], None]:
            tap = self._taps.setdefault(bead_id, UsageTap())
            return tap.wrap(inner(name, bead_id) if inner else None)

        self.on_event = tapped

    async def review(self, bead: Bead, diff: str) -> ReviewVerdict | None:
        started = now_iso()
        tap = self._taps[bead.id] = UsageTap()
        try:
            return await super().review(bead, diff)
        finally:
            self._taps.pop(bead.id, None)
            records = self._records()
            if records is not None:
                await records.add_role_run("reviewer", f"reviewer-{bead.id}", started_at=started, tokens=tap.tokens,
                                           bead_id=bead.id, goal_id=bead.parent_id)
