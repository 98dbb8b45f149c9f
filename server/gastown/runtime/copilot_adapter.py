"""The GitHub Copilot SDK adapter: the ONLY module that imports `copilot`.

One long-lived CopilotClient (one CLI process) hosts every session; each session gets its own
working directory, tools and permission handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from pathlib import Path
from typing import Any

from copilot import CopilotClient, RuntimeConnection
from copilot.generated.rpc import PermissionDecisionApproveOnce, PermissionDecisionReject
from copilot.tools import define_tool

from gastown.config import ProviderSettings
from gastown.runtime.base import AgentEvent, AgentRuntimeError, PermissionAsk, SessionSpec, TurnTimeout
from gastown.runtime.cli_path import TOKEN_VARS, login_error, resolve_cli_path
from gastown.runtime.sandbox import Sandbox, blocked_writes, default_cli_home
from gastown.telemetry.facade import CliExport

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
# Built-in tools that start programs named by files in the checkout, bypassing the shell sandbox.
UNSANDBOXABLE_TOOLS = ("lsp",)
# Tools whose results are a shell's output: read for writes the sandbox refused.
SHELL_TOOLS = ("bash", "read_bash", "write_bash")


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

    def __init__(self, sdk_session: Any, spec: SessionSpec, sandboxed: bool = False) -> None:
        self._s = sdk_session
        self._sandboxed = sandboxed
        self._commands: dict[str, str] = {}  # shell tool calls in flight: tool_call_id → command
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
            args = data.arguments if isinstance(data.arguments, dict) else {}
            if self._sandboxed and data.tool_name in SHELL_TOOLS:
                self._commands[data.tool_call_id] = str(args.get("command") or f"{data.tool_name} {args}")
            self._emit(AgentEvent(session_id=sid, kind="tool_start", tool=data.tool_name,
                                  detail={"arguments": data.arguments if isinstance(data.arguments, dict) else None,
                                          "call_id": getattr(data, "tool_call_id", None)}))
        elif etype == "tool.execution_complete":
            self._emit(AgentEvent(session_id=sid, kind="tool_done",
                                  detail={"success": data.success, "call_id": getattr(data, "tool_call_id", None)}))
            command = self._commands.pop(getattr(data, "tool_call_id", ""), None)
            if command is not None:
                self._report_blocked(command, data)
        elif etype == "assistant.usage":
            tokens_in, tokens_out = getattr(data, "input_tokens", 0) or 0, getattr(data, "output_tokens", 0) or 0
            self._emit(AgentEvent(session_id=sid, kind="usage", tokens=tokens_in + tokens_out,
                                  detail={"input_tokens": tokens_in, "output_tokens": tokens_out}))
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

    def _report_blocked(self, command: str, data: Any) -> None:
        """A shell command whose output shows a write the sandbox refused: one agent event naming it."""
        result, error = getattr(data, "result", None), getattr(data, "error", None)
        output = "\n".join(x for x in (getattr(result, "content", None), getattr(error, "message", None)) if x)
        blocked = blocked_writes(output, self._spec.working_directory)
        if blocked:
            paths = [b.path for b in blocked][:20]  # an `rm -rf` names every file it could not remove
            self._emit(AgentEvent(
                session_id=self.session_id, kind="sandbox.blocked", tool="bash",
                text=f"sandbox blocked a write to {', '.join(paths[:3])}" + (
                    f" and {len(blocked) - 3} more" if len(blocked) > 3 else ""),
                detail={"command": command, "paths": paths, "count": len(blocked),
                        "lines": [b.line for b in blocked[:20]]}))

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
            raise login_error(self._error) or AgentRuntimeError(f"session {self._spec.name}: {self._error}")
        return self._last_message

    async def nudge(self, prompt: str) -> None:
        await self._s.send(prompt, mode="immediate")

    async def abort(self) -> None:
        await self._s.abort()

    async def disconnect(self) -> None:
        self._unsubscribe()
        await self._s.disconnect()


class CopilotRuntime:
    """AgentRuntime over one CLI process: started here (stdio), or already running elsewhere (``uri`` =
    ``host:port`` of a CLI in server mode, e.g. on a runtime host, with its ``connection_token``; that CLI's
    home and confinement are its host's business)."""

    def __init__(self, provider: ProviderSettings, cli_path: str | None = None,
                 base_directory: Path | None = None, sandbox: Sandbox | None = None,
                 telemetry: CliExport | None = None, *,
                 uri: str | None = None, connection_token: str | None = None) -> None:
        self.provider = provider
        self.uri = uri
        self._connection_token = connection_token
        if uri is not None:
            cli_path, base_directory, sandbox = cli_path or "", None, None
        self.cli_path = resolve_cli_path(cli_path) if uri is None else uri
        self.base_directory = base_directory
        self.telemetry = telemetry  # the CLI's own spans: where they go (the SDK's TelemetryConfig)
        # The CLI's home is whatever this runtime gives it: that is what the sandbox keeps writable (and the
        # folder of its telemetry file, if it writes one).
        self.sandbox = (dataclasses.replace(sandbox, cli_home=base_directory or default_cli_home(),
                                            cli_writable=telemetry.writable if telemetry else ())
                        if sandbox else None)
        self._client: CopilotClient | None = None
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._start_lock:
            if self._client is not None:
                return
            byok = self.provider.type != "copilot"
            if self.uri is not None:
                client = CopilotClient(
                    connection=RuntimeConnection.for_uri(self.uri, connection_token=self._connection_token),
                    log_level="error")
            else:
                # Confined: the SDK starts a generated launcher that execs bwrap … the real CLI.
                path = self.sandbox.launcher(self.cli_path) if self.sandbox else self.cli_path
                client = CopilotClient(
                    connection=RuntimeConnection.for_stdio(path=str(path)),
                    use_logged_in_user=not byok,
                    base_directory=str(self.base_directory) if self.base_directory else None,
                    log_level="error",
                    telemetry=self.telemetry.config if self.telemetry else None,  # type: ignore[arg-type]
                    env={**os.environ, **self.telemetry.env} if self.telemetry and self.telemetry.env else None,
                )
            try:
                await client.start()
            except Exception as exc:
                await _force_stop(client)
                raise AgentRuntimeError(f"Copilot CLI failed to start ({self.cli_path}): {exc}") from exc
            if self.uri is not None:
                _no_delay(client)
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

    async def abandon(self) -> None:
        """Drop the connection without asking the other side (its CLI is gone: a lost host)."""
        client, self._client = self._client, None
        if client is not None:
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
        if self.sandbox:
            # Commands the CLI itself would start from files in the checkout (repository hooks, language
            # servers from .github/lsp.json) run outside the per-command sandbox, with a working directory
            # of the file's choosing: a polecat could plant them to reach another polecat's checkout.
            kwargs["enable_file_hooks"] = False
            kwargs["excluded_tools"] = list(UNSANDBOXABLE_TOOLS)
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
        try:
            sdk_session = await self._client.create_session(**self._session_kwargs(spec, holder))
        except Exception as exc:
            translated = login_error(str(exc))
            if translated is None:
                raise
            raise translated from exc
        holder["id"] = sdk_session.session_id
        session = CopilotSession(sdk_session, spec, sandboxed=self.sandbox is not None)
        session._emit(AgentEvent(session_id=session.session_id, kind="session", detail={"resumed": False}))
        return session

    async def resume_session(self, session_id: str, spec: SessionSpec) -> CopilotSession:
        await self.start()
        assert self._client is not None
        holder = {"id": session_id}
        try:
            sdk_session = await self._client.resume_session(session_id, **self._session_kwargs(spec, holder))
        except Exception as exc:
            raise login_error(str(exc)) or AgentRuntimeError(f"session {session_id} cannot be resumed: {exc}") from exc
        session = CopilotSession(sdk_session, spec, sandboxed=self.sandbox is not None)
        session._emit(AgentEvent(session_id=session.session_id, kind="session", detail={"resumed": True}))
        return session


async def auth_status(cli_path: str, *, timeout: float = 30) -> tuple[bool, str]:
    """Is there a GitHub login the CLI can use? Asks the CLI (``auth.getStatus``) through a short-lived client
    with the user's own CLI home; a token in COPILOT_GITHUB_TOKEN / GH_TOKEN / GITHUB_TOKEN counts without
    asking. Returns (logged in, what to show)."""
    for var in TOKEN_VARS:
        if os.environ.get(var):
            return True, f"GitHub Copilot with the token in ${var}"
    client = CopilotClient(connection=RuntimeConnection.for_stdio(path=cli_path), use_logged_in_user=True,
                           log_level="error")
    try:
        await asyncio.wait_for(client.start(), timeout)
        status = await asyncio.wait_for(client.get_auth_status(), timeout)
    except Exception as exc:
        return False, f"the Copilot CLI could not tell its login: {exc}"
    finally:
        try:
            await asyncio.wait_for(client.stop(), 10)
        except Exception:
            log.debug("auth probe: CLI did not stop cleanly", exc_info=True)
        await _force_stop(client)
    if status.isAuthenticated:
        who = f" as {status.login}" if status.login else ""
        return True, f"GitHub Copilot logged in{who} ({status.authType or 'login'}, {status.host or 'github.com'})"
    return False, f"GitHub Copilot is not logged in ({status.statusMessage or 'no login found'})"


def _sdk_tool(spec: Any) -> Any:
    async def handler(params: Any, _invocation: Any) -> str:
        result = spec.handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return str(result)

    return define_tool(spec.name, description=spec.description, handler=handler, params_type=spec.params_type,
                       skip_permission=True)


def _no_delay(client: Any) -> None:
    """The SDK writes each JSON-RPC message as two writes (header, body) on its TCP socket: with Nagle's
    algorithm the body waits for the peer's delayed ACK (~40 ms on Linux) whenever anything is in flight. The
    socket is the SDK's own (1.0.27: ``client._process._socket``); nothing happens if that changes."""
    sock = getattr(getattr(client, "_process", None), "_socket", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        log.debug("no TCP socket found on the Copilot client: TCP_NODELAY not set")


async def _force_stop(client: Any) -> None:
    try:
        await asyncio.wait_for(client.force_stop(), 5)
    except Exception:
        log.debug("force_stop failed", exc_info=True)
