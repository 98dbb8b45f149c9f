"""Convoys: a named group of beads across epics and goals, tracked until it lands (Gas Town's convoys).

A convoy is stored the way Gas Town stores it, as a bead of its own in the ledger: ``issue_type`` ``convoy``,
its name as the title, and one ``tracks`` dependency (convoy → bead) per tracked bead. ``tracks`` never
blocks and ``convoy`` is an internal type (never ready, never dispatched), so the JSONL stays a plain Beads
file that Beads and Gas Town read as they are. What the town learns on the way is kept in the convoy's
``metadata.convoy``: when every bead was merged into the integration branch (``merged_at``), which beads
reached the Overseer's branch (``landed``), and when all of them had (``landed_at``, ``landed_on``). Those
marks are written before the notification goes out, so each milestone is announced once, also across
restarts.

A tracked epic (a goal) stands for its descendants: the beads that are its leaves count, so beads the Mayor
or a polecat adds to the goal later are in the convoy too. Progress counts a bead merged when it is closed
(the Refinery closes a bead when its branch merges) and landed when a landing (``Town.land``) took it onto
the Overseer's branch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from gastown.errors import GastownError
from gastown.ledger.model import Bead, BeadNotFound, DepType, LedgerChange, Status, now_iso
from gastown.ledger.store import Store
from gastown.town.bus import Bus, ConvoyReached, publish_progress

log = logging.getLogger(__name__)

CONVOY = "convoy"
_MAX_DEPTH = 20  # epics inside epics: far deeper than any plan nests


class ConvoyError(GastownError):
    """A convoy command that cannot be done; nothing was written."""


class ConvoyMember(BaseModel):
    """One bead a convoy counts (a tracked bead, or a leaf of a tracked epic)."""

    id: str
    title: str
    status: str
    merged: bool
    landed: bool


class ConvoyProgress(BaseModel):
    """A convoy and how far its beads got: merged into the integration branch, landed on the Overseer's."""

    id: str
    name: str
    status: str
    tracked: list[str] = Field(description="The bead ids the convoy tracks (epics stand for their beads)")
    total: int
    merged: int
    landed: int
    members: list[ConvoyMember]
    merged_at: str | None = None
    landed_at: str | None = None
    landed_on: str | None = None


# --- reading a convoy ------------------------------------------------------------------------------------
def is_convoy(bead: Bead) -> bool:
    return bead.issue_type == CONVOY


def tracked_ids(convoy: Bead) -> list[str]:
    return [d.depends_on_id for d in convoy.dependencies or () if d.type == DepType.TRACKS]


def state_of(convoy: Bead) -> dict[str, Any]:
    state = (convoy.metadata or {}).get(CONVOY)
    return dict(state) if isinstance(state, dict) else {}


async def convoys(store: Store) -> list[Bead]:
    """Every convoy (not deleted), oldest first."""
    found = await store.list(issue_type=CONVOY)
    return sorted((c for c in found if c.status != Status.TOMBSTONE), key=lambda c: (c.created_at, c.id))


async def find(store: Store, name: str) -> Bead:
    """The convoy with this name (or id)."""
    everything = await convoys(store)
    for convoy in everything:
        if convoy.id == name:
            return convoy
    named = [c for c in everything if c.title == name]
    if not named:
        known = ", ".join(c.title for c in everything) or "none yet"
        raise ConvoyError(f"no convoy named {name!r} (convoys: {known})")
    return named[0]


async def members(store: Store, convoy: Bead) -> list[Bead]:
    """The beads the convoy counts: tracked beads, with a tracked epic replaced by its leaf beads."""
    seen: set[str] = set()
    out: list[Bead] = []

    async def visit(bead: Bead, depth: int) -> None:
        if bead.id in seen or bead.status == Status.TOMBSTONE or is_convoy(bead):
            return
        seen.add(bead.id)
        children = await store.list(parent=bead.id) if depth < _MAX_DEPTH else []
        if not children:
            out.append(bead)
            return
        for child in children:
            await visit(child, depth + 1)

    for bead_id in tracked_ids(convoy):
        try:
            bead = await store.get(bead_id)
        except BeadNotFound:
            continue  # deleted since: it no longer counts
        await visit(bead, 0)
    return out


async def progress(store: Store, convoy: Bead) -> ConvoyProgress:
    state = state_of(convoy)
    landed = set(state.get("landed") or ())
    rows = [ConvoyMember(id=b.id, title=b.title, status=b.status, merged=b.status == Status.CLOSED,
                         landed=b.id in landed) for b in await members(store, convoy)]
    return ConvoyProgress(id=convoy.id, name=convoy.title, status=convoy.status, tracked=tracked_ids(convoy),
                          total=len(rows), merged=sum(r.merged for r in rows), landed=sum(r.landed for r in rows),
                          members=rows, merged_at=state.get("merged_at"), landed_at=state.get("landed_at"),
                          landed_on=state.get("landed_on"))


async def all_progress(store: Store) -> list[ConvoyProgress]:
    return [await progress(store, c) for c in await convoys(store)]


# --- writing a convoy (each one transaction: an unknown bead or a taken name writes nothing) ------------
def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ConvoyError("a convoy needs a name")
    return name


async def _check_beads(store: Store, bead_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(i.strip() for i in bead_ids if i.strip()))
    if not ids:
        raise ConvoyError("give at least one bead for the convoy to track")
    for bead_id in ids:
        try:
            bead = await store.get(bead_id)
        except BeadNotFound:
            raise ConvoyError(f"unknown bead {bead_id!r}; nothing was written") from None
        if is_convoy(bead):
            raise ConvoyError(f"{bead_id} is a convoy itself; a convoy tracks beads and goals")
    return ids


async def create(store: Store, name: str, bead_ids: Sequence[str], *, actor: str = "") -> Bead:
    name = _clean_name(name)
    taken = [c for c in await convoys(store) if c.title == name or c.id == name]
    if taken:
        raise ConvoyError(f"a convoy named {name!r} already exists ({taken[0].id}); add beads to it with "
                          "`gastown convoy add`")
    ids = await _check_beads(store, bead_ids)
    async with store.batch(actor=actor) as tx:
        convoy = await tx.create(name, issue_type=CONVOY, description="A convoy: beads tracked together until they land",
                                 metadata={CONVOY: {}})
        for bead_id in ids:
            convoy = await tx.add_dependency(convoy.id, bead_id, DepType.TRACKS)
    return convoy


async def add(store: Store, name: str, bead_ids: Sequence[str], *, actor: str = "") -> Bead:
    """Track more beads. New work reopens a convoy that had merged or landed: its milestones come again."""
    convoy = await find(store, name)
    ids = [i for i in await _check_beads(store, bead_ids) if i not in tracked_ids(convoy)]
    if not ids:
        return convoy
    async with store.batch(actor=actor) as tx:
        for bead_id in ids:
            convoy = await tx.add_dependency(convoy.id, bead_id, DepType.TRACKS)
        state = state_of(convoy)
        fresh = {k: v for k, v in state.items() if k not in ("merged_at", "landed_at", "landed_on")}
        fields: dict[str, Any] = {"metadata": {**(convoy.metadata or {}), CONVOY: fresh}}
        if convoy.status == Status.CLOSED:
            fields["status"] = Status.OPEN
        convoy = await tx.update(convoy.id, **fields)
    return convoy


# --- milestones ----------------------------------------------------------------------------------------
async def _mark(store: Store, convoy_id: str, key: str, changes: dict[str, Any], **fields: Any) -> bool:
    """Set ``changes`` in the convoy's state unless ``key`` is already set (another writer got there first)."""
    async with store.batch(actor="refinery") as tx:
        convoy = await tx.get(convoy_id)
        state = state_of(convoy)
        if state.get(key):
            return False
        await tx.update(convoy_id, metadata={**(convoy.metadata or {}), CONVOY: {**state, **changes}}, **fields)
    return True


async def mark_merged(store: Store) -> list[ConvoyProgress]:
    """Convoys whose every bead is now merged, marked so (the ones newly marked are returned)."""
    newly = []
    for convoy in await convoys(store):
        if state_of(convoy).get("merged_at"):
            continue
        now = await progress(store, convoy)
        if now.total and now.merged == now.total and await _mark(store, convoy.id, "merged_at", {"merged_at": now_iso()}):
            newly.append(await progress(store, await store.get(convoy.id)))
    return newly


async def merged_members(store: Store) -> set[str]:
    """The merged beads of every convoy not landed yet: what a landing that starts now takes along."""
    out: set[str] = set()
    for convoy in await convoys(store):
        if not state_of(convoy).get("landed_at"):
            out |= {m.id for m in (await progress(store, convoy)).members if m.merged}
    return out


async def mark_landed(store: Store, landed: Iterable[str], branch: str) -> list[ConvoyProgress]:
    """Record that ``landed`` beads reached ``branch``; convoys now fully landed are closed and returned."""
    landed = set(landed)
    newly = []
    for convoy in await convoys(store):
        state = state_of(convoy)
        if state.get("landed_at"):
            continue
        now = await progress(store, convoy)
        ids = {m.id for m in now.members}
        before = set(state.get("landed") or ())
        after = before | (landed & ids)
        complete = bool(state.get("merged_at")) and bool(ids) and ids <= after
        if after == before and not complete:
            continue
        changes: dict[str, Any] = {"landed": sorted(after)}
        fields: dict[str, Any] = {}
        if complete:
            changes |= {"landed_at": now_iso(), "landed_on": branch}
            fields = {"status": Status.CLOSED, "close_reason": f"landed on {branch}"}
        if await _mark(store, convoy.id, "landed_at", changes, **fields) and complete:
            newly.append(await progress(store, await store.get(convoy.id)))
    return newly


class ConvoyWatch:
    """The town's eye on its convoys: after ledger changes that may complete one (a bead closed, a convoy
    changed) it marks the milestone and publishes ``ConvoyReached`` once; ``Town.land`` asks it what a
    landing takes along and tells it where it landed."""

    def __init__(self, store: Callable[[], Store | None], bus: Bus, integration: str,
                 spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]]) -> None:
        self._store = store
        self.bus = bus
        self.integration = integration
        self._spawn = spawn
        self._lock = asyncio.Lock()
        self._pending = False

    def on_ledger_change(self, change: LedgerChange) -> None:
        if any(b.status == Status.CLOSED or is_convoy(b) for b in change.changed) and not self._pending:
            self._pending = True  # one check covers every change made before it starts
            self._spawn(self.check())

    async def check(self) -> list[ConvoyProgress]:
        store = self._store()
        async with self._lock:
            self._pending = False
            if store is None:
                return []
            newly = await mark_merged(store)
        for p in newly:
            self._announce(ConvoyReached(convoy_id=p.id, name=p.name, milestone="merged", beads=p.total,
                                         branch=self.integration))
        return newly

    async def before_land(self) -> set[str]:
        await self.check()  # a convoy completed just now is announced merged before it lands
        store = self._store()
        return await merged_members(store) if store is not None else set()

    async def landed(self, taken: set[str], branch: str) -> list[ConvoyProgress]:
        store = self._store()
        if store is None or not taken:
            return []
        async with self._lock:
            newly = await mark_landed(store, taken, branch)
        for p in newly:
            self._announce(ConvoyReached(convoy_id=p.id, name=p.name, milestone="landed", beads=p.total,
                                         branch=branch))
        return newly

    def _announce(self, event: ConvoyReached) -> None:
        """The editor shows the event as a notification; a terminal following a run prints the line."""
        self.bus.publish(event)
        publish_progress(self.bus, event.convoy_id, milestone_line(event))


def milestone_line(event: ConvoyReached) -> str:
    where = "merged into" if event.milestone == "merged" else "landed on"
    return f"Convoy “{event.name}”: all {event.beads} beads {where} {event.branch}"
