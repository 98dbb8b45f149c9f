"""Landing: the integration branch reaches the Overseer's branch only through Town.land, never over
uncommitted changes to the same paths, never by force; a merge that does not go through is undone."""

from __future__ import annotations

import pytest

from gastown.town.town import Town
from gastown.vcs import GitError
from tests.town.conftest import commit_branch, git


def advance_integration(town: Town, files: dict[str, str]) -> str:
    sha = commit_branch(town.workspace, "polecat/x", files)
    git(town.workspace, "update-ref", f"refs/heads/{town.worktrees.integration}", sha)
    return sha


async def test_land_refuses_over_dirty_paths_then_lands(plain_town: Town):
    town = plain_town
    repo = town.workspace
    advance_integration(town, {"calc/__init__.py": "def add(a, b):\n    return b + a\n", "NEW.md": "new\n"})
    (repo / "calc" / "__init__.py").write_text("# my unsaved work\n")
    (repo / "notes.txt").write_text("unrelated scratch\n")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError, match=r"uncommitted changes .* calc/__init__.py"):
        await town.land()
    assert git(repo, "rev-parse", "HEAD") == head and (repo / "calc" / "__init__.py").read_text() == "# my unsaved work\n"

    git(repo, "checkout", "--", "calc/__init__.py")
    await town.land()  # the unrelated dirty file does not stop it
    assert (repo / "NEW.md").exists() and (repo / "notes.txt").read_text() == "unrelated scratch\n"
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", town.worktrees.integration)  # fast-forward


async def test_a_conflicting_land_is_undone(plain_town: Town):
    town = plain_town
    repo = town.workspace
    advance_integration(town, {"README.md": "integration's readme\n"})
    (repo / "README.md").write_text("the Overseer's readme\n")
    git(repo, "commit", "-qam", "my readme")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError, match="does not merge cleanly"):
        await town.land()
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == "" and not (repo / ".git" / "MERGE_HEAD").exists()
