"""Git, the one way: every git process the project runs goes through :func:`gastown.vcs.run.git`.

Below the ledger and the town (both use it); imports nothing from either."""

from gastown.vcs.run import GitError, git, git_text

__all__ = ["GitError", "git", "git_text"]
