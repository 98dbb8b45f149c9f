"""Hunks of a real branch, and partial patches that apply to the base with only the accepted hunks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
    files = {f.path: f for f in branch_diff(repo, "main", "polecat/gt-1")}
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
    files = branch_diff(repo, "main", "polecat/gt-1")
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


def test_paths_with_spaces_b_slashes_quotes_and_renames(tmp_path: Path):
    """A path containing " b/" is ambiguous in the `diff --git` line; git quotes unusual paths; renames name
    both sides. The parsed paths are the real ones, and a partial patch of them still applies."""
    repo = tmp_path / "r"
    (repo / "x b").mkdir(parents=True)
    sh(repo, "init", "-q", "-b", "main")
    (repo / "x b" / "y").write_text("one\n")
    (repo / 'té"st.txt').write_text("q\n")
    (repo / "plain").write_text("".join(f"keep {i}\n" for i in range(20)))
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "base")
    sh(repo, "checkout", "-qb", "polecat/gt-2")
    (repo / "x b" / "y").write_text("two\n")
    (repo / 'té"st.txt').write_text("q2\n")
    sh(repo, "mv", "plain", "re named")
    (repo / "re named").write_text("".join(f"keep {i}\n" for i in range(19)) + "changed\n")
    sh(repo, "add", "-A")
    sh(repo, "commit", "-qm", "work")
    files = {f.path: f for f in branch_diff(repo, "main", "polecat/gt-2")}
    assert set(files) == {"x b/y", 'té"st.txt', "re named"}
    assert files["x b/y"].status == "modified" and files["x b/y"].hunks[0].lines == ["-one", "+two"]
    assert files['té"st.txt'].hunks[0].lines == ["-q", "+q2"]
    renamed = files["re named"]
    assert (renamed.status, renamed.old_path) == ("renamed", "plain") and renamed.hunks[0].lines[-1] == "+changed"
    sh(repo, "checkout", "-q", "main")
    patch = partial_patch(list(files.values()), {files["x b/y"].hunks[0].id, files['té"st.txt'].hunks[0].id})
    sh(repo, "apply", "-", stdin=patch)
    assert (repo / "x b" / "y").read_text() == "two\n" and (repo / 'té"st.txt').read_text() == "q2\n"


def test_header_only_changes_keep_exact_names():
    text = ('diff --git a/x b/y b/x b/y\nnew file mode 100644\nindex 0000000..87ae6b6\n'
            'Binary files /dev/null and b/x b/y differ\n'
            'diff --git "a/t\\303\\251st" "b/t\\303\\251st"\nold mode 100644\nnew mode 100755\n'
            'diff --git a/old b/new name\nsimilarity index 100%\nrename from old\nrename to new name\n')
    added, mode, moved = parse_unified_diff(text)
    assert (added.path, added.status, added.binary) == ("x b/y", "added", True)
    assert (mode.path, mode.status) == ("tést", "modified")
    assert (moved.path, moved.old_path, moved.status) == ("new name", "old", "renamed")
