"""The control channel without a model: requests a running town refuses say why, a garbled line gets an
error reply (the channel stays up), and with no town running answers are kept for the next one."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from gastown.config import Settings
from gastown.ledger.model import Status
from gastown.town import control
from gastown.town.town import Town


async def ask_raw(path, line: bytes) -> dict:
    def go() -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            sock.sendall(line)
            return json.loads(sock.makefile().readline())

    return await asyncio.to_thread(go)


async def test_a_running_town_answers_on_its_socket_and_refuses_with_reasons(plain_town: Town):
    town = plain_town
    path = control.socket_path(town.workspace)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    send = lambda *a: asyncio.to_thread(control.send, town.workspace, *a)  # noqa: E731

    with pytest.raises(control.OverseerError, match="needs a text"):
        await send("answer", "gt-x", "  ")
    with pytest.raises(control.OverseerError, match="method"):
        await send("shout", "gt-x", "hello")
    with pytest.raises(control.OverseerError, match="gt-nope"):
        await send("answer", "gt-nope", "yes")
    bead = await town.store.create("Idle bead")
    with pytest.raises(control.OverseerError, match="no polecat is running"):
        await send("nudge", bead.id, "hello")
    closed = await town.store.close_bead((await town.store.create("Done bead")).id, reason="done")
    with pytest.raises(control.OverseerError, match="only a blocked or escalated bead"):
        await send("retry", closed.id, "again")
    with pytest.raises(control.OverseerError, match="not discovered work"):
        await send("dispatch", bead.id)

    assert (await ask_raw(path, b"not json\n"))["ok"] is False  # a garbled line: an error reply
    blocked = await town.store.update(bead.id, status=Status.BLOCKED)
    reply = await send("retry", blocked.id, "Try the other file")
    assert reply.delivered and (await town.store.get(bead.id)).status == Status.OPEN
    assert ("overseer", "Retry: Try the other file") in [(c.author, c.text) for c in
                                                         (await town.store.get(bead.id)).comments]
    assert "Try the other file" in town.dispatcher.feedback[bead.id]  # what its next polecat run is told


async def test_a_second_town_leaves_the_channel_to_the_first_and_a_closed_town_removes_it(plain_town: Town, tmp_path):
    path = control.socket_path(plain_town.workspace)
    second = await Town(plain_town.workspace, Settings(worktree_root=str(tmp_path / "wt2"), verify_command="true"),
                        ).open()
    try:
        assert second.control._server is None and path.exists()
    finally:
        await second.close()
    assert path.exists()  # still the first town's
    await plain_town.close()
    assert not path.exists()
    with pytest.raises(control.OverseerError, match="no town is running"):
        await asyncio.to_thread(control.send, plain_town.workspace, "nudge", "gt-x", "hi")
