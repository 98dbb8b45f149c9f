"""The permission policy: what a polecat's session may write, read and run. Pure, so it is unit-tested."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from gastown.config import PolecatSettings
from gastown.runtime.base import Decision, PermissionAsk

# Commands a polecat may never run: they would leave its worktree, its branch or the machine's state.
DEFAULT_DENY = [
    r"\bgit\s+push\b",
    r"\bgit\s+(checkout|switch)\b",
    r"\bgit\s+branch\s+-[dDmM]\b",
    r"\bgit\s+(reset\s+--hard|clean\s+-[a-z]*f)",
    r"\bsudo\b",
    r"\b(apt|apt-get|dnf|yum|brew|pip|pip3|npm|pnpm|yarn)\s+(install|add|i)\b",
    r"\b(curl|wget|nc|ncat|ssh|scp|rsync)\b",
]

# A polecat changes the ledger only through its tools (report_done on its own bead, bead_comment,
# bead_create): from the shell it could close any bead, a human step the Overseer must close among them.
LEDGER_WRITE = re.compile(
    r"\b(?:gastown\s+bead|bd)\s+(?:close|update|reopen|claim|delete|label|dep|import|create)\b"
    r"|\bsqlite3\b[^|;&]*beads\.db\b")
LEDGER_REFUSAL = ("a polecat may not change the ledger from the shell (only through its tools: report_done, "
                  "report_blocked, bead_comment, bead_create); human steps are closed only by the Overseer")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


@dataclass
class WorktreePolicy:
    """Writes only inside ``worktree``; reads inside it or the workspace; shell checked against rules."""

    worktree: Path
    readable: list[Path] = field(default_factory=list)
    deny_commands: list[str] = field(default_factory=lambda: list(DEFAULT_DENY))
    allow_commands: list[str] = field(default_factory=list)  # if non-empty, a command must match one
    allow_urls: bool = False

    def _resolve(self, raw: str) -> Path:
        p = Path(os.path.expanduser(raw))
        if not p.is_absolute():
            p = self.worktree / p
        return Path(os.path.realpath(p))

    def decide(self, ask: PermissionAsk) -> Decision:
        root = Path(os.path.realpath(self.worktree))
        if ask.kind == "write":
            for raw in ask.paths:
                resolved = self._resolve(raw)
                if not _inside(resolved, root):
                    return Decision(False, f"write outside the polecat's worktree: {raw}")
                if ".git" in resolved.relative_to(root).parts:
                    # The town runs git here unconfined: hooks or config written there would run with it.
                    return Decision(False, f"write into the worktree's git data: {raw}")
            return Decision(True, "write inside the worktree")
        if ask.kind == "read":
            roots = [root, *(Path(os.path.realpath(r)) for r in self.readable)]
            for raw in ask.paths:
                if not any(_inside(self._resolve(raw), r) for r in roots):
                    return Decision(False, f"read outside the workspace: {raw}")
            return Decision(True, "read inside the workspace")
        if ask.kind == "shell":
            command = ask.command or ""
            if LEDGER_WRITE.search(command):
                return Decision(False, f"{LEDGER_REFUSAL}: {command}")
            for rule in self.deny_commands:
                if re.search(rule, command):
                    return Decision(False, f"command denied by rule /{rule}/: {command}")
            if self.allow_commands and not any(re.search(r, command) for r in self.allow_commands):
                return Decision(False, f"command not in the allow list: {command}")
            for raw in ask.paths:
                if _is_deletion(command) and not _inside(self._resolve(raw), root):
                    return Decision(False, f"deletes outside the worktree: {raw}")
            return Decision(True, "command allowed")
        if ask.kind == "url":
            return Decision(self.allow_urls, "network access " + ("allowed" if self.allow_urls else "denied"))
        if ask.kind == "custom-tool":
            return Decision(True, "gastown tool")
        return Decision(False, f"{ask.kind} requests are not allowed for polecats")


def _is_deletion(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return any(w in ("rm", "rmdir", "unlink", "shred") for w in words)


@dataclass
class ReadOnlyPolicy:
    """The Mayor plans; it never writes or runs anything."""

    readable: list[Path] = field(default_factory=list)

    def decide(self, ask: PermissionAsk) -> Decision:
        if ask.kind == "custom-tool":
            return Decision(True, "gastown tool")
        if ask.kind == "read":
            roots = [Path(os.path.realpath(r)) for r in self.readable]
            if all(any(_inside(Path(os.path.realpath(p)), r) for r in roots) for p in ask.paths):
                return Decision(True, "read inside the workspace")
        return Decision(False, f"the Mayor may not perform {ask.kind} requests")


def polecat_policy(worktree: Path, workspace: Path | None = None, settings: PolecatSettings | None = None
                   ) -> WorktreePolicy:
    """The configured policy for one polecat: its worktree writable; the worktree, the workspace and the
    configured folders readable; the built-in command denials plus the configured ones."""
    settings = settings or PolecatSettings()
    readable = [worktree, *([workspace] if workspace else []), *(Path(p) for p in settings.readable_paths)]
    return WorktreePolicy(
        worktree,
        readable=readable,
        deny_commands=[*DEFAULT_DENY, *settings.deny_commands],
        allow_commands=list(settings.allow_commands),
        allow_urls=settings.allow_urls,
    )
