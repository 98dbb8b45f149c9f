"""Git for the town, through GitPython: the integration branch, polecat worktrees, commits, merges.

Every git process is a child of ours and is waited for (GitPython runs git per call).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError


class GitError(Exception):
    """A git problem the Overseer must see: not a repository, no commits, dirty tree, conflict."""


def open_repo(path: Path) -> git.Repo:
    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise GitError(f"{path} is not a git repository (run `git init` and commit once first)") from None
    if not repo.head.is_valid():
        raise GitError(f"{path} has no commits yet: commit once so the town has a base to branch from")
    return repo


def default_worktree_root(workspace: Path) -> Path:
    """Outside the workspace, so the user's tree, searches and watchers never see polecat files."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:8]
    return base / "gastown" / "worktrees" / f"{workspace.resolve().name}-{digest}"


class Worktrees:
    """The integration branch and every worktree the town owns."""

    def __init__(self, repo: git.Repo, root: Path, integration_branch: str) -> None:
        self.repo = repo
        self.root = root
        self.integration = integration_branch
        workspace = Path(repo.working_tree_dir or ".").resolve()
        if root.resolve().is_relative_to(workspace):
            raise GitError(f"worktree root {root} is inside the workspace {workspace}; choose a folder outside it")

    def close(self) -> None:
        """End GitPython's long-lived `git cat-file` helpers: no process outlives the town."""
        self.repo.close()

    @property
    def git(self) -> git.Git:
        return self.repo.git

    def ensure_integration(self) -> str:
        """Create the integration branch at HEAD if missing; return its head sha."""
        if self.integration not in [h.name for h in self.repo.heads]:
            self.git.branch(self.integration, self.repo.head.commit.hexsha)
        return self.repo.heads[self.integration].commit.hexsha

    def integration_head(self) -> str:
        return self.repo.heads[self.integration].commit.hexsha

    def add(self, name: str, branch: str, base: str) -> Path:
        """A fresh worktree on a new branch at ``base``. A leftover branch with commits is archived, never lost."""
        path = self.root / name
        self.root.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self.remove(path)
        if branch in [h.name for h in self.repo.heads]:
            self.archive_branch(branch)
        self.git.worktree("add", "-b", branch, str(path), base)
        return path

    def remove(self, path: Path) -> None:
        try:
            self.git.worktree("remove", "--force", str(path))
        except GitCommandError:
            shutil.rmtree(path, ignore_errors=True)
            self.git.worktree("prune")

    def archive_branch(self, branch: str) -> str | None:
        """Move a branch to refs/gastown/archive/… if it has commits not on the integration branch."""
        head = self.repo.heads[branch].commit.hexsha
        unmerged = self.git.rev_list(f"{self.integration}..{head}")
        ref = None
        if unmerged.strip():
            stamp = self.git.log("-1", "--format=%ct", head)
            ref = f"refs/gastown/archive/{branch}/{stamp}-{head[:8]}"
            self.git.update_ref(ref, head)
        self.git.branch("-D", branch)
        return ref

    @staticmethod
    def commit_all(path: Path, message: str, author: str) -> str | None:
        """Commit everything the polecat left in its worktree; None when it changed nothing."""
        with git.Repo(path) as wt:
            wt.git.add("-A")
            if not wt.git.status("--porcelain").strip():
                return None
            name, email = author, f"{author}@gastown.local"
            wt.git.commit("-m", message, env={
                "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            })
            return wt.git.rev_parse("HEAD").strip()

    def changed_files(self, base: str, head: str) -> list[str]:
        out = self.git.diff("--name-only", f"{base}...{head}")
        return [line for line in out.splitlines() if line]


def dirty_paths(repo: git.Repo) -> list[str]:
    """Uncommitted changes in the user's working tree (tracked and untracked), as repo-relative paths."""
    paths = []
    for line in repo.git.status("--porcelain", "-uall").splitlines():
        path = line[3:]
        if " -> " in path:
            path = path.split(" -> ", 1)[1]
        paths.append(path.strip('"'))
    return paths
