"""The client against the loopback GitHub (no town, no model): rate limits honoured (Retry-After waited, a wait
longer than allowed refused at once, never a busy retry), a bad token a clear error that names no token, the
token's sources, the remote's URL, and the loopback's schema check itself (it rejects a wrong shape)."""

from __future__ import annotations

import asyncio

import pytest

from gastown.github.auth import GitHubAuthError, Token, resolve_token
from gastown.github.client import GitHubClient, GitHubRateLimited
from gastown.github.landing import Hooks, Lander
from gastown.github.remote import Where, parse_remote_url
from gastown.github.settings import GitHubSettings
from tests.github.conftest import TOKEN
from tests.github.fake_github import FakeGitHub, validate


def client(hub: FakeGitHub, token: str = TOKEN, **kw) -> GitHubClient:
    where = Where(host="github.example", owner="acme", name="calc", api_url=hub.api_url)
    return GitHubClient(where, Token(token, "test"), **kw)


@pytest.mark.parametrize("status,headers", [
    (429, {"retry-after": "1"}),
    (403, {"retry-after": "1", "x-ratelimit-remaining": "0"}),
])
async def test_a_rate_limit_is_waited_out_as_the_host_asks(hub, status, headers):
    hub.fail_next = [(status, headers, {"message": "API rate limit exceeded"})]
    repo = await client(hub).repository()
    assert repo.default_branch == "main"
    first, second = hub.requests
    assert (first.status, second.status) == (status, 200)
    assert second.at - first.at >= 1.0  # the one retry came after Retry-After, not at once


async def test_a_wait_longer_than_allowed_fails_at_once_with_a_clear_error(hub):
    hub.fail_next = [(429, {"retry-after": "3600"}, {"message": "API rate limit exceeded"})]
    with pytest.raises(GitHubRateLimited, match="wait 3600s") as caught:
        await client(hub, max_retry_after=60).repository()
    assert caught.value.retry_after == 3600 and len(hub.requests) == 1  # no busy retry


async def test_a_bad_token_is_a_clear_error_naming_its_source_not_the_token(hub):
    with pytest.raises(GitHubAuthError, match=r"refused the GitHub token from test \(401 Bad credentials\)") as caught:
        await client(hub, token="ghp_wrong_token_value").repository()
    assert "ghp_wrong_token_value" not in str(caught.value) and len(hub.requests) == 1


async def test_a_bad_token_loses_nothing_when_landing(plain_town_with_remote, hub):
    town, epic_id = plain_town_with_remote
    town.set_github_token("ghp_wrong_token_value")
    before = hub.ref("main")
    with pytest.raises(GitHubAuthError, match="sign in again"):
        await town.land_pull_request(epic_id)
    assert hub.pulls == {} and hub.ref("main") == before and hub.ref(f"gastown/pr/{epic_id}") is None
    assert town.store is not None and (await town.store.get(epic_id)).status == "closed"
    town.set_github_token(TOKEN)  # signing in again is enough
    assert "#1 opened" in await town.land_pull_request(epic_id)


async def test_following_pending_checks_looks_once_per_interval_then_says_pending_too_long(plain_town_with_remote,
                                                                                        hub):
    town, epic_id = plain_town_with_remote
    town.set_github_token(TOKEN)
    hub.checks = lambda sha: ([{"id": 5, "name": "build", "status": "in_progress"}], [])
    await town.land_pull_request(epic_id)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0.3)  # time passes between looks: the timeout below is reached after a few

    settings = GitHubSettings(landing="pr", api_url=hub.api_url, repository="acme/calc", poll_seconds=7,
                              checks_timeout_s=0.5)
    escalated: list[str] = []

    async def needs_you(bead_id: str, why: str) -> None:
        escalated.append(why)

    async def rework(*args: object) -> None:
        raise AssertionError("nothing to rework")

    lander = Lander(town.workspace, town.worktrees.integration, settings, lambda: town.store,
                    Hooks(rework=rework, needs_you=needs_you), editor_token=lambda: TOKEN, sleep=sleep)
    (status,) = await lander.follow(epic_id)
    assert status.checks == "timeout" and "pending for more than 0.5s: 1 pending" in status.detail
    assert escalated and "checks pending" in escalated[0]
    looks = hub.calls("GET", r"/repos/acme/calc/commits/[0-9a-f]{40}/check-runs")
    assert sleeps and set(sleeps) == {7} and len(looks) == len(sleeps) + 1  # one look per interval, no more


def test_tokens_come_from_the_editor_then_the_environment_else_a_clear_error():
    assert resolve_token("github.com", "ghp_editor", env={"GITHUB_TOKEN": "ghp_env"}).source == "editor"
    token = resolve_token("github.com", None, env={"GITHUB_TOKEN": "ghp_env"}, gh="/nonexistent/gh")
    assert (token.value, token.source) == ("ghp_env", "GITHUB_TOKEN") and "ghp_env" not in repr(token) + str(token)
    assert resolve_token("ghe.example", None, env={"GH_ENTERPRISE_TOKEN": "e"}, gh="/no/gh").source == \
        "GH_ENTERPRISE_TOKEN"
    with pytest.raises(GitHubAuthError, match="gh auth login --hostname ghe.example.*GH_TOKEN or GITHUB_TOKEN"):
        resolve_token("ghe.example", None, env={}, gh="/nonexistent/gh")


def test_remote_urls():
    assert parse_remote_url("git@github.com:acme/calc.git") == ("github.com", "acme/calc")
    assert parse_remote_url("https://ghe.example/acme/calc") == ("ghe.example", "acme/calc")
    assert parse_remote_url("ssh://git@github.com/acme/calc.git") == ("github.com", "acme/calc")
    assert parse_remote_url("file:///tmp/remote.git") is None


def test_the_loopback_rejects_a_body_that_is_not_githubs_shape():
    assert validate("GET /repos/{owner}/{repo}/pulls/{pull_number}", {"number": "one"})  # errors found
    assert validate("GET /repos/{owner}/{repo}/commits/{ref}/status", {"state": "success"})


def test_a_failed_push_never_repeats_credentials_written_into_the_remote_url(tmp_path):
    from gastown.demo import make_sample_repo
    from gastown.github.remote import GitHubError, push
    from tests.github.conftest import git

    repo = make_sample_repo(tmp_path / "calc")
    git(repo, "remote", "add", "origin", f"http://x-access-token:{TOKEN}@127.0.0.1:9/acme/calc.git")
    with pytest.raises(GitHubError) as caught:
        push(repo, "origin", git(repo, "rev-parse", "HEAD"), "gastown/pr/x")
    assert TOKEN not in str(caught.value) and "git push origin gastown/pr/x failed" in str(caught.value)


async def test_a_failure_no_bead_can_own_goes_to_the_overseer_and_a_named_file_to_its_bead(plain_town_with_remote,
                                                                                         hub):
    from gastown.town.bus import Escalation

    town, epic_id = plain_town_with_remote
    town.set_github_token(TOKEN)
    escalations: list[Escalation] = []
    town.bus.subscribe(lambda e: escalations.append(e) if isinstance(e, Escalation) else None)
    hub.checks = lambda sha: ([{"id": 8, "name": "deploy-preview", "status": "completed", "conclusion": "failure",
                                "output": {"title": "quota exceeded", "summary": "the preview host is full"}}],
                              [{"context": "ci/tests", "state": "failure",
                                "description": "FAILED tests/test_calc.py - see calc/mul.py"}])
    await town.land_pull_request(epic_id)
    reworked: list[tuple[str, str]] = []

    async def rework(bead_id: str, why: str, feedback: str, bounded: bool) -> None:
        reworked.append((bead_id, why))

    lander = town.lander()
    lander.hooks.rework = rework
    (status,) = await lander.statuses(epic_id)
    status = await lander.look(status)
    assert status.checks == "failure" and status.detail == "rework sent"
    (bead,) = [b for b in await town.store.list(parent=epic_id)]
    # The commit status names calc/mul.py, which the bead wrote: rework on it; the preview failure names no file.
    assert [b for b, _ in reworked] == [bead.id] and "CI check 'ci/tests' failed on calc/mul.py" in reworked[0][1]
    assert [e.bead_id for e in escalations] == [epic_id] and "deploy-preview" in escalations[0].reason
    epic_notes = [c.text for c in (await town.store.get(epic_id)).comments or []]
    assert any(n.startswith("Needs the Overseer: Pull request #1: check 'deploy-preview' failed") for n in epic_notes)
    # The same failing head is not sent back twice.
    await lander.look(status)
    assert len(reworked) == 1 and len(escalations) == 1


async def test_a_reopened_town_goes_on_following_its_open_pull_requests(plain_town_with_remote, hub):
    from gastown.town.town import Town
    from tests.support import eventually

    town, epic_id = plain_town_with_remote
    town.set_github_token(TOKEN)
    hub.checks = lambda sha: ([{"id": 2, "name": "tests", "status": "queued"}], [])
    await town.land_pull_request(epic_id)
    settings = town.settings.model_copy(update={"github": town.settings.github.model_copy(update={"auto_land": True})})
    workspace = town.workspace
    await town.close()

    hub.checks = lambda sha: ([{"id": 3, "name": "tests", "status": "completed", "conclusion": "success"}], [])
    from gastown.town.bus import Bus, Progress

    bus = Bus()
    lines: list[str] = []
    bus.subscribe(lambda e: lines.append(e.message) if isinstance(e, Progress) else None)
    again = await Town(workspace, settings, bus).open()
    try:
        # It resumes following at once; with no token yet it stops and says why, then the editor's token comes.
        await eventually(lambda: any("follow-up stopped: no GitHub token" in line for line in lines), 10,
                         what="the follow-up waits for a token")
        again.set_github_token(TOKEN)
        await eventually(lambda: hub.pulls[1].merged_sha is not None, 20, what="merged after the restart")
        assert again.store is not None
        epic = await again.store.get(epic_id)
        await eventually(lambda: _merged(again, epic_id), 10, what="the epic records the merge")
        assert epic.external_ref == "https://github.example/acme/calc/pull/1"
    finally:
        await again.close()


async def _merged(town, epic_id: str) -> bool:
    epic = await town.store.get(epic_id)
    return (epic.metadata or {}).get("github", {}).get("state") == "merged"


def test_a_stack_follows_the_last_commit_of_each_bead(tmp_path):
    from gastown.demo import make_sample_repo
    from gastown.github.checks import file_owners
    from gastown.github.landing import _bead_tips
    from tests.github.conftest import git

    repo = make_sample_repo(tmp_path / "calc")
    shas = {}
    for n, (bead, path) in enumerate([("gt-1.1", "a.py"), ("gt-1.2", "b.py"), ("gt-1.1", "a.py")]):
        (repo / path).write_text(f"v{n}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"work {n}\n\nBead: {bead}")
        shas[n] = git(repo, "rev-parse", "HEAD")
    # gt-1.1 was reworked after gt-1.2 merged: it now sits on top of the stack.
    assert _bead_tips(repo, "main~3", "main", "origin", {"gt-1.1", "gt-1.2"}) == [("gt-1.2", shas[1]),
                                                                                 ("gt-1.1", shas[2])]
    assert file_owners(repo, "main~3", "main") == {"a.py": "gt-1.1", "b.py": "gt-1.2"}
