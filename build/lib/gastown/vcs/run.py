"""Run git: one helper, waited for, its failure a :class:`GitError` naming the command and git's words."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gastown.errors import GastownError


class GitError(GastownError):
    """A git problem the Overseer must see: not a repository, no commits, dirty tree, conflict."""


def git(args: Sequence[str], cwd: Path | str | None = None, *, input: bytes | None = None, check: bool = True,
        env: Mapping[str, str] | None = None, timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """``git ARGS`` in ``cwd``; stdout/stderr captured as bytes. ``check``: a non-zero exit raises GitError."""
    result = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                            env={**os.environ, **env} if env else None, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result


def git_text(args: Sequence[str], cwd: Path | str | None = None, **kw: object) -> str:
    """``git ARGS`` and its stdout as text, trailing newline removed."""
    return git(args, cwd, **kw).stdout.decode(errors="replace").rstrip("\n")  # type: ignore[arg-type]
