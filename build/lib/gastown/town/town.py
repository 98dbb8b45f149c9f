"""The Town: one workspace under management. Wires the ledger, the runtime and the roles, and runs goals:
Mayor plans → dispatcher claims ready beads → Polecats work → Refinery merges → beads close."""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
import uuid
from pathlib import Path

from git.exc import GitCommandError

from gastown.config import ProviderSettings, Settings, state_dir
from gastown.ledger.model import Bead, LedgerChange, Status
from gastown.ledger.store import Store
from gastown.runtime.base import AgentRuntime
from gastown.town.agents import AgentBoard
from gastown.town.bus import Bus, MergeQueueState, PlanApproved, PlanDrafted
from gastown.town.dispatcher import Dispatcher
from gastown.town.git import GitError, Worktrees, default_worktree_root, open_repo
from gastown.town.mayor import DRAFT, Mayor, MayorMemory
from gastown.town.queue import MERGING, REJECTED, VERIFYING
from gastown.town.records import RunRecords  # issue 4
from gastown.town.refinery import Refinery, tail
from gastown.town.seats import Seats
from gastown.town.state import AgentInfo
from gastown.town.witness import Witness, recover  # issue 4

log = logging.getLogger(__name__)


def default_verify_command(workspace: Path) -> str:
    """Python projects: pytest when it is importable here, else unittest; anything else: `make test`."""
    if (workspace / "Makefile").exists() and not (workspace / "pyproject.toml").exists():
        return "make test"
    try:
        import pytest  # noqa: F401
        return f"{shlex.quote(sys.executable)} -m pytest -q"
    except ImportError:
        return f"{shlex.quote(sys.executable)} -m unittest discover -q"


class Town:
    def __init__(self, workspace: Path, settings: Settings, bus: Bus | None = None,
                 runtime: AgentRuntime | None = None) -> None:
        self.workspace = workspace.resolve()
        self.settings = settings
        self.bus = bus or Bus()
        self.store: Store | None = None
        self._runtime = runtime
        self._owns_runtime = runtime is None
        self._model_server = None
        self.board = AgentBoard(self.bus)
        self.seats = Seats(self.runtime)
        self._tasks: set[asyncio.Task] = set()
        self._export_handle: asyncio.TimerHandle | None = None
        repo = open_repo(self.workspace)
        root = Path(settings.worktree_root) if settings.worktree_root else default_worktree_root(self.workspace)
        self.worktrees = Worktrees(repo, root, settings.integration_branch)
        self.verify_command = settings.verify_command or default_verify_command(self.workspace)
        self.refinery = Refinery(self.worktrees, self.verify_command, settings.verify_timeout_s, bus=self.bus,
                                 batch_size=settings.merge_batch_size, batch_window=settings.merge_batch_window_s)
        self.dispatcher = Dispatcher(self)
        # --- Polecats and the Witness (issue 4): run records (.gastown/town.db), supervision, budgets ---
        self.records: RunRecords | None = None
        self.recovery = None  # what the last open() reconciled (bus.Recovered)
        self.witness = Witness(bus=self.bus, board=self.board, records=lambda: self.records,
                               settings=settings.polecats)
        self._mayor: Mayor | None = None  # persistent: one session, resumed for every goal
        self._plan_lock = asyncio.Lock()

    # --- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> Town:
        self.store = await Store.open(state_dir(self.workspace) / "beads.db")
        self.store.add_listener(self._on_ledger_change)
        await asyncio.to_thread(self.worktrees.ensure_integration)
        await asyncio.to_thread(_exclude_state_dir, self.worktrees.repo)
        # --- issue 4: run records, crash recovery (requeue, WIP saved, worktrees matched), the Witness ---
        self.records = await RunRecords.open(state_dir(self.workspace) / "town.db")
        self.recovery = await recover(self.store, self.records, self.worktrees, self.bus)
        self.board.load_runs(await self.records.latest_runs(), self.settings.polecats.stall_seconds)
        await self.witness.start()
        return self

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.seats.close()  # sessions waiting on idle slots, before the CLI goes
        # --- issue 4: the Witness stops after the polecats; their records are flushed and closed ---
        await self.witness.stop()
        if self.records is not None:
            await self.records.close()
            self.records = None
        if self._runtime is not None and self._owns_runtime:
            await self._runtime.stop()
        if self._model_server is not None:
            self._model_server.stop()
            self._model_server = None
        if self.store is not None:
            if self._export_handle:
                self._export_handle.cancel()
                await self.export()
            await self.store.close()
            self.store = None
        self.worktrees.close()

    async def __aenter__(self) -> Town:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def runtime(self) -> AgentRuntime:
        """The Copilot runtime, started on first use so that opening a town never needs the CLI."""
        if self._runtime is None:
            from gastown.runtime.copilot_adapter import CopilotRuntime

            provider = self.settings.provider
            base_dir = None
            if self.settings.scenario:
                from gastown.runtime.scripted_model import Scenario, ScriptedModelServer

                scenario = Scenario.load(Path(self.settings.scenario))
                self._model_server = ScriptedModelServer(scenario).start()
                provider = ProviderSettings(type="openai", base_url=self._model_server.base_url,
                                            model=scenario.model, api_key="scripted")
                # A private CLI home: offline runs never touch the user's Copilot login or history.
                base_dir = state_dir(self.workspace) / "copilot-home"
            self._runtime = CopilotRuntime(provider, self.settings.cli_path, base_directory=base_dir)
        return self._runtime

    # --- ledger → bus ----------------------------------------------------------------------------
    def _on_ledger_change(self, change: LedgerChange) -> None:
        self.bus.publish(change)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # Debounced: a burst of writes exports once.
        if self._export_handle is None:
            self._export_handle = loop.call_later(0.2, self._export_soon)

    def _export_soon(self) -> None:
        self._export_handle = None
        self.spawn(self.export())

    async def export(self) -> None:
        if self.store is not None:
            await self.store.export_jsonl(self.workspace / ".beads" / "issues.jsonl")

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def agents(self) -> dict[str, AgentInfo]:
        return self.board.agents

    # --- goals -----------------------------------------------------------------------------------
    def mayor(self) -> Mayor:
        """The town's one Mayor: its session id lives in .gastown/mayor.json and is resumed for every goal."""
        assert self.store is not None
        if self._mayor is None:
            self._mayor = Mayor(self.runtime(), self.store, self.workspace,
                                memory=MayorMemory(state_dir(self.workspace) / "mayor.json"),
                                max_plan_size=self.settings.max_plan_size, max_attempts=self.settings.plan_attempts,
                                turn_timeout=self.settings.turn_timeout_s,
                                on_event=self.board.listener("mayor", None), publish=self.bus.publish)
        return self._mayor

    async def plan(self, goal: str, goal_id: str) -> tuple[Bead, list[Bead]]:
        assert self.store is not None
        draft = self.settings.plan_approval
        async with self._plan_lock:  # one Mayor session: goals are planned one after another
            self.dispatcher.progress(goal_id, f"Mayor: planning “{goal}”", 0)
            self.board.update("mayor", role="mayor", state="working", detail=goal)
            try:
                epic, tasks = await self.mayor().plan(goal, goal_id=goal_id, draft=draft)
            except Exception as exc:
                self.board.update("mayor", state="failed", detail=str(exc))
                self.dispatcher.progress(goal_id, f"Mayor: {exc}", 100)
                raise
        self.board.update("mayor", state="idle", detail=f"planned {epic.id}")
        self.dispatcher.progress(goal_id, f"Mayor: planned {epic.id} “{epic.title}” with {len(tasks)} beads"
                                 + (" — waiting for your approval" if draft else ""), 5)
        if draft:
            self.bus.publish(PlanDrafted(goal_id=goal_id, epic_id=epic.id, bead_ids=[t.id for t in tasks]))
        return epic, tasks

    async def submit_goal(self, goal: str, goal_id: str | None = None) -> tuple[str, Bead, list[Bead], asyncio.Task]:
        """Plan now; run in the background. Returns the task that finishes with a GoalReport (with plan
        approval on, the run starts when ``approve_plan`` is called)."""
        goal_id = goal_id or uuid.uuid4().hex[:8]
        epic, tasks = await self.plan(goal, goal_id)
        task = self.spawn(self.dispatcher.run_goal(epic.id, goal_id))
        return goal_id, epic, tasks, task

    async def resume_goals(self) -> list[str]:
        """Run again every goal left unfinished (e.g. by a restart): open epics with work not done. Beads
        waiting in ``review`` go back into the merge queue. Returns the epic ids now running."""
        assert self.store is not None
        resumed = []
        for epic in await self.store.list(issue_type="epic", status=[Status.OPEN, Status.IN_PROGRESS]):
            if epic.id in self.dispatcher.goals:
                continue
            children = await self.store.list(parent=epic.id)
            if children and all(c.status in Status.DONE for c in children):
                continue
            goal_id = (epic.metadata or {}).get("goal_id") or uuid.uuid4().hex[:8]
            self.spawn(self.dispatcher.run_goal(epic.id, goal_id))
            resumed.append(epic.id)
        return resumed

    async def approve_plan(self, epic_id: str) -> list[str]:
        """The Overseer approves a draft plan (as edited): its beads open and are dispatched."""
        assert self.store is not None
        epic = await self.store.get(epic_id)
        drafts = [b for b in await self.store.list(parent=epic_id) if b.status == DRAFT]
        if epic.status != DRAFT and not drafts:
            raise ValueError(f"{epic_id} has no draft plan to approve")
        empty = [b.id for b in drafts if not (b.acceptance_criteria or "").strip()]
        if empty:
            raise ValueError("the plan cannot be approved: empty acceptance criteria on " + ", ".join(empty))
        async with self.store.batch(actor="overseer") as tx:
            for bead in drafts:
                await tx.update(bead.id, status=Status.OPEN)
            if epic.status == DRAFT:
                await tx.update(epic_id, status=Status.OPEN)
        ids = [b.id for b in drafts]
        self.bus.publish(PlanApproved(epic_id=epic_id, bead_ids=ids))
        if epic_id not in self.dispatcher.goals:  # e.g. approved after a restart: run it now
            goal_id = (epic.metadata or {}).get("goal_id") or uuid.uuid4().hex[:8]
            self.spawn(self.dispatcher.run_goal(epic_id, goal_id))
        self.dispatcher.wake()
        return ids

    async def discard_plan(self, epic_id: str, reason: str = "plan discarded by the Overseer") -> None:
        """Close a draft plan's beads and its epic without running them."""
        assert self.store is not None
        async with self.store.batch(actor="overseer") as tx:
            for bead in await self.store.list(parent=epic_id):
                if bead.status == DRAFT:
                    await tx.update(bead.id, status=Status.CLOSED, close_reason=reason)
            await tx.update(epic_id, status=Status.CLOSED, close_reason=reason)
        self.dispatcher.wake()

    # --- review: the Overseer's decision on a finished bead --------------------------------------
    async def accept(self, bead_id: str, hunk_ids: list[str] | None = None) -> list[str]:
        """Accept a bead's diff: it merges once verified (auto-merge off); accepting while it is still being
        verified is allowed (it merges as soon as verification passes). With ``hunk_ids`` (ids from
        ``town.diff.bead_diff``; a file = all its hunks) only those hunks merge and the rest is dropped.
        Returns the dropped hunk ids."""
        assert self.store is not None
        if not self.refinery.has(bead_id):
            raise ValueError(f"{bead_id} is not waiting in the merge queue")
        dropped: list[str] = []
        if hunk_ids:
            try:
                kept, dropped = await self.refinery.accept_hunks(bead_id, set(hunk_ids))
            except RuntimeError as exc:
                raise ValueError(str(exc)) from None
            note = f"Accepted {len(kept)} of {len(kept) + len(dropped)} hunks" + (
                f"; dropped: {', '.join(dropped)}." if dropped else ".")
        else:
            self.refinery.accept(bead_id)
            note = "Accepted."
        await self.dispatcher.set_review(bead_id, "accepted", "overseer", comment=note)
        await self.store.add_comment(bead_id, "overseer", note)
        return dropped

    async def reject(self, bead_id: str, comment: str, keep_hunks: list[str] | None = None) -> None:
        """Reject a bead's diff with a comment: the bead goes back to its polecat, which resumes with the
        comment. With ``keep_hunks`` the Overseer accepted those hunks: they merge first (verified as usual),
        then the bead goes back for the rest. Overseer rejections are not bounded by ``reworkAttempts``."""
        assert self.store is not None
        if not comment.strip():
            raise ValueError("a rejection needs a comment: it is what the polecat is told to fix")
        mr = self.refinery.get(bead_id)
        if mr is None:
            raise ValueError(f"{bead_id} is not waiting in the merge queue")
        if mr.state in (VERIFYING, MERGING):
            raise ValueError(f"{bead_id} is being verified or merged right now; reject it when it waits for review")
        if keep_hunks:
            kept, dropped = await self.refinery.accept_hunks(bead_id, set(keep_hunks), then_rework=comment)
            note = (f"Accepted {len(kept)} of {len(kept) + len(dropped)} hunks; rejected the rest: {comment}")
            await self.dispatcher.set_review(bead_id, "rejected", "overseer", comment=note)
            await self.store.add_comment(bead_id, "overseer", note)
            return
        mr.state = REJECTED  # the Refinery skips it; it stays listed until the bead is back with its polecat
        try:
            await self.dispatcher.set_review(bead_id, "rejected", "overseer", comment=comment)
            await self.dispatcher.rework(bead_id, f"Rejected by the Overseer: {comment}",
                                         f"The Overseer rejected your change: {comment}", bounded=False)
        finally:
            self.refinery.remove(bead_id)

    def merge_queue(self) -> MergeQueueState:
        """The Refinery's queue in merge order (also published on the bus after every change)."""
        return self.refinery.snapshot()

    async def verify_integration(self) -> bool:
        return (await self.refinery.verify_head()).ok

    async def land(self) -> str:
        """Bring the integration branch onto the Overseer's current branch: fast-forward or merge, never
        force, never over uncommitted changes to the paths it touches; a conflicting merge is undone."""
        return await asyncio.to_thread(self._land)

    def _land(self) -> str:
        from gastown.town.git import dirty_paths

        repo = self.worktrees.repo
        if repo.head.is_detached:
            raise GitError("the workspace is on a detached HEAD; check out the branch to land on first")
        target = repo.active_branch.name
        if target == self.worktrees.integration:
            raise GitError(f"the workspace is on {target} itself; check out the branch to land on first")
        touched = set(self.worktrees.changed_files(target, self.worktrees.integration))
        clash = sorted(touched & set(dirty_paths(repo)))
        if clash:
            raise GitError("uncommitted changes in the working tree to paths the integration branch changes: "
                           + ", ".join(clash) + " — commit or stash them first; nothing was changed")
        try:
            repo.git.merge("--no-edit", self.worktrees.integration,
                           env={"GIT_COMMITTER_NAME": "gastown", "GIT_COMMITTER_EMAIL": "gastown@gastown.local",
                                "GIT_AUTHOR_NAME": "gastown", "GIT_AUTHOR_EMAIL": "gastown@gastown.local"})
        except GitCommandError as exc:
            try:
                repo.git.merge("--abort")
            except GitCommandError:
                pass
            raise GitError(f"{self.worktrees.integration} does not merge cleanly into {target}; nothing was "
                           f"changed: {tail(str(exc.stderr or exc), 5)}") from None
        return tail(repo.git.log("--oneline", "-5"), 5)

def _exclude_state_dir(repo) -> None:
    """Keep .gastown/ out of git without editing the user's .gitignore."""
    exclude = Path(repo.git_dir) / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if ".gastown/" not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, ".gastown/"]) + "\n")
