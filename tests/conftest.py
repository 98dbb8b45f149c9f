"""Shared test fixtures: real git repositories, the real Copilot CLI location, process hygiene."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


# Tiers that start the real Copilot CLI (directly, through a town, or through `gastown serve`): marked here so
# that `-m "not runtime"` leaves every one of them out without each module having to remember.
_RUNTIME_DIRS = ("runtime", "town", "lsp", "e2e_vscode", "cli", "github", "hosts")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO_ROOT / "tests").parts
        if parts and parts[0] in _RUNTIME_DIRS:
            item.add_marker(pytest.mark.runtime)


def copilot_cli() -> str:
    """The npm-installed CLI; `make test` installs it. Missing = a set-up error, never a skip."""
    path = os.environ.get("COPILOT_CLI_PATH") or str(REPO_ROOT / "node_modules" / ".bin" / "copilot")
    if not os.access(path, os.X_OK):
        pytest.fail(f"Copilot CLI not found at {path}: run `make test` (it runs npm install)")
    return path


def child_pids() -> set[int]:
    """Live (non-zombie) children of this process."""
    me = os.getpid()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


@pytest.fixture(autouse=True)
def no_orphans():
    """Every subprocess a test starts (CLI, git, model server, language server) is gone when it ends."""
    before = child_pids()
    yield
    import time

    deadline = time.monotonic() + 10
    while (left := child_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, "processes outlived the test: " + "; ".join(_describe(pid) for pid in sorted(left))


def _describe(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmd = "?"
    return f"{pid} {cmd[:200]}"
