"""`gastown resume` after a `kill -9` of `gastown run`: the unfinished goal is continued to its end from the
terminal (exit 0), the work made before the crash kept; a second resume has nothing to do."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

from tests.cli.conftest import gastown, git, popen, verify_command, write_scenario
from tests.scenario_kit import mayor_rule, propose, say, task
from tests.support import wait_until

SCENARIO = {"rules": [
    mayor_rule(propose("Crash goal", [task("a", "Crash a", ["a1.txt", "a2.txt"])]), say("Planned.")),
    {"name": "polecat", "match": r"Title: Crash a\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/a1.txt", "file_text": "one\n"}}]},
        {"delay": 4, "tool_calls": [{"name": "bash", "arguments": {"command": "echo two > a2.txt",
                                                                   "description": "second file"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "a1 and a2"}}]},
        {"text": "Done."},
    ]},
]}


def live_run(db: Path) -> tuple[str, str] | None:
    """(worktree, session id) of the live run once its first file is written."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT worktree, session_id FROM runs WHERE live = 1").fetchone()
    except sqlite3.Error:
        return None
    return row if row and row[0] and row[1] and Path(row[0], "a1.txt").exists() else None


def test_resume_after_kill_9_finishes_the_goal(repo: Path, cli_env: dict[str, str], tmp_path: Path):
    scenario = write_scenario(tmp_path / "crash.json", SCENARIO)
    flags = ("--scenario", str(scenario), "--verify-command", verify_command())
    run = popen("run", "Crash me", *flags, cwd=repo, env=cli_env)
    try:
        def mid_run():
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            return live_run(repo / ".gastown" / "town.db")

        wait_until(mid_run, timeout=120, interval=0.1, what="the polecat is mid-run")
        os.kill(run.pid, signal.SIGKILL)  # the crash
        run.wait(10)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
        else:  # whatever the town started (the CLI) dies with it; make sure of it before going on
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if run.stdout:
            run.stdout.close()

    resumed = gastown("resume", *flags, cwd=repo, env=cli_env, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Resuming " in resumed.stdout and "done: 1/1 beads closed" in resumed.stdout, resumed.stdout
    assert git(repo, "show", "gastown/integration:a1.txt") == "one\n"
    assert git(repo, "show", "gastown/integration:a2.txt") == "two\n"
    beads = json.loads(gastown("bead", "list", "--json", cwd=repo, env=cli_env, timeout=60).stdout)
    assert all(b["status"] == "closed" for b in beads), [(b["id"], b["status"]) for b in beads]

    again = gastown("resume", "--json", *flags, cwd=repo, env=cli_env, timeout=120)
    assert again.returncode == 0 and json.loads(again.stdout) == []
