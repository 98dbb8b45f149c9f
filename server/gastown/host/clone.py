"""The host's clone of the project and its polecat checkouts.

``<root>/clone`` is a ``--no-checkout`` clone of the remote; ``<root>/checkouts`` is the town's own checkout
pool (:class:`Worktrees`) over it, so a host's polecat gets exactly what a local one gets (a shared clone per
slot, reused, flock-ed, WIP committed before a slot is given back, unmerged work archived, never deleted).
The remote is the only way work travels: before a run the host fetches the integration head the town pushed
(and the polecat's branch, when the bead was worked before); after every commit and when the slot is given
back, the branch is pushed. Slots are never parked on a host: the branch lives on the remote, and the next
run of the bead may be placed anywhere.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from gastown.host.wire import Acquired, CheckoutInfo, Cleaned, HostError, Pushed
from gastown.town.checkouts import Lease, Worktrees, changed_so_far
from gastown.vcs import GitError, git
from gastown.vcs.names import archive_ref
from gastown.vcs.repo import commit_time, is_ancestor, open_repo, refs, rev_parse

log = logging.getLogger(__name__)

REMOTE = "origin"


@dataclass
class _Held:
    lease: Lease
    remote_tip: str | None  # the remote's branch as fetched: a push must find it unchanged


class HostClone:
    def __init__(self, remote: str, root: Path, integration: str, name: str = "host") -> None:
        self.name = name
        self.remote = remote
        self.root = root
        self.integration = integration
        self.path = root / "clone"
        self.checkout_root = root / "checkouts"
        self.worktrees: Worktrees | None = None
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()  # fetches and ref updates of the clone, one at a time
        self._seq = 0

    # --- the clone ---------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Clone the remote (or fetch it into an existing clone). HostError naming the remote when it
        cannot be reached: a host without its remote cannot take polecats."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.path / ".git").is_dir():
            tmp = self.root / ".clone-new"
            shutil.rmtree(tmp, ignore_errors=True)
            result = git(["clone", "-q", "--no-checkout", "--no-tags", self.remote, str(tmp)], self.root, check=False,
                         timeout=600)
            if result.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                raise HostError(f"cannot reach the remote {self.remote}: "
                                f"{result.stderr.decode(errors='replace').strip() or 'git clone failed'}")
            tmp.rename(self.path)
        else:
            git(["remote", "set-url", REMOTE, self.remote], self.path)
        self.fetch()
        self.worktrees = Worktrees(open_repo(self.path), self.checkout_root, self.integration)

    def fetch(self) -> None:
        with self._lock:
            result = git(["fetch", "-q", "--no-tags", "--prune", REMOTE, "+refs/heads/*:refs/remotes/origin/*"],
                         self.path, check=False, timeout=600)
        if result.returncode != 0:
            raise HostError(f"cannot fetch from the remote {self.remote}: "
                            f"{result.stderr.decode(errors='replace').strip()}")

    def start_preparing(self, count: int) -> None:
        """Fill the checkout pool in the background (as the town does for its own), at the integration head
        last fetched (else the remote's HEAD): a polecat's run then only switches a ready checkout."""
        with self._lock:
            if rev_parse(self.path, f"refs/heads/{self.integration}") is None:
                start = rev_parse(self.path, f"refs/remotes/{REMOTE}/{self.integration}") or rev_parse(self.path,
                                                                                                      "HEAD")
                if start is None:
                    return
                git(["update-ref", f"refs/heads/{self.integration}", start], self.path)
        self.pool.start_preparing(count)

    @property
    def pool(self) -> Worktrees:
        if self.worktrees is None:
            raise HostError("the host's clone is not ready")
        return self.worktrees

    def close(self) -> None:
        if self.worktrees is not None:
            self.worktrees.close()

    # --- one polecat run ---------------------------------------------------------------------------
    def _missing(self, shas: list[str]) -> set[str]:
        """Those of ``shas`` this clone lacks (one git call)."""
        out = git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], self.path,
                  input="".join(f"{s}\n" for s in shas).encode(), check=False).stdout.decode()
        return {line.split(" ", 1)[0] for line in out.splitlines() if not line.endswith(" commit")}

    def reserve(self, branch: str, base: str, tip: str | None, onto_base: bool,
                prefer: list[str] | None = None) -> Acquired:
        """Choose and lock a checkout for ``branch`` (cheap; :meth:`prepare` checks it out). ``base`` is the
        integration head and ``tip`` the branch's tip (None: no such branch) as the town pushed them to the
        remote; the remote is fetched only when this clone lacks one of them. ``prefer``: idle checkouts to
        choose first (the town has a session waiting there)."""
        # Few git calls: this is on the way of every spawn on the host.
        pool = self.pool
        wanted = [base, *([tip] if tip is not None else [])]
        missing = self._missing(wanted)
        if missing:
            self.fetch()
        with self._lock:
            if missing:
                missing = self._missing(wanted)
            if base in missing:
                raise HostError(f"the integration head {base[:10]} is not on the remote {self.remote}: the town "
                                "must push it first")
            if tip is not None and tip in missing:
                raise HostError(f"{branch} at {tip[:10]} is not on the remote {self.remote}")
            ref = f"refs/heads/{branch}"
            found = refs(self.path, f"refs/heads/{self.integration}", ref)
            self._keep_unpushed(branch, tip, found.get(ref))
            updates = []
            if found.get(f"refs/heads/{self.integration}") != base:
                updates.append(f"update refs/heads/{self.integration} {base}\n")
            if tip is not None and found.get(ref) != tip:
                updates.append(f"update {ref} {tip}\n")
            elif tip is None and ref in found:
                updates.append(f"delete {ref}\n")  # stale: not on the remote
            if updates:
                git(["update-ref", "--stdin"], self.path, input="".join(updates).encode())
        lease = pool.reserve(branch, base, onto_base=onto_base, prefer=prefer or ())
        with self._lock:
            self._seq += 1
            lease_id = f"{lease.name}-{self._seq}"
            self._held[lease_id] = _Held(lease, tip)
        return self._acquired(lease_id, lease)

    def prepare(self, lease_id: str) -> Acquired:
        """Check the reserved checkout out (on failure the reservation is dropped)."""
        held = self._get(lease_id)
        try:
            self.pool.prepare(held.lease)
        except BaseException:
            with self._lock:
                self._held.pop(lease_id, None)
            raise
        return self._acquired(lease_id, held.lease)

    def acquire(self, branch: str, base: str, tip: str | None, onto_base: bool) -> Acquired:
        acquired = self.reserve(branch, base, tip, onto_base)
        return self.prepare(acquired.lease)

    @staticmethod
    def _acquired(lease_id: str, lease: Lease) -> Acquired:
        return Acquired(lease=lease_id, path=str(lease.path), branch=lease.branch, base=lease.base,
                        reused=lease.reused, continued=lease.continued, carried=lease.carried,
                        conflicts=lease.conflicts, acquire_ms=lease.acquire_ms)

    def _keep_unpushed(self, branch: str, remote_tip: str | None, mine: str | None = None) -> str | None:
        """The clone's copy of ``branch`` (``mine``, read here when not given) holds commits the remote's does
        not (work saved from a checkout left by a crash): push them under an archive ref, so that nothing stays
        only on this host. Returns it."""
        mine = mine or rev_parse(self.path, f"refs/heads/{branch}")
        if mine is None or mine == remote_tip or (remote_tip and is_ancestor(self.path, mine, remote_tip)):
            return None
        if remote_tip is None and self.worktrees is not None and is_ancestor(self.path, mine, self.integration):
            return None  # nothing beyond the integration branch
        ref = archive_ref(f"host/{self.name}/{branch}", commit_time(self.path, mine), mine)
        result = git(["push", "-q", "--no-verify", REMOTE, f"{mine}:{ref}"], self.path, check=False, timeout=600)
        if result.returncode != 0:
            raise HostError(f"cannot keep the unpushed work of {branch} on {self.remote}: "
                            f"{result.stderr.decode(errors='replace').strip()}")
        log.info("kept the unpushed work of %s on the remote as %s", branch, ref)
        return ref

    def _get(self, lease_id: str) -> _Held:
        held = self._held.get(lease_id)
        if held is None:
            raise HostError(f"no checkout is leased as {lease_id} on this host")
        return held

    def commit(self, lease_id: str, message: str, author: str) -> Pushed:
        held = self._get(lease_id)
        sha = self.pool.commit(held.lease, message, author)
        return self._push(held, sha)

    def release(self, lease_id: str) -> Pushed:
        """Give the slot back (uncommitted work committed first) and push the branch."""
        held = self._get(lease_id)
        try:
            wip = self.pool.release(held.lease, park=False)
            return self._push(held, wip)
        finally:
            with self._lock:
                self._held.pop(lease_id, None)

    def _push(self, held: _Held, sha: str | None) -> Pushed:
        branch = held.lease.branch
        tip = rev_parse(self.path, f"refs/heads/{branch}")
        if tip is None or tip == held.remote_tip:
            return Pushed(sha=sha, tip=tip, pushed=False)
        lease_arg = f"--force-with-lease=refs/heads/{branch}:{held.remote_tip or ''}"
        result = git(["push", "-q", "--no-verify", lease_arg, REMOTE, f"+refs/heads/{branch}:refs/heads/{branch}"],
                     self.path, check=False, timeout=600)
        if result.returncode != 0:
            raise HostError(f"cannot push {branch} to {self.remote}: {result.stderr.decode(errors='replace').strip()}")
        held.remote_tip = tip
        return Pushed(sha=sha, tip=tip, pushed=True)

    def changed(self, lease_id: str) -> list[str]:
        held = self._get(lease_id)
        return changed_so_far(held.lease.path, held.lease.base)

    def release_all(self, lease_ids: set[str] | None = None) -> None:
        """The town went away: every lease it held (``lease_ids``; None: all) is given back (work committed
        and pushed)."""
        for lease_id in [i for i in list(self._held) if lease_ids is None or i in lease_ids]:
            try:
                self.release(lease_id)
            except (GitError, HostError) as exc:
                log.warning("releasing %s failed: %s", lease_id, exc)

    @property
    def in_use(self) -> int:
        return len(self._held)

    # --- reconciling -------------------------------------------------------------------------------
    def checkouts(self) -> list[CheckoutInfo]:
        return [CheckoutInfo(name=e.name, branch=e.branch, head=e.head, state=e.state, dirty=e.dirty)
                for e in self.pool.entries() if e.name.startswith("wt-")]

    def clean(self, names: list[str]) -> Cleaned:
        """Remove the named checkouts (not in use) whose base the town has merged or archived. Their
        uncommitted work is committed first and, when the remote does not have it, pushed under an archive
        ref (``archived``): a checkout is never removed with work that exists only here."""
        done = Cleaned()
        self.fetch()
        for entry in self.pool.entries():
            if entry.name not in names or entry.state == "in-use":
                continue
            if not self.pool.retire(entry.name, Path(entry.path), entry.branch):
                continue
            done.removed.append(entry.name)
            if entry.branch:
                with self._lock:
                    ref = self._keep_unpushed(entry.branch,
                                              rev_parse(self.path, f"refs/remotes/{REMOTE}/{entry.branch}"))
                if ref:
                    done.archived[entry.branch] = ref
        self.pool.refresh()
        return done
