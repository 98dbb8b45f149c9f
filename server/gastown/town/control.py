"""The control channel: how a terminal reaches a running town (``gastown answer|nudge|bead retry``).

A town listens on a Unix socket (:func:`socket_path`: ``.gastown/control.sock``, or a short path in the temp
folder when that one is too long for a socket). The protocol is JSON lines: one :class:`ControlRequest` per
line, one :class:`ControlReply` per line back, in order. Only the user who runs the town may connect (the
socket is 0600).

When no town runs, :func:`send` records ``answer``, ``retry`` and ``dispatch`` in the ledger (a comment, and
the request in the bead's ``overseer_pending`` metadata); the next town to open applies them
(``Town.apply_pending``). A ``nudge`` needs a running session: without a town it is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from gastown.config import state_dir
from gastown.errors import GastownError
from gastown.ledger.model import now_iso

log = logging.getLogger(__name__)

Method = Literal["answer", "retry", "nudge", "dispatch"]
PENDING_KEY = "overseer_pending"  # bead metadata: requests recorded while no town ran
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS): stay below both


class OverseerError(GastownError, ValueError):
    """The Overseer's request cannot be carried out (no such bead, nothing waits for an answer, ...)."""


class ControlRequest(BaseModel):
    method: Method
    bead_id: str = Field(min_length=1)
    text: str = ""


class ControlReply(BaseModel):
    ok: bool
    delivered: bool = False  # True: a running town carried it out; False: recorded for the next town
    message: str = ""


def socket_path(workspace: Path) -> Path:
    """Where the town of ``workspace`` listens (the same answer for the town and its clients)."""
    state = state_dir(workspace.resolve())
    path = state / "control.sock"
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(state)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gastown-{digest}.sock"


def check_request(method: str, bead_id: str, text: str) -> ControlRequest:
    """A valid request, or OverseerError naming what is wrong."""
    try:
        # a plain str on purpose: pydantic checks it against the Literal and names what is wrong
        request = ControlRequest(method=method, bead_id=bead_id, text=text)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise OverseerError(f"not a valid request: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    if request.method in ("answer", "nudge") and not request.text.strip():
        raise OverseerError(f"{request.method} needs a text: it is what the polecat is told")
    return request


# --- the town's side ----------------------------------------------------------------------------------
Handler = Callable[[ControlRequest], Awaitable[str]]


class ControlServer:
    """Serves requests for one town; ``handle`` carries one out and returns a human line (errors: raise a
    GastownError/ValueError, its message goes back to the client)."""

    def __init__(self, workspace: Path, handle: Handler) -> None:
        self.path = socket_path(workspace)
        self._handle = handle
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> bool:
        """Listen; False when another town already listens for this workspace (it keeps the channel)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if await _answers(self.path):
                log.warning("another town listens on %s; this one takes no terminal requests", self.path)
                return False
            self.path.unlink()  # left by a town that died
        # Not through the umask: it is process-wide, and git clones made meanwhile by the pool's threads
        # took it (checkouts without the x bit, which a confined shell cannot enter). A socket needs write
        # permission to connect to; with the usual umask only its owner has that, and then only the owner.
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        os.chmod(self.path, 0o600)
        return True

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self._reply(line)
                writer.write(reply.model_dump_json().encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _reply(self, line: bytes) -> ControlReply:
        try:
            raw = json.loads(line)
            request = check_request(raw.get("method", ""), raw.get("bead_id", ""), raw.get("text", ""))
        except (ValueError, AttributeError) as exc:
            return ControlReply(ok=False, message=f"bad request: {exc}")
        try:
            return ControlReply(ok=True, delivered=True, message=await self._handle(request))
        except (GastownError, ValueError) as exc:
            return ControlReply(ok=False, message=str(exc))
        except Exception as exc:  # the channel must outlive one bad request
            log.exception("control request %s failed", request.method)
            return ControlReply(ok=False, message=f"{request.method} failed: {exc}")


async def _answers(path: Path) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


# --- the client (the CLI calls these) -----------------------------------------------------------------
def send(workspace: Path, method: str, bead_id: str, text: str = "", *, timeout: float = 30) -> ControlReply:
    """Carry out ``method`` (answer | retry | nudge | dispatch) on ``bead_id`` with ``text`` (the answer,
    the retry note, the message) in the town running for ``workspace``.

    Returns the reply (``delivered`` True) when a town runs. When none runs, ``answer``/``retry``/``dispatch``
    are recorded in the ledger for the next town (``delivered`` False) and ``nudge`` raises. Raises
    OverseerError (a GastownError) with the town's message when the request is refused."""
    request = check_request(method, bead_id, text)
    path = socket_path(workspace)
    reply = _ask(path, request, timeout)
    if reply is None:
        if request.method == "nudge":
            raise OverseerError(f"no town is running for {workspace}: a nudge needs a running polecat")
        reply = asyncio.run(record_pending(workspace, request))
    if not reply.ok:
        raise OverseerError(reply.message)
    return reply


def _ask(path: Path, request: ControlRequest, timeout: float) -> ControlReply | None:
    """The running town's reply; None when no town listens."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        sock.sendall(request.model_dump_json().encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        raise OverseerError(f"the town did not answer within {timeout:g}s") from None
    finally:
        sock.close()
    if not data:
        raise OverseerError("the town closed the connection without a reply")
    return ControlReply.model_validate_json(data)


async def record_pending(workspace: Path, request: ControlRequest) -> ControlReply:
    """No town runs: keep the request on the bead (a comment says so) for the next town to apply."""
    from gastown.ledger.store import Store

    db = state_dir(workspace.resolve()) / "beads.db"
    if not db.exists():
        raise OverseerError(f"no ledger in {workspace} (no town was ever started there)")
    store = await Store.open(db)
    try:
        bead = await store.get(request.bead_id)
        metadata = dict(bead.metadata or {})
        pending = [*metadata.get(PENDING_KEY, []),
                   {"method": request.method, "text": request.text, "at": now_iso()}]
        metadata[PENDING_KEY] = pending
        what = {"answer": "Answer", "retry": "Retry", "dispatch": "Dispatch"}[request.method]
        note = f"{what} (applied when the town next opens)" + (f": {request.text}" if request.text else "")
        async with store.batch(actor="overseer") as tx:
            await tx.update(bead.id, metadata=metadata)
            await tx.add_comment(bead.id, "overseer", note)
    finally:
        await store.close()
    return ControlReply(ok=True, delivered=False, message=f"No town is running: recorded on {bead.id}; the next "
                        "town to open applies it.")
