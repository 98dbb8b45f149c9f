"""The Town: one workspace under management. Wires the ledger, the runtime and the roles, and runs goals:
Mayor plans → dispatcher claims ready beads → Polecats work → Refinery merges → beads close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import sys
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gastown.config import ProviderSettings, Settings, state_dir
from gastown.formulas import Catalog, discover
from gastown.github.status import PullRequestStatus
from gastown.ledger.model import Bead, LedgerChange, Status, now_iso
from gastown.ledger.store import Store
from gastown.runtime.base import AgentRuntime
from gastown.runtime.sandbox import SETTING as SANDBOX_SETTING
from gastown.runtime.sandbox import Sandbox, SandboxChoice, choose_sandbox, default_cli_home
from gastown.telemetry import Tracer, goal_key, make_tracer
from gastown.town import orphans
from gastown.town.agents import AgentBoard
from gastown.town.bus import (
    Bus,
    MergeQueueState,
    OverseerMessage,
    PlanApproved,
    PlanDrafted,
    Recovered,
    TownWarning,
    publish_progress,
)
from gastown.town.checkouts import Worktrees, default_worktree_root
from gastown.town.control import PENDING_KEY, ControlRequest, ControlServer, OverseerError
from gastown.town.convoys import ConvoyWatch
from gastown.town.costs import MeteredReviewer, UsageTap
from gastown.town.dispatcher import Dispatcher
from gastown.town.hosts import LOCAL, HostPool, Placement
from gastown.town.mayor import DRAFT, Mayor, MayorMemory
from gastown.town.polecat import Polecat, polecat_name
from gastown.town.pour import pour, prepare
from gastown.town.pull_requests import PullRequestDesk
from gastown.town.queue import MERGING, REJECTED, VERIFYING
from gastown.town.records import RunRecords
from gastown.town.refinery import Refinery, tail
from gastown.town.review import Reviewer
from gastown.town.seats import Seats
from gastown.town.state import AgentInfo
from gastown.town.witness import Witness, recover
from gastown.vcs import GitError, git
from gastown.vcs.names import TOWN_IDENTITY, bead_of_branch
from gastown.vcs.repo import Repo, changed_files, head_branch, open_repo
from gastown.vcs.status import changed_paths

if TYPE_CHECKING:
    from gastown.github.landing import Lander
    from gastown.runtime.scripted_model import ScriptedModelServer

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
        self._model_server: ScriptedModelServer | None = None
        self.board = AgentBoard(self.bus)
        # OpenTelemetry (telemetry.exporter; a no-op when off): handed to the Mayor's planning, the dispatcher,
        # the polecats and the Refinery; the Copilot CLI is pointed at the same place.
        self.tracer: Tracer = make_tracer(settings.telemetry, state_dir(self.workspace))
        self.seats = Seats(self.runtime)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._export_handle: asyncio.TimerHandle | None = None
        repo = open_repo(self.workspace)
        root = Path(settings.worktree_root) if settings.worktree_root else default_worktree_root(self.workspace)
        self.worktrees = Worktrees(repo, root, settings.integration_branch)
        self.verify_command = settings.verify_command or default_verify_command(self.workspace)
        # polecats.sandbox, applied on first use (bwrap is probed then, not when the town opens).
        self._sandbox_choice: SandboxChoice | None = None
        self._sandbox_warned = False
        self._launcher_ready = False
        self.refinery = Refinery(self.worktrees, self.verify_command, settings.verify_timeout_s, bus=self.bus,
                                 batch_size=settings.merge_batch_size, batch_window=settings.merge_batch_window_s,
                                 groups=state_dir(self.workspace) / "verifying", sandbox=self.confinement,
                                 tracer=self.tracer)
        # --- Polecats and the Witness: run records (.gastown/town.db), supervision, budgets ---
        self.records: RunRecords | None = None
        self.recovery: Recovered | None = None  # what the last open() reconciled
        self.witness = Witness(bus=self.bus, board=self.board, records=lambda: self.records,
                               settings=settings.polecats)
        # Runtime hosts: polecats placed on other machines too (settings.hosts.pool).
        self.hosts: HostPool | None = None
        if settings.hosts.pool:
            local_slots = settings.hosts.local_slots
            self.hosts = HostPool(settings.hosts, self.worktrees, local=self._local_placement,
                                  local_slots=settings.max_polecats if local_slots is None else local_slots,
                                  make_runtime=self._host_runtime)
        self.dispatcher = Dispatcher(store=lambda: self.store, board=self.board, bus=self.bus, refinery=self.refinery,
                                     witness=self.witness, worktrees=self.worktrees, settings=settings,
                                     workspace=self.workspace, new_polecat=self.new_polecat,
                                     new_reviewer=self._new_reviewer, spawn=self.spawn, land=self.land,
                                     verify=self.verify_integration, preflight=self.prepare_runtime,
                                     tracer=self.tracer, land_goal=self.land_goal, hosts=self.hosts)
        if self.hosts is not None:
            self.hosts.on_lost = self.dispatcher.host_lost
            self.hosts.on_archived = self._host_work_archived
        self.convoys = ConvoyWatch(lambda: self.store, self.bus, settings.integration_branch, self.spawn)
        self.pr_desk = PullRequestDesk(workspace=self.workspace, integration=self.worktrees.integration,
                                       settings=settings, verify_command=self.verify_command,
                                       store=lambda: self.store, bus=self.bus, dispatcher=self.dispatcher,
                                       spawn=self.spawn)
        self.control = ControlServer(self.workspace, self._on_control)  # terminals reach the running town
        self._mayor: Mayor | None = None  # persistent: one session, resumed for every goal
        self._mayor_tap = UsageTap()  # the Mayor's tokens, counted per goal into the run records
        self._plan_lock = asyncio.Lock()

    # --- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> Town:
        self.store = await Store.open(state_dir(self.workspace) / "beads.db")
        self.store.add_listener(self._on_ledger_change)
        self.store.add_listener(self.convoys.on_ledger_change)
        await asyncio.to_thread(self.worktrees.ensure_integration)
        await asyncio.to_thread(_exclude_state_dir, self.worktrees.repo)
        # Run records, crash recovery (requeue, WIP saved, worktrees matched), the Witness.
        self.records = await RunRecords.open(state_dir(self.workspace) / "town.db")
        if self.hosts is not None:  # what hosts pushed before the town stopped, home before recovery reads it
            unfinished = {b.id for b in await self.store.list(status=[Status.OPEN, Status.IN_PROGRESS,
                                                                     Status.REVIEW, Status.BLOCKED])}
            await asyncio.to_thread(self.hosts.fetch_unfinished, unfinished)
        self.recovery = await recover(self.store, self.records, self.worktrees, self.bus)
        # A verification command still running from a town killed mid-merge: end it (no orphan).
        await asyncio.to_thread(orphans.reap, state_dir(self.workspace) / "verifying")
        self.worktrees.start_preparing(self.settings.max_polecats)  # checkouts for the first goal, meanwhile
        self.board.load_runs(await self.records.latest_runs(), self.settings.polecats.stall_seconds)
        await self.witness.start()
        await self.apply_pending()
        await self.control.start()
        await self.convoys.check()  # a convoy completed while no town ran is announced now
        await self.pr_desk.follow_open()
        if self.hosts is not None:
            await self.hosts.start()
        return self

    async def close(self) -> None:
        await self.control.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.seats.close()  # sessions waiting on idle slots, before the CLI goes
        if self.hosts is not None:
            await self.hosts.close()
        # The Witness stops after the polecats; their records are flushed and closed.
        await self.witness.stop()
        if self.records is not None:
            await self.records.close()
            self.records = None
        if self._runtime is not None and self._owns_runtime:
            await self._runtime.stop()
        if self._model_server is not None:
            self._model_server.stop()
            self._model_server = None
        self.tracer.shutdown()  # after the CLI stopped (it flushed its own spans): ours are flushed too
        if self.store is not None:
            if self._export_handle:
                self._export_handle.cancel()
                self._export_handle = None
            # An export the timer started while the town was closing finishes before the ledger closes.
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.export()  # the last changes reach the JSONL (a no-op when it is current)
            await self.store.close()
            self.store = None
        self.worktrees.close()

    async def __aenter__(self) -> Town:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def runtime(self) -> AgentRuntime:
        """The Copilot runtime, started on first use so that opening a town never needs the CLI. Confined
        as ``polecats.sandbox`` says; ``required`` without bubblewrap raises SandboxUnavailable here."""
        if self._runtime is None:
            from gastown.runtime.copilot_adapter import CopilotRuntime

            provider = self.settings.provider
            if self.settings.scenario:
                from gastown.runtime.scripted_model import Scenario, ScriptedModelServer

                scenario = Scenario.load(Path(self.settings.scenario))
                sandbox = self._sandbox_now()  # before the model server starts: nothing to stop on refusal
                self._model_server = ScriptedModelServer(scenario).start()
                provider = ProviderSettings(type="openai", base_url=self._model_server.base_url,
                                            model=scenario.model, api_key="scripted")
            else:
                sandbox = self._sandbox_now()
            self._runtime = CopilotRuntime(provider, self.settings.cli_path, base_directory=self._cli_home(),
                                           sandbox=sandbox, telemetry=self.tracer.cli_export())
        return self._runtime

    def _host_runtime(self, uri: str, token: str) -> AgentRuntime:
        """The runtime for a host's CLI at ``uri``: the same provider (model) as the town's own."""
        from gastown.runtime.copilot_adapter import CopilotRuntime

        provider = getattr(self.runtime(), "provider", self.settings.provider)  # a scenario's model server is up
        return CopilotRuntime(provider, uri=uri, connection_token=token)

    async def _host_work_archived(self, host: str, branch: str, ref: str) -> None:
        """A host that came back had work of ``branch`` nobody had pushed: it is on the remote (and here) now."""
        bead_id = bead_of_branch(branch)
        if self.store is None or bead_id is None:
            return
        with contextlib.suppress(Exception):
            await self.store.add_comment(bead_id, "witness", f"Host {host} came back with work of {branch} that had "
                                         f"been only there; it is kept as {ref} (nothing was merged from it).")

    def _local_placement(self) -> Placement:
        return Placement(LOCAL, self.runtime(), self.worktrees, seats=self.seats)

    def _cli_home(self) -> Path | None:
        """The CLI's base directory: a private one for scenarios (offline runs never touch the user's Copilot
        login or history), else None = the CLI's default (the user's login), ``~/.copilot``."""
        return state_dir(self.workspace) / "copilot-home" if self.settings.scenario else None

    # --- polecats.sandbox ---------------------------------------------------------------------------
    def _choose_sandbox(self) -> SandboxChoice:
        """Blocking (bwrap is run once to probe it). The CLI may write the checkout root and its own home;
        the workspace and the configured readable folders stay readable (also under a private /tmp)."""
        readable = [self.workspace, *(Path(p) for p in self.settings.polecats.readable_paths)]
        return choose_sandbox(self.settings.polecats.sandbox, checkout_root=self.worktrees.root,
                              cli_home=self._cli_home() or default_cli_home(), state_dir=state_dir(self.workspace),
                              readable=readable)

    def _sandbox_now(self, goal_id: str = "") -> Sandbox | None:
        if self._sandbox_choice is None:
            self._sandbox_choice = self._choose_sandbox()  # `required` without bwrap: raises, nothing kept
        self._warn_once(goal_id)
        return self._sandbox_choice.sandbox

    def _warn_once(self, goal_id: str) -> None:
        """``auto`` without bubblewrap: say so once per town, in the editor (TownWarning) and in the terminal
        (a Progress line, which ``gastown run`` prints)."""
        choice = self._sandbox_choice
        if choice is None or not choice.warning or self._sandbox_warned:
            return
        self._sandbox_warned = True
        self.bus.publish(TownWarning(message=choice.warning, setting=SANDBOX_SETTING))
        publish_progress(self.bus, goal_id, f"Warning: {choice.warning}")

    async def confinement(self, goal_id: str = "") -> Sandbox | None:
        """The sandbox for what the town runs on polecats' code (the Refinery's verification): None when
        ``polecats.sandbox`` is off or bubblewrap is missing under ``auto``; SandboxUnavailable under
        ``required`` without it."""
        if self._sandbox_choice is None:
            self._sandbox_choice = await asyncio.to_thread(self._choose_sandbox)
        self._warn_once(goal_id)
        return self._sandbox_choice.sandbox

    async def prepare_runtime(self, goal_id: str = "") -> None:
        """Before polecats start (the dispatcher's preflight, the Mayor's plan): the sandbox chosen off the
        event loop, its warning shown, the runtime made. Raises SandboxUnavailable (a GastownError naming
        the setting) when ``polecats.sandbox`` is ``required`` and bubblewrap is missing."""
        if self._runtime is None:
            await self.confinement(goal_id)
        runtime = self.runtime()
        sandbox = getattr(runtime, "sandbox", None)
        if sandbox is not None and not self._launcher_ready:
            # Written (and the CLI's package unpacked once) off the event loop, not in the runtime's start.
            await asyncio.to_thread(sandbox.launcher, runtime.cli_path)  # type: ignore[attr-defined]
            self._launcher_ready = True

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

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def model_server(self) -> ScriptedModelServer | None:
        """The scripted model server a scenario runs on (None for a real provider or before first use)."""
        return self._model_server

    def new_polecat(self, bead: Bead, placement: Placement | None = None) -> Polecat:
        """A polecat for a claimed bead, wired to the runtime and checkouts of its placement (default: this
        machine), run records, the Witness and the seats."""
        name = polecat_name(bead.id)
        place = placement or self._local_placement()
        return Polecat(bead, place.runtime, place.checkouts, turn_timeout=self.settings.turn_timeout_s,
                       on_event=self.board.listener(name, bead.id), store=self.store, records=self.records,
                       witness=self.witness, settings=self.settings.polecats,
                       on_status=lambda **changes: self.board.update(name, **changes), seats=place.seats,
                       publish=self.bus.publish, discovered_work=self.settings.discovered_work, tracer=self.tracer)

    def _new_reviewer(self) -> Reviewer:
        return MeteredReviewer(self.runtime(), self.workspace, turn_timeout=self.settings.turn_timeout_s,
                               on_event=self.board.listener, records=lambda: self.records)

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
                                on_event=self._mayor_tap.wrap(self.board.listener("mayor", None)), publish=self.bus.publish,
                                formulas=self.formulas)
        return self._mayor

    async def plan(self, goal: str, goal_id: str) -> tuple[Bead, list[Bead]]:
        assert self.store is not None
        draft = self.settings.plan_approval
        async with self._plan_lock:  # one Mayor session: goals are planned one after another
            publish_progress(self.bus, goal_id, f"Mayor: planning “{goal}”", 0)
            self.board.update("mayor", role="mayor", state="working", detail=goal)
            tap = self._mayor_tap
            started, epic_id = now_iso(), None
            spent = (tap.tokens, tap.input_tokens, tap.output_tokens)  # the plan's tokens: what it adds to these
            # One trace per goal: the goal's span (ended by the dispatcher), planning its first child.
            goal_span = self.tracer.open(goal_key(goal_id), "goal", attributes={"gastown.goal.id": goal_id,
                                                                                 "gastown.goal.text": goal})
            span = self.tracer.start("plan", goal_span, {"gastown.goal.id": goal_id, "gastown.plan.draft": draft})
            try:
                with span.current():  # the Mayor's turns in the CLI join the goal's trace
                    await self.prepare_runtime(goal_id)  # `required` without bubblewrap: refused, nothing planned
                    epic, tasks = await self.mayor().plan(goal, goal_id=goal_id, draft=draft)
                    epic_id = epic.id
            except Exception as exc:
                self.board.update("mayor", state="failed", detail=str(exc))
                publish_progress(self.bus, goal_id, f"Mayor: {exc}", 100)
                span.end(str(exc), _plan_tokens(tap, spent))
                self.tracer.close(goal_key(goal_id), f"planning failed: {exc}")
                raise
            finally:
                if self.records is not None:  # the planning's cost, under the goal's epic (costs.py)
                    await self.records.add_role_run("mayor", "mayor", started_at=started, bead_id=epic_id,
                                                    goal_id=epic_id or goal_id, tokens=tap.tokens - spent[0])
            span.end(attributes={"gastown.epic.id": epic.id, "gastown.plan.beads": len(tasks), **_plan_tokens(tap, spent)})
            goal_span.set({"gastown.epic.id": epic.id})
        self.board.update("mayor", state="idle", detail=f"planned {epic.id}")
        publish_progress(self.bus, goal_id, f"Mayor: planned {epic.id} “{epic.title}” with {len(tasks)} beads"
                                 + (" — waiting for your approval" if draft else ""), 5)
        if draft:
            self.bus.publish(PlanDrafted(goal_id=goal_id, epic_id=epic.id, bead_ids=[t.id for t in tasks]))
        return epic, tasks

    async def submit_goal(self, goal: str, goal_id: str | None = None) -> tuple[str, Bead, list[Bead], asyncio.Task[Any]]:
        """Plan now; run in the background. Returns the task that finishes with a GoalReport (with plan
        approval on, the run starts when ``approve_plan`` is called)."""
        goal_id = goal_id or uuid.uuid4().hex[:8]
        epic, tasks = await self.plan(goal, goal_id)
        task = self.spawn(self.dispatcher.run_goal(epic.id, goal_id))
        return goal_id, epic, tasks, task

    # --- formulas ---------------------------------------------------------------------------------
    def formulas(self) -> Catalog:
        """The formulas this town can pour: built-ins < ~/.beads/formulas < the project's .beads/formulas."""
        return discover(self.workspace)

    async def pour_formula(self, name: str, values: dict[str, str], goal_id: str | None = None
                           ) -> tuple[str, Bead, list[Bead], asyncio.Task[Any]]:
        """Pour a formula with ``values`` into an epic and its beads (validated like a plan; a FormulaError
        leaves the ledger untouched) and run it like a goal. With plan approval on, it waits as a draft."""
        store = self._open_store()
        goal_id = goal_id or uuid.uuid4().hex[:8]
        poured = prepare(self.formulas().get(name), values, max_plan_size=self.settings.max_plan_size)
        draft = self.settings.plan_approval
        epic, tasks = await pour(store, poured, goal_id=goal_id, draft=draft)
        human = [t.id for t in tasks if t.id and (t.metadata or {}).get("human")]
        publish_progress(self.bus, goal_id, f"Formula {name}: poured {epic.id} “{epic.title}” with {len(tasks)} "
                                            "beads" + (f" ({len(human)} for you: {', '.join(human)})" if human else "")
                                            + (" — waiting for your approval" if draft else ""), 5)
        if draft:
            self.bus.publish(PlanDrafted(goal_id=goal_id, epic_id=epic.id, bead_ids=[t.id for t in tasks]))
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

    # --- the Overseer in the loop: answers, retries, nudges, discovered work ------------------------
    async def answer(self, bead_id: str, text: str) -> str:
        """Answer the question of the bead's polecat: its session goes on with the answer as the next
        message. A bead whose wait ended (escalated) is reopened with the answer as feedback instead."""
        store = self._open_store()
        if not text.strip():
            raise OverseerError("an answer needs a text")
        polecat = self.dispatcher.live.get(bead_id)
        if polecat is not None and polecat.waiting is not None:
            polecat.answer(text)
            self.bus.publish(OverseerMessage(bead_id=bead_id, agent=polecat.name, kind="answer", text=text,
                                             delivered=True))
            return f"Answered {polecat.name}; it goes on."
        bead = await store.get(bead_id)
        if polecat is not None or bead_id in self.dispatcher.running:
            raise OverseerError(f"{bead_id}'s polecat is working, not waiting for an answer; nudge it instead")
        if bead.status not in (Status.BLOCKED, Status.OPEN):
            raise OverseerError(f"{bead_id} is {bead.status}: no question waits for an answer")
        await self._retry(bead, f"The Overseer answered your question: {text}", f"Answer: {text}")
        self.bus.publish(OverseerMessage(bead_id=bead_id, agent=polecat_name(bead_id), kind="answer", text=text,
                                         delivered=False))
        return f"Answered; {bead_id} is reopened and its polecat resumes with the answer."

    async def retry(self, bead_id: str, note: str) -> str:
        """An escalated or blocked bead back to work with ``note`` as feedback (resuming its session)."""
        bead = await self._open_store().get(bead_id)
        await self._retry(bead, note, None)
        self.bus.publish(OverseerMessage(bead_id=bead_id, agent=polecat_name(bead_id), kind="retry", text=note,
                                         delivered=False))
        return f"{bead_id} is reopened; its polecat resumes with your note."

    async def _retry(self, bead: Bead, note: str, comment: str | None) -> None:
        try:
            await self.dispatcher.retry(bead.id, note, comment=comment)
        except ValueError as exc:
            raise OverseerError(str(exc)) from None

    async def nudge(self, bead_id: str, text: str) -> str:
        """Send ``text`` into the bead's running session at once (an agent event in its log)."""
        if not text.strip():
            raise OverseerError("a nudge needs a text")
        polecat = self.dispatcher.live.get(bead_id)
        if polecat is None:
            raise OverseerError(f"no polecat is running on {bead_id}")
        waiting = polecat.waiting is not None
        try:
            await polecat.nudge(text)
        except ValueError as exc:
            raise OverseerError(str(exc)) from None
        self.bus.publish(OverseerMessage(bead_id=bead_id, agent=polecat.name, kind="answer" if waiting else "nudge",
                                         text=text, delivered=True))
        return f"Sent to {polecat.name}" + (" as the answer to its question." if waiting else ".")

    async def dispatch_discovered(self, bead_id: str) -> str:
        """Work held discovered work now (within its goal)."""
        try:
            await self.dispatcher.dispatch_discovered(bead_id)
        except ValueError as exc:
            raise OverseerError(str(exc)) from None
        return f"{bead_id} is open for a polecat."

    async def apply_pending(self) -> list[str]:
        """Apply what the Overseer sent while no town ran (control.record_pending); their goals run with
        ``resume_goals``. Returns the bead ids."""
        store = self._open_store()
        applied = []
        for bead in await store.list():
            requests = (bead.metadata or {}).get(PENDING_KEY)
            if not requests:
                continue
            metadata = {k: v for k, v in (bead.metadata or {}).items() if k != PENDING_KEY}
            await store.update(bead.id, metadata=metadata, actor="overseer")
            for request in requests:
                method, text = request.get("method"), request.get("text", "")
                try:
                    if method == "dispatch":
                        await self.dispatcher.dispatch_discovered(bead.id, run=False)
                    else:
                        note = f"The Overseer answered your question: {text}" if method == "answer" else text
                        await self.dispatcher.retry(bead.id, note, comment=f"Applied: {method} {text}".strip(),
                                                    run=False)
                    applied.append(bead.id)
                except Exception as exc:  # noqa: BLE001 - one stale request must not stop the town opening
                    await store.add_comment(bead.id, "overseer", f"Could not apply the {method} sent while no "
                                            f"town ran: {exc}")
        return applied

    async def _on_control(self, request: ControlRequest) -> str:
        if request.method == "answer":
            return await self.answer(request.bead_id, request.text)
        if request.method == "retry":
            return await self.retry(request.bead_id, request.text)
        if request.method == "nudge":
            return await self.nudge(request.bead_id, request.text)
        return await self.dispatch_discovered(request.bead_id)

    def _open_store(self) -> Store:
        if self.store is None:
            raise OverseerError("the town is not open")
        return self.store

    def merge_queue(self) -> MergeQueueState:
        """The Refinery's queue in merge order (also published on the bus after every change)."""
        return self.refinery.snapshot()

    async def verify_integration(self) -> bool:
        return (await self.refinery.verify_head()).ok

    async def land(self) -> str:
        """Bring the integration branch onto the Overseer's current branch: fast-forward or merge, never
        force, never over uncommitted changes to the paths it touches; a conflicting merge is undone. The
        convoys learn which of their beads landed (read before the merge: all of them are in what it takes)."""
        taken = await self.convoys.before_land()
        landed = await asyncio.to_thread(self._land)
        branch = head_branch(self.worktrees.repo.workdir)
        if branch is not None:
            await self.convoys.landed(taken, branch)
        return landed

    def _land(self) -> str:
        repo = self.worktrees.repo
        target = head_branch(repo.workdir)
        if target is None:
            raise GitError("the workspace is on a detached HEAD; check out the branch to land on first")
        if target == self.worktrees.integration:
            raise GitError(f"the workspace is on {target} itself; check out the branch to land on first")
        touched = set(changed_files(repo.workdir, target, self.worktrees.integration))
        clash = sorted(touched & set(changed_paths(repo.workdir, all_untracked=True)))
        if clash:
            raise GitError("uncommitted changes in the working tree to paths the integration branch changes: "
                           + ", ".join(clash) + " — commit or stash them first; nothing was changed")
        merged = git(["merge", "--no-edit", self.worktrees.integration], repo.workdir, env=TOWN_IDENTITY, check=False)
        if merged.returncode != 0:
            git(["merge", "--abort"], repo.workdir, check=False)
            why = (merged.stdout + merged.stderr).decode(errors="replace")
            raise GitError(f"{self.worktrees.integration} does not merge cleanly into {target}; nothing was "
                           f"changed: {tail(why, 5)}")
        return tail(repo.text("log", "--oneline", "-5"), 5)

    # --- landing through pull requests (github.landing): town/pull_requests.py ------------------------
    def lander(self) -> Lander:
        return self.pr_desk.lander()

    def set_github_token(self, token: str | None) -> None:
        """The editor's token (VS Code SecretStorage): kept in memory, never logged or written."""
        self.pr_desk.set_token(token)

    async def land_goal(self, epic_id: str) -> str:
        """A finished goal's pull request(s): push, open or update, then follow checks and review comments."""
        return await self.pr_desk.land_goal(epic_id)

    async def pull_requests(self, refresh: bool = True) -> list[PullRequestStatus]:
        return await self.pr_desk.pull_requests(refresh)

    async def land_pull_request(self, epic_id: str | None = None) -> str:
        """`gastown land --pr`: open or update the pull request of ``epic_id`` (default: the newest finished)."""
        return await self.pr_desk.land_pull_request(epic_id)


def _exclude_state_dir(repo: Repo) -> None:
    """Keep .gastown/ out of git without editing the user's .gitignore."""
    exclude = repo.git_dir / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if ".gastown/" not in lines:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text("\n".join([*lines, ".gastown/"]) + "\n")


def _plan_tokens(tap: UsageTap, spent: tuple[int, int, int]) -> dict[str, int]:
    """The planning span's token attributes: what the Mayor's session used since the plan began."""
    tokens_in, tokens_out = tap.input_tokens - spent[1], tap.output_tokens - spent[2]
    return {"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out,
            "gastown.tokens": tokens_in + tokens_out}
