"""`gastown serve`: the pygls language server hosting the town. Handlers are thin: parse params, call the
town, shape the answer; bus events become gastown/* notifications and work-done progress."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from gastown import __version__
from gastown.config import Settings
from gastown.ledger.model import Bead, BeadNotFound, LedgerChange, LedgerError, Status
from gastown.lsp import protocol as P
from gastown.lsp.codelens import bead_id_pattern, lenses_for
from gastown.lsp.params import RequestFailed, parse
from gastown.lsp.protocol import CreateBeadArgs
from gastown.lsp.review import ReviewBook
from gastown.town.bus import (
    AgentEventRecord,
    Bus,
    DispatchPaused,
    Escalation,
    GoalFinished,
    PlanDrafted,
    Progress,
)
from gastown.town.diff import BeadDiff, bead_diff, file_at
from gastown.town.state import AgentInfo
from gastown.town.town import Town

log = logging.getLogger(__name__)


class GastownServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("gastown", __version__)
        self.town: Town | None = None
        self.town_error: str | None = None
        self.bus = Bus()
        self.goal_tokens: dict[str, str | int] = {}
        self._agent_flush: asyncio.TimerHandle | None = None
        self.opened: asyncio.Event | None = None  # set once the town is open (or failed to open)
        self.reviews = ReviewBook()
        self.beads: dict[str, Bead] = {}  # for code lenses, which must answer without a query each
        self._lens_refresh: asyncio.TimerHandle | None = None

    async def require_town(self) -> Town:
        if self.opened is not None:
            await self.opened.wait()
        if self.town is None:
            raise RequestFailed(self.town_error or "the town is not open yet (no workspace folder)")
        return self.town

    # --- bus → client ------------------------------------------------------------------------------
    def on_bus(self, event: Any) -> None:
        if isinstance(event, LedgerChange):
            for bead in event.changed:
                self.beads[bead.id] = bead
            for gone in event.removed:
                self.beads.pop(gone, None)
            self.schedule_lens_refresh()
            payload = P.BeadsChanged(version=event.version, changed=[P.BeadSummary.of(b) for b in event.changed],
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


server = GastownServer()


def _workspace_of(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    if uri:
        return Path(unquote(urlparse(uri).path))
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
    init = getattr(ls, "init_params", None)
    workspace = _workspace_of(init) if init else None
    if workspace is None:
        ls.town_error = "Gas Town needs a workspace folder (a git repository)"
        return
    try:
        settings = Settings.from_env(init.initialization_options or {})
        town = Town(workspace, settings, ls.bus)
        await town.open()
    except Exception as exc:  # not a git repo, bad settings, unreadable DB: tell the Overseer, keep serving
        ls.town_error = f"Gas Town cannot open {workspace}: {exc}"
        log.warning("%s", ls.town_error)
        ls.show(types.MessageType.Error, ls.town_error)
        return
    ls.town = town
    ls.beads = {b.id: b for b in await town.store.list()}
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
async def submit_goal(ls: GastownServer, params: Any) -> dict:
    p = parse(P.SubmitGoalParams, params)
    town = await ls.require_town()
    goal_id = uuid.uuid4().hex[:8]
    token = p.work_done_token if p.work_done_token is not None else f"gastown-goal-{goal_id}"
    if p.work_done_token is None and _supports_progress(ls):
        await ls.work_done_progress.create_async(token)
    if p.work_done_token is not None or _supports_progress(ls):
        ls.goal_tokens[goal_id] = token
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Gas Town", message=f"Mayor: planning “{p.goal}”", percentage=0, cancellable=False))
    try:
        _, epic, tasks, _task = await town.submit_goal(p.goal, goal_id=goal_id)
    except Exception as exc:
        token = ls.goal_tokens.pop(goal_id, None)
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"failed: {exc}"))
        raise RequestFailed(f"the goal could not be planned: {exc}") from None
    return P.SubmitGoalResult(epic_id=epic.id, bead_ids=[t.id for t in tasks]).model_dump(mode="json")


def _supports_progress(ls: GastownServer) -> bool:
    caps = ls.client_capabilities
    return bool(caps and caps.window and caps.window.work_done_progress)


@server.feature(P.BEADS)
async def beads(ls: GastownServer, params: Any) -> dict:
    p = parse(P.BeadsParams, params)
    store = (await ls.require_town()).store
    assert store is not None
    version = store.version
    if p.filter == "ready":
        found = await store.ready(parent=p.parent)
    elif p.filter == "open":
        found = [b for b in await store.list(parent=p.parent) if b.status not in Status.DONE]
    else:
        found = await store.list(parent=p.parent)
    return P.BeadsResult(version=version, beads=[P.BeadSummary.of(b) for b in found]).model_dump(mode="json")


@server.feature(P.BEAD)
async def bead(ls: GastownServer, params: Any) -> dict:
    p = parse(P.BeadParams, params)
    store = (await ls.require_town()).store
    assert store is not None
    try:
        found = await store.get(p.id)
    except BeadNotFound:
        raise RequestFailed(f"no bead with id {p.id!r}") from None
    return P.BeadResult(bead=found).model_dump(mode="json", exclude_none=True)


@server.feature(P.UPDATE_BEAD)
async def update_bead(ls: GastownServer, params: Any) -> dict:
    p = parse(P.UpdateBeadParams, params)
    store = (await ls.require_town()).store
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
async def plan_decision(ls: GastownServer, params: Any) -> dict:
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
async def abort_agent(ls: GastownServer, params: Any) -> dict:
    p = parse(P.AbortAgentParams, params)
    town = await ls.require_town()
    if not await town.witness.abort_agent(p.id):
        raise RequestFailed(f"no live agent {p.id!r} to abort")
    return {"aborted": p.id}


@server.feature(P.AGENTS)
async def agents(ls: GastownServer, params: Any) -> dict:
    town = await ls.require_town()
    return P.AgentsResult(agents=list(town.agents.values())).model_dump(mode="json")


async def _bead_diff(ls: GastownServer, bead_id: str) -> BeadDiff:
    town = await ls.require_town()
    try:
        return await asyncio.to_thread(bead_diff, town.worktrees.repo, town.worktrees.integration, bead_id)
    except LookupError as exc:
        raise RequestFailed(str(exc)) from None


@server.feature(P.DIFF)
async def diff(ls: GastownServer, params: Any) -> dict:
    p = parse(P.DiffParams, params)
    return (await _bead_diff(ls, p.bead_id)).model_dump(mode="json")


@server.feature(P.DOCUMENT)
async def document(ls: GastownServer, params: Any) -> dict:
    p = parse(P.DocumentParams, params)
    found = await _bead_diff(ls, p.bead_id)
    rev = found.base if p.side == "base" else found.head
    text = await asyncio.to_thread(file_at, ls.town.worktrees.repo, rev, p.path)
    return P.DocumentResult(text=text or "", exists=text is not None).model_dump(mode="json")


@server.feature(P.REVIEW)
async def review(ls: GastownServer, params: Any) -> dict:
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
    bead = await town.store.get(p.bead_id)
    return P.ReviewResult(bead_id=p.bead_id, status=bead.status, merged=bead.status == Status.CLOSED,
                          pending_hunks=decision.pending, message=message).model_dump(mode="json")


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
async def code_lens(ls: GastownServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    if ls.opened is not None:
        await ls.opened.wait()
    if ls.town is None or ls.town.store is None:
        return []
    doc = ls.workspace.get_text_document(params.text_document.uri)
    prefixes = {ls.town.store.prefix, *(i.split("-", 1)[0] for i in ls.beads)}
    out = []
    for lens in lenses_for(doc.source, bead_id_pattern(list(prefixes)), ls.beads.get):
        args = lens.arguments
        if lens.command == CREATE_BEAD:
            args = [{**args[0], "uri": params.text_document.uri}]
        rng = types.Range(types.Position(lens.line, lens.start), types.Position(lens.line, lens.end))
        command = types.Command(title=lens.title, command=lens.command, arguments=args)
        out.append(types.CodeLens(range=rng, command=command))
    return out


CREATE_BEAD = "gastown.createBead"


@server.command(CREATE_BEAD)
async def create_bead(ls: GastownServer, raw: dict) -> dict:
    spec = parse(CreateBeadArgs, raw)
    town = await ls.require_town()
    where = f"{spec.uri}:{spec.line + 1}" if spec.uri else None
    bead = await town.store.create(spec.title, description=f"From {where}" if where else None,
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
        path = Path(unquote(urlparse(change.uri).path))
        if path == jsonl and change.type != types.FileChangeType.Deleted:
            try:
                result = await ls.town.store.import_if_changed(path, actor="git")
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
