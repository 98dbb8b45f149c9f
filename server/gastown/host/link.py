"""The town's end of one host connection: connect, authenticate (``host/hello`` with the token, which is
never logged), then requests in flight concurrently, each answered by id. A closed connection fails every
pending request at once with :class:`HostUnreachable` (a killed host is noticed without waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from gastown.host.wire import (
    UNAUTHORIZED,
    Hello,
    HostError,
    HostUnreachable,
    Unauthorized,
    frame,
    read_message,
)

log = logging.getLogger(__name__)


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"a host address is host:port, not {address!r}")
    return host.strip("[]"), int(port)


class HostLink:
    def __init__(self, address: str, token: str, *, timeout: float = 30.0) -> None:
        self.address = address
        self._token = token
        self.timeout = timeout
        self.hello: Hello | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.closed: asyncio.Event = asyncio.Event()
        self.why_closed = ""

    def __repr__(self) -> str:  # never the token
        return f"HostLink({self.address})"

    async def connect(self) -> Hello:
        host, port = split_address(self.address)
        try:
            self._reader, self._writer = await asyncio.wait_for(asyncio.open_connection(host, port), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise HostUnreachable(f"host {self.address} does not answer: {exc or type(exc).__name__}") from None
        self.closed.clear()
        self._task = asyncio.ensure_future(self._read())
        try:
            self.hello = Hello.model_validate(await self.call("host/hello", {"token": self._token}))
        except BaseException:
            await self.close()
            raise
        return self.hello

    async def _read(self) -> None:
        assert self._reader is not None
        why = "the host closed the connection"
        try:
            while True:
                message = await read_message(self._reader)
                if message is None:
                    break
                fut = self._pending.pop(message.get("id", -1), None)
                if fut is None or fut.done():
                    continue
                error = message.get("error")
                if error:
                    code, text = error.get("code"), error.get("message", "error")
                    cls = Unauthorized if code == UNAUTHORIZED else HostError
                    fut.set_exception(cls(f"host {self.address}: {text}"))
                else:
                    fut.set_result(message.get("result"))
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            why = f"the connection broke: {exc}"
        except asyncio.CancelledError:
            why = "the town closed the connection"
        finally:
            self.why_closed = why
            self._fail_pending(HostUnreachable(f"host {self.address}: {why}"))
            self.closed.set()

    def _fail_pending(self, exc: Exception) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(exc)

    @property
    def alive(self) -> bool:
        return self._writer is not None and not self.closed.is_set()

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """One request; its result. HostUnreachable when the connection is (or goes) down or the answer is
        late; HostError for the host's own refusal."""
        if self._writer is None or self.closed.is_set():
            raise HostUnreachable(f"host {self.address}: not connected ({self.why_closed or 'never connected'})")
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        try:
            self._writer.write(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params or {}}))
            await self._writer.drain()
            return await asyncio.wait_for(asyncio.shield(fut), timeout or self.timeout)
        except (OSError, ConnectionError) as exc:
            raise HostUnreachable(f"host {self.address}: {exc}") from None
        except TimeoutError:
            raise HostUnreachable(f"host {self.address}: no answer to {method} within "
                                  f"{timeout or self.timeout:g}s") from None
        finally:
            self._pending.pop(msg_id, None)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
        self.closed.set()
