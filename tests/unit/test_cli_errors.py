"""Bad input at the command line: a clear message naming the problem, exit 1, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gastown.demo import GIT_IDENTITY, make_sample_repo


def gastown(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gastown", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_not_a_git_repository(tmp_path: Path):
    out = gastown("run", "do something", cwd=tmp_path)
    assert out.returncode == 1
    assert "is not a git repository" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".gastown").exists()


def test_repository_without_commits(tmp_path: Path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    out = gastown("run", "x", cwd=tmp_path)
    assert out.returncode == 1 and "no commits yet" in out.stderr


def test_missing_cli(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "repo")
    out = gastown("run", "x", cwd=repo, env={"COPILOT_CLI_PATH": str(tmp_path / "no-such-copilot")})
    assert out.returncode == 1
    assert "Copilot CLI" in out.stderr and "no-such-copilot" in out.stderr


def test_malformed_scenario_writes_no_beads(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "repo")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"match": "x", "steps": [{"txt": "typo"}]}]}))
    out = gastown("run", "x", "--scenario", str(bad), cwd=repo)
    assert out.returncode == 1
    assert str(bad) in out.stderr and "txt" in out.stderr
    listed = gastown("bead", "list", "--json", cwd=repo)
    assert json.loads(listed.stdout) == []


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY}).stdout


def test_land_refuses_over_uncommitted_changes_to_the_same_paths(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "repo")
    # An integration branch that changes README.md, as the Refinery would leave it.
    _git(repo, "checkout", "-q", "-b", "gastown/integration")
    (repo / "README.md").write_text("# calc\n\nmerged by the refinery\n")
    _git(repo, "commit", "-qam", "refinery work")
    _git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# calc\n\nthe Overseer's unsaved thoughts\n")

    out = gastown("land", cwd=repo)
    assert out.returncode == 1
    assert "uncommitted changes" in out.stderr and "README.md" in out.stderr
    assert (repo / "README.md").read_text() == "# calc\n\nthe Overseer's unsaved thoughts\n"
    assert _git(repo, "rev-parse", "main") != _git(repo, "rev-parse", "gastown/integration")

    _git(repo, "checkout", "README.md")
    (repo / "notes.txt").write_text("unrelated and uncommitted\n")
    out = gastown("land", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "merged by the refinery" in (repo / "README.md").read_text()
    assert (repo / "notes.txt").read_text() == "unrelated and uncommitted\n"
