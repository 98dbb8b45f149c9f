"""Work that leaves a branch or a checkout is archived, never deleted: ``refs/gastown/archive/…`` refs in the
user's repository, and `gastown gc`, which prunes only what is merged or archived."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gastown.vcs import git_text
from gastown.vcs.names import ARCHIVE_REF_PREFIX, archive_ref, bead_of_branch
from gastown.vcs.repo import Repo, branch_tip, commit_time, count_commits, unmerged_patches

if TYPE_CHECKING:
    from gastown.town.checkouts import Worktrees

DONE = frozenset({"closed", "tombstone"})


def archive_commit(repo: Repo, name: str, sha: str) -> str:
    """Keep ``sha`` under ``refs/gastown/archive/<name>/…``; returns the ref."""
    ref = archive_ref(name, commit_time(repo.workdir, sha), sha)
    repo.text("update-ref", ref, sha)
    return ref


def archive_branch(repo: Repo, integration: str, branch: str) -> str | None:
    """Delete ``branch``, first archived if it has commits not on the integration branch; returns the ref."""
    head = branch_tip(repo.workdir, branch)
    assert head is not None, branch
    ref = archive_commit(repo, branch, head) if count_commits(repo.workdir, integration, head) else None
    repo.text("branch", "-D", branch)
    return ref


def archived(repo: Repo) -> list[tuple[str, str]]:
    out = repo.text("for-each-ref", "--format=%(refname) %(objectname)", ARCHIVE_REF_PREFIX)
    # tuple() of a split is tuple[str, ...] to mypy; the format prints two fields, as the return type says
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]


def reachable(repo: Repo, sha: str) -> bool:
    """Is ``sha`` on some ref (a branch, the integration branch, an archive ref)?"""
    return bool(repo.text("for-each-ref", "--contains", sha, "--count=1", "--format=%(refname)"))


def gc(pool: Worktrees, bead_status: dict[str, str], *, keep_idle: int, dry_run: bool = False) -> list[str]:
    """Prune only what is safe; returns what was (or would be) done, one line each.

    - worktree entries whose folder is gone: `git worktree prune`;
    - idle, clean worktrees beyond ``keep_idle`` (their HEAD archived if nothing else holds it);
    - parked worktrees of beads that are done (closed/tombstone): work saved, archived, removed;
    - polecat branches with no unmerged commits, checked out nowhere: deleted (their work is merged);
    - polecat branches WITH unmerged commits whose bead is done or unknown: archived, then deleted.
    Dirty worktrees and worktrees in use are never touched; archive refs are never deleted.
    """
    repo = pool.repo
    actions: list[str] = []
    pool.refresh()
    entries = pool.entries()
    if any(e.state == "missing" for e in entries):
        actions.append("prune worktree entries whose folder is gone")
        if not dry_run:
            with pool.admin_lock:
                repo.text("worktree", "prune")
    idle = [e for e in entries if e.state == "idle"]
    removable = [e for e in entries if e.state == "parked" and bead_status.get(e.bead_id or "") in DONE]
    removable += [e for e in idle[keep_idle:]]
    for e in removable:
        if e.dirty and e.state == "idle":
            actions.append(f"keep {e.name}: uncommitted changes")
            continue
        actions.append(f"remove worktree {e.name}" + (f" (bead {e.bead_id} is done)" if e.bead_id else " (idle)"))
        if not dry_run:
            pool.retire(e.name, Path(e.path), e.branch)
    checked_out = pool.checked_out_branches()
    for branch, sha in pool.polecat_branches().items():
        if branch in checked_out:
            continue
        status = bead_status.get(bead_of_branch(branch) or "")
        unmerged = count_commits(repo.workdir, pool.integration, sha) and unmerged_patches(
            repo.workdir, pool.integration, sha)
        if unmerged == 0:
            actions.append(f"delete branch {branch} (merged)")
            if not dry_run:
                with pool.admin_lock:
                    git_text(["branch", "-D", branch], repo.workdir)
        elif status in DONE or status is None:
            actions.append(f"archive branch {branch} ({unmerged} unmerged commit(s); bead "
                           f"{'unknown' if status is None else status})")
            if not dry_run:
                with pool.admin_lock:
                    archive_branch(repo, pool.integration, branch)
    pool.refresh()
    return actions
