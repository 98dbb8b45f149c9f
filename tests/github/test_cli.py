"""`gastown land --pr` and `gastown pr status [--json]` as a user runs them: a process, the token from the
environment, the loopback GitHub; the token is in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.github.conftest import TOKEN


def gastown(workspace, hub, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--set", "github.landing=pr", "--set", f"github.apiUrl={hub.api_url}",
             "--set", "github.repository=acme/calc", "--set", "github.copilotReview=false"]
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    out = subprocess.run([sys.executable, "-m", "gastown", *args, "--workspace", str(workspace), *flags],
                         capture_output=True, text=True, env=env, timeout=120)
    assert TOKEN not in out.stdout + out.stderr
    return out


async def test_land_pr_then_pr_status(plain_town_with_remote, hub):
    town, epic_id = plain_town_with_remote
    workspace = town.workspace
    await town.close()
    hub.checks = lambda sha: ([{"id": 9, "name": "tests", "status": "completed", "conclusion": "failure",
                                "output": {"title": "1 failed"}}],
                              [{"context": "ci/lint", "state": "success"}])

    landed = gastown(workspace, hub, "land", "--pr")
    assert landed.returncode == 0, landed.stderr
    assert f"Pull request #1 opened (gastown/pr/{epic_id} → main): https://github.example/acme/calc/pull/1" in landed.stdout

    status = gastown(workspace, hub, "pr", "status", "--json")
    assert status.returncode == 0, status.stderr
    (pr,) = json.loads(status.stdout)["pullRequests"]
    assert (pr["epic_id"], pr["number"], pr["state"], pr["checks"]) == (epic_id, 1, "open", "failure")
    assert pr["checks_line"] == "1 failed (tests), 1 passed"

    text = gastown(workspace, hub, "pr", "status")
    assert f"{epic_id}  #1 open  checks FAILED (1 failed (tests), 1 passed)  https://github.example/acme/calc/pull/1" \
        in text.stdout

    hub.token = "rotated"  # the host no longer takes the token: the recorded state, and why
    stale = gastown(workspace, hub, "pr", "status")
    assert stale.returncode == 0 and "as last recorded; not refreshed:" in stale.stdout and "401" in stale.stdout


def test_doctor_checks_the_remote_and_the_token_without_showing_it(remote_repo, hub):
    workspace, _ = remote_repo
    out = gastown(workspace, hub, "doctor", "--json", "--no-login-check")
    (check,) = [c for c in json.loads(out.stdout)["checks"] if c["name"] == "github"]
    assert check["ok"] and check["detail"].endswith("(landing pr); token from GITHUB_TOKEN")
    assert f"acme/calc on {hub.api_url}" in check["detail"]
