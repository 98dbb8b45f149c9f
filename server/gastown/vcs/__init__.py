"""Git, the one way: every git process the project runs goes through :func:`gastown.vcs.run.git`.

Below the ledger and the town (both use it); imports nothing from either.

- ``run``: the one helper (``git``, ``git_text``, ``GitError``);
- ``names``: branch and ref names, identities;
- ``repo``: plumbing on one repository (open, refs, ref transactions, commit all);
- ``status``: ``git status --porcelain`` parsed once;
- ``paths``: git's quoted paths."""

from gastown.vcs.run import GitError, git, git_text

__all__ = ["GitError", "git", "git_text"]
