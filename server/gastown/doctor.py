"""`gastown doctor`: is this machine and this repository ready for a town? Each check says ✔ or ✘ and,
when ✘, the exact fix. Checks are plain functions returning a :class:`Check`; the CLI prints them."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from gastown.vcs.run import git_text

PINNED_CLI_VERSION = "1.0.102"
CLI_INSTALL = f"npm install -g @github/copilot@{PINNED_CLI_VERSION}"
MIN_GIT = (2, 30)


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    fix: str = ""
    level: Literal["error", "warning"] = "error"  # a warning does not fail the run


class DoctorReport(BaseModel):
    ok: bool
    checks: list[Check]


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check(name="python", ok=ok, detail=f"Python {v.major}.{v.minor}.{v.micro} at {sys.executable}",
                 fix="" if ok else "install Python 3.11 or newer and point gastown.server.pythonPath at it")


def check_git() -> Check:
    if not shutil.which("git"):
        return Check(name="git", ok=False, detail="git is not on PATH", fix="install git (e.g. apt-get install git)")
    out = git_text(["--version"])
    try:
        parts = tuple(int(p) for p in out.split()[2].split(".")[:2])
    except (IndexError, ValueError):
        parts = (0, 0)
    ok = parts >= MIN_GIT
    return Check(name="git", ok=ok, detail=out,
                 fix="" if ok else f"install git {MIN_GIT[0]}.{MIN_GIT[1]} or newer")


def check_repository(workspace: Path) -> Check:
    from gastown.vcs.run import GitError, git

    try:
        top = git_text(["rev-parse", "--show-toplevel"], workspace)
    except (GitError, OSError):
        return Check(name="repository", ok=False, detail=f"{workspace} is not a git repository",
                     fix=f"cd {workspace} && git init && git add -A && git commit -m 'first commit'")
    if git(["rev-parse", "--verify", "-q", "HEAD"], workspace, check=False).returncode != 0:
        return Check(name="repository", ok=False, detail=f"{top} has no commits yet",
                     fix="commit once (git add -A && git commit -m 'first commit'): polecats branch from it")
    return Check(name="repository", ok=True, detail=f"git repository at {top}")


def check_cli(cli_path: str | None) -> Check:
    from gastown.runtime.base import AgentRuntimeError
    from gastown.runtime.cli_path import resolve_cli_path

    try:
        path = resolve_cli_path(cli_path)
    except AgentRuntimeError as exc:
        return Check(name="copilot-cli", ok=False, detail=str(exc).split(":")[0],
                     fix=f"{CLI_INSTALL}, or set gastown.cliPath (GASTOWN_CLI_PATH) to the copilot executable")
    try:
        import subprocess

        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name="copilot-cli", ok=False, detail=f"{path} does not run: {exc}", fix=CLI_INSTALL)
    version = next((w.rstrip(".") for w in out.split() if w[:1].isdigit()), "")
    if not version:
        return Check(name="copilot-cli", ok=False, detail=f"{path} printed no version", fix=CLI_INSTALL)
    if version != PINNED_CLI_VERSION:
        return Check(name="copilot-cli", ok=True, level="warning",
                     detail=f"Copilot CLI {version} at {path}; tested with {PINNED_CLI_VERSION}",
                     fix=f"{CLI_INSTALL} (the version this release was tested with)")
    return Check(name="copilot-cli", ok=True, detail=f"Copilot CLI {version} at {path}")


def check_model_access(settings: object, cli_ok: bool, probe_login: Callable[[], tuple[bool, str]] | None) -> Check:
    """BYOK: the provider is complete. Copilot: the CLI says the user is logged in (or a token is set)."""
    provider = settings.provider  # type: ignore[attr-defined]
    if provider.type != "copilot":
        try:
            provider.sdk_provider()
        except ValueError as exc:
            return Check(name="model", ok=False, detail=str(exc),
                         fix="complete the provider settings (see `gastown config show`)")
        return Check(name="model", ok=True,
                     detail=f"BYOK {provider.type} at {provider.base_url}, model {provider.model}")
    for var in ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"):
        if os.environ.get(var):
            return Check(name="model", ok=True, detail=f"GitHub Copilot with the token in ${var}")
    login_fix = ("run `copilot` once and type /login (or `gh auth login`), set COPILOT_GITHUB_TOKEN, or use "
                 "your own model: provider.type = openai|azure|anthropic with provider.baseUrl")
    if not cli_ok or probe_login is None:
        return Check(name="model", ok=False, detail="cannot check the Copilot login without the CLI", fix=login_fix)
    ok, detail = probe_login()
    return Check(name="model", ok=ok, detail=detail, fix="" if ok else login_fix)


def check_sandbox(mode: str) -> Check:
    from gastown.runtime import sandbox

    if mode == "off":
        return Check(name="sandbox", ok=True, level="warning",
                     detail="polecats.sandbox is off: polecats' shell commands can write anywhere you can",
                     fix="set polecats.sandbox = auto")
    probe = sandbox.probe()
    if probe.ok:
        return Check(name="sandbox", ok=True, detail=f"bubblewrap confines polecats ({probe.detail})")
    return Check(name="sandbox", ok=False, level="error" if mode == "required" else "warning",
                 detail=probe.detail, fix=sandbox.INSTALL_HINT)


def check_worktree_root(workspace: Path, configured: str | None) -> Check:
    from gastown.town.worktree_root import resolve_worktree_root

    try:
        root = resolve_worktree_root(workspace, configured)
    except ValueError as exc:
        return Check(name="checkouts", ok=False, detail=str(exc),
                     fix="set worktreeRoot to a folder outside the workspace")
    probe = root
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return Check(name="checkouts", ok=False, detail=f"{probe} is not writable (checkouts go to {root})",
                     fix="set worktreeRoot to a writable folder outside the workspace")
    free_gb = shutil.disk_usage(probe).free / 1e9
    if free_gb < 1:
        return Check(name="checkouts", ok=False, detail=f"only {free_gb:.1f} GB free under {root}",
                     fix="free disk space or set worktreeRoot elsewhere")
    return Check(name="checkouts", ok=True, detail=f"polecat checkouts under {root} ({free_gb:.0f} GB free)")


def check_ledger(workspace: Path) -> Check:
    db = workspace / ".gastown" / "beads.db"
    if not db.exists():
        return Check(name="ledger", ok=True, detail="no ledger yet (created on first use)")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM issues").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return Check(name="ledger", ok=False, detail=f"{db}: {exc}", fix="gastown bead rebuild")
    if result != "ok":
        return Check(name="ledger", ok=False, detail=f"{db}: {result}", fix="gastown bead rebuild")
    return Check(name="ledger", ok=True, detail=f"{count} beads in {db}, integrity ok")


def run_checks(workspace: Path, settings: object,
               probe_login: Callable[[], tuple[bool, str]] | None = None) -> DoctorReport:
    checks = [check_python(), check_git(), check_repository(workspace)]
    cli = check_cli(settings.cli_path)  # type: ignore[attr-defined]
    checks += [cli, check_model_access(settings, cli.ok, probe_login),
               check_sandbox(settings.polecats.sandbox),  # type: ignore[attr-defined]
               check_worktree_root(workspace, settings.worktree_root),  # type: ignore[attr-defined]
               check_ledger(workspace)]
    return DoctorReport(ok=all(c.ok or c.level == "warning" for c in checks), checks=checks)


def login_prober(cli_path: str | None) -> Callable[[], tuple[bool, str]]:
    """Ask the CLI itself whether a GitHub login is there (starts it once, ≈2 s)."""

    def probe() -> tuple[bool, str]:
        from gastown.runtime.cli_path import resolve_cli_path
        from gastown.runtime.copilot_adapter import auth_status

        return asyncio.run(auth_status(resolve_cli_path(cli_path)))

    return probe
