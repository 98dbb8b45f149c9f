"""The host protocol on the wire: JSON-RPC 2.0 messages framed as LSP frames them (``Content-Length: N``,
a blank line, N bytes of UTF-8 JSON) over a TCP stream, and the shapes of its results.

Why not pygls's JSON-RPC server: it shares one protocol object (and writer) between connections, ends the
server when the first connection closes and has nothing to hold a per-connection state such as "this peer
gave the right token". A host outlives the towns that connect to it and must refuse everything before the
token, so it reads and writes the same frames with asyncio streams (a pygls client could still talk to it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import BaseModel, Field

from gastown.errors import GastownError

MAX_FRAME = 16 * 1024 * 1024  # a result larger than this is a bug, not a checkout listing

# Error codes (JSON-RPC's own range for the server's errors).
UNAUTHORIZED = -32001
HOST_ERROR = -32002
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602


class HostError(GastownError):
    """A host refused or failed a request; the message says which host and why."""


class HostUnreachable(HostError):
    """The host does not answer (connection refused, closed, or silent past the timeout)."""


class Unauthorized(HostError):
    """The host refused the token."""


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, None at the end of the stream. ValueError on a malformed frame."""
    length = None
    while True:
        line = await reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", errors="replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None or not 0 <= length <= MAX_FRAME:
        raise ValueError(f"bad frame: Content-Length {length}")
    body = await reader.readexactly(length)
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


# --- shapes ----------------------------------------------------------------------------------------------
class Hello(BaseModel):
    """``host/hello``'s answer: who the host is and where its Copilot CLI listens for this town."""

    name: str
    slots: int
    cli_port: int
    cli_token: str = Field(repr=False)  # the CLI's own connection token, given only after authentication
    root: str
    remote: str
    sandboxed: bool = False


class Health(BaseModel):
    ok: bool
    clone: bool
    cli: bool
    slots: int
    in_use: int
    detail: str = ""


class Acquired(BaseModel):
    """A checkout leased on the host for one polecat run (``host/acquire``)."""

    lease: str
    path: str
    branch: str
    base: str
    reused: bool = False  # the checkout's folder exists already (a session may start there meanwhile)
    continued: bool = False
    carried: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    acquire_ms: float = 0.0


class Pushed(BaseModel):
    """A commit or release on the host: the branch's tip as pushed to the remote (None: nothing to push)."""

    sha: str | None = None  # the new commit (commit), the WIP saved (release)
    tip: str | None = None
    pushed: bool = False


class CheckoutInfo(BaseModel):
    name: str
    branch: str | None
    head: str | None
    state: str
    dirty: bool = False


class Cleaned(BaseModel):
    """``host/clean``: the checkouts removed, and branch → archive ref on the remote for work that had been
    only on the host."""

    removed: list[str] = Field(default_factory=list)
    archived: dict[str, str] = Field(default_factory=dict)
