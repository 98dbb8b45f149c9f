"""The polecats' checkouts: a pool of worktrees under the worktree root, leased one per run.

Polecat worktrees are a pool (``<root>/wt-NN``): a run leases one (``acquire``) and gives it back
(``release``). An idle worktree is reused with one ``git checkout -f -B`` instead of a ``git worktree
add``. A worktree in use is flock-ed (``<root>/.locks/wt-NN.lock``), so another process never takes it
and a crashed process's locks vanish with it. Nothing here deletes unmerged work: WIP is committed to
the polecat's branch, and branches are archived under ``refs/gastown/archive/…`` before removal
(:mod:`gastown.town.archive`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gastown.town import archive
from gastown.vcs import GitError, git, git_text
from gastown.vcs.names import POLECAT_BRANCH_PREFIX, TOWN_IDENTITY, bead_of_branch, identity
from gastown.vcs.repo import (
    Repo,
    branch_tip,
    commit_all,
    count_commits,
    head_branch,
    is_ancestor,
    refs,
    unmerged_patches,
    worktree_list,
)
from gastown.vcs.repo import changed_files as diff_names
from gastown.vcs.status import changed_paths, is_dirty

POOL_PREFIX = "wt-"
REFINERY_SLOT = "refinery"


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
    _plan: tuple | None = None  # set by reserve(), consumed by prepare()


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


def _worktree_gitdir(path: Path) -> Path | None:
    """The admin folder of a linked worktree (from its `.git` file), or None if it is not one."""
    try:
        text = (path / ".git").read_text()
    except (OSError, IsADirectoryError):
        return None
    if not text.startswith("gitdir: "):
        return None
    gitdir = Path(text[len("gitdir: "):].strip())
    gitdir = gitdir if gitdir.is_absolute() else (path / gitdir).resolve()
    return gitdir if (gitdir / "HEAD").exists() else None


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
        # process runs under this lock. Pool checkouts use plumbing (symbolic-ref + reset) that never
        # enumerates worktrees, so they stay parallel.
        self.admin_lock = threading.RLock()
        self._slots: dict[str, _Slot] | None = None
        self._leased: set[str] = set()
        if root.resolve().is_relative_to(self.workdir):
            raise GitError(f"worktree root {root} is inside the workspace {self.workdir}; choose a folder outside it")

    def close(self) -> None:
        """Nothing to end: every git call is its own process, waited for."""

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
    def _listing(self) -> list[tuple[Path, str | None, str | None]]:
        """(path, head, branch) of the worktrees directly under the root."""
        with self.admin_lock:
            listed = worktree_list(self.workdir)
        root = self.root.resolve() if self.root.exists() else self.root
        return [(p, h, b) for p, h, b in listed if p.parent in (root, self.root)]

    def _load_slots(self) -> dict[str, _Slot]:
        if self._slots is None:
            self._slots = {path.name: _Slot(path, branch) for path, _head, branch in self._listing()
                           if path.name.startswith(POOL_PREFIX) and path.exists()}
        return self._slots

    def refresh(self) -> None:
        """Forget the in-memory view of the pool; the next use rescans what is on disk."""
        with self._pool_lock:
            self._slots = None

    def checked_out_branches(self) -> set[str]:
        """Branches checked out in a worktree of the user's repository (moving them would desync it)."""
        with self.admin_lock:
            return {b for _p, _h, b in worktree_list(self.workdir) if b}

    def entries(self) -> list[WorktreeEntry]:
        """Every worktree under the root, with what it holds (for `gastown worktrees` and recovery)."""
        found = []
        for path, head, branch in self._listing():
            if path.name == REFINERY_SLOT:
                state = "refinery"
            elif not path.exists():
                state = "missing"
            elif self.in_use(path.name):
                state = "in-use"
            elif branch:
                state = "parked"
            else:
                state = "idle"
            dirty = path.exists() and is_dirty(path)
            unmerged = self.unmerged_count(head) if head and branch and state != "refinery" else 0
            found.append(WorktreeEntry(path.name, str(path), head, branch, bead_of_branch(branch), state, dirty,
                                       unmerged))
        return found

    def _new_name(self, slots: dict[str, _Slot]) -> str:
        n = 1
        while (f"{POOL_PREFIX}{n:02d}" in slots or f"{POOL_PREFIX}{n:02d}" in self._leased
               or (self.root / f"{POOL_PREFIX}{n:02d}").exists()):
            n += 1
        return f"{POOL_PREFIX}{n:02d}"

    # --- leases ----------------------------------------------------------------------------------------
    def acquire(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease:
        """Lease a worktree with ``branch`` checked out:

        - the worktree where ``branch`` is already checked out (parked) is taken as it is;
        - else an idle worktree is reused (checked out and cleaned), preferring the one the branch last used;
          else one is added;
        - ``branch`` keeps its unmerged commits (the polecat continues them); without any it starts at
          ``base``. With ``onto_base`` (rework) unmerged work not based on ``base`` is carried over onto
          ``base`` (the old tip archived first); files that do not apply cleanly get conflict markers.
        """
        lease = self.reserve(branch, base, onto_base=onto_base)
        self.prepare(lease)
        return lease

    def reserve(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease:
        """Choose and lock the worktree (cheap: refs and memory); its folder is known, its checkout not
        done yet. ``lease.reused`` = the folder already exists (a session may start there meanwhile)."""
        started = time.monotonic()
        found = self.refs(f"refs/heads/{self.integration}", f"refs/heads/{branch}")
        if base is None:  # the integration head, read in the same git call as the branch
            base = found.get(f"refs/heads/{self.integration}") or self.integration_head()
        tip = found.get(f"refs/heads/{branch}")
        has_work = tip is not None and tip != base and self.unmerged_count(tip) > 0
        with self._pool_lock:
            slots = self._load_slots()
            chosen = fd = None
            for name, held in slots.items():
                if held.branch == branch and name not in self._leased:
                    fd = self._lock(name)
                    if fd is None:
                        raise GitError(f"branch {branch} is checked out in {held.path}, which another live "
                                       "process is using")
                    chosen = name
                    break
            mode = "same"
            if chosen is None:
                mode = "reuse"
                idle = [n for n, sl in slots.items() if sl.branch is None and n not in self._leased]
                heads = {}
                if tip:  # prefer the worktree this branch last ran in: the same path for a resumed session
                    heads = {path.name: head for path, head, _b in self._listing() if path.name in idle}
                idle.sort(key=lambda n: (heads.get(n) != tip, n))
                for name in idle:
                    fd = self._lock(name)
                    if fd is not None:
                        chosen = name
                        break
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
                self.root.mkdir(parents=True, exist_ok=True)
                with self.admin_lock:
                    git(["worktree", "add", "-q", "-B", lease.branch, str(path), target], self.workdir)
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
        diff = git(["diff", "--binary", fork, tip], path).stdout
        self.archive_commit(lease.branch, tip)
        self._switch(path, lease.branch, base)
        lease.carried = [f for f in git_text(["diff", "--name-only", fork, tip], path).splitlines() if f]
        if diff.strip():
            git(["apply", "--3way", "--whitespace=nowarn"], path, input=diff, check=False)
            lease.conflicts = [f for f in git_text(["diff", "--name-only", "--diff-filter=U"], path).splitlines()
                               if f]

    def release(self, lease: Lease, *, park: bool) -> str | None:
        """Give the worktree back. Uncommitted work is committed to the branch first (returned sha).
        ``park`` keeps the branch checked out (the bead will resume here); else HEAD is detached and the
        worktree cleaned, ready for any polecat."""
        wip = None
        try:
            if lease.path.exists():
                wip = self.save_wip(lease.path, f"WIP {lease.branch} (saved by gastown)")
                if not park:
                    head = git_text(["rev-parse", "HEAD"], lease.path)
                    git(["update-ref", "--no-deref", "HEAD", head], lease.path)  # detach, keep files
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
        """Remove a slot that is not in use (gc): its work saved first, a detached head archived unless
        something else holds it. False when another process took it meanwhile."""
        fd = self._lock(name)
        if fd is None:
            return False
        try:
            self.save_wip(path, f"WIP {branch or name} (saved by gastown gc)")
            head = git_text(["rev-parse", "HEAD"], path)
            if branch is None and not archive.reachable(self.repo, head) and unmerged_patches(
                    self.workdir, self.integration, head):
                self.archive_commit(f"detached/{name}", head)
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
        `git symbolic-ref` would (an atomic rename of the worktree's HEAD file), then one `reset --hard`
        moves the branch to ``target`` and the files with it."""
        gitdir = _worktree_gitdir(path)
        if gitdir is None:
            git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], path)
        else:
            tmp = gitdir / f"HEAD.gastown-{os.getpid()}-{threading.get_ident()}"
            tmp.write_text(f"ref: refs/heads/{branch}\n")
            os.replace(tmp, gitdir / "HEAD")
        git(["reset", "-q", "--hard", target], path)

    def save_wip(self, path: Path, message: str) -> str | None:
        """Commit whatever is uncommitted in ``path`` (on its branch; a detached HEAD gets an archive ref)."""
        sha = commit_all(path, message, TOWN_IDENTITY)
        if sha and head_branch(path) is None:
            self.archive_commit(f"detached/{path.name}", sha)
        return sha

    @staticmethod
    def commit_all(path: Path, message: str, author: str) -> str | None:
        """Commit everything the polecat left in its worktree; None when it changed nothing."""
        return commit_all(path, message, identity(author))


def changed_so_far(path: Path, base: str) -> list[str]:
    """Files a polecat changed in its checkout since ``base``: committed or not (for a handoff)."""
    committed = git_text(["diff", "--name-only", f"{base}...HEAD"], path).splitlines()
    return sorted({*changed_paths(path), *(f for f in committed if f)})
