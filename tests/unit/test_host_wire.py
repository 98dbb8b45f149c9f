"""The host protocol's pieces without a host: frames, addresses, where a town reads a host's token."""

from __future__ import annotations

import asyncio

import pytest

from gastown.config import HostEntry, Settings
from gastown.host.link import HostLink, split_address
from gastown.host.wire import HostUnreachable, frame, read_message


async def test_frames_round_trip_and_a_bad_frame_is_refused():
    reader = asyncio.StreamReader()
    reader.feed_data(frame({"jsonrpc": "2.0", "id": 1, "method": "host/health", "params": {"é": "ü"}}))
    reader.feed_data(b"Content-Length: 99999999999\r\n\r\n")
    assert await read_message(reader) == {"jsonrpc": "2.0", "id": 1, "method": "host/health", "params": {"é": "ü"}}
    with pytest.raises(ValueError, match="Content-Length"):
        await read_message(reader)
    done = asyncio.StreamReader()
    done.feed_eof()
    assert await read_message(done) is None


def test_addresses():
    assert split_address("127.0.0.1:7411") == ("127.0.0.1", 7411)
    assert split_address("[::1]:7411") == ("::1", 7411)
    assert split_address("gastown-host-0.gastown-host.ns.svc.cluster.local:7411")[1] == 7411
    with pytest.raises(ValueError, match="host:port"):
        split_address("nohost")


def test_a_hosts_token_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    assert HostEntry(address="h:1", token_file=str(secret)).token() == "s3cret"
    monkeypatch.setenv("MY_HOST_TOKEN", "from-env")
    assert HostEntry(address="h:1", token_env="MY_HOST_TOKEN").token() == "from-env"
    with pytest.raises(ValueError, match=r"h:1: no token in \$EMPTY_TOKEN"):
        HostEntry(address="h:1", token_env="EMPTY_TOKEN").token()
    with pytest.raises(ValueError, match="cannot read its token file"):
        HostEntry(address="h:1", token_file=str(tmp_path / "missing")).token()
    # The settings never hold the token itself, and say where it comes from (camelCase keys, as the editor's).
    settings = Settings.model_validate({"hosts": {"pool": [{"address": "h:1", "tokenFile": str(secret), "slots": 3}]}})
    assert settings.hosts.pool[0].slots == 3 and "s3cret" not in settings.model_dump_json()


async def test_a_host_that_is_not_there_is_unreachable_not_a_hang():
    link = HostLink("127.0.0.1:1", "tok-zz9", timeout=5)
    with pytest.raises(HostUnreachable, match="does not answer"):
        await link.connect()
    with pytest.raises(HostUnreachable, match="not connected"):
        await link.call("host/health")
    assert "tok-zz9" not in repr(link)
