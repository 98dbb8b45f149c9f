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

from gastown.runtime.cli_path import CLI_INSTALL, LOGIN_HELP, PINNED_CLI_VERSION, TOKEN_VARS
from gastown.vcs import GitError, git, git_text

MIN_GIT = (2, 30)


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    fix: str = ""
    level: Literal["error", "warning"] = "error"  # a warning does not fail the run

    @property
    def mark(self) -> str:
        return "✔" if self.ok else "✘" if self.level == "error" else "!"


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
    import subprocess

    from gastown.runtime.cli_path import CliMissing, resolve_cli_path

    try:
        path = resolve_cli_path(cli_path)
    except CliMissing as exc:
        return Check(name="copilot-cli", ok=False, detail=str(exc).split(": install")[0].split(". Install")[0],
                     fix=f"{CLI_INSTALL}, or set cliPath (editor: gastown.cliPath; terminal: --cli-path or "
                         "GASTOWN_CLI_PATH) to the copilot executable")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name="copilot-cli", ok=False, detail=f"{path} does not run: {exc}", fix=CLI_INSTALL)
    version = next((w.rstrip(".") for w in out.split() if w[:1].isdigit()), "")
    if not version:
        return Check(name="copilot-cli", ok=False, detail=f"{path} printed no version", fix=CLI_INSTALL)
    if version != PINNED_CLI_VERSION:
        return Check(name="copilot-cli", ok=False, level="warning",
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
    for var in TOKEN_VARS:
        if os.environ.get(var):
            return Check(name="model", ok=True, detail=f"GitHub Copilot with the token in ${var}")
    login_fix = LOGIN_HELP
    if not cli_ok or probe_login is None:
        return Check(name="model", ok=False, detail="cannot check the Copilot login without the CLI", fix=login_fix)
    ok, detail = probe_login()
    return Check(name="model", ok=ok, detail=detail, fix="" if ok else login_fix)


def check_sandbox(mode: str) -> Check:
    from gastown.runtime import sandbox

    if mode == "off":
        return Check(name="sandbox", ok=False, level="warning",
                     detail="polecats.sandbox is off: polecats' shell commands can write anywhere you can",
                     fix="set polecats.sandbox = \"auto\" (or \"required\")")
    level: Literal["error", "warning"] = "error" if mode == "required" else "warning"
    bwrap = sandbox.find_bwrap()
    if bwrap is None:
        return Check(name="sandbox", ok=False, level=level,
                     detail=f"bubblewrap (bwrap) not found: polecats' shell commands would run unconfined "
                            f"(polecats.sandbox = {mode})", fix=sandbox.INSTALL_HINT)
    probe = sandbox.probe(bwrap)
    if not probe.works:
        return Check(name="sandbox", ok=False, level=level,
                     detail=f"bubblewrap ({bwrap}) does not work here: {probe.reason}",
                     fix="allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on "
                         "Ubuntu: the apparmor_restrict_unprivileged_userns setting), or set polecats.sandbox")
    if not probe.nested:
        return Check(name="sandbox", ok=False, level="warning",
                     detail=f"bubblewrap ({bwrap}) confines the polecats together, not each to its own "
                            f"checkout: {probe.reason}",
                     fix="allow nested user namespaces (see `gastown doctor` docs in README)")
    return Check(name="sandbox", ok=True, detail=f"bubblewrap ({bwrap}) confines each polecat's shell commands")


def check_worktree_root(workspace: Path, configured: str | None) -> Check:
    from gastown.town.checkouts import default_worktree_root

    root = (Path(configured).expanduser() if configured else default_worktree_root(workspace)).resolve()
    if root == workspace.resolve() or workspace.resolve() in root.parents:
        return Check(name="checkouts", ok=False, detail=f"worktreeRoot {root} is inside the workspace",
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
    from gastown.config import state_dir

    db = state_dir(workspace) / "beads.db"
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
        return Check(name="ledger", ok=False, detail=f"{db}: {exc}",
                     fix=f"cd {workspace} && gastown bead rebuild (rebuilds it from .beads/issues.jsonl; the "
                         "damaged file is kept aside)")
    if result != "ok":
        return Check(name="ledger", ok=False, detail=f"{db}: {result}",
                     fix=f"cd {workspace} && gastown bead rebuild")
    return Check(name="ledger", ok=True, detail=f"{count} beads in {db}, integrity ok")


def run_checks(workspace: Path, settings: object,
               probe_login: Callable[[], tuple[bool, str]] | None = None) -> DoctorReport:
    """Every check, in order. ``probe_login`` asks the Copilot CLI for its login (None: not asked)."""
    checks = [check_python(), check_git(), repo := check_repository(workspace)]
    cli = check_cli(settings.cli_path)  # type: ignore[attr-defined]
    checks += [cli, check_model_access(settings, cli.ok or cli.level == "warning", probe_login),
               check_sandbox(settings.polecats.sandbox),  # type: ignore[attr-defined]
               check_worktree_root(workspace, settings.worktree_root)]  # type: ignore[attr-defined]
    if repo.ok:
        checks.append(check_ledger(workspace))
    github = getattr(settings, "github", None)
    if repo.ok and github is not None and github.landing != "local":
        checks.append(check_github(workspace, github))
    return DoctorReport(ok=all(c.ok or c.level == "warning" for c in checks), checks=checks)


def check_github(workspace: Path, github: object) -> Check:
    """github.landing pr / pr-per-bead: the remote is a GitHub repository and a token is there (not used: no
    request is made; the token is never shown, only where it comes from)."""
    from gastown.errors import GastownError
    from gastown.github.auth import resolve_token
    from gastown.github.remote import locate

    try:
        where = locate(workspace, github)  # type: ignore[arg-type]
        token = resolve_token(where.host)
    except GastownError as exc:
        return Check(name="github", ok=False, detail=str(exc), fix="see github.* in `gastown config show`")
    return Check(name="github", ok=True, detail=f"{where.full_name} on {where.api_url} (landing "
                 f"{github.landing}); token from {token.source}")  # type: ignore[attr-defined]


def login_prober(cli_path: str | None) -> Callable[[], tuple[bool, str]]:
    """Ask the CLI itself whether a GitHub login is there (starts it once, in a private event loop)."""

    def probe() -> tuple[bool, str]:
        from gastown.runtime.cli_path import resolve_cli_path
        from gastown.runtime.copilot_adapter import auth_status

        return asyncio.run(auth_status(resolve_cli_path(cli_path)))

    return probe


def render(report: DoctorReport) -> str:
    lines = []
    for c in report.checks:
        lines.append(f"{c.mark} {c.name:<12} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"  {'':<12} fix: {c.fix}")
    failed = [c.name for c in report.checks if not c.ok and c.level == "error"]
    lines.append("All checks passed." if report.ok and len(failed) == 0 else f"{len(failed)} check(s) failed: "
                 + ", ".join(failed))
    return "\n".join(lines)
