"""Names the town gives things in git, defined once."""

from __future__ import annotations

POLECAT_BRANCH_PREFIX = "polecat/"
ARCHIVE_REF_PREFIX = "refs/gastown/archive"
DEFAULT_INTEGRATION_BRANCH = "gastown/integration"

# Commits made by the town itself (WIP saves, carried-over work, landing) need an identity even on a bare CI box.
TOWN_IDENTITY = {"GIT_AUTHOR_NAME": "gastown", "GIT_AUTHOR_EMAIL": "gastown@gastown.local",
                 "GIT_COMMITTER_NAME": "gastown", "GIT_COMMITTER_EMAIL": "gastown@gastown.local"}


def polecat_branch(bead_id: str) -> str:
    return f"{POLECAT_BRANCH_PREFIX}{bead_id}"


def bead_of_branch(branch: str | None) -> str | None:
    """The bead id of a polecat branch (``polecat/<id>`` or ``refs/heads/polecat/<id>``), else None."""
    if branch and branch.startswith("refs/heads/"):
        branch = branch[len("refs/heads/"):]
    if branch and branch.startswith(POLECAT_BRANCH_PREFIX):
        return branch[len(POLECAT_BRANCH_PREFIX):]
    return None


def archive_ref(branch: str, stamp: str, head: str) -> str:
    return f"{ARCHIVE_REF_PREFIX}/{branch}/{stamp}-{head[:8]}"
