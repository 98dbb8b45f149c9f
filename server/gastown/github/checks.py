"""A pull request's checks (check runs and commit statuses) as one verdict, and a failing check attributed to
the bead that touched the files it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gastown.github.client import Annotation, CheckRun, CombinedStatus
from gastown.vcs import git_text

FAILED = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"})
PASSED = frozenset({"success", "neutral", "skipped"})
EXCERPT_LINES = 40

State = Literal["pending", "success", "failure", "none"]


@dataclass
class Failure:
    name: str
    excerpt: str
    url: str | None = None
    paths: list[str] = field(default_factory=list)  # files the check names (annotations, its log)
    check_run_id: int | None = None


@dataclass
class Checks:
    state: State
    passed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    def line(self) -> str:
        """One line for the editor and the terminal: "3 passed", "1 failed (lint), 2 passed", …"""
        if self.state == "none":
            return "no checks yet"
        parts = []
        if self.failed:
            parts.append(f"{len(self.failed)} failed ({', '.join(f.name for f in self.failed)})")
        if self.pending:
            parts.append(f"{len(self.pending)} pending")
        if self.passed:
            parts.append(f"{len(self.passed)} passed")
        return ", ".join(parts)


def _tail(text: str, lines: int = EXCERPT_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def summarise(runs: list[CheckRun], status: CombinedStatus | None) -> Checks:
    """Check runs + commit statuses → success (all passed), failure (any failed), pending, or none (no check at
    all yet). A check re-run on GitHub appears twice: the newest run of a name counts."""
    latest: dict[str, CheckRun] = {}
    for run in sorted(runs, key=lambda r: r.id):
        latest[run.name] = run
    out = Checks(state="none")
    for run in latest.values():
        if run.status != "completed":
            out.pending.append(run.name)
        elif run.conclusion in PASSED:
            out.passed.append(run.name)
        else:
            text = "\n".join(t for t in (run.output.title, run.output.summary, run.output.text) if t)
            out.failed.append(Failure(run.name, _tail(text) or f"conclusion: {run.conclusion}",
                                      run.html_url or run.details_url, check_run_id=run.id))
    for st in (status.statuses if status else []):
        if st.state == "pending":
            out.pending.append(st.context)
        elif st.state == "success":
            out.passed.append(st.context)
        else:
            out.failed.append(Failure(st.context, st.description or st.state, st.target_url))
    if out.failed:
        out.state = "failure"
    elif out.pending:
        out.state = "pending"
    elif out.passed:
        out.state = "success"
    return out


def add_annotations(failure: Failure, annotations: list[Annotation]) -> None:
    lines = []
    for a in annotations:
        if a.path not in failure.paths:
            failure.paths.append(a.path)
        lines.append(f"{a.path}:{a.start_line}: {a.title + ': ' if a.title else ''}{a.message or ''}".rstrip())
    if lines:
        failure.excerpt = (failure.excerpt + "\n" if failure.excerpt else "") + "\n".join(lines[:EXCERPT_LINES])


def file_owners(workdir: Path, base: str, head: str, beads: set[str] | None = None) -> dict[str, str]:
    """path → the bead whose commit last touched it between ``base`` and ``head`` (the ``Bead:`` trailer polecats
    write); only ``beads`` when given."""
    out = git_text(["log", "--reverse", "--no-renames", "--format=%x00%(trailers:key=Bead,valueonly)",
                    "--name-only", f"{base}..{head}"], workdir)
    owners: dict[str, str] = {}
    for chunk in out.split("\x00")[1:]:
        lines = [line.strip() for line in chunk.splitlines()]
        bead = lines[0] if lines else ""
        if not bead or (beads is not None and bead not in beads):
            continue
        for path in lines[1:]:
            if path:
                owners[path] = bead
    return owners


def attribute(failure: Failure, owners: dict[str, str]) -> dict[str, list[str]]:
    """bead → the files of the failure it owns: from the paths the check named, else the owned paths its log
    mentions. Empty: the failure cannot be attributed (it goes to the Overseer)."""
    paths = list(failure.paths)
    if not paths:
        paths = [p for p in owners if p in failure.excerpt or Path(p).name in failure.excerpt.split()]
    found: dict[str, list[str]] = {}
    for path in paths:
        bead = owners.get(path)
        if bead is not None:
            found.setdefault(bead, []).append(path)
    return found
