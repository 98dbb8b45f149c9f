"""`gastown demo`: a throwaway sample repository and one scripted goal, end to end, offline."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gastown.config import Settings
from gastown.town.bus import Bus, Progress
from gastown.town.town import Town

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
    env = {**os.environ, **GIT_IDENTITY}
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "commit", "-q", "-m", "calc: add()"]):
        subprocess.run(cmd, cwd=path, env=env, check=True, capture_output=True)
    return path


def demo_settings(workdir: Path) -> Settings:
    return Settings(
        scenario=str(DEMO_SCENARIO),
        worktree_root=str(workdir / "worktrees"),
        verify_command=f"{sys.executable} -m unittest discover -q",
        max_polecats=4,
        turn_timeout_s=60,
    )


async def run_demo(workdir: Path, emit_json: bool, out=sys.stdout, kept: bool = True) -> dict:
    repo = make_sample_repo(workdir / "calc")
    bus = Bus()
    started = time.monotonic()

    def show(event) -> None:
        if isinstance(event, Progress):
            print(f"[{time.monotonic() - started:5.1f}s] {event.message}", file=out, flush=True)

    bus.subscribe(show)
    async with Town(repo, demo_settings(workdir), bus) as town:
        _, epic, tasks, task = await town.submit_goal(DEMO_GOAL)
        report = await task
        log = town.worktrees.git.log("--oneline", town.worktrees.integration)
    result = {"beads": report.beads, "closed": report.closed, "merged": report.merged,
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


def main(keep: bool, emit_json: bool, workdir: str | None = None) -> int:
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gastown-demo-"))
    try:
        result = asyncio.run(run_demo(root, emit_json, kept=keep or bool(workdir)))
    finally:
        if not keep and not workdir:
            shutil.rmtree(root, ignore_errors=True)
    ok = result["closed"] == result["beads"] and result["tests_passed"]
    return 0 if ok else 1
