"""``gastown host``: a runtime host (see the package's docstring).

One process: the clone and its checkouts (:class:`HostClone`), one Copilot CLI listening on TCP with its own
connection token (confined by bubblewrap where it works, as the town confines its own), the JSON-RPC server
the town connects to, and a plain HTTP health endpoint for readiness probes. The town's token is compared in
constant time and never written anywhere; the CLI's token is handed only to an authenticated town.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hmac
import json
import logging
import os
import re
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gastown.host.clone import HostClone
from gastown.host.wire import (
    HOST_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    UNAUTHORIZED,
    Health,
    Hello,
    HostError,
    frame,
    read_message,
)
from gastown.runtime.cli_path import TOKEN_VARS, resolve_cli_path
from gastown.runtime.sandbox import SandboxMode, choose_sandbox
from gastown.vcs import GitError
from gastown.vcs.names import DEFAULT_INTEGRATION_BRANCH

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
CLI_START_TIMEOUT = 60.0


@dataclass
class HostConfig:
    remote: str
    root: Path
    token: str = field(repr=False)
    name: str = field(default_factory=socket.gethostname)
    bind: str = "127.0.0.1"
    port: int = 0
    cli_port: int = 0
    health_port: int | None = None  # None: no HTTP health endpoint
    slots: int = 4
    cli_path: str | None = None
    integration: str = DEFAULT_INTEGRATION_BRANCH
    sandbox: SandboxMode = "auto"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the host dies, however it dies (no orphan CLI)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def native_cli(cli_path: str) -> str:
    """The npm launcher (node) runs the native binary as its child, which would outlive a killed host: run
    the binary of the platform package directly when it is there."""
    real = Path(os.path.realpath(cli_path))
    if real.name == "npm-loader.js":
        arch = {"x86_64": "x64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
        package = f"copilot-linux-{arch}"
        # beside the launcher's package (a local install), or inside it (a global one)
        for native in (real.parent.parent / package / "copilot",
                       real.parent / "node_modules" / "@github" / package / "copilot"):
            if os.access(native, os.X_OK):
                return str(native)
    return cli_path


class HostServer:
    def __init__(self, config: HostConfig) -> None:
        if not config.token:
            raise HostError("a host needs a token (from --token-env or --token-file)")
        self.config = config
        self.clone = HostClone(config.remote, config.root.resolve(), config.integration, config.name)
        self._cli_token = secrets.token_urlsafe(32)
        self._cli: asyncio.subprocess.Process | None = None
        self.cli_port = 0
        self.port = 0
        self.health_port: int | None = None
        self.sandboxed = False
        self._rpc: asyncio.Server | None = None
        self._http: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopped = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> HostServer:
        await asyncio.to_thread(self.clone.ensure)
        self.clone.start_preparing(self.config.slots)  # checkouts ready for the town's first polecats
        await self._start_cli()
        self._rpc = await asyncio.start_server(self._connection, self.config.bind, self.config.port)
        self.port = self._rpc.sockets[0].getsockname()[1]
        if self.config.health_port is not None:
            self._http = await asyncio.start_server(self._health_http, self.config.bind, self.config.health_port)
            self.health_port = self._http.sockets[0].getsockname()[1]
        return self

    async def _start_cli(self) -> None:
        cfg = self.config
        cli = native_cli(resolve_cli_path(cfg.cli_path))
        home = self.clone.root / "copilot-home"
        home.mkdir(parents=True, exist_ok=True)
        choice = await asyncio.to_thread(
            choose_sandbox, cfg.sandbox, checkout_root=self.clone.checkout_root, cli_home=home,
            state_dir=self.clone.root / "state", readable=[self.clone.path])
        program = cli
        if choice.sandbox is not None:
            program = str(await asyncio.to_thread(choice.sandbox.launcher, cli))
            self.sandboxed = True
        env = {**os.environ, "COPILOT_CONNECTION_TOKEN": self._cli_token, "COPILOT_HOME": str(home)}
        # BYOK needs no login (the town passes the provider on every session); GitHub Copilot uses the token
        # in the environment (a Kubernetes Secret), never a login stored on the host.
        login = next((["--auth-token-env", var] for var in TOKEN_VARS if os.environ.get(var)), ["--no-auto-login"])
        self._cli = await asyncio.create_subprocess_exec(
            program, "--headless", "--no-auto-update", "--log-level", "error", *login,
            "--port", str(cfg.cli_port), "--host", cfg.bind, env=env, cwd=str(self.clone.root),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent, start_new_session=True)
        assert self._cli.stdout is not None
        try:
            async with asyncio.timeout(CLI_START_TIMEOUT):
                while True:
                    line = await self._cli.stdout.readline()
                    if not line:
                        raise HostError(f"the Copilot CLI ({cli}) exited before listening")
                    found = re.search(rb"listening on port (\d+)", line, re.IGNORECASE)
                    if found:
                        self.cli_port = int(found.group(1))
                        break
        except TimeoutError:
            await self._stop_cli()
            raise HostError(f"the Copilot CLI ({cli}) did not listen within {CLI_START_TIMEOUT:g}s") from None
        except BaseException:
            await self._stop_cli()
            raise
        self._spawn(self._drain(self._cli.stdout))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        for server in (self._rpc, self._http):
            if server is not None:
                server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.clone.release_all)
        await self._stop_cli()
        self.clone.close()
        self.stopped.set()

    async def _stop_cli(self) -> None:
        proc, self._cli = self._cli, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- health --------------------------------------------------------------------------------------
    def health(self) -> Health:
        cli = self._cli is not None and self._cli.returncode is None
        clone = self.clone.worktrees is not None
        ok = cli and clone
        return Health(ok=ok, clone=clone, cli=cli, slots=self.config.slots, in_use=self.clone.in_use,
                      detail="" if ok else ("the Copilot CLI is not running" if not cli else "no clone yet"))

    async def _health_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """``GET /healthz``: 200 when the clone and the CLI are up, else 503 (a readiness probe)."""
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while await asyncio.wait_for(reader.readline(), 5) not in (b"\r\n", b"\n", b""):
                pass
            path = request.split()[1].decode() if len(request.split()) > 1 else ""
            if path.split("?")[0] in ("/healthz", "/readyz"):
                health = self.health()
                status = "200 OK" if health.ok else "503 Service Unavailable"
                body = health.model_dump_json().encode()
            else:
                status, body = "404 Not Found", b'{"error":"not found"}'
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (OSError, TimeoutError, IndexError):
            pass
        finally:
            writer.close()

    # --- the town's connection -----------------------------------------------------------------------
    def _authentic(self, params: Any) -> bool:
        given = params.get("token") if isinstance(params, dict) else None
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode(), self.config.token.encode())

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        authed = False
        lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> None:
            async with lock:
                writer.write(frame(message))
                await writer.drain()

        requests: set[asyncio.Task[Any]] = set()
        owned: set[str] = set()  # leases this connection took: given back when it goes (not another town's)
        try:
            while True:
                try:
                    message = await read_message(reader)
                except (ValueError, asyncio.IncompleteReadError) as exc:
                    log.warning("dropping a connection from %s: %s", peer, exc)
                    break
                if message is None:
                    break
                msg_id, method, params = message.get("id"), message.get("method"), message.get("params") or {}
                if not authed:
                    if method != "host/hello" or not self._authentic(params):
                        log.warning("refused a connection from %s: wrong or missing token", peer)
                        await send({"jsonrpc": "2.0", "id": msg_id,
                                    "error": {"code": UNAUTHORIZED, "message": "unauthorized: wrong or missing token"}})
                        break
                    authed = True
                    log.info("a town connected from %s", peer)
                    await send({"jsonrpc": "2.0", "id": msg_id, "result": self._hello().model_dump()})
                    continue
                task = asyncio.ensure_future(self._answer(send, msg_id, str(method), params, owned))
                requests.add(task)
                task.add_done_callback(requests.discard)
        except (OSError, ConnectionError):
            pass
        finally:
            for task in requests:
                task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if owned:
                # The town is gone (closed, crashed or cut off): its polecats' work is committed and pushed.
                self._spawn(asyncio.to_thread(self.clone.release_all, set(owned)))

    def _hello(self) -> Hello:
        return Hello(name=self.config.name, slots=self.config.slots, cli_port=self.cli_port,
                     cli_token=self._cli_token, root=str(self.clone.root), remote=self.config.remote,
                     sandboxed=self.sandboxed)

    async def _answer(self, send: Callable[[dict[str, Any]], Awaitable[None]], msg_id: Any, method: str,
                      params: dict[str, Any], owned: set[str]) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id}
        handler = self._methods().get(method)
        if handler is None:
            reply["error"] = {"code": METHOD_NOT_FOUND, "message": f"unknown method {method}"}
        else:
            try:
                reply["result"] = result = await handler(params)
                if method in ("host/reserve", "host/acquire"):
                    owned.add(result["lease"])
                elif method == "host/release":
                    owned.discard(params.get("lease", ""))
            except (KeyError, TypeError, ValidationError) as exc:
                reply["error"] = {"code": INVALID_PARAMS, "message": f"bad parameters for {method}: {exc}"}
            except (HostError, GitError) as exc:
                reply["error"] = {"code": HOST_ERROR, "message": str(exc)}
            except Exception as exc:  # noqa: BLE001 - answered, never a dead connection
                log.exception("%s failed", method)
                reply["error"] = {"code": HOST_ERROR, "message": f"{method} failed: {exc}"}
        with contextlib.suppress(OSError, ConnectionError):
            await send(reply)

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        clone = self.clone

        async def health(_p: dict[str, Any]) -> Any:
            return self.health().model_dump()

        async def reserve(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.reserve, p["branch"], p["base"], p.get("tip"),
                                            bool(p.get("onto_base")), list(p.get("prefer") or []))).model_dump()

        async def prepare(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.prepare, p["lease"])).model_dump()

        async def acquire(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.acquire, p["branch"], p["base"], p.get("tip"),
                                            bool(p.get("onto_base")))).model_dump()

        async def commit(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.commit, p["lease"], p["message"], p["author"])).model_dump()

        async def release(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.release, p["lease"])).model_dump()

        async def changed(p: dict[str, Any]) -> Any:
            return await asyncio.to_thread(clone.changed, p["lease"])

        async def checkouts(_p: dict[str, Any]) -> Any:
            return [c.model_dump() for c in await asyncio.to_thread(clone.checkouts)]

        async def clean(p: dict[str, Any]) -> Any:
            return (await asyncio.to_thread(clone.clean, list(p["names"]))).model_dump()

        return {"host/health": health, "host/reserve": reserve, "host/prepare": prepare, "host/acquire": acquire, "host/commit": commit, "host/release": release,
                "host/changed": changed, "host/checkouts": checkouts, "host/clean": clean}


def announce(server: HostServer) -> str:
    """The line ``gastown host`` prints when it is ready (scripts and tests read the ports from it)."""
    return json.dumps({"host": server.config.name, "bind": server.config.bind, "port": server.port,
                       "cli_port": server.cli_port, "health_port": server.health_port,
                       "slots": server.config.slots, "sandboxed": server.sandboxed, "root": str(server.clone.root)})


async def run(config: HostConfig, ready: Callable[[HostServer], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT; then give every lease back (work pushed) and stop the CLI."""
    server = HostServer(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stopped.set)
    try:
        await server.start()
        if ready is not None:
            ready(server)
        await server.stopped.wait()
    finally:
        await server.stop()
