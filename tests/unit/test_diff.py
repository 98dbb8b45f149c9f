"""Hunks of a real branch, and partial patches that apply to the base with only the accepted hunks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git

from gastown.demo import GIT_IDENTITY
from gastown.town.diff import branch_diff, parse_unified_diff, partial_patch

BASE = "".join(f"line {i}\n" for i in range(1, 41))


def sh(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, input=stdin,
                          env={**os.environ, **GIT_IDENTITY}).stdout


def make_branch(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    sh(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text(BASE)
    (repo / "gone.txt").write_text("bye\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "base")
    sh(repo, "checkout", "-qb", "polecat/gt-1")
    text = BASE.replace("line 3\n", "line 3 changed\nline 3b inserted\n").replace("line 30\n", "line thirty\n")
    (repo / "a.txt").write_text(text)
    (repo / "new.txt").write_text("brand new\n")
    (repo / "gone.txt").unlink()
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "work")
    sh(repo, "checkout", "-q", "main")
    return repo


def test_files_and_hunks(tmp_path: Path):
    repo = make_branch(tmp_path)
    with git.Repo(repo) as r:
        files = {f.path: f for f in branch_diff(r, "main", "polecat/gt-1")}
    assert files["a.txt"].status == "modified" and len(files["a.txt"].hunks) == 2
    assert files["new.txt"].status == "added" and files["new.txt"].hunks[0].lines == ["+brand new"]
    assert files["gone.txt"].status == "deleted"
    first = files["a.txt"].hunks[0]
    assert "+line 3 changed" in first.lines and "-line 3" in first.lines
    assert (first.old_start, first.old_lines, first.new_lines) == (1, 6, 7)
    ids = [h.id for f in files.values() for h in f.hunks]
    assert len(set(ids)) == len(ids)


def test_partial_patch_applies_only_accepted_hunks(tmp_path: Path):
    repo = make_branch(tmp_path)
    with git.Repo(repo) as r:
        files = branch_diff(r, "main", "polecat/gt-1")
    a = next(f for f in files if f.path == "a.txt")
    new = next(f for f in files if f.path == "new.txt")
    # Accept the second hunk of a.txt (after the skipped first one) and the new file; reject the rest.
    patch = partial_patch(files, {a.hunks[1].id, new.hunks[0].id})
    sh(repo, "apply", "--check", "-", stdin=patch)
    sh(repo, "apply", "-", stdin=patch)
    result = (repo / "a.txt").read_text()
    assert "line thirty\n" in result and "line 3 changed" not in result and "line 3\n" in result
    assert (repo / "new.txt").read_text() == "brand new\n"
    assert (repo / "gone.txt").exists()


def test_nothing_accepted_is_an_empty_patch():
    files = parse_unified_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    assert files[0].hunks[0].old_lines == 1 and partial_patch(files, set()) == ""


def test_identical_hunks_in_different_files_have_different_ids():
    text = ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
            "diff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n")
    x, y = parse_unified_diff(text)
    assert x.hunks[0].id != y.hunks[0].id
