"""`gastown demo`: a throwaway sample repository and one scripted goal, end to end, offline."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from gastown.config import Settings, TelemetrySettings
from gastown.town.bus import Bus, Event, Progress
from gastown.town.town import Town
from gastown.vcs import git

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.json"
DEMO_GOAL = "Add multiply and divide to the calculator, with tests and docs"

SAMPLE_FILES = {
    "README.md": "# calc\n\nA tiny calculator, the Gas Town demo project.\n",
    "calc/__init__.py": '"""A tiny calculator."""\n\n\ndef add(a, b):\n    return a + b\n',
    "tests/__init__.py": "",
    "tests/test_add.py": (
        "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n"
    ),
    ".gitignore": ".gastown/\n__pycache__/\n",
}

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Overseer", "GIT_AUTHOR_EMAIL": "overseer@example.com",
                "GIT_COMMITTER_NAME": "Overseer", "GIT_COMMITTER_EMAIL": "overseer@example.com"}


def make_sample_repo(path: Path) -> Path:
    """A small Python project with passing tests, committed on `main`."""
    path.mkdir(parents=True, exist_ok=True)
    for rel, text in SAMPLE_FILES.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "calc: add()"]):
        git(args, path, env=GIT_IDENTITY)
    return path


def demo_settings(workdir: Path, telemetry: TelemetrySettings | None = None) -> Settings:
    return Settings(
        telemetry=telemetry or TelemetrySettings(),
        scenario=str(DEMO_SCENARIO),
        worktree_root=str(workdir / "worktrees"),
        verify_command=f"{sys.executable} -m unittest discover -q",
        max_polecats=4,
        turnTimeout=60,  # the three unit-suffixed fields are populated by their editor key
    )


async def run_demo(workdir: Path, emit_json: bool, out: TextIO = sys.stdout, kept: bool = True,
                   telemetry: TelemetrySettings | None = None) -> dict[str, Any]:
    repo = make_sample_repo(workdir / "calc")
    bus = Bus()
    started = time.monotonic()

    def show(event: Event) -> None:
        if isinstance(event, Progress):
            print(f"[{time.monotonic() - started:5.1f}s] {event.message}", file=out, flush=True)

    bus.subscribe(show)
    async with Town(repo, demo_settings(workdir, telemetry), bus) as town:
        _, epic, tasks, task = await town.submit_goal(DEMO_GOAL)
        report = await task
        log = town.worktrees.repo.text("log", "--oneline", town.worktrees.integration)
    result: dict[str, Any] = {"beads": report.beads, "closed": report.closed, "merged": report.merged,
              "tests_passed": report.tests_passed}
    print("", file=out)
    print(f"Goal: {DEMO_GOAL}", file=out)
    print(f"Epic {epic.id}: {report.closed}/{report.beads} beads closed, {report.merged} branches merged into "
          f"gastown/integration, tests {'passed' if report.tests_passed else 'FAILED'} "
          f"in {time.monotonic() - started:.1f}s.", file=out)
    where = str(repo) if kept else f"{repo} (removed on exit; --keep keeps it)"
    print(f"Repository: {where}\nIntegration branch:\n  " + log.replace("\n", "\n  "), file=out)
    if emit_json:
        print(json.dumps(result), file=out)
    return result


def _telemetry() -> TelemetrySettings:
    """The demo's only configurable part: telemetry, from the user file and the environment (e.g.
    GASTOWN_TELEMETRY__EXPORTER=file), so its trace can be looked at."""
    from gastown.config_sources import load_settings

    return load_settings(None).settings.telemetry


def main(keep: bool, emit_json: bool, workdir: str | None = None) -> int:
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gastown-demo-"))
    try:
        result = asyncio.run(run_demo(root, emit_json, kept=keep or bool(workdir), telemetry=_telemetry()))
    finally:
        if not keep and not workdir:
            shutil.rmtree(root, ignore_errors=True)
    ok = result["closed"] == result["beads"] and result["tests_passed"]
    return 0 if ok else 1
