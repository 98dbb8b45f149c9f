"""The Town: one workspace under management. Wires the ledger, the runtime and the roles, and runs goals:
Mayor plans → dispatcher claims ready beads → Polecats work → Refinery merges → beads close."""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
import uuid
from pathlib import Path

from gastown.config import ProviderSettings, Settings, state_dir
from gastown.ledger.model import Bead, LedgerChange
from gastown.ledger.store import Store
from gastown.runtime.base import AgentRuntime
from gastown.town.agents import AgentBoard
from gastown.town.bus import Bus
from gastown.town.dispatcher import Dispatcher
from gastown.town.git import GitError, Worktrees, default_worktree_root, open_repo
from gastown.town.mayor import Mayor
from gastown.town.refinery import Refinery, run_verification, tail
from gastown.town.state import AgentInfo

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
        self._tasks: set[asyncio.Task] = set()
        self._export_handle: asyncio.TimerHandle | None = None
        repo = open_repo(self.workspace)
        root = Path(settings.worktree_root) if settings.worktree_root else default_worktree_root(self.workspace)
        self.worktrees = Worktrees(repo, root, settings.integration_branch)
        self.verify_command = settings.verify_command or default_verify_command(self.workspace)
        self.refinery = Refinery(self.worktrees, self.verify_command, settings.verify_timeout_s)
        self.dispatcher = Dispatcher(self)

    # --- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> Town:
        self.store = await Store.open(state_dir(self.workspace) / "beads.db")
        self.store.add_listener(self._on_ledger_change)
        await asyncio.to_thread(self.worktrees.ensure_integration)
        await asyncio.to_thread(_exclude_state_dir, self.worktrees.repo)
        return self

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
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
    async def plan(self, goal: str, goal_id: str) -> tuple[Bead, list[Bead]]:
        assert self.store is not None
        self.dispatcher.progress(goal_id, f"Mayor: planning “{goal}”", 0)
        self.board.update("mayor", role="mayor", state="working", detail=goal)
        mayor = Mayor(self.runtime(), self.store, self.workspace, turn_timeout=self.settings.turn_timeout_s,
                      on_event=self.board.listener("mayor", None))
        try:
            epic, tasks = await mayor.plan(goal)
        except Exception as exc:
            self.board.update("mayor", state="failed", detail=str(exc))
            raise
        self.board.update("mayor", state="idle", detail=f"planned {epic.id}")
        self.dispatcher.progress(goal_id, f"Mayor: planned {epic.id} “{epic.title}” with {len(tasks)} beads", 5)
        return epic, tasks

    async def submit_goal(self, goal: str, goal_id: str | None = None) -> tuple[str, Bead, list[Bead], asyncio.Task]:
        """Plan now; run in the background. Returns the task that finishes with a GoalReport."""
        goal_id = goal_id or uuid.uuid4().hex[:8]
        epic, tasks = await self.plan(goal, goal_id)
        task = self.spawn(self.dispatcher.run_goal(epic.id, goal_id))
        return goal_id, epic, tasks, task

    async def verify_integration(self) -> bool:
        await asyncio.to_thread(self.refinery._ensure_worktree)
        g = self.worktrees.repo.git
        await asyncio.to_thread(g.execute, ["git", "-C", str(self.refinery.path), "checkout", "--force",
                                            "--detach", self.worktrees.integration])
        result = await run_verification(self.verify_command, self.refinery.path, self.settings.verify_timeout_s)
        return result.ok

    async def land(self) -> str:
        """Bring the integration branch onto the Overseer's current branch: fast-forward or merge, never
        force, never over uncommitted changes to the paths it touches."""
        from gastown.town.git import dirty_paths

        repo = self.worktrees.repo
        if repo.head.is_detached:
            raise GitError("the workspace is on a detached HEAD; check out the branch to land on first")
        target = repo.active_branch.name
        touched = set(self.worktrees.changed_files(target, self.worktrees.integration))
        clash = sorted(touched & set(dirty_paths(repo)))
        if clash:
            raise GitError("uncommitted changes in the working tree to paths the integration branch changes: "
                           + ", ".join(clash) + " — commit or stash them first; nothing was changed")
        repo.git.merge("--no-edit", self.worktrees.integration,
                       env={"GIT_COMMITTER_NAME": "gastown", "GIT_COMMITTER_EMAIL": "gastown@gastown.local",
                            "GIT_AUTHOR_NAME": "gastown", "GIT_AUTHOR_EMAIL": "gastown@gastown.local"})
        return tail(repo.git.log("--oneline", "-5"), 5)


def _exclude_state_dir(repo) -> None:
    """Keep .gastown/ out of git without editing the user's .gitignore."""
    exclude = Path(repo.git_dir) / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if ".gastown/" not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, ".gastown/"]) + "\n")
