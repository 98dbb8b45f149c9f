"""A running `gastown run` seen from other terminals: `gastown feed --once/--json` shows its polecat waiting
for the Overseer with its question, `gastown answer` reaches the running town, the same session goes on and
the bead closes with the question and the answer in its comments. Also: `nudge` without a running town is
refused, `bead retry` with no town running is recorded for the next one."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.cli.conftest import gastown, git, popen, verify_command, write_scenario
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task
from tests.support import wait_until

QUESTION = "Should sub() accept floats or only ints?"
ANSWER = "Accept both ints and floats."
SUB = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'


def ask(question: str) -> dict:
    return {"tool_calls": [{"name": "ask_overseer", "arguments": {"question": question}}]}


SCENARIO = {"rules": [
    mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
    polecat_rule("Add subtract", [ask(QUESTION), say("I asked the Overseer."), create("calc/sub.py", SUB),
                                  done("sub added"), say()]),
]}


def test_feed_shows_the_waiting_polecat_and_answer_lets_it_finish(repo: Path, cli_env: dict[str, str], tmp_path):
    scenario = write_scenario(tmp_path / "ask.json", SCENARIO)
    flags = ("--scenario", str(scenario), "--verify-command", verify_command())
    run = popen("run", "Add a subtract function", *flags, cwd=repo, env=cli_env)
    try:
        def waiting() -> dict | None:
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            out = gastown("feed", "--json", cwd=repo, env=cli_env, timeout=60)
            assert out.returncode == 0, out.stderr
            snap = json.loads(out.stdout)
            return snap if any(a["state"] == "needs-input" for a in snap["agents"]) else None

        snap = wait_until(waiting, timeout=120, interval=0.5, what="the polecat waits for the Overseer")
        agent = next(a for a in snap["agents"] if a["state"] == "needs-input")
        bead_id = agent["bead_id"]
        assert agent["detail"] == QUESTION and agent["agent"].startswith("polecat")
        assert snap["needs_you"] == [{"bead_id": bead_id, "title": "Add subtract", "why": "needs-input",
                                      "text": QUESTION}]
        assert snap["beads_by_status"].get("in_progress") == 1

        once = gastown("feed", "--once", cwd=repo, env=cli_env, timeout=60)
        assert once.returncode == 0, once.stderr
        assert bead_id in once.stdout and "needs-input" in once.stdout and QUESTION[:40] in once.stdout
        assert "Needs you (1)" in once.stdout and "Agents (1)" in once.stdout

        answered = gastown("answer", bead_id, ANSWER, "--json", cwd=repo, env=cli_env, timeout=60)
        assert answered.returncode == 0, answered.stderr
        reply = json.loads(answered.stdout)
        assert reply["ok"] and reply["delivered"] and reply["bead_id"] == bead_id

        assert run.wait(timeout=240) == 0
        output = run.stdout.read() if run.stdout else ""
        assert "done: 1/1 beads closed" in output, output
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
        if run.stdout:
            run.stdout.close()
    assert git(repo, "show", "gastown/integration:calc/sub.py") == SUB
    bead = json.loads(gastown("bead", "show", bead_id, "--json", cwd=repo, env=cli_env, timeout=60).stdout)
    texts = [c["text"] for c in bead["comments"]]
    assert bead["status"] == "closed"
    assert f"Question for the Overseer: {QUESTION}" in texts and f"Answer: {ANSWER}" in texts
    # The same session went on: one run for the bead, never restarted.
    runs = json.loads(gastown("status", "--all", "--json", cwd=repo, env=cli_env, timeout=60).stdout)["runs"]
    mine = [r for r in runs if r["bead_id"] == bead_id]
    assert len(mine) == 1 and mine[0]["exit_reason"] == "done" and mine[0]["restarts"] == 0

    # No town runs now: the feed shows nothing waiting; a nudge is refused (exit 1, says why); a retry
    # is recorded for the next town.
    after = json.loads(gastown("feed", "--json", cwd=repo, env=cli_env, timeout=60).stdout)
    assert after["needs_you"] == [] and not any(a["state"] == "needs-input" for a in after["agents"])
    nudged = gastown("nudge", bead_id, "hello", cwd=repo, env=cli_env, timeout=60)
    assert nudged.returncode == 1 and "no town is running" in nudged.stderr
    retried = gastown("bead", "retry", bead_id, "--note", "once more, with floats", cwd=repo, env=cli_env,
                      timeout=60)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith("Recorded for the next town")
    missing = gastown("answer", "gt-nope", "x", cwd=repo, env=cli_env, timeout=60)
    assert missing.returncode == 1 and "gt-nope" in missing.stderr and "Traceback" not in missing.stderr
