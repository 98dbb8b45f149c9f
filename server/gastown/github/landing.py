"""Landing a goal through pull requests, and following them: push, open or update, follow the checks and the
review comments, merge (``autoLand``). What the follow-up finds goes back through the town's callbacks: rework
for the bead a failure or a comment belongs to, "needs you" for the Overseer otherwise.

The pull request of an epic is remembered in the epic itself: ``external_ref`` = its URL, ``metadata.github`` =
number, branch, state, checks (never a token). Re-running updates the same pull request; pushes are never
forced.

``pr-per-bead``: one pull request per bead, stacked in the Refinery's merge order (which already respects the
dependencies): the first targets the base branch, each next one the branch of the bead merged before it, so
each shows exactly its bead's commits and can be reviewed alone. They merge bottom-up; once one merged, the next
is retargeted to the base branch."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gastown.github import body as bodies
from gastown.github.auth import GitHubAuthError, resolve_token
from gastown.github.checks import Checks, add_annotations, attribute, file_owners, summarise
from gastown.github.client import GitHubClient, PullRequest, Repository
from gastown.github.remote import GitHubError, Where, locate, push
from gastown.github.reviews import new_feedback
from gastown.github.settings import GitHubSettings
from gastown.github.status import PullRequestStatus
from gastown.ledger.model import Bead, Status, now_iso
from gastown.ledger.store import Store
from gastown.vcs import git_text
from gastown.vcs.names import bead_pr_branch, goal_pr_branch

log = logging.getLogger(__name__)

KEY = "github"  # the epic's (and, per bead, the bead's) metadata key
NO_CHECKS_GRACE = 2  # looks with no check at all before "no checks" counts as passed


Rework = Callable[[str, str, str, bool], Awaitable[None]]  # bead, why (comment), feedback (prompt), bounded
NeedsYou = Callable[[str, str], Awaitable[None]]  # bead or epic id, why


@dataclass
class Hooks:
    rework: Rework
    needs_you: NeedsYou
    publish: Callable[[PullRequestStatus], None] = lambda status: None
    progress: Callable[[str, str], None] = lambda epic_id, message: None


@dataclass
class _Conn:
    client: GitHubClient
    repo: Repository
    base: str


@dataclass
class Lander:
    """The town's side of a code host: ``land`` a finished goal, ``follow`` its pull request(s)."""

    workdir: Path
    integration: str
    settings: GitHubSettings
    store: Callable[[], Store | None]
    hooks: Hooks
    editor_token: Callable[[], str | None] = lambda: None
    verify_command: str = ""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _conn: _Conn | None = field(default=None, init=False)

    # --- the connection --------------------------------------------------------------------------------
    async def connect(self) -> _Conn:
        """Locate the repository and read its settings (default branch, merge methods); the token is looked up
        each time a connection is made (a token the editor sends later is picked up)."""
        if self._conn is not None:
            return self._conn
        where: Where = await asyncio.to_thread(locate, self.workdir, self.settings)
        token = await asyncio.to_thread(resolve_token, where.host, self.editor_token())
        client = GitHubClient(where, token, max_retry_after=self.settings.max_retry_after_s)
        repo = await client.repository()
        self._conn = _Conn(client, repo, self.settings.base or repo.default_branch)
        return self._conn

    def forget_connection(self) -> None:
        """After an auth error (or a new token from the editor): the next call connects again."""
        self._conn = None

    def _store(self) -> Store:
        store = self.store()
        if store is None:
            raise GitHubError("the town is not open")
        return store

    # --- landing ---------------------------------------------------------------------------------------
    async def land(self, epic_id: str) -> list[PullRequestStatus]:
        """Push the goal's work and open (or update) its pull request(s). Returns their status."""
        try:
            conn = await self.connect()
        except GitHubAuthError:
            self.forget_connection()
            raise
        if self.settings.landing == "pr-per-bead":
            return await self._land_per_bead(conn, epic_id)
        return [await self._land_goal(conn, epic_id)]

    async def _land_goal(self, conn: _Conn, epic_id: str) -> PullRequestStatus:
        store = self._store()
        epic = await store.get(epic_id)
        beads = [b for b in await store.list(parent=epic_id) if b.issue_type != "epic"]
        head = await asyncio.to_thread(git_text, ["rev-parse", self.integration], self.workdir)
        branch = goal_pr_branch(epic_id)
        await asyncio.to_thread(push, self.workdir, self.settings.remote, head, branch)
        title, text = bodies.pr_title(epic), bodies.pr_body(epic, beads, verify_command=self.verify_command)
        status = await self._open_or_update(conn, epic, branch, conn.base, title, text, head)
        await self._remember(epic, status)
        return status

    async def _land_per_bead(self, conn: _Conn, epic_id: str) -> list[PullRequestStatus]:
        """One pull request per merged bead, stacked in integration order (see the module's doc)."""
        store = self._store()
        epic = await store.get(epic_id)
        beads = {b.id: b for b in await store.list(parent=epic_id) if b.issue_type != "epic"}
        order = await asyncio.to_thread(_bead_tips, self.workdir, conn.base, self.integration, self.settings.remote,
                                        set(beads))
        out: list[PullRequestStatus] = []
        base = conn.base
        for bead_id, sha in order:
            bead = beads[bead_id]
            known = _status_of(bead)
            branch = bead_pr_branch(bead_id)
            if known is not None and known.state == "merged":
                base = conn.base  # below it is merged: the next targets the base branch
                out.append(known)
                continue
            await asyncio.to_thread(push, self.workdir, self.settings.remote, sha, branch)
            text = bodies.pr_body(epic, [bead], verify_command=self.verify_command)
            status = await self._open_or_update(conn, epic, branch, base, f"{bead.title} [{bead.id}]", text, sha,
                                                bead_id=bead_id)
            await self._remember(bead, status)
            out.append(status)
            base = branch
        if out:
            await self._remember(epic, out[-1], note=False)
        return out

    async def _open_or_update(self, conn: _Conn, epic: Bead, branch: str, base: str, title: str, text: str,
                              sha: str, bead_id: str | None = None) -> PullRequestStatus:
        holder = epic if bead_id is None else await self._store().get(bead_id)
        known = _status_of(holder)
        pr: PullRequest | None = None
        if known is not None:
            pr = await conn.client.get_pull(known.number)
            if pr.state != "open" or pr.merged:
                pr = None  # closed or merged: a new round opens a new pull request
        if pr is None:
            pr = await conn.client.find_pull(branch)
        created = pr is None
        if pr is None:
            pr = await conn.client.create_pull(head=branch, base=base, title=title, body=text,
                                               draft=self.settings.draft)
            await self._request_reviews(conn, pr.number)
        else:
            fields: dict[str, Any] = {"title": title, "body": text}
            if pr.base.ref != base:
                fields["base"] = base
            pr = await conn.client.update_pull(pr.number, **fields)
        status = PullRequestStatus(epic_id=epic.id, bead_id=bead_id, number=pr.number, url=pr.html_url,
                                   head=branch, base=pr.base.ref, sha=sha,
                                   seen_comments=known.seen_comments if known and known.number == pr.number else [],
                                   detail="opened" if created else "updated")
        verb = "Opened" if created else "Updated"
        self.hooks.progress(epic.id, f"{verb} pull request #{pr.number} ({branch} → {pr.base.ref}): {pr.html_url}")
        await self._store().add_comment(holder.id, "refinery", f"{verb} pull request #{pr.number} from {branch} at "
                                        f"{sha[:10]}: {pr.html_url}")
        return status

    async def _request_reviews(self, conn: _Conn, number: int) -> None:
        """The configured reviewers, and Copilot where the host accepts it as a reviewer; a refusal is only
        noted (many hosts and plans do not offer it)."""
        wanted = list(self.settings.reviewers)
        if self.settings.copilot_review:
            wanted.append("copilot-pull-request-reviewer[bot]")
        for who in wanted:
            try:
                await conn.client.request_reviewers(number, [who])
            except GitHubError as exc:
                log.info("review request for %s on #%d not taken: %s", who, number, exc)

    async def _remember(self, bead: Bead, status: PullRequestStatus, *, note: bool = True) -> None:
        metadata = dict(bead.metadata or {})
        metadata[KEY] = status.model_dump(mode="json")
        fields: dict[str, Any] = {"metadata": metadata}
        if bead.external_ref != status.url:
            fields["external_ref"] = status.url
        await self._store().update(bead.id, actor="refinery", **fields)
        if note:
            self.hooks.publish(status)

    # --- following -------------------------------------------------------------------------------------
    async def statuses(self, epic_id: str) -> list[PullRequestStatus]:
        """The pull requests of an epic as last recorded (pr-per-bead: one per bead)."""
        store = self._store()
        epic = await store.get(epic_id)
        found = []
        for bead in await store.list(parent=epic_id):
            status = _status_of(bead)
            if status is not None and status.bead_id is not None:
                found.append(status)
        if not found:
            status = _status_of(epic)
            if status is not None:
                found.append(status)
        return found

    async def follow(self, epic_id: str) -> list[PullRequestStatus]:
        """Follow the epic's open pull requests: checks and review comments, one look per ``pollSeconds`` (rate
        limits are waited out inside the client). Ends when they are merged or closed, when rework was sent (the
        goal runs again and lands again), or when checks stay pending longer than ``checksTimeout``."""
        started = time.monotonic()
        empty_looks = 0
        while True:
            statuses = [s for s in await self.statuses(epic_id) if s.state == "open"]
            if not statuses:
                return await self.statuses(epic_id)
            stop = False
            for status in statuses:
                if self.settings.landing == "pr-per-bead" and status.base != (await self.connect()).base:
                    continue  # stacked on one not merged yet: it waits its turn
                result = await self.look(status, elapsed=time.monotonic() - started, empty_looks=empty_looks)
                if result.checks == "none":
                    empty_looks += 1
                if result.detail == "rework sent" or result.checks == "timeout":
                    stop = True
                elif result.state == "merged" and self.settings.landing == "pr-per-bead":
                    await self._retarget_next(epic_id, result)
            if stop:
                return await self.statuses(epic_id)
            await self.sleep(self.settings.poll_seconds)

    async def peek(self, status: PullRequestStatus) -> PullRequestStatus:
        """The pull request's state and checks now, changing nothing (``gastown pr status``)."""
        conn = await self.connect()
        pr = await conn.client.get_pull(status.number)
        status = status.model_copy(update={"updated_at": now_iso(), "sha": pr.head.sha, "base": pr.base.ref})
        if pr.merged or pr.merged_at:
            status.state = "merged"
        elif pr.state == "closed":
            status.state = "closed"
        checks = summarise(await conn.client.check_runs(pr.head.sha), await conn.client.combined_status(pr.head.sha))
        status.checks_line = checks.line()
        if status.checks != "timeout" or checks.state != "pending":
            status.checks = checks.state
        return status

    async def look(self, status: PullRequestStatus, *, elapsed: float = 0.0, empty_looks: int = 0
                   ) -> PullRequestStatus:
        """One look at a pull request: its state, its checks on the head, new review comments. Acts on what it
        finds (rework, needs you, merge) and records the result."""
        conn = await self.connect()
        store = self._store()
        holder = await store.get(status.bead_id or status.epic_id)
        pr = await conn.client.get_pull(status.number)
        status = status.model_copy(update={"updated_at": now_iso(), "sha": pr.head.sha, "base": pr.base.ref})
        if pr.merged or pr.merged_at:
            status.state, status.detail = "merged", "merged"
            await self._remember(holder, status)
            return status
        if pr.state == "closed":
            status.state, status.detail = "closed", "closed without merging"
            await self._remember(holder, status)
            return status
        beads = await self._beads_of(status)
        owners = await asyncio.to_thread(_owners, self.workdir, pr, conn.base, beads)
        # Review comments on lines → the bead that wrote them.
        comments = await conn.client.review_comments(status.number)
        feedback = await asyncio.to_thread(new_feedback, self.workdir, comments, set(status.seen_comments), owners,
                                           beads)
        sent = False
        for item in feedback:
            status.seen_comments.append(item.comment_id)
            if item.bead_id is not None:
                await self.hooks.rework(item.bead_id, f"Pull request #{status.number}: {item.text()}",
                                        f"A reviewer commented on your change in pull request #{status.number}. "
                                        f"Address the comment:\n{item.text()}", False)
                sent = True
            else:
                await self.hooks.needs_you(status.bead_id or status.epic_id,
                                           f"Pull request #{status.number}: {item.text()}")
        checks = summarise(await conn.client.check_runs(pr.head.sha), await conn.client.combined_status(pr.head.sha))
        status.checks_line = checks.line()
        if checks.state == "failure":
            status.checks = "failure"
            if status.reported_sha != pr.head.sha:
                status.reported_sha = pr.head.sha
                await self._send_failures(conn, status, checks, owners)
                sent = True
        elif checks.state == "success" or (checks.state == "none" and empty_looks >= NO_CHECKS_GRACE):
            status.checks = "success"
            if checks.state == "none":
                status.checks_line = "no checks configured"
            if not sent and self.settings.auto_land:
                status = await self._merge(conn, status, pr.head.sha)
            else:
                status.detail = "checks passed"
        else:
            status.checks = checks.state
            if elapsed > self.settings.checks_timeout_s:
                status.checks, status.detail = "timeout", (f"checks pending for more than "
                                                          f"{self.settings.checks_timeout_s:g}s: {checks.line()}")
                await self.hooks.needs_you(status.bead_id or status.epic_id,
                                           f"Pull request #{status.number}: {status.detail}")
        if sent:
            status.detail = "rework sent"
        await self._remember(holder, status)
        self.hooks.progress(status.epic_id, f"Pull request #{status.number}: {status.detail or status.checks_line}")
        return status

    async def _beads_of(self, status: PullRequestStatus) -> set[str]:
        if status.bead_id is not None:
            return {status.bead_id}
        return {b.id for b in await self._store().list(parent=status.epic_id) if b.issue_type != "epic"}

    async def _send_failures(self, conn: _Conn, status: PullRequestStatus, checks: Checks,
                             owners: dict[str, str]) -> None:
        for failure in checks.failed:
            if failure.check_run_id is not None:
                try:
                    add_annotations(failure, await conn.client.annotations(failure.check_run_id))
                except GitHubError as exc:
                    log.info("annotations of %s not read: %s", failure.name, exc)
            found = attribute(failure, owners)
            where = f" ({failure.url})" if failure.url else ""
            if not found:
                await self.hooks.needs_you(status.bead_id or status.epic_id,
                                           f"Pull request #{status.number}: check {failure.name!r} failed and no "
                                           f"bead's files are named in it{where}:\n{failure.excerpt}")
                continue
            for bead_id, paths in found.items():
                await self.hooks.rework(
                    bead_id, f"Pull request #{status.number}: CI check {failure.name!r} failed on "
                    f"{', '.join(paths)}{where}. Log excerpt:\n{failure.excerpt}",
                    f"A CI check failed on the pull request: {failure.name!r}, in files you changed "
                    f"({', '.join(paths)}). Fix it. Log excerpt:\n{failure.excerpt}", True)

    async def _merge(self, conn: _Conn, status: PullRequestStatus, sha: str) -> PullRequestStatus:
        repo = conn.repo
        stacked = self.settings.landing == "pr-per-bead"
        methods = [m for m, ok in (("merge", repo.allow_merge_commit), ("squash", repo.allow_squash_merge),
                                   ("rebase", repo.allow_rebase_merge)) if ok]
        if stacked and "merge" in methods:
            methods = ["merge"]  # a stack keeps its commits: the next pull request then shows only its own
        if not methods:
            status.detail = "checks passed; the repository allows no merge method the API can use"
            return status
        try:
            result = await conn.client.merge_pull(status.number, sha, methods[0])
        except GitHubError as exc:
            status.detail = f"checks passed; not merged: {exc}"
            await self.hooks.needs_you(status.bead_id or status.epic_id, f"Pull request #{status.number}: {exc}")
            return status
        if result.merged:
            status.state, status.detail = "merged", f"checks passed; merged ({methods[0]}) as {result.sha[:10]}"
        else:
            status.detail = f"checks passed; not merged: {result.message}"
        return status

    async def _retarget_next(self, epic_id: str, merged: PullRequestStatus) -> None:
        conn = await self.connect()
        for status in await self.statuses(epic_id):
            if status.state == "open" and status.base == merged.head:
                await conn.client.update_pull(status.number, base=conn.base)
                holder = await self._store().get(status.bead_id or epic_id)
                await self._remember(holder, status.model_copy(update={"base": conn.base}))


def _status_of(bead: Bead) -> PullRequestStatus | None:
    data = (bead.metadata or {}).get(KEY)
    if not isinstance(data, dict):
        return None
    try:
        return PullRequestStatus.model_validate(data)
    except ValueError:
        return None


def _owners(workdir: Path, pr: PullRequest, base: str, beads: set[str]) -> dict[str, str]:
    """Who owns which file of the pull request: from its base commit when we have it, else our base branch."""
    have = bool(git_text(["cat-file", "-t", pr.base.sha], workdir, check=False))
    return file_owners(workdir, pr.base.sha if have else base, pr.head.sha, beads)


def _has_ref(workdir: Path, remote: str, branch: str) -> bool:
    return bool(git_text(["rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}"], workdir,
                         check=False))


def _bead_tips(workdir: Path, base: str, integration: str, remote: str, beads: set[str]) -> list[tuple[str, str]]:
    """(bead, the integration commit its last change ends at), in the order of those commits: a bead reworked
    after others merged moves up the stack (its pull request then shows the commits since the one below)."""
    upstream = f"{remote}/{base}" if _has_ref(workdir, remote, base) else base
    out = git_text(["log", "--reverse", "--first-parent", "--format=%H %(trailers:key=Bead,valueonly,separator=,)",
                    f"{upstream}..{integration}"], workdir)
    tips: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(out.splitlines()):
        sha, _, bead = line.partition(" ")
        bead = bead.strip()
        if bead in beads:
            tips[bead] = (index, sha)
    return [(bead, sha) for bead, (_, sha) in sorted(tips.items(), key=lambda item: item[1][0])]


def epics_with_pull_requests(beads: list[Bead]) -> list[tuple[Bead, PullRequestStatus]]:
    return [(b, s) for b in beads if b.issue_type == "epic" and (s := _status_of(b)) is not None]


def status_of(bead: Bead) -> PullRequestStatus | None:
    return _status_of(bead)


def is_done(bead: Bead) -> bool:
    return bead.status in Status.DONE
