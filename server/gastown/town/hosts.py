"""Runtime hosts, the town's side: where each polecat runs.

A :class:`Placement` is what a polecat runs with: an :class:`AgentRuntime` and its :class:`Checkouts`. The
local one is this machine's CLI and worktree pool; a host's is a Copilot CLI on that host (the SDK connects to
it with ``RuntimeConnection.for_uri`` and the CLI's token the host hands out after authentication) and
:class:`HostCheckouts`, which asks the host for checkouts over its JSON-RPC link. Either way the polecat's
custom tools and permission decisions run here, in the town (the SDK calls back over its connection).

Work travels through git: before a host run the town pushes the integration head (and the bead's branch, when
it has one) to ``hosts.remote``; the host pushes the branch after every commit and the town fetches it home at
once (the Refinery fetches again before it rebases). :class:`HostPool` places polecats on free slots, asks
every host's health, and reports a host that stops answering (``on_lost``: its polecats are requeued like
crashed ones) and one that comes back (its stale checkouts cleaned once their work is merged or archived).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gastown.config import HostEntry, HostsSettings
from gastown.host.link import HostLink, split_address
from gastown.host.wire import (
    Acquired,
    CheckoutInfo,
    Cleaned,
    Health,
    HostError,
    HostUnreachable,
    Pushed,
    Unauthorized,
)
from gastown.runtime.base import AgentRuntime
from gastown.town.checkouts import Checkouts, Lease, Worktrees
from gastown.town.seats import Seats
from gastown.vcs import GitError, git
from gastown.vcs.names import POLECAT_BRANCH_PREFIX, bead_of_branch, polecat_branch

log = logging.getLogger(__name__)

LOCAL = "local"
T = TypeVar("T")


@dataclass
class Placement:
    """Where one polecat runs: ``host`` None = this machine."""

    name: str
    runtime: AgentRuntime
    checkouts: Checkouts
    seats: Seats | None = None
    host: HostConn | None = None

    @property
    def lost(self) -> bool:
        return self.host is not None and not self.host.up


@dataclass
class HostConn:
    """One configured host: its link and runtime while it is up, its placed beads, its state."""

    entry: HostEntry
    link: HostLink | None = None
    runtime: AgentRuntime | None = None
    up: bool = False
    name: str = ""
    beads: set[str] = field(default_factory=set)
    why: str = "not connected yet"
    root: str = ""
    seats: Seats | None = None  # sessions started ahead on its idle checkouts (one set per connection)

    @property
    def slots(self) -> int:
        return self.entry.slots


class HostCheckouts:
    """:class:`Checkouts` on a host. Blocking methods (polecats call them from their git thread pool): each
    host call is sent on the town's event loop and waited for here."""

    def __init__(self, pool: HostPool, conn: HostConn, link: HostLink) -> None:
        self._pool = pool
        self._conn = conn
        self._link = link
        self.home = pool.worktrees
        self.workdir = self.home.workdir
        self.integration = self.home.integration

    def _call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        return self._pool.run(self._link.call(method, params, timeout=timeout))

    def reserve(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease:
        """Push what the host needs (the integration head, the bead's branch) and have it choose and lock a
        checkout; ``reused`` = its folder exists, so the polecat's session starts there while
        :meth:`prepare` checks it out (as for a local slot)."""
        head, tip = self._pool.publish(branch)
        # The checkouts where a session is waiting come first: the polecat then takes it (see Seats).
        seated = [p.name for p in self._conn.seats.ready()] if self._conn.seats is not None else []
        got = Acquired.model_validate(self._call("host/reserve", {"branch": branch, "base": base or head,
                                                                  "tip": tip, "onto_base": onto_base,
                                                                  "prefer": seated}, timeout=600))
        return Lease(got.lease, Path(got.path), branch, got.base, reused=got.reused, continued=got.continued)

    def prepare(self, lease: Lease) -> None:
        got = Acquired.model_validate(self._call("host/prepare", {"lease": lease.name}, timeout=600))
        lease.continued, lease.carried, lease.conflicts = got.continued, got.carried, got.conflicts
        lease.acquire_ms = got.acquire_ms

    def commit(self, lease: Lease, message: str, author: str) -> str | None:
        pushed = Pushed.model_validate(self._call("host/commit", {"lease": lease.name, "message": message,
                                                                  "author": author}, timeout=600))
        self._pool.fetch_home(lease.branch, pushed.tip)
        return pushed.sha

    def release(self, lease: Lease, *, park: bool) -> str | None:
        """The host commits what is left, pushes and frees the slot (never parked: the next run of the bead
        may be placed anywhere)."""
        pushed = Pushed.model_validate(self._call("host/release", {"lease": lease.name}, timeout=600))
        self._pool.fetch_home(lease.branch, pushed.tip)
        return pushed.sha

    def changed_so_far(self, lease: Lease) -> list[str]:
        return list(self._call("host/changed", {"lease": lease.name}))

    def branch_tip(self, branch: str) -> str | None:
        return self.home.branch_tip(branch)

    def unmerged_count(self, tip: str, into: str | None = None) -> int:
        return self.home.unmerged_count(tip, into)

    def changed_files(self, base: str, head: str) -> list[str]:
        return self.home.changed_files(base, head)


class HostPool:
    """The configured hosts (see the module's docstring). ``make_runtime(uri, cli_token)`` builds the runtime
    for a host's CLI; ``local`` is this machine's placement (``local_slots`` of them at once)."""

    def __init__(self, settings: HostsSettings, worktrees: Worktrees, *, local: Callable[[], Placement],
                 local_slots: int, make_runtime: Callable[[str, str], AgentRuntime],
                 on_lost: Callable[[str, str, set[str]], Awaitable[None]] | None = None,
                 on_back: Callable[[str], None] | None = None,
                 on_archived: Callable[[str, str, str], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.worktrees = worktrees
        self.remote = settings.remote
        self._local = local
        self.local_slots = local_slots
        self._make_runtime = make_runtime
        self.on_lost = on_lost
        self.on_back = on_back
        self.on_archived = on_archived  # (host, branch, archive ref): a came-back host's unpushed work
        self.hosts = [HostConn(entry, name=entry.name or entry.address) for entry in settings.pool]
        self.placed: dict[str, Placement] = {}  # bead id -> where its polecat runs
        self.on_hosts: set[str] = set()  # beads whose last run was on a host: their branch is on the remote
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._push_lock = threading.Lock()
        self._published: str | None = None  # the integration head last pushed to the remote
        self._remote_tips: dict[str, str] = {}  # polecat branch -> its tip on the remote, as last pushed or fetched
        self._handling: set[asyncio.Future[Any]] = set()  # lost hosts' polecats being stopped
        self.history: list[tuple[str, str]] = []  # (host, "up"/"lost"/"refused"): what happened, in order

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.gather(*(self._connect(h) for h in self.hosts))
        self._task = asyncio.ensure_future(self._watch())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)
        for host in self.hosts:
            await self._drop(host, stop=True)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the town's loop from a worker thread and wait for it."""
        assert self._loop is not None, "the host pool is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # --- connecting, health ------------------------------------------------------------------------
    async def _connect(self, host: HostConn) -> bool:
        try:
            token = host.entry.token()
        except ValueError as exc:
            host.why = str(exc)
            return False
        link = HostLink(host.entry.address, token, timeout=self.settings.timeout_seconds)
        try:
            hello = await link.connect()
        except Unauthorized as exc:
            host.why = str(exc)
            self._note(host, "refused")
            log.warning("%s", exc)
            return False
        except HostError as exc:
            host.why = str(exc)
            return False
        address, _ = split_address(host.entry.address)
        host.link, host.up, host.why = link, True, ""
        host.name = host.entry.name or hello.name
        host.root = hello.root
        runtime = host.runtime = self._make_runtime(f"{address}:{hello.cli_port}", hello.cli_token)
        host.seats = Seats(lambda: runtime)
        self._note(host, "up")
        log.info("runtime host %s is up (%s, %d slots)", host.name, host.entry.address, host.slots)
        await self.reconcile(host)
        if self.on_back is not None:
            self.on_back(host.name)
        return True

    def _note(self, host: HostConn, what: str) -> None:
        self.history.append((host.name, what))

    async def _watch(self) -> None:
        """Health of every host, every ``probe_seconds``; a closed link is noticed at once."""
        while True:
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(h.link.closed.wait())
                                                 for h in self.hosts if h.up and h.link]
            waits.append(asyncio.ensure_future(asyncio.sleep(self.settings.probe_seconds)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            for host in self.hosts:
                if host.up:
                    await self._probe(host)
                elif host.why.startswith("host") and "unauthorized" in host.why:
                    continue  # a wrong token does not get better by retrying
                else:
                    await self._connect(host)

    async def _probe(self, host: HostConn) -> None:
        assert host.link is not None
        why = ""
        if not host.link.alive:
            why = host.link.why_closed or "the connection closed"
        else:
            try:
                health = Health.model_validate(await host.link.call("host/health",
                                                                    timeout=self.settings.timeout_seconds))
                if not health.ok:
                    why = f"unhealthy: {health.detail}"
            except HostError as exc:
                why = str(exc)
        if why:
            await self.lose(host, why)

    async def lose(self, host: HostConn, why: str) -> None:
        """The host stopped answering: every polecat placed there is handed to ``on_lost``."""
        if not host.up:
            return
        host.up, host.why = False, why
        self._note(host, "lost")
        log.warning("runtime host %s is lost: %s", host.name, why)
        beads = set(host.beads)
        await self._drop(host, stop=False)
        if self.on_lost is not None:
            # Its polecats are stopped in the background: the other hosts' health is still asked meanwhile.
            task = asyncio.ensure_future(self.on_lost(host.name, why, beads))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    async def _drop(self, host: HostConn, *, stop: bool) -> None:
        runtime, host.runtime = host.runtime, None
        link, host.link = host.link, None
        seats, host.seats = host.seats, None
        host.up = False
        if seats is not None:
            # Stopping: the waiting sessions are closed before their CLI goes; lost: they went with it.
            if stop:
                await seats.close()
            else:
                seats.abandon()
        if runtime is not None:
            with contextlib.suppress(Exception):
                abandon = getattr(runtime, "abandon", None)
                if stop or abandon is None:
                    await asyncio.wait_for(runtime.stop(), 15)
                else:
                    await abandon()
        if link is not None:
            await link.close()

    async def reconcile(self, host: HostConn) -> list[str]:
        """A host (back) up: its checkouts still holding a polecat branch whose work is merged into the
        integration branch (or archived) are cleaned; any other is kept. Returns the cleaned ones."""
        assert host.link is not None
        try:
            infos = [CheckoutInfo.model_validate(c) for c in await host.link.call("host/checkouts")]
        except HostError as exc:
            log.warning("cannot list %s's checkouts: %s", host.name, exc)
            return []
        stale = [i for i in infos if bead_of_branch(i.branch) and i.state != "in-use"
                 and bead_of_branch(i.branch) not in self.placed]
        done = await asyncio.to_thread(self._settled, stale)
        if not done:
            return []
        try:
            cleaned = Cleaned.model_validate(await host.link.call("host/clean", {"names": done}, timeout=600))
        except HostError as exc:
            log.warning("cannot clean %s's checkouts: %s", host.name, exc)
            return []
        if cleaned.removed:
            log.info("cleaned %s on %s: their base is merged or archived", ", ".join(cleaned.removed), host.name)
        for branch, ref in cleaned.archived.items():
            # Work that had been only on the host: now on the remote, and here.
            await asyncio.to_thread(self._fetch_ref, ref)
            if self.on_archived is not None:
                await self.on_archived(host.name, branch, ref)
        return cleaned.removed

    def _fetch_ref(self, ref: str) -> None:
        git(["fetch", "-q", "--no-tags", "--no-write-fetch-head", self.remote, f"+{ref}:{ref}"],
            self.worktrees.workdir, check=False, timeout=600)

    def _settled(self, infos: list[CheckoutInfo]) -> list[str]:
        """Checkouts whose head is merged into the integration branch or kept under an archive ref here."""
        found = []
        for info in infos:
            if not info.head:
                continue
            known = git(["cat-file", "-e", f"{info.head}^{{commit}}"], self.worktrees.workdir, check=False)
            if known.returncode != 0:
                continue  # its commits never came home: kept on the host
            merged = self.worktrees.repo.ok("merge-base", "--is-ancestor", info.head, self.worktrees.integration)
            if merged or self.worktrees._archived(info.head):
                found.append(info.name)
        return found

    # --- placing -----------------------------------------------------------------------------------
    def up(self) -> list[HostConn]:
        return [h for h in self.hosts if h.up and h.runtime is not None and h.link is not None]

    def capacity(self) -> int:
        return self.local_slots + sum(h.slots for h in self.up())

    def place(self, bead_id: str) -> Placement:
        """The freest place (by share of its slots in use), this machine first on a tie."""
        local_used = sum(1 for p in self.placed.values() if p.host is None)
        best: tuple[float, Placement | None] = (
            local_used / self.local_slots if self.local_slots else 2.0, None)
        for host in self.up():
            if host.slots and len(host.beads) / host.slots < best[0]:
                assert host.runtime is not None and host.link is not None
                best = (len(host.beads) / host.slots,
                        Placement(host.name, host.runtime, HostCheckouts(self, host, host.link), seats=host.seats,
                                  host=host))
        placement = best[1] or self._local()
        if placement.host is not None:
            placement.host.beads.add(bead_id)
            self.on_hosts.add(bead_id)
        else:
            self.on_hosts.discard(bead_id)
        self.placed[bead_id] = placement
        return placement

    def done(self, bead_id: str) -> None:
        placement = self.placed.pop(bead_id, None)
        if placement is not None and placement.host is not None:
            placement.host.beads.discard(bead_id)

    # --- git: the remote between the town and its hosts -----------------------------------------------
    def publish(self, branch: str) -> tuple[str, str | None]:
        """Push the integration head (and ``branch`` when the town has it) to the remote; their shas (None: the
        town has no such branch). Blocking."""
        wts = self.worktrees
        with self._push_lock:
            found = wts.refs(f"refs/heads/{wts.integration}", f"refs/heads/{branch}")
            head = found.get(f"refs/heads/{wts.integration}") or wts.integration_head()
            specs = []
            if head != self._published:
                specs.append(f"+{head}:refs/heads/{wts.integration}")
            tip = found.get(f"refs/heads/{branch}")
            if tip is not None and self._remote_tips.get(branch) != tip:
                specs.append(f"+{tip}:refs/heads/{branch}")
            if specs:
                result = git(["push", "-q", "--no-verify", self.remote, *specs], wts.workdir, check=False,
                             timeout=600)
                if result.returncode != 0:
                    raise GitError(f"cannot push to the hosts' remote {self.remote}: "
                                   f"{result.stderr.decode(errors='replace').strip()}")
                self._published = head
                if tip is not None:
                    self._remote_tips[branch] = tip
            return head, tip

    def fetch_home(self, branch: str, pushed: str | None = None) -> str | None:
        """Bring a host's branch home from the remote (blocking); ``pushed``: its tip as the host pushed it."""
        tip = self.worktrees.fetch_home(self.remote, branch, pushed)
        if tip is not None:
            with self._push_lock:
                self._remote_tips[branch] = tip
        return tip

    async def fetch_branches(self, bead_ids: list[str]) -> None:
        """Before the Refinery rebases: the branches of beads that ran on a host, fresh from the remote."""
        for bead_id in (b for b in bead_ids if b in self.on_hosts):
            try:
                await asyncio.to_thread(self.fetch_home, polecat_branch(bead_id))
            except GitError as exc:
                log.warning("cannot fetch %s from %s: %s", polecat_branch(bead_id), self.remote, exc)

    def fetch_unfinished(self, bead_ids: set[str]) -> list[str]:
        """On opening: the branches of ``bead_ids`` (beads not done yet) that hosts pushed to the remote and
        the town lacks or has older — pushed before the town stopped — are brought home (blocking), so their
        work is continued or merged, not redone. Those beads' branches are fetched again before the Refinery
        rebases. Returns the branches brought home."""
        wts = self.worktrees
        listed = git(["ls-remote", "--refs", self.remote, f"refs/heads/{POLECAT_BRANCH_PREFIX}*"], wts.workdir,
                     check=False, timeout=600)
        if listed.returncode != 0:
            log.warning("cannot list the polecat branches on %s: %s", self.remote,
                        listed.stderr.decode(errors="replace").strip())
            return []
        home = wts.polecat_branches()
        fetched = []
        for line in listed.stdout.decode().splitlines():
            sha, _, ref = line.partition("\t")
            branch = ref.removeprefix("refs/heads/")
            bead_id = bead_of_branch(branch)
            if bead_id is None or bead_id not in bead_ids:
                continue
            self.on_hosts.add(bead_id)
            if home.get(branch) == sha:
                with self._push_lock:
                    self._remote_tips[branch] = sha
                continue
            try:
                if self.fetch_home(branch, sha) is not None and wts.branch_tip(branch) != home.get(branch):
                    fetched.append(branch)
            except GitError as exc:
                log.warning("cannot fetch %s from %s: %s", branch, self.remote, exc)
        if fetched:
            log.info("brought home from %s what hosts pushed while the town was stopped: %s", self.remote,
                     ", ".join(fetched))
        return fetched

    def status(self) -> list[dict[str, Any]]:
        return [{"name": h.name, "address": h.entry.address, "up": h.up, "slots": h.slots, "used": len(h.beads),
                 "seated": len(h.seats) if h.seats is not None else 0, "polecats": sorted(h.beads), "why": h.why}
                for h in self.hosts]


async def probe_hosts(settings: HostsSettings, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every configured host as it answers now (for ``gastown status``, with or without a town running):
    up or not, its slots and how many are in use. A probe takes no checkout, so closing it frees nothing."""

    async def probe(entry: HostEntry) -> dict[str, Any]:
        row: dict[str, Any] = {"name": entry.name or entry.address, "address": entry.address, "up": False,
                               "slots": entry.slots, "used": None, "why": ""}
        link: HostLink | None = None
        try:
            link = HostLink(entry.address, entry.token(), timeout=timeout)
            hello = await link.connect()
            health = Health.model_validate(await link.call("host/health"))
            row.update(name=entry.name or hello.name, up=health.ok, used=health.in_use,
                       why="" if health.ok else f"unhealthy: {health.detail}")
        except (ValueError, HostError) as exc:
            row["why"] = str(exc)
        finally:
            if link is not None:
                await link.close()
        return row

    return list(await asyncio.gather(*(probe(e) for e in settings.pool)))


__all__ = ["probe_hosts", "LOCAL", "HostCheckouts", "HostConn", "HostPool", "HostUnreachable", "Placement"]
