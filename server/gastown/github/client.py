"""The REST subset the Refinery uses, over githubkit: it carries the token, the base URL (GitHub Enterprise),
timeouts and the rate-limit handling (403/429 with ``Retry-After`` or ``x-ratelimit-reset``: one wait, then the
request again; never a busy retry). The responses are read into our own small models (the fields used here),
so a change elsewhere in GitHub's schema does not matter to us and the types stay checkable."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal, TypeVar

from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from githubkit.retry import RETRY_SERVER_ERROR
from githubkit.typing import RetryOption
from pydantic import BaseModel, ConfigDict

from gastown.errors import GastownError
from gastown.github.auth import GitHubAuthError, Token, redact
from gastown.github.remote import GitHubError, Where

log = logging.getLogger(__name__)

USER_AGENT = "gastown"
TIMEOUT = 30.0
PAGE = 100
MAX_PAGES = 10
M = TypeVar("M", bound=BaseModel)


class GitHubRateLimited(GitHubError):
    """The host asked us to wait longer than ``github.maxRetryAfter`` (or kept refusing after one wait)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- the fields we read ---------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Repository(_Model):
    full_name: str
    html_url: str
    default_branch: str
    allow_merge_commit: bool = True
    allow_squash_merge: bool = True
    allow_rebase_merge: bool = True


class Ref(_Model):
    ref: str
    sha: str


class User(_Model):
    login: str


class PullRequest(_Model):
    number: int
    html_url: str
    state: Literal["open", "closed"]
    title: str
    body: str | None = None
    head: Ref
    base: Ref
    draft: bool = False
    merged: bool = False  # only in a single pull request's answer
    merged_at: str | None = None


class MergeResult(_Model):
    sha: str
    merged: bool
    message: str


class CheckOutput(_Model):
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations_count: int = 0


class CheckRun(_Model):
    id: int
    name: str
    status: str  # queued | in_progress | completed (| waiting | requested | pending)
    conclusion: str | None = None
    html_url: str | None = None
    details_url: str | None = None
    output: CheckOutput = CheckOutput()


class CheckRuns(_Model):
    total_count: int
    check_runs: list[CheckRun]


class Annotation(_Model):
    path: str
    start_line: int
    end_line: int
    annotation_level: str | None = None
    title: str | None = None
    message: str | None = None


class CommitStatus(_Model):
    context: str
    state: str  # error | failure | pending | success
    description: str | None = None
    target_url: str | None = None


class CombinedStatus(_Model):
    state: str
    sha: str
    total_count: int
    statuses: list[CommitStatus]


class ReviewComment(_Model):
    id: int
    path: str
    body: str
    commit_id: str
    original_commit_id: str
    line: int | None = None
    original_line: int | None = None
    side: str | None = None
    in_reply_to_id: int | None = None
    user: User | None = None
    html_url: str


class _Retry:
    """Rate limits: wait what the host says (Retry-After / x-ratelimit-reset) up to ``cap`` seconds, at most
    ``times``; a longer wait fails at once with a clear error. Server errors: githubkit's few backed-off retries."""

    def __init__(self, cap: float, times: int = 2) -> None:
        self.cap = cap
        self.times = times

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if isinstance(exc, RateLimitExceeded):
            wait = exc.retry_after.total_seconds()
            if retry_count < self.times and wait <= self.cap:
                log.info("GitHub rate limit: waiting %.0fs as asked (Retry-After)", wait)
                return RetryOption(True, timedelta(seconds=max(wait, 0.0)))
            return RetryOption(False)
        return RETRY_SERVER_ERROR(exc, retry_count)


class GitHubClient:
    """One repository on one host, with one token."""

    def __init__(self, where: Where, token: Token, *, max_retry_after: float = 300, timeout: float = TIMEOUT) -> None:
        self.where = where
        self._token = token
        self._gh = GitHub(TokenAuthStrategy(token.value), base_url=where.api_url + "/", user_agent=USER_AGENT,
                          timeout=timeout, http_cache=False, auto_retry=_Retry(max_retry_after))
        self.repo_path = f"/repos/{where.owner}/{where.name}"

    @property
    def token_source(self) -> str:
        return self._token.source

    async def _call(self, method: str, path: str, model: type[M], *, json: Any = None,
                    params: dict[str, Any] | None = None) -> M:
        try:
            resp = await self._gh.arequest(method, path, json=json, params=params, response_model=model)
            return resp.parsed_data
        except GitHubException as exc:
            raise self._explain(method, path, exc) from None

    async def _list(self, path: str, model: type[M], params: dict[str, Any] | None = None) -> list[M]:
        out: list[M] = []
        for page in range(1, MAX_PAGES + 1):
            try:
                resp = await self._gh.arequest("GET", path, params={**(params or {}), "per_page": PAGE,
                                                                     "page": page}, response_model=list[model])  # type: ignore[valid-type]
            except GitHubException as exc:
                raise self._explain("GET", path, exc) from None
            items: list[M] = resp.parsed_data
            out.extend(items)
            if len(items) < PAGE or 'rel="next"' not in resp.raw_response.headers.get("link", ""):
                break
        return out

    def _explain(self, method: str, path: str, exc: GitHubException) -> GastownError:
        where = f"{method} {self.where.api_url}{path}"
        if isinstance(exc, RateLimitExceeded):
            wait = exc.retry_after.total_seconds()
            return GitHubRateLimited(f"GitHub rate limit on {where}: the host asks to wait {wait:.0f}s (more than "
                                     "github.maxRetryAfter, or again after waiting); nothing was changed — try again "
                                     "later", wait)
        if isinstance(exc, RequestFailed):
            status = exc.response.status_code
            try:
                said = str(exc.response.raw_response.json().get("message", ""))
            except Exception:  # noqa: BLE001 - not JSON: the status is enough
                said = ""
            said = redact(said, self._token)[:300]
            if status == 401:
                return GitHubAuthError(f"{self.where.host} refused the GitHub token from {self._token.source} "
                                       f"(401 {said or 'Bad credentials'}); nothing was changed — sign in again "
                                       "(gh auth login), or set GH_TOKEN/GITHUB_TOKEN to a valid token")
            if status in (403, 404):
                return GitHubError(f"{where}: {status} {said} — the token from {self._token.source} may lack access "
                                   f"to {self.where.full_name} (it needs repo / pull request write access)")
            return GitHubError(f"{where}: {status} {said}")
        if isinstance(exc, RequestError):
            return GitHubError(f"{where}: cannot reach the host ({type(exc.exc).__name__}); check github.apiUrl "
                               "and the network")
        return GitHubError(f"{where}: {type(exc).__name__}")

    # --- the calls ---------------------------------------------------------------------------------------
    async def repository(self) -> Repository:
        return await self._call("GET", self.repo_path, Repository)

    async def find_pull(self, head: str, base: str | None = None, state: str = "open") -> PullRequest | None:
        """The pull request from ``head`` (a branch of this repository), if one exists."""
        params: dict[str, Any] = {"head": f"{self.where.owner}:{head}", "state": state}
        if base:
            params["base"] = base
        found = await self._list(f"{self.repo_path}/pulls", PullRequest, params)
        found = [p for p in found if p.head.ref == head]
        return found[0] if found else None

    async def get_pull(self, number: int) -> PullRequest:
        return await self._call("GET", f"{self.repo_path}/pulls/{number}", PullRequest)

    async def create_pull(self, *, head: str, base: str, title: str, body: str, draft: bool = False) -> PullRequest:
        return await self._call("POST", f"{self.repo_path}/pulls", PullRequest,
                                json={"head": head, "base": base, "title": title, "body": body, "draft": draft})

    async def update_pull(self, number: int, **fields: Any) -> PullRequest:
        return await self._call("PATCH", f"{self.repo_path}/pulls/{number}", PullRequest, json=fields)

    async def merge_pull(self, number: int, sha: str, method: str) -> MergeResult:
        """Merge only if the head is still ``sha`` (what the checks passed on)."""
        return await self._call("PUT", f"{self.repo_path}/pulls/{number}/merge", MergeResult,
                                json={"sha": sha, "merge_method": method})

    async def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        await self._call("POST", f"{self.repo_path}/pulls/{number}/requested_reviewers", PullRequest,
                         json={"reviewers": reviewers})

    async def check_runs(self, sha: str) -> list[CheckRun]:
        path = f"{self.repo_path}/commits/{sha}/check-runs"
        runs: list[CheckRun] = []
        for page in range(1, MAX_PAGES + 1):
            got = await self._call("GET", path, CheckRuns, params={"per_page": PAGE, "page": page})
            runs.extend(got.check_runs)
            if len(runs) >= got.total_count or not got.check_runs:
                break
        return runs

    async def annotations(self, check_run_id: int) -> list[Annotation]:
        return await self._list(f"{self.repo_path}/check-runs/{check_run_id}/annotations", Annotation)

    async def combined_status(self, sha: str) -> CombinedStatus:
        return await self._call("GET", f"{self.repo_path}/commits/{sha}/status", CombinedStatus,
                                params={"per_page": PAGE})

    async def review_comments(self, number: int) -> list[ReviewComment]:
        return await self._list(f"{self.repo_path}/pulls/{number}/comments", ReviewComment,
                                {"sort": "created", "direction": "asc"})

    async def close(self) -> None:
        """githubkit opens a client per request outside a context; nothing is kept open."""
