"""gastown.vcs on real git: porcelain status parsed once (renames, spaces, quotes), quoted paths, names."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gastown.demo import GIT_IDENTITY
from gastown.vcs import GitError
from gastown.vcs.names import bead_of_branch, identity, polecat_branch
from gastown.vcs.paths import unquote
from gastown.vcs.repo import checked_out, open_repo
from gastown.vcs.status import StatusEntry, parse_porcelain, status


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY}).stdout


def test_status_renames_spaces_and_untracked(tmp_path: Path):
    repo = tmp_path / "r"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    (repo / "old name.txt").write_text("x\n")
    (repo / "kept.txt").write_text("k\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "base")
    sh(repo, "mv", "old name.txt", "new -> name.txt")
    (repo / "kept.txt").write_text("changed\n")
    (repo / "dir with space").mkdir()
    (repo / "dir with space" / 'q"uote.txt').write_text("u\n")
    found = {e.path: e for e in status(repo, all_untracked=True)}
    assert found["new -> name.txt"] == StatusEntry("R ", "new -> name.txt", "old name.txt")
    assert found["kept.txt"].xy == " M"
    assert found['dir with space/q"uote.txt'].untracked
    assert set(found) == {"new -> name.txt", "kept.txt", 'dir with space/q"uote.txt'}
    assert [e.path for e in status(repo)].count("dir with space/") == 1  # folded without -uall


def test_parse_porcelain_z():
    data = b"R  b c\0a b\0 M x y\0?? z\0"
    assert parse_porcelain(data) == [StatusEntry("R ", "b c", "a b"), StatusEntry(" M", "x y"),
                                     StatusEntry("??", "z")]


def test_unquote_and_names():
    assert unquote('"t\\303\\251\\"st\\tx"') == 'té"st\tx'
    assert unquote("plain name") == "plain name"
    assert bead_of_branch(polecat_branch("gt-1")) == "gt-1" == bead_of_branch("refs/heads/polecat/gt-1")
    assert bead_of_branch("main") is None
    assert identity("refinery")["GIT_COMMITTER_EMAIL"] == "refinery@gastown.local"


def test_open_repo_needs_a_top_folder_with_a_commit(tmp_path: Path):
    with pytest.raises(GitError, match="not a git repository"):
        open_repo(tmp_path)
    sh(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(GitError, match="no commits yet"):
        open_repo(tmp_path)
    sh(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    (tmp_path / "sub").mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        open_repo(tmp_path / "sub")
    repo = open_repo(tmp_path)
    assert repo.workdir == tmp_path.resolve() and repo.git_dir == (tmp_path / ".git").resolve()
    assert checked_out(tmp_path) == "main"
