"""Seats: a session started ahead of time on each idle worktree slot, so the next polecat there skips
session start (the slowest part of a spawn). A seat's tools and events go to whichever polecat sits in it;
an empty seat drops its events. One seat per slot; an idle session costs the CLI ~5 MB."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from gastown.runtime.base import AgentEvent, AgentRuntime, AgentSession, SessionSpec, ToolSpec

if TYPE_CHECKING:
    from gastown.town.polecat import Polecat

log = logging.getLogger(__name__)


class Seat:
    def __init__(self) -> None:
        self.owner: Polecat | None = None
        self.task: asyncio.Task[AgentSession] | None = None

    def emit(self, event: AgentEvent) -> None:
        if self.owner is not None:
            self.owner._emit(event)

    def tool(self, name: str) -> Callable[[BaseModel], object]:
        def call(params: BaseModel) -> object:
            if self.owner is None:
                return "error: no bead is assigned to this session yet"
            return self.owner.tool_handlers()[name](params)

        return call


class Seats:
    def __init__(self, runtime: Callable[[], AgentRuntime]) -> None:
        self._runtime = runtime
        self._seats: dict[Path, Seat] = {}
        self.taken = 0  # sessions handed to a polecat ready-made

    def prestart(self, path: Path, template: SessionSpec) -> None:
        """Start a session on an idle slot. ``template`` gives the policy, system message and tool shapes."""
        self._drop(path)
        seat = Seat()
        tools = [ToolSpec(t.name, t.description, t.params_type, seat.tool(t.name)) for t in template.tools]
        spec = SessionSpec(name=f"seat:{path.name}", working_directory=path, policy=template.policy,
                           system_message=template.system_message, tools=tools, on_event=seat.emit)
        seat.task = asyncio.ensure_future(self._runtime().create_session(spec))
        seat.task.add_done_callback(lambda t: t.cancelled() or t.exception())  # failures: fall back later
        self._seats[path] = seat

    async def take(self, path: Path, owner: Polecat) -> AgentSession | None:
        """The slot's waiting session, now owned by ``owner``; None when there is none (or it failed)."""
        seat = self._seats.pop(path, None)
        if seat is None or seat.task is None:
            return None
        seat.owner = owner
        try:
            session = await seat.task
        except Exception as exc:
            log.warning("seat on %s failed to start (%s); starting a session now", path.name, exc)
            return None
        self.taken += 1
        return session

    def _drop(self, path: Path) -> None:
        seat = self._seats.pop(path, None)
        if seat is not None and seat.task is not None:
            asyncio.ensure_future(_disconnect(seat.task))

    async def close(self) -> None:
        seats, self._seats = list(self._seats.values()), {}
        await asyncio.gather(*(_disconnect(s.task) for s in seats if s.task is not None))


async def _disconnect(task: asyncio.Task[AgentSession]) -> None:
    with contextlib.suppress(Exception, asyncio.CancelledError):
        session = await asyncio.wait_for(task, 10)
        await asyncio.wait_for(session.disconnect(), 10)
