"""One SQLite connection on its own thread: the only place the ledger touches aiosqlite's internals.

The Store runs whole ledger operations — plain functions over a ``sqlite3.Connection`` (``core``) — on
the connection's thread, so one operation costs one hop from the event loop however many statements it
runs. aiosqlite's public API hops once per *statement*; what we need is its worker thread, reached
through ``Connection._execute`` (queue a callable, await its result) and the ``sqlite3`` object
``Connection._conn``. Both are private, so they are used here and nowhere else; aiosqlite is pinned in
pyproject.toml and the ledger tests exercise this adapter on every operation.

Why not our own ``ThreadPoolExecutor(max_workers=1)``? Measured on this box (``SELECT 1`` round trip,
median of 2,000): aiosqlite 0.058–0.068 ms, ``loop.run_in_executor`` 0.084–0.136 ms — aiosqlite's
queue-fed thread is the faster hop, and every store call pays it.

A short write can skip the hop altogether (``here``): on a loaded machine the two thread wake-ups of a
round trip cost more wall time than the write itself. The connection is then opened with
``check_same_thread=False`` and its owner guarantees that the worker thread is idle meanwhile (the Store
holds its write lock across both kinds of call).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")


class SqliteThread:
    """A ``sqlite3`` connection (autocommit: ``isolation_level=None``) living on one worker thread."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @classmethod
    async def open(cls, path: Path | str, *, shared: bool = False) -> SqliteThread:
        """``shared``: ``here`` may be used too (the connection is not bound to its thread)."""
        return cls(await aiosqlite.connect(path, isolation_level=None, check_same_thread=not shared))

    def _submit(self) -> Callable[..., Awaitable[Any]]:
        """aiosqlite's private, unannotated ``_execute``, given the type it has."""
        execute: Callable[..., Awaitable[Any]] = self._conn._execute
        return execute

    async def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``fn(*args, **kw)`` on the connection's thread (for functions given their own connection
        handle, such as a write transaction's state)."""
        result: T = await self._submit()(fn, *args, **kw)
        return result

    async def run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``fn(connection, *args, **kw)`` on the connection's thread."""
        result: T = await self._submit()(fn, self._conn._conn, *args, **kw)
        return result

    def here(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """``fn(connection, *args, **kw)`` on the calling thread, no hop: only for a connection opened
        ``shared``, only while nothing is queued on its thread, and only for work that cannot wait long."""
        return fn(self._conn._conn, *args, **kw)

    async def close(self) -> None:
        await self._conn.close()


def hop(conn: sqlite3.Connection) -> None:
    """The cheapest round trip (the bench's floor for every store call)."""
    conn.execute("SELECT 1").fetchall()
