"""`gastown serve`: the pygls language server hosting the town. Handlers are thin: parse params, call the
town, shape the answer; bus events become gastown/* notifications and work-done progress."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from gastown import __version__
from gastown.config_sources import load_settings
from gastown.errors import GastownError
from gastown.formulas.summary import FormulaInfo
from gastown.github.status import PullRequestStatus
from gastown.ledger.model import BeadNotFound, LedgerChange, LedgerError, Status
from gastown.ledger.store import Store
from gastown.lsp import protocol as P
from gastown.lsp import workflow
from gastown.lsp.codelens import InFlight, bead_id_pattern, lenses_for, lenses_for_changes
from gastown.lsp.params import RequestFailed, parse
from gastown.lsp.protocol import CreateBeadArgs
from gastown.lsp.review import ReviewBook
from gastown.lsp.rows import BeadRows, encode_rows
from gastown.lsp.wire import OrjsonProtocol
from gastown.town.bus import (
    AgentEventRecord,
    Bus,
    DiscoveredWork,
    DispatchPaused,
    Escalation,
    GoalFinished,
    HumanStepReady,
    PlanDrafted,
    Progress,
    TownWarning,
)
from gastown.town.diff import BeadDiff, bead_diff, file_at
from gastown.town.plan import is_human
from gastown.town.state import AgentInfo
from gastown.town.town import Town

log = logging.getLogger(__name__)


class GastownServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("gastown", __version__, protocol_cls=OrjsonProtocol)
        self.town: Town | None = None
        self.init_params: types.InitializeParams | None = None  # kept by on_initialize for on_initialized
        self.town_error: str | None = None
        self.bus = Bus()
        self.goal_tokens: dict[str, str | int] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._agent_flush: asyncio.TimerHandle | None = None
        self.opened: asyncio.Event | None = None  # set once the town is open (or failed to open)
        self.reviews = ReviewBook()
        self.rows = BeadRows()  # the Beads view's rows, and the beads code lenses look ids up in
        self._lens_refresh: asyncio.TimerHandle | None = None

    async def require_town(self) -> Town:
        if self.opened is not None:
            await self.opened.wait()
        if self.town is None:
            raise RequestFailed(self.town_error or "the town is not open yet (no workspace folder)")
        return self.town

    async def require_store(self) -> Store:
        """The open town's ledger (an open town always has one)."""
        store = (await self.require_town()).store
        if store is None:
            raise RequestFailed(self.town_error or "the town's ledger is not open")
        return store

    # --- bus → client ------------------------------------------------------------------------------
    def on_bus(self, event: Any) -> None:
        if isinstance(event, LedgerChange):
            changed = self.rows.apply(event)
            self.schedule_lens_refresh()
            payload = P.BeadsChanged(version=event.version, changed=[self.rows.summary(b) for b in changed],
                                     removed=event.removed)
            self.protocol.notify(P.BEADS_CHANGED, payload.model_dump(mode="json"))
        elif isinstance(event, AgentInfo):
            # Coalesced: thirty polecats streaming usage would otherwise flood the client.
            if self._agent_flush is None:
                self._agent_flush = asyncio.get_running_loop().call_later(0.1, self.flush_agents)
        elif isinstance(event, AgentEventRecord):
            e = event.event
            note = P.AgentEventNote(agent=event.agent, bead_id=event.bead_id, kind=e["kind"], at=e["at"],
                                    text=e.get("text"), tool=e.get("tool"), approved=e.get("approved"))
            self.protocol.notify(P.AGENT_EVENT, note.model_dump(mode="json"))
        elif isinstance(event, Progress):
            token = self.goal_tokens.get(event.goal_id)
            if token is not None:
                self.work_done_progress.report(
                    token, types.WorkDoneProgressReport(message=event.message, percentage=event.percentage))
        elif isinstance(event, PlanDrafted):
            self.show(types.MessageType.Info,
                      f"Gas Town: plan {event.epic_id} drafted with {len(event.bead_ids)} beads — edit them, then "
                      "run “Gas Town: Approve Plan”")
        elif isinstance(event, Escalation):
            self.show(types.MessageType.Warning, f"Gas Town: {event.bead_id} needs you — {event.reason}")
        elif isinstance(event, PullRequestStatus):
            self.protocol.notify(P.PULL_REQUEST_CHANGED, event.model_dump(mode="json", exclude={"seen_comments"}))
        elif isinstance(event, HumanStepReady):
            self.show(types.MessageType.Warning, f"Gas Town: {event.bead_id} needs you — “{event.title}” is a "
                      "human step: do it, then close the bead")
        elif isinstance(event, TownWarning):
            self.show(types.MessageType.Warning, f"Gas Town: {event.message}")
        elif isinstance(event, DiscoveredWork) and event.mode == "hold":
            self._keep(asyncio.get_running_loop().create_task(self._offer_discovered(event)))
        elif isinstance(event, DispatchPaused):
            state = "paused" if event.paused else "resumed"
            level = types.MessageType.Warning if event.paused else types.MessageType.Info
            self.show(level, f"Gas Town: dispatch {state} for {event.scope}: {event.reason}")
        elif isinstance(event, GoalFinished):
            token = self.goal_tokens.pop(event.goal_id, None)
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=event.summary))
            self.show(types.MessageType.Info if event.ok else types.MessageType.Warning, f"Gas Town: {event.summary}")

    def show(self, level: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=level, message=message))

    def _keep(self, task: asyncio.Task[None]) -> None:
        """A strong reference until the task ends (asyncio keeps only weak ones)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _offer_discovered(self, event: DiscoveredWork) -> None:
        """Discovered work held for the Overseer: say so, with a Dispatch action that works it in its goal."""
        message = (f"Gas Town: {event.from_bead_id}'s polecat discovered work: {event.bead_id} “{event.title}” "
                   "(held until you dispatch it)")
        try:
            choice = await self.window_show_message_request_async(types.ShowMessageRequestParams(
                type=types.MessageType.Info, message=message, actions=[types.MessageActionItem(title="Dispatch")]))
            if choice is not None and choice.title == "Dispatch" and self.town is not None:
                self.show(types.MessageType.Info, f"Gas Town: {await self.town.dispatch_discovered(event.bead_id)}")
        except Exception as exc:  # noqa: BLE001 - a client that cannot ask, or a bead gone meanwhile: say it
            log.info("discovered work %s not offered: %s", event.bead_id, exc)

    def schedule_lens_refresh(self) -> None:
        caps = self.client_capabilities
        supported = caps and caps.workspace and caps.workspace.code_lens and caps.workspace.code_lens.refresh_support
        if supported and self._lens_refresh is None:
            self._lens_refresh = asyncio.get_running_loop().call_later(0.5, self._refresh_lenses)

    def _refresh_lenses(self) -> None:
        self._lens_refresh = None
        future = self.workspace_code_lens_refresh(None)
        # A client that rejects the refresh must not surface as a server error.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

    def flush_agents(self) -> None:
        self._agent_flush = None
        if self.town is not None:
            payload = P.AgentStatus(agents=list(self.town.agents.values()))
            self.protocol.notify(P.AGENT_STATUS, payload.model_dump(mode="json"))
            self.schedule_lens_refresh()  # the files polecats are changing carry lenses


server = GastownServer()
workflow.register(server)  # convoys and costs


def _workspace_of(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    path = to_fs_path(uri) if uri else None
    if path:
        return Path(path)
    if params.root_path:
        return Path(params.root_path)
    return None


@server.feature(types.INITIALIZE)
def on_initialize(ls: GastownServer, params: types.InitializeParams) -> None:
    ls.init_params = params


@server.feature(types.INITIALIZED)
async def on_initialized(ls: GastownServer, _params: types.InitializedParams) -> None:
    ls.opened = asyncio.Event()  # before any await: requests right behind us wait for the town
    try:
        await _open_town(ls)
    finally:
        ls.opened.set()


async def _open_town(ls: GastownServer) -> None:
    init = ls.init_params
    workspace = _workspace_of(init) if init else None
    if init is None or workspace is None:
        ls.town_error = "Gas Town needs a workspace folder (a git repository)"
        return
    try:
        # The editor's gastown.* settings are the top layer over the files and the environment.
        settings = load_settings(workspace, init.initialization_options or {}, overrides_source="editor settings",
                                 strict_overrides=False).settings
        town = Town(workspace, settings, ls.bus)
        await town.open()
    except Exception as exc:  # not a git repo, bad settings, unreadable DB: tell the Overseer, keep serving
        ls.town_error = f"Gas Town cannot open {workspace}: {exc}"
        log.warning("%s", ls.town_error)
        ls.show(types.MessageType.Error, ls.town_error)
        return
    ls.town = town
    store = town.store
    assert store is not None  # Town.open() opened the ledger
    version = store.version
    ls.rows.reset(await store.list(), version)
    ls.bus.subscribe(ls.on_bus)
    recovered = town.recovery
    if recovered is not None and (recovered.requeued or recovered.awaiting_refinery or recovered.crashed_runs):
        ls.show(types.MessageType.Info,
                f"Gas Town recovered after a stop: {len(recovered.crashed_runs)} interrupted runs, "
                f"{len(recovered.requeued)} beads requeued with their work kept, "
                f"{len(recovered.awaiting_refinery)} back in the merge queue")
    resumed = await town.resume_goals()  # nothing lost: unfinished goals carry on
    if resumed:
        ls.show(types.MessageType.Info, f"Gas Town: resuming {len(resumed)} unfinished goals: {', '.join(resumed)}")


@server.feature(types.SHUTDOWN)
async def on_shutdown(ls: GastownServer, _params: Any) -> None:
    town, ls.town = ls.town, None
    if town is not None:
        await town.close()


@server.feature(P.SUBMIT_GOAL)
async def submit_goal(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.SubmitGoalParams, params)
    town = await ls.require_town()
    goal_id = await _begin_goal(ls, p.work_done_token, f"Mayor: planning “{p.goal}”")
    try:
        _, epic, tasks, _task = await town.submit_goal(p.goal, goal_id=goal_id)
    except Exception as exc:
        _fail_goal(ls, goal_id, exc)
        raise RequestFailed(f"the goal could not be planned: {exc}") from None
    return P.SubmitGoalResult(epic_id=epic.id, bead_ids=[t.id for t in tasks]).model_dump(mode="json")


@server.feature(P.FORMULAS)
async def formulas(ls: GastownServer, _params: Any) -> dict[str, Any]:
    catalog = (await ls.require_town()).formulas()
    return P.FormulasResult(
        formulas=[FormulaInfo.of(f) for f in catalog.sorted()],
        problems=[P.FormulaProblem(name=n, message=str(e)) for n, e in sorted(catalog.problems.items())],
    ).model_dump(mode="json")


@server.feature(P.RUN_FORMULA)
async def run_formula(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.RunFormulaParams, params)
    town = await ls.require_town()
    goal_id = await _begin_goal(ls, p.work_done_token, f"Formula {p.name}: pouring")
    try:
        _, epic, beads, _task = await town.pour_formula(p.name, p.vars, goal_id=goal_id)
    except Exception as exc:
        _fail_goal(ls, goal_id, exc)
        raise RequestFailed(f"the formula could not be poured: {exc}") from None
    return P.RunFormulaResult(epic_id=epic.id, bead_ids=[b.id for b in beads],
                              human_bead_ids=[b.id for b in beads if is_human(b)]).model_dump(mode="json")


async def _begin_goal(ls: GastownServer, work_done_token: str | int | None, message: str) -> str:
    """A new goal id, with its work-done progress begun (the client's token, or one we create when the client
    supports progress); bus progress for the goal reports to it."""
    goal_id = uuid.uuid4().hex[:8]
    token = work_done_token if work_done_token is not None else f"gastown-goal-{goal_id}"
    if work_done_token is None and _supports_progress(ls):
        await ls.work_done_progress.create_async(token)
    if work_done_token is not None or _supports_progress(ls):
        ls.goal_tokens[goal_id] = token
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Gas Town", message=message, percentage=0, cancellable=False))
    return goal_id


def _fail_goal(ls: GastownServer, goal_id: str, exc: Exception) -> None:
    begun = ls.goal_tokens.pop(goal_id, None)
    if begun is not None:
        ls.work_done_progress.end(begun, types.WorkDoneProgressEnd(message=f"failed: {exc}"))


def _supports_progress(ls: GastownServer) -> bool:
    caps = ls.client_capabilities
    return bool(caps and caps.window and caps.window.work_done_progress)


@server.feature(P.BEADS)
async def beads(ls: GastownServer, params: Any) -> dict[str, Any]:
    """The Beads view's list, as rows (see lsp/rows.py): the whole ledger from the encoded rows, the ready
    set from the ledger's index."""
    p = parse(P.BeadsParams, params)
    store = await ls.require_store()
    if p.filter == "ready":
        return {"version": ls.rows.version, "rows": encode_rows(await store.ready(parent=p.parent), ready=True)}
    if p.filter == "all" and p.parent is None:
        return {"version": ls.rows.version, "rows": ls.rows.all()}
    ids = [i for i, b in ls.rows.beads.items()
           if (p.parent is None or b.parent_id == p.parent) and (p.filter == "all" or b.status not in Status.DONE)]
    return {"version": ls.rows.version, "rows": ls.rows.some(ids)}


@server.feature(P.BEAD)
async def bead(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.BeadParams, params)
    store = await ls.require_store()
    try:
        found = await store.get(p.id)
    except BeadNotFound:
        raise RequestFailed(f"no bead with id {p.id!r}") from None
    return P.BeadResult(bead=found).model_dump(mode="json", exclude_none=True)


@server.feature(P.UPDATE_BEAD)
async def update_bead(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.UpdateBeadParams, params)
    store = await ls.require_store()
    try:
        if p.status == "closed":
            await store.close_bead(p.id, reason=p.reason or "closed by the Overseer", actor="overseer")
        elif p.status == "open":
            await store.reopen(p.id, actor="overseer")
        elif p.status is not None:
            await store.update(p.id, status=p.status, actor="overseer")
        fields = {k: v for k, v in (("priority", p.priority), ("title", p.title)) if v is not None}
        if fields:
            await store.update(p.id, actor="overseer", **fields)
        found = await store.get(p.id)
    except BeadNotFound:
        raise RequestFailed(f"no bead with id {p.id!r}") from None
    except LedgerError as exc:
        raise RequestFailed(str(exc)) from None
    return P.BeadResult(bead=found).model_dump(mode="json", exclude_none=True)


@server.feature(P.PLAN_DECISION)
async def plan_decision(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.PlanDecisionParams, params)
    town = await ls.require_town()
    try:
        if p.decision == "approve":
            ids = await town.approve_plan(p.epic_id)
        else:
            await town.discard_plan(p.epic_id, p.reason or "plan discarded by the Overseer")
            ids = []
    except BeadNotFound:
        raise RequestFailed(f"no epic with id {p.epic_id!r}") from None
    except (ValueError, LedgerError) as exc:
        raise RequestFailed(str(exc)) from None
    return P.PlanDecisionResult(epic_id=p.epic_id, bead_ids=ids).model_dump(mode="json")


@server.feature(P.ABORT_AGENT)
async def abort_agent(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.AbortAgentParams, params)
    town = await ls.require_town()
    if not await town.witness.abort_agent(p.id):
        raise RequestFailed(f"no live agent {p.id!r} to abort")
    return {"aborted": p.id}


# --- The Overseer talks to polecats: answers, messages, retries -----------------------------------------
async def _town_action(bead_id: str, action: Awaitable[Any], done: str) -> dict[str, Any]:
    """Await one of the town's Overseer actions; what the Overseer can fix comes back as RequestFailed."""
    try:
        await action
    except BeadNotFound:
        raise RequestFailed(f"no bead with id {bead_id!r}") from None
    except (GastownError, LookupError, ValueError) as exc:
        raise RequestFailed(str(exc)) from None
    return P.ActionResult(bead_id=bead_id, message=done).model_dump(mode="json")


@server.feature(P.ANSWER)
async def answer(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.AnswerParams, params)
    town = await ls.require_town()
    return await _town_action(p.bead_id, town.answer(p.bead_id, p.text),
                              f"answered: the polecat on {p.bead_id} carries on")


@server.feature(P.NUDGE)
async def nudge(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.NudgeParams, params)
    town = await ls.require_town()
    return await _town_action(p.bead_id, town.nudge(p.bead_id, p.text),
                              f"sent: the polecat on {p.bead_id} reads it at its next turn")


@server.feature(P.RETRY)
async def retry(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.RetryParams, params)
    town = await ls.require_town()
    return await _town_action(p.bead_id, town.retry(p.bead_id, p.note or ""),
                              f"{p.bead_id} goes back to a polecat" + (" with your note" if p.note else ""))


@server.feature(P.AGENTS)
async def agents(ls: GastownServer, params: Any) -> dict[str, Any]:
    town = await ls.require_town()
    return P.AgentsResult(agents=list(town.agents.values())).model_dump(mode="json")


async def _bead_diff(ls: GastownServer, bead_id: str) -> BeadDiff:
    town = await ls.require_town()
    try:
        return await asyncio.to_thread(bead_diff, town.worktrees.repo, town.worktrees.integration, bead_id)
    except LookupError as exc:
        raise RequestFailed(str(exc)) from None


@server.feature(P.DIFF)
async def diff(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.DiffParams, params)
    return (await _bead_diff(ls, p.bead_id)).model_dump(mode="json")


@server.feature(P.DOCUMENT)
async def document(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.DocumentParams, params)
    found = await _bead_diff(ls, p.bead_id)
    rev = found.base if p.side == "base" else found.head
    text = await asyncio.to_thread(file_at, (await ls.require_town()).worktrees.repo, rev, p.path)
    return P.DocumentResult(text=text or "", exists=text is not None).model_dump(mode="json")


@server.feature(P.REVIEW)
async def review(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.ReviewParams, params)
    town = await ls.require_town()
    found = await _bead_diff(ls, p.bead_id)
    try:
        decision = ls.reviews.record(p, found)
        if decision.kind == "accept":
            await town.accept(p.bead_id, decision.hunk_ids)
            message = ("accepted: the Refinery merges it once verified" if decision.hunk_ids is None else
                       f"accepted {len(decision.hunk_ids)} hunks: the Refinery merges them once verified")
        elif decision.kind == "reject":
            await town.reject(p.bead_id, decision.comment, keep_hunks=decision.keep)
            message = "sent back to its polecat with your comments" + (
                f"; {len(decision.keep)} accepted hunks merge first" if decision.keep else "")
        else:
            message = f"noted; {len(decision.pending)} hunks still need a verdict"
    except ValueError as exc:
        ls.reviews.forget(p.bead_id)
        raise RequestFailed(str(exc)) from None
    bead = await (await ls.require_store()).get(p.bead_id)
    return P.ReviewResult(bead_id=p.bead_id, status=bead.status, merged=bead.status == Status.CLOSED,
                          pending_hunks=decision.pending, message=message).model_dump(mode="json")


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
async def code_lens(ls: GastownServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    if ls.opened is not None:
        await ls.opened.wait()
    if ls.town is None or ls.town.store is None:
        return []
    doc = ls.workspace.get_text_document(params.text_document.uri)
    prefixes = {ls.town.store.prefix, *(i.split("-", 1)[0] for i in ls.rows.beads)}
    found = lenses_for(doc.source, bead_id_pattern(list(prefixes)), ls.rows.beads.get)
    found += lenses_for_changes(_changing(ls, ls.town, params.text_document.uri))
    out = []
    for lens in found:
        args = lens.arguments
        if lens.command == P.CREATE_BEAD:
            args = [{**args[0], "uri": params.text_document.uri}]
        rng = types.Range(types.Position(lens.line, lens.start), types.Position(lens.line, lens.end))
        command = types.Command(title=lens.title, command=lens.command, arguments=args)
        out.append(types.CodeLens(range=rng, command=command))
    return out


ACTIVE_STATES = {"starting", "working", "needs-input", "stalled", "merging"}


def _changing(ls: GastownServer, town: Town, uri: str) -> list[InFlight]:
    """Running polecats whose bead touches this file (the conflict radar's declared and observed files)."""
    path = to_fs_path(uri)
    if not path:
        return []
    try:
        rel = Path(path).relative_to(town.workspace).as_posix()
    except ValueError:
        return []
    radar = town.dispatcher.radar
    out = []
    for agent in town.agents.values():
        if agent.role != "polecat" or agent.bead_id is None or agent.state not in ACTIVE_STATES:
            continue
        if rel in radar.files_of(agent.bead_id):
            bead = ls.rows.beads.get(agent.bead_id)
            out.append(InFlight(agent.id, agent.bead_id, bead.title if bead else ""))
    return out


@server.command(P.CREATE_BEAD)
async def create_bead(ls: GastownServer, raw: dict[Any, Any]) -> dict[str, Any]:
    spec = parse(CreateBeadArgs, raw)
    store = await ls.require_store()
    where = f"{spec.uri}:{spec.line + 1}" if spec.uri else None
    bead = await store.create(spec.title, description=f"From {where}" if where else None,
                              issue_type=spec.type, priority=spec.priority, actor="overseer")
    return P.BeadSummary.of(bead).model_dump(mode="json")


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def watched_files(ls: GastownServer, params: types.DidChangeWatchedFilesParams) -> None:
    """`.beads/issues.jsonl` changed underneath (git pull, checkout, merge): import it."""
    if ls.opened is not None:
        await ls.opened.wait()
    if ls.town is None or ls.town.store is None:
        return
    jsonl = ls.town.workspace / ".beads" / "issues.jsonl"
    for change in params.changes:
        path = to_fs_path(change.uri)
        if path and Path(path) == jsonl and change.type != types.FileChangeType.Deleted:
            try:
                result = await ls.town.store.import_if_changed(Path(path), actor="git")
            except LedgerError as exc:
                ls.show(types.MessageType.Error, f"Gas Town: not imported: {exc}")
                return
            log.info("imported %s: %s", path, result)


def reap_children() -> None:
    """No process outlives the server: end any child still running (CLI, git, verification)."""
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def serve() -> int:
    logging.basicConfig(level=os.environ.get("GASTOWN_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server.start_io()
    finally:
        reap_children()
    return 0


from gastown.lsp import github as _github  # noqa: E402,F401 - registers gastown/pullRequests, gastown/githubToken
