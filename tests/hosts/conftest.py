"""Runtime hosts on loopback: a bare remote on file://, `gastown host` processes with their own roots, and
towns whose polecats are placed on them (real git, real Copilot CLIs, the scripted model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gastown.config import Settings
from gastown.demo import make_sample_repo
from gastown.town.town import Town
from tests.conftest import copilot_cli
from tests.town.conftest import IDENTITY, git, verify_command

TOKEN = "loopback-test-token-7f3a"  # never printed by the host (asserted)
TOKEN_ENV = "GASTOWN_TEST_HOST_TOKEN"


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory, monkeypatch):
    """No global or system git config (like CI); the identity comes from the environment."""
    empty = tmp_path_factory.mktemp("gitconfig") / "config"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


@dataclass
class HostProc:
    name: str
    root: Path
    proc: subprocess.Popen[str]
    info: dict = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.info['port']}"

    def log(self) -> str:
        return "".join(self.output)


def start_host(name: str, root: Path, remote: str, *, slots: int = 2, token: str = TOKEN,
               timeout: float = 90, port: int = 0) -> HostProc:
    """`gastown host` as its own process; returns once it announced its ports (or failed: AssertionError with
    its output)."""
    env = {**os.environ, TOKEN_ENV: token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gastown", "host", "--remote", remote, "--root", str(root), "--port", str(port),
         "--cli-port", "0", "--health-port", "0", "--slots", str(slots), "--name", name, "--token-env", TOKEN_ENV,
         "--cli-path", copilot_cli()],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    host = HostProc(name, root, proc)
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            host.output.append(line)
            if line.startswith("{") and not host.info:
                host.info = json.loads(line)
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(timeout)
    if not host.info:
        stop_host(host)
        raise AssertionError(f"host {name} did not start:\n{host.log()}")
    return host


def stop_host(host: HostProc) -> int | None:
    if host.proc.poll() is None:
        host.proc.send_signal(signal.SIGTERM)
        try:
            host.proc.wait(30)
        except subprocess.TimeoutExpired:
            host.proc.kill()
            host.proc.wait()
    return host.proc.returncode


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, str]:
    """The sample project as the town's workspace, with a bare clone as its `origin` (file://)."""
    repo = make_sample_repo(tmp_path / "calc")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    url = bare.as_uri()
    git(repo, "remote", "add", "origin", url)
    return repo, url


@pytest.fixture
def hosts(tmp_path: Path):
    """Start hosts on loopback: ``start(name, remote, **kw)``; all stopped at the end."""
    started: list[HostProc] = []

    def start(name: str, url: str, **kw) -> HostProc:
        host = start_host(name, tmp_path / f"host-{name}", url, **kw)
        started.append(host)
        return host

    yield start
    for host in started:
        stop_host(host)


@pytest.fixture
async def host_town(tmp_path: Path):
    """A Town on ``repo`` playing ``scenario``, with ``pool`` (HostProcs) as its runtime hosts."""
    towns: list[Town] = []

    async def make(repo: Path, url: str, scenario: dict, pool: list[HostProc], *, local_slots: int = 1,
                   token_env: str = TOKEN_ENV, **settings) -> Town:
        path = tmp_path / f"scenario-{len(towns)}.json"
        path.write_text(json.dumps({"model": "scripted", **scenario}))
        values = {"scenario": str(path), "worktreeRoot": str(tmp_path / "worktrees"), "cliPath": copilot_cli(),
                  "verifyCommand": verify_command(), "turnTimeout": 60, "maxPolecats": local_slots,
                  "hosts": {"pool": [{"address": h.address, "tokenEnv": token_env, "slots": h.info.get("slots", 2)}
                                     for h in pool],
                            "remote": url, "localSlots": local_slots, "probeSeconds": 1, "timeoutSeconds": 10},
                  **settings}
        town = await Town(repo, Settings.model_validate(values)).open()
        towns.append(town)
        return town

    yield make
    for town in towns:
        if town.store is not None:
            await town.close()
