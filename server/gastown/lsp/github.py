"""The editor's side of landing through GitHub: the epics' pull requests (``gastown/pullRequests``, and
``gastown/pullRequestChanged`` as they change) and the editor's token (``gastown/githubToken``: kept in the
town's memory, never logged — the params model hides it from reprs)."""

from __future__ import annotations

from typing import Any

from gastown.errors import GastownError
from gastown.lsp import protocol as P
from gastown.lsp.params import parse
from gastown.lsp.server import GastownServer, server


@server.feature(P.PULL_REQUESTS)
async def pull_requests(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.PullRequestsParams, params)
    town = await ls.require_town()
    note = ""
    try:
        found = await town.pull_requests(refresh=p.refresh)
    except GastownError as exc:  # no token, host unreachable: what the ledger has, and why
        found, note = await town.pull_requests(refresh=False), f"not refreshed: {exc}"
    return P.PullRequestsResult(pull_requests=found, note=note).model_dump(mode="json")


@server.feature(P.GITHUB_TOKEN)
async def github_token(ls: GastownServer, params: Any) -> dict[str, Any]:
    p = parse(P.GitHubTokenParams, params)
    town = await ls.require_town()
    town.set_github_token(p.token)
    return {"ok": True}
