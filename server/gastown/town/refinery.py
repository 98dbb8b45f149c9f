"""The Refinery: rebases a finished branch onto the integration head in its own worktree, runs the
verification command, and fast-forwards the integration branch. Never touches the user's working tree."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from git.exc import GitCommandError

from gastown.town.git import Worktrees

log = logging.getLogger(__name__)


@dataclass
class MergeResult:
    merged: bool
    sha: str | None
    reason: str  # "merged", "conflict", "verification failed", ...
    log_tail: str = ""


@dataclass
class VerifyResult:
    ok: bool
    output: str


async def run_verification(command: str, cwd: Path, timeout: float) -> VerifyResult:
    """Run the verification command in its own process group so a timeout kills all of it."""
    proc = await asyncio.create_subprocess_shell(
        command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        _kill_group(proc.pid)
        await proc.wait()
        return VerifyResult(False, f"verification timed out after {timeout:.0f}s: {command}")
    return VerifyResult(proc.returncode == 0, out.decode(errors="replace"))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# Rebasing writes commits: give them a committer even on a machine with no git identity.
REFINERY_IDENTITY = {"GIT_COMMITTER_NAME": "refinery", "GIT_COMMITTER_EMAIL": "refinery@gastown.local"}


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Refinery:
    def __init__(self, worktrees: Worktrees, verify_command: str, verify_timeout: float) -> None:
        self.worktrees = worktrees
        self.verify_command = verify_command
        self.verify_timeout = verify_timeout
        self.path = worktrees.root / "refinery"
        self._lock = asyncio.Lock()  # one merge at a time: the queue is ordered

    def _ensure_worktree(self) -> None:
        if not (self.path / ".git").exists():
            self.worktrees.root.mkdir(parents=True, exist_ok=True)
            self.worktrees.git.worktree("prune")
            self.worktrees.git.worktree("add", "--detach", str(self.path), self.worktrees.integration)

    def _rebase(self, branch: str) -> tuple[str | None, str]:
        g = self.worktrees.repo.git
        wt = ["-C", str(self.path)]
        g.execute(["git", *wt, "checkout", "--force", "--detach", branch])
        try:
            g.execute(["git", *wt, "rebase", self.worktrees.integration], env=REFINERY_IDENTITY)
        except GitCommandError as exc:
            try:
                g.execute(["git", *wt, "rebase", "--abort"])
            except GitCommandError:
                pass
            return None, str(exc.stdout or exc.stderr or exc)
        return g.execute(["git", *wt, "rev-parse", "HEAD"]).strip(), ""

    async def merge(self, branch: str) -> MergeResult:
        async with self._lock:
            await asyncio.to_thread(self._ensure_worktree)
            old = await asyncio.to_thread(self.worktrees.integration_head)
            sha, conflict = await asyncio.to_thread(self._rebase, branch)
            if sha is None:
                return MergeResult(False, None, "conflict", tail(conflict))
            verify = await run_verification(self.verify_command, self.path, self.verify_timeout)
            if not verify.ok:
                return MergeResult(False, sha, "verification failed", tail(verify.output))
            # Compare-and-set: the integration branch moves only from the head we rebased onto.
            g = self.worktrees.git
            await asyncio.to_thread(g.update_ref, f"refs/heads/{self.worktrees.integration}", sha, old)
            await asyncio.to_thread(g.update_ref, f"refs/heads/{branch}", sha)
            return MergeResult(True, sha, "merged", tail(verify.output, 5))
