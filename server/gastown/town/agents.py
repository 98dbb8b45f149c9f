"""The agent board: the live AgentInfo of every agent, updated from runtime events, published on the bus."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gastown.ledger.model import now_iso
from gastown.runtime.base import AgentEvent
from gastown.town.bus import AgentEventRecord, Bus
from gastown.town.state import AgentInfo

if TYPE_CHECKING:
    from gastown.town.records import RunRow


class AgentBoard:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.agents: dict[str, AgentInfo] = {}

    def update(self, agent_id: str, **changes: Any) -> AgentInfo:
        info = self.agents.get(agent_id)
        if info is None:
            info = AgentInfo(id=agent_id, **{"role": "polecat", "state": "starting", **changes})
        else:
            info = info.model_copy(update={**changes, "updated_at": now_iso()})
        self.agents[agent_id] = info
        self.bus.publish(info)
        return info

    def load_runs(self, runs: Iterable[RunRow], stall_seconds: float) -> None:
        """Fill the board from run records (the newest run per bead), e.g. after a restart."""
        from gastown.town.runs import derive_state

        for run in runs:
            if run.agent in self.agents:
                continue
            self.update(run.agent, role="polecat", state=derive_state(run, stall_seconds=stall_seconds),
                        bead_id=run.bead_id, branch=run.branch, worktree=run.worktree if run.live else None,
                        tokens=run.tokens, started_at=run.started_at, run_id=run.id, restarts=run.restarts,
                        last_event_at=run.last_event_at, exit_reason=run.exit_reason, detail=run.detail)

    def listener(self, agent_id: str, bead_id: str | None) -> Callable[[AgentEvent], None]:
        """An on_event callback for a session: every event goes on the bus and moves the agent's state."""

        def on_event(event: AgentEvent) -> None:
            self.bus.publish(AgentEventRecord(agent=agent_id, bead_id=bead_id, event=event.model_dump()))
            info = self.agents.get(agent_id)
            if info is None:
                return
            beat = {} if event.kind == "witness" else {"last_event_at": event.at}
            if info.state == "stalled" and beat:
                beat["state"] = "working"  # a heartbeat after a nudge: it is alive again
            if event.kind == "tool_start":
                self.update(agent_id, current_tool=event.tool, **{"state": "working", **beat})
            elif event.kind == "tool_done":
                self.update(agent_id, current_tool=None, **beat)
            elif event.kind == "usage":
                self.update(agent_id, tokens=info.tokens + event.tokens, **beat)
            elif event.kind == "permission" and not event.approved:
                self.update(agent_id, detail=f"denied: {event.text}", **beat)
            elif event.kind == "error":
                self.update(agent_id, detail=event.text, **beat)
            elif beat:
                self.update(agent_id, **beat)

        return on_event
