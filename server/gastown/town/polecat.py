"""A Polecat: one bead, one pooled worktree on `polecat/<bead-id>`, one Copilot session at a time, commits.

A run is recorded (records.py) from start to exit reason; exactly one live run per bead. The Witness
watches it: a stalled session is nudged, then aborted and replaced by a new one that gets a handoff
summary, and after too many restarts the bead is escalated to the Overseer. Work is never lost: whatever
the session leaves uncommitted is committed to the branch before the worktree is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field

from gastown.config import PolecatSettings
from gastown.errors import GastownError
from gastown.ledger.model import Bead, DepType, Status
from gastown.runtime.base import (
    AgentEvent,
    AgentRuntime,
    AgentRuntimeError,
    AgentSession,
    SessionSpec,
    ToolSpec,
    TurnTimeout,
)
from gastown.runtime.policy import polecat_policy
from gastown.telemetry import NO_SPAN, NO_TRACER, Span, Tracer, bead_key
from gastown.town.bus import DiscoveredWork, NeedsInput
from gastown.town.checkouts import Checkouts, Lease
from gastown.town.plan import is_human
from gastown.town.seats import Seats
from gastown.vcs.names import polecat_branch

if TYPE_CHECKING:
    from gastown.ledger.store import Store
    from gastown.town.records import RunRecords, RunRow
    from gastown.town.witness import Watch, Witness

log = logging.getLogger(__name__)

POLECAT_SYSTEM = """You are a Polecat in Gas Town: a worker with exactly one task (a bead). Work only inside
your worktree, with your file and shell tools. Do not push, switch branches or install packages. Keep the
change small and focused on the bead's acceptance criteria. bead_show shows a bead, bead_comment leaves a note
on it, bead_create files work you discovered that is outside your bead. If you need the Overseer (the human)
to decide something, call ask_overseer with your question and end your turn: the answer comes as your next
message. When the work is done, call report_done with a one-line summary; if you cannot do it, call
report_blocked with the reason (the Overseer may answer with a way forward)."""

REMINDER = ("You ended your turn without calling report_done, report_blocked or ask_overseer. If the bead is "
            "done, call report_done with a one-line summary; if you cannot do it, call report_blocked with the "
            "reason; if the Overseer must decide something, call ask_overseer with your question.")

HANDOFF_LIMIT = 2000  # characters of handoff summary a restarted session gets


class ReportDone(BaseModel):
    summary: str = Field(min_length=1, description="One line: what you changed")


class ReportBlocked(BaseModel):
    reason: str = Field(min_length=1, description="Why the bead cannot be done")


class AskOverseer(BaseModel):
    question: str = Field(min_length=1, description="What you need the Overseer to decide or tell you")


class BeadShow(BaseModel):
    id: str | None = Field(default=None, description="The bead to show; default: your own bead")


class BeadComment(BaseModel):
    text: str = Field(min_length=1, description="The comment")
    id: str | None = Field(default=None, description="The bead to comment on; default: your own bead")


class BeadCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="Short title of the discovered work")
    description: str = Field(default="", description="What needs doing and why")
    acceptance_criteria: str = Field(default="", description="How to tell it is done")
    priority: int = Field(default=2, ge=0, le=4, description="0 = most urgent, 4 = backlog")
    type: Literal["task", "bug", "feature", "chore"] = "task"


@dataclass
class PolecatResult:
    bead_id: str
    branch: str
    commit: str | None
    summary: str | None
    blocked: str | None
    files: list[str]
    escalated: bool = False  # the bead is already blocked, commented and the Overseer notified
    run_id: int | None = None


def polecat_name(bead_id: str) -> str:
    return f"polecat-{bead_id}"


def build_prompt(bead: Bead, worktree: Path, feedback: str | None = None, lease: Lease | None = None) -> str:
    rework = ["", f"This is rework. Feedback on the previous attempt:\n{feedback}"] if feedback else []
    return "\n".join([
        f"Bead: {bead.id}",
        f"Title: {bead.title}",
        f"Worktree: {worktree}",
        "",
        f"Description:\n{bead.description or '(none)'}",
        "",
        f"Acceptance criteria:\n{bead.acceptance_criteria or '(none)'}",
        "",
        *rework,
        *_lease_notes(lease),
        "",
        "Do the work in the worktree, then call report_done.",
    ])


def answer_prompt(question: str, answer: str) -> str:
    return (f"The Overseer answered your question.\nYour question: {question}\nAnswer: {answer}\n\n"
            "Continue the bead, then call report_done (or ask_overseer again if you must).")


def _lease_notes(lease: Lease | None) -> list[str]:
    if lease is None:
        return []
    notes = []
    if lease.carried:
        notes.append("Your previous changes were carried onto the latest integration head: "
                     + ", ".join(lease.carried[:20]))
    if lease.conflicts:
        notes.append("These files have conflict markers to resolve: " + ", ".join(lease.conflicts[:20]))
    elif lease.continued and not lease.carried:
        notes.append("Your branch already holds work from a previous attempt; continue it.")
    return ["", *notes] if notes else []


def resume_prompt(bead: Bead, worktree: Path, feedback: str | None, lease: Lease) -> str:
    if feedback:
        head = f"Rework requested for bead {bead.id}. Feedback:\n{feedback}"
    else:
        head = (f"The Gas Town server stopped while you were working on bead {bead.id}. Your work so far is kept "
                "(uncommitted changes were committed to your branch).")
    return "\n".join([head, f"Worktree: {worktree}", *_lease_notes(lease), "",
                      "Continue the bead, then call report_done."])


class Polecat:
    def __init__(self, bead: Bead, runtime: AgentRuntime, worktrees: Checkouts, *, turn_timeout: float,
                 on_event: Callable[[AgentEvent], None] | None = None, store: Store | None = None,
                 records: RunRecords | None = None, witness: Witness | None = None,
                 settings: PolecatSettings | None = None,
                 on_status: Callable[..., object] | None = None, seats: Seats | None = None,
                 publish: Callable[[Any], None] | None = None,
                 discovered_work: Literal["hold", "dispatch"] = "hold", tracer: Tracer = NO_TRACER) -> None:
        self.bead = bead
        self.name = polecat_name(bead.id)
        self.branch = polecat_branch(bead.id)
        self.runtime = runtime
        self.worktrees = worktrees
        self.turn_timeout = turn_timeout
        self.on_event = on_event
        self.store = store
        self.records = records
        self.witness = witness
        self.settings = settings or PolecatSettings()
        self.on_status = on_status
        self.seats = seats
        self.publish = publish
        self.discovered_work = discovered_work
        self.session: AgentSession | None = None  # the session in use (the Overseer's nudges go there)
        self.waiting: str | None = None  # the question while the polecat waits for the Overseer's answer
        self.worktree: Path | None = None
        self.run_id: int | None = None
        self.timings: dict[str, float] = {}
        self._done: list[str] = []
        self._blocked: list[str] = []
        self._questions: list[str] = []
        self._reminded = False
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._trail: deque[str] = deque(maxlen=30)
        self._watch: Watch | None = None
        # Telemetry: the run's span (a child of the bead's), its open tool spans, its token counts.
        self.tracer = tracer
        self.attempt = 1  # which run of this bead (the dispatcher counts them)
        self.span: Span = NO_SPAN
        self._tool_spans: dict[str, Span] = {}
        self._tokens = [0, 0]  # in, out
        self._started = 0.0

    # --- events ------------------------------------------------------------------------------------
    def emit(self, event: AgentEvent) -> None:
        """Every event of every session of this run: heartbeat, run record, trail, then the listener."""
        if self._watch is not None:
            self._watch.heartbeat(event)
        if self.records is not None and self.run_id is not None:
            self.records.record(self.run_id, event)
        if self.span.recording:
            self._trace(event)
        line = _trail_line(event)
        if line:
            self._trail.append(line)
        if self.on_event:
            try:
                self.on_event(event)
            except Exception:
                log.exception("polecat event listener failed")

    def _trace(self, event: AgentEvent) -> None:
        """Tool calls as child spans of the run (matched by the CLI's call id); tokens summed for the run."""
        if event.kind == "tool_start":
            key = str(event.detail.get("call_id") or f"#{len(self._tool_spans)}")
            self._tool_spans[key] = self.tracer.start("polecat.tool", self.span, {
                "gastown.tool.name": event.tool, "gastown.bead.id": self.bead.id, "gastown.tool.call_id": key})
        elif event.kind == "tool_done":
            key = str(event.detail.get("call_id") or "")
            span = self._tool_spans.pop(key, None) if key in self._tool_spans else (
                self._tool_spans.pop(next(iter(self._tool_spans))) if self._tool_spans else None)
            if span is not None:
                ok = event.detail.get("success")
                span.end(None if ok is not False else "the tool failed", {"gastown.tool.success": ok})
        elif event.kind == "usage":
            self._tokens[0] += int(event.detail.get("input_tokens") or 0)
            self._tokens[1] += int(event.detail.get("output_tokens") or 0)
        elif event.kind == "witness":
            self.span.event(f"witness.{event.detail.get('action')}", {"gastown.witness.text": event.text})

    def _status(self, **changes: Any) -> None:
        if self.on_status:
            try:
                self.on_status(**changes)
            except Exception:
                log.exception("polecat status listener failed")

    # --- tools -------------------------------------------------------------------------------------
    def _tools(self) -> list[ToolSpec[Any]]:
        def report_done(p: ReportDone) -> str:
            if is_human(self.bead):  # never handed one (see run); refused all the same
                return f"refused: {human_step_refusal(self.bead.id)}"
            return _collect(self._done, p.summary, "Recorded. End your turn now.")

        tools: list[ToolSpec[Any]] = [
            ToolSpec("report_done", "Report that the bead's work is done.", ReportDone, report_done),
            ToolSpec("report_blocked", "Report that the bead cannot be done, and why.", ReportBlocked,
                     lambda p: _collect(self._blocked, p.reason, "Recorded. End your turn now; the Overseer "
                                        "may answer with a way forward.")),
            ToolSpec("ask_overseer", "Ask the Overseer (the human) a question you cannot settle yourself. End "
                     "your turn after asking: the answer comes as your next message.", AskOverseer,
                     lambda p: _collect(self._questions, p.question, "Asked. End your turn now; the "
                                        "Overseer's answer will be your next message.")),
        ]
        if self.store is None:
            return tools
        store = self.store

        async def bead_show(p: BeadShow) -> str:
            try:
                bead = await store.get(p.id or self.bead.id)
            except Exception as exc:
                return f"error: {exc}"
            return json.dumps({
                "id": bead.id, "title": bead.title, "status": bead.status, "priority": bead.priority,
                "type": bead.issue_type, "description": bead.description,
                **({"human_step": "only the Overseer does and closes this bead"} if is_human(bead) else {}),
                "acceptance_criteria": bead.acceptance_criteria,
                "depends_on": [{"id": d.depends_on_id, "type": d.type} for d in bead.dependencies or []],
                "comments": [{"author": c.author, "text": c.text} for c in (bead.comments or [])[-10:]],
            }, ensure_ascii=False)

        async def bead_comment(p: BeadComment) -> str:
            try:
                await store.add_comment(p.id or self.bead.id, self.name, p.text)
            except Exception as exc:
                return f"error: {exc}"
            return "Comment added."

        async def bead_create(p: BeadCreate) -> str:
            # Under the goal's epic; held work waits as `deferred` for the Overseer to dispatch it.
            hold = self.discovered_work == "hold"
            new = await store.create(p.title, description=p.description or None,
                                     acceptance_criteria=p.acceptance_criteria or None, priority=p.priority,
                                     issue_type=p.type, labels=["discovered"], parent=self.bead.parent_id,
                                     status=Status.DEFERRED if hold else Status.OPEN, actor=self.name)
            await store.add_dependency(new.id, self.bead.id, DepType.DISCOVERED_FROM, actor=self.name)
            if self.publish is not None:
                self.publish(DiscoveredWork(bead_id=new.id, from_bead_id=self.bead.id, epic_id=self.bead.parent_id,
                                            title=new.title, mode=self.discovered_work))
            then = "held for the Overseer" if hold else "queued for another polecat"
            return f"Created {new.id} (discovered-from {self.bead.id}, {then}). Stay on your own bead."

        return [
            ToolSpec("bead_show", "Show a bead of the ledger (default: your own).", BeadShow, bead_show),
            ToolSpec("bead_comment", "Add a comment to a bead (default: your own).", BeadComment, bead_comment),
            ToolSpec("bead_create", "File discovered work outside your bead as a new bead, linked "
                     "discovered-from yours. Do not do that work yourself.", BeadCreate, bead_create),
            *tools,
        ]

    def tool_handlers(self) -> dict[str, Callable[[Any], Awaitable[str] | str]]:
        """This polecat's tools by name (a pre-started seat's session calls them)."""
        if not hasattr(self, "_handlers"):
            self._handlers = {t.name: t.handler for t in self._tools()}
        return self._handlers

    def _spec(self, worktree: Path) -> SessionSpec:
        return SessionSpec(
            name=self.name,
            working_directory=worktree,
            policy=polecat_policy(worktree, self.worktrees.workdir, self.settings),
            system_message=POLECAT_SYSTEM,
            tools=self._tools(),
            on_event=self.emit,
        )

    # --- the run -----------------------------------------------------------------------------------
    async def run(self, feedback: str | None = None) -> PolecatResult:
        """Work the bead; ``feedback`` (review comments, conflicting hunks, a failing log) makes it rework:
        the bead's persisted session is resumed with it when there is one, else a fresh session gets it."""
        if is_human(self.bead):
            raise HumanStepError(human_step_refusal(self.bead.id))
        self.span = self.tracer.start("polecat.run", self.tracer.get(bead_key(self.bead.id)), {
            "gastown.bead.id": self.bead.id, "gastown.polecat": self.name, "gastown.run.attempt": self.attempt,
            "gastown.run.rework": bool(feedback)})
        error: str | None = None
        try:
            with self.span.current():  # the session's turns in the CLI become children of this run
                return await self._run(feedback)
        except BaseException as exc:
            error = str(exc) or type(exc).__name__
            raise
        finally:
            for span in self._tool_spans.values():
                span.end("the run ended during the tool call")
            self._tool_spans.clear()
            self.span.end(error)

    async def _run(self, feedback: str | None) -> PolecatResult:
        started = self._started = time.monotonic()
        why = self.witness.paused.get(f"bead:{self.bead.id}") if self.witness is not None else None
        if why:  # this bead already spent its budget: the Overseer must raise it (resume_dispatch)
            await self._escalate(why, "budget")
            return PolecatResult(self.bead.id, self.branch, None, None, why, [], escalated=True)
        previous = await self.records.last_session(self.bead.id) if self.records else None
        if self.records is not None:
            run = await self.records.start_run(self.bead.id, self.name, goal_id=self.bead.parent_id,
                                               branch=self.branch, feedback=bool(feedback))
            self.run_id = run.id
        exit_reason, detail, commit_sha = "error", None, None
        lease: Lease | None = None
        session: AgentSession | None = None
        park = True
        try:
            self.timings["record_ms"] = _ms(started)
            reserved = await _in_git_pool(self.worktrees.reserve, self.branch, None, onto_base=bool(feedback))
            base = reserved.base
            self.worktree = reserved.path
            t_session = time.monotonic()
            if reserved.reused and not feedback:
                # The folder exists: check it out while the session starts there (spawn = the slower
                # of the two, not their sum). Rework waits: its prompt names what was carried over.
                prep = asyncio.ensure_future(_in_git_pool(self.worktrees.prepare, reserved))
                opening = asyncio.ensure_future(self._open_session(reserved, feedback, previous))
                both: set[asyncio.Future[Any]] = {prep, opening}
                await asyncio.wait(both)  # both finish, whatever happens to either
                if not prep.cancelled() and prep.exception() is None:
                    lease = reserved  # checked out: released in `finally`, whatever else failed
                if not opening.cancelled() and opening.exception() is None:
                    session, prompt, resumed_from = opening.result()
                for fut in (prep, opening):
                    fut.result()  # re-raise the first failure
            else:
                await _in_git_pool(self.worktrees.prepare, reserved)
                lease = reserved
                session, prompt, resumed_from = await self._open_session(lease, feedback, previous)
            assert lease is not None and session is not None  # both checked out or opened, or raised above
            self.timings["worktree_ms"] = lease.acquire_ms
            self.timings["session_ms"] = _ms(t_session)
            self._status(worktree=str(lease.path), run_id=self.run_id, restarts=0, exit_reason=None)
            self.timings["spawn_ms"] = _ms(started)
            self.span.set({"gastown.run.id": self.run_id, "gastown.run.resumed": resumed_from is not None,
                           "gastown.run.resumed_from": resumed_from, "gastown.session.id": session.session_id,
                           "gastown.run.spawn_ms": self.timings["spawn_ms"]})
            self.emit(AgentEvent(session_id=session.session_id, kind="started", detail=dict(self.timings)))
            if self.records is not None and self.run_id is not None:
                await self.records.update_run(self.run_id, worktree=str(lease.path), base=base,
                                              session_id=session.session_id, resumed_from=resumed_from,
                                              spawn_ms=self.timings["spawn_ms"])
            if self.witness is not None and self.run_id is not None:
                self._watch = self.witness.watch(self.run_id, self.bead, self.name)
                self._watch.emit = self.emit
                self._watch.attach(session)
            session, last, stop = await self._work(session, prompt, lease, feedback)
            summary = self._done[0] if self._done else (last or None)
            message = f"{self.bead.title}\n\n{summary or 'work on ' + self.bead.id}\n\nBead: {self.bead.id}"
            await _in_git_pool(self.worktrees.commit, lease, message, self.name)
            tip = await _in_git_pool(self.worktrees.branch_tip, self.branch)
            has_work = bool(tip) and await _in_git_pool(self.worktrees.unmerged_count, tip) > 0
            commit_sha = tip if has_work else None
            files = await _in_git_pool(self.worktrees.changed_files, base, tip) if has_work else []
            if stop is not None:
                kind, reason = stop
                exit_reason = {"escalate": "escalated", "budget": "budget", "abort": "aborted",
                               "unanswered": "escalated"}[kind]
                detail = reason
                await self._escalate(reason, "unanswered" if kind == "unanswered" else exit_reason)
                return PolecatResult(self.bead.id, self.branch, commit_sha, summary, reason, files,
                                     escalated=True, run_id=self.run_id)
            if self._blocked:
                exit_reason, detail = "blocked", self._blocked[0]
            elif commit_sha or self._done:
                exit_reason, detail, park = "done", summary, False
            else:
                exit_reason, detail = "no-changes", "the session changed no file"
            return PolecatResult(self.bead.id, self.branch, commit_sha, summary,
                                 self._blocked[0] if self._blocked else None, files, run_id=self.run_id)
        except asyncio.CancelledError:
            exit_reason, detail = "cancelled", "the town stopped during the run"
            raise
        except TurnTimeout as exc:
            exit_reason, detail = "timeout", str(exc)
            raise
        except Exception as exc:
            exit_reason, detail = "error", str(exc)
            raise
        finally:
            await self._finish(session, lease, park, exit_reason, detail, commit_sha)

    async def _finish(self, session: AgentSession | None, lease: Lease | None, park: bool, exit_reason: str,
                      detail: str | None, commit_sha: str | None) -> None:
        """Always: stop watching, detach the session, save uncommitted work, give the worktree back, end
        the record. Parked worktrees keep the branch checked out for the bead's next run."""
        if self._watch is not None and self.witness is not None:
            self.witness.unwatch(self._watch)
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.disconnect(), 10)
        if lease is not None:
            try:
                wip = await _in_git_pool(self.worktrees.release, lease, park=park)
                if wip:
                    commit_sha = commit_sha or wip
                if not park and self.seats is not None:  # an idle slot: seat the next polecat's session
                    # Its start is traced in the goal's trace, under the bead whose slot it takes, not the run.
                    with self.tracer.get(bead_key(self.bead.id)).current():
                        self.seats.prestart(lease.path, self._spec(lease.path))
            except Exception:
                log.exception("releasing %s failed; the worktree stays as it is", lease.path)
        tokens_in, tokens_out = self._tokens
        self.span.set({"gastown.run.id": self.run_id, "gastown.run.exit_reason": exit_reason,
                       "gastown.run.detail": (detail or "")[:300] or None, "gastown.run.commit": commit_sha,
                       "gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out,
                       "gastown.tokens": tokens_in + tokens_out,
                       "gastown.run.restarts": self._watch.restarts if self._watch is not None else 0,
                       "gastown.run.duration_ms": _ms(self._started) if self._started else None})
        if self.records is not None and self.run_id is not None:
            try:
                await self.records.end_run(self.run_id, exit_reason, detail=detail, commit_sha=commit_sha)
            except Exception:
                log.exception("ending run #%s failed", self.run_id)
        self._status(exit_reason=exit_reason, current_tool=None)

    async def _open_session(self, lease: Lease, feedback: str | None,
                            previous: RunRow | None) -> tuple[AgentSession, str, str | None]:
        spec = self._spec(lease.path)
        # Interrupted: the server stopped (or died: still marked live, taken over by start_run) mid-run.
        interrupted = previous is not None and (previous.live or previous.exit_reason in ("crashed", "cancelled"))
        if previous is not None and previous.session_id and (feedback or interrupted):
            try:
                session = await self.runtime.resume_session(previous.session_id, spec)
                return session, resume_prompt(self.bead, lease.path, feedback, lease), previous.session_id
            except AgentRuntimeError as exc:
                log.warning("%s: %s; starting a fresh session", self.name, exc)
        seated = await self.seats.take(lease.path, self.emit, self.tool_handlers()) if self.seats is not None else None
        session = seated or await self.runtime.create_session(spec)
        return session, build_prompt(self.bead, lease.path, feedback, lease), None

    async def _work(self, session: AgentSession, prompt: str, lease: Lease, feedback: str | None
                    ) -> tuple[AgentSession, str, tuple[str, str] | None]:
        """Turns until the bead is reported done (or a stop), restarting the session when the Witness says so
        and waiting for the Overseer when the polecat asks. Returns the session in use, the last assistant
        message, and the stop order (the Witness's, or an unanswered question) if there was one."""
        watch = self._watch
        while True:
            self.session = session
            turn = asyncio.ensure_future(session.run_turn(prompt, self.turn_timeout))
            action = None
            if watch is None:
                last = await turn
            else:
                waiter = asyncio.ensure_future(watch.interrupted.wait())
                try:
                    await asyncio.wait({turn, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    if not turn.done():
                        turn.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await waiter
                last = ""
                if turn.done() and not turn.cancelled():
                    failed = turn.exception()
                    if failed is not None and watch.pending is None:
                        raise failed
                    last = "" if turn.exception() else turn.result()
                action = watch.take()
            if action is None or self._done:
                after = await self._after_turn(last)
                if isinstance(after, str):
                    prompt = after
                    continue
                return session, last, after
            kind, reason = action
            if kind != "restart":
                return session, last, (kind, reason)
            assert self.witness is not None and watch is not None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.disconnect(), 10)
            session = await self.runtime.create_session(self._spec(lease.path))
            prompt = await self._handoff(lease, feedback, reason, watch.restarts + 1)
            self.witness.restarted(watch, session)
            self._status(restarts=watch.restarts)
            if self.records is not None and self.run_id is not None:
                await self.records.update_run(self.run_id, session_id=session.session_id, restarts=watch.restarts)

    async def _after_turn(self, last: str) -> str | tuple[str, str] | None:
        """The turn ended on its own. None: the run is over (reported done); a string: the next prompt of the
        same session (the reminder, or the Overseer's answer); a tuple: a stop order."""
        if self._done:
            return None
        if self._questions:
            question, kind = self._questions[-1], "question"
        elif self._blocked:
            question, kind = self._blocked[-1], "blocked"
        elif not self._reminded:  # models often just forget the tool: one reminder, then it is a question
            self._reminded = True
            self._note("remind", REMINDER)
            return REMINDER
        else:
            question, kind = (last or "").strip() or "(it ended its turn twice without a report)", "silent"
        self._questions.clear()
        return await self._wait_for_answer(question, kind)

    async def _wait_for_answer(self, question: str, kind: str) -> str | tuple[str, str]:
        """needs-input: the question on the agent record, the bead and the bus; the session stays open. The
        answer is the next prompt; no answer within ``needsInputTimeout`` is a stop (escalation)."""
        timeout = self.settings.needs_input_timeout
        watch = self._watch
        self.waiting = question
        self._note("needs-input", question, kind=kind)
        self._status(state="needs-input", question=question, current_tool=None)
        if self.store is not None:
            lead = "Blocked; asks the Overseer" if kind == "blocked" else "Question for the Overseer"
            with contextlib.suppress(Exception):
                await self.store.add_comment(self.bead.id, self.name, f"{lead}: {question}")
        if self.publish is not None:
            self.publish(NeedsInput(bead_id=self.bead.id, agent=self.name, question=question, kind=kind,
                                    timeout=timeout))
        if watch is not None and self.witness is not None:
            self.witness.waiting(watch)
        get = asyncio.ensure_future(self._inbox.get())
        waiters: set[asyncio.Future[Any]] = {get}
        if watch is not None:
            waiters.add(asyncio.ensure_future(watch.interrupted.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            self.waiting = None
        if get.done() and not get.cancelled():
            answer = get.result()
            self._blocked.clear()
            if self.store is not None:
                with contextlib.suppress(Exception):
                    await self.store.add_comment(self.bead.id, "overseer", f"Answer: {answer}")
            self._note("overseer-answer", answer)
            self._status(state="working", question=None)
            if watch is not None and self.witness is not None and self.session is not None:
                self.witness.answered(watch, self.session)
            return answer_prompt(question, answer)
        pending = watch.take() if watch is not None else None
        if pending is not None:
            return pending
        return "unanswered", f"no answer from the Overseer within {timeout:g}s to: {question}"

    # --- the Overseer ------------------------------------------------------------------------------
    def answer(self, text: str) -> None:
        """The Overseer's answer to the waiting question: the same session goes on with it."""
        if self.waiting is None:
            raise ValueError(f"{self.name} is not waiting for an answer")
        self._inbox.put_nowait(text)

    async def nudge(self, text: str) -> None:
        """Send text into the running session at once (a waiting polecat takes it as its answer)."""
        if self.waiting is not None:
            self.answer(text)
            return
        if self.session is None:
            raise ValueError(f"{self.name} has no session yet")
        await self.session.nudge(text)
        self._note("overseer-message", text)

    def _note(self, action: str, text: str, **detail: Any) -> None:
        """An agent event for the polecat's log (supervision events use the ``witness`` kind)."""
        sid = self.session.session_id if self.session is not None else ""
        self.emit(AgentEvent(session_id=sid, kind="witness", text=text, detail={"action": action, **detail}))

    async def _handoff(self, lease: Lease, feedback: str | None, reason: str, restart: int) -> str:
        """The first prompt of a restarted session: the bead, and what the stopped session did."""
        changed = await _in_git_pool(self.worktrees.changed_so_far, lease)
        trail = list(self._trail)[-15:]
        summary = "\n".join(f"- {line}" for line in trail) or "- (nothing recorded)"
        files = ", ".join(changed[:30]) or "(none yet)"
        text = (f"Handoff: the previous session on this bead was stopped by the Witness ({reason}); this is "
                f"restart {restart} of at most {self.settings.max_restarts}. What it did:\n{summary}\n"
                f"Files changed so far in the worktree: {files}\n"
                "Continue from there; do not redo finished steps.")
        return build_prompt(self.bead, lease.path, feedback, lease) + "\n\n" + text[:HANDOFF_LIMIT]

    async def _escalate(self, reason: str, how: str) -> None:
        """The Overseer must act: comment why, block the bead, notify (Escalation on the bus)."""
        if self.store is not None:
            what = {"escalated": "The Witness escalated this bead", "budget": "A budget cap stopped this bead",
                    "aborted": "The Overseer aborted this bead's polecat",
                    "unanswered": "Escalated: the polecat's question was not answered"}.get(how, "Stopped")
            where = f" Work so far is on branch {self.branch}." if self.worktree else ""
            with contextlib.suppress(Exception):
                await self.store.add_comment(self.bead.id, "witness", f"{what}: {reason}.{where}")
                await self.store.update(self.bead.id, status=Status.BLOCKED, actor="witness")
        if self.witness is not None:
            self.witness.escalated(self.bead.id, self.name, reason)


# Git work of polecats runs on its own pool: the loop's default executor has cpu+4 threads, and thirty
# polecats starting at once would queue their checkouts behind each other there.
T = TypeVar("T")
_GIT_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="polecat-git")


def _in_git_pool(fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    return asyncio.get_running_loop().run_in_executor(_GIT_POOL, functools.partial(fn, *args, **kwargs))


class HumanStepError(GastownError):
    """A polecat was handed a human step: only the Overseer does and closes those."""


def human_step_refusal(bead_id: str) -> str:
    return f"{bead_id} is a human step: only the Overseer does it and closes it, never a polecat"


def _collect(into: list[str], item: str, reply: str) -> str:
    """A report tool's handler: keep what the polecat reported, answer ``reply``."""
    into.append(item)
    return reply


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 1)


def _trail_line(e: AgentEvent) -> str | None:
    if e.kind == "tool_start":
        args = e.detail.get("arguments") or {}
        brief = ", ".join(f"{k}={str(v)[:60]!s}" for k, v in list(args.items())[:3]) if isinstance(args, dict) else ""
        return f"called {e.tool}({brief})"
    if e.kind == "permission" and e.approved is False:
        return f"was denied: {e.text}"
    if e.kind == "message" and e.text:
        return f"said: {e.text[:160]}"
    if e.kind == "witness":
        return f"witness: {e.detail.get('action')} ({e.text})"
    if e.kind == "sandbox.blocked":
        command = str(e.detail.get("command") or "")[:80]
        return f"was stopped by the sandbox: {e.text}" + (f" (command: {command})" if command else "")
    return None
