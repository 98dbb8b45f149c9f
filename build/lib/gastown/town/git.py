"""Git for the town, through GitPython: the integration branch, polecat worktrees, commits, merges.

Every git process is a child of ours and is waited for (GitPython runs git per call).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from gastown.vcs.run import GitError


def open_repo(path: Path) -> git.Repo:
    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise GitError(f"{path} is not a git repository (run `git init` and commit once first)") from None
    if not repo.head.is_valid():
        raise GitError(f"{path} has no commits yet: commit once so the town has a base to branch from")
    return repo


def default_worktree_root(workspace: Path) -> Path:
    """Outside the workspace, so the user's tree, searches and watchers never see polecat files."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:8]
    return base / "gastown" / "worktrees" / f"{workspace.resolve().name}-{digest}"


POOL_PREFIX = "wt-"
ARCHIVE = "refs/gastown/archive"
# Commits made by the town itself (WIP saves, carried-over work) need an identity even on a bare CI box.
TOWN_IDENTITY = {"GIT_AUTHOR_NAME": "gastown", "GIT_AUTHOR_EMAIL": "gastown@gastown.local",
                 "GIT_COMMITTER_NAME": "gastown", "GIT_COMMITTER_EMAIL": "gastown@gastown.local"}


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


def bead_of_branch(branch: str | None) -> str | None:
    if branch and branch.startswith("polecat/"):
        return branch.split("/", 1)[1]
    return None


def _run(args: list[str], cwd: Path | None = None, input: bytes | None = None, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A plain git call (no GitPython state), waited for; used where stdin or exit codes matter."""
    result = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                            env={**os.environ, **(env or {})}, check=False)
    if check and result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result


class Worktrees:
    """The integration branch and every worktree the town owns.

    Polecat worktrees are a pool (``<root>/wt-NN``): a run leases one (``acquire``) and gives it back
    (``release``). An idle worktree is reused with one ``git checkout -f -B`` instead of a ``git worktree
    add``. A worktree in use is flock-ed (``<root>/.locks/wt-NN.lock``), so another process never takes it
    and a crashed process's locks vanish with it. Nothing here deletes unmerged work: WIP is committed to
    the polecat's branch, and branches are archived under ``refs/gastown/archive/…`` before removal.
    """

    def __init__(self, repo: git.Repo, root: Path, integration_branch: str) -> None:
        self.repo = repo
        self.root = root
        self.integration = integration_branch
        self.workdir = Path(repo.working_tree_dir or ".").resolve()
        self._pool_lock = threading.Lock()
        # git's own `worktree add` is not safe against concurrent commands that enumerate worktrees
        # (they fail with "failed to read .git/worktrees/<x>/commondir"): every such command of this
        # process runs under this lock. Pool checkouts use plumbing (symbolic-ref + reset) that never
        # enumerates worktrees, so they stay parallel.
        self.admin_lock = threading.RLock()
        self._slots: dict[str, _Slot] | None = None
        self._leased: set[str] = set()
        workspace = Path(repo.working_tree_dir or ".").resolve()
        if root.resolve().is_relative_to(workspace):
            raise GitError(f"worktree root {root} is inside the workspace {workspace}; choose a folder outside it")

    def close(self) -> None:
        """End GitPython's long-lived `git cat-file` helpers: no process outlives the town."""
        self.repo.close()

    @property
    def git(self) -> git.Git:
        return self.repo.git

    def ensure_integration(self) -> str:
        """Create the integration branch at HEAD if missing; return its head sha."""
        if self.integration not in [h.name for h in self.repo.heads]:
            self.git.branch(self.integration, self.repo.head.commit.hexsha)
        return self.repo.heads[self.integration].commit.hexsha

    def integration_head(self) -> str:
        # A plain `git rev-parse`, not GitPython's shared `cat-file` helper: that one is not thread-safe,
        # and thirty polecats ask for the head at once from worker threads.
        tip = self.branch_tip(self.integration)
        if tip is None:
            raise GitError(f"the integration branch {self.integration} does not exist")
        return tip

    def add(self, name: str, branch: str, base: str) -> Path:
        """A fresh worktree on a new branch at ``base``. A leftover branch with commits is archived, never lost."""
        path = self.root / name
        self.root.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self.remove(path)
        if self.branch_tip(branch):
            self.archive_branch(branch)
        with self.admin_lock:
            self.git.worktree("add", "-b", branch, str(path), base)
        return path

    def remove(self, path: Path) -> None:
        with self.admin_lock:
            try:
                self.git.worktree("remove", "--force", str(path))
            except GitCommandError:
                shutil.rmtree(path, ignore_errors=True)
                self.git.worktree("prune")

    def archive_branch(self, branch: str) -> str | None:
        """Move a branch to refs/gastown/archive/… if it has commits not on the integration branch."""
        head = self.branch_tip(branch)
        assert head is not None, branch
        unmerged = self.git.rev_list(f"{self.integration}..{head}")
        ref = None
        if unmerged.strip():
            stamp = self.git.log("-1", "--format=%ct", head)
            ref = f"refs/gastown/archive/{branch}/{stamp}-{head[:8]}"
            self.git.update_ref(ref, head)
        with self.admin_lock:
            self.git.branch("-D", branch)
        return ref

    # --- the worktree pool ---------------------------------------------------------------------------
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

    def worktree_list(self) -> list[tuple[Path, str | None, str | None]]:
        """(path, head, branch) of every worktree git knows, the main one first."""
        with self.admin_lock:
            out = self.git.worktree("list", "--porcelain")
        found: list[tuple[Path, str | None, str | None]] = []
        path = head = branch = None
        for line in [*out.splitlines(), ""]:
            if line.startswith("worktree "):
                path = Path(line[len("worktree "):])
            elif line.startswith("HEAD "):
                head = line[5:]
            elif line.startswith("branch "):
                branch = line[len("branch "):].removeprefix("refs/heads/")
            elif not line and path is not None:
                found.append((path, head, branch))
                path = head = branch = None
        return found

    def _load_slots(self) -> dict[str, _Slot]:
        if self._slots is None:
            slots: dict[str, _Slot] = {}
            root = self.root.resolve() if self.root.exists() else self.root
            for path, _head, branch in self.worktree_list():
                if path.parent in (root, self.root) and path.name.startswith(POOL_PREFIX) and path.exists():
                    slots[path.name] = _Slot(path, branch)
            self._slots = slots
        return self._slots

    def refresh(self) -> None:
        """Forget the in-memory view of the pool; the next use rescans git's worktree list."""
        with self._pool_lock:
            self._slots = None

    def _new_name(self, slots: dict[str, _Slot]) -> str:
        n = 1
        while (f"{POOL_PREFIX}{n:02d}" in slots or f"{POOL_PREFIX}{n:02d}" in self._leased
               or (self.root / f"{POOL_PREFIX}{n:02d}").exists()):
            n += 1
        return f"{POOL_PREFIX}{n:02d}"

    def branch_tip(self, branch: str) -> str | None:
        result = _run(["rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=self.workdir, check=False)
        return result.stdout.decode().strip() or None

    def unmerged_count(self, tip: str, into: str | None = None) -> int:
        out = self.git.rev_list("--count", f"{into or self.integration}..{tip}")
        return int(out.strip() or 0)

    def refs(self, *names: str) -> dict[str, str]:
        """Shas of the given refs (missing ones left out), in one git call."""
        out = _run(["for-each-ref", "--format=%(refname) %(objectname)", *names], cwd=self.workdir).stdout
        return dict(line.split(" ", 1) for line in out.decode().splitlines() if line)

    def unmerged_patches(self, tip: str) -> int:
        """Commits of ``tip`` whose change is not on the integration branch, even as a rebased or
        cherry-picked copy (`git cherry`): what would be lost if ``tip`` were dropped."""
        out = _run(["cherry", self.integration, tip], cwd=self.workdir).stdout.decode()
        return sum(1 for line in out.splitlines() if line.startswith("+"))

    def acquire(self, branch: str, base: str | None = None, *, onto_base: bool = False) -> Lease:
        """Lease a worktree with ``branch`` checked out (:meth:`reserve` then :meth:`prepare`).

        - a worktree that already has ``branch`` checked out (a parked run, a crash) is taken as it is;
        - else an idle pool worktree is reused (preferring the one last used for this branch), else a new
          one is added;
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
        refs = self.refs(f"refs/heads/{self.integration}", f"refs/heads/{branch}")
        if base is None:  # the integration head, read in the same git call as the branch
            base = refs.get(f"refs/heads/{self.integration}") or self.integration_head()
        tip = refs.get(f"refs/heads/{branch}")
        has_work = bool(tip) and tip != base and self.unmerged_count(tip) > 0
        with self._pool_lock:
            slots = self._load_slots()
            chosen = fd = None
            for name, slot in slots.items():
                if slot.branch == branch and name not in self._leased:
                    fd = self._lock(name)
                    if fd is None:
                        raise GitError(f"branch {branch} is checked out in {slot.path}, which another live "
                                       "process is using")
                    chosen = name
                    break
            mode = "same"
            if chosen is None:
                mode = "reuse"
                idle = [n for n, sl in slots.items() if sl.branch is None and n not in self._leased]
                heads = {}
                if tip:  # prefer the worktree this branch last ran in: the same path for a resumed session
                    heads = {path.name: head for path, head, _b in self.worktree_list() if path.name in idle}
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
                    _run(["clean", "-q", "-ffdx"], cwd=path)
            elif mode == "new":
                self.root.mkdir(parents=True, exist_ok=True)
                with self.admin_lock:
                    _run(["worktree", "add", "-q", "-B", lease.branch, str(path), target], cwd=self.workdir)
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
        tip = _run(["rev-parse", "HEAD"], cwd=path).stdout.decode().strip()
        if _run(["merge-base", "--is-ancestor", base, tip], cwd=path, check=False).returncode == 0:
            return  # already on top of the base
        fork = _run(["merge-base", base, tip], cwd=path).stdout.decode().strip()
        diff = _run(["diff", "--binary", fork, tip], cwd=path).stdout
        self.archive_commit(lease.branch, tip)
        self._switch(path, lease.branch, base)
        lease.carried = [f for f in _run(["diff", "--name-only", fork, tip], cwd=path).stdout.decode().splitlines()
                         if f]
        if diff.strip():
            _run(["apply", "--3way", "--whitespace=nowarn"], cwd=path, input=diff, check=False)
            out = _run(["diff", "--name-only", "--diff-filter=U"], cwd=path).stdout.decode()
            lease.conflicts = [f for f in out.splitlines() if f]

    def release(self, lease: Lease, *, park: bool) -> str | None:
        """Give the worktree back. Uncommitted work is committed to the branch first (returned sha).
        ``park`` keeps the branch checked out (the bead will resume here); else HEAD is detached and the
        worktree cleaned, ready for any polecat."""
        wip = None
        try:
            if lease.path.exists():
                wip = self.save_wip(lease.path, f"WIP {lease.branch} (saved by gastown)")
                if not park:
                    head = _run(["rev-parse", "HEAD"], cwd=lease.path).stdout.decode().strip()
                    _run(["update-ref", "--no-deref", "HEAD", head], cwd=lease.path)  # detach, keep files
                    _run(["clean", "-q", "-ffdx"], cwd=lease.path)
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

    @staticmethod
    def _switch(path: Path, branch: str, target: str) -> None:
        """Check ``branch`` out at ``target`` in ``path``, discarding what is there. Never enumerates
        worktrees (no race with a concurrent `git worktree add`): HEAD is pointed at the branch as
        `git symbolic-ref` would (an atomic rename of the worktree's HEAD file), then one `reset --hard`
        moves the branch to ``target`` and the files with it."""
        gitdir = _worktree_gitdir(path)
        if gitdir is None:
            _run(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=path)
        else:
            tmp = gitdir / f"HEAD.gastown-{os.getpid()}-{threading.get_ident()}"
            tmp.write_text(f"ref: refs/heads/{branch}\n")
            os.replace(tmp, gitdir / "HEAD")
        _run(["reset", "-q", "--hard", target], cwd=path)

    @staticmethod
    def is_dirty(path: Path) -> bool:
        return bool(_run(["status", "--porcelain"], cwd=path).stdout.strip())

    def save_wip(self, path: Path, message: str) -> str | None:
        """Commit whatever is uncommitted in ``path`` (on its branch; a detached HEAD gets an archive ref)."""
        if not self.is_dirty(path):
            return None
        _run(["add", "-A"], cwd=path)
        _run(["commit", "-q", "--no-verify", "-m", message], cwd=path, env=TOWN_IDENTITY)
        sha = _run(["rev-parse", "HEAD"], cwd=path).stdout.decode().strip()
        if _run(["symbolic-ref", "-q", "HEAD"], cwd=path, check=False).returncode != 0:
            self.archive_commit(f"detached/{path.name}", sha)
        return sha

    def archive_commit(self, name: str, sha: str) -> str:
        stamp = _run(["log", "-1", "--format=%ct", sha], cwd=self.workdir).stdout.decode().strip()
        ref = f"{ARCHIVE}/{name}/{stamp}-{sha[:8]}"
        _run(["update-ref", ref, sha], cwd=self.workdir)
        return ref

    def archived(self) -> list[tuple[str, str]]:
        out = self.git.for_each_ref("--format=%(refname) %(objectname)", ARCHIVE)
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]

    def entries(self) -> list[WorktreeEntry]:
        """Every worktree under the root, with what it holds (for `gastown worktrees` and recovery)."""
        found = []
        root = self.root.resolve() if self.root.exists() else self.root
        for path, head, branch in self.worktree_list():
            if path.parent not in (root, self.root):
                continue
            if path.name == "refinery":
                state = "refinery"
            elif not path.exists():
                state = "missing"
            elif self.in_use(path.name):
                state = "in-use"
            elif branch:
                state = "parked"
            else:
                state = "idle"
            dirty = path.exists() and self.is_dirty(path)
            unmerged = self.unmerged_count(head) if head and branch and state != "refinery" else 0
            found.append(WorktreeEntry(path.name, str(path), head, branch, bead_of_branch(branch), state, dirty,
                                       unmerged))
        return found

    def polecat_branches(self) -> dict[str, str]:
        out = self.git.for_each_ref("--format=%(refname:short) %(objectname)", "refs/heads/polecat/")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)  # type: ignore[misc]

    def gc(self, bead_status: dict[str, str], *, keep_idle: int, dry_run: bool = False) -> list[str]:
        """Prune only what is safe; returns what was (or would be) done, one line each.

        - worktree entries whose folder is gone: `git worktree prune`;
        - idle, clean worktrees beyond ``keep_idle`` (their HEAD archived if nothing else holds it);
        - parked worktrees of beads that are done (closed/tombstone): work saved, archived, removed;
        - polecat branches with no unmerged commits, checked out nowhere: deleted (their work is merged);
        - polecat branches WITH unmerged commits whose bead is done or unknown: archived, then deleted.
        Dirty worktrees and worktrees in use are never touched; archive refs are never deleted.
        """
        actions: list[str] = []
        done = {"closed", "tombstone"}
        with self._pool_lock:
            self._slots = None
        entries = self.entries()
        if any(e.state == "missing" for e in entries):
            actions.append("prune worktree entries whose folder is gone")
            if not dry_run:
                with self.admin_lock:
                    self.git.worktree("prune")
        idle = [e for e in entries if e.state == "idle"]
        removable = [e for e in entries if e.state == "parked" and bead_status.get(e.bead_id or "") in done]
        removable += [e for e in idle[keep_idle:]]
        for e in removable:
            if e.dirty and e.state == "idle":
                actions.append(f"keep {e.name}: uncommitted changes")
                continue
            what = f"remove worktree {e.name}" + (f" (bead {e.bead_id} is done)" if e.bead_id else " (idle)")
            actions.append(what)
            if dry_run:
                continue
            fd = self._lock(e.name)
            if fd is None:
                continue
            try:
                self.save_wip(Path(e.path), f"WIP {e.branch or e.name} (saved by gastown gc)")
                head = _run(["rev-parse", "HEAD"], cwd=Path(e.path)).stdout.decode().strip()
                if e.branch is None and not self._reachable(head) and self.unmerged_patches(head):
                    self.archive_commit(f"detached/{e.name}", head)
                with self.admin_lock:
                    self.git.worktree("remove", "--force", e.path)
            finally:
                self._unlock(fd)
        checked_out = {b for _p, _h, b in self.worktree_list() if b}
        for branch, sha in self.polecat_branches().items():
            if branch in checked_out:
                continue
            bead = bead_of_branch(branch)
            status = bead_status.get(bead or "")
            unmerged = self.unmerged_count(sha) and self.unmerged_patches(sha)
            if unmerged == 0:
                actions.append(f"delete branch {branch} (merged)")
                if not dry_run:
                    with self.admin_lock:
                        self.git.branch("-D", branch)
            elif status in done or status is None:
                actions.append(f"archive branch {branch} ({unmerged} unmerged commit(s); bead "
                               f"{'unknown' if status is None else status})")
                if not dry_run:
                    self.archive_branch(branch)
        with self._pool_lock:
            self._slots = None
        return actions

    def _reachable(self, sha: str) -> bool:
        out = self.git.for_each_ref("--contains", sha, "--count=1", "--format=%(refname)")
        return bool(out.strip())

    @staticmethod
    def commit_all(path: Path, message: str, author: str) -> str | None:
        """Commit everything the polecat left in its worktree; None when it changed nothing."""
        with git.Repo(path) as wt:
            wt.git.add("-A")
            if not wt.git.status("--porcelain").strip():
                return None
            name, email = author, f"{author}@gastown.local"
            wt.git.commit("-m", message, env={
                "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            })
            return wt.git.rev_parse("HEAD").strip()

    def changed_files(self, base: str, head: str) -> list[str]:
        out = self.git.diff("--name-only", f"{base}...{head}")
        return [line for line in out.splitlines() if line]


def dirty_paths(repo: git.Repo) -> list[str]:
    """Uncommitted changes in the user's working tree (tracked and untracked), as repo-relative paths."""
    paths = []
    for line in repo.git.status("--porcelain", "-uall").splitlines():
        path = line[3:]
        if " -> " in path:
            path = path.split(" -> ", 1)[1]
        paths.append(path.strip('"'))
    return paths
