"""Seats: a session started ahead of time on each idle worktree slot, so the next polecat there skips
session start (the slowest part of a spawn). A seat's tools and events go to whichever polecat sits in it;
an empty seat drops its events. One seat per slot; an idle session costs the CLI ~5 MB."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from pydantic import BaseModel

from gastown.runtime.base import AgentEvent, AgentRuntime, AgentSession, SessionSpec, ToolSpec

log = logging.getLogger(__name__)

ToolHandler = Callable[[BaseModel], Awaitable[str] | str]


class Seat:
    """Who sits in the seat is given as two plain parts: where its events go and its tools by name."""

    def __init__(self) -> None:
        self.on_event: Callable[[AgentEvent], None] | None = None
        self.handlers: Mapping[str, ToolHandler] | None = None
        self.task: asyncio.Task[AgentSession] | None = None

    def emit(self, event: AgentEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def tool(self, name: str) -> ToolHandler:
        def call(params: BaseModel) -> Awaitable[str] | str:
            if self.handlers is None:
                return "error: no bead is assigned to this session yet"
            return self.handlers[name](params)

        return call


class Seats:
    def __init__(self, runtime: Callable[[], AgentRuntime]) -> None:
        self._runtime = runtime
        self._seats: dict[Path, Seat] = {}
        self.taken = 0  # sessions handed to a polecat ready-made
        self.closed = False  # closed or abandoned: no new seats

    def prestart(self, path: Path, template: SessionSpec) -> None:
        """Start a session on an idle slot. ``template`` gives the policy, system message and tool shapes."""
        self._drop(path)
        if self.closed:
            return
        seat = Seat()
        tools = [ToolSpec(t.name, t.description, t.params_type, seat.tool(t.name)) for t in template.tools]
        spec = SessionSpec(name=f"seat:{path.name}", working_directory=path, policy=template.policy,
                           system_message=template.system_message, tools=tools, on_event=seat.emit)
        seat.task = asyncio.ensure_future(self._runtime().create_session(spec))
        seat.task.add_done_callback(lambda t: t.cancelled() or t.exception())  # failures: fall back later
        self._seats[path] = seat

    async def take(self, path: Path, on_event: Callable[[AgentEvent], None],
                   handlers: Mapping[str, ToolHandler]) -> AgentSession | None:
        """The slot's waiting session, its events now going to ``on_event`` and its tool calls to
        ``handlers`` (by tool name); None when there is none (or it failed)."""
        seat = self._seats.pop(path, None)
        if seat is None or seat.task is None:
            return None
        seat.on_event, seat.handlers = on_event, handlers
        try:
            session = await seat.task
        except Exception as exc:
            log.warning("seat on %s failed to start (%s); starting a session now", path.name, exc)
            return None
        self.taken += 1
        return session

    def ready(self) -> list[Path]:
        """The slots with a session waiting (started or starting)."""
        return [path for path, seat in self._seats.items() if seat.task is not None and _alive(seat.task)]

    def __len__(self) -> int:
        return len(self._seats)

    def abandon(self) -> None:
        """Forget every seat without asking their runtime (it is gone: a lost host); sessions still starting
        are cancelled."""
        seats, self._seats, self.closed = list(self._seats.values()), {}, True
        for seat in seats:
            if seat.task is not None:
                seat.task.cancel()

    def _drop(self, path: Path) -> None:
        seat = self._seats.pop(path, None)
        if seat is not None and seat.task is not None:
            asyncio.ensure_future(_disconnect(seat.task))

    async def close(self) -> None:
        seats, self._seats, self.closed = list(self._seats.values()), {}, True
        await asyncio.gather(*(_disconnect(s.task) for s in seats if s.task is not None))


def _alive(task: asyncio.Task[AgentSession]) -> bool:
    return not task.done() or (not task.cancelled() and task.exception() is None)


async def _disconnect(task: asyncio.Task[AgentSession]) -> None:
    with contextlib.suppress(Exception, asyncio.CancelledError):
        session = await asyncio.wait_for(task, 10)
        await asyncio.wait_for(session.disconnect(), 10)
