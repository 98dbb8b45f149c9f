"""Fixtures for the town's scenario tests: real git (with an identity from the environment, as on a CI
machine without a git user), real Copilot CLI, the scripted model server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gastown.config import Settings
from gastown.demo import make_sample_repo
from gastown.town.town import Town
from tests.conftest import copilot_cli

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory, monkeypatch):
    """No global or system git config (like CI); the identity comes from the environment."""
    empty = tmp_path_factory.mktemp("gitconfig") / "config"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_branch(repo: Path, branch: str, files: dict[str, str], base: str = "gastown/integration") -> str:
    """A one-commit branch off ``base`` writing ``files`` (made in a scratch worktree)."""
    scratch = repo.parent / f"scratch-{branch.replace('/', '-')}"
    git(repo, "worktree", "add", "-q", "-b", branch, str(scratch), base)
    for rel, text in files.items():
        path = scratch / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(scratch, "add", "-A")
    git(scratch, "commit", "-q", "-m", f"{branch}\n\nBead: {branch.split('/')[-1]}")
    sha = git(scratch, "rev-parse", "HEAD").strip()
    git(repo, "worktree", "remove", "--force", str(scratch))
    return sha


def verify_command() -> str:
    return f"{sys.executable} -m unittest discover -q"


@pytest.fixture
async def make_town(tmp_path: Path):
    """Open a Town on a fresh sample repo, playing ``scenario`` (a dict) on the scripted model server."""
    towns: list[Town] = []

    async def make(scenario: dict, repo: Path | None = None, **settings) -> Town:
        copilot_cli()
        repo = repo or make_sample_repo(tmp_path / "calc")
        path = tmp_path / f"scenario-{len(towns)}.json"
        path.write_text(json.dumps(scenario))
        values = {"scenario": str(path), "worktree_root": str(tmp_path / "worktrees"),
                  "verify_command": verify_command(), "cli_path": copilot_cli(), "turn_timeout_s": 60,
                  "max_polecats": 4, **settings}
        town = await Town(repo, Settings(**values)).open()
        towns.append(town)
        return town

    yield make
    for town in towns:
        if town.store is not None:  # not closed by the test itself
            await town.close()


@pytest.fixture
async def plain_town(tmp_path: Path):
    """A Town on the sample repo with no model behind it (enough for git, ledger and queue tests)."""
    town = await Town(make_sample_repo(tmp_path / "calc"),
                      Settings(worktree_root=str(tmp_path / "worktrees"), verify_command="true")).open()
    yield town
    await town.close()
