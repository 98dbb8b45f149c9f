"""The polecats' checkouts: a pool of ``git clone --shared`` clones under the worktree root, leased one per run.

Each slot (``<root>/wt-NN``) is a clone with its own ``.git`` that reads the user's objects through
alternates, so the user's ``.git`` can stay read-only for a sandboxed polecat and a polecat can move no
branch but its own. The polecat's branch lives in its clone while it works; the town (unconfined) brings it
into the user's repository (:meth:`Worktrees.bring_home`, a ``git fetch`` from the clone) after every
commit, when the slot is given back, on recovery and before gc — nothing committed in a clone is lost.

A run leases a slot (``acquire``) and gives it back (``release``). An idle slot is reused with one
``reset --hard`` instead of a new clone; clones need no shared lock, so new ones are made in parallel, and
the pool is filled in the background when the town opens (:meth:`Worktrees.start_preparing`). A slot in
use is flock-ed (``<root>/.locks/wt-NN.lock``), so another process never takes it and a crashed process's
locks vanish with it. Nothing here deletes unmerged work: WIP is committed to the polecat's branch, and
branches are archived under ``refs/gastown/archive/…`` before removal (:mod:`gastown.town.archive`).
Older pools made of linked worktrees (``git worktree add``) keep working: they share the user's refs, so
there is nothing to bring home.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gastown.town import archive
from gastown.vcs import GitError, git, git_text
from gastown.vcs.names import (
    ARCHIVE_REF_PREFIX,
    POLECAT_BRANCH_PREFIX,
    TOWN_IDENTITY,
    archive_ref,
    bead_of_branch,
    identity,
)
from gastown.vcs.repo import (
    Repo,
    branch_tip,
    checked_out,
    commit_all,
    commit_time,
    count_commits,
    git_dir_of,
    is_ancestor,
    refs,
    rev_parse,
    unmerged_patches,
    worktree_list,
)
from gastown.vcs.repo import changed_files as diff_names
from gastown.vcs.status import changed_paths, is_dirty

log = logging.getLogger(__name__)

POOL_PREFIX = "wt-"
REFINERY_SLOT = "refinery"
PREPARE_THREADS = 4  # clones made at once when the pool is filled in the background


def default_worktree_root(workspace: Path) -> Path:
    """Outside the workspace, so the user's tree, searches and watchers never see polecat files."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:8]
    return base / "gastown" / "worktrees" / f"{workspace.resolve().name}-{digest}"


@dataclass
class Lease:
    """A pool worktree held by one polecat: ``branch`` is checked out in ``path``; the flock is held."""

    name: str
    path: Path
    branch: str
    base: str  # the integration head the work is (or was) based on
    reused: bool  # an existing worktree was taken (no `git worktree add`)
    continued: bool = False  # the branch already had unmerged work, which the polecat continues
    carried: list[str] = field(default_factory=list)  # files carried over onto a newer base (rework)
    conflicts: list[str] = field(default_factory=list)  # of those, files left with conflict markers
    acquire_ms: float = 0.0
    _fd: int | None = None
    _plan: tuple[Any, ...] | None = None  # set by reserve(), consumed by prepare()


class Checkouts(Protocol):
    """What a polecat needs of the place its checkout lives: this machine's pool (:class:`Worktrees`) or a
    runtime host's (:class:`gastown.town.hosts.HostCheckouts`). Blocking calls (polecats run them in a thread
    pool). ``branch_tip``/``unmerged_count``/``changed_files`` read the user's repository, where the branch
    is brought home after every commit."""

    workdir: Path
    integration: str

    def reserve(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease: ...

    def prepare(self, lease: Lease) -> None: ...

    def commit(self, lease: Lease, message: str, author: str) -> str | None: ...

    def release(self, lease: Lease, *, park: bool) -> str | None: ...

    def changed_so_far(self, lease: Lease) -> list[str]: ...

    def branch_tip(self, branch: str) -> str | None: ...

    def unmerged_count(self, tip: str, into: str | None = None) -> int: ...

    def changed_files(self, base: str, head: str) -> list[str]: ...


@dataclass
class WorktreeEntry:
    """One worktree on disk, as `gastown worktrees` shows it."""

    name: str
    path: str
    head: str | None
    branch: str | None
    bead_id: str | None
    state: str  # in-use | idle | parked | refinery | missing
    dirty: bool = False
    unmerged: int = 0


@dataclass
class _Slot:
    path: Path
    branch: str | None
    clean: bool = False  # known clean since we released it


def _is_clone(path: Path) -> bool:
    """A slot made by ``git clone --shared`` (its own ``.git`` folder), not a linked worktree."""
    return (path / ".git").is_dir()


def _head_file(path: Path) -> str | None:
    """What the checkout's HEAD file says: ``ref: refs/heads/…`` or a detached sha (no git process)."""
    gitdir = git_dir_of(path)
    try:
        return (gitdir / "HEAD").read_text().strip() if gitdir else None
    except OSError:
        return None


class Worktrees:
    """The integration branch and every checkout the town owns (see the module's docstring)."""

    def __init__(self, repo: Repo, root: Path, integration_branch: str) -> None:
        self.repo = repo
        self.root = root
        self.integration = integration_branch
        self.workdir = repo.workdir
        self._pool_lock = threading.Lock()
        # git's own `worktree add` is not safe against concurrent commands that enumerate worktrees
        # (they fail with "failed to read .git/worktrees/<x>/commondir"): every such command of this
        # process runs under this lock (the Refinery's worktree, older linked-worktree slots). Clones
        # never touch the user's worktree list, so they are made and switched in parallel.
        self.admin_lock = threading.RLock()
        self._slots: dict[str, _Slot] | None = None
        self._leased: set[str] = set()
        self._ready = threading.Condition(self._pool_lock)  # a prepared slot became idle
        self._preparing: set[str] = set()  # slots being made in the background
        self._stop = threading.Event()
        self._preparer: threading.Thread | None = None
        self.prepared_ms: float | None = None  # how long filling the pool took (start_preparing)
        if root.resolve().is_relative_to(self.workdir):
            raise GitError(f"worktree root {root} is inside the workspace {self.workdir}; choose a folder outside it")

    def close(self) -> None:
        """Stop filling the pool and wait for the clone under way: no git process outlives the town."""
        self._stop.set()
        if self._preparer is not None:
            self._preparer.join()

    def ensure_integration(self) -> str:
        """Create the integration branch at HEAD if missing; return its head sha."""
        tip = self.branch_tip(self.integration)
        if tip is None:
            git_text(["branch", self.integration, "HEAD"], self.workdir)
            tip = self.integration_head()
        return tip

    def integration_head(self) -> str:
        tip = self.branch_tip(self.integration)
        if tip is None:
            raise GitError(f"the integration branch {self.integration} does not exist")
        return tip

    def branch_tip(self, branch: str) -> str | None:
        """The branch's tip in the user's repository."""
        return branch_tip(self.workdir, branch)

    def unmerged_count(self, tip: str, into: str | None = None) -> int:
        return count_commits(self.workdir, into or self.integration, tip)

    def refs(self, *names: str) -> dict[str, str]:
        """Shas of the given refs (missing ones left out), in one git call."""
        return refs(self.workdir, *names)

    def changed_files(self, base: str, head: str) -> list[str]:
        return diff_names(self.workdir, base, head)

    def polecat_branches(self) -> dict[str, str]:
        """``polecat/<id>`` → sha of every polecat branch in the user's repository."""
        found = refs(self.workdir, f"refs/heads/{POLECAT_BRANCH_PREFIX}")
        return {ref.removeprefix("refs/heads/"): sha for ref, sha in found.items()}

    def archived(self) -> list[tuple[str, str]]:
        return archive.archived(self.repo)

    def archive_commit(self, name: str, sha: str) -> str:
        return archive.archive_commit(self.repo, name, sha)

    # --- clones → the user's repository ---------------------------------------------------------------
    def bring_home(self, path: Path, branch: str) -> None:
        """Fetch ``branch`` from the clone ``path`` into the user's repository, where the Refinery, the
        editor's diff and gc read it. The clone holds the newest state of a branch checked out there: when
        the user's copy is not an ancestor (rework rewrote the branch) it is archived first, then replaced."""
        if not _is_clone(path):
            return  # a linked worktree shares the user's refs
        ref = f"refs/heads/{branch}"
        mine = rev_parse(path, ref)
        if mine is None:
            return
        self._take(str(path), branch, mine)

    def fetch_home(self, remote: str, branch: str, tip: str | None = None) -> str | None:
        """Bring ``branch`` home from a git remote (a runtime host pushed it there), as :meth:`bring_home`
        does from a clone; its tip on the remote (None when the remote has no such branch). ``tip``: the tip
        the host says it pushed (saves asking the remote)."""
        ref = f"refs/heads/{branch}"
        home = branch_tip(self.workdir, branch)
        if tip is not None and tip == home:
            return tip
        listed = [tip] if tip else git_text(["ls-remote", "--refs", remote, ref], self.workdir).split()
        if not listed:
            return None
        if home is not None and home != listed[0] and is_ancestor(self.workdir, listed[0], home):
            return listed[0]  # the town's copy already holds it (and more)
        self._take(remote, branch, listed[0])
        return listed[0]

    def _take(self, source: str, branch: str, mine: str) -> None:
        """Fetch ``branch`` (at ``mine`` in ``source``) into the user's repository; a home copy that is not an
        ancestor (rework rewrote the branch) is archived first when it holds unmerged work."""
        ref = f"refs/heads/{branch}"
        home = branch_tip(self.workdir, branch)
        if mine == home:
            return
        fetch = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", source]
        if home is None or git([*fetch, f"{ref}:{ref}"], self.workdir, check=False).returncode != 0:
            if home is not None and not self._archived(home) and unmerged_patches(self.workdir, self.integration,
                                                                                   home):
                self.archive_commit(branch, home)
            git([*fetch, f"+{ref}:{ref}"], self.workdir)

    def _archived(self, sha: str) -> bool:
        return bool(git_text(["for-each-ref", "--contains", sha, "--count=1", "--format=%(refname)",
                              ARCHIVE_REF_PREFIX], self.workdir))

    def _keep(self, path: Path, name: str, sha: str) -> str:
        """Archive a commit of the checkout ``path`` in the user's repository (fetched from a clone, whose
        new commits the user's repository does not have yet)."""
        if not _is_clone(path):
            return self.archive_commit(name, sha)
        ref = archive_ref(name, commit_time(path, sha), sha)
        git(["fetch", "-q", "--no-tags", "--no-write-fetch-head", str(path), f"{sha}:{ref}"], self.workdir)
        return ref

    def _known_home(self, sha: str) -> bool:
        """Is ``sha`` in the user's repository and on one of its refs?"""
        if git(["cat-file", "-e", f"{sha}^{{commit}}"], self.workdir, check=False).returncode != 0:
            return False
        return archive.reachable(self.repo, sha)

    # --- the pool's locks ------------------------------------------------------------------------------
    @property
    def lock_dir(self) -> Path:
        return self.root / ".locks"

    def _lock(self, name: str) -> int | None:
        """Take the slot's flock without waiting; None if another holder (any process) has it."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    @staticmethod
    def _unlock(fd: int | None) -> None:
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def in_use(self, name: str) -> bool:
        """Is the slot leased by a live process (this one included)?"""
        if name in self._leased:
            return True
        fd = self._lock(name)
        if fd is None:
            return True
        self._unlock(fd)
        return False

    # --- what is on disk -------------------------------------------------------------------------------
    def _scan(self) -> list[tuple[Path, str | None]]:
        """(path, checked-out branch) of every checkout directly under the root (pool slots and the
        Refinery's worktree), read from their HEAD files."""
        try:
            folders = sorted(p for p in self.root.iterdir() if p.name.startswith(POOL_PREFIX)
                             or p.name == REFINERY_SLOT)
        except OSError:
            return []
        return [(p, checked_out(p)) for p in folders if git_dir_of(p) is not None]

    def _missing(self) -> list[tuple[Path, str | None, str | None]]:
        """Linked worktrees git still lists under the root whose folder is gone."""
        with self.admin_lock:
            listed = worktree_list(self.workdir)
        root = self.root.resolve() if self.root.exists() else self.root
        return [(p, h, b) for p, h, b in listed if p.parent in (root, self.root) and not p.exists()]

    def _load_slots(self) -> dict[str, _Slot]:
        if self._slots is None:
            self._slots = {path.name: _Slot(path, branch) for path, branch in self._scan()
                           if path.name.startswith(POOL_PREFIX)}
        return self._slots

    def refresh(self) -> None:
        """Forget the in-memory view of the pool; the next use rescans what is on disk."""
        with self._pool_lock:
            self._slots = None

    def checked_out_branches(self) -> set[str]:
        """Branches checked out somewhere: in a pool slot (its clone holds the newest state) or in a
        worktree of the user's repository (moving them would desync it)."""
        with self.admin_lock:
            linked = {b for _p, _h, b in worktree_list(self.workdir) if b}
        return linked | {b for _p, b in self._scan() if b}

    def entries(self) -> list[WorktreeEntry]:
        """Every checkout under the root, with what it holds (for `gastown worktrees` and recovery)."""
        found = []
        integration = self.branch_tip(self.integration) or self.integration
        for path, branch in self._scan():
            if path.name == REFINERY_SLOT:
                state = "refinery"
            elif self.in_use(path.name):
                state = "in-use"
            elif branch:
                state = "parked"
            else:
                state = "idle"
            head = rev_parse(path, "HEAD")
            unmerged = count_commits(path, integration, head) if head and branch and state != "refinery" else 0
            found.append(WorktreeEntry(path.name, str(path), head, branch, bead_of_branch(branch), state,
                                       is_dirty(path), unmerged))
        for path, head, branch in self._missing():
            found.append(WorktreeEntry(path.name, str(path), head, branch, bead_of_branch(branch), "missing"))
        return found

    def _new_name(self, slots: dict[str, _Slot]) -> str:
        n = 1
        while (f"{POOL_PREFIX}{n:02d}" in slots or f"{POOL_PREFIX}{n:02d}" in self._leased
               or (self.root / f"{POOL_PREFIX}{n:02d}").exists()):
            n += 1
        return f"{POOL_PREFIX}{n:02d}"

    def _create(self, path: Path, target: str, branch: str | None) -> None:
        """A new slot at ``path``: a shared clone (no copy of the objects, no lock on the user's
        repository) with ``branch`` (or a detached HEAD) at ``target``. Made under a temporary name and
        renamed, so a crash never leaves a half-made slot in the pool."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".new-{path.name}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            git(["clone", "-q", "--shared", "--no-checkout", "--single-branch", "--no-tags", str(self.workdir),
                 str(tmp)])
            git(["checkout", "-q", *(["-B", branch] if branch else ["--detach"]), target], tmp)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # --- filling the pool ahead of time ----------------------------------------------------------------
    def start_preparing(self, count: int) -> None:
        """Fill the pool up to ``count`` slots in a background thread (the town's first polecats then only
        switch branches in a ready checkout; one that comes first waits for a slot under way rather than
        cloning its own). Idempotent; :meth:`close` stops it."""
        if self._preparer is not None:
            return
        started = time.monotonic()
        claimed = self._claim_new(count)  # now, so that a polecat arriving meanwhile knows they are coming

        def run() -> None:
            try:
                self._make_idle(claimed)
            except Exception as exc:  # noqa: BLE001 - the pool is an optimisation: polecats clone on demand
                log.warning("preparing polecat checkouts failed: %s", exc)
            finally:
                self.prepared_ms = round((time.monotonic() - started) * 1000, 1)

        self._preparer = threading.Thread(target=run, name="gastown-pool", daemon=True)
        self._preparer.start()

    def wait_prepared(self) -> float | None:
        """Wait for :meth:`start_preparing` to finish; how long it took (None if it never started)."""
        if self._preparer is not None:
            self._preparer.join()
        return self.prepared_ms

    def prepare_pool(self, count: int) -> list[str]:
        """Make idle slots (detached at the integration head) until the pool has ``count``; several at once.
        Returns the slots made."""
        return self._make_idle(self._claim_new(count))

    def _claim_new(self, count: int) -> list[tuple[str, int]]:
        """Names (and flocks) for the slots missing up to ``count``, marked as being prepared."""
        claimed: list[tuple[str, int]] = []
        with self._pool_lock:
            slots = self._load_slots()
            for _ in range(count - len(slots) - len(self._leased - set(slots))):
                name = self._new_name(slots)
                fd = self._lock(name)
                if fd is None:
                    break
                self._leased.add(name)
                self._preparing.add(name)
                claimed.append((name, fd))
        return claimed

    def _make_idle(self, claimed: list[tuple[str, int]]) -> list[str]:
        if not claimed:
            return []
        try:
            base = self.integration_head()
        except GitError:
            base = None

        def make(item: tuple[str, int]) -> str | None:
            name, fd = item
            path = self.root / name
            made = False
            try:
                if base is not None and not self._stop.is_set():
                    self._create(path, base, None)
                    made = True
            except GitError as exc:
                log.warning("could not prepare %s: %s", path, exc)
            finally:
                with self._pool_lock:
                    self._unlock(fd)
                    self._leased.discard(name)
                    self._preparing.discard(name)
                    if made and self._slots is not None:
                        self._slots[name] = _Slot(path, None, clean=True)
                    self._ready.notify_all()
            return name if made else None

        with ThreadPoolExecutor(min(PREPARE_THREADS, len(claimed)), thread_name_prefix="gastown-pool") as ex:
            return [n for n in ex.map(make, claimed) if n]

    # --- leases ----------------------------------------------------------------------------------------
    def acquire(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease:
        """Lease a checkout with ``branch`` checked out:

        - the slot where ``branch`` is already checked out (parked) is taken as it is;
        - else an idle slot is reused (checked out and cleaned), preferring the one the branch last used;
          else a new clone is made;
        - ``branch`` keeps its unmerged commits (the polecat continues them); without any it starts at
          ``base``. With ``onto_base`` (rework) unmerged work not based on ``base`` is carried over onto
          ``base`` (the old tip archived first); files that do not apply cleanly get conflict markers.
        """
        lease = self.reserve(branch, base, onto_base=onto_base)
        self.prepare(lease)
        return lease

    def reserve(self, branch: str, base: str | None = None, *, onto_base: bool = False,
                prefer: Collection[str] = ()) -> Lease:
        """Choose and lock the slot (cheap: refs and memory); its folder is known, its checkout not
        done yet. ``lease.reused`` = the folder already exists (a session may start there meanwhile).
        ``prefer``: idle slots (by name) to take before others, after the one the branch last ran in."""
        started = time.monotonic()
        found = self.refs(f"refs/heads/{self.integration}", f"refs/heads/{branch}")
        if base is None:  # the integration head, read in the same git call as the branch
            base = found.get(f"refs/heads/{self.integration}") or self.integration_head()
        tip = found.get(f"refs/heads/{branch}")
        has_work = tip is not None and tip != base and self.unmerged_count(tip) > 0
        with self._ready:
            while True:
                slots = self._load_slots()
                mode, chosen, fd = self._choose(slots, branch, tip, prefer)
                if chosen is not None or not self._preparing:
                    break
                # a slot is being made in the background: waiting for it is cheaper than a clone of our own
                self._ready.wait(timeout=60)
            if chosen is None:
                mode = "new"
                chosen = self._new_name(slots)
                fd = self._lock(chosen)
            self._leased.add(chosen)
            slot = slots.get(chosen)
        lease = Lease(chosen, self.root / chosen, branch, base, reused=mode != "new",
                      continued=has_work or mode == "same", _fd=fd)
        lease._plan = (mode, tip if has_work else base, bool(slot and slot.clean), onto_base and lease.continued,
                       started)
        return lease

    def _choose(self, slots: dict[str, _Slot], branch: str, tip: str | None, prefer: Collection[str] = ()
                ) -> tuple[str, str | None, int | None]:
        """(mode, slot, flock fd) under the pool lock: the slot holding ``branch`` ("same"), else an idle
        one ("reuse"), preferring the one the branch last ran in (its detached HEAD is the tip: the same
        path for a resumed session); no slot: ("new", None, None)."""
        for name, held in slots.items():
            if held.branch == branch and name not in self._leased:
                fd = self._lock(name)
                if fd is None:
                    raise GitError(f"branch {branch} is checked out in {held.path}, which another live "
                                   "process is using")
                return "same", name, fd
        idle = [n for n, sl in slots.items() if sl.branch is None and n not in self._leased]
        idle.sort(key=lambda n: (not tip or _head_file(slots[n].path) != tip, n not in prefer, n))
        for name in idle:
            fd = self._lock(name)
            if fd is not None:
                return "reuse", name, fd
        return "new", None, None

    def prepare(self, lease: Lease) -> None:
        """Do the checkout a :meth:`reserve` planned. On failure the reservation is dropped."""
        assert lease._plan is not None, "prepare() needs a reserve()d lease"
        mode, target, clean, carry, started = lease._plan
        lease._plan = None
        path = lease.path
        try:
            if mode == "reuse":
                self._switch(path, lease.branch, target)
                if not clean:
                    git(["clean", "-q", "-ffdx"], path)
            elif mode == "new":
                self._create(path, target, lease.branch)
            if carry:
                self._carry_onto(lease)
        except BaseException:
            self.drop(lease)
            raise
        with self._pool_lock:
            if self._slots is not None:
                self._slots[lease.name] = _Slot(path, lease.branch)
        lease.acquire_ms = round((time.monotonic() - started) * 1000, 1)

    def drop(self, lease: Lease) -> None:
        """Give up a reservation whose checkout failed or never happened (no git work)."""
        with self._pool_lock:
            self._leased.discard(lease.name)
            self._slots = None  # unknown state: rescan next time
        self._unlock(lease._fd)
        lease._fd = None

    def _carry_onto(self, lease: Lease) -> None:
        """Rework: make the branch a child of ``lease.base`` carrying its previous changes as WIP."""
        path, base = lease.path, lease.base
        self.save_wip(path, "WIP before rework (saved by gastown)")
        tip = git_text(["rev-parse", "HEAD"], path)
        if is_ancestor(path, base, tip):
            return  # already on top of the base
        fork = git_text(["merge-base", base, tip], path)
        diff = git(["diff", "--binary", "--no-ext-diff", "--no-textconv", fork, tip], path).stdout
        self._keep(path, lease.branch, tip)
        self._switch(path, lease.branch, base)
        lease.carried = [f for f in git_text(["diff", "--name-only", fork, tip], path).splitlines() if f]
        if diff.strip():
            git(["apply", "--3way", "--whitespace=nowarn"], path, input=diff, check=False)
            lease.conflicts = [f for f in git_text(["diff", "--name-only", "--diff-filter=U"], path).splitlines()
                               if f]

    def commit(self, lease: Lease, message: str, author: str) -> str | None:
        """Commit everything the polecat left in its checkout as ``author`` and bring the branch home;
        the new commit, None when it changed nothing."""
        sha = commit_all(lease.path, message, identity(author))
        self.bring_home(lease.path, lease.branch)
        return sha

    def release(self, lease: Lease, *, park: bool) -> str | None:
        """Give the slot back. Uncommitted work is committed to the branch first (returned sha) and the
        branch brought home. ``park`` keeps the branch checked out (the bead will resume here); else HEAD
        is detached, the clone's copy of the branch dropped (the user's repository has it) and the
        checkout cleaned, ready for any polecat."""
        wip = None
        try:
            if lease.path.exists():
                wip = self.save_wip(lease.path, f"WIP {lease.branch} (saved by gastown)")
                if not park:
                    head = git_text(["rev-parse", "HEAD"], lease.path)
                    git(["update-ref", "--no-deref", "HEAD", head], lease.path)  # detach, keep files
                    if _is_clone(lease.path):
                        git(["update-ref", "-d", f"refs/heads/{lease.branch}"], lease.path)
                    git(["clean", "-q", "-ffdx"], lease.path)
        finally:
            with self._pool_lock:
                if self._slots is not None:
                    if lease.path.exists():
                        self._slots[lease.name] = _Slot(lease.path, lease.branch if park else None, clean=not park)
                    else:
                        self._slots.pop(lease.name, None)
                self._leased.discard(lease.name)
            self._unlock(lease._fd)
            lease._fd = None
        return wip

    def retire(self, name: str, path: Path, branch: str | None) -> bool:
        """Remove a slot that is not in use (gc): its work saved and brought home first, a detached head
        archived unless the user's repository already holds it. False when another process took it."""
        fd = self._lock(name)
        if fd is None:
            return False
        try:
            self.save_wip(path, f"WIP {branch or name} (saved by gastown gc)")
            head = git_text(["rev-parse", "HEAD"], path)
            if branch is None and not self._known_home(head) and unmerged_patches(path, self.integration_head(),
                                                                                  head):
                self._keep(path, f"detached/{name}", head)
            if _is_clone(path):
                shutil.rmtree(path)
            else:
                with self.admin_lock:
                    if git(["worktree", "remove", "--force", str(path)], self.workdir, check=False).returncode:
                        shutil.rmtree(path, ignore_errors=True)
                        git(["worktree", "prune"], self.workdir)
        finally:
            self._unlock(fd)
        return True

    @staticmethod
    def _switch(path: Path, branch: str, target: str) -> None:
        """Check ``branch`` out at ``target`` in ``path``, discarding what is there. Never enumerates
        worktrees (no race with a concurrent `git worktree add`): HEAD is pointed at the branch as
        `git symbolic-ref` would (an atomic rename of the HEAD file), then one `reset --hard` moves the
        branch to ``target`` and the files with it (a clone reads ``target`` through its alternates)."""
        gitdir = git_dir_of(path)
        if gitdir is None:
            raise GitError(f"{path} is not a checkout")
        tmp = gitdir / f"HEAD.gastown-{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(f"ref: refs/heads/{branch}\n")
        os.replace(tmp, gitdir / "HEAD")
        git(["reset", "-q", "--hard", target], path)

    def changed_so_far(self, lease: Lease) -> list[str]:
        """Files the lease's polecat changed since its base, committed or not (for a handoff)."""
        return changed_so_far(lease.path, lease.base)

    def save_wip(self, path: Path, message: str) -> str | None:
        """Commit whatever is uncommitted in ``path`` and bring its branch home (a detached HEAD's new
        commit gets an archive ref instead)."""
        sha = commit_all(path, message, TOWN_IDENTITY)
        branch = checked_out(path)
        if branch is not None:
            self.bring_home(path, branch)
        elif sha:
            self._keep(path, f"detached/{path.name}", sha)
        return sha


def changed_so_far(path: Path, base: str) -> list[str]:
    """Files a polecat changed in its checkout since ``base``: committed or not (for a handoff)."""
    committed = git_text(["diff", "--name-only", f"{base}...HEAD"], path).splitlines()
    return sorted({*changed_paths(path), *(f for f in committed if f)})
