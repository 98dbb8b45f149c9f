"""A town whose remote is a real bare repository (file://) and whose GitHub is the loopback one; the token is
distinctive so that the tests can look for it everywhere it must not be."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from gastown.demo import make_sample_repo
from tests.github.fake_github import FakeGitHub
from tests.town.conftest import git_env, make_town  # noqa: F401 - fixtures used here

TOKEN = "ghp_GastownSecretToken0123456789abcdef"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def remote_repo(tmp_path: Path) -> tuple[Path, Path]:
    """(workspace, bare remote): the sample project pushed to a bare repository, its `origin`."""
    repo = make_sample_repo(tmp_path / "calc")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    git(repo, "remote", "add", "origin", remote.as_uri())
    return repo, remote


@pytest.fixture
def hub(remote_repo, monkeypatch, caplog):
    """The loopback GitHub over the bare remote (the token is handed over as the editor does: not in the
    environment, where the Copilot CLI of the town would see it too); afterwards: no response left the
    published schema, and the token is in no log line and no file of the test (ledger, JSONL, .gastown, git)."""
    _, remote = remote_repo
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.DEBUG)
    fake = FakeGitHub(remote, token=TOKEN).start()
    yield fake
    fake.stop()
    assert fake.schema_errors == []
    assert TOKEN not in caplog.text
    root = remote.parent
    leaks = [p for p in root.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert leaks == [], f"the token was written to {leaks}"


def pr_settings(fake: FakeGitHub, **github: object) -> dict[str, object]:
    return {"github": {"landing": "pr", "apiUrl": fake.api_url, "repository": "acme/calc", "pollSeconds": 0.05,
                       "copilotReview": True, **github}}


@pytest.fixture
async def plain_town_with_remote(remote_repo, hub, tmp_path):
    """A town with no model: one epic whose one bead is merged on the integration branch (a `Bead:` commit)."""
    from gastown.config import Settings
    from gastown.town.town import Town
    from tests.town.conftest import commit_branch

    repo, _ = remote_repo
    settings = Settings(worktree_root=str(tmp_path / "worktrees"), verify_command="true",
                        **pr_settings(hub))
    town = await Town(repo, settings).open()
    assert town.store is not None
    epic = await town.store.create("Add mul", issue_type="epic")
    bead = await town.store.create("mul", parent=epic.id, acceptance_criteria="mul(2, 3) == 6")
    sha = commit_branch(repo, f"polecat/{bead.id}", {"calc/mul.py": "def mul(a, b):\n    return a * b\n"})
    git(repo, "update-ref", f"refs/heads/{town.worktrees.integration}", sha)
    await town.store.close_bead(bead.id, reason=f"merged {sha[:10]} into gastown/integration")
    await town.store.close_bead(epic.id, reason="all beads merged")
    yield town, epic.id
    if town.store is not None:  # not closed by the test itself
        await town.close()
