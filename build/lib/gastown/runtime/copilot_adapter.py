"""The GitHub Copilot SDK adapter: the ONLY module that imports `copilot`.

One long-lived CopilotClient (one CLI process) hosts every session; each session gets its own
working directory, tools and permission handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from copilot import CopilotClient, RuntimeConnection
from copilot.generated.rpc import PermissionDecisionReject
from copilot.session import PermissionDecisionApproveOnce
from copilot.tools import define_tool

from gastown.config import ProviderSettings
from gastown.runtime.base import AgentEvent, AgentRuntimeError, PermissionAsk, SessionSpec, TurnTimeout

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]


def resolve_cli_path(setting: str | None = None) -> str:
    """Setting, then COPILOT_CLI_PATH, then the npm-installed launcher (repo or cwd), then PATH."""
    candidates: list[tuple[str, str | None]] = [
        ("setting gastown.copilot.cliPath", setting),
        ("COPILOT_CLI_PATH", os.environ.get("COPILOT_CLI_PATH")),
    ]
    for where in (REPO_ROOT, Path.cwd()):
        candidates.append((f"npm install in {where}", str(where / "node_modules" / ".bin" / "copilot")))
    candidates.append(("PATH", shutil.which("copilot")))
    for source, path in candidates[:2]:
        if path and not os.access(path, os.X_OK):
            raise AgentRuntimeError(f"Copilot CLI from {source} is not an executable file: {path}")
        if path:
            return path
    for _, path in candidates[2:]:
        if path and os.access(path, os.X_OK):
            return path
    raise AgentRuntimeError(
        "Copilot CLI not found: set gastown.copilot.cliPath or COPILOT_CLI_PATH, "
        "or run `npm install` (it installs @github/copilot@1.0.102)"
    )


def _ask_of(request: Any) -> PermissionAsk:
    kind = getattr(request, "kind", "unknown")
    if kind == "write":
        return PermissionAsk(kind="write", paths=[request.file_name])
    if kind == "read":
        return PermissionAsk(kind="read", paths=[request.path])
    if kind == "shell":
        return PermissionAsk(kind="shell", command=request.full_command_text, paths=list(request.possible_paths))
    if kind == "url":
        return PermissionAsk(kind="url", url=getattr(request, "url", None))
    if kind == "custom-tool":
        return PermissionAsk(kind="custom-tool", tool=getattr(request, "tool_name", None))
    return PermissionAsk(kind=str(kind))


class CopilotSession:
    """Wraps one SDK session: turns end on `session.idle`; events go to the spec's listener."""

    def __init__(self, sdk_session: Any, spec: SessionSpec) -> None:
        self._s = sdk_session
        self.session_id: str = sdk_session.session_id
        self._spec = spec
        self._idle: asyncio.Future[None] | None = None
        self._last_message = ""
        self._error: str | None = None
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = sdk_session.on(self._on_sdk_event)

    def _emit(self, event: AgentEvent) -> None:
        if self._spec.on_event:
            try:
                self._spec.on_event(event)
            except Exception:  # a listener must never break the session
                log.exception("agent event listener failed")

    def _on_sdk_event(self, event: Any) -> None:
        # The SDK may call from its reader thread or task; hop onto our loop.
        self._loop.call_soon_threadsafe(self._handle, event)

    def _handle(self, event: Any) -> None:
        etype = getattr(event.type, "value", str(event.type))
        data = event.data
        sid = self.session_id
        if etype == "assistant.message":
            self._last_message = getattr(data, "content", "") or ""
            self._emit(AgentEvent(session_id=sid, kind="message", text=self._last_message))
        elif etype == "tool.execution_start":
            self._emit(AgentEvent(session_id=sid, kind="tool_start", tool=data.tool_name,
                                  detail={"arguments": data.arguments if isinstance(data.arguments, dict) else None}))
        elif etype == "tool.execution_complete":
            self._emit(AgentEvent(session_id=sid, kind="tool_done", detail={"success": data.success}))
        elif etype == "assistant.usage":
            tokens = (getattr(data, "input_tokens", 0) or 0) + (getattr(data, "output_tokens", 0) or 0)
            self._emit(AgentEvent(session_id=sid, kind="usage", tokens=tokens))
        elif etype == "session.error":
            self._error = getattr(data, "message", "session error")
            self._emit(AgentEvent(session_id=sid, kind="error", text=self._error))
            self._finish()
        elif etype == "abort":
            self._emit(AgentEvent(session_id=sid, kind="abort"))
            self._finish()
        elif etype == "session.idle":
            self._emit(AgentEvent(session_id=sid, kind="idle"))
            self._finish()

    def _finish(self) -> None:
        if self._idle and not self._idle.done():
            self._idle.set_result(None)

    async def run_turn(self, prompt: str, timeout: float) -> str:
        self._idle = self._loop.create_future()
        self._error = None
        await self._s.send(prompt)
        try:
            await asyncio.wait_for(asyncio.shield(self._idle), timeout)
        except TimeoutError:
            raise TurnTimeout(f"session {self._spec.name}: no end of turn within {timeout:.0f}s") from None
        if self._error:
            raise AgentRuntimeError(f"session {self._spec.name}: {self._error}")
        return self._last_message

    async def nudge(self, prompt: str) -> None:
        await self._s.send(prompt, mode="immediate")

    async def abort(self) -> None:
        await self._s.abort()

    async def disconnect(self) -> None:
        self._unsubscribe()
        await self._s.disconnect()


class CopilotRuntime:
    """AgentRuntime over one CLI process."""

    def __init__(self, provider: ProviderSettings, cli_path: str | None = None,
                 base_directory: Path | None = None) -> None:
        self.provider = provider
        self.cli_path = resolve_cli_path(cli_path)
        self.base_directory = base_directory
        self._client: CopilotClient | None = None
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._start_lock:
            if self._client is not None:
                return
            byok = self.provider.type != "copilot"
            client = CopilotClient(
                connection=RuntimeConnection.for_stdio(path=self.cli_path),
                use_logged_in_user=not byok,
                base_directory=str(self.base_directory) if self.base_directory else None,
                log_level="error",
            )
            try:
                await client.start()
            except Exception as exc:
                await _force_stop(client)
                raise AgentRuntimeError(f"Copilot CLI failed to start ({self.cli_path}): {exc}") from exc
            self._client = client

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.stop(), 10)
        except Exception:
            log.warning("Copilot CLI did not stop cleanly; killing it")
        await _force_stop(client)

    def _session_kwargs(self, spec: SessionSpec, holder: dict[str, str]) -> dict[str, Any]:
        def on_permission(request: Any, _invocation: Any) -> Any:
            ask = _ask_of(request)
            decision = spec.policy.decide(ask)
            if spec.on_event:
                try:
                    spec.on_event(AgentEvent(
                        session_id=holder.get("id", ""), kind="permission", approved=decision.approved,
                        text=decision.reason, tool=ask.kind,
                        detail={"paths": ask.paths, "command": ask.command, "url": ask.url},
                    ))
                except Exception:  # recording must never change the decision
                    log.exception("permission event listener failed")
            if decision.approved:
                return PermissionDecisionApproveOnce()
            return PermissionDecisionReject(feedback=decision.reason)

        tools = [_sdk_tool(t) for t in spec.tools]
        kwargs: dict[str, Any] = {
            "model": self.provider.model,
            "working_directory": str(spec.working_directory),
            "on_permission_request": on_permission,
            "tools": tools or None,
        }
        provider = self.provider.sdk_provider()
        if provider:
            kwargs["provider"] = provider
        if spec.system_message:
            kwargs["system_message"] = {"mode": "append", "content": spec.system_message}
        return kwargs

    async def create_session(self, spec: SessionSpec) -> CopilotSession:
        await self.start()
        assert self._client is not None
        holder: dict[str, str] = {}
        sdk_session = await self._client.create_session(**self._session_kwargs(spec, holder))
        holder["id"] = sdk_session.session_id
        session = CopilotSession(sdk_session, spec)
        session._emit(AgentEvent(session_id=session.session_id, kind="session", detail={"resumed": False}))
        return session

    async def resume_session(self, session_id: str, spec: SessionSpec) -> CopilotSession:
        await self.start()
        assert self._client is not None
        holder = {"id": session_id}
        try:
            sdk_session = await self._client.resume_session(session_id, **self._session_kwargs(spec, holder))
        except Exception as exc:
            raise AgentRuntimeError(f"session {session_id} cannot be resumed: {exc}") from exc
        session = CopilotSession(sdk_session, spec)
        session._emit(AgentEvent(session_id=session.session_id, kind="session", detail={"resumed": True}))
        return session


def _sdk_tool(spec: Any) -> Any:
    async def handler(params: Any, _invocation: Any) -> str:
        result = spec.handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return str(result)

    return define_tool(spec.name, description=spec.description, handler=handler, params_type=spec.params_type,
                       skip_permission=True)


async def _force_stop(client: Any) -> None:
    try:
        await asyncio.wait_for(client.force_stop(), 5)
    except Exception:
        log.debug("force_stop failed", exc_info=True)
