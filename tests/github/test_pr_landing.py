"""Landing goals through pull requests, end to end: the real town (Copilot CLI + scripted model, real git), a
real bare remote, the loopback GitHub. A goal opens one pull request (head, base, body from the ledger); running
again updates it; nothing is forced over someone else's commits; a failing check becomes rework on the bead
that touched the file, the fix is pushed, the checks pass and the pull request merges (autoLand); a review
comment on a line becomes rework on the bead that wrote it."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from gastown.github.remote import PushRejected
from gastown.ledger.model import Status
from gastown.town.town import Town
from gastown.vcs.names import goal_pr_branch
from tests.github.conftest import TOKEN, git, pr_settings
from tests.github.fake_github import FakeGitHub
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task, write
from tests.support import eventually

MUL = '"""mul."""\n\n\ndef mul(a, b):\n    return a * b\n'
MUL_BAD = '"""mul."""\n\n\ndef mul(a, b):\n    return a * b  # BAD: lint fails here\n'
DIV = '"""div."""\n\n\ndef div(a, b):\n    return a / b\n'
DIV_FIXED = '"""div."""\n\n\ndef div(a, b):\n    if b == 0:\n        raise ZeroDivisionError("b is 0")\n    return a / b\n'


def two_beads(mul: str = MUL, rework: list[dict] | None = None) -> dict:
    return {"rules": [
        mayor_rule(propose("Mul and div", [task("mul", "Add mul", ["calc/mul.py"], criteria="mul(2, 3) == 6"),
                                           task("div", "Add div", ["calc/div.py"], criteria="div(6, 3) == 2")]),
                   say()),
        *(rework or []),
        polecat_rule("Add mul", [create("calc/mul.py", mul), done("mul"), say()]),
        polecat_rule("Add div", [create("calc/div.py", DIV), done("div"), say()]),
    ]}


async def open_town(make_town, remote_repo, hub: FakeGitHub, scenario: dict, **github: object) -> Town:
    repo, _ = remote_repo
    town = await make_town(scenario, repo=repo, **pr_settings(hub, **github))
    town.set_github_token(TOKEN)  # as the editor hands over its SecretStorage token
    return town


async def run_goal(town: Town, goal: str):
    _, epic, tasks, job = await town.submit_goal(goal)
    report = await asyncio.wait_for(job, 180)
    return epic, tasks, report


def remote_file(hub: FakeGitHub, ref: str, path: str) -> str | None:
    out = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=hub.remote, capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else None


def always(state: str = "success"):
    def checks(sha: str):
        return ([{"id": 1, "name": "tests", "status": "completed", "conclusion": state}], [])
    return checks


async def test_a_goal_opens_one_pull_request_and_running_again_updates_it(make_town, remote_repo, hub):
    hub.checks = always()
    town = await open_town(make_town, remote_repo, hub, two_beads())
    epic, tasks, report = await run_goal(town, "Mul and div")
    assert report.ok

    assert list(hub.pulls) == [1]
    pull = hub.pulls[1]
    assert (pull.head, pull.base) == (goal_pr_branch(epic.id), "main")
    assert hub.ref(pull.head) == git(town.workspace, "rev-parse", town.worktrees.integration)
    assert remote_file(hub, pull.head, "calc/mul.py") == MUL and remote_file(hub, pull.head, "calc/div.py") == DIV
    for bead in tasks:  # the body comes from the ledger: each bead, its criteria, its verification
        assert f"{bead.id} — {bead.title}" in pull.body and bead.acceptance_criteria in pull.body
    assert "verified and merged" in pull.body and f"gastown:epic={epic.id}" in pull.body
    assert f"[{epic.id}]" in pull.title
    assert pull.reviewers == []  # Copilot review asked for, refused by this host: only noted
    assert hub.calls("POST", r"/repos/acme/calc/pulls/1/requested_reviewers")

    # The epic links to the pull request; the checks are followed to "passed" (autoLand is off: not merged).
    epic_now = await eventually(lambda: _epic_with_checks(town, epic.id, "success"), 20, what="checks passed")
    assert epic_now.external_ref == "https://github.example/acme/calc/pull/1"
    assert epic_now.metadata["github"]["detail"] == "checks passed" and pull.merged_sha is None

    # Running again updates the same pull request (no second one).
    posts = len(hub.calls("POST", r"/repos/acme/calc/pulls"))
    out = await town.land_pull_request(epic.id)
    assert "#1 updated" in out and list(hub.pulls) == [1]
    assert len(hub.calls("POST", r"/repos/acme/calc/pulls")) == posts and hub.calls("PATCH", r"/repos/acme/calc/pulls/1")

    # Someone else pushed to the branch: nothing is forced over their commit.
    theirs = _push_foreign_commit(hub, pull.head)
    with pytest.raises(PushRejected, match="nothing was pushed and nothing was forced"):
        await town.land_pull_request(epic.id)
    assert hub.ref(pull.head) == theirs


async def _epic_with_checks(town: Town, epic_id: str, checks: str):
    assert town.store is not None
    epic = await town.store.get(epic_id)
    data = (epic.metadata or {}).get("github") or {}
    return epic if data.get("checks") == checks else None


def _push_foreign_commit(hub: FakeGitHub, branch: str) -> str:
    head = hub.ref(branch)
    tree = git(hub.remote, "rev-parse", f"{head}^{{tree}}")
    sha = git(hub.remote, "commit-tree", tree, "-p", head, "-m", "a colleague's commit")
    git(hub.remote, "update-ref", f"refs/heads/{branch}", sha)
    return sha
