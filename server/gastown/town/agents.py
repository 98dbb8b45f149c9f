"""The agent board: the live AgentInfo of every agent, updated from runtime events, published on the bus."""

from __future__ import annotations

from collections.abc import Callable

from gastown.ledger.model import now_iso
from gastown.runtime.base import AgentEvent
from gastown.town.bus import AgentEventRecord, Bus
from gastown.town.state import AgentInfo


class AgentBoard:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.agents: dict[str, AgentInfo] = {}

    def update(self, agent_id: str, **changes) -> AgentInfo:
        info = self.agents.get(agent_id)
        if info is None:
            info = AgentInfo(id=agent_id, **{"role": "polecat", "state": "starting", **changes})
        else:
            info = info.model_copy(update={**changes, "updated_at": now_iso()})
        self.agents[agent_id] = info
        self.bus.publish(info)
        return info

    def listener(self, agent_id: str, bead_id: str | None) -> Callable[[AgentEvent], None]:
        """An on_event callback for a session: every event goes on the bus and moves the agent's state."""

        def on_event(event: AgentEvent) -> None:
            self.bus.publish(AgentEventRecord(agent=agent_id, bead_id=bead_id, event=event.model_dump()))
            info = self.agents.get(agent_id)
            if info is None:
                return
            if event.kind == "tool_start":
                self.update(agent_id, current_tool=event.tool, state="working")
            elif event.kind == "tool_done":
                self.update(agent_id, current_tool=None)
            elif event.kind == "usage":
                self.update(agent_id, tokens=info.tokens + event.tokens)
            elif event.kind == "permission" and not event.approved:
                self.update(agent_id, detail=f"denied: {event.text}")
            elif event.kind == "error":
                self.update(agent_id, detail=event.text)

        return on_event
