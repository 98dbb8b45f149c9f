"""Plumbing on one repository: opening it, reading refs, moving them in one transaction, committing
everything in a work tree. Every call is one `git` process (:func:`gastown.vcs.run.git`), safe from any
thread."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gastown.vcs.run import GitError, git, git_text
from gastown.vcs.status import is_dirty


@dataclass(frozen=True)
class Repo:
    """A repository with a work tree: ``workdir`` its top folder, ``git_dir`` its (common) git folder."""

    workdir: Path
    git_dir: Path

    def text(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """``git ARGS`` in the work tree, its stdout as text."""
        return git_text(args, self.workdir, env=env)

    def ok(self, *args: str) -> bool:
        """Did ``git ARGS`` exit 0 (a question such as ``merge-base --is-ancestor``)?"""
        return git(args, self.workdir, check=False).returncode == 0


def open_repo(path: Path | str) -> Repo:
    """The repository whose top folder is ``path``, with at least one commit; GitError saying what to do."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise GitError(f"{path} is not a git repository (run `git init` and commit once first)")
    found = git(["rev-parse", "--show-toplevel", "--git-common-dir"], path, check=False)
    lines = found.stdout.decode(errors="replace").splitlines()
    if found.returncode != 0 or len(lines) < 2 or Path(lines[0]).resolve() != path:
        raise GitError(f"{path} is not a git repository (run `git init` and commit once first)")
    git_dir = Path(lines[1])
    repo = Repo(path, (git_dir if git_dir.is_absolute() else path / git_dir).resolve())
    if rev_parse(path, "HEAD") is None:
        raise GitError(f"{path} has no commits yet: commit once so the town has a base to branch from")
    return repo


def rev_parse(cwd: Path | str, rev: str) -> str | None:
    """The commit (or object) ``rev`` names, None when it names nothing."""
    out = git(["rev-parse", "--verify", "-q", rev], cwd, check=False)
    return out.stdout.decode().strip() or None if out.returncode == 0 else None


def branch_tip(cwd: Path | str, branch: str) -> str | None:
    return rev_parse(cwd, f"refs/heads/{branch}")


def refs(cwd: Path | str, *patterns: str) -> dict[str, str]:
    """Full ref name → sha of the refs matching ``patterns`` (missing ones left out), in one git call."""
    out = git_text(["for-each-ref", "--format=%(refname) %(objectname)", *patterns], cwd)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def is_ancestor(cwd: Path | str, ancestor: str, descendant: str) -> bool:
    return git(["merge-base", "--is-ancestor", ancestor, descendant], cwd, check=False).returncode == 0


def count_commits(cwd: Path | str, since: str, tip: str) -> int:
    """Commits on ``tip`` that ``since`` does not have."""
    return int(git_text(["rev-list", "--count", f"{since}..{tip}"], cwd) or 0)


def unmerged_patches(cwd: Path | str, upstream: str, tip: str) -> int:
    """Commits of ``tip`` whose change is not on ``upstream``, even as a rebased or cherry-picked copy
    (`git cherry`): what would be lost if ``tip`` were dropped."""
    out = git_text(["cherry", upstream, tip], cwd)
    return sum(1 for line in out.splitlines() if line.startswith("+"))


def changed_files(cwd: Path | str, base: str, head: str) -> list[str]:
    """Files ``head`` changed since its merge-base with ``base``."""
    return [f for f in git_text(["diff", "--name-only", f"{base}...{head}"], cwd).splitlines() if f]


def commit_time(cwd: Path | str, sha: str) -> str:
    return git_text(["log", "-1", "--format=%ct", sha], cwd)


def update_refs(cwd: Path | str, lines: list[str]) -> None:
    """Apply ``update-ref --stdin`` commands (``update REF NEW [OLD]``…) in one transaction: all or none."""
    git(["update-ref", "--stdin"], cwd, input=("\n".join(["start", *lines, "prepare", "commit"]) + "\n").encode())


def head_branch(cwd: Path | str) -> str | None:
    """The branch checked out in ``cwd``, None on a detached HEAD."""
    out = git(["symbolic-ref", "-q", "--short", "HEAD"], cwd, check=False)
    return out.stdout.decode().strip() or None if out.returncode == 0 else None


def commit_all(cwd: Path | str, message: str, env: Mapping[str, str]) -> str | None:
    """Stage and commit everything in the work tree ``cwd`` with the identity ``env``; the new commit's sha,
    None when there was nothing to commit."""
    if not is_dirty(cwd):
        return None
    git(["add", "-A"], cwd)
    # No hook runs (--no-verify skips only pre-commit and commit-msg): in a polecat's checkout, hooks are
    # the polecat's to write, and the town commits unconfined.
    git(["-c", "core.hooksPath=/dev/null", "commit", "-q", "--no-verify", "-m", message], cwd, env=env)
    return git_text(["rev-parse", "HEAD"], cwd)


def worktree_list(cwd: Path | str) -> list[tuple[Path, str | None, str | None]]:
    """(path, head, branch) of every linked worktree git knows, the main one first."""
    out = git_text(["worktree", "list", "--porcelain"], cwd)
    found: list[tuple[Path, str | None, str | None]] = []
    path = head = branch = None
    for line in [*out.splitlines(), ""]:
        if line.startswith("worktree "):
            path = Path(line[len("worktree "):])
        elif line.startswith("HEAD "):
            head = line[5:]
        elif line.startswith("branch "):
            branch = line[len("branch "):].removeprefix("refs/heads/")
        elif not line and path is not None:
            found.append((path, head, branch))
            path = head = branch = None
    return found


def git_dir_of(checkout: Path) -> Path | None:
    """The git folder of a checkout: ``.git`` itself (a clone) or where its ``.git`` file points (a linked
    worktree); None when there is neither."""
    dot = checkout / ".git"
    if dot.is_dir():
        return dot
    try:
        text = dot.read_text()
    except OSError:
        return None
    if not text.startswith("gitdir: "):
        return None
    target = Path(text[len("gitdir: "):].strip())
    return target if target.is_absolute() else (checkout / target).resolve()


def checked_out(checkout: Path) -> str | None:
    """The branch checked out in ``checkout``, read from its HEAD file (no git process: cheap enough to ask
    for every checkout once a second); None when detached or not a checkout."""
    gitdir = git_dir_of(checkout)
    try:
        head = (gitdir / "HEAD").read_text().strip() if gitdir else ""
    except OSError:
        return None
    return head[len("ref: refs/heads/"):] if head.startswith("ref: refs/heads/") else None
