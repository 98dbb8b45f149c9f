"""Landing goals through pull requests, end to end: the real town (Copilot CLI + scripted model, real git), a
real bare remote, the loopback GitHub. A goal opens one pull request (head, base, body from the ledger); running
again updates it; nothing is forced over someone else's commits; a failing check becomes rework on the bead
that touched the file, the fix is pushed, the checks pass and the pull request merges (autoLand); a review
comment on a line becomes rework on the bead that wrote it."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from pydantic_core import to_json

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


def two_beads(mul: str = MUL, rework: list[dict] | None = None, *, mul_then: list[dict] | None = None,
              div_then: list[dict] | None = None) -> dict:
    """``rework``: rules for a fresh session told to rework; ``*_then``: the steps a resumed session plays next."""
    return {"rules": [
        mayor_rule(propose("Mul and div", [task("mul", "Add mul", ["calc/mul.py"], criteria="mul(2, 3) == 6"),
                                           task("div", "Add div", ["calc/div.py"], criteria="div(6, 3) == 2")]),
                   say()),
        *(rework or []),
        polecat_rule("Add mul", [create("calc/mul.py", mul), done("mul"), say(), *(mul_then or [])]),
        polecat_rule("Add div", [create("calc/div.py", DIV), done("div"), say(), *(div_then or [])]),
    ]}


@pytest.fixture(autouse=True)
def bus_events():
    """Every event the towns of a test publish; afterwards none of them carries the token."""
    events: list = []
    yield events
    assert events and not [e for e in events if TOKEN in to_json(e).decode()]  # (models and dataclasses)


async def open_town(make_town, remote_repo, hub: FakeGitHub, scenario: dict, bus_events: list | None = None,
                    **github: object) -> Town:
    repo, _ = remote_repo
    town = await make_town(scenario, repo=repo, **pr_settings(hub, **github))
    if bus_events is not None:
        town.bus.subscribe(bus_events.append)
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


async def test_a_goal_opens_one_pull_request_and_running_again_updates_it(make_town, remote_repo, hub, bus_events):
    hub.checks = always()
    town = await open_town(make_town, remote_repo, hub, bus_events=bus_events, scenario=two_beads())
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


def lint_on_bad_lines(hub: FakeGitHub):
    """CI: `lint` fails (annotating calc/mul.py) while mul.py has the BAD line; `tests` always passes; a commit
    status `ci/coverage` passes."""
    def checks(sha: str):
        bad = "BAD" in (remote_file(hub, sha, "calc/mul.py") or "")
        lint = {"id": 10 if bad else 11, "name": "lint", "status": "completed",
                "conclusion": "failure" if bad else "success",
                "output": {"title": "1 error", "summary": "ruff found 1 error", "text": "E501 at mul.py"},
                "annotations": [{"path": "calc/mul.py", "line": 5, "message": "E501 line too long"}] if bad else []}
        runs = [{"id": 3, "name": "tests", "status": "completed", "conclusion": "success"}, lint]
        return runs, [{"context": "ci/coverage", "state": "success", "description": "92%"}]
    return checks


async def test_a_failing_check_is_rework_on_the_bead_that_touched_the_file_then_the_pull_request_merges(
        make_town, remote_repo, hub, bus_events):
    hub.checks = lint_on_bad_lines(hub)
    steps = [write("calc/mul.py", MUL), done("lint fixed"), say()]
    fix = polecat_rule("Add mul", steps, also="A CI check failed")
    town = await open_town(make_town, remote_repo, hub, bus_events=bus_events,
                           scenario=two_beads(MUL_BAD, [fix], mul_then=steps), autoLand=True)
    epic, tasks, report = await run_goal(town, "Mul and div")
    assert report.ok
    mul, div = sorted(tasks, key=lambda b: b.title, reverse=True)  # "Add mul", "Add div"
    assert mul.title == "Add mul"

    # The failure goes back to the bead that touched calc/mul.py, with the check's name and log; it is fixed,
    # pushed to the same pull request, the checks pass, and autoLand merges it with an allowed method.
    merged = await eventually(lambda: _epic_with_state(town, epic.id, "merged"), 120, what="the pull request merged")
    assert list(hub.pulls) == [1] and hub.pulls[1].merged_sha and hub.pulls[1].merge_method == "merge"
    assert remote_file(hub, "main", "calc/mul.py") == MUL and remote_file(hub, "main", "calc/div.py") == DIV
    assert merged.metadata["github"]["checks"] == "success"
    assert town.store is not None
    mul_notes = [c.text for c in (await town.store.get(mul.id)).comments or []]
    failed = [n for n in mul_notes if "CI check 'lint' failed" in n]
    assert failed and "calc/mul.py:5: E501 line too long" in failed[0]
    assert not [c for c in (await town.store.get(div.id)).comments or [] if "CI check" in c.text]
    assert "A CI check failed on the pull request" in json_requests(town)  # the polecat was told
    assert (await town.store.get(mul.id)).status == Status.CLOSED
    # Checks were only looked at, never hammered: a few looks per push (poll interval 0.05 s, sleeps between).
    assert hub.calls("PUT", r"/repos/acme/calc/pulls/1/merge")[0].body["sha"] == hub.ref(hub.pulls[1].head)


async def test_a_review_comment_on_a_line_is_rework_on_the_bead_that_wrote_it(make_town, remote_repo, hub, bus_events):
    hub.checks = always()
    steps = [write("calc/div.py", DIV_FIXED), done("div guards b == 0"), say()]
    fix = polecat_rule("Add div", steps, also="A reviewer commented")
    town = await open_town(make_town, remote_repo, hub, bus_events=bus_events,
                           scenario=two_beads(MUL, [fix], div_then=steps))
    epic, tasks, report = await run_goal(town, "Mul and div")
    assert report.ok
    div = next(b for b in tasks if b.title == "Add div")
    mul = next(b for b in tasks if b.title == "Add mul")
    await eventually(lambda: _epic_with_checks(town, epic.id, "success"), 20, what="checks passed")
    first_head = hub.ref(hub.pulls[1].head)

    hub.add_review_comment(1, "calc/div.py", 5, "What if b is 0?")

    # The line was written by the div bead: it goes back to its polecat, the fix is pushed to the same pull request.
    await eventually(lambda: remote_file(hub, hub.pulls[1].head, "calc/div.py") == DIV_FIXED, 120,
                     what="the fix pushed to the pull request")
    assert hub.ref(hub.pulls[1].head) != first_head and list(hub.pulls) == [1]
    assert town.store is not None
    notes = [c.text for c in (await town.store.get(div.id)).comments or []]
    assert any("Review comment by reviewer on calc/div.py:5" in n and "What if b is 0?" in n for n in notes)
    assert not [c for c in (await town.store.get(mul.id)).comments or [] if "Review comment" in c.text]
    assert "What if b is 0?" in json_requests(town)


def json_requests(town: Town) -> str:
    import json

    assert town.model_server is not None
    return json.dumps(town.model_server.requests)


async def _epic_with_state(town: Town, epic_id: str, state: str):
    assert town.store is not None
    epic = await town.store.get(epic_id)
    return epic if ((epic.metadata or {}).get("github") or {}).get("state") == state else None


async def test_pr_per_bead_stacks_pull_requests_in_dependency_order_and_merges_them_bottom_up(
        make_town, remote_repo, hub, bus_events):
    hub.checks = always()
    scenario = {"rules": [
        mayor_rule(propose("Mul then div", [task("mul", "Add mul", ["calc/mul.py"]),
                                            task("div", "Add div", ["calc/div.py"], deps=["mul"])]), say()),
        polecat_rule("Add mul", [create("calc/mul.py", MUL), done("mul"), say()]),
        polecat_rule("Add div", [create("calc/div.py", DIV), done("div"), say()]),
    ]}
    town = await open_town(make_town, remote_repo, hub, bus_events=bus_events, scenario=scenario,
                           landing="pr-per-bead", autoLand=True)
    epic, tasks, report = await run_goal(town, "Mul then div")
    assert report.ok
    mul = next(b for b in tasks if b.title == "Add mul")
    div = next(b for b in tasks if b.title == "Add div")

    # One pull request per bead: div's is stacked on mul's (it shows only div's commit).
    first, second = hub.pulls[1], hub.pulls[2]
    assert (first.head, first.base) == (f"gastown/pr/bead/{mul.id}", "main")
    assert second.head == f"gastown/pr/bead/{div.id}"
    assert hub.calls("POST", r"/repos/acme/calc/pulls")[1].body["base"] == first.head
    assert f"{div.id} — Add div" in second.body and f"{mul.id} — Add mul" not in second.body

    # Checks pass: merged bottom-up, the second retargeted to main once the first merged.
    await eventually(lambda: hub.pulls[2].merged_sha is not None, 30, what="both pull requests merged")
    assert hub.pulls[1].merged_sha and second.base == "main"
    assert remote_file(hub, "main", "calc/mul.py") == MUL and remote_file(hub, "main", "calc/div.py") == DIV
    merges = [r.path for r in hub.calls("PUT", r"/repos/acme/calc/pulls/\d+/merge")]
    assert merges == ["/repos/acme/calc/pulls/1/merge", "/repos/acme/calc/pulls/2/merge"]
