"""The town's pull request desk (``github.landing`` pr / pr-per-bead): it owns the Lander (``gastown.github``),
the editor's token (in memory only) and the follow-up tasks, and turns what the follow-up finds into the town's
own moves: rework through the dispatcher (as the editor's reject does), "needs you" for the Overseer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gastown.config import Settings
from gastown.github.status import PullRequestStatus
from gastown.ledger.model import Status
from gastown.ledger.store import Store
from gastown.town.bus import Bus, Escalation, publish_progress
from gastown.town.control import OverseerError
from gastown.town.dispatcher import Dispatcher

if TYPE_CHECKING:
    from gastown.github.landing import Lander

log = logging.getLogger(__name__)


class PullRequestDesk:
    def __init__(self, *, workspace: Path, integration: str, settings: Settings, verify_command: str,
                 store: Callable[[], Store | None], bus: Bus, dispatcher: Dispatcher,
                 spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]]) -> None:
        self.workspace = workspace
        self.integration = integration
        self.settings = settings
        self.verify_command = verify_command
        self._store = store
        self.bus = bus
        self.dispatcher = dispatcher
        self._spawn = spawn
        self._lander: Lander | None = None
        self._token: str | None = None  # the editor's (SecretStorage), in memory only
        self._following: dict[str, asyncio.Task[Any]] = {}  # epic id -> its pull requests being followed

    def store(self) -> Store:
        store = self._store()
        if store is None:
            raise OverseerError("the town is not open")
        return store

    def lander(self) -> Lander:
        """The code host's side (imported on first use: a local town never loads the client)."""
        if self._lander is None:
            from gastown.github.landing import Hooks, Lander

            self._lander = Lander(self.workspace, self.integration, self.settings.github, self._store,
                                  Hooks(rework=self._rework, needs_you=self._needs_you, publish=self.bus.publish,
                                        progress=self._progress),
                                  editor_token=lambda: self._token, verify_command=self.verify_command)
        return self._lander

    def set_token(self, token: str | None) -> None:
        """The editor's token: kept in memory, never logged or written; a follow-up that stopped for want of a
        token resumes."""
        self._token = token or None
        if self._lander is not None:
            self._lander.forget_connection()
        if self._token and self._store() is not None:
            self._spawn(self.follow_open())

    async def land_goal(self, epic_id: str) -> str:
        """A finished goal's pull request(s): push, open or update, then follow checks and review comments."""
        statuses = await self.lander().land(epic_id)
        self.follow(epic_id)
        return "; ".join(f"pull request #{s.number} {s.detail}: {s.url}" for s in statuses) or "no pull request"

    def follow(self, epic_id: str) -> asyncio.Task[Any]:
        task = self._following.get(epic_id)
        if task is not None and not task.done():
            task.cancel()
        task = self._spawn(self._follow(epic_id))
        self._following[epic_id] = task
        return task

    async def _follow(self, epic_id: str) -> list[PullRequestStatus]:
        try:
            return await self.lander().follow(epic_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the Overseer fixes it (token, network) and runs `land --pr`
            self.lander().forget_connection()  # a refused token is not used again
            log.warning("following the pull requests of %s stopped: %s", epic_id, exc)
            self._progress(epic_id, f"Pull request follow-up stopped: {exc}")
            return []

    async def follow_open(self) -> None:
        """After a restart (or a token): go on following the pull requests still open."""
        store = self._store()
        if self.settings.github.landing == "local" or store is None:
            return
        from gastown.github.landing import epics_with_pull_requests

        for epic, status in epics_with_pull_requests(await store.list(issue_type="epic")):
            task = self._following.get(epic.id)
            if status.state == "open" and (task is None or task.done()):
                self.follow(epic.id)

    async def pull_requests(self, refresh: bool = True) -> list[PullRequestStatus]:
        """Every epic's pull requests, looked at now when ``refresh`` (changing nothing), else as last recorded."""
        from gastown.github.landing import epics_with_pull_requests

        lander = self.lander()
        out: list[PullRequestStatus] = []
        for epic, _ in epics_with_pull_requests(await self.store().list(issue_type="epic")):
            for status in await lander.statuses(epic.id):
                if refresh and status.state == "open":
                    status = await lander.peek(status)
                out.append(status)
        return out

    async def land_pull_request(self, epic_id: str | None = None) -> str:
        """`gastown land --pr`: open or update the pull request of ``epic_id`` (default: the newest epic whose
        beads are all done), whatever ``github.landing`` says."""
        store = self.store()
        if epic_id is None:
            epics = sorted(await store.list(issue_type="epic"), key=lambda e: e.created_at, reverse=True)
            for epic in epics:
                children = await store.list(parent=epic.id)
                if children and all(c.status in Status.DONE for c in children):
                    epic_id = epic.id
                    break
            if epic_id is None:
                raise OverseerError("no goal has all its beads merged yet; name the epic to land")
        lander = self.lander()
        if self.settings.github.landing == "local":
            lander.settings = self.settings.github.model_copy(update={"landing": "pr"})
        statuses = await lander.land(epic_id)
        return "\n".join(f"Pull request #{s.number} {s.detail} ({s.head} → {s.base}): {s.url}" for s in statuses)

    # --- what the follow-up finds ------------------------------------------------------------------------
    async def _rework(self, bead_id: str, why: str, feedback: str, bounded: bool) -> None:
        """A failing check or a review comment: the bead goes back to its polecat (as the editor's reject
        does) and its goal runs again; when the goal finishes, the pull request is updated."""
        bead = await self.store().get(bead_id)
        await self.dispatcher.set_review(bead_id, "rejected", "github", comment=why)
        await self.dispatcher.rework(bead_id, why, feedback, bounded=bounded)
        await self.dispatcher.ensure_goal(bead.parent_id)

    async def _needs_you(self, bead_id: str, why: str) -> None:
        await self.store().add_comment(bead_id, "refinery", f"Needs the Overseer: {why}")
        self.bus.publish(Escalation(bead_id=bead_id, agent="refinery", reason=why))

    def _progress(self, epic_id: str, message: str) -> None:
        run = self.dispatcher.goals.get(epic_id)
        publish_progress(self.bus, run.goal_id if run else epic_id, message)
