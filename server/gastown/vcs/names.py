"""Names the town gives things in git, defined once: branches, refs, identities."""

from __future__ import annotations

POLECAT_BRANCH_PREFIX = "polecat/"
ARCHIVE_REF_PREFIX = "refs/gastown/archive"
DEFAULT_INTEGRATION_BRANCH = "gastown/integration"
TOWN_DOMAIN = "gastown.local"


def identity(name: str) -> dict[str, str]:
    """Author and committer ``name <name@gastown.local>`` as git's environment: commits need an identity
    even on a bare CI box."""
    email = f"{name}@{TOWN_DOMAIN}"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def committer(name: str) -> dict[str, str]:
    """Only the committer (rebases keep each commit's author)."""
    return {k: v for k, v in identity(name).items() if k.startswith("GIT_COMMITTER_")}


# Commits made by the town itself (WIP saves, carried-over work, landing).
TOWN_IDENTITY = identity("gastown")
# The Refinery rebases and commits partial accepts.
REFINERY_IDENTITY = committer("refinery")


def polecat_branch(bead_id: str) -> str:
    return f"{POLECAT_BRANCH_PREFIX}{bead_id}"


def bead_of_branch(branch: str | None) -> str | None:
    """The bead id of a polecat branch (``polecat/<id>`` or ``refs/heads/polecat/<id>``), else None."""
    if branch and branch.startswith("refs/heads/"):
        branch = branch[len("refs/heads/"):]
    if branch and branch.startswith(POLECAT_BRANCH_PREFIX):
        return branch[len(POLECAT_BRANCH_PREFIX):]
    return None


def archive_ref(name: str, stamp: str, sha: str) -> str:
    """Where unmerged work is kept when a branch or a detached commit is dropped: never deleted."""
    return f"{ARCHIVE_REF_PREFIX}/{name}/{stamp}-{sha[:8]}"


# Branches pushed to the code host for pull requests (github.landing): one per goal, or one per bead.
PR_BRANCH_PREFIX = "gastown/pr/"


def goal_pr_branch(epic_id: str) -> str:
    return f"{PR_BRANCH_PREFIX}{epic_id}"


def bead_pr_branch(bead_id: str) -> str:
    return f"{PR_BRANCH_PREFIX}bead/{bead_id}"
