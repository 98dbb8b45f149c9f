"""The Town: one workspace under management. Wires the ledger, the runtime and the roles, and runs goals:
Mayor plans → dispatcher claims ready beads → Polecats work → Refinery merges → beads close."""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gastown.config import ProviderSettings, Settings, state_dir
from gastown.ledger.model import Bead, LedgerChange, Status, now_iso
from gastown.ledger.store import Store
from gastown.runtime.base import AgentEvent, AgentRuntime
from gastown.town.bus import AgentEventRecord, Bus, GoalFinished, Progress
from gastown.town.git import GitError, Worktrees, default_worktree_root, open_repo
from gastown.town.mayor import Mayor
from gastown.town.polecat import Polecat, polecat_name
from gastown.town.refinery import Refinery, run_verification, tail
from gastown.town.state import AgentInfo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # polecat runs per bead before it is marked blocked for the Overseer


@dataclass
class GoalReport:
    goal_id: str
    epic_id: str
    beads: int
    closed: int
    merged: int
    blocked: list[str]
    tests_passed: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.closed == self.beads and self.tests_passed


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
        self.agents: dict[str, AgentInfo] = {}
        self._tasks: set[asyncio.Task] = set()
        self._export_handle: asyncio.TimerHandle | None = None
        repo = open_repo(self.workspace)
        root = Path(settings.worktree_root) if settings.worktree_root else default_worktree_root(self.workspace)
        self.worktrees = Worktrees(repo, root, settings.integration_branch)
        self.verify_command = settings.verify_command or default_verify_command(self.workspace)
        self.refinery = Refinery(self.worktrees, self.verify_command, settings.verify_timeout_s)

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
        self._spawn(self.export())

    async def export(self) -> None:
        if self.store is not None:
            await self.store.export_jsonl(self.workspace / ".beads" / "issues.jsonl")

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- agents ----------------------------------------------------------------------------------
    def _agent(self, agent_id: str, **changes) -> AgentInfo:
        info = self.agents.get(agent_id)
        if info is None:
            info = AgentInfo(id=agent_id, **{"role": "polecat", "state": "starting", **changes})
        else:
            info = info.model_copy(update={**changes, "updated_at": now_iso()})
        self.agents[agent_id] = info
        self.bus.publish(info)
        return info

    def _event_listener(self, agent_id: str, bead_id: str | None):
        def on_event(event: AgentEvent) -> None:
            self.bus.publish(AgentEventRecord(agent=agent_id, bead_id=bead_id, event=event.model_dump()))
            info = self.agents.get(agent_id)
            if info is None:
                return
            if event.kind == "tool_start":
                self._agent(agent_id, current_tool=event.tool, state="working")
            elif event.kind == "tool_done":
                self._agent(agent_id, current_tool=None)
            elif event.kind == "usage":
                self._agent(agent_id, tokens=info.tokens + event.tokens)
            elif event.kind == "permission" and not event.approved:
                self._agent(agent_id, detail=f"denied: {event.text}")
            elif event.kind == "error":
                self._agent(agent_id, detail=event.text)
        return on_event

    # --- goals -----------------------------------------------------------------------------------
    def _progress(self, goal_id: str, message: str, percentage: int | None = None) -> None:
        log.info("%s", message)
        self.bus.publish(Progress(goal_id=goal_id, message=message, percentage=percentage))

    async def plan(self, goal: str, goal_id: str) -> tuple[Bead, list[Bead]]:
        assert self.store is not None
        self._progress(goal_id, f"Mayor: planning “{goal}”", 0)
        self._agent("mayor", role="mayor", state="working", detail=goal)
        mayor = Mayor(self.runtime(), self.store, self.workspace, turn_timeout=self.settings.turn_timeout_s,
                      on_event=self._event_listener("mayor", None))
        try:
            epic, tasks = await mayor.plan(goal)
        except Exception as exc:
            self._agent("mayor", state="failed", detail=str(exc))
            raise
        self._agent("mayor", state="idle", detail=f"planned {epic.id}")
        self._progress(goal_id, f"Mayor: planned {epic.id} “{epic.title}” with {len(tasks)} beads", 5)
        return epic, tasks

    async def submit_goal(self, goal: str, goal_id: str | None = None) -> tuple[str, Bead, list[Bead], asyncio.Task]:
        """Plan now; run in the background. Returns the task that finishes with a GoalReport."""
        goal_id = goal_id or uuid.uuid4().hex[:8]
        epic, tasks = await self.plan(goal, goal_id)
        task = self._spawn(self.run_goal(epic.id, goal_id))
        return goal_id, epic, tasks, task

    async def run_goal(self, epic_id: str, goal_id: str) -> GoalReport:
        assert self.store is not None
        started = time.monotonic()
        running: dict[asyncio.Task, str] = {}
        attempts: dict[str, int] = {}
        merged = 0
        try:
            while True:
                children = await self.store.list(parent=epic_id)
                total = len(children)
                closed = sum(1 for b in children if b.status in Status.DONE)
                if closed == total and not running:
                    break
                for bead in await self.store.ready(parent=epic_id):
                    if len(running) >= self.settings.max_polecats:
                        break
                    if attempts.get(bead.id, 0) >= MAX_ATTEMPTS or bead.id in running.values():
                        continue
                    claimed = await self.store.claim(bead.id, polecat_name(bead.id), actor="mayor")
                    if claimed is None:
                        continue  # someone else won the claim
                    attempts[bead.id] = attempts.get(bead.id, 0) + 1
                    self._progress(goal_id, f"Polecat {polecat_name(bead.id)} took {bead.id} “{bead.title}”",
                                   _pct(closed, total))
                    running[self._spawn(self._work(claimed, goal_id, attempts[bead.id]))] = bead.id
                if not running:
                    break  # nothing ready and nothing running: the rest is blocked
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    running.pop(task)
                    if task.result():
                        merged += 1
        finally:
            for task in running:
                task.cancel()
        children = await self.store.list(parent=epic_id)
        closed = [b for b in children if b.status in Status.DONE]
        blocked = [b.id for b in children if b.status not in Status.DONE]
        if not blocked:
            await self.store.close_bead(epic_id, reason="all beads merged", actor="refinery")
        final = await self.verify_integration()
        report = GoalReport(goal_id, epic_id, len(children), len(closed), merged, blocked, final,
                            time.monotonic() - started)
        summary = (f"{report.closed}/{report.beads} beads closed, {merged} merged into "
                   f"{self.worktrees.integration}, verification {'passed' if final else 'FAILED'}"
                   + (f"; not done: {', '.join(blocked)}" if blocked else ""))
        self._progress(goal_id, summary, 100)
        self.bus.publish(GoalFinished(goal_id=goal_id, ok=report.ok, summary=summary))
        return report

    async def verify_integration(self) -> bool:
        await asyncio.to_thread(self.refinery._ensure_worktree)
        g = self.worktrees.repo.git
        await asyncio.to_thread(g.execute, ["git", "-C", str(self.refinery.path), "checkout", "--force",
                                            "--detach", self.worktrees.integration])
        result = await run_verification(self.verify_command, self.refinery.path, self.settings.verify_timeout_s)
        return result.ok

    async def _work(self, bead: Bead, goal_id: str, attempt: int) -> bool:
        """One polecat run and its trip through the Refinery. True when merged."""
        assert self.store is not None
        name = polecat_name(bead.id)
        self._agent(name, role="polecat", state="starting", bead_id=bead.id, branch=f"polecat/{bead.id}",
                    tokens=0, current_tool=None, detail=None, started_at=now_iso())
        polecat = Polecat(bead, self.runtime(), self.worktrees, turn_timeout=self.settings.turn_timeout_s,
                          on_event=self._event_listener(name, bead.id))
        try:
            self._agent(name, state="working")
            result = await polecat.run()
        except asyncio.CancelledError:
            self._agent(name, state="failed", detail="cancelled")
            raise
        except Exception as exc:  # the bead must not be lost: back to open, or blocked after retries
            log.exception("polecat %s failed", name)
            self._agent(name, state="failed", detail=str(exc))
            await self._send_back(bead, attempt, f"Polecat {name} failed: {exc}")
            return False
        if result.blocked:
            self._agent(name, state="failed", detail=result.blocked)
            await self.store.add_comment(bead.id, name, f"Blocked: {result.blocked}")
            await self.store.update(bead.id, status=Status.BLOCKED, actor=name)
            return False
        if result.commit is None:
            self._agent(name, state="failed", detail="no changes")
            await self._send_back(bead, attempt, f"Polecat {name} finished without changing any file.")
            return False
        await self.store.update(bead.id, status=Status.REVIEW, actor=name,
                                notes=f"{result.summary}\nbranch {result.branch} at {result.commit[:10]}")
        self._agent(name, state="merging", current_tool=None, worktree=None)
        self._progress(goal_id, f"Refinery: verifying {result.branch} ({', '.join(result.files)})")
        outcome = await self.refinery.merge(result.branch)
        if outcome.merged:
            await self.store.close_bead(bead.id, reason=f"merged {outcome.sha[:10]} into "
                                        f"{self.worktrees.integration}", actor="refinery")
            self._agent(name, state="done", detail=result.summary)
            self._progress(goal_id, f"Refinery: merged {bead.id} “{bead.title}”")
            return True
        self._agent(name, state="failed", detail=outcome.reason)
        await self._send_back(bead, attempt, f"Refinery: {outcome.reason} for {result.branch}:\n{outcome.log_tail}")
        return False

    async def _send_back(self, bead: Bead, attempt: int, why: str) -> None:
        assert self.store is not None
        await self.store.add_comment(bead.id, "refinery", why)
        status = Status.OPEN if attempt < MAX_ATTEMPTS else Status.BLOCKED
        await self.store.update(bead.id, status=status, assignee=None, actor="refinery")

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


def _pct(done: int, total: int) -> int:
    return 5 + int(90 * done / total) if total else 5
